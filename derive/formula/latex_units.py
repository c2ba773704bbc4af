"""The unit letters of notes without layer numbers (Bishop's ``δ_j = h'(a_j) Σ_k w_{kj} δ_k``:
j in layer l, k in l+1): the letters say the layers, through the weights that join them.

Which unit a weight's first index names is a convention: w_{kj} joins unit j to unit k
(Nielsen, Bishop, derive's rows), or w_{ij} joins unit i to unit j (Wikipedia's
∂E/∂w_ij = o_i δ_j). A delta's recursion says which (its sum runs over the next layer's
deltas, so w_{kj} with δ_k summed joins j to k); a weight's gradient alone does not: there
the other convention is a reading too, and a formula wrong as derive reads it and right
in the other gets no verdict (``Alternative``)."""

from __future__ import annotations

from typing import Any

from derive.formula.ir import Entry, FormulaError, Partial, Sym
from derive.formula.ir_walk import map_children, nodes
from derive.formula.latex_layers import Alternative
from derive.formula.layer_indices import RelIndex

#: The network's symbols that unit letters may stand beside instead of layer numbers.
_UNIT_BASES = ("delta", "Z", "A", "W", "b")


def _letters(node: Any) -> tuple[str, ...] | None:
    """The plain letters of an unnumbered entry (``w_{kj}``: k, j); None otherwise."""
    if not (isinstance(node, Entry) and isinstance(node.a, Sym) and node.a.index is None):
        return None
    if node.a.base not in _UNIT_BASES:
        return None
    out = []
    for term in node.indices:
        if len(term) != 1 or term[0][0] != 1 or not isinstance(term[0][1], str):
            return None
        out.append(term[0][1])
    return tuple(out)


def _unit_layers(parts: list[Any]) -> dict[str, int] | None:
    """Each unit letter's layer relative to the left-hand side's (``l``): ``w_{kj}`` joins
    unit j to unit k of the next layer. None unless every letter is placed so."""
    lhs = parts[0].sym if isinstance(parts[0], Partial) else parts[0]
    first = _letters(lhs)
    if not first:
        return None
    layer = {first[0]: 0}
    if len(first) == 2:
        layer[first[1]] = -1
    links = []
    letters: set[str] = set()
    for p in parts:
        for _, n in nodes(p):
            got = _letters(n)
            if got is None:
                continue
            letters |= set(got)
            if len(got) == 2 and n.a.base == "W":
                links.append(got)
            elif len(got) != 1:
                return None
    if not links:
        return None
    for _ in links:
        for a, b in links:
            if a in layer and b not in layer:
                layer[b] = layer[a] - 1
            elif b in layer and a not in layer:
                layer[a] = layer[b] + 1
    if not letters <= set(layer) or any(layer[a] != layer[b] + 1 for a, b in links):
        return None
    return layer


def _relettered(node: Any, layer: dict[str, int], swap: bool) -> Any:
    got = _letters(node)
    if got is not None:
        sym = node.a
        base = {"A": "Z", "Z": "A"}.get(sym.base, sym.base) if swap and sym.lower else sym.base
        return Entry(Sym(base, RelIndex("l", layer[got[0]]), sym.lower), node.indices)
    return map_children(node, lambda c: _relettered(c, layer, swap))


#: The other convention for a weight's indices, as a reading of a weight's gradient.
MIRROR_NOTE = "w_(ij) read as joining unit i to unit j (Wikipedia's backpropagation article)"
MIRROR_REFUSAL = (
    "cannot tell which unit a weight's first index names: with w_(kj) joining unit j to "
    "unit k (Nielsen, Bishop) the formula is wrong, and with w_(ij) joining unit i to unit j "
    "(Wikipedia) it is right; write the layers (∂C/∂w^l_{jk} = a^{l-1}_k δ^l_j)"
)


def _mirrored(node: Any) -> Any:
    """``node`` with each weight's two unit letters the other way round (w_{ij} -> w_{ji})."""
    got = _letters(node)
    if got is not None and len(got) == 2 and node.a.base == "W":
        return Entry(node.a, (node.indices[1], node.indices[0]))
    return map_children(node, _mirrored)


def _mirror(parts: list[Any], swap: bool, then: Alternative | None) -> Alternative | None:
    """A weight's gradient by its unit letters (``∂E/∂w_{ij} = o_i δ_j``) in the other
    convention for its indices (``then``: the reading checked after it); None for any
    other left-hand side (a delta's recursion places its sum over the next layer)."""
    lhs = parts[0]
    if not (isinstance(lhs, Partial) and isinstance(lhs.sym, Entry)):
        return then
    got, weight = _letters(lhs.sym), lhs.sym.a
    if got is None or len(got) != 2 or not isinstance(weight, Sym) or weight.base != "W":
        return then
    mirrored = [_mirrored(p) for p in parts]
    layer = _unit_layers(mirrored)
    if layer is None:
        return then
    readings = [_relettered(p, layer, swap) for p in mirrored]
    return Alternative(readings, MIRROR_NOTE, MIRROR_REFUSAL, also=then)


