"""Parse a hand-written formula (LaTeX or NumPy style) into the IR (see ``ir``).

Both grammars (``latex.lark``, ``python.lark``) are lark LALR grammars; errors point with a
caret into the user's own text, and the size of what is read is bounded.
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
from derive.formula.latex_goodfellow import GOODFELLOW_REWRITE, goodfellow
from derive.formula.latex_ir import LatexToIR
from derive.formula.latex_plain import PLAIN_REWRITES, UNICODE_REWRITES, is_unicode_math
from derive.formula.latex_rewrites import LATEX_REWRITES, rewrite_notes
from derive.formula.layer_names import LATEX_REWRITES as LAYER_REWRITES
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


_LATEX_WORDS = re.compile(
    r"\\(?:text|mathrm|mathit|textrm|mathbf|boldsymbol|bm|mathcal|mathscr)\{([A-Za-z]+)\}"
)


#: (pattern, replacement) applied in order: decorations that carry no math, and CNN
#: notation by name (rot180, the arg-max mask 1_max(A), up(δ), pooling and flatten).
_REWRITES: list[tuple[re.Pattern[str], Any]] = [
    *LAYER_REWRITES,  # σ_l (a deviation), ⊘ and ∘-powers of the norm layers
    GOODFELLOW_REWRITE,  # the book's letters (a = Z, h = A, k = l, g), by its macros
    *PLAIN_REWRITES,  # \ell for the layer l, \vec z
    *LATEX_REWRITES,  # the notations latex_ir reads (primes, decorations, indicators, …)
    # layout that carries no math: equation tags, alignment marks
    (re.compile(r"\\tag\*?\{[^{}]*\}"), ""),
    (re.compile(r"&"), ""),
    # primes written as superscripts: f^\prime, \sigma^{\prime}, f^{'}
    (
        re.compile(r"\^\s*\{\s*((?:\\prime\s*|'\s*)+)\}|\^\s*\\prime"),
        lambda m: "'" * max(1, (m.group(1) or "").count("prime") + (m.group(1) or "").count("'")),
    ),
    # the middle dot · is \cdot; Nielsen's Σ'(z), the diagonal matrix of σ'(z)
    (re.compile("\u00b7"), r" \\cdot "),
    (
        re.compile(r"\\Sigma'\s*\(((?:[^()]|\([^()]*\))*)\)"),
        lambda m: "\\operatorname{diag}(\\sigma'(" + m.group(1) + "))",
    ),
    # ŷ, the network's output
    (
        re.compile(r"\\hat\s*(?:\{\s*([yY])\s*\}|([yY])(?![A-Za-z]))"),
        lambda m: "\\" + (m.group(1) or m.group(2)) + "hat ",
    ),
    # \partial{L}, \partial{W_2}: braces around what is differentiated
    (
        re.compile(r"(\\partial)\s*\{((?:[^{}]|\{[^{}]*\})*)\}"),
        lambda m: m.group(1) + " " + m.group(2) + " ",
    ),
    (re.compile(r"\\(?:operatorname|mathrm|text)\{rot\}_\{?180\}?"), "rot180"),
    (re.compile(r"\\(?:operatorname|mathrm|text)\{rot\s*180\}"), "rot180"),
    (re.compile(r"\\(?:mathbf|mathbb|boldsymbol)\{1\}_\{?\\(?:max|arg\s*max)\}?"), "maxmask"),
    (
        re.compile(
            r"\\(?:operatorname|mathrm|text)\{(up|upsample|maxpool|avgpool|flatten|unflatten|flip)\}"
            r"(?:_\{[^{}]*\})?"
        ),
        lambda m: {"upsample": "up"}.get(m.group(1), m.group(1)),
    ),
    (
        re.compile(r"\\(?:mathbf|mathbb|boldsymbol)\{1\}(_\{\s*\w\s*\}|_\w)?"),
        lambda m: "\\one" + (m.group(1) or "") + " ",
    ),
    # a plain 1 subscripted by a length letter, 1_m (the text printer's 1ₘ): the ones
    # vector, not an entry of a number (not a digit of W_{1}, 21_m, or a script's 1)
    (
        re.compile(r"(?<![\w\\{^_.])1_(\{\s*[A-Za-z]\s*\}|[A-Za-z](?![A-Za-z]))"),
        lambda m: "\\one_" + m.group(1) + " ",
    ),
    (re.compile(r"\\(?:text|mathrm)\{(relu|ReLU|sigmoid|softmax|tanh|diag)\}"), r"\1"),
    (_LATEX_WORDS, lambda m: m.group(1)),
    (re.compile(r"\\operatorname\{(relu|ReLU|sigmoid|softmax|tanh|diag)\}"), r"\1"),
]


def _stripped(text: str) -> tuple[str, list[int]]:
    """``text`` without surrounding blanks and ``$``, and each kept character's position."""
    start, end = 0, len(text)
    while start < end and (text[start].isspace() or text[start] == "$"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] == "$"):
        end -= 1
    return text[start:end], [*range(start, end), end]


