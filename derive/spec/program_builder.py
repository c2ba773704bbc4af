"""Turns a lark parse tree of an equation into the typed AST (``program_ast``).

``TreeBuilder.build`` reads every rule of ``program.lark``: numbers with bounded digits,
names, operators, attributes and methods, indexing (``x.shape[0]``, ``cache['key']``,
slices, the one-hot pick ``S[range(N), y]``) and ``x.reshape``; calls are read by its
base ``program_calls.CallReader``. What needs no names and no shapes is refused here with
the column it is at; its recursion is bounded by the parser's ``MAX_DEPTH``.
"""

from __future__ import annotations

from typing import Literal

import sympy
from lark import Token, Tree

from derive.spec.program_ast import (
    Bin,
    BinOp,
    Call,
    Compare,
    EquationError,
    Expr,
    Name,
    Num,
    Pick,
    ShapeOf,
    SliceOf,
    Transpose,
    Unary,
)
from derive.spec.program_calls import CallReader, position, positional, suggest
from derive.spec.program_vocab import CASTS, LAYER_METHODS, METHODS, SAME_METHODS
from derive.spec.scalar_expr import parse_number


class TreeBuilder(CallReader):
    """Turns a lark tree into the typed records; its recursion is bounded by MAX_DEPTH."""

    def build(self, item: Tree[Token] | Token) -> Expr:
        """One parse tree (a rule of program.lark) as a typed record."""
        line, col = self.line, position(item)[1]
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
                return Name(attr, line, position(kids[1])[1])  # a method's state: self._delta
            if attr != "T":
                raise EquationError(
                    f"unknown attribute .{attr} (only .T, the transpose)", position(kids[1])[1]
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
                given = positional(kids[2])
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
                    raise EquationError("x.dot(y) takes one argument", position(kids[1])[1])
                return Bin("@", self.build(kids[0]), args[0][0], line, col)
            if method not in METHODS:
                hint = suggest(method, [*METHODS, "dot"])
                raise EquationError(
                    f"unknown method .{method}() (known: .sum, .mean, .max, .dot, .T){hint}",
                    position(kids[1])[1],
                )
            return self.call(method, [kids[0]], kids[2], position(kids[1])[1], col)
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
        sized = [p for p in parts if p not in order]
        if (  # x.reshape(shape, order='F'): to a shape a name holds (only in a snippet)
            len(sized) == 1
            and isinstance(sized[0], Tree)
            and sized[0].data == "name"
            and all(str(k.children[0]) == "order" for k in order)
        ):
            named = Name(str(sized[0].children[0]), self.line, col)
            return Call("reshape_as", (self.build(base), named), None, self.line, col)
        if order:
            raise EquationError(
                f"x.reshape(…, {order[0].children[0]}=…) is not read: only the sizes, in "
                "NumPy's default order, e.g. x.reshape(N, -1)",
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
        line, col = self.line, position(item)[1]
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

    def slice(self, item: Tree[Token]) -> Expr | None:
        """``x[:, a:b]``, ``x[a:b, :]`` or ``x[a:b]``: a block of columns or rows (None:
        no slice in the brackets)."""
        given = list(item.children[1].children) if isinstance(item.children[1], Tree) else []
        parts = [p for p in given if isinstance(p, Tree) and p.data == "slice"]
        if not parts:
            return None
        col = position(item)[1]
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

    def pick(self, item: Tree[Token]) -> Expr:
        """``S[range(N), y]``: each row's entry at its integer label, else the usage."""
        col = position(item)[1]
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
            and len(positional(second.children[2])) == 1
        ):
            second = positional(second.children[2])[0]
        if not (isinstance(second, Tree) and second.data == "name"):
            raise EquationError(usage, col)
        return Pick(self.build(item.children[0]), str(second.children[0]), length, self.line, col)


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


def _is_newaxis(part: object) -> bool:
    """``None`` or ``np.newaxis`` inside brackets."""
    if not isinstance(part, Tree):
        return False
    if part.data == "name":
        return str(part.children[0]) == "None"
    return part.data == "np_name" and str(part.children[1]) == "newaxis"
