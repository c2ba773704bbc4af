"""Matrix functions of user-written forward programs (issue 14): comparisons, log-softmax,
norms, determinants, class labels and one-hot indexing.

Each constructor checks the shapes it can and raises ``ShapeMismatch`` naming both.
"""

from __future__ import annotations

from typing import Any

import sympy
from sympy.core.symbol import Str
from sympy.core.sympify import _sympify
from sympy.matrices.expressions import Determinant, Inverse, MatrixExpr, Trace

from derive.core.layer_nodes import ScalarOfMatrices
from derive.core.node_checks import (
    ShapeMismatch,
    _axis,
    _dims,
    _is_matrix,
    _require_same,
    _require_square,
    _same,
)

COMPARISONS = (">", ">=", "<", "<=")


class Indicator(MatrixExpr):  # type: ignore[misc]
    """``𝟙[lhs op rhs]``: the 0/1 matrix of an entrywise comparison; its derivative is zero.

    One side may be a scalar (``X > 0``); two matrices must have the same shape.
    """

    role = "primitive"

    def __new__(cls, lhs: Any, op: str, rhs: Any) -> Any:
        op = str(op)
        if op not in COMPARISONS:
            raise ValueError(f"unknown comparison {op!r}: one of {' '.join(COMPARISONS)}")
        lhs, rhs = _sympify(lhs), _sympify(rhs)  # safe: our SymPy expressions or numbers
        if not (_is_matrix(lhs) or _is_matrix(rhs)):
            raise ShapeMismatch(f"{op}: an indicator compares a matrix, both sides are scalars")
        if _is_matrix(lhs) and _is_matrix(rhs):
            _require_same(lhs.shape, rhs.shape, op)
        return super().__new__(cls, lhs, Str(op), rhs)

    @property
    def lhs(self) -> Any:
        """The left operand."""
        return self.args[0]

    @property
    def op(self) -> str:
        """The comparison: ``>``, ``>=``, ``<`` or ``<=``."""
        return str(self.args[1])

    @property
    def rhs(self) -> Any:
        """The right operand."""
        return self.args[2]

    @property
    def shape(self) -> tuple[Any, Any]:
        """The shape of the matrix operand."""
        side = self.lhs if _is_matrix(self.lhs) else self.rhs
        return tuple(side.shape)


class LogSoftmax(MatrixExpr):  # type: ignore[misc]
    """``log softmax(Z)`` over ``axis`` (0: each column is a sample; 1: each row)."""

    role = "primitive"

    def __new__(cls, arg: Any, axis: int) -> Any:
        a = _axis(axis, "log-softmax")
        return super().__new__(cls, _sympify(arg), sympy.Integer(a))  # safe: a SymPy expression

    @property
    def arg(self) -> MatrixExpr:
        """The logits."""
        return self.args[0]

    @property
    def axis(self) -> int:
        """The axis normalised over."""
        return int(self.args[1])

    @property
    def shape(self) -> tuple[Any, Any]:
        """The shape of the logits."""
        return tuple(self.arg.shape)


class Norm(ScalarOfMatrices):
    """``‖X‖_F``: the Frobenius norm of a matrix (the 2-norm of a vector), a scalar."""

    role = "primitive"

    def __new__(cls, arg: Any) -> Any:
        arg = _sympify(arg)  # safe: one of our SymPy expressions
        if not _is_matrix(arg):
            raise ShapeMismatch("norm: the argument is a scalar, not a matrix")
        return super().__new__(cls, arg)

    @property
    def arg(self) -> MatrixExpr:
        """The matrix measured."""
        return self.args[0]


class LogDet(ScalarOfMatrices):
    """``log |det X|`` of a square matrix (NumPy's ``slogdet``; ``log det X`` where
    det X > 0, and finite for any invertible X: its gradient X⁻ᵀ holds for either sign)."""

    role = "primitive"

    def __new__(cls, arg: Any) -> Any:
        arg = _sympify(arg)  # safe: one of our SymPy expressions
        _require_square(arg, "log det")
        return super().__new__(cls, arg)

    @property
    def arg(self) -> MatrixExpr:
        """The square matrix."""
        return self.args[0]


def trace(x: Any) -> Any:
    """SymPy's ``Trace(X)`` of a square matrix, its shape checked."""
    _require_square(x, "trace")
    return Trace(x)


def inverse(x: Any) -> Any:
    """SymPy's ``Inverse(X)`` of a square matrix, its shape checked."""
    _require_square(x, "inverse")
    return Inverse(x)


def det(x: Any) -> Any:
    """SymPy's ``Determinant(X)`` of a square matrix, its shape checked."""
    _require_square(x, "det")
    return Determinant(x)


