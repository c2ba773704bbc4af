"""The equations of a forward program, read into a typed AST by our own lark grammar.

A user writes NumPy-style equations (``Xhat = Xc / sqrt(var + eps)``). They are parsed by
``program.lark`` (LALR, positions on) and turned into frozen records; nothing is
evaluated and numbers are read with bounded digits and exponents. What needs no names and
no shapes is checked here (the function list, arity, axes, ``where``'s comparison, the
one-hot pick); ``derive.spec.program`` checks the names, ``derive.core`` the shapes.

This module is the entry point (``parse_assign``, ``parse_expression``,
``parse_statement``) and bounds each line (its length, its characters, its depth). The
pieces live beside it and are re-exported here: the records in ``program_ast``, the
function list and keywords in ``program_vocab``, the tree-to-record builder in
``program_builder`` (calls in ``program_calls``).
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

from lark import Lark, Token, Tree, UnexpectedInput

from derive.spec.grammar import failure
from derive.spec.program_ast import (
    Assign,
    Axis,
    Bin,
    BinOp,
    Call,
    Compare,
    CompareOp,
    EquationError,
    Expr,
    Lookup,
    Name,
    Num,
    Pick,
    Return,
    SetItem,
    ShapeOf,
    SliceOf,
    Statement,
    Transpose,
    Unary,
    UnaryOp,
    Unpack,
    Update,
    children,
    names,
    walk,
)
from derive.spec.program_builder import TreeBuilder
from derive.spec.program_vocab import (
    CASTS,
    FUNCTIONS,
    JOINS,
    KEYWORDS,
    LAYER_METHODS,
    METHODS,
    SAME_METHODS,
    AxisRule,
    Function,
)

__all__ = [
    "CASTS",
    "FUNCTIONS",
    "JOINS",
    "KEYWORDS",
    "LAMBDA",
    "LAYER_METHODS",
    "MAX_DEPTH",
    "MAX_LINE",
    "METHODS",
    "SAME_METHODS",
    "Assign",
    "Axis",
    "AxisRule",
    "Bin",
    "BinOp",
    "Call",
    "Compare",
    "CompareOp",
    "EquationError",
    "Expr",
    "Function",
    "Lookup",
    "Name",
    "Num",
    "Pick",
    "Return",
    "SetItem",
    "ShapeOf",
    "SliceOf",
    "Statement",
    "Transpose",
    "Unary",
    "UnaryOp",
    "Unpack",
    "Update",
    "children",
    "names",
    "parse_assign",
    "parse_expression",
    "parse_statement",
    "parser",
    "walk",
]

#: The longest equation line, the deepest nesting of one equation (bounds every walk).
MAX_LINE = 500
MAX_DEPTH = 50
#: ``S = lambda x: x.sum(axis=0)``: a helper the checker does not inline.
LAMBDA = re.compile(r"\s*[A-Za-z_]\w*\s*=\s*lambda\b")

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
        if isinstance(node, Call) and node.fn == "reshape_as":
            raise EquationError(
                "x.reshape(NAME): a shape kept in a name is read only in a checked snippet "
                "(from the forward's cache); write its two sizes, e.g. x.reshape(N, D)",
                node.column,
            )
    return expr


def parse_assign(text: str, line: int = 0) -> Assign:
    """One equation ``target = expr`` (``text`` without its comment), or EquationError."""
    tree = _parse(text, "assign")
    target = tree.children[0]
    assert isinstance(target, Token)
    expr = _equation_only(TreeBuilder(line, text).build(tree.children[1]))
    return Assign(str(target), expr, line, text.strip(), target.column or 1)


def parse_expression(text: str, line: int = 0) -> Expr:
    """One expression (a loss, the expression mode's input), or EquationError."""
    tree = _parse(text, "expression")
    return _equation_only(TreeBuilder(line, text).build(tree.children[0]))


def parse_statement(text: str, line: int = 0) -> Statement:
    """One logical line of a NumPy snippet, or EquationError."""
    if LAMBDA.match(text):
        raise EquationError(
            "a lambda (S = lambda x: …) is not read: write its body where it is used",
            text.index("lambda") + 1,
        )
    tree = _parse(text, "statement")
    kind, kids = str(tree.data), tree.children
    build = TreeBuilder(line, text).build
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
    builder = TreeBuilder(line, text)
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
