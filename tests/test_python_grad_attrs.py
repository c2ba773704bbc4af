"""fast.ai's ``.g`` (``python_grad_attrs``): a layer's backward that stores each gradient
on its value (``self.inp.g = self.out.g @ self.w.t()``), read in a layer API's names. The
snippets are made up in the course's form (tests/corpus/fresh9_code.toml has the real
one); each was unread before ("defines a function and assigns no quantity")."""

from __future__ import annotations

import pytest

from derive.formula.check import Checker
from derive.formula.python_grad_attrs import layer_api_names
from derive.spec.reading import loads

#: Made up: one ReLU hidden layer, one linear output, samples as rows, the mean squared error.
ROW_NET = """
name = "fastai_like"
convention = "row"
delta = "mean"
input = "n_0"
batch = "m"

[[layers]]
width = "n_h"
activation = "relu"

[[layers]]
width = 1
activation = "identity"

[loss]
name = "squared_error"
reduction = "mean"
"""

LIN = """def backward(self):
    self.inp.g = self.out.g @ self.w.t()
    self.w.g = self.inp.t() @ self.out.g
    self.b.g = {db}"""


@pytest.fixture(scope="module")
def net() -> Checker:
    return Checker(loads(ROW_NET))


@pytest.mark.parametrize(
    ("db", "verdict"),
    [("self.out.g.sum(0)", "correct"), ("2 * self.out.g.sum(0)", "incorrect")],
)
def test_a_linear_layers_backward_with_dot_g(net: Checker, db: str, verdict: str) -> None:
    result = net.check(LIN.format(db=db), "python")
    assert result.verdict == verdict
    assert any("fast.ai's .g" in note for note in result.notes)


@pytest.mark.parametrize(
    "text",
    [
        "dx = dout @ self.W.T",
        "self.w.g = self.inp.t() @ dout",  # no inp.g assigned: not the idiom
        "out = inp @ w + b",
    ],
)
def test_other_snippets_are_left_as_written(text: str) -> None:
    assert layer_api_names(text) == text
