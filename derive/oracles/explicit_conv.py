"""The explicit oracle's feature maps: each node by its textbook definition.

Tensors are NumPy arrays of SymPy scalars (dtype object). Each node is evaluated by its
textbook definition, index by index, with plain loops: slow, obvious and independent of
the vectorised code that the export uses (the full convolution literally: dilate, pad by
k − 1, correlate with the flipped kernel, crop). Importing this module registers them.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import sympy

from derive.core.interpret import Env
from derive.core.nodes import (
    ChannelBias,
    ChannelSum,
    ConvBackInput,
    ConvBackKernel,
    Correlate,
    Flatten,
    Pool,
    Unflatten,
    Unpool,
)
from derive.oracles.explicit_domain import _dim, _on, evaluate


def _at(a: np.ndarray, n: int, c: int, y: int, x: int) -> Any:
    """A[n, c, y, x], zero outside the image (the padding)."""
    if 0 <= y < a.shape[2] and 0 <= x < a.shape[3]:
        return a[n, c, y, x]
    return sympy.Integer(0)


@_on(Correlate)
def _correlate(e: Correlate, env: Env) -> Any:
    k, a = evaluate(e.kernel, env), evaluate(e.input, env)
    s, p = int(e.stride), int(e.padding)
    kk = k.shape[2]
    h = (a.shape[2] + 2 * p - kk) // s + 1
    w = (a.shape[3] + 2 * p - kk) // s + 1
    out = np.empty((a.shape[0], k.shape[0], h, w), dtype=object)
    for n, o, i, j in np.ndindex(out.shape):
        out[n, o, i, j] = sympy.Add(
            *[
                k[o, c, u, v] * _at(a, n, c, s * i + u - p, s * j + v - p)
                for c, u, v in itertools.product(range(k.shape[1]), range(kk), range(kk))
            ]
        )
    return out


@_on(ConvBackInput)
def _conv_back_input(e: ConvBackInput, env: Env) -> Any:
    # literally: dilate G by s, pad by k - 1, correlate with rot180(K), crop p
    g, k = evaluate(e.cot, env), evaluate(e.kernel, env)
    s, p = int(e.stride), int(e.padding)
    like = evaluate(e.like, env)
    kk = k.shape[2]
    dh, dw = (g.shape[2] - 1) * s + 1, (g.shape[3] - 1) * s + 1
    dil = np.full((g.shape[0], g.shape[1], dh, dw), sympy.Integer(0), dtype=object)
    dil[:, :, ::s, ::s] = g
    out = np.empty(like.shape, dtype=object)
    for n, c, y, x in np.ndindex(out.shape):
        out[n, c, y, x] = sympy.Add(
            *[
                _at(dil, n, o, y + p + u - (kk - 1), x + p + v - (kk - 1))
                * k[o, c, kk - 1 - u, kk - 1 - v]
                for o, u, v in itertools.product(range(k.shape[0]), range(kk), range(kk))
            ]
        )
    return out


@_on(ConvBackKernel)
def _conv_back_kernel(e: ConvBackKernel, env: Env) -> Any:
    a, g = evaluate(e.input, env), evaluate(e.cot, env)
    s, p, kk = int(e.stride), int(e.padding), int(e.args[4])
    out = np.empty((g.shape[1], a.shape[1], kk, kk), dtype=object)
    for o, c, u, v in np.ndindex(out.shape):
        out[o, c, u, v] = sympy.Add(
            *[
                g[n, o, i, j] * _at(a, n, c, s * i + u - p, s * j + v - p)
                for n, i, j in np.ndindex(g.shape[0], g.shape[2], g.shape[3])
            ]
        )
    return out


@_on(ChannelBias)
def _channel_bias(e: ChannelBias, env: Env) -> Any:
    b = evaluate(e.bias, env)
    shape = tuple(_dim(d, env) for d in e.shape)
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(shape):
        out[idx] = b[idx[1]]
    return out


@_on(ChannelSum)
def _channel_sum(e: ChannelSum, env: Env) -> Any:
    g = evaluate(e.arg, env)
    out = np.empty((g.shape[1],), dtype=object)
    for o in range(g.shape[1]):
        out[o] = sympy.Add(*g[:, o].flat)
    return out


def _window(a: np.ndarray, n: int, c: int, i: int, j: int, k: int, s: int) -> list[Any]:
    return [a[n, c, s * i + u, s * j + v] for u in range(k) for v in range(k)]


@_on(Pool)
def _pool(e: Pool, env: Env) -> Any:
    a = evaluate(e.input, env)
    k, s = int(e.size), int(e.stride)
    shape = (a.shape[0], a.shape[1], (a.shape[2] - k) // s + 1, (a.shape[3] - k) // s + 1)
    out = np.empty(shape, dtype=object)
    for n, c, i, j in np.ndindex(shape):
        win = _window(a, n, c, i, j, k, s)
        out[n, c, i, j] = sympy.Max(*win) if e.mode == "max" else sympy.Add(*win) / (k * k)
    return out


@_on(Unpool)
def _unpool(e: Unpool, env: Env) -> Any:
    # max: the arg-max indicator of each window, Π_{q≠p} H(a_p - a_q); avg: 1/k² each
    g, a = evaluate(e.cot, env), evaluate(e.input, env)
    k, s = int(e.size), int(e.stride)
    out = np.full(a.shape, sympy.Integer(0), dtype=object)
    for n, c, i, j in np.ndindex(g.shape):
        cells = [(s * i + u, s * j + v) for u in range(k) for v in range(k)]
        for y, x in cells:
            if e.mode == "avg":
                share = g[n, c, i, j] / (k * k)
            else:
                mine = a[n, c, y, x]
                share = g[n, c, i, j] * sympy.Mul(
                    *[sympy.Heaviside(mine - a[n, c, q, r]) for q, r in cells if (q, r) != (y, x)]
                )
            out[n, c, y, x] = out[n, c, y, x] + share
    return out


@_on(Flatten)
def _flatten(e: Flatten, env: Env) -> Any:
    a = evaluate(e.input, env)
    rows = [list(a[n].flat) for n in range(a.shape[0])]
    flat = sympy.ImmutableMatrix(rows)
    return flat.T if e.column else flat


@_on(Unflatten)
def _unflatten(e: Unflatten, env: Env) -> Any:
    g = evaluate(e.arg, env)
    g = g.T if e.column else g
    like = evaluate(e.like, env)
    out = np.empty(like.shape, dtype=object)
    for n in range(like.shape[0]):
        for q, idx in enumerate(np.ndindex(like.shape[1:])):
            out[(n,) + idx] = g[n, q]
    return out
