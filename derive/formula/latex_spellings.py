"""Spellings of the same maths that sources use besides derive's: the sign function
(``\\operatorname{sgn}(x)``, ``\\text{sign}(x)``: |x|', as derive prints np.sign), a ones
vector ``\\vec{1}``, the batch's reciprocal ``m^{-1}`` (1/m), ``\\nabla_aC`` typed without
a space. Each is rewritten into the spelling the grammar reads and means the same; the
sign function is said in a note (its value at 0, 0, is |x|''s there too)."""

from __future__ import annotations

import re
from typing import Any

_SIGN = re.compile(r"\\(?:operatorname|mathrm|text|textrm)\s*\{\s*(?:sgn|sign)\s*\}")
SIGN_NOTE = "sgn(x) read as the sign function, |x|' (1 where x > 0, -1 where x < 0, 0 at 0)"

SPELLING_REWRITES: list[tuple[re.Pattern[str], Any]] = [
    (_SIGN, "\\\\operatorname{abs}'"),
    (re.compile(r"\\vec\s*(?:\{\s*1\s*\}|1(?![0-9]))"), r"\\mathbf{1}"),
    # m^{-1}, N^{-1}: the batch's reciprocal (never a matrix's inverse, W^{-1})
    (re.compile(r"(?<![A-Za-z\\])([mN])\s*\^\s*\{\s*-\s*1\s*\}"), r"\\frac{1}{\1}"),
    # \nabla_aC: the subscript's one letter, then the loss
    (re.compile(r"(\\nabla\s*_\s*)([A-Za-z])([LCJE])(?![A-Za-z])"), r"\1{\2} \3"),
]


def spelling_notes(text: str) -> list[str]:
    """The sign function's reading, if written."""
    return [SIGN_NOTE] if _SIGN.search(text) else []
