"""The one value a snippet returns: where it is, and the snippet with it assigned.

Real backward code returns its result (``def sigmoid_backward(dA, cache): …; return dZ``,
``relu_backward = lambda dA, Z: dA * (Z > 0)``). Finding that value is the same whatever
reads it: ``returns`` names it by its kind, and ``assign_returned`` assigns it to the
quantity the user names (``derive check --quantity dZ1``). Decorators that may change
what a function returns are refused; a docstring is text, not code; a snippet with two
functions, several returns, a tuple or a conditional value has no one value to read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from derive.formula.ir import FormulaError

#: A ``def`` header on one line; its parameters may hold one level of brackets (a default
#: ``shape=(1, 2)``); its return annotation any text up to the colon.
_DEF = re.compile(
    r"^[ \t]*def\s+(\w+)\s*\(((?:[^()\n]|\([^()\n]*\))*)\)\s*(?:->[^:\n]*)?:[ \t]*(.*)$"
)
#: A decorator line (``@staticmethod``, ``@jax.custom_vjp``, ``@partial(jit, …)``).
_DECORATOR = re.compile(r"^[ \t]*@\s*([\w.]+)")
#: Decorators that leave what the function returns as its body computes it.
_PLAIN_DECORATORS = frozenset({"staticmethod", "classmethod"})
#: Triple-quoted strings (docstrings): text, not code; a ``def`` or ``return`` inside one
#: is not the function's.
_TRIPLE = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'')
LAMBDA = re.compile(r"^[ \t]*(\w+)\s*=\s*lambda\s+([\w\s,]*):(.*)$")
_RETURN = re.compile(r"^([ \t]*)return\b[ \t]*(.*)$")


@dataclass
class OneReturn:
    """The snippet's lines (headers blanked, a lambda as its ``return``), the line ``at``
    that returns, its indentation and value, and the function's (name, parameters)."""

    lines: list[str]
    at: int
    indent: str
    expr: str
    header: tuple[str, str] | None


def _split_top(expr: str) -> bool:
    """Whether ``expr`` is a tuple at the top level (``a, b``): not one quantity."""
    depth = 0
    for c in expr.split("#", 1)[0]:
        depth += c in "([{"
        depth -= c in ")]}"
        if c == "," and depth == 0:
            return True
    return False


def one_return(text: str) -> OneReturn | None:
    """The one value ``text`` returns, or None if it has no one such value (a tuple,
    several returns, a condition, code after the return, two functions)."""
    text = _TRIPLE.sub(lambda d: re.sub(r"[^\n]", " ", d.group(0)), text)
    lines = text.split("\n")
    header: tuple[str, str] | None = None
    for i, line in enumerate(lines):
        deco = _DECORATOR.match(line)
        if deco is not None:
            if deco.group(1) not in _PLAIN_DECORATORS:
                raise FormulaError(
                    f"this snippet's function is decorated with @{deco.group(1)}, which may "
                    "change what it returns: not read; check the formula its body computes "
                    "as an assignment (dZ = …)"
                )
            lines[i] = " " * len(line)
            continue
        lam = LAMBDA.match(line)
        if lam and len([x for x in lines if x.strip()]) == 1:
            header = (lam.group(1), lam.group(2))
            lines[i] = f"return {lam.group(3).strip()}"
            continue
        d = _DEF.match(line)
        if d is None:
            continue
        if header is not None:
            return None  # two functions: which one is judged?
        header = (d.group(1), d.group(2))
        lines[i] = " " * len(line)
        if d.group(3).strip():
            lines[i] = d.group(3)  # def f(x): return …
    returns = [i for i, line in enumerate(lines) if _RETURN.match(line)]
    if len(returns) != 1:
        return None
    i = returns[0]
    m = _RETURN.match(lines[i])
    assert m is not None
    expr = m.group(2)
    body = "\n".join(lines[i + 1 :]).strip()
    if _split_top(expr) or re.search(r"\bif\b|\belse\b", expr) or body:
        return None
    return OneReturn(lines, i, m.group(1), expr, header)


def assign_returned(text: str, quantity: str) -> str | None:
    """The snippet with its one returned value assigned to ``quantity`` (the user's
    ``--quantity``), its ``def`` header left out; None if it has no one returned value."""
    found = one_return(text)
    if found is None:
        return None
    lines = list(found.lines)
    lines[found.at] = f"{found.indent}{quantity} = {found.expr}"
    return "\n".join(lines)
