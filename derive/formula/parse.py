"""Parse a hand-written formula (LaTeX or NumPy style) into the IR (see ``ir``).

Both grammars (``latex.lark``, ``python.lark``) are lark LALR grammars; errors point with a
caret into the user's own text (the text they read is rewritten in ``source_text``), and
the size of what is read is bounded.
"""

from __future__ import annotations

import dataclasses
import re
from functools import cache
from importlib import resources
from typing import Any

from lark import Lark, Token, Tree, UnexpectedInput
from lark.exceptions import VisitError

from derive.formula.declared import rewrites as declared_rewrites
from derive.formula.ir import IR, FormulaError
from derive.formula.latex_commands import macro_hint
from derive.formula.latex_goodfellow import goodfellow
from derive.formula.latex_ir import LatexToIR
from derive.formula.latex_layout import layout_notes
from derive.formula.latex_plain import UNICODE_REWRITES, is_unicode_math
from derive.formula.latex_rewrites import rewrite_notes
from derive.formula.numbers import (
    MAX_DEPTH,
    MAX_DIGITS,
    MAX_EXPONENT,
    MAX_NODES,
    MAX_ORDER,
    MAX_POWER,
    integer_of,
    parse_number,
)
from derive.formula.python_ir import PythonToIR
from derive.formula.python_nodes import UnknownName, leftover
from derive.formula.source_text import (
    LATEX_TEXT_REWRITES,
    PY_TEXT_REWRITES,
    normalize_with_positions,
    stripped_again,
)
from derive.spec.grammar import caret, failure


class NoEquation(FormulaError):
    """A formula without ``=``: a right-hand side alone (``derive check --quantity`` names
    its left-hand side)."""


__all__ = [
    "NoEquation",
    "IR",
    "MAX_DEPTH",
    "MAX_DIGITS",
    "MAX_EXPONENT",
    "MAX_NODES",
    "MAX_ORDER",
    "MAX_POWER",
    "FormulaError",
    "integer_of",
    "parse",
    "parse_number",
]


SYNTAXES = ("latex", "python")


@cache
def parser(syntax: str) -> Lark:
    """The LALR parser of one syntax's grammar (built once)."""
    grammar = resources.files("derive.formula").joinpath(f"{syntax}.lark").read_text("utf-8")
    return Lark(
        grammar, parser="lalr", maybe_placeholders=False, cache=True, propagate_positions=True
    )


def _too_deep(tree: Tree[Any]) -> tuple[str, Any] | None:
    """Whether the parse tree nests deeper or is larger than a check can afford.

    Walked with an explicit stack (a deep tree must not overflow Python's own).
    """
    stack: list[tuple[Any, int]] = [(tree, 1)]
    nodes = 0
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, Tree):
            continue
        nodes += 1
        if depth > MAX_DEPTH:
            return (
                f"more than {MAX_DEPTH} operations nested inside one another (brackets, "
                "functions, signs, or a long chain of products or sums)",
                node,
            )
        if nodes > MAX_NODES:
            return f"more than {MAX_NODES} operations and operands", node
        stack.extend((c, depth + 1) for c in reversed(node.children))  # leftmost first
    return None


def _start(node: Any) -> int | None:
    """The position (0-based, in the parsed text) where a tree or token starts."""
    if isinstance(node, Token):
        return node.start_pos
    meta = getattr(node, "meta", None)
    if meta is not None and not getattr(meta, "empty", True):
        return int(meta.start_pos)
    return None


class Parts(list):  # type: ignore[type-arg]
    """The parts of a formula, and the readings chosen on the way (said in notes)."""

    def __init__(self, parts: list[IR], notes: list[str]) -> None:
        super().__init__(parts)
        self.notes = notes
        self.alternative: Any = None  # another reading (latex_layers.Alternative)
        self.unread: list[str] = []  # sides not read: why (a chain's tensor factor, ∂Z/∂W)


