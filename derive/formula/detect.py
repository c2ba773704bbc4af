"""LaTeX or NumPy? The syntax a formula is written in, told from marks only one of them uses.

``derive check --syntax auto`` (the default) reads each formula (each line with ``--file``)
in the syntax detected here; ``--syntax latex|python`` overrides. A formula with marks of
neither (``dZ2 = A2 - Y`` reads the same both ways) is read as NumPy, and the result says
that the syntax was chosen.
"""

from __future__ import annotations

import re

from derive.formula.latex_plain import is_unicode_math

#: Marks only LaTeX uses: commands, braces, sub/superscripts.
_LATEX = re.compile(r"\\[A-Za-z]+|[{}^]|_\{|\$|\\,|\\;")

#: Marks only NumPy code uses: modules, methods, @, **, indexing, .T, keywords (a bracket
#: inside a super- or subscript, Ng's ``W^{[2]}``, is LaTeX's).
_NUMPY = re.compile(
    r"\bnp\.|\bnumpy\.|\bself\.|\.T\b|\.dot\(|@|\*\*|(?<![{^_])\[|\](?!\})|[-+*/]=|\bfor\b|\bkeepdims\b|"
    r"\baxis\s*=|==|#|\.[a-z_]+\("
)


def detect_syntax(text: str) -> tuple[str, bool]:
    """(``"latex"`` or ``"python"``, whether the marks were clear)."""
    latex = bool(_LATEX.search(text))
    numpy = bool(_NUMPY.search(text))
    if is_unicode_math(text) and not re.search(r"\bnp\.|\bnumpy\.|\bself\.|\.dot\(", text):
        return "latex", True  # ∂L/∂W₂[i][j] = …: maths typed in Unicode, read as LaTeX
    if latex and not numpy:
        return "latex", True
    if numpy and not latex:
        return "python", True
    if latex and numpy:  # x^T in code is rare; \frac in code never: commands decide
        return ("latex", False) if re.search(r"\\[A-Za-z]+", text) else ("python", False)
    return "python", False
