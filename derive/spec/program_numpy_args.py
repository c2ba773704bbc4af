"""NumPy's own ways of passing a call's arguments, read as the plain call.

``len(x[0])`` (the length of a row: x's columns, as NNFS counts a sample's outputs), a
reduction's positional axis (``x.sum(axis)``, ``np.sum(x, 0)``) and ``np.choose(y, M)``
(entry i is ``M[y[i], i]``: the one-hot pick of ``Mᵀ``), split from
``program_calls`` (which imports them) so each stays short.
"""

from __future__ import annotations

from collections.abc import Callable

from lark import Token, Tree

from derive.spec.program_ast import EquationError, Expr, Pick, Transpose


def positional(args: object) -> list[Tree[Token] | Token]:
    """A call's arguments that are not ``key=value`` (re-exported by ``program_calls``)."""
    if not isinstance(args, Tree):
        return []
    return [a for a in args.children if not (isinstance(a, Tree) and a.data == "keyword")]


def first_row(args: object) -> Tree[Token] | Token | None:
    """``x`` of ``len(x[k])`` with k a whole number (a row of ``x``), else None."""
    given = positional(args)
    if len(given) != 1 or not (isinstance(given[0], Tree) and given[0].data == "index"):
        return None
    base, inside = given[0].children[0], given[0].children[1]
    parts = inside.children if isinstance(inside, Tree) else []
    if len(parts) != 1 or not isinstance(parts[0], Tree) or parts[0].data != "number":
        return None
    return base if str(parts[0].children[0]).isdigit() else None


def positional_axis(fn: str, first: list[Tree[Token] | Token], args: object) -> object:
    """``x.sum(axis)`` / ``np.sum(x, 0)``: NumPy's second positional argument of a
    reduction is its axis, read as ``axis=…`` (in the function form only a number, so
    Python's ``max(0, x)`` stays what it is)."""
    if fn not in ("sum", "mean", "max") or not isinstance(args, Tree):
        return args
    given = positional(args)
    if len(first) + len(given) != 2 or any(
        isinstance(a, Tree) and a.data == "keyword" and str(a.children[0]) == "axis"
        for a in args.children
    ):
        return args
    last = given[-1]
    number = isinstance(last, Tree) and (
        last.data == "number" or (last.data == "neg" and _is_number(last.children[0]))
    )
    if not first and not number:
        return args
    keyword = Tree("keyword", [Token("NAME", "axis"), last])
    return Tree(args.data, [a for a in args.children if a is not last] + [keyword], args.meta)


def _is_number(item: object) -> bool:
    return isinstance(item, Tree) and item.data == "number"


def choose(
    build: Callable[[Tree[Token] | Token], Expr],
    given: list[Tree[Token] | Token],
    args: object,
    line: int,
    col: int,
) -> Expr:
    """``np.choose(y, M)`` with ``y`` integer labels: entry i is ``M[y[i], i]``, so it is
    ``Mᵀ[range(len(y)), y]`` (``np.choose(y, scores.T)``: each row's entry of scores at
    its label). The builder checks that y is a label input and the shapes."""
    usage = "np.choose(y, M) is read with y integer labels and M a matrix (no keywords)"
    keywords = isinstance(args, Tree) and len(given) != len(args.children)
    first = given[0] if given else None
    if len(given) != 2 or keywords or not (isinstance(first, Tree) and first.data == "name"):
        raise EquationError(usage, col)
    labels = str(first.children[0])
    matrix = build(given[1])
    picked = matrix.x if isinstance(matrix, Transpose) else Transpose(matrix, line, col)
    return Pick(picked, labels, labels, line, col)
