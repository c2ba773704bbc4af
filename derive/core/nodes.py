"""The primitives SymPy lacks: elementwise activations, softmax and the scalar losses.

Each is a small SymPy node, so equations stay ordinary SymPy expressions that every
printer and the rule table can dispatch on by class.
"""

from __future__ import annotations

import functools
from typing import Any

import sympy
from sympy.core.symbol import Str
from sympy.core.sympify import _sympify
from sympy.matrices.expressions import (
    Determinant,
    HadamardPower,
    HadamardProduct,
    Inverse,
    MatAdd,
    MatMul,
    MatrixExpr,
    OneMatrix,
    Trace,
    ZeroMatrix,
)


@functools.lru_cache(maxsize=512)
def _scalar_derivative(fn: sympy.Lambda, order: int) -> Any:
    """The ``order``-th derivative of an activation's body (an unrolled RNN asks for
    tanh' once per step: SymPy's diff of the same Lambda, once)."""
    (x,) = fn.variables
    out = sympy.diff(fn.expr, x, order)
    # relu' = H(x) with H(0) = 0, as the exported code computes it ((Z > 0)); SymPy's default
    # H(0) = 1/2 would make relu'(A) differ from relu'(Z) where A = 0, though A > 0 ⇔ Z > 0
    return out.replace(
        lambda e: isinstance(e, sympy.Heaviside) and e.args[1:] == (sympy.S.Half,),
        lambda e: sympy.Heaviside(e.args[0], 0),
    )


class ElementwiseOf:
    """``f^{(k)}(Z)``: the k-th derivative of a scalar function applied entry by entry.

    Args are ``(name, Lambda(x, body), Z, k)``; the name is the activation's name in the
    table (or a user's symbol) so printers can write ``\\sigma'(Z_1)``. The one body of
    ``Elementwise`` (Z a matrix) and ``TensorElementwise`` (Z a feature map): printers,
    rules and evaluators registered for this class serve both.
    """

    args: tuple[Any, ...]

    def __new__(cls, name: Any, fn: sympy.Lambda, arg: Any, order: int = 0) -> Any:
        name = Str(name) if isinstance(name, str) else name
        arg = _sympify(arg)  # safe: arg is one of our SymPy expressions, never text
        return super().__new__(cls, name, fn, arg, sympy.Integer(order))  # type: ignore[call-arg]

    @property
    def name(self) -> str:
        """The activation's name in the table (or the user's symbol)."""
        return str(self.args[0])

    def _sympystr(self, printer: Any) -> str:
        """``str()`` reads ``tanh'(Z_1)``, not the constructor with its Lambda."""
        return f"{self.name}{chr(39) * int(self.args[3])}({printer._print(self.arg)})"

    @property
    def fn(self) -> sympy.Lambda:
        """The scalar function, as a SymPy Lambda of one variable."""
        return self.args[1]

    @property
    def arg(self) -> Any:
        """The argument the node applies to."""
        return self.args[2]

    @property
    def order(self) -> int:
        """Which derivative of the function (0: the function itself)."""
        return int(self.args[3])

    def scalar(self) -> sympy.Lambda:
        """The scalar function this node applies (the order-th derivative)."""
        (x,) = self.fn.variables
        return sympy.Lambda(x, _scalar_derivative(self.fn, self.order))

    def next_derivative(self) -> Any:
        """The constant ``f^{(k+1)}`` when it is one, else the node of ``f^{(k+1)}(Z)``."""
        (x,) = self.fn.variables
        d = _scalar_derivative(self.fn, self.order + 1)
        if x not in d.free_symbols and not d.has(sympy.Function):
            return d
        return type(self)(self.args[0], self.fn, self.arg, self.order + 1)

    def derivative(self) -> Any:
        """``f^{(k+1)}(Z)``, or the constant when that derivative is one (``G ⊙ c`` is
        ``c G``, so a feature map of a constant is never needed)."""
        return self.next_derivative()


