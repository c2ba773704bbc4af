"""The letter i standing for the layer index: ``dZ^{[i]} = (W^{[i+1]})^T dZ^{[i+1]} …``
(notes that number layers with i), ``\\delta_i = W_{i+1}^T \\delta_{i+1} …`` (k, the other
letter notes use, is read as l by ``layer_indices`` already).

Read as l only where the letter stands nowhere but where a layer's number does (Ng's
bracket ``^{[i]}``, a subscript of a layered name ``W_{i+1}``, ``\\delta_i``), at least once
unmistakably (a bracket, or ±1), and the formula writes no l of its own: a letter that is
also an entry or sample index (``\\sum_i``, ``dZ^{[k]}_i``, ``w_{ij}``) is never read so.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

#: The letters notes use for the layer instead of l, read here.
_LETTERS = "i"
#: A letter standing alone, or as a one-token script (TeX's _ix is _{i} x).
_STANDALONE = r"(?<![A-Za-z\\])({0})(?![A-Za-z])|(?<=[_^])({0})"
_OFFSET = r"\s*[-+]\s*1"
#: Names that carry a layer subscript: W_i, \delta_{i+1}, f_i'(…), x_{i-1}.
#: A plain letter starts a name unless a word goes before it (a one-token script does
#: not: W_ix_{i-1} is W_i x_{i-1}).
_LAYERED = r"(?:\\delta|\\sigma|(?:(?<![A-Za-z])|(?<=[_^][A-Za-z0-9]))(?:d?[WwbZzAaxh]|[fg]))"


def _positions(text: str, letter: str) -> tuple[list[int], list[int], bool]:
    """Every occurrence of ``letter`` outside a command's name, those in a layer position,
    and whether one of these is unmistakably a layer (a bracket, or an offset ±1)."""
    words = re.sub(r"\\[A-Za-z]+", lambda m: " " * len(m.group(0)), text)  # \sin, \ell
    every = [i for i, c in enumerate(words) if c == letter]  # in w_{ij} and \text{if} too
    layer: list[int] = []
    sure = False
    bracket = re.compile(rf"\^\s*\{{?\s*\[\s*({letter})(?:{_OFFSET})?\s*\]")
    for m in bracket.finditer(text):
        layer.append(m.start(1))
        sure = True
    sub = re.compile(rf"{_LAYERED}\s*_\s*(?:\{{\s*({letter})({_OFFSET})?\s*\}}|({letter}))")
    for m in sub.finditer(text):
        layer.append(m.start(1) if m.group(1) else m.start(3))
        sure = sure or bool(m.group(2))
    return every, layer, sure


@lru_cache(maxsize=64)
def layer_letter(text: str) -> str | None:
    """The letter this formula writes for the layer index, if one is read as l."""
    if re.search(_STANDALONE.format("l") + r"|\\ell(?![A-Za-z])", text):
        return None  # the formula has an l of its own
    found = []
    for letter in _LETTERS:
        every, layer, sure = _positions(text, letter)
        if every and sure and sorted(set(layer)) == every:
            found.append(letter)
    return found[0] if len(found) == 1 else None


def _as_l(m: re.Match[str]) -> str:
    return "l" if layer_letter(m.string) == (m.group(1) or m.group(2)) else m.group(0)


#: The rewrite (``latex_layout`` applies it with its own).
LETTER_REWRITE: tuple[re.Pattern[str], Any] = (
    re.compile(_STANDALONE.format("[" + _LETTERS + "]")),
    _as_l,
)


def letter_notes(text: str) -> list[str]:
    """The reading used, said in the answer."""
    letter = layer_letter(text)
    if letter is None:
        return []
    return [
        f"{letter} read as the layer index l (it stands only where a layer's number does, "
        f"as in W_{{{letter}+1}} or ^{{[{letter}]}})"
    ]
