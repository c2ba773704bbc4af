"""The output's values written without their layer: ``dz = a - y``,
``da = -\\frac{y}{a} + \\frac{1 - y}{1 - a}``, as Ng's course writes logistic regression and
its forum answers keep writing for the output of a deeper network. The labels ``y`` meet
only the output layer, so a formula that writes them beside an unnumbered a, z, δ or da,
and numbers no layer at all, is about the output layer L (a reading, said in the notes).
A network of one layer is ``latex_layers.one_layer``'s."""

from __future__ import annotations

import re
from typing import Any

from derive.formula.ir import Entry, Partial, Sym
from derive.formula.ir_walk import map_children, nodes
from derive.formula.layer_indices import RelIndex

#: The values of the output layer a formula beside the labels may leave unnumbered (not
#: W, b, dW, db: ``dw = x (a - y)ᵀ`` is the first layer's in logistic regression).
_OUTPUT_BASES = ("Z", "A", "delta", "dA")
#: The data: never numbered.
_DATA = ("X", "Y")


def _at_output(node: Any) -> Any:
    if isinstance(node, Sym) and node.index is None and node.base in _OUTPUT_BASES:
        return Sym(node.base, RelIndex("L", 0), node.lower)
    return map_children(node, _at_output)


def output_unnumbered(parts: list[Any], notes: list[str], depth: int) -> list[Any]:
    """The parts with an unnumbered a, z, δ, da read as the output layer's where the
    formula writes the labels and no layer number (else unchanged)."""
    if depth < 2:
        return parts
    found = [n for p in parts for _, n in nodes(p)]
    if any(isinstance(n, Entry) for n in found):  # entries: unit letters (latex_layers)
        return parts
    syms = [n for n in found if isinstance(n, Sym)]
    if not any(n.base == "Y" for n in syms):
        return parts
    values = [n for n in syms if n.base not in _DATA]
    if not values or any(n.index is not None or n.base not in _OUTPUT_BASES for n in values):
        return parts
    notes.append(
        "a, z, δ written without a layer beside the labels y read as the output layer's "
        "(layer L): the labels meet only the output"
    )
    return [_at_output(p) for p in parts]


def _sample_letter(parts: list[Any]) -> str | None:
    """The sample's letter of a left-hand side's loss of one sample (``∂L_i/∂f_j``: i)."""
    head = parts[0] if parts else None
    if not isinstance(head, Partial):
        return None
    m = re.fullmatch(r"[A-Z]_\{?([a-z])\}?", head.loss)
    return m.group(1) if m else None


def _without_sample(node: Any, letter: str) -> Any:
    if isinstance(node, Entry) and len(node.indices) == 2 and node.indices[0] == ((1, letter),):
        return Entry(_without_sample(node.a, letter), node.indices[1:])
    return map_children(node, lambda c: _without_sample(c, letter))


def sample_entries(parts: list[Any], notes: list[str]) -> list[Any]:
    """``∂L_i/∂f_j = σ(f_j) - y_{ij}`` (CS231n's notes): beside the loss of sample i, an entry
    ``y_{ij}`` is entry j of that sample's (the formula is for one sample, checked on a
    network of batch 1), whichever way the network lays samples out."""
    letter = _sample_letter(parts)
    if letter is None:
        return parts
    out = [_without_sample(p, letter) for p in parts]
    if out != parts:
        notes.append(
            f"the loss of one sample {letter} on the left: an entry y_{{{letter}k}} read as "
            f"entry k of sample {letter}'s"
        )
    return out
