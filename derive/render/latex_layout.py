"""The layout of a LaTeX or Markdown document: headings, displays, tables, escapes.

``_Doc`` collects a document in one of ``FORMATS`` (``tex``, ``md``, ``fragment``);
a long display is broken at its top-level terms (``LONG``); text is escaped for LaTeX.
"""

from __future__ import annotations

import re
from typing import Any

from derive.render.latex_printer import DeriveLatexPrinter

FORMATS = ("tex", "md", "fragment")


def _shape_tex(p: DeriveLatexPrinter, sym: Any) -> str:
    dims = [p._print(d) if d.is_Atom else rf"\left({p._print(d)}\right)" for d in sym.shape]
    return r" \times ".join(dims)


#: LaTeX's special characters in text mode and how to typeset each as itself.
_TEX_TEXT = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "#": r"\#",
    "$": r"\$",
    "%": r"\%",
    "&": r"\&",
    "_": r"\_",
}


def _escape(text: str, fmt: str = "tex") -> str:
    """User text (a spec name) as literal text: every special character escaped, so a
    name like ``\\input{/etc/hostname}`` is printed, never run; control characters and
    line breaks become spaces. Markdown escapes its own punctuation instead."""
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    if fmt == "md":
        return re.sub(r"([\\`*_{}\[\]()<>#+\-.!|$~^&%])", r"\\\1", text)
    return "".join(_TEX_TEXT.get(ch, ch) for ch in text)


#: The longest right side (LaTeX source characters) kept on one line of a display.
LONG = 200


def top_level_terms(tex: str) -> list[str]:
    """``a + b - c`` -> ``["a", "+ b", "- c"]``: split at the signs outside every brace and
    ``\\left … \\right`` pair."""
    terms: list[str] = []
    depth, start, i = 0, 0, 0
    while i < len(tex):
        if tex.startswith("\\left", i):
            depth, i = depth + 1, i + 5
            continue
        if tex.startswith("\\right", i):
            depth, i = depth - 1, i + 6
            continue
        ch = tex[i]
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth == 0 and tex.startswith((" + ", " - "), i) and i > start:
            terms.append(tex[start:i].strip())
            start = i + 1
        i += 1
    terms.append(tex[start:].strip())
    return terms


def _outer_parens(tex: str) -> tuple[str, str] | None:
    """``c \\left(x\\right)`` -> ``("c ", "x")`` when the parentheses close at the end."""
    if not tex.endswith(r"\right)"):
        return None
    depth = 0
    i = 0
    while i < len(tex):
        if tex.startswith(r"\left(", i):
            if depth == 0:
                inner = tex[i + 6 : -7]
                closes_at_end = i + 6 + len(inner) + 7 == len(tex)
                balanced = top_level_terms(inner) and _balanced(inner)
                return (tex[:i], inner) if closes_at_end and balanced else None
            depth += 1
            i += 6
            continue
        if tex.startswith(r"\right", i):
            depth -= 1
            i += 6
            continue
        depth += {"{": 1, "}": -1}.get(tex[i], 0)
        i += 1
    return None


def _balanced(tex: str) -> bool:
    """Every ``\\left`` closed by a ``\\right`` in order, every brace closed."""
    depth = 0
    for i in range(len(tex)):
        if tex.startswith(r"\left", i) or tex[i] == "{":
            depth += 1
        elif tex.startswith(r"\right", i) or tex[i] == "}":
            depth -= 1
        if depth < 0:
            return False
    return depth == 0


def _broken(lhs: str, rhs: str) -> list[tuple[str, str]]:
    """One display row, or a long one as several: ``= a`` then ``\\quad + b``, …"""
    if len(rhs) <= LONG or not rhs.startswith("= "):
        return [(lhs, rhs)]
    body, opening, closing = rhs[2:], "", ""
    terms = top_level_terms(body)
    outer = _outer_parens(body) if len(terms) == 1 else None
    if outer is not None:  # c (a + b): break inside, with parentheses that span lines
        prefix, inner = outer
        terms = top_level_terms(inner)
        opening, closing = prefix + r"\Bigl(", r" \Bigr)"
    if len(terms) == 1:
        return [(lhs, rhs)]
    terms[-1] += closing
    rows, current = [], "= " + opening + terms[0]
    for term in terms[1:]:
        if len(current) + len(term) > LONG:
            rows.append(current)
            current = "\\quad " + term
        else:
            current += " " + term
    rows.append(current)
    return [(lhs, rows[0]), *(("", r) for r in rows[1:])]


class _Doc:
    """Collects paragraphs and display math, then writes tex, md or a fragment."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.parts: list[str] = []

    def heading(self, text: str) -> None:
        if self.fmt == "md":
            self.parts.append(f"## {text}")
        else:
            self.parts.append(rf"\subsection*{{{text}}}")

    def para(self, text: str) -> None:
        """Prose with inline math written as ``$...$`` in both formats."""
        self.parts.append(text)

    def display(self, lines: list[tuple[str, str]]) -> None:
        """Aligned equations: (left side, ``= right side``) pairs; a right side too long
        for the page continues on the next lines, one top-level term a line."""
        lines = [row for lhs, rhs in lines for row in _broken(lhs, rhs)]
        body = " \\\\\n".join(f"{lhs} &{rhs}" for lhs, rhs in lines)
        if self.fmt == "md":
            self.parts.append(f"$$\n\\begin{{aligned}}\n{body}\n\\end{{aligned}}\n$$")
        else:
            self.parts.append(f"\\begin{{align*}}\n{body}\n\\end{{align*}}")

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        if self.fmt == "md":
            out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            out += ["| " + " | ".join(r) + " |" for r in rows]
            self.parts.append("\n".join(out))
        else:
            spec = "l" * len(header)
            out = [
                rf"\begin{{center}}\begin{{tabular}}{{{spec}}}",
                " & ".join(header) + r" \\",
                r"\hline",
            ]
            out += [" & ".join(r) + r" \\" for r in rows]
            out.append(r"\end{tabular}\end{center}")
            self.parts.append("\n".join(out))

    def raw(self, text: str) -> None:
        self.parts.append(text)


PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[margin=2.2cm]{geometry}
\usepackage{amsmath,amssymb}
%(packages)s\allowdisplaybreaks
\begin{document}
"""
