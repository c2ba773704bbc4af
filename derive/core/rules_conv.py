"""The rules of the feature-map primitives: correlation, channel bias, pooling, flatten.

``Ā = (G * rot180(K))_full``, ``K̄ = A ⋆ G``, ``b̄ = Σ_{n,i,j} G``, unpooling and
unflattening; each a row of the one table (``rule_table.RULES``). The backward nodes are
linear in ``G`` and keep scalar factors outside (``linear``).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

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
    linear,
)
from derive.core.rule_table import Contribution, defvjp


@defvjp(Correlate)
def _correlate(node: Correlate, g: Any, ans: Any) -> Iterable[Contribution]:
    # Z = K ⋆ A (stride s, padding p):  A_bar = (G * rot180(K))_full,  K_bar = A ⋆ G
    k, a, s, p = node.args
    return [
        (a, linear(ConvBackInput, g, k, s, p, a)),
        (k, linear(partial(_kernel_grad, a), g, s, p, k.shape[2])),
    ]


def _kernel_grad(a: Any, g: Any, s: Any, p: Any, k: Any) -> ConvBackKernel:
    node: ConvBackKernel = ConvBackKernel(a, g, s, p, k)
    return node


@defvjp(ChannelBias)
def _channel_bias(node: ChannelBias, g: Any, ans: Any) -> Iterable[Contribution]:
    # Z = … + b (per channel):  b_bar = Σ_{n,i,j} G
    return [(node.bias, linear(ChannelSum, g))]


@defvjp(Pool)
def _pool(node: Pool, g: Any, ans: Any) -> Iterable[Contribution]:
    # A = pool(X):  X_bar = unpool(G): max routes G to each window's arg-max, avg spreads
    # G / k² over the window
    return [(node.input, linear(Unpool, g, node.input, node.mode, node.size, node.stride))]


@defvjp(Flatten)
def _flatten(node: Flatten, g: Any, ans: Any) -> Iterable[Contribution]:
    # A = flatten(X):  X_bar = unflatten(G)
    return [(node.input, linear(Unflatten, g, node.input, node.column))]
