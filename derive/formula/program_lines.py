"""A NumPy snippet's logical lines and the names it can use: the data the reader runs over.

The snippet is cut into statements as Python would (comments dropped, brackets and
backslashes joining lines, ``;`` splitting them); each name is looked up in the program's
values, exactly or by a loose key (``x_hat`` for ``Xhat``), or in the user's declarations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from derive.core.staged import StagedDerivation
from derive.formula.ir import FormulaError

#: The longest snippet read (lines), a bound on every walk over it.
MAX_LINES = 200
#: The most built right-hand sides kept between runs of one snippet.
MAX_BUILT = 5000
#: The largest value a line may build, its earlier lines inlined (a line that doubles the
#: one before would otherwise grow without end).
MAX_NODES = 5000


class OutOfBuilds(Exception):
    """A diagnosis' search for slips used up its builds (the verdict does not depend on it)."""


def key(name: str) -> str:
    """A name compared loosely: ``x_hat``, ``xHat`` and ``Xhat`` are one key."""
    return name.replace("_", "").lower()


def logical_lines(text: str) -> list[tuple[int, str]]:
    """The snippet's statements with their first line number: comments dropped, lines
    joined inside brackets and after a backslash, ``;`` splitting a line."""
    out: list[tuple[int, str]] = []
    buf, start, depth, quote = "", 0, 0, ""
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise FormulaError(f"the snippet has {len(lines)} lines; the limit is {MAX_LINES}")
    for number, line in enumerate(lines, start=1):
        if not buf:
            start = number
        i = 0
        while i < len(line):
            ch = line[i]
            if quote:
                quote = "" if ch == quote else quote
            elif ch in "'\"":
                quote = ch
            elif ch == "#":
                break
            elif ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth = max(depth - 1, 0)
            elif ch == ";" and depth == 0:
                if buf.strip():
                    out.append((start, buf.strip()))
                buf, start = "", number
                i += 1
                continue
            buf += ch
            i += 1
        quote = ""
        if buf.rstrip().endswith("\\"):
            buf = buf.rstrip()[:-1] + " "
        elif depth > 0:
            buf += " "
        elif buf.strip():
            out.append((start, buf.strip()))
            buf = ""
    if buf.strip():
        out.append((start, buf.strip()))
    return out


@dataclass
class Names:
    """What a name in the snippet can stand for: the program's values (inputs, parameters,
    hyperparameters, sizes, intermediates, the upstream gradient and the named
    cotangents), and the user's declarations."""

    values: dict[str, Any]
    declared: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, sd: StagedDerivation) -> Names:
        """The names of a derived program: its values, sizes, upstream and cotangents."""
        g = sd.graph
        values: dict[str, Any] = dict(g.values)
        values.update(g.sizes)
        if g.upstream is not None:
            values[g.upstream.name] = g.upstream
        for up in g.more_upstream.values():
            values[up.name] = up
        for st in sd.cotangents:
            values[st.lhs.name] = st.lhs
        return cls(values)

    def find(self, name: str) -> tuple[str, Any] | None:
        """The program's name and value for ``name``: exact, declared, or the one value
        whose loose key matches (None: no value, or several)."""
        if name in self.declared:
            return name, self.declared[name]
        if name in self.values:
            return name, self.values[name]
        hits = [(n, v) for n, v in self.values.items() if key(n) == key(name)]
        return hits[0] if len(hits) == 1 else None


@dataclass
class Reading:
    """A snippet's values: each assigned name's expression (its last assignment), the line
    of that assignment, the readings of names that were not exact, and the names a
    ``return`` hands back (what the snippet computes; the rest are its own helpers)."""

    values: dict[str, Any]
    lines: dict[str, int]
    notes: list[str]
    order: list[str]
    returned: frozenset[str] = frozenset()
    #: Names standing for values the snippet computed (a step backward's gradients in a
    #: loop over time), in order: each is evaluated before the values that read it.
    defs: dict[Any, Any] = field(default_factory=dict)


class _Unknown:
    """A name unpacked from a container that the program does not have: an error only
    when a line uses it."""

    def __init__(self, where: str) -> None:
        self.where = where


class ShapeError(ValueError):
    """A line of the snippet whose shapes do not fit (a verdict, not an unreadable line)."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line