class Elementwise(ElementwiseOf, MatrixExpr):  # type: ignore[misc]
    """``f^{(k)}(Z)`` on a matrix Z."""

    role = "primitive"

    @property
    def shape(self) -> tuple[Any, Any]:
        """The node's shape, from its operands."""
        return tuple(self.arg.shape)

    def derivative(self) -> MatrixExpr:
        """``f^{(k+1)}(Z)``, or ``c 1`` when that derivative is a constant c."""
        d = self.next_derivative()
        if isinstance(d, Elementwise):
            return d
        return d * OneMatrix(*self.shape) if d != 0 else ZeroMatrix(*self.shape)

    def _eval_transpose(self) -> MatrixExpr:
        return Elementwise(self.args[0], self.fn, self.arg.T, self.order)


class Softmax(MatrixExpr):  # type: ignore[misc]
    """Softmax over ``axis`` (0: each column is a sample; 1: each row is a sample)."""

    role = "primitive"

    def __new__(cls, arg: MatrixExpr, axis: int) -> Any:
        return super().__new__(cls, _sympify(arg), sympy.Integer(axis))  # safe: a SymPy expression

    @property
    def arg(self) -> MatrixExpr:
        """The argument the node applies to."""
        return self.args[0]

    @property
    def axis(self) -> int:
        """The axis the softmax normalises over (0: columns are samples, 1: rows)."""
        return int(self.args[1])

    @property
    def shape(self) -> tuple[Any, Any]:
        """The node's shape, from its operands."""
        return tuple(self.arg.shape)


#: What a node is, for the coverage test (tests/test_node_coverage.py) and for readers:
#: "primitive" appears in forward programs (a rule in rules.RULES, evaluators, printers);
#: "backward" is made by a rule and appears only in gradients (linear in its cotangent,
#: never differentiated: evaluators and printers); "leaf" is a named value; "reading" is
#: the checker's reading of a user's formula (the NumPy evaluator and the text printer).
ROLES = ("primitive", "backward", "leaf", "reading")


class ScalarOfMatrices(sympy.Expr):  # type: ignore[misc]
    """Base of scalar-valued nodes over matrices (the losses)."""

    is_commutative = True
    is_real = True


class FrobeniusSq(ScalarOfMatrices):
    """``||E||_F^2``, the sum of squared entries."""

    role = "primitive"

    @property
    def arg(self) -> MatrixExpr:
        """The argument the node applies to."""
        return self.args[0]


class ProbsVersusTargets(ScalarOfMatrices):
    """Base of the losses of probabilities A against targets Y (args ``(A, Y)``)."""

    @property
    def probs(self) -> MatrixExpr:
        """The predicted probabilities (the output activation)."""
        return self.args[0]

    @property
    def target(self) -> MatrixExpr:
        """The targets Y."""
        return self.args[1]


class CrossEntropy(ProbsVersusTargets):
    """``-sum(Y ⊙ log A)`` over all entries: the cross-entropy of probabilities A."""

    role = "primitive"


class BinaryCrossEntropy(ProbsVersusTargets):
    """``-sum(Y ⊙ log A + (1 - Y) ⊙ log(1 - A))`` over all entries."""

    role = "primitive"


# --------------------------------------------------------------------------- issue 14 primitives
#
# Reductions, broadcasts, comparisons, log-softmax, norms, determinants and one-hot
# indexing: the nodes that user-written forward programs need beyond the layer builders.
# Each constructor checks the shapes it can (concrete sizes, or symbols, which are distinct
# widths) and raises ShapeMismatch naming both shapes.


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