def _open_brackets(text: str) -> int:
    """How many brackets are open at the end of ``text`` (Python joins lines inside them)."""
    return sum(text.count(c) for c in "([{") - sum(text.count(c) for c in ")]}")


#: NumPy formulas: comments carry no math; a line break inside brackets joins the lines.
_PY_REWRITES: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"#[^\n]*"), ""),
    # Greek letters as Python 3 allows them in names: δ1 is delta1, α the learning rate
    (re.compile("[δαη]"), lambda m: {"δ": "delta", "α": "alpha", "η": "eta"}[m.group(0)]),
    (
        re.compile(r"[ \t]*\r?\n[ \t]*"),
        lambda m: " " if _open_brackets(m.string[: m.start()]) > 0 else m.group(0),
    ),
]


def normalize_with_positions(
    text: str, rewrites: list[tuple[re.Pattern[str], Any]] | None = None
) -> tuple[str, list[int]]:
    """The LaTeX the grammar reads, and for each of its positions the user's position.

    A rewritten span maps to where it starts in the user's text, so a caret can point into
    what the user wrote, not into the rewritten string.
    """
    out, pos = _stripped(text)
    for pattern, repl in _REWRITES if rewrites is None else rewrites:
        parts: list[str] = []
        new_pos: list[int] = []
        last = 0
        for m in pattern.finditer(out):
            parts.append(out[last : m.start()])
            new_pos += pos[last : m.start()]
            r = m.expand(repl) if isinstance(repl, str) else repl(m)
            parts.append(r)
            new_pos += [pos[m.start()]] * len(r)
            last = m.end()
        parts.append(out[last:])
        new_pos += pos[last:]
        out = "".join(parts)
        pos = new_pos
    return out, pos


def _stripped_again(source: str, pos: list[int]) -> tuple[str, list[int]]:
    """Blanks left at the ends by a rewrite (a comment removed), with their positions."""
    inner, kept = _stripped(source)
    return inner, [pos[i] for i in kept]


def normalize_latex(text: str) -> str:
    """Drop decorations that carry no math (``\\mathbf{W}`` -> ``W``, ``\\text{d}W`` -> ``dW``)."""
    return normalize_with_positions(text)[0]


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
) -> list[IR]:
    """The parts of ``LHS = … = RHS`` as IR, or a FormulaError with a caret.

    ``symbols`` are the user's declared names (``S`` is ``Z_2``), read as their quantity
    in a network of ``depth`` layers (``declared``); ``column`` is the network's
    convention (NumPy's ``x[range(N), y]`` reads by it); ``guessed`` rewrites unknown
    names into a reading being tried (carets still point into the user's text). The
    result is a ``Parts``: its ``notes`` say which common readings were used."""
    if syntax not in SYNTAXES:
        raise FormulaError(f"unknown syntax {syntax!r}; use latex or python")
    if not text.strip():
        raise FormulaError("the formula is empty")
    if len(text) > 2000:
        raise FormulaError("the formula is longer than 2,000 characters")
    rewrites = _REWRITES if syntax == "latex" else _PY_REWRITES
    if syntax == "latex" and is_unicode_math(text):  # ∂L/∂W₂ = …: maths typed in Unicode
        rewrites = [*UNICODE_REWRITES, *rewrites]
    if symbols:
        rewrites = [*declared_rewrites(symbols, syntax, depth), *rewrites]
    if guessed:  # the common readings of unknown names being tried (``guesses``), on
        rewrites = [*rewrites, *guessed]  # the code without its comments
    source, pos = normalize_with_positions(text, rewrites)
    source, pos = _stripped_again(source, pos)

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
        notes[:0] = goodfellow(text)[1] + rewrite_notes(text)  # the readings used, if any
    out = Parts([leftover(p) for p in parts], notes)
    out.unread = list(getattr(transformer, "unread", []))  # sides left out (latex_ir._chain)
    alternative = getattr(transformer, "alternative", None)  # read another way (latex_layers)
    if alternative is not None:
        out.alternative = dataclasses.replace(
            alternative, parts=[leftover(p) for p in alternative.parts]
        )
    return out
