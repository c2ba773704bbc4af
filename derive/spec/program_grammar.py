"""The equations of a forward program, read into a typed AST by our own lark grammar.

A user writes NumPy-style equations (``Xhat = Xc / sqrt(var + eps)``). They are parsed by
``program.lark`` (LALR, positions on) and turned into the frozen records below; nothing is
evaluated and numbers are read with bounded digits and exponents. What needs no names and
no shapes is checked here (the function list, arity, axes, ``where``'s comparison, the
one-hot pick); ``derive.spec.program`` checks the names, ``derive.core`` the shapes.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal, Union

import sympy
from lark import Lark, Token, Tree, UnexpectedInput

from derive.spec.grammar import failure
from derive.spec.scalar_expr import parse_number

BinOp = Literal["+", "-", "*", "/", "@", "**"]
UnaryOp = Literal["-", "~"]
CompareOp = Literal[">", ">=", "<", "<=", "==", "!="]
Axis = Literal[0, 1, None]
AxisRule = Literal["none", "optional", "required"]

#: The longest equation line, the deepest nesting of one equation (bounds every walk).
MAX_LINE = 500
MAX_DEPTH = 50


@dataclass(frozen=True)
class Function:
    """A function an equation may call: its argument count and whether it takes ``axis``."""

    arity: int
    axis: AxisRule = "none"
    what: str = ""


#: The fixed function list (NumPy names; ``np.``/``np.linalg.`` prefixes are accepted).
FUNCTIONS: dict[str, Function] = {
    "sum": Function(1, "optional", "the sum of the entries (over an axis)"),
    "mean": Function(1, "optional", "the mean of the entries (over an axis)"),
    "max": Function(1, "optional", "the largest entry (over an axis)"),
    "sqrt": Function(1),
    "exp": Function(1),
    "log": Function(1),
    "abs": Function(1),
    "absolute": Function(1, what="abs(x)"),
    "sign": Function(1, what="the sign of each entry, -1, 0 or 1"),
    "tanh": Function(1),
    "sigmoid": Function(1),
    "relu": Function(1),
    "maximum": Function(2, what="maximum(0, x) only"),
    "where": Function(3, what="where(mask, x, y), the mask a comparison a > b"),
    "softmax": Function(1, "required"),
    "log_softmax": Function(1, "required"),
    "norm": Function(1, what="the Frobenius norm (the 2-norm of a vector)"),
    "trace": Function(1),
    "inv": Function(1),
    "det": Function(1),
    "logdet": Function(1),
    "dot": Function(2, what="the matrix product dot(a, b)"),
    "square": Function(1),
    "transpose": Function(1),
    "ones_like": Function(1, what="an array of ones shaped like its argument"),
    "zeros_like": Function(1, what="an array of zeros shaped like its argument"),
    "divide": Function(2, what="divide(a, b), a / b; with out=o, where=m: where(m, a / b, o)"),
    "ones": Function(1, what="ones(x.shape)"),
    "zeros": Function(1, what="zeros(x.shape)"),
    "float": Function(1, what="a number as it is"),
    "power": Function(2, what="power(x, p), x ** p"),
    "len": Function(1, what="the number of rows"),
}
#: Methods ``X.sum(axis=0)`` read as the function of the same name.
METHODS = ("sum", "mean", "max")
#: Methods that leave their array as it is (a copy) or transpose it.
SAME_METHODS = ("copy", "transpose")
#: ``S = lambda x: x.sum(axis=0)``: a helper the checker does not inline.
LAMBDA = re.compile(r"\s*[A-Za-z_]\w*\s*=\s*lambda\b")
#: Methods that turn a 0/1 mask into numbers (read only on a mask).
CASTS = ("astype", "float", "double")
#: Words an equation uses that are not the user's names.
KEYWORDS = frozenset({"range", "np", "numpy", "None", "True", "False", "T", "axis", "keepdims"})


@dataclass(frozen=True)
class Num:
    """A number as written, exact (``sympy.Integer`` or ``sympy.Rational``)."""

    value: sympy.Rational
    line: int = field(default=0, compare=False)
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Name:
    """A name: an input, a parameter, a hyperparameter, a size or an earlier target."""

    id: str
    line: int = field(default=0, compare=False)
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Unary:
    """``-x``; ``~m``, the logical not of a mask (a comparison's 0/1 values)."""

    op: UnaryOp
    x: Expr
    line: int = field(default=0, compare=False)
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Bin:
    """``left op right``; ``*`` and ``/`` are elementwise, ``@`` the matrix product,
    ``**`` the power (``^`` is read as ``**``)."""

    op: BinOp
    left: Expr
    right: Expr
    line: int = field(default=0, compare=False)
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Call:
    """``fn(args, axis=…)``; ``maximum`` is kept as ``maximum(0, x)`` whichever order.
    ``axis_from``: an axis named, not written (``axis=axis``, ``axis=cache['axis']``): a
    checked snippet reads it from the program's constant of that name; a program's own
    equation may not."""

    fn: str
    args: tuple[Expr, ...]
    axis: Axis = None
    line: int = field(default=0, compare=False)
    column: int = field(default=0, compare=False)
    axis_from: Name | Lookup | None = None
    #: ``keepdims=True`` written: a checked snippet's reduction along axis 1 without it is
    #: NumPy's 1-d array, which broadcasts as a row (a program's own results stay 2-D)
    keepdims: bool = False  # compared: a snippet's built values are cached by expression


@dataclass(frozen=True)
class Transpose:
    """``x.T``."""

    x: Expr
    line: int = field(default=0, compare=False)
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Pick:
    """``matrix[range(length), labels]``: each row's entry at its integer class label."""

    matrix: Expr
    labels: str
    length: int | str
    line: int = field(default=0, compare=False)
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Compare:
    """``left op right``: a 0/1 mask (``where``'s condition, ``A[A > 0] = 1``, a named
    ``mask = x < d``, ``(x > 0).astype(float)``)."""

    op: CompareOp
    left: Expr
    right: Expr
    line: int = field(default=0, compare=False)
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class ShapeOf:
    """``x.shape[axis]`` (``axis`` None: the whole ``x.shape``, only to unpack)."""

    x: Expr
    axis: int | None = None
    line: int = field(default=0, compare=False)
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Lookup:
    """``cache['key']`` or ``cache.get('key')``: a value a snippet takes from a container
    by name (only in a checked snippet; a program's equations name their values)."""

    container: str
    key: str
    line: int = field(default=0, compare=False)
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class SliceOf:
    """``x[:, start:stop]`` (axis 1) or ``x[start:stop, :]`` / ``x[start:stop]`` (axis 0);
    a bound left out is None (the first or the last)."""

    x: Expr
    axis: Literal[0, 1]
    start: Expr | None
    stop: Expr | None
    line: int = field(default=0, compare=False)
    column: int = field(default=0, compare=False)


#: Functions that join matrices, read as ``Call("concat", parts, axis)``: NumPy's default
#: axis of each (``concatenate`` stacks rows unless told ``axis=1``).
JOINS: dict[str, int] = {"hstack": 1, "vstack": 0, "concatenate": 0}

Expr = Union[Num, Name, Unary, Bin, Call, Transpose, Pick, Compare, ShapeOf, Lookup, SliceOf]  # noqa: UP007


@dataclass(frozen=True)
class Assign:
    """``target = expr`` on ``line`` of the spec file; ``text`` is the equation as written."""

    target: str
    expr: Expr
    line: int = field(default=0, compare=False)
    text: str = ""
    column: int = field(default=1, compare=False)


class EquationError(ValueError):
    """An equation that does not read; ``column`` (1-based) is where, 0 when nowhere."""

    def __init__(self, problem: str, column: int = 0):
        super().__init__(problem)
        self.problem = problem
        self.column = column


_PARSER: Lark | None = None


def parser() -> Lark:
    """The equation grammar, built once."""
    global _PARSER
    if _PARSER is None:
        grammar = resources.files("derive.spec").joinpath("program.lark").read_text("utf-8")
        _PARSER = Lark(
            grammar,
            parser="lalr",
            start=["assign", "expression", "statement"],
            propagate_positions=True,
        )
    return _PARSER


def children(node: Expr) -> tuple[Expr, ...]:
    """The sub-expressions of ``node``, for walks over an equation."""
    if isinstance(node, Unary | Transpose | ShapeOf):
        return (node.x,)
    if isinstance(node, Bin | Compare):
        return (node.left, node.right)
    if isinstance(node, Call):
        return node.args
    if isinstance(node, Pick):
        return (node.matrix,)
    if isinstance(node, SliceOf):
        return tuple(e for e in (node.x, node.start, node.stop) if e is not None)
    return ()


def walk(node: Expr) -> list[Expr]:
    """``node`` and every sub-expression, iteratively."""
    out: list[Expr] = []
    stack = [node]
    while stack:
        item = stack.pop()
        out.append(item)
        stack.extend(children(item))
    return out


def names(node: Expr) -> list[Name]:
    """Every Name in ``node``, left to right (the labels of a pick included)."""
    found: list[Name] = []
    stack: list[Expr] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, Name):
            found.append(item)
        if isinstance(item, Pick):
            found.append(Name(item.labels, item.line, item.column))
            if isinstance(item.length, str):
                found.append(Name(item.length, item.line, item.column))
        stack.extend(reversed(children(item)))
    return found