class Slice(MatrixExpr):  # type: ignore[misc]
    """``x[:, start:stop]`` (axis 1, a block of columns) or ``x[start:stop, :]`` (axis 0).

    Bounds are whole numbers or size expressions (``H``, ``2*H``); an explicit node so
    that its transpose, the zero-padded embedding of the cotangent, reads as one
    (``Concat`` of zeros and ``G``). A slice of a concatenation that is one of its parts
    is that part; a slice of the whole width is the matrix itself.
    """

    role = "primitive"

    def __new__(cls, arg: Any, start: Any, stop: Any, axis: int) -> Any:
        a = _axis(axis, "a slice")
        arg = _sympify(arg)  # safe: one of our SymPy expressions
        start, stop = _sympify(start), _sympify(stop)  # safe: sizes built by our builder
        if not _is_matrix(arg):
            raise ShapeMismatch("a slice of a scalar: only a matrix has rows and columns")
        width = arg.shape[a]
        what = "columns" if a == 1 else "rows"
        if _nonneg(start) is False or _nonneg(stop - start) is False:
            raise ShapeMismatch(f"the slice {start}:{stop} of {what} is empty or runs backwards")
        if _nonneg(width - stop) is False:
            raise ShapeMismatch(
                f"the slice {start}:{stop} of {what} runs past the {width} {what} of a "
                f"{_dims(arg.shape)} value"
            )
        if sympy.expand(stop - start) == 0:
            raise ShapeMismatch(f"the slice {start}:{stop} of {what} is empty")
        if start == 0 and _same(stop, width):
            return arg
        if isinstance(arg, (ZeroMatrix, OneMatrix)):
            shape = list(arg.shape)
            shape[a] = _width(stop - start)
            return type(arg)(*shape)
        if isinstance(arg, Concat) and arg.axis == a:  # whole parts: those parts joined
            offsets = [*arg.offsets, _width(arg.shape[a])]
            first = next((k for k, o in enumerate(offsets) if _same(o, start)), None)
            last = next((k for k, o in enumerate(offsets) if _same(o, stop)), None)
            if first is not None and last is not None and first < last:
                return Concat(a, *arg.parts[first:last])
        return super().__new__(cls, arg, start, stop, sympy.Integer(a))

    @property
    def arg(self) -> MatrixExpr:
        """The matrix sliced."""
        return self.args[0]

    @property
    def start(self) -> Any:
        """The first row/column taken (0-based)."""
        return self.args[1]

    @property
    def stop(self) -> Any:
        """One past the last row/column taken."""
        return self.args[2]

    @property
    def axis(self) -> int:
        """1: columns (``x[:, i:j]``); 0: rows (``x[i:j, :]``)."""
        return int(self.args[3])

    @property
    def shape(self) -> tuple[Any, Any]:
        """The arg's shape with ``stop − start`` along the axis."""
        m, n = self.arg.shape
        w = _width(self.stop - self.start)
        return (m, w) if self.axis == 1 else (w, n)


class Concat(MatrixExpr):  # type: ignore[misc]
    """Matrices side by side (axis 1, ``np.hstack``) or stacked (axis 0, ``np.vstack``):
    ``np.concatenate(parts, axis)``. Its transpose gives each part its slice of ``G``."""

    role = "primitive"

    def __new__(cls, axis: Any, *parts: Any) -> Any:
        a = _axis(axis, "a concatenation")
        items = [_sympify(p) for p in parts]  # safe: our SymPy expressions
        if not items:
            raise ShapeMismatch("a concatenation of nothing")
        if not all(_is_matrix(p) for p in items):
            raise ShapeMismatch("a concatenation of a scalar: only matrices are joined")
        other = 1 - a
        for p in items[1:]:
            if not _same(p.shape[other], items[0].shape[other]):
                side = "rows" if other == 0 else "columns"
                raise ShapeMismatch(
                    f"{_dims(items[0].shape)} and {_dims(p.shape)} cannot be joined along "
                    f"axis {a}: they have different {side}"
                )
        if len(items) == 1:
            return items[0]
        if all(isinstance(p, ZeroMatrix) for p in items):
            shape = list(items[0].shape)
            shape[a] = _width(sum((p.shape[a] for p in items), sympy.Integer(0)))
            return ZeroMatrix(*shape)
        return super().__new__(cls, sympy.Integer(a), *items)

    @property
    def axis(self) -> int:
        """1: side by side; 0: stacked."""
        return int(self.args[0])

    @property
    def parts(self) -> tuple[Any, ...]:
        """The matrices joined, in order."""
        return tuple(self.args[1:])

    @property
    def offsets(self) -> list[Any]:
        """Where each part starts along the axis (0, w₁, w₁ + w₂, …)."""
        out, at = [], sympy.Integer(0)
        for p in self.parts:
            out.append(at)
            at = _width(at + p.shape[self.axis])
        return out

    @property
    def shape(self) -> tuple[Any, Any]:
        """The parts' common size across the axis; their sizes summed along it."""
        total = _width(sum((p.shape[self.axis] for p in self.parts), sympy.Integer(0)))
        m, n = self.parts[0].shape
        return (m, total) if self.axis == 1 else (total, n)


