"""Negative slice bounds, as NumPy reads them (``a[:, -H:]`` is the last H columns): in a
program's equations and in a checked snippet's ``da[:, -H:] = …``; a bound counting back
past the first column is refused with what it was read as."""

from __future__ import annotations

import numpy as np
import pytest

from derive.core import numeric
from derive.core.program import random_point
from derive.programs import derive_program
from derive.spec.program import loads_program
from derive.spec.records import SpecError

PROGRAM = '''name = "gates"
convention = "row"
[inputs]
x = ["N", "D"]
c = ["N", "H"]
[parameters]
W = ["D", "4*H"]
[forward]
equations = """
a = x @ W
i = sigmoid(a[:, :H])
f = sigmoid(a[:, H:-2*H])
g = tanh(a[:, -H:])
o = a[:, -2*H:-H]
out = i * g + f * o + c
"""
[backward]
upstream = "dout"
'''


def test_negative_bounds_are_the_numpy_slices_and_their_gradients_verify() -> None:
    d = derive_program(loads_program(PROGRAM, "<gates>"))
    g = d.graph
    sizes = {s: n for s, n in zip(g.sizes.values(), (2, 3, 4), strict=False)}
    env = random_point(g, sizes, np.random.default_rng(0))
    for eq in g.equations:
        env[eq.out] = numeric.evaluate(eq.rhs, env)
    a = np.asarray(env[g.values["a"]])
    h = a.shape[1] // 4
    sig = 1 / (1 + np.exp(-a))
    np.testing.assert_allclose(np.asarray(env[g.values["g"]]), np.tanh(a[:, -h:]))
    np.testing.assert_allclose(np.asarray(env[g.values["f"]]), sig[:, h : -2 * h])
    np.testing.assert_allclose(np.asarray(env[g.values["o"]]), a[:, -2 * h : -h])
    assert d.verify().passed


@pytest.mark.parametrize(
    ("bounds", "words"),
    [
        ("-5*H:", "the slice bound -5*H counts back past the first of the 4*H columns"),
        ("-H:H", "the slice 3*H:H of columns is empty or runs backwards (read -H as 3*H"),
    ],
)
def test_a_negative_bound_that_does_not_fit_says_how_it_was_read(bounds: str, words: str) -> None:
    text = PROGRAM.replace("a[:, -H:]", f"a[:, {bounds}]")
    with pytest.raises(SpecError) as err:
        derive_program(loads_program(text, "<gates>"))
    assert words in str(err.value)


def test_a_snippet_sets_a_block_counted_from_the_end() -> None:
    """``da[:, -H:] = …`` writes the last H columns (before, an error: runs backwards)."""
    d = derive_program(loads_program(PROGRAM, "<gates>"))
    right = d.check(
        "dg = dout * i\n"
        "da = np.zeros_like(a)\n"
        "da[:, -H:] = dg * (1 - g**2)\n"
        "da[:, -2*H:-H] = dout * f\n"
        "da[:, :H] = dout * g * i * (1 - i)\n"
        "da[:, H:-2*H] = dout * o * f * (1 - f)\n"
        "dW = x.T @ da\n"
        "return dW"
    )
    assert right.correct, str(right)
    wrong = d.check(
        "da = np.zeros_like(a)\n"
        "da[:, -H:] = dout * i * (1 - g**2)\n"
        "da[:, -2*H:-H] = dout * f\n"
        "da[:, :H] = dout * g * i * (1 - i)\n"
        "dW = x.T @ da\n"
        "return dW"
    )
    assert not wrong.correct