def _depth(tree: Tree[Token]) -> int:
    """The deepest nesting of a parse tree, iteratively (argument lists do not count)."""
    deepest = 0
    stack: list[tuple[object, int]] = [(tree, -1)]  # the root (assign) is no node
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Tree):
            depth += node.data not in ("args", "keyword")
            deepest = max(deepest, depth)
            stack.extend((child, depth) for child in node.children)
    return deepest


def _pos(item: Tree[Token] | Token) -> tuple[int, int]:
    if isinstance(item, Token):
        return item.line or 1, item.column or 1
    meta = item.meta
    return getattr(meta, "line", 1), getattr(meta, "column", 1)


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


class _Builder:
    """Turns a lark tree into the typed records; its recursion is bounded by MAX_DEPTH."""

    def __init__(self, line: int, text: str):
        self.line = line
        self.text = text

    def snippet(self, item: Tree[Token] | Token) -> str:
        if isinstance(item, Token):
            return str(item)
        meta = item.meta
        start, end = getattr(meta, "start_pos", None), getattr(meta, "end_pos", None)
        if start is None or end is None:
            return "its argument"
        return self.text[start:end]

    def build(self, item: Tree[Token] | Token) -> Expr:
        line, col = self.line, _pos(item)[1]
        if isinstance(item, Token):  # pragma: no cover - every token sits in a rule
            raise EquationError(f"unexpected {str(item)!r}", col)
        kind, kids = str(item.data), item.children
        if kind == "number":
            try:
                return Num(parse_number(str(kids[0])), line, col)
            except ValueError as err:
                raise EquationError(str(err), col) from None
        if kind == "name":
            word = str(kids[0])
            if word in ("None", "True", "False"):
                raise EquationError(f"{word} can only be given as axis=None", col)
            return Name(word, line, col)
        if kind in ("neg", "pos"):
            inner = self.build(kids[0])
            return inner if kind == "pos" else Unary("-", inner, line, col)
        binary: dict[str, BinOp] = {"add": "+", "sub": "-", "mul": "*", "div": "/"}
        binary["matmul"] = "@"
        if kind in binary:
            return Bin(binary[kind], self.build(kids[0]), self.build(kids[1]), line, col)
        if kind == "pow":
            return Bin("**", self.build(kids[0]), self.build(kids[2]), line, col)
        if kind == "compare":  # a 0/1 mask
            op = str(kids[1])
            left, right = self.build(kids[0]), self.build(kids[2])
            return Compare(op, left, right, line, col)  # type: ignore[arg-type]
        if kind == "invert":  # ~mask
            return Unary("~", self.build(kids[0]), line, col)
        if kind == "np_name":
            raise EquationError(f"np.{kids[1]} is read only as np.newaxis in x[:, np.newaxis]", col)
        if kind == "tuple":
            raise EquationError(
                "a tuple is read only as the shape of x.reshape((-1, 1)) or x.reshape(1, -1)", col
            )
        if kind == "list":
            raise EquationError(
                "a list is read only as the matrices joined by concatenate([a, b])", col
            )
        if kind == "string":
            raise EquationError(
                "a string is only read as the key of a value taken from a container, cache['name']",
                col,
            )
        if kind == "attr":
            attr = str(kids[1])
            if attr == "shape":
                return ShapeOf(self.build(kids[0]), None, line, col)
            base = kids[0]
            if isinstance(base, Tree) and base.data == "name" and str(base.children[0]) == "self":
                return Name(attr, line, _pos(kids[1])[1])  # a method's state: self._delta
            if attr != "T":
                raise EquationError(
                    f"unknown attribute .{attr} (only .T, the transpose)", _pos(kids[1])[1]
                )
            return Transpose(self.build(kids[0]), line, col)
        if kind == "method":
            method = str(kids[1])
            lookup = self.lookup(kids[0], kids[2]) if method == "get" else None
            if lookup is not None:
                return lookup
            if method == "reshape":
                return self.reshape(kids[0], kids[2], col)
            if method in CASTS:  # (x > 0).astype(float), mask.float(): a mask as numbers
                given = _positional(kids[2])
                if len(given) > 1 or (method != "astype") == bool(given):
                    raise EquationError(
                        f"x.{method}() takes {'one dtype' if given else 'no'} argument", col
                    )
                return Call("astype", (self.build(kids[0]),), None, line, col)
            if method in SAME_METHODS and kids[2] is None:
                inner = self.build(kids[0])
                return Transpose(inner, line, col) if method == "transpose" else inner
            layer = _layer_name(kids[0])
            if method in LAYER_METHODS and layer is not None:  # self.softmax.backward(d)
                args = self.arguments(kids[2], method)
                if len(args[0]) != 1 or args[1]:
                    raise EquationError(f"{layer}.{method}() takes one argument", col)
                return Call(f"{layer}.{method}", tuple(args[0]), None, line, col)
            if method == "dot":
                args = self.arguments(kids[2], method)
                if len(args[0]) != 1 or args[1]:
                    raise EquationError("x.dot(y) takes one argument", _pos(kids[1])[1])
                return Bin("@", self.build(kids[0]), args[0][0], line, col)
            if method not in METHODS:
                hint = _suggest(method, [*METHODS, "dot"])
                raise EquationError(
                    f"unknown method .{method}() (known: .sum, .mean, .max, .dot, .T){hint}",
                    _pos(kids[1])[1],
                )
            return self.call(method, [kids[0]], kids[2], _pos(kids[1])[1], col)
        if kind == "call":
            fn_tok = kids[1]
            assert isinstance(fn_tok, Token)
            return self.call(str(fn_tok), [], kids[2], fn_tok.column or 1, col)
        if kind == "index":
            shape = self.shape_index(item)
            if shape is not None:
                return shape
            lookup = self.lookup(item.children[0], item.children[1])
            if lookup is not None:
                return lookup
            sliced = self.slice(item)
            return sliced if sliced is not None else self.pick(item)
        if kind == "slice":
            raise EquationError("a slice a:b is only read inside x[...]", col)
        raise EquationError(f"cannot read {self.snippet(item)!r}", col)  # pragma: no cover

    def reshape(self, base: Tree[Token] | Token, args: object, col: int) -> Expr:
        """``x.reshape(-1, 1)`` / ``x.reshape((1, -1))``: ``Call('reshape', (x, rows, cols))``
        with each size a whole number or -1 (the builder allows it between vector shapes)."""
        parts = list(args.children) if isinstance(args, Tree) else []
        if len(parts) == 1 and isinstance(parts[0], Tree) and parts[0].data == "tuple":
            parts = list(parts[0].children)
        usage = "x.reshape(rows, cols) takes two sizes (numbers or names), one may be -1"
        order = [p for p in parts if isinstance(p, Tree) and p.data == "keyword"]
        if order:
            raise EquationError(
                f"x.reshape(…, {order[0].children[0]}=…) is not read: only the sizes, in "
                "NumPy's default order, e.g. x.reshape(N, -1)",
                col,
            )
        if len(parts) == 1 and isinstance(parts[0], Tree) and parts[0].data == "name":
            raise EquationError(
                f"x.reshape({parts[0].children[0]}): a shape kept in a name is not read; "
                "write its two sizes, e.g. x.reshape(N, D)",
                col,
            )
        sizes: list[Expr] = []
        for part in parts:
            tree, sign = part, 1
            if isinstance(tree, Tree) and tree.data == "neg":
                sign, tree = -1, tree.children[0]
            if sign > 0 and isinstance(tree, Tree) and tree.data == "name":
                sizes.append(self.build(tree))  # a size's name: x.reshape(num_train, 1)
                continue
            word = str(tree.children[0]) if isinstance(tree, Tree) and tree.data == "number" else ""
            if not word.isdigit() or len(word) > 6 or (sign < 0 and word != "1"):
                raise EquationError(usage, col)
            sizes.append(Num(sympy.Integer(sign * int(word)), self.line, col))
        if len(sizes) != 2:
            raise EquationError(usage, col)
        return Call("reshape", (self.build(base), *sizes), None, self.line, col)

    def shape_index(self, item: Tree[Token]) -> Expr | None:
        """``x.shape[0]``: a size of ``x``."""
        base, args = item.children[0], item.children[1]
        if not (
            isinstance(base, Tree) and base.data == "attr" and str(base.children[1]) == "shape"
        ):
            return None
        parts = args.children if isinstance(args, Tree) else []
        line, col = self.line, _pos(item)[1]
        if len(parts) == 1 and isinstance(parts[0], Tree):
            tree: Tree[Token] | Token = parts[0]
            sign = 1
            if isinstance(tree, Tree) and tree.data == "neg":
                sign, tree = -1, tree.children[0]
            number = isinstance(tree, Tree) and tree.data == "number"
            word = str(tree.children[0]) if isinstance(tree, Tree) and number else ""
            if word in ("0", "1"):
                axis = sign * int(word)
                return ShapeOf(self.build(base.children[0]), axis % 2, line, col)
        raise EquationError("x.shape[k] takes k = 0, 1 or -1 (arrays here are 2-D)", col)

    def lookup(self, container: object, args: object) -> Lookup | None:
        """``cache['key']`` / ``cache.get('key')`` (a name and one string), else None."""
        parts = args.children if isinstance(args, Tree) else []
        if not (
            isinstance(container, Tree)
            and container.data == "name"
            and len(parts) >= 1
            and isinstance(parts[0], Tree)
            and parts[0].data == "string"
        ):
            return None
        key = str(parts[0].children[0])[1:-1]
        return Lookup(str(container.children[0]), key, self.line, _pos(container)[1])

    def arguments(
        self, args: object, fn: str, first: list[Tree[Token] | Token] | None = None
    ) -> tuple[list[Expr], dict[str, Tree[Token] | Token]]:
        """Positional arguments built, keyword arguments kept as trees."""
        items: list[Tree[Token] | Token] = list(first or [])
        if isinstance(args, Tree):
            items += args.children
        built: list[Expr] = []
        keywords: dict[str, Tree[Token] | Token] = {}
        for arg in items:
            if isinstance(arg, Tree) and arg.data == "keyword":
                key = str(arg.children[0])
                if key in keywords:
                    raise EquationError(f"{fn}() is given {key}= twice", _pos(arg)[1])
                keywords[key] = arg
                continue
            if keywords:
                raise EquationError(
                    f"{fn}(): a positional argument after a keyword argument", _pos(arg)[1]
                )
            built.append(self.build(arg))
        return built, keywords

    def axis(self, fn: str, value: Tree[Token] | Token, subject: str) -> Axis | Name | Lookup:
        tree = value.children[1] if isinstance(value, Tree) else value
        col = _pos(tree)[1]
        if isinstance(tree, Tree) and tree.data == "name" and str(tree.children[0]) == "None":
            return None
        if isinstance(tree, Tree) and tree.data == "name":  # axis=axis
            return Name(str(tree.children[0]), self.line, col)
        if isinstance(tree, Tree) and tree.data == "index":  # axis=cache['axis']
            lookup = self.lookup(tree.children[0], tree.children[1])
            if lookup is not None:
                return lookup
        sign = 1
        if isinstance(tree, Tree) and tree.data == "neg":
            sign, tree = -1, tree.children[0]
        if not (isinstance(tree, Tree) and tree.data == "number"):
            raise EquationError(f"{fn}(): axis must be 0, 1 or None", col)
        word = str(tree.children[0])
        if not word.isdigit() or len(word) > 6:
            raise EquationError(f"{fn}(): axis must be 0, 1 or None, not {word}", col)
        number = sign * int(word)
        if number in (-2, -1):  # NumPy's axes counted from the end of a 2-D array
            number += 2
        if number not in (0, 1):
            raise EquationError(f"reduction over axis {number}: {subject} has axes 0 and 1", col)
        return 0 if number == 0 else 1

    def call(
        self,
        fn: str,
        first: list[Tree[Token] | Token],
        args: object,
        fn_col: int,
        col: int,
    ) -> Expr:
        if fn == "range":
            raise EquationError(
                "range() is only allowed in one-hot indexing S[range(N), y]", fn_col
            )
        if fn in JOINS and not first:
            return self.join(fn, args, fn_col, col)
        if fn == "swapaxes" and not first:
            return self.swapaxes(args, fn_col, col)
        if fn not in FUNCTIONS:
            raise EquationError(f"unknown function {fn}(){_suggest(fn, list(FUNCTIONS))}", fn_col)
        spec = FUNCTIONS[fn]
        shape = _positional(args)
        if (
            fn in ("ones", "zeros")
            and len(shape) == 1
            and isinstance(shape[0], Tree)
            and shape[0].data == "tuple"
        ):
            sizes = [self.build(part) for part in shape[0].children]
            keywords_given = isinstance(args, Tree) and len(shape) != len(args.children)
            if len(sizes) != 2 or keywords_given:
                raise EquationError("ones((rows, cols)) takes two sizes and nothing else", fn_col)
            return Call(fn, tuple(sizes), None, self.line, col)
        built, keywords = self.arguments(args, fn, first)
        if len(built) != spec.arity:
            plural = "" if spec.arity == 1 else "s"
            how = f" ({spec.what})" if fn in ("maximum", "where") else ""
            raise EquationError(
                f"{fn}() takes {spec.arity} argument{plural}{how}, got {len(built)}", fn_col
            )
        if fn == "divide":
            return self.divide(built, keywords, fn_col, col)
        axis: Axis = None
        axis_from: Name | Lookup | None = None
        keepdims = False
        for key, value in keywords.items():
            if key == "axis" and spec.axis != "none":
                subject = self.snippet(first[0] if first else _positional(args)[0])
                given = self.axis(fn, value, subject)
                if isinstance(given, Name | Lookup):
                    axis_from = given
                else:
                    axis = given
            elif key == "keepdims" and spec.axis != "none":
                keepdims = True
                if not (
                    isinstance(value, Tree)
                    and isinstance(value.children[1], Tree)
                    and value.children[1].data == "name"
                    and str(value.children[1].children[0]) == "True"
                ):
                    raise EquationError(
                        f"{fn}(): only keepdims=True (results stay 2-D)", _pos(value)[1]
                    )
            elif key == "axis":
                raise EquationError(f"{fn}() takes no axis", _pos(value)[1])
            else:
                raise EquationError(f"{fn}() has no argument {key}=", _pos(value)[1])
        if (
            spec.axis == "required"
            and "axis" not in keywords
            or (spec.axis == "required" and axis is None and axis_from is None)
        ):
            raise EquationError(f"{fn}() needs axis=0 or axis=1", fn_col)
        if fn == "where" and not isinstance(built[0], Compare | Name | Unary):
            raise EquationError(
                "where() needs a mask as its condition, e.g. where(x > 0, x, 0)", fn_col
            )
        if fn == "maximum":
            zero = [i for i, a in enumerate(built) if isinstance(a, Num) and a.value == 0]
            if not zero:
                raise EquationError("maximum() is only maximum(0, x), the ReLU", fn_col)
            built = [built[zero[0]], built[1 - zero[0]]]
        return Call(fn, tuple(built), axis, self.line, col, axis_from, keepdims)

    def swapaxes(self, args: object, fn_col: int, col: int) -> Expr:
        """``np.swapaxes(x, -2, -1)`` (or ``0, 1``): a matrix's two axes swapped, its
        transpose (attention code writes it for batches; a program's values are 2-D)."""
        built, keywords = self.arguments(args, "swapaxes")
        axes = [_axis_number(a) for a in built[1:]]
        if (
            len(built) != 3
            or keywords
            or sorted(a for a in axes if a is not None)
            not in (
                [-2, -1],
                [0, 1],
                [-1, 0],
                [-2, 1],
            )
        ):
            raise EquationError(
                "swapaxes(x, -2, -1) is read on a matrix only: its two axes, its transpose",
                fn_col,
            )
        return Transpose(built[0], self.line, col)

    def divide(
        self, built: list[Expr], keywords: dict[str, Tree[Token] | Token], fn_col: int, col: int
    ) -> Expr:
        """``np.divide(a, b, out=o, where=m)``: ``a / b`` where ``m`` holds, ``o`` elsewhere
        (NumPy's safe division, e.g. ``r / |r|`` with 0 where ``r = 0``)."""
        quotient = Bin("/", built[0], built[1], self.line, col)
        extra = sorted(set(keywords) - {"out", "where"})
        if extra:
            raise EquationError(f"divide() has no argument {extra[0]}=", fn_col)
        if "where" not in keywords:
            return quotient
        if "out" not in keywords:
            raise EquationError(
                "divide(…, where=…) without out= leaves the other entries undefined", fn_col
            )
        mask, out = (self.build(keywords[k].children[1]) for k in ("where", "out"))  # type: ignore[union-attr]
        return Call("where", (mask, quotient, out), None, self.line, col)

    def slice(self, item: Tree[Token]) -> Expr | None:
        """``x[:, a:b]``, ``x[a:b, :]`` or ``x[a:b]``: a block of columns or rows (None:
        no slice in the brackets)."""
        given = list(item.children[1].children) if isinstance(item.children[1], Tree) else []
        parts = [p for p in given if isinstance(p, Tree) and p.data == "slice"]
        if not parts:
            return None
        col = _pos(item)[1]
        new = [k for k, p in enumerate(given) if _is_newaxis(p)]
        if len(given) == 2 and len(parts) == 1 and new and not any(parts[0].children):
            # x[:, None] / x[:, np.newaxis]: a vector as a column; x[None, :] as a row
            one, rest = (
                Num(sympy.Integer(1), self.line, col),
                Num(sympy.Integer(-1), self.line, col),
            )
            sizes = (rest, one) if new[0] == 1 else (one, rest)
            return Call("reshape", (self.build(item.children[0]), *sizes), None, self.line, col)
        usage = "a slice is read as x[:, a:b] (columns) or x[a:b, :] / x[a:b] (rows)"
        if len(parts) > 2 or len(parts) != len(given):
            raise EquationError(usage, col)

        def full(p: Tree[Token]) -> bool:
            return p.children[0] is None and p.children[1] is None

        if len(parts) == 2 and full(parts[0]):
            axis: Literal[0, 1] = 1
            chosen = parts[1]
        elif len(parts) == 1 or full(parts[1]):
            axis, chosen = 0, parts[0]
        else:
            raise EquationError(usage + "; a block of rows and columns at once is not", col)
        lo, hi = (None if b is None else self.build(b) for b in chosen.children)
        return SliceOf(self.build(item.children[0]), axis, lo, hi, self.line, col)

    def join(self, fn: str, args: object, fn_col: int, col: int) -> Expr:
        """``np.hstack((a, b))``, ``np.vstack((a, b))``, ``np.concatenate((a, b), axis=1)``."""
        usage = f"{fn}() takes one tuple or list of matrices, e.g. {fn}((a, b))"
        items = _positional(args)
        if len(items) != 1 or not (
            isinstance(items[0], Tree) and items[0].data in ("tuple", "list")
        ):
            raise EquationError(usage, fn_col)
        parts = tuple(self.build(p) for p in items[0].children)
        axis: Axis = 1 if JOINS[fn] == 1 else 0
        given = args.children if isinstance(args, Tree) else []
        keywords = [a for a in given if isinstance(a, Tree) and a.data == "keyword"]
        for kw in keywords:
            if str(kw.children[0]) != "axis" or fn != "concatenate":
                raise EquationError(f"{fn}() has no argument {kw.children[0]}=", _pos(kw)[1])
            told = self.axis(fn, kw, "the joined matrices")
            if told not in (0, 1):
                raise EquationError(f"{fn}(): axis must be 0 or 1", _pos(kw)[1])
            axis = 1 if told == 1 else 0
        return Call("concat", parts, axis, self.line, col)

    def pick(self, item: Tree[Token]) -> Expr:
        col = _pos(item)[1]
        usage = "only one-hot indexing S[range(N), y] is supported (y an integer label input)"
        args = item.children[1]
        parts = args.children if isinstance(args, Tree) else []
        if len(parts) != 2:
            raise EquationError(usage, col)
        first, second = parts
        if not (
            isinstance(first, Tree)
            and first.data == "call"
            and (
                (first.children[0] is None and str(first.children[1]) == "range")
                or (first.children[0] is not None and str(first.children[1]) == "arange")
            )
            and isinstance(first.children[2], Tree)
            and len(first.children[2].children) == 1
        ):
            raise EquationError(usage, col)
        bound = first.children[2].children[0]
        length: int | str
        if isinstance(bound, Tree) and bound.data == "name":
            length = str(bound.children[0])
        elif (
            isinstance(bound, Tree) and bound.data == "number" and str(bound.children[0]).isdigit()
        ):
            length = int(str(bound.children[0])[:6])
        else:
            raise EquationError(usage, col)
        if (  # list(y): the labels as a list, the same pick
            isinstance(second, Tree)
            and second.data == "call"
            and second.children[0] is None
            and str(second.children[1]) == "list"
            and len(_positional(second.children[2])) == 1
        ):
            second = _positional(second.children[2])[0]
        if not (isinstance(second, Tree) and second.data == "name"):
            raise EquationError(usage, col)
        return Pick(self.build(item.children[0]), str(second.children[0]), length, self.line, col)


