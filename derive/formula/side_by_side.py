"""Factors written side by side (``W_2ᵀ δ_2 f'(Z_1)``, ``-(y - ŷ) f'(z)``): a matrix product
as written, or the elementwise product ⊙ left unwritten. ``readings`` tries the other
groupings and mixes of the two where the written one does not fit (a slip and an unwritten
⊙ read the same: refused where some mix is right), and ⊙ alone where each factor is one
number per sample."""

from __future__ import annotations

from typing import Any

from derive.formula.ir import Bin, Neg

JUXTAPOSED_NOTE = (
    "factors written side by side read as the elementwise product ⊙: each is one number "
    "per sample (a one-unit layer), so side by side they multiply sample by sample"
)

JUXTAPOSED_REFUSAL = (
    "cannot tell: factors written side by side here fit only as the elementwise product "
    "(as a matrix product their shapes do not fit), and read as ⊙ the formula is right; "
    "write the product you mean, ⊙ (\\odot) or * for elementwise"
)


def _juxtaposed_mixes(node: Any) -> list[Any]:
    """The right-hand side with each product written side by side at its top read as a
    matrix product or as ⊙, every mix of the two (``W_2ᵀ δ_2 f'(Z_1)``: the first a
    matrix product, the second ⊙), the one written (all matrix products) first."""
    if isinstance(node, Neg):
        return [Neg(a) for a in _juxtaposed_mixes(node.a)]
    if isinstance(node, Bin) and node.op == "mat" and node.bare:
        out = []
        for a in _juxtaposed_mixes(node.a):
            for b in _juxtaposed_mixes(node.b):
                out += [Bin("mat", a, b, bare=True), Bin("had", a, b, bare=True)]
        return out
    return [node]


def _chain(node: Any) -> list[Any]:
    """The factors of products written side by side (``a b c``), left to right."""
    if isinstance(node, Bin) and node.op == "mat" and node.bare:
        return _chain(node.a) + _chain(node.b)
    return [node]


def _groupings(factors: list[Any]) -> list[Any]:
    """Every way to join the factors by matrix products and ⊙, in every grouping (a ⊙
    written first binds the rest: ``f'(Z_1) W_2ᵀ δ_2`` is f'(Z_1) ⊙ (W_2ᵀ δ_2))."""
    if len(factors) == 1:
        return list(_juxtaposed_mixes(factors[0]))
    out = []
    for k in range(1, len(factors)):
        for a in _groupings(factors[:k]):
            for b in _groupings(factors[k:]):
                out += [Bin("mat", a, b, bare=True), Bin("had", a, b, bare=True)]
    return out


def juxtaposed_readings(node: Any) -> list[Any]:
    """The mixes of ``_juxtaposed_mixes`` (the written one first) and, for three factors
    side by side, the other grouping too: as matrix products alone, or ⊙ alone, a grouping
    changes nothing, so those are left out (value equality drops the repeats)."""
    if isinstance(node, Neg):
        return [Neg(a) for a in juxtaposed_readings(node.a)]
    mixes = _juxtaposed_mixes(node)
    factors = _chain(node)
    if len(factors) != 3:
        return mixes
    for other in _groupings(factors):
        ops = {other.op, other.b.op if isinstance(other.b, Bin) else other.a.op}
        if len(ops) == 2 and other not in mixes:  # one of each: the grouping matters
            mixes.append(other)
    return mixes


def juxtaposed_had(node: Any) -> Any:
    """The right-hand side with the products written side by side at its top (``−a b``,
    not inside a bracket or a function) as ``a ⊙ b``: factors of its own shape."""
    if isinstance(node, Neg):
        return Neg(juxtaposed_had(node.a))
    if isinstance(node, Bin) and node.op == "mat" and node.bare:
        return Bin("had", juxtaposed_had(node.a), juxtaposed_had(node.b), bare=True)
    return node
