"""A one-line helper a snippet defines for itself, written out where it is used.

``S = lambda x: x.sum(axis=0)`` (CS231n's batchnorm_backward_alt in several solutions) or
``def S(x): return x.sum(axis=0)``: a later ``S(dx * x_hat)`` is read as
``((dx * x_hat)).sum(axis=0)``, the body with its parameter replaced by the argument's text
in parentheses (so precedence is kept). Only one-parameter helpers with a one-line body
are read; the helper's own line is dropped and a note says how its calls were read.
"""

from __future__ import annotations

import re

from derive.formula.ir import FormulaError

_LAMBDA = re.compile(r"^([A-Za-z_]\w*)\s*=\s*lambda\s+([A-Za-z_]\w*)\s*:\s*(.+)$")
_DEF = re.compile(r"^def\s+([A-Za-z_]\w*)\s*\(\s*([A-Za-z_]\w*)\s*\)\s*:\s*return\s+(.+)$")
#: The most characters a line may grow to by writing helpers out.
MAX_LINE = 4000


def inline(lines: list[tuple[int, str]], notes: list[str]) -> list[tuple[int, str]]:
    """``lines`` with each one-line helper's calls written out and its definition dropped."""
    helpers: dict[str, tuple[str, str]] = {}
    out: list[tuple[int, str]] = []
    for number, line in lines:
        for name, (param, body) in helpers.items():
            line = _written_out(line, name, param, body, number)
        found = _LAMBDA.match(line.strip()) or _DEF.match(line.strip())
        if found is not None:
            name, param, body = found.groups()
            if re.search(rf"(?<![\w.]){re.escape(param)}\s*=(?!=)", body):
                raise FormulaError(
                    f"line {number}: the helper {name}'s parameter {param} is also a keyword "
                    "of its body: write the body where it is used"
                )
            helpers[name] = (param, body.split("#")[0].strip())
            notes.append(f"read each call {name}(…) as its line {number}'s body, {body.strip()}")
            continue
        out.append((number, line))
    return out


def _written_out(line: str, name: str, param: str, body: str, number: int) -> str:
    """``line`` with every call ``name(arg)`` replaced by ``(body)`` over ``(arg)``."""
    call = re.compile(rf"(?<![\w.]){re.escape(name)}\s*\(")
    while (m := call.search(line)) is not None:
        depth, end = 1, m.end()
        while end < len(line) and depth:
            depth += {"(": 1, ")": -1}.get(line[end], 0)
            end += 1
        if depth:
            raise FormulaError(f"line {number}: {name}(… has no closing parenthesis")
        arg = line[m.end() : end - 1].strip()
        if not arg or _top_level_comma(arg):
            raise FormulaError(f"line {number}: {name}() takes one argument, as defined")
        pieces = re.split(rf"(?<![\w.]){re.escape(param)}(?!\w)", body)
        written = f"({arg})".join(pieces)
        line = f"{line[: m.start()]}({written}){line[end:]}"
        if len(line) > MAX_LINE:
            raise FormulaError(f"line {number}: written out, {name}(…) makes the line too long")
    return line


def _top_level_comma(text: str) -> bool:
    """Whether ``text`` has a comma outside brackets (two arguments)."""
    depth = 0
    for ch in text:
        depth += {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            return True
    return False
