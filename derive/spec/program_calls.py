"""How a call in an equation is read: its arguments, its axis, and calls that are records.

``CallReader`` reads a call's positional and keyword arguments against the function list
(``program_vocab.FUNCTIONS``), its ``axis``/``keepdims``, and the calls that are other
records in disguise (``divide(…, where=…)``, ``swapaxes``, the joins).
``program_builder.TreeBuilder`` extends it with the rest of the grammar.
"""

from __future__ import annotations

import difflib

from lark import Token, Tree

from derive.spec.program_ast import (
    Axis,
    Bin,
    Call,
    Compare,
    EquationError,
    Expr,
    Lookup,
    Name,
    Num,
    ShapeOf,
    Transpose,
    Unary,
)
from derive.spec.program_numpy_args import choose, first_row, positional, positional_axis
from derive.spec.program_vocab import FUNCTIONS, JOINS


def position(item: Tree[Token] | Token) -> tuple[int, int]:
    """The (line, column) a token or a rule starts at (1 where lark knows none)."""
    if isinstance(item, Token):
        return item.line or 1, item.column or 1
    meta = item.meta
    return getattr(meta, "line", 1), getattr(meta, "column", 1)


__all__ = ["CallReader", "position", "positional", "suggest"]


def suggest(word: str, choices: list[str]) -> str:
    """``; did you mean …?`` for the closest of ``choices``, or nothing."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def axis_number(e: Expr) -> int | None:
    """A whole number written as an axis (``-1``, ``0``), or None."""
    if isinstance(e, Unary) and e.op == "-" and isinstance(e.x, Num) and e.x.value.is_Integer:
        return -int(e.x.value)
    if isinstance(e, Num) and e.value.is_Integer:
        return int(e.value)
    return None


class CallReader:
    """Reads calls into the typed records; ``build`` (the whole grammar) is the subclass's."""

    def __init__(self, line: int, text: str):
        self.line = line
        self.text = text

    def snippet(self, item: Tree[Token] | Token) -> str:
        """The text a parse tree was read from (for messages)."""
        if isinstance(item, Token):
            return str(item)
        meta = item.meta
        start, end = getattr(meta, "start_pos", None), getattr(meta, "end_pos", None)
        if start is None or end is None:
            return "its argument"
        return self.text[start:end]

    def build(self, item: Tree[Token] | Token) -> Expr:
        """One parse tree as a record (``program_builder.TreeBuilder`` reads every rule)."""
        raise NotImplementedError

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
        return Lookup(str(container.children[0]), key, self.line, position(container)[1])

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
                    raise EquationError(f"{fn}() is given {key}= twice", position(arg)[1])
                keywords[key] = arg
                continue
            if keywords:
                raise EquationError(
                    f"{fn}(): a positional argument after a keyword argument", position(arg)[1]
                )
            built.append(self.build(arg))
        return built, keywords

    def axis(self, fn: str, value: Tree[Token] | Token, subject: str) -> Axis | Name | Lookup:
        """An ``axis=`` value: 0, 1, None, or a name the axis is read from."""
        tree = value.children[1] if isinstance(value, Tree) else value
        col = position(tree)[1]
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
        """``fn(args, axis=…)`` checked against the function list."""
        if fn == "range":
            raise EquationError(
                "range() is only allowed in one-hot indexing S[range(N), y]", fn_col
            )
        if fn in JOINS and not first:
            return self.join(fn, args, fn_col, col)
        if fn == "choose" and not first:  # np.choose(y, scores.T): each row's label entry
            return choose(self.build, positional(args), args, self.line, col)
        row = first_row(args) if fn == "len" and not first else None
        if row is not None:  # len(x[0]): the length of a row of a 2-D x, its columns
            return ShapeOf(self.build(row), 1, self.line, col)
        if fn == "swapaxes" and not first:
            return self.swapaxes(args, fn_col, col)
        if fn not in FUNCTIONS:
            raise EquationError(f"unknown function {fn}(){suggest(fn, list(FUNCTIONS))}", fn_col)
        spec = FUNCTIONS[fn]
        shape = positional(args)
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
        args = positional_axis(fn, first, args)
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
                subject = self.snippet(first[0] if first else positional(args)[0])
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
                        f"{fn}(): only keepdims=True (results stay 2-D)", position(value)[1]
                    )
            elif key == "axis":
                raise EquationError(f"{fn}() takes no axis", position(value)[1])
            else:
                raise EquationError(f"{fn}() has no argument {key}=", position(value)[1])
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
        axes = [axis_number(a) for a in built[1:]]
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

    def join(self, fn: str, args: object, fn_col: int, col: int) -> Expr:
        """``np.hstack((a, b))``, ``np.vstack((a, b))``, ``np.concatenate((a, b), axis=1)``."""
        usage = f"{fn}() takes one tuple or list of matrices, e.g. {fn}((a, b))"
        items = positional(args)
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
                raise EquationError(f"{fn}() has no argument {kw.children[0]}=", position(kw)[1])
            told = self.axis(fn, kw, "the joined matrices")
            if told not in (0, 1):
                raise EquationError(f"{fn}(): axis must be 0 or 1", position(kw)[1])
            axis = 1 if told == 1 else 0
        return Call("concat", parts, axis, self.line, col)
