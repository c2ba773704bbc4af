"""The explicit oracle's domain: matrices of SymPy scalars, and its interpreter.

``SympyDomain`` is the domain of the core's one interpreter (``derive.core.interpret``)
in which every entry is a SymPy scalar (feature maps: object arrays of them);
``EXPLICIT`` is that interpreter. ``explicit_conv`` and ``explicit_program`` register
its own evaluators of the feature-map and the issue-14 nodes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import sympy

from derive.core.interpret import Domain, Env, Interpreter
from derive.core.nodes import ElementwiseOf


def _params(env: Env) -> dict[Any, Any]:
    return {k: v for k, v in env.items() if isinstance(k, sympy.Symbol)}


class SympyDomain(Domain):
    """Matrices of SymPy scalars (feature maps: object arrays of them): every entry is an
    expression in the parameters' entries, for ``sympy.diff``."""

    name = "explicit"

    def fallback(self, expr: Any, env: Env) -> Any:
        """A scalar expression of plain symbols, with their values substituted."""
        if isinstance(expr, sympy.Expr) and not expr.has(sympy.MatrixExpr):
            return expr.xreplace(
                {k: v for k, v in env.items() if not isinstance(v, sympy.MatrixBase)}
            )
        return super().fallback(expr, env)

    def dim(self, d: Any, env: Env) -> int:
        """A size with the width symbols in ``env`` substituted."""
        expr = d if isinstance(d, sympy.Basic) else sympy.Integer(d)
        return int(expr.xreplace(env))

    def ones(self, rows: int, cols: int) -> Any:
        """The all-ones matrix."""
        return sympy.ones(rows, cols)

    def zeros(self, rows: int, cols: int) -> Any:
        """The zero matrix."""
        return sympy.zeros(rows, cols)

    def eye(self, n: int) -> Any:
        """The identity matrix."""
        return sympy.eye(n)

    def matmul(self, a: Any, b: Any) -> Any:
        """SymPy's matrix product."""
        return a * b

    def hadamard(self, a: Any, b: Any) -> Any:
        """Entry by entry (``multiply_elementwise`` for SymPy matrices)."""
        return a.multiply_elementwise(b) if isinstance(a, sympy.MatrixBase) else a * b

    def power(self, a: Any, p: Any) -> Any:
        """Every entry to the power ``p``."""
        return a.applyfunc(lambda v: v**p)

    def apply(self, node: ElementwiseOf, value: Any, env: Env) -> Any:
        """The scalar formula at every entry, hyperparameters substituted."""
        f = node.scalar()
        params = _params(env)
        if isinstance(value, np.ndarray):
            return _map(lambda v: f(v).xreplace(params), value)
        return value.applyfunc(lambda v: f(v).xreplace(params))

    def softmax(self, z: Any, axis: int) -> Any:
        """``exp(z_i) / Σ_j exp(z_j)`` per sample, as written."""
        ex = z.applyfunc(sympy.exp)
        if axis == 0:
            sums = [sum(ex[:, j]) for j in range(ex.cols)]
            return sympy.Matrix(ex.rows, ex.cols, lambda i, j: ex[i, j] / sums[j])
        sums = [sum(ex[i, :]) for i in range(ex.rows)]
        return sympy.Matrix(ex.rows, ex.cols, lambda i, j: ex[i, j] / sums[i])

    def sum_squares(self, v: Any) -> Any:
        """``Σ v²`` over every entry (of a matrix or a feature map)."""
        entries = v.flat if isinstance(v, np.ndarray) else v
        return sum(x**2 for x in entries)

    def cross_entropy(self, a: Any, y: Any) -> Any:
        """``-Σ y log a``."""
        return -sum(yv * sympy.log(av) for yv, av in zip(y, a))

    def binary_cross_entropy(self, a: Any, y: Any) -> Any:
        """``-Σ y log a + (1 - y) log(1 - a)``."""
        return -sum(yv * sympy.log(av) + (1 - yv) * sympy.log(1 - av) for yv, av in zip(y, a))

    def add(self, values: list[Any]) -> Any:
        """A SymPy sum, or feature maps added entry by entry."""
        if any(isinstance(v, np.ndarray) for v in values):
            return _tensor_sum(values)
        return sympy.Add(*values)

    def mul(self, values: list[Any]) -> Any:
        """A SymPy product, or a scalar times a feature map."""
        if any(isinstance(v, np.ndarray) for v in values):
            scalar = sympy.Mul(*[v for v in values if not isinstance(v, np.ndarray)])
            (tensor,) = [v for v in values if isinstance(v, np.ndarray)]
            return _map(lambda v: scalar * v, tensor)
        return sympy.Mul(*values)


#: The explicit interpreter: the shared entries plus its own (explicit_conv, explicit_program).
EXPLICIT = Interpreter(SympyDomain())
EVAL = EXPLICIT.table
evaluate = EXPLICIT.evaluate
_on = EXPLICIT.on


def _dim(d: Any, env: Env) -> int:
    return EXPLICIT.domain.dim(d, env)


def _map(fn: Callable[[Any], Any], t: np.ndarray) -> np.ndarray:
    out = np.empty(t.shape, dtype=object)
    for idx in np.ndindex(t.shape):
        out[idx] = fn(t[idx])
    return out


def _tensor_sum(vals: list[np.ndarray]) -> np.ndarray:
    out = vals[0]
    for v in vals[1:]:
        out = out + v
    return out


@_on(sympy.Pow)
def _pow(e: Any, env: Env) -> Any:
    return evaluate(e.base, env) ** evaluate(e.exp, env)
