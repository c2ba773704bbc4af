"""A file of formulas (``derive check --file``) cut into the blocks each read as one.

A LaTeX formula is one line. A NumPy snippet is often several: a statement whose brackets
span lines, a ``\\`` continuation, a ``def`` or ``for`` with its indented body, and lines
that read a name an earlier line of theirs assigns (``errors = predictions - labels``,
then ``bias_gradient = … errors …``). So lines are grouped as Python groups them: blank
lines end a block (unless a bracket is still open or an indented body goes on), a LaTeX
line is a block of its own, an indented line or one inside open brackets joins the
statement above it, and a statement joins the block above when it reads a name of the
user's own (not a network name such as ``dZ2``, ``W1``, ``delta1``, which reads alone)
that the block assigns. Statements that only use the network's names stay one a line,
each with its own verdict, as before.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

from derive.formula.detect import detect_syntax
from derive.formula.python_ir import _PY_NAME

#: A line's assigned names: ``x =``, ``x +=``, ``x[...] =``, ``a, b =``, ``self.x =``.
_ASSIGNED = re.compile(
    r"^\s*(?P<names>[A-Za-z_][\w.]*(?:\s*\[[^\]]*\])?(?:\s*,\s*[A-Za-z_][\w.]*)*)\s*"
    r"(?P<op>[-+*/@]|//|\*\*)?=(?!=)"
)
_WORD = re.compile(r"(?<![\w.])[A-Za-z_]\w*")
_DEF_OR_LOOP = re.compile(r"^\s*(def|for|while|if|elif|else|with|try|except|finally)\b")


@dataclass
class Block:
    """Lines ``first``..``last`` (1-based) of the file, read as one formula or snippet."""

    first: int
    last: int
    text: str
    syntax: str  # "latex", "python", or "" (auto: each block's own marks decide)

    @property
    def where(self) -> str:
        """``12`` or ``12-15``: the lines, as the report names them."""
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"


def _code(line: str) -> str:
    """The line without its comment and string literals (their brackets are not code)."""
    out, quote, i = [], "", 0
    while i < len(line):
        c = line[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c == "#":
            break
        else:
            out.append(c)
        i += 1
    return "".join(out)


def _depth(code: str) -> int:
    return sum(code.count(c) for c in "([{") - sum(code.count(c) for c in ")]}")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _is_latex(line: str, syntax: str) -> bool:
    if syntax:
        return syntax == "latex"
    found, sure = detect_syntax(line)
    return found == "latex" and sure


def _statements(lines: list[str], syntax: str) -> list[list[int]]:
    """The file's statements, each a list of 0-based line numbers (comments and blank
    lines inside a statement kept; a comment or blank line alone is none)."""
    out: list[list[int]] = []
    current: list[int] = []
    depth, body, cont = 0, -1, False  # open brackets, the indent of an open body, a "\"
    for n, line in enumerate(lines):
        stripped = line.strip()
        code = _code(line).rstrip()
        joins = bool(current) and (
            depth > 0 or cont or (body >= 0 and stripped != "" and _indent(line) > body)
        )
        if current and not stripped and (depth > 0 or body >= 0):
            current.append(n)  # a blank line inside brackets or a body
            continue
        if not joins:
            if current:
                out.append(current)
            current, depth, body, cont = [], 0, -1, False
            if not stripped or stripped.startswith(("#", "%")):
                continue
            if syntax != "python" and _is_latex(line, syntax):
                out.append([n])
                continue
            if _DEF_OR_LOOP.match(line) or code.endswith(":"):
                body = _indent(line)
        current.append(n)
        depth = max(0, depth + _depth(code))
        cont = code.endswith("\\")
    if current:
        out.append(current)
    return [_trimmed(s, lines) for s in out]


def _trimmed(statement: list[int], lines: list[str]) -> list[int]:
    """Without trailing blank or comment lines."""
    while len(statement) > 1 and lines[statement[-1]].strip()[:1] in ("", "#"):
        statement = statement[:-1]
    return statement


def _own_names(text: str, assigned: bool) -> set[str]:
    """The user's own names (not the network's: ``dZ2``, ``W1``, ``delta1`` read alone) a
    statement assigns (on any of its lines: a loop's body too), or reads."""
    found: set[str] = set()
    for line in text.splitlines():
        m = _ASSIGNED.match(line)
        targets = (
            {re.split(r"[\[\s.]", n.strip())[0] for n in m.group("names").split(",")}
            if m
            else set()
        )
        if assigned:
            found |= targets
            continue
        found |= set(_WORD.findall(_code(line[m.end() :] if m else line)))
        if m and ("[" in m.group("names") or m.group("op")):
            found |= targets  # x[i] = …, x -= …: the target is read too
    return {n for n in found if not _PY_NAME.match(n) and n != "self"}


def blocks(text: str, syntax: str = "") -> list[Block]:
    """The file's blocks, in order; ``syntax`` ``latex`` keeps one formula a line,
    ``python`` reads every line as NumPy, ``""`` tells each line's syntax by its marks."""
    lines = text.splitlines()
    if syntax == "latex":
        statements = [
            [n] for n, line in enumerate(lines) if line.strip() and line.strip()[0] not in "#%"
        ]
    else:
        statements = _statements(lines, syntax)
    groups: list[list[list[int]]] = []  # each block: its statements
    for st in statements:
        body = "\n".join(lines[st[0] : st[-1] + 1])
        latex = len(st) == 1 and syntax != "python" and _is_latex(lines[st[0]], syntax)
        reads = set() if latex else _own_names(body, assigned=False)
        joined = None
        for i in range(len(groups) - 1, -1, -1):  # the block of this paragraph assigning it
            if any(not lines[k].strip() for k in range(groups[i][-1][-1] + 1, st[0])):
                break  # a blank line between: another paragraph
            if any(_is_latex(lines[s[0]], syntax) and len(s) == 1 for s in groups[i]):
                break
            assigned: set[str] = set()
            for s in groups[i]:
                assigned |= _own_names("\n".join(lines[s[0] : s[-1] + 1]), True)
            if reads & assigned:
                joined = i
        if joined is None:
            groups.append([st])
        else:
            merged = [s for group in groups[joined:] for s in group]
            groups[joined:] = [[*merged, st]]
    out = []
    for group in groups:
        first, last = group[0][0], group[-1][-1]
        latex = len(group) == 1 and len(group[0]) == 1 and syntax != "python"
        latex = latex and _is_latex(lines[first], syntax)
        out.append(
            Block(
                first + 1,
                last + 1,
                lines[first].strip()
                if latex
                else textwrap.dedent("\n".join(lines[first : last + 1])),
                syntax,
            )
        )
    return out