#: A sub-layer's methods a snippet calls: ``self.layer.backward(d)``, read as the call
#: ``layer.backward`` (``derive.formula.program_sublayers``).
LAYER_METHODS = ("backward", "forward")


def _layer_name(base: object) -> str | None:
    """``self.layer`` or ``layer``: the name of the layer object a method is called on."""
    if not isinstance(base, Tree):
        return None
    if base.data == "name":
        return str(base.children[0])
    owner = base.children[0]
    if (
        base.data == "attr"
        and isinstance(owner, Tree)
        and owner.data == "name"
        and str(owner.children[0]) == "self"
    ):
        return str(base.children[1])
    return None


def _axis_number(e: Expr) -> int | None:
    """A whole number written as an axis (``-1``, ``0``), or None."""
    if isinstance(e, Unary) and e.op == "-" and isinstance(e.x, Num) and e.x.value.is_Integer:
        return -int(e.x.value)
    if isinstance(e, Num) and e.value.is_Integer:
        return int(e.value)
    return None


def _is_newaxis(part: object) -> bool:
    """``None`` or ``np.newaxis`` inside brackets."""
    if not isinstance(part, Tree):
        return False
    if part.data == "name":
        return str(part.children[0]) == "None"
    return part.data == "np_name" and str(part.children[1]) == "newaxis"


