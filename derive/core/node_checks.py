"""The shape checks every node constructor shares, and ``split_coeff``.

A node checks the shapes it can when it is made (concrete sizes, or symbols, which are
distinct widths) and raises ``ShapeMismatch`` naming both shapes; ``split_coeff`` takes
the scalar factor off a matrix expression so rules keep it outside the nodes.
"""

from __future__ import annotations

from typing import Any

import sympy
from sympy.core.sympify import _sympify
from sympy.matrices.expressions import MatMul, MatrixExpr


class ShapeMismatch(ValueError):
    """Two operands (or an operand and an axis) whose shapes do not fit; the message names both."""


def _dims(shape: tuple[Any, ...]) -> str:
    return "×".join(str(d) for d in shape)


def _same(a: Any, b: Any) -> bool:
    """Whether two sizes are the same: equal numbers, or the same symbolic expression."""
    return bool(sympy.expand(_sympify(a) - _sympify(b)) == 0)  # safe: sizes are SymPy or int


def _axis(axis: Any, what: str) -> int:
    a = int(axis)
    if a not in (0, 1):
        raise ShapeMismatch(f"{what} over axis {a}: a matrix has axes 0 and 1")
    return a


def _is_matrix(e: Any) -> bool:
    return isinstance(e, MatrixExpr)


def _width(d: Any) -> Any:
    return sympy.expand(d)


def _nonneg(d: Any) -> bool | None:
    """True when the size ``d`` is known to be ≥ 0, False when known < 0, None unknown."""
    d = sympy.expand(d)
    if d.is_nonnegative:
        return True
    if d.is_negative:
        return False
    return None


def _require_same(a: tuple[Any, ...], b: tuple[Any, ...], op: str) -> None:
    if len(a) != len(b) or not all(_same(x, y) for x, y in zip(a, b)):
        raise ShapeMismatch(f"{_dims(a)} and {_dims(b)} do not fit for {op}")


def _require_square(arg: Any, what: str) -> None:
    if not _is_matrix(arg):
        raise ShapeMismatch(f"{what}: the argument is a scalar, not a matrix")
    r, c = arg.shape
    if not _same(r, c):
        raise ShapeMismatch(f"{what} of a {_dims(arg.shape)} matrix: it needs a square matrix")


def split_coeff(e: MatrixExpr) -> tuple[sympy.Expr, MatrixExpr]:
    """``c M`` -> ``(c, M)`` so scalar factors can be kept outside Hadamard products."""
    if isinstance(e, MatMul):
        coeff, rest = e.as_coeff_mmul()
        rest = rest.doit() if isinstance(rest, MatMul) and len(rest.args) == 1 else rest
        if isinstance(rest, MatMul) and len(rest.args) == 1:
            rest = rest.args[0]
        return coeff, rest
    return sympy.Integer(1), e
