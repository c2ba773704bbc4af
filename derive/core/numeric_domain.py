"""The NumPy value domain of the one interpreter (``derive.core.interpret``): float arrays,
scalar activation formulas compiled once by ``lambdify``. Its entries for feature maps and
the issue-14 primitives are ``numeric_conv`` and ``numeric_program``; import ``numeric``,
which loads them all.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
import sympy

from derive.core.interpret import Domain, Env, Interpreter
from derive.core.nodes import (
    ElementwiseOf,
    TensorSymbol,
)


class NumPyDomain(Domain):
    """Float arrays: what the checker compares a user's formula and the derived one on."""

    name = "numeric"

    def fallback(self, expr: Any, env: Env) -> Any:
        """A scalar SymPy expression of plain symbols, as a float."""
        if isinstance(expr, sympy.Expr) and not expr.has(sympy.MatrixExpr, TensorSymbol):
            return _scalar(expr, env)
        return super().fallback(expr, env)

    def ones(self, rows: int, cols: int) -> Any:
        """The all-ones matrix."""
        return np.ones((rows, cols))

    def zeros(self, rows: int, cols: int) -> Any:
        """The zero matrix."""
        return np.zeros((rows, cols))

    def eye(self, n: int) -> Any:
        """The identity matrix."""
        return np.eye(n)

    def apply(self, node: ElementwiseOf, value: Any, env: Env) -> Any:
        """The activation compiled once by lambdify (a symbolic f gets a smooth stand-in)."""
        fn = node.scalar()
        (x,) = fn.variables
        params = sorted(_standins(fn.expr).free_symbols - {x}, key=str)
        out = _compiled(fn)(value, *[env[p] for p in params])
        return np.broadcast_to(np.asarray(out, dtype=float), value.shape).copy()

    def softmax(self, z: Any, axis: int) -> Any:
        """Shifted by the maximum, so no exp overflows."""
        ex = np.exp(z - z.max(axis=axis, keepdims=True))
        return ex / ex.sum(axis=axis, keepdims=True)

    def sum_squares(self, v: Any) -> Any:
        """``Σ v²`` as a float."""
        return float(np.sum(v**2))

    def cross_entropy(self, a: Any, y: Any) -> Any:
        """``-Σ y log a`` as a float."""
        return float(-np.sum(y * np.log(a)))

    def binary_cross_entropy(self, a: Any, y: Any) -> Any:
        """``-Σ y log a + (1 - y) log(1 - a)`` as a float."""
        return float(-np.sum(y * np.log(a) + (1 - y) * np.log(1 - a)))

    def call(self, func: Any, values: list[Any]) -> Any:
        """A SymPy scalar function of floats, as a float."""
        return float(func(*[sympy.Float(v) for v in values]))

    def add(self, values: list[Any]) -> Any:
        """The sum (starting from 0, as Python's ``sum``)."""
        return sum(values)

    def mul(self, values: list[Any]) -> Any:
        """The product, as a float."""
        out: Any = 1.0
        for v in values:
            out = out * v
        return out


def _scalar(e: Any, env: Env) -> float:
    values = {k: v for k, v in env.items() if isinstance(k, sympy.Symbol)}
    return float(e.xreplace(values))  # sqrt(5)/5 too, which sympy.Float refuses


_T = sympy.Symbol("t", real=True)
#: A smooth stand-in for a symbolic activation f when a number is needed (f' is its
#: derivative, f'' the next): the checker compares formulas, which hold for every f.
STANDIN = sympy.sin(_T) / 2 + _T + _T**2 / 5


def _standins(expr: sympy.Expr) -> sympy.Expr:
    def concrete(e: Any) -> Any:
        order = type(e).__name__.count("'")
        return sympy.diff(STANDIN, _T, order).xreplace({_T: e.args[0]})

    return expr.replace(lambda e: type(e).__module__ == "derive.spec.activations", concrete)


@lru_cache(maxsize=256)
def _compiled(fn: sympy.Lambda) -> Callable[..., Any]:
    (x,) = fn.variables
    body = _standins(fn.expr)
    params = sorted(body.free_symbols - {x}, key=str)
    extra: dict[str, Any] = {"Heaviside": lambda v, h=0.5: np.heaviside(v, h)}
    if body.has(sympy.erf):  # SciPy only where it is needed: importing it takes a while
        from scipy.special import erf

        extra["erf"] = erf
    compiled: Callable[..., Any] = sympy.lambdify(  # our own expression, never user text
        [x, *params], body, modules=[extra, "numpy"]
    )
    return compiled


#: The NumPy interpreter: the shared entries plus the feature-map entries below.
NUMPY = Interpreter(NumPyDomain())
#: Node class -> entry (the coverage test reads it; the checker adds its own nodes).
EVAL = NUMPY.table
evaluate = NUMPY.evaluate
on = NUMPY.on