def _positional(args: object) -> list[Tree[Token] | Token]:
    if not isinstance(args, Tree):
        return []
    return [a for a in args.children if not (isinstance(a, Tree) and a.data == "keyword")]


def _parse(text: str, start: str) -> Tree[Token]:
    if len(text) > MAX_LINE:
        raise EquationError(f"the line is {len(text)} characters long; the limit is {MAX_LINE}")
    bad = next((ch for ch in text if not (ch.isprintable() or ch == "\t")), None)
    if bad is not None:
        raise EquationError(f"the character {bad!r} is not allowed", text.index(bad) + 1)
    lark = parser()
    try:
        tree = lark.parse(text, start=start)
    except UnexpectedInput as err:
        got = failure(lark, err, text)
        more = got.expected.replace("pow", "'**'").replace("prefix", "np.")
        more = more.replace("the end of the formula", "the end of the line")
        if got.kind == "end":
            raise EquationError(
                f"the {'equation' if start == 'assign' else 'expression'} ends too early{more}",
                got.at + 1,
            ) from None
        what = "character" if got.kind == "character" else ""
        raise EquationError(
            f"unexpected {what + ' ' if what else ''}{got.met!r} at column {got.at + 1}{more}",
            got.at + 1,
        ) from None
    depth = _depth(tree)
    if depth > MAX_DEPTH:
        raise EquationError(
            f"the expression nests {depth} deep; the limit is {MAX_DEPTH} "
            "(split it into several equations)"
        )
    return tree


