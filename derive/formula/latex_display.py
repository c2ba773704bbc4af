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
#: An equation's label before it: (1) \quad, (BP1), \text{BP1: }, \text{Output layer:}.
LEADING_LABEL = re.compile(
    r"^\s*(?:" + _NUMBER + r"\s*:?|\\text\s*\{[^{}]*:\s*\})(?:\\q?quad(?![A-Za-z])|\\[,;:!]|~|\s)*"
)
#: The equation number at the end, after TeX's spacing or a blank: (2), (5.55), (BP2), (3a).
EQUATION_NUMBER = re.compile(
    r"(?:\\q?quad(?![A-Za-z])|\\hfill(?![A-Za-z])|\\hspace\*?\s*\{[^{}]*\}|~|\s)+"
    r"(?:\\text\s*\{\s*" + _NUMBER + r"\s*\}|" + _NUMBER + ")"
    r"\s*[.,;]?\s*$"
)

#: The layers a generic formula holds for, written after it: l = L-1, …, 1 (every hidden
#: layer) or l = 1, …, L (every layer), in either order; read where derive checks the same.
_END = r"(?P<{}>1|L\s*-\s*1|L)"
LAYER_RANGE = re.compile(
    r"(?:\\q?quad(?![A-Za-z])|\\[,;:!]|[,;~\s])*"
    r"(?:\\text\s*\{\s*for(?:\s+all)?\s*\}|\\forall(?![A-Za-z]))?\s*"
    r"[lL]\s*=\s*" + _END.format("first") + r"\s*,\s*(?:(?:2|L\s*-\s*2)\s*,\s*)?"
    r"(?:\\[lc]?dots(?![A-Za-z])|\.\.\.|…)\s*,\s*" + _END.format("last") + r"\s*[.,;]?\s*$"
)
#: A left-hand side at the hidden layers (δ, dZ, ∂C/∂z, ∂C/∂a), or a parameter's gradient.
_HIDDEN = re.compile(r"^[^=]*(?:\\delta|\bd[zZaA]\b|\\partial\s*(?:\{\s*)?[zZaA](?![A-Za-z]))")
_PARAMETER = re.compile(
    r"^[^=]*(?:\bd[wWb]\b|\\partial\s*(?:\{\s*)?(?:\\mathbf\{)?[wWb](?![A-Za-z]))"
)


_GENERIC = re.compile(r"[_^]\s*\{?\s*[(\[]?\s*l(?![A-Za-z])")


def _range(m: re.Match[str]) -> str:
    """The range dropped where it is the layers derive checks a generic l at (every hidden
    layer for δ_l or ∂C/∂a_l, every layer for a parameter's gradient), else kept (and the
    grammar refuses it)."""
    ends = {re.sub(r"\s", "", m.group("first")), re.sub(r"\s", "", m.group("last"))}
    before = m.string[: m.start()]
    if not _GENERIC.search(before):
        return m.group(0)  # no generic l in the formula: the range is not about it
    if ends == {"1", "L-1"} and _HIDDEN.search(before) and not _PARAMETER.search(before):
        return ""
    if ends == {"1", "L"} and _PARAMETER.search(before):
        return ""
    return m.group(0)


#: A superscript that is only a transpose, and a layer's subscript after it.
_TRANSPOSE = (
    r"(\{\s*(?:T|\\top|\\intercal)\s*\}|T(?![A-Za-z])|\\top(?![A-Za-z])|\\intercal(?![A-Za-z]))"
)
_LAYER = r"(\{\s*(?:[0-9]+|[lL]\s*(?:[+-]\s*[0-9]+)?)\s*\}|[0-9]|[lL](?![A-Za-z]))"

#: The indicator's condition as a subscript: \mathbf{1}_{z > 0}, \mathbb{1}_{\{Z_1 > 0\}}.
_INDICATOR = re.compile(
    r"(?:\\(?:mathbb|mathbf|boldsymbol|mathds)\{[1I]\}|(?<![\w\\{^_.])1)\s*_\s*\{\s*(?:\\\{)?"
    r"((?:[^{}]|\{[^{}]*\})*?(?:[<>]|\\(?:geq?|leq?|gt|lt)(?![A-Za-z]))(?:[^{}]|\{[^{}]*\})*?)"
    r"(?:\\\})?\s*\}"
)

DISPLAY_REWRITES: list[tuple[re.Pattern[str], Any]] = [
    (_ENVIRONMENT, " "),
    (LEADING_LABEL, ""),
    (re.compile(r"\\text\s*\{\s*[.,;]\s*\}\s*$"), ""),
    (re.compile(r"\\label\s*\{[^{}]*\}|\\(?:nonumber|notag)(?![A-Za-z])"), " "),
    (EQUATION_NUMBER, ""),
    (LAYER_RANGE, _range),
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
    """The equation number and the range of layers dropped, if any (said in the answer)."""
    text = text.strip().strip("$")
    notes = []
    lead = LEADING_LABEL.search(text)
    if lead is not None and lead.group(0).strip():
        notes.append(f"'{lead.group(0).strip()}' before the formula read as its label")
    m = EQUATION_NUMBER.search(text)
    if m is not None:
        notes.append(
            f"'{m.group(0).strip()}' at the end read as the equation's number, not a factor"
        )
        text = text[: m.start()]
    m = LAYER_RANGE.search(text)
    if m is not None and not _range(m):
        notes.append(
            f"'{m.group(0).strip(' ,;~')}' after the formula: the layers derive checks a "
            "generic l at (every hidden layer for δ_l, every layer for a parameter's gradient)"
        )
    return notes
