"""The operations of a formula on SymPy matrices and feature maps, with shapes checked.

Every width is a distinct symbol, so a product whose shapes do not fit is a
``ShapeMismatch`` naming both operands and their shapes; NumPy's broadcasting is here
too, for NumPy formulas.
"""

from __future__ import annotations

from typing import Any

import sympy
from sympy.matrices.expressions import (
    HadamardProduct,
    MatMul,
    MatrixExpr,
    MatrixSymbol,
    OneMatrix,
)

from derive.core.nodes import (
    TensorElementwise,
    TensorSymbol,
    hadamard,
    is_tensor,
    tensor_scale,
    tensor_shape,
)
from derive.formula.ir import FormulaError
from derive.formula.limits import MAX_PRODUCTS as MAX_PRODUCTS
from derive.formula.limits import MAX_READINGS as MAX_READINGS
from derive.formula.limits import SLIDE_COST as SLIDE_COST
from derive.formula.limits import Budget as Budget
from derive.formula.limits import ShapeMismatch
from derive.formula.limits import TooComplex as TooComplex
from derive.formula.limits import UnknownSymbol as UnknownSymbol
from derive.render.text import text
from derive.spec.scalar_expr import X as XVAR


def shape_text(e: Any) -> str:
    """The shape as a user reads it in a message (``n₁×m``)."""
    return "×".join(text(d) if d.is_Atom else f"({text(d)})" for d in e.shape)


def _scalar(e: Any) -> bool:
    return (
        not getattr(e, "is_Matrix", False)
        and not isinstance(e, (MatrixExpr, _Ones))
        and not is_tensor(e)
    )


class _Ones:
    """``\\mathbf{1}``: a ones vector whose length comes from its neighbour in a product,
    or is written (``\\mathbf{1}_m``: then the neighbour must have that length)."""

    def __init__(self, size: Any = None, coeff: Any = 1) -> None:
        self.size = size
        self.coeff = coeff  # (1/m) 1ᵀ δ: a number times the ones vector

    def fits(self, n: Any) -> None:
        if self.size is not None and n not in self.size:
            raise ShapeMismatch(
                f"a ones vector of length {' or '.join(sorted(text(k) for k in self.size))} "
                f"where the length {text(n)} is needed"
            )

    def only(self) -> Any:
        if self.size is None or len(self.size) != 1:
            raise FormulaError("\\mathbf{1} \\mathbf{1}ᵀ: the size of the ones vectors is unknown")
        return next(iter(self.size))


def _matmul(a: Any, b: Any) -> Any:
    if isinstance(a, _Ones) and isinstance(b, _Ones):  # 1_n 1_nᵀ: the n×n ones matrix
        return MatMul(a.coeff * b.coeff, OneMatrix(a.only(), b.only())).doit(deep=False)
    if isinstance(a, _Ones) and isinstance(b, MatrixExpr):
        a.fits(b.shape[0])
        return MatMul(a.coeff, OneMatrix(1, b.shape[0]), b).doit(deep=False)
    if isinstance(b, _Ones) and isinstance(a, MatrixExpr):
        b.fits(a.shape[1])
        return MatMul(b.coeff, a, OneMatrix(a.shape[1], 1)).doit(deep=False)
    if isinstance(a, _Ones) or isinstance(b, _Ones):
        ones, other = (a, b) if isinstance(a, _Ones) else (b, a)
        if not _scalar(other):
            raise ShapeMismatch(f"\\mathbf{{1}} {text(other)}: a ones vector multiplies a matrix")
        return _Ones(ones.size, ones.coeff * other)
    if _scalar(a) or _scalar(b):
        return a * b
    if is_tensor(a) or is_tensor(b):
        raise ShapeMismatch(
            f"{text(a)} {text(b)}: a feature map or kernel has no matrix product "
            f"({text(a)} is {shape_text(_wrap(a))}, {text(b)} is {shape_text(_wrap(b))})"
        )
    if a.shape[1] != b.shape[0]:
        raise ShapeMismatch(
            f"{text(a)} {text(b)}: {text(a)} is {shape_text(a)}, {text(b)} is {shape_text(b)}"
        )
    return MatMul(a, b).doit(deep=False)


def _matmul_or_hadamard(a: Any, b: Any) -> Any:
    try:
        return _matmul(a, b)
    except ShapeMismatch:
        return _had(a, b)


def _reading_key(e: Any) -> Any:
    """``(a ⊙ b) ⊙ c`` and ``a ⊙ (b ⊙ c)`` are one reading: Hadamard chains are flattened."""
    if not isinstance(e, HadamardProduct):
        return e
    factors: list[Any] = []
    stack = [e]
    while stack:
        f = stack.pop()
        if isinstance(f, HadamardProduct):
            stack += reversed(f.args)
        else:
            factors.append(f)
    return ("⊙", *factors)


def _surely_misfit(op: Any, a: Any, b: Any) -> bool:
    """Whether ``op(a, b)`` is sure to raise ShapeMismatch: two plain matrices whose shapes
    do not fit. Checked first so that the message of a failure nobody reads (one per
    rejected reading) is not printed.
    """
    plain = all(isinstance(e, MatrixExpr) and not is_tensor(e) for e in (a, b))
    if not plain:
        return False
    if op is _matmul:
        return bool(a.shape[1] != b.shape[0])
    if op is _had:
        return bool(a.shape != b.shape)
    return False


class _Shaped:
    def __init__(self, shape: tuple[Any, ...]) -> None:
        self.shape = shape


def _wrap(e: Any) -> Any:
    return _Shaped(tensor_shape(e)) if is_tensor(e) else e