def _equation_only(expr: Expr) -> Expr:
    """What only a checked snippet reads (``x.shape`` whole, ``cache['key']``) refused in
    a program's equation."""
    for node in walk(expr):
        if isinstance(node, ShapeOf) and node.axis is None:
            raise EquationError(
                "x.shape is read only to unpack it (N, D = x.shape); write x.shape[0]",
                node.column,
            )
        if isinstance(node, Lookup):
            raise EquationError(
                f"{node.container}[{node.key!r}]: a program names its values; only a checked "
                "snippet takes them from a container",
                node.column,
            )
    return expr


def parse_assign(text: str, line: int = 0) -> Assign:
    """One equation ``target = expr`` (``text`` without its comment), or EquationError."""
    tree = _parse(text, "assign")
    target = tree.children[0]
    assert isinstance(target, Token)
    expr = _equation_only(_Builder(line, text).build(tree.children[1]))
    return Assign(str(target), expr, line, text.strip(), target.column or 1)


def parse_expression(text: str, line: int = 0) -> Expr:
    """One expression (a loss, the expression mode's input), or EquationError."""
    tree = _parse(text, "expression")
    return _equation_only(_Builder(line, text).build(tree.children[0]))


@dataclass(frozen=True)
class Unpack:
    """``a, b = value``: a tuple unpacking (``N, D = x.shape``, ``x, mu = cache``)."""

    targets: tuple[str, ...]
    expr: Expr
    line: int = field(default=0, compare=False)
    text: str = ""
    #: ``i, f = h[:, :H], h[:, H:]``: one value per target (``expr`` is the first).
    values: tuple[Expr, ...] = ()


