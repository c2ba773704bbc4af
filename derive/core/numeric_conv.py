"""The NumPy interpreter's entries for feature maps: correlation, its two backward nodes,
the channel bias, pooling and flattening, by ``convops``."""

from __future__ import annotations

from typing import Any

from derive.core import convops
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
from derive.core.numeric_domain import evaluate, on


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
