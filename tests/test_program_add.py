"""The program builder's sums: ``flat_add`` is ``nodes.add``, made without SymPy's deep
``doit`` at every ``+`` (0809zheng's SVM snippet took 2.2–3.8 s to read)."""

from __future__ import annotations

import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy.matrices.expressions import HadamardProduct, MatMul, MatrixSymbol

from derive.core import nodes as N
from derive.core.program import flat_add

n, m = sympy.symbols("n m", positive=True, integer=True)
A, B, C, D = (MatrixSymbol(s, n, m) for s in "ABCD")
LEAVES = [A, B, C, D]


@st.composite
def terms(draw, depth: int = 2):
    """A matrix term: a leaf, a scaled term, a (nested, unflattened) Hadamard product,
    or a sum, as the builder makes them line after line."""
    if depth == 0:
        return draw(st.sampled_from(LEAVES))
    kind = draw(st.sampled_from(["leaf", "scale", "hadamard", "sum"]))
    if kind == "leaf":
        return draw(st.sampled_from(LEAVES))
    if kind == "scale":
        c = draw(st.sampled_from([-1, 2, sympy.Rational(1, 3), n]))
        return MatMul(c, draw(terms(depth - 1)))  # unevaluated, as SymPy may leave it
    if kind == "hadamard":
        return HadamardProduct(draw(terms(depth - 1)), draw(terms(depth - 1)))
    return N.add([draw(terms(depth - 1)), draw(terms(depth - 1))])


@settings(max_examples=60, deadline=None)
@given(st.lists(terms(), min_size=2, max_size=4))
def test_flat_add_is_nodes_add(parts) -> None:
    assert flat_add(parts) == N.add(parts)


def test_like_terms_cancel_and_collect() -> None:
    h = HadamardProduct(HadamardProduct(A, B), C)
    assert flat_add([h, MatMul(-1, h)]) == N.add([h, MatMul(-1, h)])
    assert flat_add([MatMul(2, h), h, A]) == N.add([MatMul(2, h), h, A])