@dataclass(frozen=True)
class Update:
    """``target op= expr`` (``+=``, ``-=``, ``*=``, ``/=``): ``target = target op expr``."""

    target: str
    op: Literal["+", "-", "*", "/"]
    expr: Expr
    line: int = field(default=0, compare=False)
    text: str = ""


@dataclass(frozen=True)
class Return:
    """``return …``: what a function hands back; ``value`` is the one expression it hands
    back when that is not a name (``return np.sign(p - a) / m``), else None."""

    line: int = field(default=0, compare=False)
    text: str = ""
    value: Expr | None = None


@dataclass(frozen=True)
class SetItem:
    """``A[mask] = v`` / ``A[range(N), y] -= v`` / ``A[:, a:b] *= v``: entries of ``target``
    replaced (``op`` None) or updated in place; ``index`` is a Compare (a mask), a Pick or
    a SliceOf of ``target``."""

    target: str
    index: Expr
    op: Literal["+", "-", "*", "/"] | None
    expr: Expr
    line: int = field(default=0, compare=False)
    text: str = ""


Statement = Union[Assign, Unpack, Update, Return, SetItem]  # noqa: UP007


def parse_statement(text: str, line: int = 0) -> Statement:
    """One logical line of a NumPy snippet, or EquationError."""
    if LAMBDA.match(text):
        raise EquationError(
            "a lambda (S = lambda x: …) is not read: write its body where it is used",
            text.index("lambda") + 1,
        )
    tree = _parse(text, "statement")
    kind, kids = str(tree.data), tree.children
    build = _Builder(line, text).build
    if kind == "return_":
        given = kids[0].children if kids and isinstance(kids[0], Tree) else []
        value = None
        if len(given) == 1 and not (isinstance(given[0], Tree) and given[0].data == "name"):
            try:
                value = build(given[0])
            except EquationError:  # a value not read is not judged (as before)
                value = None
        return Return(line, text.strip(), value)
    if kind == "unpack":
        names_ = tuple(str(k) for k in kids if isinstance(k, Token) and k.type == "NAME")
        return Unpack(names_, build(kids[-1]), line, text.strip())
    if kind == "unpack_values":
        names_ = tuple(str(k) for k in kids if isinstance(k, Token) and k.type == "NAME")
        values = tuple(build(k) for k in kids if isinstance(k, Tree))
        if len(values) != len(names_):
            raise EquationError(f"{len(names_)} names are given {len(values)} values")
        return Unpack(names_, values[0], line, text.strip(), values)
    target = kids[0]
    assert isinstance(target, Token)
    if kind in ("set_item", "update_item"):
        return _set_item(kind, kids, line, text)
    if kind == "update":
        op = str(kids[1])[0]
        return Update(str(target), op, build(kids[2]), line, text.strip())  # type: ignore[arg-type]
    return Assign(str(target), build(kids[1]), line, text.strip(), target.column or 1)


def _set_item(kind: str, kids: list[Any], line: int, text: str) -> SetItem:
    """``A[A > 0] = 1`` (a mask) or ``A[range(N), y] -= v`` (each row's label entry)."""
    target, args = str(kids[0]), kids[1]
    builder = _Builder(line, text)
    parts = args.children if isinstance(args, Tree) else []
    index: Expr
    if len(parts) == 1 and isinstance(parts[0], Tree) and parts[0].data == "compare":
        cmp = parts[0]
        op = str(cmp.children[1])
        left, right = builder.build(cmp.children[0]), builder.build(cmp.children[2])
        index = Compare(op, left, right, line)  # type: ignore[arg-type]
    else:
        tree: Tree[Token] = Tree("index", [Tree("name", [Token("NAME", target)]), args])
        sliced = builder.slice(tree)  # A[:, a:b] = v: a block of columns (rows) replaced
        index = sliced if sliced is not None else builder.pick(tree)
    value = builder.build(kids[-1])
    update = str(kids[2])[0] if kind == "update_item" else None
    return SetItem(target, index, update, value, line, text.strip())  # type: ignore[arg-type]