def _had(a: Any, b: Any, op: str = "⊙") -> Any:
    if isinstance(a, _Ones) or isinstance(b, _Ones):
        ones, other = (a, b) if isinstance(a, _Ones) else (b, a)
        if _scalar(other):  # c ⊙ 1: the number scales the ones vector (as in a product)
            return _Ones(ones.size, ones.coeff * other)
    if _scalar(a) or _scalar(b):
        return a * b
    if isinstance(a, _Ones) or isinstance(b, _Ones):
        return b if isinstance(a, _Ones) else a
    if is_tensor(a) or is_tensor(b):
        if not (is_tensor(a) and is_tensor(b)) or tensor_shape(a) != tensor_shape(b):
            raise ShapeMismatch(
                f"{text(a)} {op} {text(b)}: {text(a)} is {shape_text(_wrap(a))}, "
                f"{text(b)} is {shape_text(_wrap(b))}"
            )
        return hadamard(a, b)
    if a.shape != b.shape:
        raise ShapeMismatch(
            f"{text(a)} {op} {text(b)}: {text(a)} is {shape_text(a)}, {text(b)} is {shape_text(b)}"
        )
    return hadamard(a, b)


def _holds(op: str, c: Any) -> Any:
    """The condition ``x op c`` on the scalar variable."""
    rel = {">": sympy.StrictGreaterThan, ">=": sympy.GreaterThan, "<": sympy.StrictLessThan}
    return rel.get(op, sympy.LessThan)(XVAR, c)


def broadcast(a: Any, b: Any, both: bool = False) -> tuple[Any, Any]:
    """NumPy's broadcasting of two matrices: an (n, 1) or (1, n) operand is repeated
    (``s 1ᵀ``, ``1 s``) to the other's shape; with ``both``, a row and a column both to
    (m, n) (layer norm's per-sample σ with a per-feature γ: only where the derivation has
    such broadcasts, so that ``W2.T * dZ2`` is no outer product elsewhere); anything else
    is returned as it is."""
    if not all(isinstance(e, MatrixExpr) and not is_tensor(e) for e in (a, b)):
        return a, b
    if a.shape == b.shape:
        return a, b

    def grow(x: Any, shape: tuple[Any, Any]) -> Any:
        r, c = x.shape
        if r == shape[0] and c == 1 and shape[1] != 1:
            return MatMul(x, OneMatrix(1, shape[1])).doit(deep=False)
        if c == shape[1] and r == 1 and shape[0] != 1:
            return MatMul(OneMatrix(shape[0], 1), x).doit(deep=False)
        return x

    (ra, ca), (rb, cb) = a.shape, b.shape
    if both and (ra, cb) == (1, 1) and ca != 1 and rb != 1:  # a row and a column: both grow
        return grow(a, (rb, ca)), grow(b, (rb, ca))
    if both and (ca, rb) == (1, 1) and ra != 1 and cb != 1:
        return grow(a, (ra, cb)), grow(b, (ra, cb))
    return grow(a, b.shape), grow(b, a.shape)


def _add(a: Any, b: Any, sign: int) -> Any:
    if _scalar(a) and _scalar(b):
        return a + sign * b
    if (is_tensor(a) and _scalar(b)) or (_scalar(a) and is_tensor(b)):
        # 1 - A ⊙ A: a number added to every entry
        c, t = (a, b) if _scalar(a) else (b, a)
        t = t if sign > 0 or _scalar(b) else tensor_scale(t, -1)
        c = c if sign > 0 or _scalar(a) else -c
        return TensorElementwise("shift", sympy.Lambda(XVAR, c + XVAR), t)
    if is_tensor(a) or is_tensor(b):
        op = "+" if sign > 0 else "−"
        fits = is_tensor(a) and is_tensor(b)
        if fits and tensor_shape(a) != tensor_shape(b):
            # a per-channel bias b (C,) added to maps (m, C, H, W) broadcasts
            from derive.core.nodes import ChannelBias

            sa, sb = tensor_shape(a), tensor_shape(b)
            if len(sb) == 1 and len(sa) == 4 and sb[0] == sa[1]:
                b = ChannelBias(b, sa)
            elif len(sa) == 1 and len(sb) == 4 and sa[0] == sb[1]:
                a = ChannelBias(a, sb)
            else:
                fits = False
        if not fits:
            raise ShapeMismatch(
                f"{text(a)} {op} {text(b)}: {text(a)} is {shape_text(_wrap(a))}, "
                f"{text(b)} is {shape_text(_wrap(b))}"
            )
        return a + b if sign > 0 else a + tensor_scale(b, -1)
    if _scalar(a):
        a = a * OneMatrix(*b.shape)
    if _scalar(b):
        b = b * OneMatrix(*a.shape)
    if isinstance(a, _Ones):
        a = OneMatrix(*b.shape)
    if isinstance(b, _Ones):
        b = OneMatrix(*a.shape)
    if a.shape != b.shape:
        op = "+" if sign > 0 else "−"
        raise ShapeMismatch(
            f"{text(a)} {op} {text(b)}: {text(a)} is {shape_text(a)}, {text(b)} is {shape_text(b)}"
        )
    return (a + b) if sign > 0 else (a - b)


def cotangent_symbol(k: int, shape: tuple[Any, ...]) -> Any:
    """``dA_k``: the cotangent of A_k, a matrix or a tensor like A_k."""
    return MatrixSymbol(f"dA_{k}", *shape) if len(shape) == 2 else TensorSymbol(f"dA_{k}", *shape)


def unique(exprs: list[Any]) -> list[Any]:
    """The readings without repeats (one all-ones factor stands for any size)."""
    out: list[Any] = []
    for e in exprs:
        if isinstance(e, _Ones):
            continue
        if all(e != o for o in out):
            out.append(e)
    return out
