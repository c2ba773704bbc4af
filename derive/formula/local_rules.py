"""A layer's local derivative written as a step of the chain rule, ``∂a/∂z = σ(z)(1 − σ(z))``,
``∂a_1/∂z_1 = a_1(1 − a_1)`` (Mazur's ∂out/∂net = out(1 − out), Q&A answers, course
notes): the derivative of the layer's elementwise activation by its own pre-activation,
entry by entry, so the rule ``f'(z) = …`` of that layer (``derivative_rules``). Read only
for an activation by the pre-activation of the same layer (derive's letters: a = f(z));
``a(z)``, the activation written as a function of its pre-activation, is refused (as a
product it would be judged, and it is no product)."""

from __future__ import annotations

from typing import Any

from derive.formula.ir import Bin, Fn, FormulaError, Sym
from derive.formula.ir_walk import map_children, nodes
from derive.formula.latex_lhs import DD
from derive.formula.layer_indices import IntIndex

NOTE = "∂a/∂z read as the layer's activation derivative f'(z), entry by entry"


def local_pair(lhs: Any) -> tuple[Sym, Sym] | None:
    """``∂A_l/∂Z_l`` on a left-hand side: its activation and pre-activation (the same
    layer, or neither numbered); None for any other left-hand side."""
    if not isinstance(lhs, DD):
        return None
    a, z = lhs.num, lhs.den
    if not (isinstance(a, Sym) and isinstance(z, Sym) and a.base == "A" and z.base == "Z"):
        return None
    return (a, z) if a.index == z.index else None


def _put(node: Any, a: Sym, z: Sym, k: int) -> Any:
    if node == a:
        return Sym("A", IntIndex(k), a.lower)
    if node == z:
        return Sym("Z", IntIndex(k), z.lower)
    return map_children(node, lambda c: _put(c, a, z, k))


def refuse_numbered(parts: list[Any], bases: tuple[str, ...]) -> None:
    """Refuse a rule without a layer (``f'(z) = …``, ``∂a/∂z = …``) whose right side numbers
    its own letters (``bases``): a superscript reads as a layer, so ``z^2`` is layer 2's z,
    not a square. Read so, ``σ(z^2)(1 − σ(z^2))`` was judged right (at layer 2) and
    ``1 − a^2`` wrong at every layer."""
    for p in parts[1:]:
        for _, n in nodes(p):
            if isinstance(n, Sym) and n.base in bases and n.index is not None:
                letter = "a" if n.base == "A" else "z" if n.base == "Z" else n.base
                raise FormulaError(
                    f"a rule without a layer (f'(z), ∂a/∂z) with a numbered {letter} on the "
                    f"right ({letter}^2 reads as layer 2's {letter}, not a square): number the "
                    f"layer (∂a_1/∂z_1 = 1 − a_1^2) or write the square as {letter} {letter}"
                )


def as_rule(parts: list[Any], k: int) -> list[Any]:
    """The formula as layer ``k``'s rule: ``f'(Z_k) = …`` with a and z that layer's."""
    pair = local_pair(parts[0])
    assert pair is not None
    a, z = pair
    for p in parts[1:]:
        for _, n in nodes(p):
            if isinstance(n, Bin) and n.op == "mat" and n.bare and n.a == a and n.b == z:
                raise FormulaError(
                    "a(z): the activation written as a function of its pre-activation is not "
                    "read (it would be a product); write a, or σ(z)"
                )
    if a.index is None:
        refuse_numbered(parts, (a.base, z.base))
    rhs = [_put(p, a, z, k) for p in parts[1:]]
    return [Fn("generic", 1, Sym("Z", IntIndex(k), z.lower)), *rhs]


def local_layers(parts: list[Any], depth: int) -> list[int]:
    """The layers the left-hand side may be (its own index, else every layer)."""
    pair = local_pair(parts[0])
    assert pair is not None
    index = pair[1].index
    if index is None:
        return list(range(1, depth + 1))
    if isinstance(index, IntIndex) and 1 <= index.k <= depth:
        return [index.k]
    raise FormulaError(
        "∂a/∂z: its layer is none of this network's; write it as derive numbers the layers"
    )
