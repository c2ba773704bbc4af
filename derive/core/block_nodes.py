"""Blocks of a matrix (``Slice``, ``Concat``) and the sums and products that keep them.

``add``, ``hadamard`` and ``scale`` build the sums, Hadamard products and scalar
multiples the rules produce, on matrices or feature maps, pulling scalar factors out;
``add`` merges concatenations block by block (``merge_concats``), so the padded gate
blocks of an LSTM's cotangent come back as one ``Concat``.
"""

from __future__ import annotations

from typing import Any

import sympy
from sympy.core.sympify import _sympify
from sympy.matrices.expressions import (
    HadamardProduct,
    MatAdd,
    MatMul,
    MatrixExpr,
    OneMatrix,
    ZeroMatrix,
)

from derive.core.node_checks import (
    ShapeMismatch,
    _axis,
    _dims,
    _is_matrix,
    _nonneg,
    _same,
    _width,
    split_coeff,
)
from derive.core.tensor_nodes import _tensor_hadamard, is_tensor, tensor_scale


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
