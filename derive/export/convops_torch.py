"""The exported PyTorch module's convolution and pooling: ``torch.nn.functional`` ops.

Same names and arguments as ``derive.core.convops`` (NumPy); the exported module includes
the source of the functions it calls. The backward ops are torch's own convolution and
pooling backward kernels (``torch.nn.grad.conv2d_input`` is the full convolution with the
flipped kernel, ``conv2d_weight`` the correlation of the input with the delta), called
directly: no autograd tape. Measured side by side they beat a transposed convolution and
a convolution of transposed (non-contiguous) tensors, and the pooling backward beats a
``scatter_add_``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional
import torch.nn.grad

Array = Any


def conv2d(A: Array, K: Array, s: int, p: int) -> Array:
    """``K ⋆ A`` (cross-correlation, channels summed)."""
    return torch.nn.functional.conv2d(A, K, stride=s, padding=p)


def conv2d_back_input(G: Array, K: Array, s: int, p: int, h: int, w: int) -> Array:
    """``(G * rot180(K))_full`` cropped by p: the convolution's input gradient."""
    size = (G.shape[0], K.shape[1], h, w)
    return torch.nn.grad.conv2d_input(size, K, G, stride=s, padding=p)


def conv2d_back_kernel(A: Array, G: Array, s: int, p: int, k: int) -> Array:
    """``A ⋆ G``: the convolution's kernel gradient."""
    size = (G.shape[1], A.shape[1], k, k)
    return torch.nn.grad.conv2d_weight(A, size, G, stride=s, padding=p)


def maxpool2d(A: Array, k: int, s: int) -> Array:
    """The maximum of every k x k window at stride s."""
    return torch.nn.functional.max_pool2d(A, k, s)


def maxpool2d_back(G: Array, A: Array, k: int, s: int) -> Array:
    """Each window's G goes to the position of its maximum in A (overlaps add up)."""
    _, index = torch.nn.functional.max_pool2d(A, k, s, return_indices=True)
    return torch.ops.aten.max_pool2d_with_indices_backward(
        G, A, [k, k], [s, s], [0, 0], [1, 1], False, index
    )


def maxpool2d_index(A: Array, k: int, s: int) -> Array:
    """The maximum of every k x k window and where it is (kept for the backward pass)."""
    return torch.nn.functional.max_pool2d(A, k, s, return_indices=True)


def maxpool2d_back_index(G: Array, A: Array, index: Array, k: int, s: int) -> Array:
    """``maxpool2d_back`` with the forward pass's arg-max indices: no second pooling."""
    return torch.ops.aten.max_pool2d_with_indices_backward(
        G, A, [k, k], [s, s], [0, 0], [1, 1], False, index
    )


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
        "maxpool2d_index",
        "maxpool2d_back_index",
        "avgpool2d",
        "avgpool2d_back",
    )
}