def pad(g: Any, start: Any, stop: Any, width: Any, axis: int) -> Any:
    """``g`` embedded at ``start:stop`` of a zero matrix ``width`` wide along ``axis``:
    the transpose of a slice."""
    parts = []
    for lo, hi in ((sympy.Integer(0), start), (stop, width)):
        w = _width(hi - lo)
        if w != 0:
            shape = list(g.shape)
            shape[axis] = w
            parts.append(ZeroMatrix(*shape))
    if len(parts) == 2:
        return Concat(axis, parts[0], g, parts[1])
    if not parts:
        return g
    return Concat(axis, *([parts[0], g] if start != 0 else [g, parts[0]]))


def replace_block(old: Any, start: Any, stop: Any, axis: int, new: Any) -> Any:
    """``old`` with its block ``start:stop`` along ``axis`` replaced by ``new`` (NumPy's
    ``A[:, a:b] = v`` as a value): the blocks around it kept, ``new`` broadcast to the
    block's shape."""
    block = Slice(old, start, stop, axis)
    new = Broadcast(new, *block.shape)  # a mismatch raises ShapeMismatch naming both
    width = old.shape[axis]
    parts = []
    if _width(start) != 0:
        parts.append(Slice(old, 0, start, axis))
    parts.append(new)
    if _width(width - stop) != 0:
        parts.append(Slice(old, stop, width, axis))
    return Concat(axis, *parts)


def merge_concats(terms: list[Any]) -> list[Any]:
    """Concatenations along one axis added block by block: their block boundaries merged
    (when their order is known), each cut at every boundary, then summed per block. The
    four padded gate blocks of an LSTM's ``da`` come back as one ``Concat``."""
    for axis in (0, 1):
        idx = [i for i, t in enumerate(terms) if isinstance(t, Concat) and t.axis == axis]
        if len(idx) < 2:
            continue
        cuts = _ordered_cuts([terms[i] for i in idx])
        if cuts is None:
            continue
        blocks = []
        for lo, hi in zip(cuts, cuts[1:], strict=False):
            blocks.append(add([_block(terms[i], lo, hi) for i in idx]))
        first = idx[0]
        terms = [
            Concat(axis, *blocks) if i == first else t
            for i, t in enumerate(terms)
            if i == first or i not in idx
        ]
    return terms


def _ordered_cuts(concats: list[Any]) -> list[Any] | None:
    """Every block boundary of ``concats``, in order (None when an order is unknown)."""
    cuts: list[Any] = []
    for c in concats:
        for b in [*c.offsets, c.shape[c.axis]]:
            if not any(_same(b, k) for k in cuts):
                cuts.append(_width(b))
    ordered: list[Any] = []
    for b in cuts:
        at = 0
        while at < len(ordered):
            below = _nonneg(b - ordered[at])
            if below is None:
                return None
            if not below:
                break
            at += 1
        ordered.insert(at, b)
    return ordered


def _block(c: Any, lo: Any, hi: Any) -> Any:
    """The block ``lo:hi`` of the concatenation ``c``, cut from the part that holds it."""
    for part, off in zip(c.parts, c.offsets, strict=True):
        end = _width(off + part.shape[c.axis])
        if _nonneg(lo - off) and _nonneg(end - hi):
            return Slice(part, _width(lo - off), _width(hi - off), c.axis)
    return Slice(c, lo, hi, c.axis)  # pragma: no cover - the cuts include every offset


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


def _require_same(a: tuple[Any, ...], b: tuple[Any, ...], op: str) -> None:
    if len(a) != len(b) or not all(_same(x, y) for x, y in zip(a, b)):
        raise ShapeMismatch(f"{_dims(a)} and {_dims(b)} do not fit for {op}")


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


def _require_square(arg: Any, what: str) -> None:
    if not _is_matrix(arg):
        raise ShapeMismatch(f"{what}: the argument is a scalar, not a matrix")
    r, c = arg.shape
    if not _same(r, c):
        raise ShapeMismatch(f"{what} of a {_dims(arg.shape)} matrix: it needs a square matrix")


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


