"""NumPy's sum written inside LaTeX, as Ng's slides and the notes copied from them write the
bias gradient: ``db^{[2]} = \\frac{1}{m} np.sum(dZ^{[2]}, axis=1, keepdims=True)``. Read
as NumPy has it: a sum along the axis named (``\\sum_{cols}`` for axis 1, ``\\sum_{rows}``
for axis 0, which the grammar reads), kept as a column or a row because keepdims=True is
written. Without keepdims the result is a 1-D array (Ng's classic shape bug), which a
formula of matrices cannot say: it is left as written, and not read."""

from __future__ import annotations

import re
from typing import Any

#: ``np.sum(ARG, axis=K, keepdims=True)`` (its keywords in either order), the call
#: possibly in a font (``\\text{np.sum}``); ARG holds one level of brackets.
_NP_SUM = re.compile(
    r"(?:\\(?:text|texttt|mathrm|mathtt)\s*\{\s*np\.sum\s*\}|np\.sum)\s*(?:\\left\s*)?\(\s*"
    r"((?:[^(),]|\([^()]*\)|\{[^{}]*\})+?)\s*,"
    r"((?:\s*(?:axis|keepdims)\s*=\s*(?:[01]|True|False)\s*,?)+)\s*(?:\\right\s*)?\)"
)


def _np_sum(m: re.Match[str]) -> str:
    """The sum along the axis written, where keepdims=True keeps its result a matrix."""
    keywords = dict(re.findall(r"(axis|keepdims)\s*=\s*(\w+)", m.group(2)))
    if keywords.get("keepdims") != "True" or keywords.get("axis") not in ("0", "1"):
        return m.group(0)
    over = "rows" if keywords["axis"] == "0" else "cols"
    return f"\\sum_{{{over}}} ({m.group(1)}) "


#: (pattern, replacement) for the LaTeX rewrites (``latex_rewrites``); with Octave's and
#: Julia's elementwise power ``.^`` (Ng's Machine Learning course: ``(1 - a.^2)``) as the
#: power, which is entry by entry already (``.*`` is a product sign of the grammar).
NUMPY_REWRITES: list[tuple[re.Pattern[str], Any]] = [
    (_NP_SUM, _np_sum),
    (re.compile(r"\.\s*\^"), "^"),
]

NUMPY_NOTE = "np.sum(…, axis=…, keepdims=True) read as NumPy has it: a sum along that axis"


def numpy_notes(text: str) -> list[str]:
    """The note saying a NumPy sum was read, if one was."""
    return [NUMPY_NOTE] if any(_np_sum(m) != m.group(0) for m in _NP_SUM.finditer(text)) else []
