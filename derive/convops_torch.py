"""The exported PyTorch module's convolution and pooling: ``torch.nn.functional`` ops.

Same names and arguments as ``derive.convops`` (NumPy); the exported module includes
the source of the functions it calls. The backward ops are convolutions too (a
transposed convolution is the full convolution with the flipped kernel), not autograd.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional

Array = Any


def conv2d(A: Array, K: Array, s: int, p: int) -> Array:
    """``K ⋆ A`` (cross-correlation, channels summed)."""
    return torch.nn.functional.conv2d(A, K, stride=s, padding=p)


def conv2d_back_input(G: Array, K: Array, s: int, p: int, h: int, w: int) -> Array:
    """``(G * rot180(K))_full`` cropped by p: the transposed convolution."""
    return torch.nn.functional.conv_transpose2d(G, K, stride=s, padding=p)[:, :, :h, :w]


def conv2d_back_kernel(A: Array, G: Array, s: int, p: int, k: int) -> Array:
    """``A ⋆ G``: samples play the role of channels, G (dilated by s) that of the kernel."""
    out = torch.nn.functional.conv2d(A.transpose(0, 1), G.transpose(0, 1), padding=p, dilation=s)
    return out.transpose(0, 1)[:, :, :k, :k]


def maxpool2d(A: Array, k: int, s: int) -> Array:
    """The maximum of every k x k window at stride s."""
    return torch.nn.functional.max_pool2d(A, k, s)


def maxpool2d_back(G: Array, A: Array, k: int, s: int) -> Array:
    """Each window's G goes to the position of its maximum in A (scatter by index)."""
    _, index = torch.nn.functional.max_pool2d(A, k, s, return_indices=True)
    n, c = A.shape[:2]
    out = G.new_zeros((n, c, A.shape[2] * A.shape[3]))
    return out.scatter_add_(2, index.flatten(2), G.flatten(2)).view(A.shape)


def avgpool2d(A: Array, k: int, s: int) -> Array:
    """The mean of every k x k window at stride s."""
    return torch.nn.functional.avg_pool2d(A, k, s)


def avgpool2d_back(G: Array, A: Array, k: int, s: int) -> Array:
    """Each window's G spread evenly: a transposed convolution with a 1/k² kernel."""
    c = A.shape[1]
    ones = G.new_full((c, 1, k, k), 1.0 / (k * k))
    spread = torch.nn.functional.conv_transpose2d(G, ones, stride=s, groups=c)
    return spread[:, :, : A.shape[2], : A.shape[3]]


NEEDS = {
    name: (name,)
    for name in (
        "conv2d",
        "conv2d_back_input",
        "conv2d_back_kernel",
        "maxpool2d",
        "maxpool2d_back",
        "avgpool2d",
        "avgpool2d_back",
    )
}
