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
)

from derive.core.nodes import (
    Elementwise,
    ElementwiseOf,
    TensorElementwise,
    is_tensor,
    tensor_scale,
)
from derive.formula.algebra import (
    MAX_READINGS,
    Budget,
    ShapeMismatch,
    TooComplex,
    UnknownSymbol,
    _add,
    _had,
    _matmul,
    _matmul_or_hadamard,
    _Ones,
    _scalar,
    broadcast,
    cotangent_symbol,
    unique,
)
from derive.formula.ir import (
    IR,
    Amb,
    Bin,
    Chain,
    Cmp,
    Conv,
    Diag,
    Dim,
    Entry,
    Fn,
    FormulaError,
    Gt0,
    Helper,
    ISum,
    Mode,
    Neg,
    Num,
    Ones,
    Partial,
    Pow,
    Reshape,
    Scalar,
    Slice,
    Squeeze,
    Sum,
    Sym,
    T,
    Where,
    unreachable,
)
from derive.formula.ir_products import _has_fn, _one_value, _rewrite_diag
from derive.formula.nodes import rot180
from derive.formula.reductions import Reductions
from derive.formula.symbols import Context
from derive.render.text import text
from derive.spec.scalar_expr import X as XVAR


class Resolver(Reductions):
    """IR -> SymPy in one context; ``readings`` yields every shape-consistent reading."""

    def readings(self, node: IR) -> list[Any]:
        """Every shape-consistent SymPy reading of the node, at most MAX_READINGS (each
        node resolved once per context: the readings depend on the node, the context and
        the mode in force alone; a failure is not kept, its message names the spelling)."""
        memo = self.ctx.memo
        key = (node, self.mode)
        if memo is not None and key in memo:
            self.ctx.budget.spend()
            return list(memo[key])
        out = list(itertools.islice(self._readings(_rewrite_diag(node)), MAX_READINGS))
        if not out:
            raise FormulaError("the formula has no reading")
        if memo is not None:
            memo[key] = out
        return list(out)

    def neg(self, a: Any) -> Any:
        """``-a`` for a scalar, a matrix or a tensor."""
        if _scalar(a):
            return -a
        if isinstance(a, _Ones):  # −1ᵀ δ: the sign is the ones vector's coefficient
            return _Ones(a.size, -a.coeff)
        return tensor_scale(a, -1) if is_tensor(a) else MatMul(-1, a).doit(deep=False)

    def _readings(self, node: IR) -> Iterator[Any]:
        self.ctx.budget.spend()
        match node:
            case Sym():
                yield self.symbol(node)
            case Num(value):
                yield sympy.Rational(value)
            case Scalar(name):
                yield self.scalar(name, node.written)
            case Ones(size):
                if size is None:
                    yield _Ones()
                elif isinstance(size, Dim):  # np.ones((dZ.shape[1], 1)): dZ's own size
                    if size.axis not in (0, 1):
                        raise FormulaError(f"a matrix has no size along axis {size.axis}")
                    for n in _sizes(list(self.readings(size.a)), size.axis):
                        yield _Ones(frozenset({n}))
                else:  # 1_4 where two widths are 4: one reading per width (they are equal)
                    for width in self.sizes(size):
                        yield _Ones(frozenset({width}))
            case Partial():
                yield self.gradient(node)  # ∂C/∂Z_k, ∇_a C on the right-hand side
            case Bin():
                yield from self._bin(node)
            case Neg(a):
                for x in self.readings(a):
                    yield self.neg(x)
            case Amb():
                yield from self._ambiguous(node)
            case Chain():
                yield from self._chain(node)
            case T(a):
                for x in self.readings(a):
                    if is_tensor(x):
                        raise ShapeMismatch(f"{text(x)}ᵀ: a feature map or kernel has no transpose")
                    if isinstance(x, _Ones):
                        yield x
                    else:
                        yield x if _scalar(x) else x.T
            case Pow(a, n):
                for x in self.readings(a):
                    if is_tensor(x):
                        yield TensorElementwise(f"pow{n}", sympy.Lambda(XVAR, XVAR**n), x)
                    else:
                        yield x**n if _scalar(x) else HadamardPower(x, n)
            case Fn(name, order, arg):
                for x in self.readings(arg):
                    yield self._derivative(name, order, x)
            case Sum(a, axis):
                for x in self.readings(a):
                    yield self._sum(x, axis)
            case Diag():
                raise FormulaError("diag(v) must be followed by the matrix it multiplies")
            case Conv(op, a, b, mode):
                for x, y in itertools.product(self.readings(a), self.readings(b)):
                    # convolve2d(P, Q) is correlate2d(P, rot180(Q)): it flips its kernel
                    yield from self.slide(x, y if op == "corr" else rot180(y), mode)
            case Mode(a, mode):
                saved, self.mode = self.mode, mode
                try:
                    inner = self.readings(a)
                finally:
                    self.mode = saved
                yield from inner
            case Gt0(a):
                for x in self.readings(a):
                    if _scalar(x) or isinstance(x, _Ones):
                        raise FormulaError("(… > 0) compares a matrix, not a number, with 0")
                    # [x > 0] is 0 at x = 0 (H(0) = 0): (A > 0) is ReLU's mask even where A = 0
                    step = sympy.Lambda(XVAR, sympy.Heaviside(XVAR, 0))
                    yield (TensorElementwise if is_tensor(x) else Elementwise)("step", step, x)
            case Cmp(a, op, c):
                for x in self.readings(a):
                    yield self._mask(x, op, c)
            case Where():
                yield from self._where(node)
            case Squeeze(a):
                for x in self.readings(a):
                    yield self._squeezed(x, a)
            case Helper():
                yield from self._helper(node)
            case Reshape(a, like):
                for x, y in itertools.product(self.readings(a), self.readings(like)):
                    yield self._reshape(x, y)
            case Slice():
                raise FormulaError(
                    "a slice (δ)_{n,:,i,j} is read under a sum: Σ_{n,i,j} (δ)_{n,:,i,j}"
                )
            case Dim(a, axis) if self.numpy and axis in (0, 1):  # readpy3: dZ.shape[1]
                yield from _sizes(self.readings(a), axis)
            case Entry() | ISum() | Dim():
                raise FormulaError(f"cannot use {node.tag()!r} here")
            case _:
                unreachable(node)

    def _bin(self, node: Bin) -> Iterator[Any]:
        """``+``, ``−``, the matrix product, ``⊙`` and ``/``, by shapes (NumPy's rules
        for NumPy formulas)."""
        a, b = node.a, node.b
        if node.op in ("add", "sub"):
            sign = 1 if node.op == "add" else -1
            if self.broadcasting:
                yield from self._binary(a, b, lambda x, y: _add(*broadcast(x, y, self.outer), sign))
            else:
                yield from self._binary(a, b, lambda x, y: _add(x, y, sign))
        elif node.op == "mat":
            if (_has_fn(a) and _has_fn(b)) or _one_value(a, b):
                # σ(z)(1 - σ(z)): juxtaposed functions of z are the elementwise product
                # wherever the matrix product does not fit
                yield from self._binary(a, b, _matmul_or_hadamard)
            else:
                yield from self._binary(a, b, _matmul)
        elif node.op == "had":
            if self.broadcasting:
                yield from self._binary(a, b, lambda x, y: _had(*broadcast(x, y, self.outer)))
            else:
                yield from self._binary(a, b, _had)
        else:
            yield from self._divided(a, b)

    def _derivative(self, name: str, order: int, arg: Any) -> Any:
        """An activation of ``arg`` differentiated ``order`` times."""
        f = self.activation(name, arg)
        for _ in range(order):
            if not isinstance(f, ElementwiseOf):
                raise FormulaError("the derivative of softmax is not elementwise")
            f = f.derivative()
            scalar_fn = getattr(f, "scalar", None)
            if scalar_fn is not None and scalar_fn().has(sympy.DiracDelta):
                raise FormulaError(
                    f"{getattr(f, 'name', name)}{chr(39) * order}: this derivative "
                    "is a Dirac delta "
                    "(zero except at the kink), not a function a formula can use"
                )
        return f


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


def _sizes(readings: list[Any], axis: int) -> Iterator[Any]:
    """``x.shape[axis]`` of a dense matrix (``np.mean``'s divisor, ``dZ.shape[1]``): the
    size of each reading of ``x`` along that axis, once each (readpy3)."""
    seen: set[Any] = set()
    for x in readings:
        shape = getattr(x, "shape", None)
        if _scalar(x) or shape is None or len(shape) != 2 or shape[axis] in seen:
            continue
        seen.add(shape[axis])
        yield shape[axis]
