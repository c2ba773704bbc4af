"""Where the unit letters of notes without layer numbers put their units (``latex_units``
reads them): each letter's layer relative to the left-hand side's, from the weights that
join them (w_(kj) joins unit j to unit k of the next layer, in derive's order of a weight's
indices); the other order (Wikipedia's w_(jk), joining j to k) where only it places the
letters as a network has them (a delta's recursion running backward, the input x in layer
0); and the input's layer, which numbers the formula's layers (δ_j x_i is layer 1's)."""

from __future__ import annotations

from typing import Any

from derive.formula.ir import Entry, FormulaError, ISum, Partial, Sym
from derive.formula.ir_walk import map_children, nodes
from derive.formula.layer_indices import IntIndex, RelIndex

#: The network's symbols that unit letters may stand beside instead of layer numbers.
UNIT_BASES = ("delta", "Z", "A", "W", "b")


def unit_letters_of(node: Any) -> tuple[str, ...] | None:
    """The plain letters of an unnumbered entry (``w_{kj}``: k, j); None otherwise."""
    if not (isinstance(node, Entry) and isinstance(node.a, Sym) and node.a.index is None):
        return None
    if node.a.base not in UNIT_BASES:
        return None
    out = []
    for term in node.indices:
        if len(term) != 1 or term[0][0] != 1 or not isinstance(term[0][1], str):
            return None
        out.append(term[0][1])
    return tuple(out)


def unit_layers(parts: list[Any]) -> dict[str, int] | None:
    """Each unit letter's layer relative to the left-hand side's (``l``): ``w_{kj}`` joins
    unit j to unit k of the next layer. None unless every letter is placed so."""
    lhs = parts[0].sym if isinstance(parts[0], Partial) else parts[0]
    first = unit_letters_of(lhs)
    if not first:
        return None
    layer = {first[0]: 0}
    if len(first) == 2:
        layer[first[1]] = -1
    links = []
    letters: set[str] = set()
    for p in parts:
        for _, n in nodes(p):
            got = unit_letters_of(n)
            if got is None:
                continue
            letters |= set(got)
            if len(got) == 2 and n.a.base == "W":
                links.append(got)
            elif len(got) != 1:
                return None
    if not links:  # δ_k = a_k - y_k: one letter, placed only by the target's (``_on``)
        one = len(first) == 1 and letters == {first[0]} and bool(_on(parts, "Y", layer))
        return layer if one else None
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
    got = unit_letters_of(node)
    if got is not None:
        sym = node.a
        base = {"A": "Z", "Z": "A"}.get(sym.base, sym.base) if swap and sym.lower else sym.base
        return Entry(Sym(base, RelIndex("l", layer[got[0]]), sym.lower), node.indices)
    return map_children(node, lambda c: _relettered(c, layer, swap))


def mitchell_inputs(parts: list[Any], layer: dict[str, int]) -> None:
    """Refuse ``x_{ji}`` beside unit letters: Mitchell's input from unit i into unit j (the
    activation a_i), where derive's x is the network's input, whose rows are no layer's
    units but the first's inputs; read as X's entries it would be judged on other values."""
    for p in parts:
        for _, n in nodes(p):
            if (
                isinstance(n, Entry)
                and isinstance(n.a, Sym)
                and n.a.base == "X"
                and len(n.indices) == 2
                and all(len(t) == 1 and t[0][1] in layer for t in n.indices)
            ):
                raise FormulaError(
                    "x with two unit letters (x_{ji}, Mitchell's input from unit i into unit "
                    "j) is not read: derive's x is the network's input; write the unit's "
                    "activation a_i (x_i for the first layer)"
                )


def _on(parts: list[Any], base: str, layer: dict[str, int]) -> set[int]:
    """The layers (relative to l) of the unit letters that index ``base`` (X or Y) alone."""
    return {
        layer[n.indices[0][0][1]]
        for p in parts
        for _, n in nodes(p)
        if isinstance(n, Entry)
        and isinstance(n.a, Sym)
        and n.a.base == base
        and n.a.index is None
        and len(n.indices) == 1
        and len(n.indices[0]) == 1
        and n.indices[0][0][1] in layer
    }


def y_below_output(parts: list[Any], layer: dict[str, int]) -> str | None:
    """A unit letter indexing y whose layer is below another letter's (``δ_j = y_j(1 − y_j)
    Σ_k w_kj δ_k``, ``∂E/∂w_ji = δ_j y_i``): that y is no entry of the target, whose units
    are the output layer's; Haykin writes y_j for the output of any neuron j (derive's a_j).
    None when every letter on y is in the formula's highest layer."""
    top = max(layer.values(), default=0)
    below = [c for c, k in layer.items() if k < top and k in _on(parts, "Y", {c: k})]
    return below[0] if below else None


