"""A NumPy snippet's statements, read for ``snippet_check``: where each ends, the name it
assigns and whether that names a quantity for sure; ``return …`` lines and ``def …:``
headers blanked out (a returned value names no quantity; ``returns`` reads it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lark import Tree, UnexpectedInput

from derive.formula.declared import rewrites as declared_rewrites
from derive.formula.ir import FormulaError, Sym
from derive.formula.parse import parser
from derive.formula.python_ir import PythonToIR
from derive.formula.snippets import DICTS
from derive.formula.source_text import PY_TEXT_REWRITES, normalize_with_positions, stripped_again
from derive.formula.statement_targets import target_word

#: The IR bases of the quantities a check judges (dZ and delta are both ``delta``).
GRADIENTS = frozenset({"delta", "dW", "db", "dA", "dK"})

_RETURN = re.compile(r"^[ \t]*return\b")
_DEF = re.compile(r"^[ \t]*def\s+\w+\s*\(")


@dataclass(frozen=True)
class Statement:
    """One statement of a snippet: where it ends in the text and the name it assigns."""

    end: int  # in the user's text: the snippet up to here ends with this statement
    start: int  # where it starts in the user's text
    op: str | None  # "+=" for an in-place update, None for an assignment
    key: str | None  # ``dW``, ``grads['W1']``; None for a loop header or an unread target
    quantity: bool  # whether the key names a quantity for sure (not by a guessed reading)
    source: str  # the statement as parsed (to see which names a later line uses)


def _blank(text: str, start: int, end: int) -> str:
    """``text`` with ``[start, end)`` turned into spaces (line breaks kept: columns stay)."""
    return text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]


def without_returns(text: str) -> tuple[str, list[str]]:
    """The snippet with its ``return …`` statements and ``def …:`` headers blanked out, and
    what was left out (``return``, ``def``)."""
    left: list[str] = []
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    i = 0
    while i < len(lines):
        line = lines[i]
        kind = "return" if _RETURN.match(line) else "def" if _DEF.match(line) else None
        if kind is None:
            i += 1
            continue
        j, depth = i, 0  # the statement goes on while a bracket is open (or a \ ends it)
        while True:
            code = lines[j].split("#", 1)[0]
            depth += sum(code.count(c) for c in "([{") - sum(code.count(c) for c in ")]}")
            if (depth <= 0 and not code.rstrip().endswith("\\")) or j + 1 >= len(lines):
                break
            j += 1
        text = _blank(text, offsets[i], offsets[j] + len(lines[j]))
        if kind not in left:
            left.append(kind)
        i = j + 1
    if "def" in left:  # a docstring of the function carries no formula
        text = re.sub(r'"""[\s\S]*?"""', lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
    return text, left


def statements(
    text: str, symbols: tuple[tuple[str, str], ...], depth: int, column: bool | None
) -> list[Statement] | None:
    """The snippet's statements, or None if it does not parse (the check says why)."""
    rewrites = list(PY_TEXT_REWRITES)
    if symbols:
        rewrites = [*declared_rewrites(symbols, "python", depth), *rewrites]
    source, pos = normalize_with_positions(text, rewrites)
    source, pos = stripped_again(source, pos)
    try:
        tree = parser("python").parse(source)
    except UnexpectedInput:
        return None
    stmts = tree.children if tree.data == "program" else [tree]
    found: list[Statement] = []
    for st in stmts:
        if not isinstance(st, Tree) or st.meta.empty:
            continue
        end = pos[min(st.meta.end_pos, len(pos)) - 1] + 1
        start = pos[min(st.meta.start_pos, len(pos) - 1)]
        op = str(st.children[1]) if st.data == "augassign" else None
        key, sure = _target(st, depth, column)
        found.append(
            Statement(end, start, op, key, sure, source[st.meta.start_pos : st.meta.end_pos])
        )
    return found


def _target(st: Tree[Any], depth: int, column: bool | None) -> tuple[str | None, bool]:
    """The name a statement assigns and whether it names a quantity for sure."""
    if st.data not in ("chain", "augassign"):
        return None, False
    word = target_word(st)
    reader = PythonToIR(depth, column)
    if word is not None:
        try:  # self.dW = … (a layer class's stored gradient): the quantity dW names
            read = reader.reading(word.removeprefix("self."))
        except FormulaError:
            return word, False
        return word, isinstance(read, Sym) and read.base in GRADIENTS
    node = st.children[0]  # grads['W1'] = …
    if not (isinstance(node, Tree) and node.data == "index"):
        return None, False
    obj = node.children[0]
    strings = [str(t) for t in node.scan_values(lambda v: getattr(v, "type", "") == "STRING")]
    if not (isinstance(obj, Tree) and obj.data == "name" and len(strings) == 1):
        return None, False
    name = str(obj.children[0])
    if name not in DICTS:
        return None, False
    key = f"{name}[{strings[0]}]"
    try:
        entry = reader.reading(strings[0].strip("'\""))
    except FormulaError:
        return key, False
    if not isinstance(entry, Sym):
        return key, False
    grads = name in ("grads", "gradients", "change_w") and entry.base in ("W", "b")
    return key, grads or entry.base in GRADIENTS
