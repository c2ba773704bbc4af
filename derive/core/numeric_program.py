"""The NumPy interpreter's entries for the issue-14 primitives: reductions, arg-max masks,
broadcasts, slices, joins, indicators, log-softmax, norms, trace, inverse, determinants,
labels, picks and one-hots."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sympy.matrices.expressions import Determinant, Inverse, Trace

from derive.core.interpret import Env
from derive.core.nodes import (
    ArgMaxAllMask,
    ArgMaxMask,
    Broadcast,
    Concat,
    Indicator,
    Labels,
    LogDet,
    LogSoftmax,
    Norm,
    OneHot,
    Pick,
    Reduce,
    ReduceAll,
    Slice,
)
from derive.core.numeric_domain import NUMPY, evaluate, on

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
