"""Reductions and broadcasts of user-written forward programs (issue 14).

``Reduce`` sums, averages or takes the maximum over an axis (``ReduceAll`` over every
entry), ``Broadcast`` repeats a row, a column or a scalar, and the arg-max masks route a
maximum's cotangent. Each constructor checks the shapes it can.
"""

from __future__ import annotations

from typing import Any

import sympy
from sympy.core.symbol import Str
from sympy.core.sympify import _sympify
from sympy.matrices.expressions import MatrixExpr, OneMatrix, ZeroMatrix

from derive.core.function_nodes import OneHot
from derive.core.layer_nodes import ScalarOfMatrices
from derive.core.node_checks import ShapeMismatch, _axis, _dims, _is_matrix, _same

REDUCTIONS = ("sum", "mean", "max")


class Reduce(MatrixExpr):  # type: ignore[misc]
    """``sum``/``mean``/``max`` of a matrix over one axis, the axis kept with size 1.

    Axis 0 reduces down the rows (m×n -> 1×n, one number per column); axis 1 along each
    row (m×n -> m×1). An explicit node so its transpose (a broadcast) reads as one.
    """

    role = "primitive"

    def __new__(cls, arg: Any, op: str, axis: int) -> Any:
        op = str(op)
        if op not in REDUCTIONS:
            raise ValueError(f"unknown reduction {op!r}: one of {', '.join(REDUCTIONS)}")
        a = _axis(axis, op)
        arg = _sympify(arg)  # safe: one of our SymPy expressions
        if not _is_matrix(arg):
            raise ShapeMismatch(f"{op} over axis {a}: the argument is a scalar, not a matrix")
        if isinstance(arg, OneHot) and arg.axis == a:  # one 1 per sample: Σ_cols(onehot(y)) = 1
            m, n = arg.shape
            ones = OneMatrix(m, 1) if a == 1 else OneMatrix(1, n)
            return ones / arg.shape[a] if op == "mean" else ones
        return super().__new__(cls, arg, Str(op), sympy.Integer(a))

    @property
    def arg(self) -> MatrixExpr:
        """The matrix reduced."""
        return self.args[0]

    @property
    def op(self) -> str:
        """``sum``, ``mean`` or ``max``."""
        return str(self.args[1])

    @property
    def axis(self) -> int:
        """0: down the rows (a row results); 1: along each row (a column results)."""
        return int(self.args[2])

    @property
    def size(self) -> Any:
        """How many entries each result entry reduces (the mean divides by it)."""
        return self.arg.shape[self.axis]

    @property
    def shape(self) -> tuple[Any, Any]:
        """1×n for axis 0, m×1 for axis 1."""
        m, n = self.arg.shape
        return (sympy.Integer(1), n) if self.axis == 0 else (m, sympy.Integer(1))


class ArgMaxMask(MatrixExpr):  # type: ignore[misc]
    """The 0/1 matrix marking each row's (axis 1) or column's (axis 0) maximum of ``arg``.

    The first maximum wins on a tie, as NumPy's ``argmax``; piecewise constant, so its
    derivative is zero. Made by the rule of ``Reduce(…, "max", axis)``.
    """

    role = "backward"

    def __new__(cls, arg: Any, axis: int) -> Any:
        a = _axis(axis, "argmax")
        return super().__new__(cls, _sympify(arg), sympy.Integer(a))  # safe: a SymPy expression

    @property
    def arg(self) -> MatrixExpr:
        """The matrix whose maxima are marked."""
        return self.args[0]

    @property
    def axis(self) -> int:
        """The axis the maximum is taken over (as in ``Reduce``)."""
        return int(self.args[1])

    @property
    def shape(self) -> tuple[Any, Any]:
        """The shape of ``arg``."""
        return tuple(self.arg.shape)


class Broadcast(MatrixExpr):  # type: ignore[misc]
    """A 1×n row, an m×1 column, a 1×1 matrix or a scalar repeated to rows×cols.

    An explicit node, so that the transpose of a broadcast is a sum and the derivation
    says so. A matrix already of the target shape is returned as it is.
    """

    role = "primitive"

    def __new__(cls, arg: Any, rows: Any, cols: Any) -> Any:
        arg = _sympify(arg)  # safe: one of our SymPy expressions or a number
        rows, cols = _sympify(rows), _sympify(cols)  # safe: sizes
        if _is_matrix(arg):
            r, c = arg.shape
            fits = (r == 1 or _same(r, rows)) and (c == 1 or _same(c, cols))
            if not fits:
                raise ShapeMismatch(
                    f"{_dims(arg.shape)} and {_dims((rows, cols))} do not fit for a broadcast"
                )
            if _same(r, rows) and _same(c, cols):
                return arg
            if isinstance(arg, (OneMatrix, ZeroMatrix)):
                return type(arg)(rows, cols)
        return super().__new__(cls, arg, rows, cols)

    @property
    def arg(self) -> Any:
        """The row, column or scalar repeated."""
        return self.args[0]

    @property
    def shape(self) -> tuple[Any, Any]:
        """The target shape."""
        return (self.args[1], self.args[2])

    @property
    def axes(self) -> tuple[int, ...]:
        """The axes the argument is repeated along (both for a scalar or a 1×1 matrix)."""
        if not _is_matrix(self.arg):
            return (0, 1)
        r, c = self.arg.shape
        return tuple(i for i, (d, t) in enumerate(zip((r, c), self.shape)) if not _same(d, t))


class ReduceAll(ScalarOfMatrices):
    """``sum``/``mean``/``max`` over every entry of a matrix: a scalar."""

    role = "primitive"

    def __new__(cls, arg: Any, op: str = "sum") -> Any:
        op = str(op)
        if op not in REDUCTIONS:
            raise ValueError(f"unknown reduction {op!r}: one of {', '.join(REDUCTIONS)}")
        arg = _sympify(arg)  # safe: one of our SymPy expressions
        if not _is_matrix(arg):
            raise ShapeMismatch(f"{op} of every entry: the argument is a scalar, not a matrix")
        return super().__new__(cls, arg, Str(op))

    @property
    def arg(self) -> MatrixExpr:
        """The matrix reduced."""
        return self.args[0]

    @property
    def op(self) -> str:
        """``sum``, ``mean`` or ``max``."""
        return str(self.args[1])


class ArgMaxAllMask(MatrixExpr):  # type: ignore[misc]
    """The 0/1 matrix marking the (first) largest entry of ``arg``: the max's routing."""

    role = "backward"

    def __new__(cls, arg: Any) -> Any:
        return super().__new__(cls, _sympify(arg))  # safe: a SymPy expression

    @property
    def arg(self) -> MatrixExpr:
        """The matrix whose maximum is marked."""
        return self.args[0]

    @property
    def shape(self) -> tuple[Any, Any]:
        """The shape of ``arg``."""
        return tuple(self.arg.shape)
