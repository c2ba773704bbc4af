"""The letters of a network with one hidden layer: ``x → z → h → o`` (Dive into Deep
Learning's z = W⁽¹⁾x, h = φ(z), o = W⁽²⁾h) or ``x → z → h → y`` with the target t
(Rackauckas' SciML notes: z = W_1 x + b_1, h = σ(z), y = W_2 h + b_2, and their adjoints
z̄, h̄, ȳ). Written without layer numbers: ``∂J/∂h = W⁽²⁾ᵀ ∂J/∂o``, ``z̄ = h̄ .* σ'(z)``.

A reading, not the literal text, said in the notes, and only on a network of two layers
(one hidden): ``h`` written as a quantity is the hidden layer's activation A_1, an
unnumbered ``z`` beside it that layer's pre-activation Z_1 (the output has its own letter
in this notation), and ``y`` under a derivative (ȳ, ∂L/∂y) the output ŷ, where ``y`` is
written nowhere else (a derivative by the targets is no step of backprop; where ``y`` is also
written as a value it may be the targets, and nothing is read). The other reading of z, the
output's pre-activation, goes with it (``Alternative``): a formula wrong as read and right
with that one gets no verdict.
"""

from __future__ import annotations

from typing import Any

from derive.formula.ir import Amb, Bin, Chain, Entry, Partial, Scalar, Sym, T
from derive.formula.ir_walk import map_children, nodes
from derive.formula.latex_layers import Alternative
from derive.formula.latex_lhs import DD
from derive.formula.layer_indices import IntIndex, RelIndex

NOTE = (
    "; the letters of a network with one "
    "hidden layer, x → z → h → output, as Dive into Deep Learning and Rackauckas' SciML notes "
    "write it"
)
OTHER_Z = "z read as the output layer's pre-activation Z_L (z = W h, the scores)"
REFUSAL = (
    "cannot tell whether z is the hidden layer's pre-activation (h = φ(z)) or the output's "
    "(z = W h): the verdicts differ; write z with its layer, z_1 or z_2"
)


OTHER_Y = (
    "y under a derivative read as the output layer's pre-activation Z_L (y = W_2 h + b_2, "
    "as Rackauckas' SciML notes define it)"
)
Y_REFUSAL = (
    "cannot tell whether y under a derivative is the output ŷ = A_L or its pre-activation "
    "(y = W_2 h + b_2): this network's output has an activation and the verdicts differ; "
    "write it with its layer, ∂L/∂A_2 or ∂L/∂Z_2"
)


def _is_h(node: Any) -> bool:
    return isinstance(node, Scalar) and node.name == "h"


def _unnumbered(node: Any, base: str) -> bool:
    return isinstance(node, Sym) and node.index is None and node.base == base


def _by_output(node: Any) -> bool:
    """``∂L/∂y`` (ȳ): a derivative by an unnumbered y."""
    return isinstance(node, Partial) and _unnumbered(node.sym, "Y")


def _read(node: Any, z_layer: Any, y_base: str = "A") -> Any:
    """``node`` with h as A_1, z as Z at ``z_layer``, ∂L/∂y as ∂L/∂A_L (``y_base`` "Z":
    as ∂L/∂Z_L, SciML's y = W_2 h + b_2, the same on an identity output)."""
    if _is_h(node):
        return Sym("A", IntIndex(1), True)
    if _unnumbered(node, "Z"):
        return Sym("Z", z_layer, node.lower)
    if _by_output(node):
        return Partial(Sym(y_base, RelIndex("L", 0), True), node.loss)
    return map_children(node, lambda c: _read(c, z_layer, y_base))


def _h_as_a_value(found: list[Any]) -> bool | None:
    """Whether h is written as a layer's value: differentiated by (∂J/∂h, h̄), transposed
    (hᵀ) or multiplied by one of the network's arrays (W_2 h) somewhere; None where h
    divides (1/h: a width, as d2l names its hidden one)."""
    if any(isinstance(n, Bin) and n.op == "div" and _has_h(n.b) for n in found):
        return None
    return any(
        (isinstance(n, Partial) and _is_h(n.sym))
        or (isinstance(n, DD) and (_is_h(n.num) or _is_h(n.den)))
        or (isinstance(n, T) and _is_h(n.a))
        or _times_a_matrix(n)
        for n in found
    )