# --------------------------------------------------------------------------- helpers


def split_coeff(e: MatrixExpr) -> tuple[sympy.Expr, MatrixExpr]:
    """``c M`` -> ``(c, M)`` so scalar factors can be kept outside Hadamard products."""
    if isinstance(e, MatMul):
        coeff, rest = e.as_coeff_mmul()
        rest = rest.doit() if isinstance(rest, MatMul) and len(rest.args) == 1 else rest
        if isinstance(rest, MatMul) and len(rest.args) == 1:
            rest = rest.args[0]
        return coeff, rest
    return sympy.Integer(1), e


def hadamard(*factors: Any) -> Any:
    """The Hadamard product of matrices or feature maps, with scalar factors pulled out
    and all-ones (or constant) factors dropped."""
    if any(is_tensor(f) for f in factors):
        return _tensor_hadamard(factors)
    coeff: sympy.Expr = sympy.Integer(1)
    kept: list[MatrixExpr] = []
    shape = factors[0].shape
    for f in factors:
        c, rest = split_coeff(f)
        if isinstance(rest, ZeroMatrix):
            return ZeroMatrix(*shape)
        c2, rest = split_coeff(rest) if isinstance(rest, MatMul) else (sympy.Integer(1), rest)
        if isinstance(rest, MatAdd):  # (c A + c B) ⊙ F: the c common to a sum's terms
            parts = [split_coeff(t) for t in rest.args]
            first = parts[0][0]
            mag = -first if first.is_negative else first
            if mag != 1 and all(p / first in (1, -1) for p, _ in parts):
                c2 *= mag
                rest = add([scale(t, p / mag) for p, t in parts])
        coeff *= c * c2
        if isinstance(rest, OneMatrix):
            continue
        kept.append(rest)
    if not kept:
        body: MatrixExpr = OneMatrix(*shape)
    elif len(kept) == 1:
        body = kept[0]
    else:
        body = HadamardProduct(*kept)
    return body if coeff == 1 else MatMul(coeff, body).doit(deep=False)


def add(terms: list[Any]) -> Any:
    """Sum of contributions (matrices or feature maps), in the order they arrived."""
    if len(terms) == 1:
        return terms[0]
    if is_tensor(terms[0]):
        return sympy.Add(*terms)
    terms = [t for t in terms if not isinstance(t, ZeroMatrix)] or terms[:1]
    if sum(isinstance(t, Concat) for t in terms) > 1:
        terms = merge_concats(terms)
    if len(terms) == 1:
        return terms[0]
    return MatAdd(*terms).doit(deep=False)


def scale(e: Any, c: sympy.Expr) -> Any:
    """``c e``, multiplying into a sum term by term so coefficients cancel."""
    if is_tensor(e):
        return tensor_scale(e, c)
    if c == 1:
        return e
    if isinstance(e, MatAdd):
        return add([scale(t, c) for t in e.args])
    coeff, rest = split_coeff(e)
    if isinstance(rest, HadamardProduct):  # a factor's own coefficient cancels with c
        c2, rest = split_coeff(hadamard(*rest.args))
        coeff *= c2
    total = coeff * c
    if total == 1:
        return rest
    return MatMul(total, rest).doit(deep=False)


# --------------------------------------------------------------------------- issue 14 helpers


def broadcast_to(x: Any, rows: Any, cols: Any) -> Any:
    """``x`` repeated to rows×cols (``x`` itself when it has that shape already)."""
    return Broadcast(x, rows, cols)


def fit(x: Any, y: Any, op: str) -> tuple[Any, Any]:
    """Two operands of an entrywise ``op`` at one shape: a row, column or scalar side is
    broadcast to the other's shape (NumPy's rule); shapes that do not fit raise
    ShapeMismatch naming both."""
    if not _is_matrix(x) and not _is_matrix(y):
        return x, y
    if not _is_matrix(x):
        return Broadcast(x, *y.shape), y
    if not _is_matrix(y):
        return x, Broadcast(y, *x.shape)
    (a, b), (c, d) = x.shape, y.shape
    rows = c if a == 1 else a
    cols = d if b == 1 else b
    for (p, q), (r, s) in [((a, b), (rows, cols)), ((c, d), (rows, cols))]:
        if not ((p == 1 or _same(p, r)) and (q == 1 or _same(q, s))):
            raise ShapeMismatch(f"{_dims(x.shape)} and {_dims(y.shape)} do not fit for {op}")
    return Broadcast(x, rows, cols), Broadcast(y, rows, cols)


