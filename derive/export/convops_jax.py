"""The exported JAX module's convolution and pooling: ``jax.lax`` conv and window ops.

Same names and arguments as ``derive.core.convops`` (NumPy); the exported module includes
the source of the functions it calls. Every function is jit-able (static shapes).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy

Array = Any


def conv2d(A: Array, K: Array, s: int, p: int) -> Array:
    """``K ⋆ A`` (cross-correlation, channels summed)."""
    return jax.lax.conv_general_dilated(
        A, K, (s, s), [(p, p), (p, p)], dimension_numbers=("NCHW", "OIHW", "NCHW")
    )


def conv2d_back_input(G: Array, K: Array, s: int, p: int, h: int, w: int) -> Array:
    """``(G * rot180(K))_full``: G dilated by s, padded by k - 1, correlated with the
    flipped kernel (channels swapped), cropped by p."""
    k = K.shape[2]
    flipped = jax.numpy.flip(K, (2, 3)).transpose(1, 0, 2, 3)
    full = jax.lax.conv_general_dilated(
        G,
        flipped,
        (1, 1),
        [(k - 1, k - 1), (k - 1, k - 1)],
        lhs_dilation=(s, s),
        dimension_numbers=("NCHW", "OIHW", "NCHW"),
    )
    return full[:, :, p : p + h, p : p + w]


def conv2d_back_kernel(A: Array, G: Array, s: int, p: int, k: int) -> Array:
    """``A ⋆ G``: samples play the role of channels, G (dilated by s) that of the kernel."""
    out = jax.lax.conv_general_dilated(
        A.transpose(1, 0, 2, 3),
        G.transpose(1, 0, 2, 3),
        (1, 1),
        [(p, p), (p, p)],
        rhs_dilation=(s, s),
        dimension_numbers=("NCHW", "OIHW", "NCHW"),
    )
    return out.transpose(1, 0, 2, 3)[:, :, :k, :k]


def maxpool2d(A: Array, k: int, s: int) -> Array:
    """The maximum of every k x k window at stride s."""
    return jax.lax.reduce_window(
        A, -jax.numpy.inf, jax.lax.max, (1, 1, k, k), (1, 1, s, s), "VALID"
    )


def _offsets(A: Array, k: int, s: int, h: int, w: int) -> list[Array]:
    return [A[:, :, u : u + s * h : s, v : v + s * w : s] for u in range(k) for v in range(k)]


def maxpool2d_back(G: Array, A: Array, k: int, s: int) -> Array:
    """Each window's G goes to the position of its maximum in A (the first, on ties)."""
    h, w = G.shape[2:]
    arg = jax.numpy.argmax(jax.numpy.stack(_offsets(A, k, s, h, w), axis=-1), axis=-1)
    out = jax.numpy.zeros(A.shape, G.dtype)
    for u in range(k):
        for v in range(k):
            routed = jax.numpy.where(arg == u * k + v, G, 0)
            out = out.at[:, :, u : u + s * h : s, v : v + s * w : s].add(routed)
    return out


def avgpool2d(A: Array, k: int, s: int) -> Array:
    """The mean of every k x k window at stride s."""
    total = jax.lax.reduce_window(A, 0.0, jax.lax.add, (1, 1, k, k), (1, 1, s, s), "VALID")
    return total / (k * k)


def avgpool2d_back(G: Array, A: Array, k: int, s: int) -> Array:
    """Each window's G spread evenly, G / k² on each of its pixels."""
    h, w = G.shape[2:]
    out = jax.numpy.zeros(A.shape, G.dtype)
    for u in range(k):
        for v in range(k):
            out = out.at[:, :, u : u + s * h : s, v : v + s * w : s].add(G / (k * k))
    return out


NEEDS = {
    "conv2d": ("conv2d",),
    "conv2d_back_input": ("conv2d_back_input",),
    "conv2d_back_kernel": ("conv2d_back_kernel",),
    "maxpool2d": ("maxpool2d",),
    "maxpool2d_back": ("_offsets", "maxpool2d_back"),
    "avgpool2d": ("avgpool2d",),
    "avgpool2d_back": ("avgpool2d_back",),
}