class Labels(sympy.Expr):  # type: ignore[misc]
    """An integer class-label vector input ``y`` (n labels in 0 … classes−1).

    A named leaf that never gets a cotangent (labels are not differentiable); ``Pick`` and
    ``OneHot`` index with it. ``classes`` is the number of classes when known.
    """

    role = "leaf"
    is_commutative = False

    def __new__(cls, name: str, n: Any, classes: Any = None) -> Any:
        k = sympy.S.NegativeOne if classes is None else _sympify(classes)  # safe: a size
        return super().__new__(cls, Str(str(name)), _sympify(n), k)  # safe: a size

    @property
    def name(self) -> str:
        """The input's name."""
        return str(self.args[0])

    @property
    def n(self) -> Any:
        """How many labels (the batch size)."""
        return self.args[1]

    @property
    def classes(self) -> Any:
        """The number of classes, or None when not declared."""
        k = self.args[2]
        return None if k == -1 else k

    @property
    def shape(self) -> tuple[Any]:
        """One label per sample: a vector of length n."""
        return (self.n,)

    @property
    def free_symbols(self) -> set[Any]:
        """A named input is a free symbol itself (as a MatrixSymbol is)."""
        return {self}

    def _hashable_content(self) -> tuple[Any, ...]:
        return (self.name, self.n, self.args[2])


def _check_labels(s: Any, y: Any, axis: int, what: str) -> None:
    samples = s.shape[1 - axis]
    if not _same(samples, y.n):
        raise ShapeMismatch(
            f"{_dims(s.shape)} and {y.n} labels do not fit for {what} "
            f"(one label per {'row' if axis == 1 else 'column'})"
        )
    if y.classes is not None and not _same(s.shape[axis], y.classes):
        raise ShapeMismatch(
            f"{_dims(s.shape)} and {y.classes} classes do not fit for {what} "
            f"(the classes are axis {axis})"
        )


class Pick(MatrixExpr):  # type: ignore[misc]
    """``S[range(N), y]`` (axis 1, rows are samples) as an N×1 column, or ``S[y, range(N)]``
    (axis 0, columns are samples) as a 1×N row: each sample's entry at its label."""

    role = "primitive"

    def __new__(cls, s: Any, y: Labels, axis: int = 1) -> Any:
        a = _axis(axis, "pick")
        s = _sympify(s)  # safe: one of our SymPy expressions
        if not _is_matrix(s):
            raise ShapeMismatch("pick: the scores are a scalar, not a matrix")
        if not isinstance(y, Labels):
            raise TypeError("pick: the index must be a Labels input")
        _check_labels(s, y, a, "pick")
        return super().__new__(cls, s, y, sympy.Integer(a))

    @property
    def arg(self) -> MatrixExpr:
        """The scores S."""
        return self.args[0]

    @property
    def labels(self) -> Labels:
        """The labels y."""
        y: Labels = self.args[1]
        return y

    @property
    def axis(self) -> int:
        """The class axis of S (1: rows are samples; 0: columns are samples)."""
        return int(self.args[2])

    @property
    def shape(self) -> tuple[Any, Any]:
        """N×1 (axis 1) or 1×N (axis 0)."""
        m, n = self.arg.shape
        return (m, sympy.Integer(1)) if self.axis == 1 else (sympy.Integer(1), n)


class OneHot(MatrixExpr):  # type: ignore[misc]
    """The constant 0/1 matrix with a 1 at each sample's label: rows×cols, the classes
    along ``axis`` (1: one row per sample; 0: one column per sample)."""

    role = "backward"

    def __new__(cls, y: Labels, shape: Any, *rest: Any, like: Any = None) -> Any:
        # OneHot(y, (rows, cols), axis=1, like=S), or OneHot(y, rows, cols, axis[, like])
        # as SymPy rebuilds it. ``like``: a matrix whose number type (and device) the
        # printed code gives the 0/1 entries (a name in S), else the default float.
        if isinstance(shape, (tuple, sympy.Tuple)):
            (rows, cols), axis = shape, (rest[0] if rest else 1)
        else:
            rows, cols, axis = shape, rest[0], (rest[1] if len(rest) > 1 else 1)
            like = rest[2] if len(rest) > 2 else like
        a = _axis(axis, "one-hot")
        dims = (_sympify(rows), _sympify(cols))  # safe: sizes
        extra = () if like is None else (like,)
        return super().__new__(cls, y, *dims, sympy.Integer(a), *extra)

    @property
    def like(self) -> Any:
        """The matrix whose number type the entries take in code (None: default float)."""
        return self.args[4] if len(self.args) > 4 else None

    @property
    def labels(self) -> Labels:
        """The labels y."""
        y: Labels = self.args[0]
        return y

    @property
    def axis(self) -> int:
        """The class axis."""
        return int(self.args[3])

    @property
    def shape(self) -> tuple[Any, Any]:
        """rows×cols."""
        return (self.args[1], self.args[2])

    @property
    def free_symbols(self) -> set[Any]:
        """Only the labels: a constant for every differentiable input."""
        return {self.labels}