def divide(x: Any, y: Any) -> Any:
    """``x ⊘ y`` entry by entry, as ``x ⊙ y^{∘-1}`` (a row, column or scalar side
    broadcast); a scalar divisor stays a scalar factor."""
    if not _is_matrix(y):
        return scale(x, 1 / y) if _is_matrix(x) else x / y
    x, y = fit(x, y, "⊘")
    return hadamard(x, HadamardPower(y, -1))


def power(x: Any, p: Any) -> Any:
    """``x^{∘p}`` entry by entry (SymPy's HadamardPower; p a number or scalar symbol)."""
    if not _is_matrix(x):
        return x**p
    return HadamardPower(x, _sympify(p))  # safe: a number or one of our scalars


@functools.cache
def _elementwise_bodies() -> dict[str, sympy.Expr]:
    from derive.spec.scalar_expr import X, sigmoid

    return {
        "sqrt": sympy.sqrt(X),
        "exp": sympy.exp(X),
        "log": sympy.log(X),
        "abs": sympy.Abs(X),
        "relu": sympy.Max(0, X),
        "tanh": sympy.tanh(X),
        "sigmoid": sigmoid(X),
    }


#: The entrywise functions ``elementwise`` builds: name -> body in x (relu = maximum(0, x)).
ELEMENTWISE_NAMES = ("sqrt", "exp", "log", "abs", "relu", "maximum0", "tanh", "sigmoid")


def elementwise(name: str, arg: Any) -> Any:
    """``f(arg)`` entry by entry for f in ELEMENTWISE_NAMES, as an ``Elementwise`` node (its
    derivative comes from the Lambda, as for activations). ``maximum0`` is ``relu``."""
    from derive.spec.scalar_expr import X

    key = "relu" if name == "maximum0" else name
    bodies = _elementwise_bodies()
    if key not in bodies:
        raise ValueError(f"unknown function {name!r}: one of {', '.join(ELEMENTWISE_NAMES)}")
    if not _is_matrix(arg):
        return bodies[key].xreplace({X: arg})
    return Elementwise(key, sympy.Lambda(X, bodies[key]), arg)


def where(ind: Any, a: Any, b: Any) -> Any:
    """``ind ⊙ a + (1 − ind) ⊙ b`` for a 0/1 ``Indicator`` (a or b may be scalars; a zero
    branch is dropped, a constant one is a scalar factor)."""
    shape = tuple(ind.shape)
    terms = []
    for mask, v in ((ind, a), (OneMatrix(*shape) - ind, b)):
        if not _is_matrix(v):
            if v != 0:
                terms.append(scale(mask, v))
            continue
        _require_same(tuple(v.shape), shape, "where")
        terms.append(hadamard(mask, v))
    return add(terms) if terms else ZeroMatrix(*shape)


# --------------------------------------------------------------------------- feature maps
#
# Convolutional layers work on 4-d tensors (samples, channels, height, width), which
# SymPy's matrix expressions cannot hold. These nodes are plain SymPy expressions with a
# ``shape``; they are non-commutative so SymPy keeps the order of a product, and a scalar
# times a tensor is an ordinary ``Mul`` (so 1/m and m cancel as they do for matrices).


class TensorExpr(sympy.Expr):  # type: ignore[misc]
    """Base of the tensor-valued nodes."""

    is_commutative = False
    is_Tensor = True

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        raise NotImplementedError


def _int(v: Any) -> Any:
    return sympy.Integer(v) if isinstance(v, int) else v


