"""A NumPy interpreter of our matrix expressions: one entry per node type.

The formula checker evaluates a user's formula and the derived one on the same random
arrays; it has no module to export for an arbitrary formula, so it interprets the SymPy
tree directly. Scalar activation formulas are compiled once per formula by ``lambdify``
(our own expressions, never a user's string).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
import sympy
from sympy.matrices.expressions import (
    HadamardPower,
    HadamardProduct,
    Identity,
    MatAdd,
    MatMul,
    MatrixSymbol,
    OneMatrix,
    Transpose,
    ZeroMatrix,
)

from derive.core import convops
from derive.core.nodes import (
    BinaryCrossEntropy,
    ChannelBias,
    ChannelSum,
    ConvBackInput,
    ConvBackKernel,
    Correlate,
    CrossEntropy,
    Elementwise,
    Flatten,
    FrobeniusSq,
    Pool,
    Softmax,
    TensorElementwise,
    TensorHadamard,
    TensorSymbol,
    Unflatten,
    Unpool,
)

Env = dict[Any, Any]
EVAL: dict[type, Callable[[Any, Env], Any]] = {}


def on(*classes: type) -> Callable[[Callable[[Any, Env], Any]], Callable[[Any, Env], Any]]:
    """Register the NumPy evaluator of node classes (``EVAL``; the checker adds its own)."""

    def register(fn: Callable[[Any, Env], Any]) -> Callable[[Any, Env], Any]:
        for cls in classes:
            EVAL[cls] = fn
        return fn

    return register


def _scalar(e: Any, env: Env) -> float:
    values = {k: v for k, v in env.items() if isinstance(k, sympy.Symbol)}
    return float(sympy.Float(e.xreplace(values)))


def _dim(d: Any, env: Env) -> int:
    return int(d) if isinstance(d, (int, sympy.Integer)) else int(env[d])


def evaluate(expr: Any, env: Env) -> Any:
    """The value of ``expr`` with symbols from ``env`` (MatrixSymbol -> array, Symbol -> number)."""
    if expr in env:
        return env[expr]
    fn = EVAL.get(type(expr))
    if fn is not None:
        return fn(expr, env)
    if isinstance(expr, sympy.Expr) and not expr.has(sympy.MatrixExpr, TensorSymbol):
        return _scalar(expr, env)
    raise NotImplementedError(f"numeric evaluation of {type(expr).__name__} is not defined")


@on(MatrixSymbol, TensorSymbol)
def _symbol(e: Any, env: Env) -> Any:
    raise KeyError(f"no value for {e.name}")


@on(OneMatrix)
def _ones(e: Any, env: Env) -> Any:
    return np.ones((_dim(e.shape[0], env), _dim(e.shape[1], env)))


@on(ZeroMatrix)
def _zeros(e: Any, env: Env) -> Any:
    return np.zeros((_dim(e.shape[0], env), _dim(e.shape[1], env)))


@on(Identity)
def _eye(e: Any, env: Env) -> Any:
    return np.eye(_dim(e.shape[0], env))


@on(MatAdd)
def _matadd(e: Any, env: Env) -> Any:
    return sum((evaluate(a, env) for a in e.args[1:]), evaluate(e.args[0], env))


@on(MatMul)
def _matmul(e: Any, env: Env) -> Any:
    coeff, factors = e.as_coeff_matrices()
    out = evaluate(factors[0], env)
    for f in factors[1:]:
        out = out @ evaluate(f, env)
    return evaluate(coeff, env) * out


@on(Transpose)
def _transpose(e: Any, env: Env) -> Any:
    return evaluate(e.arg, env).T


@on(HadamardProduct, TensorHadamard)
def _hadamard(e: Any, env: Env) -> Any:
    out = evaluate(e.args[0], env)
    for a in e.args[1:]:
        out = out * evaluate(a, env)
    return out


@on(HadamardPower)
def _hadamard_power(e: Any, env: Env) -> Any:
    return evaluate(e.base, env) ** evaluate(e.exp, env)


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
    return sympy.lambdify([x, *params], body, modules=[extra, "numpy"])  # our own expression


@on(Elementwise, TensorElementwise)
def _elementwise(e: Elementwise, env: Env) -> Any:
    fn = e.scalar()
    (x,) = fn.variables
    params = sorted(_standins(fn.expr).free_symbols - {x}, key=str)
    values = [env[p] for p in params]
    arg = evaluate(e.arg, env)
    out = _compiled(fn)(arg, *values)
    return np.broadcast_to(np.asarray(out, dtype=float), arg.shape).copy()


@on(Softmax)
def _softmax(e: Softmax, env: Env) -> Any:
    z = evaluate(e.arg, env)
    ex = np.exp(z - z.max(axis=e.axis, keepdims=True))
    return ex / ex.sum(axis=e.axis, keepdims=True)


@on(FrobeniusSq)
def _frob(e: Any, env: Env) -> Any:
    return float(np.sum(evaluate(e.arg, env) ** 2))


@on(CrossEntropy)
def _ce(e: Any, env: Env) -> Any:
    return float(-np.sum(evaluate(e.target, env) * np.log(evaluate(e.probs, env))))


@on(BinaryCrossEntropy)
def _bce(e: Any, env: Env) -> Any:
    a, y = evaluate(e.probs, env), evaluate(e.target, env)
    return float(-np.sum(y * np.log(a) + (1 - y) * np.log(1 - a)))


@on(sympy.Add)
def _add(e: Any, env: Env) -> Any:
    return sum(evaluate(a, env) for a in e.args)


@on(sympy.Mul)
def _mul(e: Any, env: Env) -> Any:
    out: Any = 1.0
    for a in e.args:
        out = out * evaluate(a, env)
    return out


# --------------------------------------------------------------------------- feature maps


def _ints(*values: Any) -> list[int]:
    return [int(v) for v in values]


@on(Correlate)
def _correlate(e: Correlate, env: Env) -> Any:
    k, a = evaluate(e.kernel, env), evaluate(e.input, env)
    return convops.conv2d(a, k, *_ints(e.stride, e.padding))


@on(ConvBackInput)
def _conv_back_input(e: ConvBackInput, env: Env) -> Any:
    g, k = evaluate(e.cot, env), evaluate(e.kernel, env)
    h, w = evaluate(e.like, env).shape[2:]
    s, p = _ints(e.stride, e.padding)
    return convops.conv2d_back_input(g, k, s, p, h, w)


@on(ConvBackKernel)
def _conv_back_kernel(e: ConvBackKernel, env: Env) -> Any:
    a, g = evaluate(e.input, env), evaluate(e.cot, env)
    return convops.conv2d_back_kernel(a, g, *_ints(e.stride, e.padding, e.args[4]))


@on(ChannelBias)
def _channel_bias(e: ChannelBias, env: Env) -> Any:
    return evaluate(e.bias, env)[None, :, None, None]


@on(ChannelSum)
def _channel_sum(e: ChannelSum, env: Env) -> Any:
    return evaluate(e.arg, env).sum(axis=(0, 2, 3))


@on(Pool)
def _pool(e: Pool, env: Env) -> Any:
    fn = convops.maxpool2d if e.mode == "max" else convops.avgpool2d
    return fn(evaluate(e.input, env), *_ints(e.size, e.stride))


@on(Unpool)
def _unpool(e: Unpool, env: Env) -> Any:
    fn = convops.maxpool2d_back if e.mode == "max" else convops.avgpool2d_back
    return fn(evaluate(e.cot, env), evaluate(e.input, env), *_ints(e.size, e.stride))


@on(Flatten)
def _flatten(e: Flatten, env: Env) -> Any:
    a = evaluate(e.input, env)
    flat = a.reshape(a.shape[0], -1)
    return flat.T if e.column else flat


@on(Unflatten)
def _unflatten(e: Unflatten, env: Env) -> Any:
    g = evaluate(e.arg, env)
    like = evaluate(e.like, env)
    return (g.T if e.column else g).reshape(like.shape)
