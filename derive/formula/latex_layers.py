"""Layers named by a letter rather than a number: ``o`` for the output layer and ``h`` for
the hidden one (``\\delta^o``, ``W^o``, ``A^h``), as many notes and READMEs write a network
with one hidden layer. A reading, not the literal text: the answer says which layer each
letter was taken for, and ``h`` in a network with several hidden layers is refused."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from derive.formula.ir import FormulaError, Index, IntIndex, RelIndex, Sym
from derive.formula.ir_walk import map_children, nodes
from derive.formula.numbers import _index


@dataclass(frozen=True, slots=True)
class Letter:
    """An entry or sample index (``i``, ``j``) where a layer index may stand."""

    c: str


def layer_or_letter(text: str) -> Index | Letter:
    """A layer index (2, l, l+1, L), or an entry or sample index (i, j, k)."""
    t = text.strip()
    if re.fullmatch(r"[A-Za-z]", t) and t not in "lL":
        return Letter(t)
    return _index(t)


#: The letters read as layer names, and what they name.
LAYER_LETTERS = {"o": "the output layer", "h": "the hidden layer"}


def named_layer(letter: str, depth: int, notes: list[str]) -> Index | None:
    """The layer ``o`` or ``h`` names in a network of ``depth`` layers (None for any other
    letter); the reading is added to ``notes`` once."""
    letter = letter.strip()
    if letter not in LAYER_LETTERS:
        return None
    if letter == "o":
        idx: Index = RelIndex("L", 0)
        layer = depth
    else:
        if depth != 2:
            hidden = max(depth - 1, 0)
            raise FormulaError(
                f"'h' as the hidden layer: this network has {hidden} hidden layers; write the "
                "layer's number"
            )
        idx, layer = IntIndex(1), 1
    note = f"'{letter}' read as {LAYER_LETTERS[letter]} (layer {layer})"
    if note not in notes:
        notes.append(note)
    return idx


def _capital_to_generic(node: Any) -> Any:
    if isinstance(node, Sym) and isinstance(node.index, RelIndex) and node.index.letter == "L":
        return Sym(node.base, RelIndex("l", node.index.offset), node.lower)
    return map_children(node, _capital_to_generic)


def _writes_past_output(node: Any) -> bool:
    return any(
        isinstance(n, Sym)
        and isinstance(n.index, RelIndex)
        and n.index.letter == "L"
        and n.index.offset > 0
        for _, n in nodes(node)
    )


def capital_as_generic(parts: list[Any], notes: list[str], has_output: bool) -> list[Any]:
    """``δ^L = W^{L+1} δ^{L+1} ⊙ σ'(Z^L)``: a layer past the output (``L+1``) means the
    formula's ``L`` is any layer, the generic ``l`` (a reading, said in ``notes``). Not
    where ŷ (the output itself) is written, which needs ``L`` as the last layer."""
    if has_output or not any(_writes_past_output(p) for p in parts):
        return parts
    notes.append("L read as any layer (the generic l), since the formula writes layer L+1")
    return [_capital_to_generic(p) for p in parts]


#: Symbols that name one layer's quantity and may be written without their layer where
#: the network has one layer (logistic regression: b, z, a); a weight may not, since
#: notes write w as a column, the transpose of W_1 (Ng's dw = X(A − Y)ᵀ/m).
_ONE_LAYER = ("b", "Z", "A", "delta", "db", "dA")


def _first_layer(node: Any) -> Any:
    if isinstance(node, Sym) and node.index is None and node.base in _ONE_LAYER:
        return Sym(node.base, IntIndex(1), node.lower)
    return map_children(node, _first_layer)


def one_layer(parts: list[Any], notes: list[str], depth: int) -> list[Any]:
    """``∂J/∂b = (1/m) Σ_i (a^{(i)} − y^{(i)})`` in a network of one layer: the symbols
    written without a layer are that layer's (a reading, said in ``notes``)."""
    if depth != 1:
        return parts
    out = [_first_layer(p) for p in parts]
    if out != parts:
        notes.append("this network has one layer: b, z, a, δ without a layer read as layer 1's")
    return out