class TensorSymbol(TensorExpr):
    """A named tensor: ``K_1`` (C_out, C_in, k, k), ``b_1`` (C_out,), ``A_1`` (m, C, H, W)."""

    role = "leaf"

    def __new__(cls, name: str, *shape: Any) -> Any:
        return super().__new__(cls, Str(name), *(_int(d) for d in shape))

    @property
    def name(self) -> str:
        """The activation's name in the table (or the user's symbol)."""
        return str(self.args[0])

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        return tuple(self.args[1:])

    @property
    def free_symbols(self) -> set[Any]:
        """A named tensor is a free symbol itself (as a MatrixSymbol is)."""
        return {self}

    def _hashable_content(self) -> tuple[Any, ...]:
        return (self.name, *self.shape)


class Correlate(TensorExpr):
    """``K ⋆ A``: the cross-correlation of each sample with each filter, channels summed.

    ``Z[n,o,i,j] = Σ_{c,u,v} K[o,c,u,v] A[n,c,s i+u-p, s j+v-p]`` (zero outside A).
    """

    role = "primitive"

    def __new__(cls, kernel: Any, inp: Any, stride: Any = 1, padding: Any = 0) -> Any:
        return super().__new__(cls, kernel, inp, _int(stride), _int(padding))

    kernel = property(lambda self: self.args[0])
    input = property(lambda self: self.args[1])
    stride = property(lambda self: self.args[2])
    padding = property(lambda self: self.args[3])

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        o, _, k, _ = self.kernel.shape
        m, _, h, w = self.input.shape
        s, p = self.stride, self.padding
        return (m, o, (h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1)


class ConvBackInput(TensorExpr):
    """``(G * rot180(K))_full``: the full convolution of G with the flipped kernel.

    With stride s, G is first dilated (s - 1 zeros between entries); with padding p, the
    result is cropped by p on every side. ``like`` is the layer input, whose shape it has.
    """

    role = "backward"

    def __new__(cls, g: Any, kernel: Any, stride: Any, padding: Any, like: Any) -> Any:
        return super().__new__(cls, g, kernel, _int(stride), _int(padding), like)

    cot = property(lambda self: self.args[0])
    kernel = property(lambda self: self.args[1])
    stride = property(lambda self: self.args[2])
    padding = property(lambda self: self.args[3])
    like = property(lambda self: self.args[4])

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        return tuple(self.like.shape)


class ConvBackKernel(TensorExpr):
    """``A ⋆ G``: the input correlated with the cotangent, summed over samples.

    ``K_bar[o,c,u,v] = Σ_{n,i,j} G[n,o,i,j] A[n,c,s i+u-p, s j+v-p]``: shaped like K.
    """

    role = "backward"

    def __new__(cls, inp: Any, g: Any, stride: Any, padding: Any, k: Any) -> Any:
        return super().__new__(cls, inp, g, _int(stride), _int(padding), _int(k))

    input = property(lambda self: self.args[0])
    cot = property(lambda self: self.args[1])
    stride = property(lambda self: self.args[2])
    padding = property(lambda self: self.args[3])

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        k = self.args[4]
        return (self.cot.shape[1], self.input.shape[1], k, k)


class ChannelBias(TensorExpr):
    """The bias b (one number per channel) broadcast over samples, rows and columns."""

    role = "primitive"

    def __new__(cls, bias: Any, like: tuple[Any, ...]) -> Any:
        return super().__new__(cls, bias, sympy.Tuple(*like))

    bias = property(lambda self: self.args[0])

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        return tuple(self.args[1])


class ChannelSum(TensorExpr):
    """``Σ_{n,i,j} G[n,o,i,j]``: one sum per channel (the bias gradient)."""

    role = "backward"

    arg = property(lambda self: self.args[0])

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        return (tensor_shape(self.arg)[1],)


class Pool(TensorExpr):
    """Max or average pooling of each channel over size x size windows."""

    role = "primitive"

    def __new__(cls, inp: Any, mode: str, size: Any, stride: Any) -> Any:
        return super().__new__(cls, inp, Str(mode), _int(size), _int(stride))

    input = property(lambda self: self.args[0])
    mode = property(lambda self: str(self.args[1]))
    size = property(lambda self: self.args[2])
    stride = property(lambda self: self.args[3])

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        m, c, h, w = self.input.shape
        k, s = self.size, self.stride
        return (m, c, (h - k) / s + 1, (w - k) / s + 1)


class Unpool(TensorExpr):
    """The pooling's transpose: average spreads G evenly over each window (``G / k²`` on
    each of its k² pixels); max routes G to the arg-max pixel of the window in A."""

    role = "backward"

    def __new__(cls, g: Any, inp: Any, mode: str, size: Any, stride: Any) -> Any:
        return super().__new__(cls, g, inp, Str(mode), _int(size), _int(stride))

    cot = property(lambda self: self.args[0])
    input = property(lambda self: self.args[1])
    mode = property(lambda self: str(self.args[2]))
    size = property(lambda self: self.args[3])
    stride = property(lambda self: self.args[4])

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        return tuple(self.input.shape)


class Flatten(MatrixExpr):  # type: ignore[misc]
    """Feature maps (m, C, H, W) as a matrix: one column (or row) of C H W entries per sample."""

    role = "primitive"

    def __new__(cls, inp: Any, column: bool) -> Any:
        return super().__new__(cls, inp, sympy.true if column else sympy.false)

    input = property(lambda self: self.args[0])
    column = property(lambda self: bool(self.args[1]))

    @property
    def shape(self) -> tuple[Any, Any]:
        """The node's shape, from its operands."""
        m, c, h, w = self.input.shape
        n = c * h * w
        return (n, m) if self.column else (m, n)


class Unflatten(TensorExpr):
    """A matrix of per-sample vectors back in the (m, C, H, W) layout of ``like``."""

    role = "backward"

    def __new__(cls, g: Any, like: Any, column: bool) -> Any:
        return super().__new__(cls, g, like, sympy.true if column else sympy.false)

    arg = property(lambda self: self.args[0])
    like = property(lambda self: self.args[1])
    column = property(lambda self: bool(self.args[2]))

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        return tuple(self.like.shape)


class TensorElementwise(ElementwiseOf, TensorExpr):
    """``f^{(k)}(Z)`` on a feature map Z."""

    role = "primitive"

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        return tensor_shape(self.arg)


class TensorHadamard(TensorExpr):
    """``X ⊙ Y`` of tensors."""

    role = "primitive"

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        return tensor_shape(self.args[0])


def tensor_shape(e: Any) -> tuple[Any, ...]:
    """The shape of a tensor expression: a node, or a scalar multiple or sum of nodes."""
    if isinstance(e, TensorExpr):
        return e.shape
    return next(tensor_shape(a) for a in e.args if is_tensor(a))


def is_tensor(e: Any) -> bool:
    """True for a tensor node or a scalar multiple or sum of them."""
    return bool(getattr(e, "is_Tensor", False)) or (
        isinstance(e, (sympy.Mul, sympy.Add)) and any(is_tensor(a) for a in e.args)
    )


def tensor_coeff(e: Any) -> tuple[Any, Any]:
    """``c T`` -> ``(c, T)`` for a tensor, ``c M`` -> ``(c, M)`` for a matrix."""
    if isinstance(e, sympy.Mul) and is_tensor(e):
        c, nc = e.args_cnc()
        if len(nc) != 1:
            raise ValueError(f"a product of tensors is not defined: {e}")
        return sympy.Mul(*c), nc[0]
    return split_coeff(e)


def tensor_scale(e: Any, c: Any) -> Any:
    """``c e`` for a tensor (a SymPy Mul, so coefficients cancel)."""
    return e if c == 1 else sympy.Mul(c, e)


def _tensor_hadamard(factors: tuple[Any, ...]) -> Any:
    """``G ⊙ D ⊙ …`` of feature maps, scalar factors (and constant factors) pulled out."""
    coeff: Any = sympy.Integer(1)
    kept = []
    for f in factors:
        if not is_tensor(f):
            if f == 0:
                return sympy.Integer(0)
            coeff *= f
            continue
        c, body = tensor_coeff(f)
        coeff *= c
        kept.append(body)
    body = kept[0] if len(kept) == 1 else TensorHadamard(*kept)
    return tensor_scale(body, coeff)


def linear(node: Any, g: Any, *rest: Any) -> Any:
    """``node(c G, …) = c node(G, …)`` for the linear nodes (keeps 1/m outside)."""
    c, g = tensor_coeff(g)
    return tensor_scale(node(g, *rest), c)