def parse(
    text: str,
    syntax: str = "latex",
    symbols: tuple[tuple[str, str], ...] = (),
    depth: int = 0,
    column: bool | None = None,
    guessed: tuple[tuple[re.Pattern[str], Any], ...] = (),
    classes: int | None = None,
) -> list[IR]:
    """The parts of ``LHS = … = RHS`` as IR, or a FormulaError with a caret.

    ``symbols`` are the user's declared names (``S`` is ``Z_2``), read as their quantity
    in a network of ``depth`` layers (``declared``); ``column`` is the network's
    convention (NumPy's ``x[range(N), y]`` reads by it); ``guessed`` rewrites unknown
    names into a reading being tried (carets still point into the user's text);
    ``classes`` the output's width where it is a number (``np.eye(K)[y]`` must have K). The
    result is a ``Parts``: its ``notes`` say which common readings were used."""
    if syntax not in SYNTAXES:
        raise FormulaError(f"unknown syntax {syntax!r}; use latex or python")
    if not text.strip():
        raise FormulaError("the formula is empty")
    if len(text) > 2000:
        raise FormulaError("the formula is longer than 2,000 characters")
    rewrites = LATEX_TEXT_REWRITES if syntax == "latex" else PY_TEXT_REWRITES
    if syntax == "latex" and is_unicode_math(text):  # ∂L/∂W₂ = …: maths typed in Unicode
        rewrites = [*UNICODE_REWRITES, *rewrites]
    if symbols:
        rewrites = [*declared_rewrites(symbols, syntax, depth), *rewrites]
    if guessed:  # the common readings of unknown names being tried (``guesses``), on
        rewrites = [*rewrites, *guessed]  # the code without its comments
    source, pos = normalize_with_positions(text, rewrites)
    source, pos = stripped_again(source, pos)

    def fail(message: str, at: int | None, tail: str = "") -> FormulaError:
        """The error, with a caret under the user's own text at parsed position ``at``."""
        if at is None:
            return FormulaError(message + tail)
        column = pos[min(max(at, 0), len(pos) - 1)] + 1
        return FormulaError(f"{message} at column {column}{tail}\n" + caret(text, column), column)

    if "=" not in source:
        raise NoEquation(
            "a formula is an equation, LHS = RHS (e.g. \\delta_1 = ...), and this one has no "
            "'=' (a right-hand side alone: say what it is with --quantity, e.g. --quantity dW_2)"
        )
    lark = parser(syntax)
    try:
        tree = lark.parse(source)
    except UnexpectedInput as err:
        got = failure(lark, err, source)
        if got.kind == "character":
            raise fail(f"cannot read {got.met!r}", got.at, got.expected) from None
        if got.kind == "end":
            raise fail("the formula ends too early", got.at, got.expected) from None
        word = re.match(r"\\?[A-Za-z]+|[0-9.]+|\S", got.met)  # \foo, not \foo(Z_1)
        hint = macro_hint(word.group(0), got.met) if word and syntax == "latex" else None
        if hint is not None:  # \Wmatr: the page's own macro (latex_commands)
            raise fail(hint, got.at) from None
        what = f"unexpected '{word.group(0) if word else got.met[:12]}'"
        raise fail(what, got.at, got.expected) from None
    big = _too_deep(tree)
    if big is not None:
        raise fail(f"the formula is too large to check: {big[0]}", _start(big[1]))
    transformer = LatexToIR(depth) if syntax == "latex" else PythonToIR(depth, column)
    if isinstance(transformer, PythonToIR):
        transformer.classes = classes
    try:
        parts = transformer.transform(tree)
    except VisitError as err:  # lark wraps errors raised inside callbacks
        inner = err.orig_exc
        if isinstance(inner, UnknownName):  # the checker may try its common readings
            found = fail(str(inner), _start(err.obj))
            raise UnknownName(str(found), inner.name, found.column) from None
        if isinstance(inner, FormulaError):
            raise fail(str(inner), _start(err.obj)) from None
        raise
    notes = list(getattr(transformer, "notes", []))
    if syntax == "latex":
        notes[:0] = (
            goodfellow(text)[1] + rewrite_notes(text) + layout_notes(text)
        )  # the readings used, if any
    out = Parts([leftover(p) for p in parts], notes)
    out.unread = list(getattr(transformer, "unread", []))  # sides left out (latex_ir._chain)
    alternative = getattr(transformer, "alternative", None)  # read another way (latex_layers)
    if alternative is not None:
        out.alternative = dataclasses.replace(
            alternative, parts=[leftover(p) for p in alternative.parts]
        )
    return out
