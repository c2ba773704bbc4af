"""Division by an entry in an index form (the softmax written out, e^{z_i} / Σ_j e^{z_j};
cross-entropy's ∂L/∂a_i = −y_i / a_i): evaluated entry by entry; a denominator that is 0
at the checker's values gets no verdict. Made-up formulas on the corpus's one-layer
softmax network (softmax_xent_1) and the seed example."""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.formula.check import Checker
from derive.formula.parse import FormulaError

SOFTMAX = Path(__file__).parent / "corpus" / "specs" / "softmax_xent_1.toml"


@pytest.fixture(scope="module")
def softmax() -> Checker:
    return Checker(SOFTMAX)


@pytest.mark.parametrize(
    ("formula", "verdict"),
    [
        (r"\frac{\partial L}{\partial z_i} = \frac{e^{z_i}}{\sum_j e^{z_j}} - y_i", "correct"),
        (r"\frac{\partial L}{\partial z_i} = \frac{e^{z_i}}{\sum_j e^{z_j}} + y_i", "incorrect"),
        (r"\frac{\partial L}{\partial a_i} = -\frac{y_i}{a_i}", "correct"),
        (r"\frac{\partial L}{\partial a_i} = \frac{y_i}{a_i}", "incorrect"),
    ],
)
def test_division_by_an_entry(softmax: Checker, formula: str, verdict: str) -> None:
    assert softmax.check(formula, "latex").verdict == verdict


def test_a_denominator_that_is_zero_gets_no_verdict() -> None:
    # made up: a_i - a_i is 0 everywhere
    with pytest.raises(FormulaError, match="is 0"):
        Checker(SOFTMAX).check(r"\frac{\partial L}{\partial a_i} = -\frac{y_i}{a_i - a_i}", "latex")
