"""Code's notations inside maths. NumPy's sum, as Ng's slides and the notes copied from
them write the bias gradient: ``db^{[2]} = \\frac{1}{m} np.sum(dZ^{[2]}, axis=1,
keepdims=True)``, read as NumPy has it: a sum along the axis named (``\\sum_{cols}`` for
axis 1, ``\\sum_{rows}`` for axis 0, which the grammar reads), kept as a column or a row
because keepdims=True is written. Without keepdims the result is a 1-D array (Ng's classic
shape bug), which a formula of matrices cannot say: it is left as written, and not read.
Octave's elementwise power ``.^``, and Python's conditional expression ``X if Z2>0 else 0``
(the cases it states, as ``\\begin{cases}``), too."""

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


#: ``np.power(ARG, K)`` (Ng's 1 - np.power(A1, 2)): ARG to the power K, entry by entry.
_NP_POWER = re.compile(
    r"(?:\\(?:text|texttt|mathrm|mathtt)\s*\{\s*np\.power\s*\}|np\.power)\s*(?:\\left\s*)?\(\s*"
    r"((?:[^(),]|\([^()]*\)|\{[^{}]*\})+?)\s*,\s*([0-9]+)\s*(?:\\right\s*)?\)"
)


#: Python's conditional expression typed as maths in issues and forums (``∂L/∂Z2 = ∂L/∂A2
#: if Z2>0 else 0``): the cases it states, entry by entry, as ``\\begin{cases}`` reads them.
_TERNARY = re.compile(r"=\s*([^=]+?)\s+if\s+([^=]+?[<>][^=]*?)\s+else\s+([^=]+?)\s*$")


def _ternary(m: re.Match[str]) -> str:
    """``X if C else Y`` as ``\\cases``; the words of a cases environment left alone."""
    if any(w in m.group(0) for w in ("\\begin", "&", "\\text", "\\mbox", "\\mathrm")):
        return m.group(0)
    value, cond, other = (g.strip() for g in m.groups())
    return f"= \\cases{{{value}}}{{{cond}}}{{{other}}}{{\\otherwise}}"


#: (pattern, replacement) for the LaTeX rewrites (``latex_rewrites``); with Octave's and
#: Julia's elementwise power ``.^`` (Ng's Machine Learning course: ``(1 - a.^2)``) as the
#: power, which is entry by entry already (``.*`` is a product sign of the grammar).
NUMPY_REWRITES: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"\\(?:text|texttt|mathrm|mathtt)\s*\{\s*(axis|keepdims|True|False)\s*\}"), r"\1"),
    (_NP_SUM, _np_sum),
    (_NP_POWER, r"(\1)^{\2}"),
    # Python's power x ** 2: the power (nothing else in maths is written **)
    (re.compile(r"(?<=[\w})\]])\s*\*\*\s*([0-9]+)"), r"^{\1}"),
    (re.compile(r"\.\s*\^"), "^"),
    (_TERNARY, _ternary),
]

NUMPY_NOTE = "np.sum(…, axis=…, keepdims=True) read as NumPy has it: a sum along that axis"
POWER_NOTE = "np.power(x, k), x ** k read as the power x^k, entry by entry"
TERNARY_NOTE = "X if C else Y read as the cases X where C holds, else Y (entry by entry)"


def numpy_notes(text: str) -> list[str]:
    """The notes saying a NumPy sum or a conditional expression was read, if one was."""
    summed = any(_np_sum(m) != m.group(0) for m in _NP_SUM.finditer(text))
    ternary = any(_ternary(m) != m.group(0) for m in _TERNARY.finditer(text))
    power = bool(_NP_POWER.search(text)) or "**" in text
    return [NUMPY_NOTE] * summed + [TERNARY_NOTE] * ternary + [POWER_NOTE] * power
