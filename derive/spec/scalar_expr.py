"""Parse a user's scalar activation formula in ``x`` with our own lark grammar.

A custom activation is written by a user (``"x / (1 + exp(-x))"``). It must never reach
``eval``/``sympify``: the grammar below accepts numbers, ``x``, named parameters that the
spec declares, the four operations, powers and a fixed list of functions, and builds SymPy
objects by calling their constructors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import sympy
from lark import (
    Lark,
    Token,
    Transformer,
    Tree,
    UnexpectedInput,
)

from derive.spec.grammar import caret, failure

GRAMMAR = r"""
?start: sum

?sum: product
    | sum "+" product   -> add
    | sum "-" product   -> sub

?product: unary
    | product "*" unary -> mul
    | product "/" unary -> div

?unary: power
    | "-" unary         -> neg
    | "+" unary

?power: atom
    | atom ("^" | "**") unary -> pow

?atom: NUMBER           -> number
    | NAME "(" sum ("," sum)* ")" -> call
    | NAME              -> name
    | "(" sum ")"

NAME: /[A-Za-z_][A-Za-z0-9_]*/
NUMBER: /[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?/ | /\.[0-9]+([eE][-+]?[0-9]+)?/

%import common.WS
%ignore WS
"""

_PARSER = Lark(GRAMMAR, parser="lalr", propagate_positions=False, cache=True)

X = sympy.Symbol("x", real=True)


def sigmoid(u: sympy.Expr) -> sympy.Expr:
    """``1 / (1 + e^{-u})``: the one definition (the activation table uses it too)."""
    return 1 / (1 + sympy.exp(-u))


FUNCTIONS: Mapping[str, tuple[int, Callable[..., sympy.Expr]]] = {
    "exp": (1, sympy.exp),
    "log": (1, sympy.log),
    "ln": (1, sympy.log),
    "sqrt": (1, sympy.sqrt),
    "abs": (1, sympy.Abs),
    "tanh": (1, sympy.tanh),
    "sinh": (1, sympy.sinh),
    "cosh": (1, sympy.cosh),
    "sin": (1, sympy.sin),
    "cos": (1, sympy.cos),
    "atan": (1, sympy.atan),
    "arctan": (1, sympy.atan),
    "erf": (1, sympy.erf),
    "sigmoid": (1, sigmoid),
    "max": (2, sympy.Max),
    "min": (2, sympy.Min),
}
CONSTANTS: Mapping[str, sympy.Expr] = {"pi": sympy.pi, "e": sympy.E}


class ScalarExprError(ValueError):
    """A custom activation formula that does not parse, with the position marked."""


#: The longest formula (a custom activation is a short expression; this bounds recursion).
MAX_LENGTH = 200
#: The deepest nesting of function calls and powers (the derivative grows with it).
MAX_NESTING = 10
#: Bounds on a number: significant digits, and the size of its decimal exponent.
MAX_DIGITS = 30
MAX_EXPONENT = 100

_NUMBER = re.compile(r"(?P<int>[0-9]*)(?:\.(?P<frac>[0-9]*))?(?:[eE](?P<exp>[-+]?[0-9]+))?")


def parse_number(text: str) -> sympy.Rational:
    """A decimal literal as an exact Rational, digits and exponent bounded (no sympify)."""
    m = _NUMBER.fullmatch(text)
    if m is None or not (m["int"] or m["frac"]):
        raise ValueError(f"{text!r} is not a number")
    frac = m["frac"] or ""
    digits = (m["int"] + frac).lstrip("0")
    if len(digits) > MAX_DIGITS:
        raise ValueError(f"the number has more than {MAX_DIGITS} significant digits")
    exp_text = (m["exp"] or "0").lstrip("+-").lstrip("0") or "0"
    if len(exp_text) > 3 or int(exp_text) > MAX_EXPONENT:
        raise ValueError(f"the exponent of the number is beyond ±{MAX_EXPONENT}")
    exp = int(m["exp"] or 0) - len(frac)
    return sympy.Rational(int(digits or "0")) * sympy.Rational(10) ** exp


def _nesting(tree: Tree[Token]) -> int:
    """The deepest nesting of calls and powers in a parse tree (iterative: no recursion)."""
    deepest = 0
    stack: list[tuple[Tree[Token] | Token, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Tree):
            depth += node.data in ("call", "pow")
            deepest = max(deepest, depth)
            stack.extend((child, depth) for child in node.children)
    return deepest


class _ToSympy(Transformer[Token, sympy.Expr]):
    def __init__(self, text: str, params: Mapping[str, sympy.Expr]) -> None:
        super().__init__()
        self.text = text
        self.params = params

    def number(self, items: list[Token]) -> sympy.Expr:
        tok = items[0]
        try:
            return parse_number(str(tok))
        except ValueError as err:
            raise ScalarExprError(
                f"{err} in activation formula\n" + caret(self.text, tok.column or 1)
            ) from None

    def name(self, items: list[Token]) -> sympy.Expr:
        tok = items[0]
        word = str(tok)
        if word == "x":
            return X
        if word in self.params:
            return self.params[word]
        if word in CONSTANTS:
            return CONSTANTS[word]
        known = ", ".join(["x", *sorted(self.params), *sorted(CONSTANTS)])
        raise ScalarExprError(
            f"unknown name {word!r} in activation formula (known: {known})\n"
            + caret(self.text, tok.column or 1)
        )

    def call(self, items: list[object]) -> sympy.Expr:
        tok = items[0]
        assert isinstance(tok, Token)
        word = str(tok)
        args = items[1:]
        if word not in FUNCTIONS:
            raise ScalarExprError(
                f"unknown function {word!r} in activation formula "
                f"(known: {', '.join(sorted(FUNCTIONS))})\n" + caret(self.text, tok.column or 1)
            )
        arity, fn = FUNCTIONS[word]
        if len(args) != arity:
            raise ScalarExprError(
                f"{word}() takes {arity} argument(s), got {len(args)}\n"
                + caret(self.text, tok.column or 1)
            )
        return fn(*args)

    def add(self, items: list[sympy.Expr]) -> sympy.Expr:
        return items[0] + items[1]

    def sub(self, items: list[sympy.Expr]) -> sympy.Expr:
        return items[0] - items[1]

    def mul(self, items: list[sympy.Expr]) -> sympy.Expr:
        return items[0] * items[1]

    def div(self, items: list[sympy.Expr]) -> sympy.Expr:
        return items[0] / items[1]

    def neg(self, items: list[sympy.Expr]) -> sympy.Expr:
        return -items[0]

    def pow(self, items: list[sympy.Expr]) -> sympy.Expr:
        return items[0] ** items[1]


def parse_scalar(text: str, params: Mapping[str, sympy.Expr] | None = None) -> sympy.Expr:
    """Parse ``text`` (a formula in ``x``) into a SymPy expression, or raise ScalarExprError."""
    if not isinstance(text, str):
        raise ScalarExprError(f"the activation formula must be a string, not {type(text).__name__}")
    if not text.strip():
        raise ScalarExprError("the activation formula is empty")
    if len(text) > MAX_LENGTH:
        raise ScalarExprError(
            f"the activation formula is {len(text)} characters long; the limit is {MAX_LENGTH}"
        )
    if any(not (ch.isprintable() or ch == "\t") for ch in text):
        bad = next(ch for ch in text if not (ch.isprintable() or ch == "\t"))
        raise ScalarExprError(f"the activation formula contains the character {bad!r}")
    try:
        tree = _PARSER.parse(text)
    except UnexpectedInput as err:
        got = failure(_PARSER, err, text)
        if got.kind == "end":
            raise ScalarExprError(
                "activation formula ends too early\n" + caret(text, len(text) + 1)
            ) from None
        what = (
            f"unexpected character {got.met!r}"
            if got.kind == "character"
            else f"unexpected {got.met!r}"
        )
        raise ScalarExprError(f"{what} in activation formula\n" + caret(text, got.at + 1)) from None
    if _nesting(tree) > MAX_NESTING:
        raise ScalarExprError(
            f"the activation formula nests functions and powers more than {MAX_NESTING} deep"
        )
    try:
        expr = _ToSympy(text, params or {}).transform(tree)
    except Exception as err:  # lark wraps errors raised in callbacks
        inner = getattr(err, "orig_exc", err)
        if isinstance(inner, ScalarExprError):
            raise inner from None
        if isinstance(inner, RecursionError):
            raise ScalarExprError("the activation formula is nested too deeply") from None
        raise
    if not isinstance(expr, sympy.Expr):
        raise ScalarExprError(f"activation formula {text!r} is not a scalar expression")
    if X not in expr.free_symbols:
        raise ScalarExprError(f"activation formula {text!r} does not use x")
    if expr.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan, sympy.I):
        raise ScalarExprError(
            f"activation formula {text!r} is not a real function of x "
            "(a division by zero, log(0), an infinity or the square root of a negative number)"
        )
    return expr
