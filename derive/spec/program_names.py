"""The names of a forward program as its TOML is read, and where each sits in the file.

``Lines`` finds a key's file line (tomllib gives no positions), ``fail`` makes the one
SpecError a mistake gets (file, line, key, problem), ``equation_lines`` cuts the equations
into lines with their file lines, and ``Names`` is the registry every name check consults:
each declared name's role, the labels, the upstream gradients, and the uses of an
equation (unknown names, the upstream gradient in the forward, labels outside a pick).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping

from derive.spec.program_grammar import MAX_LINE, Assign, Expr, Name, Pick, names, walk
from derive.spec.program_records import MAX_EQUATIONS, MAX_NAMES, Labels, Role, short
from derive.spec.records import SpecError


def fail(problem: str, source: str, line: int | None, key: str = "") -> SpecError:
    """The one error a mistake gets: its problem, file, line and key."""
    return SpecError(problem, key=key, source=source, line=line)


class Lines:
    """Finds the file line of a key of the TOML text (tomllib gives no positions)."""

    def __init__(self, text: str):
        self.lines = text.splitlines()

    def table(self, name: str) -> int | None:
        """The line of the table header ``[name]``, or None."""
        header = re.compile(rf"^\s*\[\s*{re.escape(name)}\s*\]\s*(#.*)?$")
        return next((i + 1 for i, ln in enumerate(self.lines) if header.match(ln)), None)

    def find(self, key: str, table: str | None = None) -> int | None:
        """The line of ``key = …`` (under ``[table]`` when given), else the table's line."""
        start = 0
        if table is not None:
            found = self.table(table)
            if found is None:  # a dotted key or an inline table at the top
                return self.find(table)
            start = found
        pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for i in range(start, len(self.lines)):
            if i > start and table is not None and self.lines[i].lstrip().startswith("["):
                break
            if pattern.match(self.lines[i]):
                return i + 1
        return start or None


def suggest(word: str, choices: list[str]) -> str:
    """``; did you mean …?`` for the closest of ``choices``, or nothing."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def name_table(
    data: Mapping[str, object], key: str, source: str, lines: Lines
) -> dict[str, object]:
    """The table ``[key]`` of names (empty when not given), at most MAX_NAMES of them."""
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise fail(f"[{key}] must be a table", source, lines.find(key), key)
    if len(value) > MAX_NAMES:
        raise fail(f"more than {MAX_NAMES} names", source, lines.table(key), key)
    return value


def equation_lines(
    raw: object, source: str, lines: Lines, table: str | None
) -> list[tuple[str, int]]:
    """The equations' lines (comment cut) with their file lines, blank lines dropped."""
    key_line = lines.find("equations", table) or 1
    if isinstance(raw, list) and all(isinstance(r, str) for r in raw):
        texts = [str(r) for r in raw]
    elif isinstance(raw, str):
        texts = raw.split("\n")
    else:
        raise fail("equations must be a string, one equation a line", source, key_line)
    found: list[tuple[str, int]] = []
    cursor = key_line - 1
    for offset, text in enumerate(texts):
        body = text.split("#", 1)[0].rstrip()
        if not body.strip():
            continue
        line = key_line + offset + (1 if isinstance(raw, str) else 0)
        for i in range(cursor, min(len(lines.lines), cursor + 10_000)):
            if body.strip() in lines.lines[i]:
                line, cursor = i + 1, i + 1
                break
        if len(found) == MAX_EQUATIONS:
            raise fail(f"more than {MAX_EQUATIONS} equations", source, line)
        if len(body) > MAX_LINE:
            raise fail(
                f"the line is {len(body)} characters long; the limit is {MAX_LINE}",
                source,
                line,
                f"equation {short(body.strip())!r}",
            )
        found.append((body, line))
    return found


class Names:
    """The names of a program as the equations are read, for every name check."""

    def __init__(self, source: str):
        self.source = source
        self.roles: dict[str, Role] = {}
        self.upstream: str | None = None
        #: The further upstream gradients of a program with several outputs.
        self.more_upstream: list[str] = []
        self.labels: dict[str, Labels] = {}

    def declare(self, name: str, role: Role, line: int | None, key: str) -> None:
        """Give ``name`` its role, refusing a clash with a declared name or its gradient's."""
        if name in self.roles and not (role == "size" and self.roles[name] == "size"):
            what = self.roles[name]
            raise fail(f"{name!r} is already {article(what)} {what}", self.source, line, key)
        for other in self.roles:
            if name == "d" + other and role != "size":
                raise fail(
                    f"{name!r} would be the name of {other}'s gradient; choose another name",
                    self.source,
                    line,
                    key,
                )
            if other == "d" + name and self.roles[other] != "size":
                raise fail(
                    f"{other!r} is declared, and d{name} would be the name of {name}'s "
                    "gradient; choose another name",
                    self.source,
                    line,
                    key,
                )
        declared = sum(r not in ("intermediate", "size") for r in self.roles.values())
        if role not in ("intermediate", "size") and declared >= MAX_NAMES:
            raise fail(f"more than {MAX_NAMES} names", self.source, line, key)
        self.roles[name] = role

    def check_uses(self, expr: Expr, line: int, key: str) -> None:
        """Every name ``expr`` uses is declared, and used as its role allows."""
        for ref in names(expr):
            if ref.id == self.upstream or ref.id in self.more_upstream:
                raise fail(
                    f"{ref.id!r} is the upstream gradient, given for the backward pass; "
                    "the forward equations cannot use it",
                    self.source,
                    line,
                    key,
                )
            if ref.id not in self.roles:
                hint = suggest(ref.id, list(self.roles))
                raise fail(f"unknown name {ref.id!r}{hint}", self.source, line, key)
        for node in walk(expr):
            if isinstance(node, Pick):
                self._check_pick(node, line, key)
            elif isinstance(node, Name) and self.roles.get(node.id) == "label":
                raise fail(
                    f"the labels {node.id!r} can only index: S[range(N), {node.id}]",
                    self.source,
                    line,
                    key,
                )

    def _check_pick(self, pick: Pick, line: int, key: str) -> None:
        labels = self.labels.get(pick.labels)
        if labels is None:
            raise fail(
                f"{pick.labels!r} in S[range(…), {pick.labels}] is not declared under [labels]",
                self.source,
                line,
                key,
            )
        if pick.length != labels.length:
            raise fail(
                f"range({pick.length}) does not match the {labels.length} labels {pick.labels}",
                self.source,
                line,
                key,
            )


def article(word: str) -> str:
    """``a`` or ``an`` before ``word``."""
    return "an" if word[0] in "aeiou" else "a"


def depends(start: list[str], equations: tuple[Assign, ...]) -> set[str]:
    """Every name ``start`` reaches through the equations (targets included)."""
    defs = {eq.target: eq for eq in equations}
    seen: set[str] = set()
    stack = list(start)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in defs:
            stack.extend(ref.id for ref in names(defs[name].expr))
    return seen
