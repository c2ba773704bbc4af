"""Loops that steer themselves: ``if``/``elif``/``else``, ``continue`` and ``break``.

CS231n's naive SVM skips the correct class (``if j == y[i]: continue``) and adds only
positive margins (``if margin > 0:``). The window runner (``window_loops``) runs plain
statements and loops; this runner adds the branches, each condition evaluated on the
current values as Python does (a NumPy scalar's truth; an array of several entries is
refused, as NumPy refuses it), every branch and turn counted against the same bound.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from lark import Tree

from derive.formula.window_lines import Block, LoopError
from derive.formula.window_loops import MAX_STEPS, Runner, TooLong


class _Continue(Exception):
    """``continue``: the rest of this turn is skipped."""


class _Break(Exception):
    """``break``: the rest of the loop is skipped."""


def truth(value: Any) -> bool:
    """A condition's truth as Python has it (a one-entry array is its entry)."""
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise LoopError(
                f"a condition on an array of {value.size} entries (NumPy refuses its truth)"
            )
        value = value.reshape(-1)[0]
    if isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)):
        return bool(value)
    raise LoopError(f"a condition on {type(value).__name__} is not run here")


def _two_numbers(fn: Any, a: Any, b: Any) -> Any:
    """``min(a, b)``/``max(a, b)`` of two numbers (not of an iterable: no range is walked)."""
    if not all(isinstance(v, (int, float, np.integer, np.floating)) for v in (a, b)):
        raise LoopError(f"{fn.__name__}() of two numbers is run here")
    return fn(a, b)


def _number(fn: Any, a: Any) -> Any:
    """``float(x)`` of a number or a one-entry array (never of a string: a user's text is
    not parsed as a number here)."""
    if isinstance(a, str):
        raise LoopError(f"{fn.__name__}() of a string is not run here")
    return fn(a)


#: Python's functions loop code calls on numbers and arrays (as NumPy applies them).
BUILTINS: dict[str, Any] = {
    "abs": np.abs,
    "len": len,
    "float": lambda a: _number(float, a),
    "min": lambda a, b: _two_numbers(min, a, b),
    "max": lambda a, b: _two_numbers(max, a, b),
}


class FlowRunner(Runner):
    """``window_loops.Runner`` with branches and the loop statements that steer it."""

    def tick(self) -> None:
        """One statement of the bound spent."""
        self.budget[0] -= 1
        if self.budget[0] < 0:
            raise TooLong(
                f"the loops run more than {MAX_STEPS} statements at the sizes derive tries: "
                "too many to run"
            )

    def run(self, body: list[Block]) -> None:
        """The blocks in order; an ``elif``/``else`` runs only when no branch before it
        of the same ``if`` did."""
        taken: bool | None = None  # None: not after an if
        for block in body:
            kind = block.tree.data
            if kind in ("elif", "else") and taken is None:
                raise LoopError(f"{block.src!r} follows no if")
            if kind == "if" or (kind == "elif" and not taken):
                self.tick()
                taken = truth(self.value(block.tree.children[0]))
                if taken:
                    self.run(block.body)
                continue
            if kind == "elif":
                continue
            if kind == "else":
                if not taken:
                    self.run(block.body)
                taken = None
                continue
            taken = None
            if kind == "continue":
                raise _Continue
            if kind == "break":
                raise _Break
            self.statement(block)

    def statement(self, block: Block) -> None:
        """A loop (its turns caught for ``continue``/``break``), else the plain runner's."""
        t = block.tree
        if t.data != "loop":
            super().statement(block)
            return
        self.tick()
        var = str(t.children[0])
        values = self.value(t.children[1])
        if not isinstance(values, (range, list, tuple, np.ndarray)):
            raise LoopError(f"a loop over {type(values).__name__} is not run here")
        try:
            for value in values:
                self.env[var] = value
                try:
                    self.run(block.body)
                except _Continue:
                    continue
        except _Break:
            pass

    def lookup(self, word: str) -> Any:
        """A name's value: set by the snippet, or the program's (named as such)."""
        if word not in self.env and word not in ("None", "False", "True"):
            raise LoopError(
                f"{word!r} is not set by the snippet nor a name of the program "
                f"({', '.join(sorted(self.given)[:12])}{', …' if len(self.given) > 12 else ''})"
            )
        return super().lookup(word)

    def value(self, t: Any) -> Any:
        """An expression's value; ``(a if x == y else b)`` evaluates its one branch."""
        if getattr(t, "data", None) == "ternary":
            yes, left, op, right, no = t.children
            cond = self.value(Tree("compare", [left, op, right]))
            return self.value(yes if truth(cond) else no)
        return super().value(t)

    def call(self, t: Tree[Any]) -> Any:
        """Python's own ``abs``, ``len``, ``float`` and ``min``/``max`` of two, then the
        window runner's calls."""
        head = t.children[0]
        word = str(head.children[0]) if head.data == "name" else ""
        if word in BUILTINS and word not in self.env:
            raw = t.children[1].children if len(t.children) > 1 and t.children[1] else []
            if any(a.data == "kwarg" for a in raw) or not 1 <= len(raw) <= 2:
                raise LoopError(f"{word}() with these arguments is not run here")
            try:
                return BUILTINS[word](*(self.value(a) for a in raw))
            except (TypeError, ValueError) as err:
                raise LoopError(f"a call of {word}() does not fit: {err}") from None
        return super().call(t)

    def whole_run(self, body: list[Block]) -> None:
        """The snippet; a ``continue``/``break`` outside any loop refused."""
        try:
            self.run(body)
        except (_Continue, _Break):
            raise LoopError("continue or break outside a loop") from None
