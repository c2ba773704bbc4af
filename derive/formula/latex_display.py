"""What a formula copied from a page carries besides its maths: the equation environment
around it (``\\begin{equation}``, ``\\label{…}``, ``\\nonumber``), its equation number at
the end (``\\qquad (2)``, ``\\quad (BP2)``), a closing ``\\forall l``; and spellings TeX
renders the same as the ones the grammar reads: ``W^T_{l+1}`` (a transpose written before
the layer's subscript, which TeX sets as ``W_{l+1}^T``), ``^{\\mathsf{T}}``, ``\\ast``,
``\\mathbf{1}_{z > 0}`` (the indicator with its condition as a subscript).

An equation number read as a factor would change the verdict (``… (2)`` is not twice the
formula), so it is dropped, and the answer says so; none of the others changes what is read.
"""

from __future__ import annotations

import re
from typing import Any

#: The environments a display is set in (not cases or matrices, which carry maths).
_ENVIRONMENT = re.compile(
    r"\\(?:begin|end)\s*\{\s*(?:equation|align|gather|multline|eqnarray|displaymath|math"
    r"|aligned|split|gathered)\*?\s*\}"
)

_NUMBER = r"\(\s*[A-Za-z]{0,4}\s*[0-9]+(?:\.[0-9]+)*[a-z]?\s*\)"
#: The equation number at the end, after TeX's spacing or a blank: (2), (5.55), (BP2), (3a).
EQUATION_NUMBER = re.compile(
    r"(?:\\q?quad(?![A-Za-z])|\\hfill(?![A-Za-z])|\\hspace\*?\s*\{[^{}]*\}|~|\s)+"
    r"(?:\\text\s*\{\s*" + _NUMBER + r"\s*\}|" + _NUMBER + ")"
    r"\s*[.,;]?\s*$"
)

#: A superscript that is only a transpose, and a layer's subscript after it.
_TRANSPOSE = (
    r"(\{\s*(?:T|\\top|\\intercal)\s*\}|T(?![A-Za-z])|\\top(?![A-Za-z])|\\intercal(?![A-Za-z]))"
)
_LAYER = r"(\{\s*(?:[0-9]+|[lL]\s*(?:[+-]\s*[0-9]+)?)\s*\}|[0-9]|[lL](?![A-Za-z]))"

#: The indicator's condition as a subscript: \mathbf{1}_{z > 0}, \mathbb{1}_{\{Z_1 > 0\}}.
_INDICATOR = re.compile(
    r"\\(?:mathbb|mathbf|boldsymbol|mathds)\{[1I]\}\s*_\s*\{\s*(?:\\\{)?"
    r"((?:[^{}]|\{[^{}]*\})*?(?:[<>]|\\(?:geq?|leq?|gt|lt)(?![A-Za-z]))(?:[^{}]|\{[^{}]*\})*?)"
    r"(?:\\\})?\s*\}"
)

DISPLAY_REWRITES: list[tuple[re.Pattern[str], Any]] = [
    (_ENVIRONMENT, " "),
    (re.compile(r"\\label\s*\{[^{}]*\}|\\(?:nonumber|notag)(?![A-Za-z])"), " "),
    (EQUATION_NUMBER, ""),
    # "… \forall l", "… for all l": the formula holds at every layer, as derive checks it
    (
        re.compile(
            r"(?:\\q?quad|\\[,;:!]|[,;~\s])*(?:\\forall|\\text\s*\{\s*for\s+all\s*\}|\\text\s*\{\s*for\s+"
            r"every\s*\})\s*[lL]\s*[.,]?\s*$"
        ),
        "",
    ),
    # W^T_{l+1}, W^{\top}_2: TeX sets a transpose and a subscript the same in either order
    (
        re.compile(r"(?<![A-Za-z\\])([A-Za-z])\s*\^\s*" + _TRANSPOSE + r"\s*_\s*" + _LAYER),
        r"\1_\3^\2",
    ),
    (
        re.compile(
            r"\^\s*(\{\s*)?\\(?:mathsf|mathrm|textsf|text|mathbf)\s*\{\s*(?:T|\\top)\s*\}(\s*\})?"
        ),
        "^T",
    ),
    (re.compile(r"\^\s*\{\s*\\(?:mathsf|sf|rm)\s+T\s*\}"), "^T"),
    (re.compile(r"\\ast(?![A-Za-z])"), "*"),
    (_INDICATOR, lambda m: "\\mathbf{1}(" + m.group(1) + ")"),
]


def display_notes(text: str) -> list[str]:
    """The equation number dropped, if any (said in the answer)."""
    m = EQUATION_NUMBER.search(text.strip().strip("$"))
    if m is None:
        return []
    return [f"'{m.group(0).strip()}' at the end read as the equation's number, not a factor"]
