"""The NumPy value domain of the one interpreter (``derive.core.interpret``).

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
from sympy.matrices.expressions import Determinant, Inverse, Trace

from derive.core import convops
from derive.core.interpret import Domain, Env, Interpreter
from derive.core.nodes import (
    ArgMaxAllMask,
    ArgMaxMask,
    Broadcast,
    ChannelBias,
    ChannelSum,
    Concat,
    ConvBackInput,
    ConvBackKernel,
    Correlate,
    ElementwiseOf,
    Flatten,
    Indicator,
    Labels,
    LogDet,
    LogSoftmax,
    Norm,
    OneHot,
    Pick,
    Pool,
    Reduce,
    ReduceAll,
    Slice,
    TensorSymbol,
    Unflatten,
    Unpool,
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


# --------------------------------------------------------------------------- issue 14 primitives


_REDUCERS: dict[str, Callable[..., Any]] = {"sum": np.sum, "mean": np.mean, "max": np.max}


@on(Reduce)
def _reduce(e: Reduce, env: Env) -> Any:
    x = evaluate(e.arg, env)
    return _REDUCERS[e.op](x, axis=e.axis, keepdims=True)


def _first_max_mask(x: Any, axis: int) -> Any:
    """1 at the first maximum along ``axis`` (NumPy's argmax), 0 elsewhere."""
    mask = np.zeros_like(x, dtype=float)
    idx = np.expand_dims(np.argmax(x, axis=axis), axis)
    np.put_along_axis(mask, idx, 1.0, axis=axis)
    return mask


@on(ArgMaxMask)
def _argmax_mask(e: ArgMaxMask, env: Env) -> Any:
    return _first_max_mask(evaluate(e.arg, env), e.axis)


@on(ArgMaxAllMask)
def _argmax_all_mask(e: ArgMaxAllMask, env: Env) -> Any:
    x = evaluate(e.arg, env)
    mask = np.zeros_like(x, dtype=float)
    mask.flat[np.argmax(x)] = 1.0
    return mask


@on(Broadcast)
def _broadcast(e: Broadcast, env: Env) -> Any:
    d = NUMPY.domain
    shape = (d.dim(e.shape[0], env), d.dim(e.shape[1], env))
    return np.broadcast_to(np.asarray(evaluate(e.arg, env), dtype=float), shape).copy()


@on(Slice)
def _slice(e: Slice, env: Env) -> Any:
    d = NUMPY.domain
    lo, hi = d.dim(e.start, env), d.dim(e.stop, env)
    x = np.asarray(evaluate(e.arg, env), dtype=float)
    return (x[:, lo:hi] if e.axis == 1 else x[lo:hi, :]).copy()


@on(Concat)
def _concat(e: Concat, env: Env) -> Any:
    return np.concatenate([np.asarray(evaluate(p, env), dtype=float) for p in e.parts], e.axis)


@on(ReduceAll)
def _reduce_all(e: ReduceAll, env: Env) -> Any:
    x = evaluate(e.arg, env)
    return float(_REDUCERS[e.op](x))


_COMPARE = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}


@on(Indicator)
def _indicator(e: Indicator, env: Env) -> Any:
    out = _COMPARE[e.op](evaluate(e.lhs, env), evaluate(e.rhs, env))
    return np.asarray(out, dtype=float)


@on(LogSoftmax)
def _log_softmax(e: LogSoftmax, env: Env) -> Any:
    z = evaluate(e.arg, env)
    shifted = z - z.max(axis=e.axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=e.axis, keepdims=True))


@on(Norm)
def _norm(e: Norm, env: Env) -> Any:
    return float(np.sqrt(np.sum(evaluate(e.arg, env) ** 2)))


@on(Trace)
def _trace(e: Trace, env: Env) -> Any:
    return float(np.trace(evaluate(e.arg, env)))


@on(Inverse)
def _inverse(e: Inverse, env: Env) -> Any:
    return np.linalg.inv(evaluate(e.arg, env))


@on(LogDet)
def _logdet(e: LogDet, env: Env) -> Any:
    _sign, logabs = np.linalg.slogdet(evaluate(e.arg, env))
    return float(logabs)  # log |det X|: -inf where X is singular


@on(Determinant)
def _det(e: Determinant, env: Env) -> Any:
    return float(np.linalg.det(evaluate(e.arg, env)))


@on(Labels)
def _labels(e: Labels, env: Env) -> Any:
    raise KeyError(f"no value for {e.name}")


@on(Pick)
def _pick(e: Pick, env: Env) -> Any:
    s = evaluate(e.arg, env)
    y = np.asarray(evaluate(e.labels, env), dtype=int).reshape(-1)
    if e.axis == 1:
        return s[np.arange(s.shape[0]), y][:, None]
    return s[y, np.arange(s.shape[1])][None, :]


@on(OneHot)
def _one_hot(e: OneHot, env: Env) -> Any:
    d = NUMPY.domain
    rows, cols = d.dim(e.shape[0], env), d.dim(e.shape[1], env)
    y = np.asarray(evaluate(e.labels, env), dtype=int).reshape(-1)
    out = np.zeros((rows, cols))
    if e.axis == 1:
        out[np.arange(rows), y] = 1.0
    else:
        out[y, np.arange(cols)] = 1.0
    return out