def input_layer(parts: list[Any], layer: dict[str, int]) -> int | None:
    """The layer ``l`` is when the formula indexes the input by a unit letter (Bishop's
    ``∂E_n/∂w_ji = δ_j x_i``: i a unit of layer 0, so l = 1); None when it does not, or
    its letters on the input disagree."""
    at = {-k for k in _on(parts, "X", layer)}
    return at.pop() if len(at) == 1 else None


def output_offset(parts: list[Any], layer: dict[str, int]) -> int | None:
    """How far l is from the last layer L when the formula indexes the target by a unit
    letter (``δ_k = a_k - y_k``: k a unit of the output, so l = L); None when it does not,
    or its letters on the target disagree."""
    at = {-k for k in _on(parts, "Y", layer)}
    return at.pop() if len(at) == 1 else None


def _anchored(node: Any, at: int, letter: str) -> Any:
    if isinstance(node, Sym) and isinstance(node.index, RelIndex) and node.index.letter == "l":
        k = at + node.index.offset
        return Sym(node.base, IntIndex(k) if letter == "" else RelIndex(letter, k), node.lower)
    return map_children(node, lambda c: _anchored(c, at, letter))


def placed(parts: list[Any], layer: dict[str, int], swap: bool) -> list[Any]:
    """The parts with each unit letter's symbol in its layer (relative to l; numbered where
    the formula indexes the input by a unit letter, relative to L where the target)."""
    out = [_relettered(p, layer, swap) for p in parts]
    at = input_layer(parts, layer)
    if at is not None:
        return [_anchored(p, at, "") for p in out]
    last = output_offset(parts, layer)
    return out if last is None else [_anchored(p, last, "L") for p in out]


def mirrored(node: Any) -> Any:
    """``node`` with each weight's two unit letters the other way round (w_{ij} -> w_{ji})."""
    got = unit_letters_of(node)
    if got is not None and len(got) == 2 and node.a.base == "W":
        return Entry(node.a, (node.indices[1], node.indices[0]))
    return map_children(node, mirrored)


def _recursion(parts: list[Any]) -> str | None:
    """The left-hand side's letter when the formula is a delta's recursion written with unit
    letters (``δ_j = … Σ_k w_(kj) δ_k``): a delta on the left, another's delta on the right."""
    lhs = unit_letters_of(parts[0])
    if lhs is None or len(lhs) != 1 or parts[0].a.base != "delta":
        return None
    for p in parts[1:]:
        for _, n in nodes(p):
            got = unit_letters_of(n)
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
        if (got := unit_letters_of(n)) and n.a.base == "delta" and got[0] != own
    )


def _accepted(parts: list[Any], layer: dict[str, int] | None) -> str | None:
    """Why the letters' layers are no reading (None: they are one): a delta's recursion
    that runs forward, or the input x a unit of a layer other than 0."""
    if not _backward(parts, layer):
        return "the delta summed beside it would be the previous layer's"
    at = input_layer(parts, layer) if layer is not None else None
    if at is not None and at < 1:
        return "the input x would be a unit of a layer after the input's"
    return None


def convention(parts: list[Any]) -> tuple[list[Any], dict[str, int] | None, str | None]:
    """The parts in derive's order of a weight's indices (w_(kj) joins unit j to unit k) and
    their letters' layers; where only the other order (w_(jk) joins j to k, Wikipedia's)
    places the letters as a network has them, that order, with the note saying why."""
    layer = unit_layers(parts)
    why = _accepted(parts, layer)
    if why is None:
        return parts, layer, None
    flipped = [mirrored(p) for p in parts]
    other = unit_layers(flipped)
    if other is None or _accepted(flipped, other) is not None:
        return parts, layer, None
    return (
        flipped,
        other,
        (
            "w_(jk) read as joining unit j to unit k of the next layer (Wikipedia's "
            f"backpropagation article): in the other order (w_(kj) joining j to k) {why}"
        ),
    )


def _l_as_entry(node: Any) -> Any:
    if isinstance(node, Sym) and node.index == RelIndex("l", 0) and node.base in UNIT_BASES:
        return Entry(Sym(node.base, None, node.lower), (((1, "l"),),))
    return map_children(node, _l_as_entry)


def summed_l(parts: list[Any]) -> tuple[list[Any], bool]:
    """The parts with a summed ``l`` read as a unit letter (Wikipedia's
    ``δ_j = (Σ_ℓ w_jℓ δ_ℓ) φ'(net_j)``: ℓ is summed, so it runs over units, not layers, as
    a layer's index never runs within one formula without layer numbers); and whether it
    was. Unchanged where nothing sums over l, or a symbol has another layer index."""
    summed = any(isinstance(n, ISum) and "l" in n.letters for p in parts for _, n in nodes(p))
    if not summed:
        return parts, False
    out = [_l_as_entry(p) for p in parts]
    if any(isinstance(n, Sym) and n.index is not None for p in out for _, n in nodes(p)):
        return parts, False
    return out, True
