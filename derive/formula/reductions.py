"""Sums, masks, ``np.where`` and quotients of a formula's readings.

A sum over samples (``Σ``, ``np.sum(…, axis=…)``, per channel for feature maps) is a
product with a ones vector; NumPy's sum without ``keepdims`` has NumPy's shape. A mask
(``x > c``) is an elementwise step; a quotient of matrices is entry by entry.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import sympy
from sympy.matrices.expressions import HadamardPower, MatMul, OneMatrix, Trace

from derive.core.nodes import (
    ChannelSum,
    Elementwise,
    TensorElementwise,
    is_tensor,
    tensor_coeff,
    tensor_scale,
    tensor_shape,
)
from derive.formula.algebra import (
    ShapeMismatch,
    _add,
    _had,
    _holds,
    _Ones,
    _scalar,
    broadcast,
    shape_text,
)
from derive.formula.ir import IR, Cmp, FormulaError, Gt0, Sum, Where
from derive.formula.products import Products
from derive.render.text import text
from derive.spec.scalar_expr import X as XVAR


def _elementwise_quotient(a: Any, b: Any) -> Any:
    """``a / b`` entry by entry, the only quotient of matrices (``\\frac{Y}{A}``, Ng's dA);
    a number over a matrix divides each entry."""
    inverse = HadamardPower(b, -1)
    return MatMul(a, inverse).doit(deep=False) if _scalar(a) else _had(a, inverse)


class Reductions(Products):
    """Sums over samples or channels, masks, ``where`` and quotients, by shapes."""

    def _divided(self, top: IR, bottom: IR) -> Iterator[Any]:
        """``a / b``: by a number; in NumPy also entry by entry."""
        for a, b in itertools.product(self.readings(top), self.readings(bottom)):
            if not _scalar(b) and self.broadcasting and not isinstance(b, _Ones):
                # NumPy divides entry by entry (and so does a derivation's ⊘ of a
                # row): a / b = a ⊙ b^(-1), broadcast
                inverse = (
                    TensorElementwise("pow-1", sympy.Lambda(XVAR, 1 / XVAR), b)
                    if is_tensor(b)
                    else HadamardPower(b, -1)
                )
                yield _had(*broadcast(a, inverse, self.outer))
                continue
            if not _scalar(b) and not is_tensor(b) and (_scalar(a) or a.shape == b.shape):
                yield _elementwise_quotient(a, b)  # Y / A of same-shaped matrices: entry-wise
                continue
            if not _scalar(b):
                raise FormulaError(f"division by the matrix {text(b)}")
            if is_tensor(a):
                yield tensor_scale(a, 1 / b)
            else:
                yield a / b if _scalar(a) else MatMul(1 / b, a).doit(deep=False)

    def _mask(self, a: Any, op: str, c: Any) -> Any:
        """``x > c`` entry by entry: 1 where it holds, else 0."""
        if _scalar(a) or isinstance(a, _Ones):
            raise FormulaError(f"(… {op} {c}) compares a matrix, not a number")
        holds = _holds(op, c)
        fn = sympy.Lambda(XVAR, sympy.Piecewise((1, holds), (0, True)))
        return (TensorElementwise if is_tensor(a) else Elementwise)(f"mask{op}{c}", fn, a)

    def _where(self, node: Where) -> Iterator[Any]:
        """``np.where(x > c, p, q)``: p where the condition holds, else q (numbers or arrays)."""
        cond = node.cond
        if not isinstance(cond, (Gt0, Cmp)):  # a diagnosis's variant replaced the mask
            raise FormulaError("the condition of a where must compare a matrix with a number")
        op, c = (">", 0) if isinstance(cond, Gt0) else (cond.op, cond.c)
        for x in self.readings(cond.a):
            for p, q in itertools.product(self.readings(node.p), self.readings(node.q)):
                if _scalar(p) and _scalar(q) and not is_tensor(x):
                    holds = _holds(op, c)
                    fn = sympy.Lambda(XVAR, sympy.Piecewise((p, holds), (q, True)))
                    yield Elementwise("where", fn, x)
                    continue
                mask = self._mask(x, op, c)
                yield _add(_had(mask, p), _had(_add(1, mask, -1), q), 1)

    def _squeezed(self, a: Any, node: Sum) -> Any:
        """``np.sum(x, axis=…)`` without keepdims: NumPy's shape (n,), not (n, 1).

        NumPy broadcasts (n,) as the row (1, n). Summed over rows (axis 0) that is the row
        keepdims would give; summed over columns (axis 1) it is a row where a column is
        meant, and b − α·db is n×n: the mistake to name — unless n is 1, where (1,) and
        (1, 1) broadcast alike. With samples as rows, axis 1 is the wrong axis whatever
        keepdims says for a bias (a layer norm's per-sample sum needs keepdims): the
        message says what the sum is, not one fix.
        """
        if node.axis == 0:
            return a
        if node.axis == "all":  # np.sum(x): a number, which broadcasts to any shape
            return Trace(a) if a.shape == (1, 1) else a  # (or one unit's sum over samples)
        n = a.shape[0]
        if self.ctx.width_one_broadcast and (n == 1 or self.ctx.concrete.get(str(n)) == 1):
            return a
        if not self.ctx.d.program.column:  # samples are rows: axis=1 sums each sample's units
            raise ShapeMismatch(
                f"np.sum(…, axis=1) sums each sample's units (samples are rows here), and "
                f"without keepdims=True has shape ({text(n)},), which broadcasts as a row "
                f"(1, {text(n)}), not as the column ({text(n)}, 1) of one sum per sample "
                "(a sum over the samples is axis=0)"
            )
        raise ShapeMismatch(
            f"np.sum(…, axis=1) without keepdims=True has shape ({text(n)},), not "
            f"({text(n)}, 1): it broadcasts as a row (b − α·db would be {text(n)}×{text(n)}) "
            "— add keepdims=True"
        )

    def _sum(self, a: Any, axis: Any) -> Any:
        if _scalar(a):
            raise FormulaError("a sum over samples needs a matrix")
        if is_tensor(a):
            if axis == "all":
                raise ShapeMismatch(
                    f"np.sum({text(a)}) without axis adds up every entry of the feature maps "
                    "into one number; the bias gradient sums over axes (0, 2, 3)"
                )
            if len(tensor_shape(a)) != 4:
                raise ShapeMismatch(f"Σ {text(a)}: a sum per channel needs feature maps")
            coeff, maps = tensor_coeff(a)  # Σ c δ = c Σ δ
            return tensor_scale(ChannelSum(maps), coeff)
        if axis == "channels":
            raise ShapeMismatch(
                f"a sum over axes (0, 2, 3) needs feature maps; {text(a)} is a matrix "
                f"({shape_text(a)})"
            )
        column = self.d.program.column
        if axis == "all":
            units = a.shape[0] if column else a.shape[1]
            one = units == 1 or (
                self.ctx.width_one_broadcast and self.ctx.concrete.get(str(units)) == 1
            )
            if not one:  # every entry: a number (its shape is 1×1 until squeezed)
                return MatMul(OneMatrix(1, a.shape[0]), a, OneMatrix(a.shape[1], 1)).doit(
                    deep=False
                )
            axis = None  # a layer of one unit: every entry is every sample
        if axis is None:
            axis = 1 if column else 0
        if axis == 1:
            return MatMul(a, OneMatrix(a.shape[1], 1)).doit(deep=False)
        return MatMul(OneMatrix(1, a.shape[0]), a).doit(deep=False)
