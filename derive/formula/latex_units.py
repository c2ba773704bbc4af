"""The unit letters of notes without layer numbers (Bishop's ``δ_j = h'(a_j) Σ_k w_{kj} δ_k``:
j in layer l, k in l+1): the letters say the layers, through the weights that join them.

Which unit a weight's first index names is a convention: w_{kj} joins unit j to unit k
(Nielsen, Bishop, derive's rows), or w_{ij} joins unit i to unit j (Wikipedia's
∂E/∂w_ij = o_i δ_j). A delta's recursion says which (its sum runs over the next layer's
deltas), and so does the input indexed by a unit letter (x_i is in layer 0): where only
one order places the letters so, it is read (``unit_places``); a weight's gradient alone
does not say: there the other convention is a reading too, and a formula wrong as derive
reads it and right in the other gets no verdict (``Alternative``)."""

from __future__ import annotations

from typing import Any

from derive.formula.ir import Entry, FormulaError, Partial, Sym
from derive.formula.ir_walk import nodes
from derive.formula.latex_layers import Alternative
from derive.formula.unit_places import (
    convention,
    input_layer,
    mirrored,
    mitchell_inputs,
    output_offset,
    placed,
    summed_l,
    unit_layers,
    unit_letters_of,
    y_below_output,
)

#: The other convention for a weight's indices, as a reading of a weight's gradient.
#: A recursion right only in Wikipedia's order of a weight's indices, without its letters.
WIKIPEDIA_ORDER_REFUSAL = (
    "cannot tell which unit a weight's first index names: with w_(jk) joining unit j to unit "
    "k (Wikipedia) the formula is right, and with w_(jk) joining k to j (Nielsen, Bishop) the "
    "delta summed beside it is the wrong layer's (the weight transposed); write the layers "
    "(δ^l_j = Σ_k w^{l+1}_{kj} δ^{l+1}_k f'(z^l_j))"
)
MIRROR_NOTE = "w_(ij) read as joining unit i to unit j (Wikipedia's backpropagation article)"
MIRROR_REFUSAL = (
    "cannot tell which unit a weight's first index names: with w_(kj) joining unit j to "
    "unit k (Nielsen, Bishop) the formula is wrong, and with w_(ij) joining unit i to unit j "
    "(Wikipedia) it is right; write the layers (∂C/∂w^l_{jk} = a^{l-1}_k δ^l_j)"
)


def _mirror(parts: list[Any], swap: bool, then: Alternative | None) -> Alternative | None:
    """A weight's gradient by its unit letters (``∂E/∂w_{ij} = o_i δ_j``) in the other
    convention for its indices (``then``: the reading checked after it); None for any
    other left-hand side (a delta's recursion places its sum over the next layer)."""
    lhs = parts[0]
    if not (isinstance(lhs, Partial) and isinstance(lhs.sym, Entry)):
        return then
    got, weight = unit_letters_of(lhs.sym), lhs.sym.a
    if got is None or len(got) != 2 or not isinstance(weight, Sym) or weight.base != "W":
        return then
    flipped = [mirrored(p) for p in parts]
    layer = unit_layers(flipped)
    if layer is None:
        return then
    readings = placed(flipped, layer, swap)
    return Alternative(readings, MIRROR_NOTE, MIRROR_REFUSAL, also=then)


def unit_letters(
    parts: list[Any], notes: list[str], bishop: bool, wikipedia: bool = False
) -> tuple[list[Any], Alternative | None]:
    """``δ_j = h'(a_j) Σ_k w_{kj} δ_k`` (Bishop, PRML §5.3): no layer numbers, the unit
    letters say the layers (j in layer l, k in l+1, as w_{kj} joins j to k). Read so, in
    notes. Bishop's a is the pre-activation and z the activation, the other way round from
    most notes: with his h'(a_j) written that is the reading; otherwise a and z are read as
    written and the swapped parts are returned too (a formula wrong as written and right
    swapped cannot be judged). Returns the parts and the swapped reading (or None)."""
    written_parts = parts
    parts, l_summed = summed_l(parts)
    if any(isinstance(n, Sym) and n.index is not None for p in parts for _, n in nodes(p)):
        return parts, None
    parts, layer, other_order = convention(parts)
    if layer is None:
        return written_parts, None
    if other_order and not (l_summed or wikipedia):
        # w_jk read in Wikipedia's order only where the formula writes Wikipedia's letters
        # (φ, a summed ℓ): in Nielsen's order the same text is a transposed weight
        raise FormulaError(WIKIPEDIA_ORDER_REFUSAL)
    if l_summed:
        notes.append("ℓ (or l) summed over read as a unit letter, not the layer")
    mitchell_inputs(parts, layer)
    where = ", ".join(
        f"{'ℓ' if c == 'l' else c} in layer l{layer[c]:+d}".replace("+0", "")
        for c in sorted(layer, key=lambda c: layer[c])
    )
    order = "w_(jk) joins unit j to unit k" if other_order else "w_(kj) joins unit j to unit k"
    notes.append(f"unit letters read as layers ({where}; {order} of the next layer)")
    notes += [other_order] if other_order else []
    below = y_below_output(parts, layer)
    if below is not None:
        raise FormulaError(
            f"cannot tell what y_{below} is: {below} is a unit of a layer below the output, so "
            f"y_{below} is no entry of the target; if it is unit {below}'s output (Haykin's "
            f"y_{below}), write a_{below}"
        )
    at = input_layer(parts, layer)
    last = output_offset(parts, layer) if at is None else None
    if last is not None:
        notes.append(
            "y with a unit letter read as an entry of the target (the output layer's units): "
            "the formula is " + ("layer L's" if last == 0 else f"layer L{last:+d}'s")
        )
    if at is not None:
        notes.append(
            f"x with a unit letter read as an entry of the input (layer 0): the formula is "
            f"layer {at}'s"
        )

    def mirror(swap: bool, then: Alternative | None) -> Alternative | None:
        """The other order of a weight's indices as a reading, unless it is the one read."""
        return then if other_order else _mirror(parts, swap, then)

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
        return placed(parts, layer, True), mirror(True, None)
    swapped = None
    if az:
        swapped = Alternative(
            placed(parts, layer, True),
            "a read as the pre-activation and z as the activation (Bishop, PRML §5.3)",
            "cannot tell: with a_j as the activation and z_j as the pre-activation the formula "
            "is wrong, and with a_j as the pre-activation (Bishop, PRML §5.3) it is right; "
            "write the layers (δ^l_j, z^l_j) in derive's notation",
            also=mirror(True, None),  # both other readings: letters and indices
        )
    return placed(parts, layer, False), mirror(False, swapped)
