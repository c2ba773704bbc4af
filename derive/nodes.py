"""The primitives SymPy lacks: elementwise activations, softmax and the scalar losses.

Each is a small SymPy node, so equations stay ordinary SymPy expressions that every
printer and the rule table can dispatch on by class.
"""

from __future__ import annotations

from typing import Any

import sympy
from sympy.core.symbol import Str
from sympy.core.sympify import _sympify
from sympy.matrices.expressions import (
    HadamardProduct,
    MatAdd,
    MatMul,
    MatrixExpr,
    OneMatrix,
    ZeroMatrix,
)


class Elementwise(MatrixExpr):  # type: ignore[misc]
    """``f^{(k)}(Z)``: the k-th derivative of a scalar function applied entry by entry.

    Args are ``(name, Lambda(x, body), Z, k)``; the name is the activation's name in the
    table (or a user's symbol) so printers can write ``\\sigma'(Z_1)``.
    """

    def __new__(cls, name: Any, fn: sympy.Lambda, arg: MatrixExpr, order: int = 0) -> Any:
        name = Str(name) if isinstance(name, str) else name
        arg = _sympify(arg)  # safe: arg is one of our SymPy matrix expressions, never text
        return super().__new__(cls, name, fn, arg, sympy.Integer(order))

    @property
    def name(self) -> str:
        return str(self.args[0])

    @property
    def fn(self) -> sympy.Lambda:
        return self.args[1]

    @property
    def arg(self) -> MatrixExpr:
        return self.args[2]

    @property
    def order(self) -> int:
        return int(self.args[3])

    @property
    def shape(self) -> tuple[Any, Any]:
        return self.arg.shape

    def scalar(self) -> sympy.Lambda:
        """The scalar function this node applies (the order-th derivative)."""
        (x,) = self.fn.variables
        return sympy.Lambda(x, sympy.diff(self.fn.expr, x, self.order))

    def derivative(self) -> MatrixExpr:
        """``f^{(k+1)}(Z)``, or ``c 1`` when that derivative is a constant c."""
        (x,) = self.fn.variables
        d = sympy.diff(self.fn.expr, x, self.order + 1)
        if x not in d.free_symbols and not d.has(sympy.Function):
            return d * OneMatrix(*self.shape) if d != 0 else ZeroMatrix(*self.shape)
        return Elementwise(self.args[0], self.fn, self.arg, self.order + 1)

    def _eval_transpose(self) -> MatrixExpr:
        return Elementwise(self.args[0], self.fn, self.arg.T, self.order)


class Softmax(MatrixExpr):  # type: ignore[misc]
    """Softmax over ``axis`` (0: each column is a sample; 1: each row is a sample)."""

    def __new__(cls, arg: MatrixExpr, axis: int) -> Any:
        return super().__new__(cls, _sympify(arg), sympy.Integer(axis))  # safe: a SymPy expression

    @property
    def arg(self) -> MatrixExpr:
        return self.args[0]

    @property
    def axis(self) -> int:
        return int(self.args[1])

    @property
    def shape(self) -> tuple[Any, Any]:
        return self.arg.shape


class ScalarOfMatrices(sympy.Expr):  # type: ignore[misc]
    """Base of scalar-valued nodes over matrices (the losses)."""

    is_commutative = True
    is_real = True


class FrobeniusSq(ScalarOfMatrices):
    """``||E||_F^2``, the sum of squared entries."""

    @property
    def arg(self) -> MatrixExpr:
        return self.args[0]


class CrossEntropy(ScalarOfMatrices):
    """``-sum(Y ⊙ log A)`` over all entries: the cross-entropy of probabilities A."""

    @property
    def probs(self) -> MatrixExpr:
        return self.args[0]

    @property
    def target(self) -> MatrixExpr:
        return self.args[1]


class BinaryCrossEntropy(ScalarOfMatrices):
    """``-sum(Y ⊙ log A + (1 - Y) ⊙ log(1 - A))`` over all entries."""

    @property
    def probs(self) -> MatrixExpr:
        return self.args[0]

    @property
    def target(self) -> MatrixExpr:
        return self.args[1]


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


def hadamard(*factors: MatrixExpr) -> MatrixExpr:
    """The Hadamard product, with scalar factors pulled out and all-ones factors dropped."""
    coeff: sympy.Expr = sympy.Integer(1)
    kept: list[MatrixExpr] = []
    shape = factors[0].shape
    for f in factors:
        c, rest = split_coeff(f)
        if isinstance(rest, ZeroMatrix):
            return ZeroMatrix(*shape)
        c2, rest = split_coeff(rest) if isinstance(rest, MatMul) else (sympy.Integer(1), rest)
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


def add(terms: list[MatrixExpr]) -> MatrixExpr:
    """Sum of cotangent contributions, in the order they arrived."""
    if len(terms) == 1:
        return terms[0]
    return MatAdd(*terms).doit(deep=False)


def scale(e: MatrixExpr, c: sympy.Expr) -> MatrixExpr:
    """``c e``, multiplying into a sum term by term so coefficients cancel."""
    if c == 1:
        return e
    if isinstance(e, MatAdd):
        return add([scale(t, c) for t in e.args])
    coeff, rest = split_coeff(e)
    total = coeff * c
    if total == 1:
        return rest
    return MatMul(total, rest).doit(deep=False)
