"""``h`` as a unit letter: Mitchell's *Machine Learning* (1997, Table 4.2) writes a hidden
unit's delta ``δ_h = o_h (1 - o_h) Σ_k w_kh δ_k`` (h a hidden unit, k an output unit), where
derive reads ``_h`` as the hidden layer's name (``δ^h``, ``W^h``, ``latex_layers``). A letter
that indexes a weight's entries beside another letter (``w_{kh}``, ``w_{hi}``) names a unit,
so in that formula ``h`` is renamed in its subscripts to a letter it does not use: a bound
letter's name carries no meaning, and the unit letters are then read as the others are
(``latex_units``). Tried by ``output_letters.letters_check`` when the formula is not read
as written."""

from __future__ import annotations

import re
from collections.abc import Callable

#: A weight's two entry indices, one of them h: ``w_{kh}``, ``w_{h,i}``, ``W^{2}_{hk}``.
_WEIGHT_WITH_H = re.compile(
    r"(?<![\\A-Za-z])[wW]\s*(?:\^\s*(?:\{[^{}]*\}|\S)\s*)?"
    r"_\s*\{\s*(?:[a-z]\s*,?\s*h|h\s*,?\s*[a-z])\s*\}"
)
#: A subscript of single letters (``_h``, ``_{kh}``, ``_{h,i}``): the entry indices h is in.
_SUBSCRIPT = re.compile(r"_(\s*)(\{\s*[a-z](?:\s*,?\s*[a-z])*\s*\}|[a-z](?![A-Za-z]))")
#: Letters a formula may be given for h, in this order (the first it does not use).
_SPARE = "qruvpgs"

NOTE = (
    "h read as a unit letter (a hidden unit, as Mitchell's Machine Learning writes "
    "δ_h = o_h (1 - o_h) Σ_k w_kh δ_k), not the hidden layer: it indexes a weight's entries "
    "(written {spare} in the notes below)"
)


def unit_h(text: str) -> tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], str] | None:
    """The rewrite renaming ``h`` in the formula's subscripts of single letters, and its
    note (None: no weight's entry indices name h, or every spare letter is taken)."""
    if not _WEIGHT_WITH_H.search(text):
        return None
    used = set(re.findall(r"(?<![\\A-Za-z])([a-z])(?![A-Za-z])", text))
    used |= {c for _, script in _SUBSCRIPT.findall(text) for c in script if c.isalpha()}
    spare = next((c for c in _SPARE if c not in used), None)
    if spare is None:
        return None

    def rename(m: re.Match[str]) -> str:
        return "_" + m.group(1) + m.group(2).replace("h", spare)

    return (_SUBSCRIPT, rename), NOTE.format(spare=spare)
