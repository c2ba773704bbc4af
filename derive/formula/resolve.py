"""Turn formula IR into SymPy expressions over a derivation's own symbols.

Shapes are checked as the expression is built: every width is a distinct symbol, so a
missing transpose is a ``ShapeMismatch`` naming both operands and their shapes. Products
written with an ambiguous operator (``\\cdot``, ``\\times``, ``*`` in LaTeX) are resolved
by shapes: every reading that fits is returned.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import sympy
from sympy.matrices.expressions import (
    HadamardPower,
    MatMul,
    OneMatrix,
)

from derive.core.nodes import (
    ChannelSum,
    Elementwise,
    ElementwiseOf,
    TensorElementwise,
    is_tensor,
    tensor_coeff,
    tensor_scale,
    tensor_shape,
)
from derive.formula.algebra import (
    MAX_READINGS,
    Budget,
    ShapeMismatch,
    TooComplex,
    UnknownSymbol,
    _add,
    _had,
    _has_fn,
    _holds,
    _matmul,
    _matmul_or_hadamard,
    _Ones,
    _rewrite_diag,
    _scalar,
    broadcast,
    cotangent_symbol,
    shape_text,
    unique,
)
from derive.formula.nodes import rot180
from derive.formula.parse import IR, FormulaError
from derive.formula.products import Products
from derive.formula.symbols import Context
from derive.render.text import text
from derive.spec.scalar_expr import X as XVAR


class Resolver(Products):
    """IR -> SymPy in one context; ``readings`` yields every shape-consistent reading."""

    def readings(self, node: IR) -> list[Any]:
        """Every shape-consistent SymPy reading of the node, at most MAX_READINGS."""
        node = _rewrite_diag(node)
        out = list(itertools.islice(self._readings(node), MAX_READINGS))
        if not out:
            raise FormulaError("the formula has no reading")
        return out

    def neg(self, a: Any) -> Any:
        """``-a`` for a scalar, a matrix or a tensor."""
        if _scalar(a):
            return -a
        return tensor_scale(a, -1) if is_tensor(a) else MatMul(-1, a).doit(deep=False)

    def _readings(self, node: IR) -> Iterator[Any]:
        self.ctx.budget.spend()
        kind = node[0]
        if kind == "sym":
            yield self.symbol(node)
        elif kind == "num":
            yield sympy.Rational(node[1])
        elif kind == "scalar":
            yield self.scalar(node[1])
        elif kind == "ones":
            if len(node) == 1:
                yield _Ones()
            else:  # 1_4 where two widths are 4: one reading per width (they are equal)
                for size in self.sizes(node[1]):
                    yield _Ones(frozenset({size}))
        elif kind == "quantity":
            yield self.gradient(node)  # ∂C/∂Z_k, ∇_a C on the right-hand side
        elif kind in ("add", "sub"):
            sign = 1 if kind == "add" else -1
            if self.numpy:
                yield from self._binary(node[1], node[2], lambda a, b: _add(*broadcast(a, b), sign))
            else:
                yield from self._binary(node[1], node[2], lambda a, b: _add(a, b, sign))
        elif kind == "neg":
            for a in self.readings(node[1]):
                yield self.neg(a)
        elif kind == "mat":
            if _has_fn(node[1]) and _has_fn(node[2]):
                # σ(z)(1 - σ(z)): juxtaposed functions of z are the elementwise product
                # wherever the matrix product does not fit
                yield from self._binary(node[1], node[2], _matmul_or_hadamard)
            else:
                yield from self._binary(node[1], node[2], _matmul)
        elif kind == "had":
            if self.numpy:
                yield from self._binary(node[1], node[2], lambda a, b: _had(*broadcast(a, b)))
            else:
                yield from self._binary(node[1], node[2], _had)
        elif kind == "amb":
            yield from self._ambiguous(node)
        elif kind == "chain":
            yield from self._chain(node)
        elif kind == "div":
            for a, b in itertools.product(self.readings(node[1]), self.readings(node[2])):
                if not _scalar(b) and self.numpy and not isinstance(b, _Ones):
                    # NumPy divides entry by entry: a / b = a ⊙ b^(-1)
                    inverse = (
                        TensorElementwise("pow-1", sympy.Lambda(XVAR, 1 / XVAR), b)
                        if is_tensor(b)
                        else HadamardPower(b, -1)
                    )
                    yield _had(*broadcast(a, inverse))
                    continue
                if not _scalar(b):
                    raise FormulaError(f"division by the matrix {text(b)}")
                if is_tensor(a):
                    yield tensor_scale(a, 1 / b)
                else:
                    yield a / b if _scalar(a) else MatMul(1 / b, a).doit(deep=False)
        elif kind == "T":
            for a in self.readings(node[1]):
                if is_tensor(a):
                    raise ShapeMismatch(f"{text(a)}ᵀ: a feature map or kernel has no transpose")
                if isinstance(a, _Ones):
                    yield a
                else:
                    yield a if _scalar(a) else a.T
        elif kind == "pow":
            for a in self.readings(node[1]):
                if is_tensor(a):
                    power = sympy.Lambda(XVAR, XVAR ** node[2])
                    yield TensorElementwise(f"pow{node[2]}", power, a)
                else:
                    yield a ** node[2] if _scalar(a) else HadamardPower(a, node[2])
        elif kind == "fn":
            for a in self.readings(node[3]):
                f = self.activation(node[1], a)
                for _ in range(node[2]):
                    if not isinstance(f, ElementwiseOf):
                        raise FormulaError("the derivative of softmax is not elementwise")
                    f = f.derivative()
                    scalar_fn = getattr(f, "scalar", None)
                    if scalar_fn is not None and scalar_fn().has(sympy.DiracDelta):
                        raise FormulaError(
                            f"{getattr(f, 'name', node[1])}{chr(39) * node[2]}: this derivative "
                            "is a Dirac delta "
                            "(zero except at the kink), not a function a formula can use"
                        )
                yield f
        elif kind == "sum":
            for a in self.readings(node[1]):
                yield self._sum(a, node[2])
        elif kind == "diag":
            raise FormulaError("diag(v) must be followed by the matrix it multiplies")
        elif kind in ("corr", "conv"):
            for a, b in itertools.product(self.readings(node[1]), self.readings(node[2])):
                # convolve2d(P, Q) is correlate2d(P, rot180(Q)): it flips its kernel
                yield from self.slide(a, b if kind == "corr" else rot180(b), node[3])
        elif kind == "mode":
            saved, self.mode = self.mode, node[2]
            try:
                inner = self.readings(node[1])
            finally:
                self.mode = saved
            yield from inner
        elif kind == "gt0":
            for a in self.readings(node[1]):
                if _scalar(a) or isinstance(a, _Ones):
                    raise FormulaError("(… > 0) compares a matrix, not a number, with 0")
                # [x > 0] is 0 at x = 0 (H(0) = 0): (A > 0) is ReLU's mask even where A = 0
                step = sympy.Lambda(XVAR, sympy.Heaviside(XVAR, 0))
                yield (TensorElementwise if is_tensor(a) else Elementwise)("step", step, a)
        elif kind == "cmp":
            for a in self.readings(node[1]):
                yield self._mask(a, node[2], node[3])
        elif kind == "where":
            yield from self._where(node)
        elif kind == "squeeze":
            for a in self.readings(node[1]):
                yield self._squeezed(a, node[1])
        elif kind == "helper":
            yield from self._helper(node)
        elif kind == "reshape":
            for a, like in itertools.product(self.readings(node[1]), self.readings(node[2])):
                yield self._reshape(a, like)
        elif kind == "slice":
            raise FormulaError("a slice (δ)_{n,:,i,j} is read under a sum: Σ_{n,i,j} (δ)_{n,:,i,j}")
        else:
            raise FormulaError(f"cannot use {kind!r} here")

    def _mask(self, a: Any, op: str, c: Any) -> Any:
        """``x > c`` entry by entry: 1 where it holds, else 0."""
        if _scalar(a) or isinstance(a, _Ones):
            raise FormulaError(f"(… {op} {c}) compares a matrix, not a number")
        holds = _holds(op, c)
        fn = sympy.Lambda(XVAR, sympy.Piecewise((1, holds), (0, True)))
        return (TensorElementwise if is_tensor(a) else Elementwise)(f"mask{op}{c}", fn, a)

    def _where(self, node: IR) -> Iterator[Any]:
        """``np.where(x > c, p, q)``: p where the condition holds, else q (numbers or arrays)."""
        cond = node[1]
        op, c = (">", 0) if cond[0] == "gt0" else (cond[2], cond[3])
        for x in self.readings(cond[1]):
            for p, q in itertools.product(self.readings(node[2]), self.readings(node[3])):
                if _scalar(p) and _scalar(q) and not is_tensor(x):
                    holds = _holds(op, c)
                    fn = sympy.Lambda(XVAR, sympy.Piecewise((p, holds), (q, True)))
                    yield Elementwise("where", fn, x)
                    continue
                mask = self._mask(x, op, c)
                yield _add(_had(mask, p), _had(_add(1, mask, -1), q), 1)

    def _squeezed(self, a: Any, node: IR) -> Any:
        """``np.sum(x, axis=…)`` without keepdims: NumPy's shape (n,), not (n, 1).

        NumPy broadcasts (n,) as the row (1, n). Summed over rows (axis 0) that is the row
        keepdims would give; summed over columns (axis 1) it is a row where a column is
        meant, and b − α·db is n×n: the mistake to name — unless n is 1, where (1,) and
        (1, 1) broadcast alike.
        """
        if node[2] == 0:
            return a
        n = a.shape[0]
        if self.ctx.width_one_broadcast and (n == 1 or self.ctx.concrete.get(str(n)) == 1):
            return a
        raise ShapeMismatch(
            f"np.sum(…, axis=1) without keepdims=True has shape ({text(n)},), not "
            f"({text(n)}, 1): it broadcasts as a row (b − α·db would be {text(n)}×{text(n)}) "
            "— add keepdims=True"
        )

    def _sum(self, a: Any, axis: Any) -> Any:
        if _scalar(a):
            raise FormulaError("a sum over samples needs a matrix")
        if is_tensor(a):
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
        if axis is None:
            axis = 1 if column else 0
        if axis == 1:
            return MatMul(a, OneMatrix(a.shape[1], 1)).doit(deep=False)
        return MatMul(OneMatrix(1, a.shape[0]), a).doit(deep=False)


__all__ = [
    "Budget",
    "Context",
    "Resolver",
    "ShapeMismatch",
    "TooComplex",
    "UnknownSymbol",
    "cotangent_symbol",
    "unique",
]
