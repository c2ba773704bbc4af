"""Every exported program module runs (issue 15): a width that appears only inside a
computed size (an LSTM's gate stack ``Wx`` is D x 4H and no array is H wide) is bound in
the module, and every computed size is checked against the arrays it is given."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from derive.core.program import random_point
from derive.export.program_source import program_module
from derive.oracles.program_verify import closed_form, concrete_sizes, exported_gradients
from derive.programs import derive_program
from derive.spec.program import loads_program
from derive.spec.program_records import PROGRAM_EXAMPLES

CORPUS = sorted((Path(__file__).parent / "corpus" / "specs" / "programs").glob("*.toml"))
SEQUENCE_NETWORKS = ["rnn_net", "lstm_net", "attention_net"]

# one LSTM step with h₀ = 0 (the first step): H is nowhere a whole axis
GATES = '''name = "gates"
convention = "row"
[inputs]
x = ["N", "D"]
[parameters]
Wx = ["D", "4*H"]
b = [1, "4*H"]
[forward]
equations = """
a = x @ Wx + b
i = sigmoid(a[:, :H])
f = sigmoid(a[:, H:2*H])
o = sigmoid(a[:, 2*H:3*H])
g = np.tanh(a[:, 3*H:4*H])
c = i * g
h = o * np.tanh(c)
"""
[backward]
upstream = "dh"
output = "h"
'''


def _distinct_sizes(d: object) -> dict[str, int]:
    """Each width its own value (2, 3, 4, …), so that a width read from the wrong axis
    shows as a shape error."""
    names = sorted(d.graph.sizes)  # type: ignore[attr-defined]
    return {n: 2 + k for k, n in enumerate(names)}


def _runs_and_agrees(d: object) -> None:
    g = d.graph  # type: ignore[attr-defined]
    dims = concrete_sizes(g, _distinct_sizes(d), default=3)
    env = random_point(g, dims, np.random.default_rng(0))
    module = program_module(d)  # type: ignore[arg-type]
    got = exported_gradients(d, env, module)  # type: ignore[arg-type]
    want = closed_form(d, env)  # type: ignore[arg-type]
    assert set(got) == set(want)
    for name, value in want.items():
        np.testing.assert_allclose(got[name], value, rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize(
    "source",
    [*PROGRAM_EXAMPLES, *SEQUENCE_NETWORKS, *CORPUS],
    ids=lambda s: s if isinstance(s, str) else s.stem,
)
def test_every_program_exports_code_that_runs(source: str | Path) -> None:
    _runs_and_agrees(derive_program(source))


def test_width_only_inside_a_product_is_bound() -> None:
    """On main: NameError: name 'H' is not defined, in forward and in gradients."""
    d = derive_program(loads_program(GATES))
    _runs_and_agrees(d)
    mod = program_module(d)
    rng = np.random.default_rng(1)
    x, wx, b = rng.standard_normal((5, 3)), rng.standard_normal((3, 8)), rng.standard_normal((1, 8))
    out = mod.forward(x, wx, b)
    assert out.shape == (5, 2)  # H = 8 / 4


def test_computed_width_is_checked() -> None:
    """A Wx 4H + 2 wide, or a bias of another width, is refused: sliced short it would
    broadcast silently."""
    mod = program_module(derive_program(loads_program(GATES)))
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 3))
    with pytest.raises(ValueError, match="4\\*H"):
        mod.forward(x, rng.standard_normal((3, 10)), rng.standard_normal((1, 10)))
    with pytest.raises(ValueError, match="b.shape\\[1\\]"):
        mod.forward(x, rng.standard_normal((3, 8)), rng.standard_normal((1, 12)))
    with pytest.raises(ValueError, match="dh.shape\\[1\\]"):  # the upstream gradient too
        mod.gradients(x, rng.standard_normal((3, 8)), rng.standard_normal((1, 8)), np.ones((5, 1)))


def test_corpus_lstm_checks_its_gate_stack() -> None:
    """cthorey's LSTM step: H is prev_h's width, and Wx must be 4H wide (on main any width
    passed the shape check and the last gate was sliced short)."""
    d = derive_program(Path(__file__).parent / "corpus/specs/programs/lstm_cthorey.toml")
    mod = program_module(d)
    rng = np.random.default_rng(3)
    n, dd, h = 2, 3, 4
    args = [rng.standard_normal(s) for s in [(n, dd), (n, h), (n, h), (dd, 4 * h - 3)]]
    args += [rng.standard_normal((h, 4 * h - 3)), rng.standard_normal((1, 4 * h - 3))]
    with pytest.raises(ValueError, match="4\\*H"):
        mod.forward(*args)
