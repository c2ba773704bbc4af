"""Layers named by a letter rather than a number: ``o`` for the output layer and ``h`` for
the hidden one (``\\delta^o``, ``W^o``, ``A^h``), as many notes and READMEs write a network
with one hidden layer. A reading, not the literal text: the answer says which layer each
letter was taken for, and ``h`` in a network with several hidden layers is refused."""

from __future__ import annotations

from derive.formula.ir import FormulaError, Index, IntIndex, RelIndex

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