def _recursion(parts: list[Any]) -> str | None:
    """The left-hand side's letter when the formula is a delta's recursion written with unit
    letters (``δ_j = … Σ_k w_(kj) δ_k``): a delta on the left, another's delta on the right."""
    lhs = _letters(parts[0])
    if lhs is None or len(lhs) != 1 or parts[0].a.base != "delta":
        return None
    for p in parts[1:]:
        for _, n in nodes(p):
            got = _letters(n)
            if got and n.a.base == "delta" and got[0] != lhs[0]:
                return lhs[0]
    return None


def _backward(parts: list[Any], layer: dict[str, int] | None) -> bool:
    """Whether the letters' layers make a delta's recursion run backward (every delta on
    the right of ``δ_j`` with a letter of its own the next layer's: δ_l from δ_{l+1}, as
    every source defines it). True for any formula that is no such recursion."""
    own = _recursion(parts)
    if own is None:
        return layer is not None
    if layer is None:
        return False
    return all(
        layer.get(got[0]) == 1
        for p in parts[1:]
        for _, n in nodes(p)
        if (got := _letters(n)) and n.a.base == "delta" and got[0] != own
    )


#: The note of a delta's recursion read in Wikipedia's order of a weight's indices.
WIKIPEDIA_NOTE = (
    "w_(jk) read as joining unit j to unit k of the next layer (Wikipedia's backpropagation "
    "article): the delta summed beside it is the next layer's, and in the other order "
    "(w_(kj) joining j to k) the recursion would run forward"
)


def _convention(parts: list[Any]) -> tuple[list[Any], dict[str, int] | None, str]:
    """The parts in derive's order of a weight's indices (w_(kj) joins unit j to unit k) and
    their letters' layers; for a delta's recursion that only the other order (w_(jk) joins
    j to k, Wikipedia's) makes run backward, that order. The order's words for the note."""
    ours = "w_(kj) joins unit j to unit k of the next layer"
    layer = _unit_layers(parts)
    if _recursion(parts) is None or _backward(parts, layer):
        return parts, layer, ours
    mirrored = [_mirrored(p) for p in parts]
    other = _unit_layers(mirrored)
    if _backward(mirrored, other):
        return mirrored, other, "w_(jk) joins unit j to unit k of the next layer"
    return parts, layer, ours


def unit_letters(
    parts: list[Any], notes: list[str], bishop: bool
) -> tuple[list[Any], Alternative | None]:
    """``δ_j = h'(a_j) Σ_k w_{kj} δ_k`` (Bishop, PRML §5.3): no layer numbers, the unit
    letters say the layers (j in layer l, k in l+1, as w_{kj} joins j to k). Read so, in
    notes. Bishop's a is the pre-activation and z the activation, the other way round from
    most notes: with his h'(a_j) written that is the reading; otherwise a and z are read as
    written and the swapped parts are returned too (a formula wrong as written and right
    swapped cannot be judged). Returns the parts and the swapped reading (or None)."""
    if any(isinstance(n, Sym) and n.index is not None for p in parts for _, n in nodes(p)):
        return parts, None
    written_parts = parts
    parts, layer, order = _convention(parts)
    if layer is None:
        return parts, None
    placed = ", ".join(
        f"{c} in layer l{layer[c]:+d}".replace("+0", "")
        for c in sorted(layer, key=lambda c: layer[c])
    )
    notes.append(f"unit letters read as layers ({placed}; {order})")
    if parts is not written_parts:
        notes.append(WIKIPEDIA_NOTE)
    written = {n.base for p in parts for _, n in nodes(p) if isinstance(n, Sym) and n.lower}
    az = bool(written & {"A", "Z"})
    if bishop and "A" not in written and az:  # h'(z_j): whose letters?
        raise FormulaError(
            "cannot tell: h with unit letters is Bishop's notation (PRML §5.3), where z_j is "
            "the activation and a_j the pre-activation, and most notes read z_j the other way; "
            "write the layers (δ^l_j, z^l_j) in derive's notation"
        )
    if bishop and "A" in written:  # h'(a_j): Bishop's own pair of letters
        notes.append(
            "Bishop's notation (PRML §5.3, h the activation function): a read as the "
            "pre-activation (derive's Z), z as the activation (A)"
        )
        return [_relettered(p, layer, True) for p in parts], _mirror(parts, True, None)
    swapped = None
    if az:
        swapped = Alternative(
            [_relettered(p, layer, True) for p in parts],
            "a read as the pre-activation and z as the activation (Bishop, PRML §5.3)",
            "cannot tell: with a_j as the activation and z_j as the pre-activation the formula "
            "is wrong, and with a_j as the pre-activation (Bishop, PRML §5.3) it is right; "
            "write the layers (δ^l_j, z^l_j) in derive's notation",
            also=_mirror(parts, True, None),  # both other readings: letters and indices
        )
    return [_relettered(p, layer, False) for p in parts], _mirror(parts, False, swapped)
