"""NumPy convolution and pooling, vectorised: ``sliding_window_view`` + einsum/tensordot.

The same functions serve the checker's interpreter and the exported NumPy module (whose
source includes the ones it uses), so there is one implementation to trust. There are
no Python loops over pixels: a loop runs at most over the k x k offsets of a window.
Which contraction is faster was measured side by side (benchmarks/gradients.py shapes):
``einsum`` for the forward and input-gradient correlations, ``tensordot`` (BLAS) for the
kernel gradient, where einsum was ~2× slower; pooling works on k² strided slices, ~15×
faster than reducing the window view.
Layout is NCHW (samples, channels, height, width); kernels are (C_out, C_in, k, k).
"""

from __future__ import annotations

from typing import Any

import numpy

Array = Any


def _pad(A: Array, p: int) -> Array:
    """Zero padding of p pixels on every side of the two image axes."""
    if p == 0:
        return A
    return numpy.pad(A, ((0, 0), (0, 0), (p, p), (p, p)))


def _windows(A: Array, k: int, s: int) -> Array:
    """Every k x k window of A at stride s: shape (N, C, H', W', k, k), a view."""
    view = numpy.lib.stride_tricks.sliding_window_view(A, (k, k), axis=(2, 3))
    return view[:, :, ::s, ::s]


def conv2d(A: Array, K: Array, s: int, p: int) -> Array:
    """``K ⋆ A``: Z[n,o,i,j] = Σ_{c,u,v} K[o,c,u,v] A_p[n,c,s i+u,s j+v]."""
    k = K.shape[2]
    return numpy.einsum("nchwuv,ocuv->nohw", _windows(_pad(A, p), k, s), K, optimize=True)


def _dilate(G: Array, s: int) -> Array:
    """G with s - 1 zeros between neighbouring entries (the stride undone)."""
    if s == 1:
        return G
    n, c, h, w = G.shape
    out = numpy.zeros((n, c, (h - 1) * s + 1, (w - 1) * s + 1), dtype=G.dtype)
    out[:, :, ::s, ::s] = G
    return out


def conv2d_back_input(G: Array, K: Array, s: int, p: int, h: int, w: int) -> Array:
    """``(G * rot180(K))_full``: G dilated by s, zero-padded by k - 1, correlated with the
    flipped kernel (input and output channels swapped), then cropped by p to (h, w)."""
    k = K.shape[2]
    full = _pad(_dilate(G, s), k - 1)
    flipped = K[:, :, ::-1, ::-1]
    out = numpy.einsum("nohwuv,ocuv->nchw", _windows(full, k, 1), flipped, optimize=True)
    return out[:, :, p : p + h, p : p + w]


def conv2d_back_kernel(A: Array, G: Array, s: int, p: int, k: int) -> Array:
    """``A ⋆ G``: K_bar[o,c,u,v] = Σ_{n,i,j} G[n,o,i,j] A_p[n,c,s i+u,s j+v]."""
    win = _windows(_pad(A, p), k, s)[:, :, : G.shape[2], : G.shape[3]]
    return numpy.tensordot(G, win, axes=([0, 2, 3], [0, 2, 3]))


def _offsets(A: Array, k: int, s: int) -> list[Array]:
    """The k² strided slices of A: entry (u, v) of every k x k window at stride s."""
    h, w = (A.shape[2] - k) // s + 1, (A.shape[3] - k) // s + 1
    return [A[:, :, u : u + s * h : s, v : v + s * w : s] for u in range(k) for v in range(k)]


def maxpool2d(A: Array, k: int, s: int) -> Array:
    """The maximum of every k x k window at stride s."""
    return numpy.maximum.reduce(_offsets(A, k, s))


def maxpool2d_back(G: Array, A: Array, k: int, s: int) -> Array:
    """Each window's G goes to the position of its maximum in A (the first, on ties).

    Offset by offset, the entries equal to the window's maximum and not yet taken by an
    earlier offset receive G: no k²-deep stack and arg-max (4× slower, measured).
    """
    h, w = G.shape[2:]
    slices = _offsets(A, k, s)
    top = numpy.maximum.reduce(slices)
    out = numpy.zeros(A.shape, dtype=G.dtype)
    taken = numpy.zeros(G.shape, dtype=bool)
    for i, entry in enumerate(slices):
        u, v = divmod(i, k)
        hit = numpy.equal(entry, top)
        numpy.logical_and(hit, ~taken, out=hit)
        numpy.logical_or(taken, hit, out=taken)
        target = out[:, :, u : u + s * h : s, v : v + s * w : s]
        if s >= k:  # windows do not overlap: each pixel gets one window's value
            numpy.multiply(G, hit, out=target)
        else:  # overlapping windows: a pixel that is the maximum of several adds them up
            target += G * hit
    return out


def avgpool2d(A: Array, k: int, s: int) -> Array:
    """The mean of every k x k window at stride s."""
    return sum(_offsets(A, k, s)) / (k * k)


def avgpool2d_back(G: Array, A: Array, k: int, s: int) -> Array:
    """Each window's G spread evenly, G / k² on each of its pixels."""
    h, w = G.shape[2:]
    out = numpy.zeros(A.shape, dtype=G.dtype)
    share = G / (k * k)
    for u in range(k):
        for v in range(k):
            out[:, :, u : u + s * h : s, v : v + s * w : s] += share
    return out


#: Which helpers each exported call needs (the module includes their source).
NEEDS = {
    "conv2d": ("_pad", "_windows", "conv2d"),
    "conv2d_back_input": ("_pad", "_windows", "_dilate", "conv2d_back_input"),
    "conv2d_back_kernel": ("_pad", "_windows", "conv2d_back_kernel"),
    "maxpool2d": ("_offsets", "maxpool2d"),
    "maxpool2d_back": ("_offsets", "maxpool2d_back"),
    "avgpool2d": ("_offsets", "avgpool2d"),
    "avgpool2d_back": ("avgpool2d_back",),
}
