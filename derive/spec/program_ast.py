"""The typed AST of a forward program's equations: what ``program_grammar`` reads them into.

Each record is frozen and keeps the line and column it was written at (not compared, so
two equal expressions written in two places are equal). ``children``, ``walk`` and
``names`` are the walks every consumer (the spec's name checks, the core's builder, the
checker) runs over an equation; they are iterative, so a deep expression cannot overflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union

import sympy

BinOp = Literal["+", "-", "*", "/", "@", "**"]
UnaryOp = Literal["-", "~"]
CompareOp = Literal[">", ">=", "<", "<=", "==", "!="]
Axis = Literal[0, 1, None]


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