def _times_a_matrix(node: Any) -> bool:
    """``W_2 h``, ``h ȳᵀ``: h a factor of a product with one of the network's arrays."""
    if isinstance(node, Chain):
        pairs = list(zip(node.items, node.items[1:], strict=False))
    elif isinstance(node, (Amb, Bin)) and (isinstance(node, Amb) or node.op in ("mat", "had")):
        pairs = [(node.a, node.b)]
    else:
        return False
    return any((_is_h(a) and _an_array(b)) or (_is_h(b) and _an_array(a)) for a, b in pairs)


def _an_array(node: Any) -> bool:
    return any(isinstance(n, (Sym, Partial)) for _, n in nodes(node))


def _has_h(node: Any) -> bool:
    return any(_is_h(n) for _, n in nodes(node))


def _layer_unsaid(node: Any) -> bool:
    """A symbol of the network written without its layer other than z and y (``W``), or a
    δ: its layer is not told by the hidden letters (CV 253460's δ_1 is ∂J/∂z_2, deltas
    numbered from the output), and reading h as A_1 would tie it to layer 1."""
    if isinstance(node, Sym) and node.base == "delta":
        return True  # no δ in these letters: a numbered one is the source's own numbering
    return (
        isinstance(node, Sym)
        and node.base not in ("Z", "Y", "X")
        and (node.index is None or isinstance(node.index, RelIndex))
    )


def _first_layer_gradient(lhs: Any) -> bool:
    """``∂J/∂W⁽¹⁾``, ``W̄_1``: the gradient of the hidden layer's weights or bias, whose
    chain rule passes through the hidden layer's z (the output's z has another shape)."""
    return (
        isinstance(lhs, Partial)
        and isinstance(lhs.sym, Sym)
        and lhs.sym.base in ("W", "b")
        and lhs.sym.index == IntIndex(1)
    )


def hidden_letters(
    parts: list[Any], notes: list[str], depth: int
) -> tuple[list[Any], Alternative | None]:
    """The parts with h, z and ∂L/∂y read in the letters of one hidden layer (unchanged
    where the formula writes no h as a layer's value, divides by h, a width, or the network
    is not of two layers),
    and the reading with z the output's instead (None where no z is written)."""
    if depth != 2:
        return parts, None
    found = [n for p in parts for _, n in nodes(p)]
    if any(isinstance(n, Entry) for n in found):
        return parts, None  # entries: unit letters (latex_units)
    has_z = any(_unnumbered(n, "Z") for n in found)
    h = _h_as_a_value(found)
    if h is None or (not h and any(_is_h(n) for n in found)):
        return parts, None  # h a width (1/h), or written but never as a layer's value
    if not h and not (has_z and _first_layer_gradient(parts[0])):
        return parts, None
    by_y = any(_by_output(n) for n in found)
    ys = sum(1 for n in found if _unnumbered(n, "Y"))
    if by_y and ys > sum(1 for n in found if _by_output(n)):
        return parts, None  # y the targets too: not read
    if any(_layer_unsaid(n) for n in found):
        return parts, None  # an unnumbered δ, W, …: reading h as A_1 would place it at 1
    said = ["'h' read as the hidden layer's activation A_1"] if h else []
    if has_z:
        said.append(
            "z as its pre-activation Z_1"
            if h
            else "z read as the hidden layer's pre-activation Z_1 (its weights' gradient "
            "passes through it)"
        )
    if by_y:
        said.append("y under a derivative as the output ŷ")
    notes.append(", ".join(said) + NOTE)
    read = [_read(p, IntIndex(1)) for p in parts]
    # ∂L/∂y as ∂L/∂Z_L too: SciML's y is W_2 h + b_2, ŷ only where the output is the identity
    by_z = [_read(p, IntIndex(1), "Z") for p in parts]
    y_other = Alternative(by_z, OTHER_Y, Y_REFUSAL) if by_y else None
    if not has_z:
        return read, y_other
    other = [_read(p, RelIndex("L", 0)) for p in parts]
    return read, Alternative(other, OTHER_Z, REFUSAL, also=y_other)
