"""The nodes of convolutional layers over feature maps: the correlation and its two
backward nodes, the channel bias and its sum, pooling and its backward, flattening and
its inverse (their base and arithmetic are ``tensor_nodes``)."""

from __future__ import annotations

from typing import Any

import sympy
from sympy.core.symbol import Str
from sympy.matrices.expressions import MatrixExpr

from derive.core.tensor_nodes import TensorExpr, _int, tensor_shape


class Correlate(TensorExpr):
    """``K ⋆ A``: the cross-correlation of each sample with each filter, channels summed.

    ``Z[n,o,i,j] = Σ_{c,u,v} K[o,c,u,v] A[n,c,s i+u-p, s j+v-p]`` (zero outside A).
    """

    role = "primitive"

    def __new__(cls, kernel: Any, inp: Any, stride: Any = 1, padding: Any = 0) -> Any:
        return super().__new__(cls, kernel, inp, _int(stride), _int(padding))

    kernel = property(lambda self: self.args[0])
    input = property(lambda self: self.args[1])
    stride = property(lambda self: self.args[2])
    padding = property(lambda self: self.args[3])

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        o, _, k, _ = self.kernel.shape
        m, _, h, w = self.input.shape
        s, p = self.stride, self.padding
        return (m, o, (h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1)


class ConvBackInput(TensorExpr):
    """``(G * rot180(K))_full``: the full convolution of G with the flipped kernel.

    With stride s, G is first dilated (s - 1 zeros between entries); with padding p, the
    result is cropped by p on every side. ``like`` is the layer input, whose shape it has.
    """

    role = "backward"

    def __new__(cls, g: Any, kernel: Any, stride: Any, padding: Any, like: Any) -> Any:
        return super().__new__(cls, g, kernel, _int(stride), _int(padding), like)

    cot = property(lambda self: self.args[0])
    kernel = property(lambda self: self.args[1])
    stride = property(lambda self: self.args[2])
    padding = property(lambda self: self.args[3])
    like = property(lambda self: self.args[4])

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        return tuple(self.like.shape)


class ConvBackKernel(TensorExpr):
    """``A ⋆ G``: the input correlated with the cotangent, summed over samples.

    ``K_bar[o,c,u,v] = Σ_{n,i,j} G[n,o,i,j] A[n,c,s i+u-p, s j+v-p]``: shaped like K.
    """

    role = "backward"

    def __new__(cls, inp: Any, g: Any, stride: Any, padding: Any, k: Any) -> Any:
        return super().__new__(cls, inp, g, _int(stride), _int(padding), _int(k))

    input = property(lambda self: self.args[0])
    cot = property(lambda self: self.args[1])
    stride = property(lambda self: self.args[2])
    padding = property(lambda self: self.args[3])

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        k = self.args[4]
        return (self.cot.shape[1], self.input.shape[1], k, k)


class ChannelBias(TensorExpr):
    """The bias b (one number per channel) broadcast over samples, rows and columns."""

    role = "primitive"

    def __new__(cls, bias: Any, like: tuple[Any, ...]) -> Any:
        return super().__new__(cls, bias, sympy.Tuple(*like))

    bias = property(lambda self: self.args[0])

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        return tuple(self.args[1])


class ChannelSum(TensorExpr):
    """``Σ_{n,i,j} G[n,o,i,j]``: one sum per channel (the bias gradient)."""

    role = "backward"

    arg = property(lambda self: self.args[0])

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        return (tensor_shape(self.arg)[1],)


class Pool(TensorExpr):
    """Max or average pooling of each channel over size x size windows."""

    role = "primitive"

    def __new__(cls, inp: Any, mode: str, size: Any, stride: Any) -> Any:
        return super().__new__(cls, inp, Str(mode), _int(size), _int(stride))

    input = property(lambda self: self.args[0])
    mode = property(lambda self: str(self.args[1]))
    size = property(lambda self: self.args[2])
    stride = property(lambda self: self.args[3])

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        m, c, h, w = self.input.shape
        k, s = self.size, self.stride
        return (m, c, (h - k) / s + 1, (w - k) / s + 1)


class Unpool(TensorExpr):
    """The pooling's transpose: average spreads G evenly over each window (``G / k²`` on
    each of its k² pixels); max routes G to the arg-max pixel of the window in A."""

    role = "backward"

    def __new__(cls, g: Any, inp: Any, mode: str, size: Any, stride: Any) -> Any:
        return super().__new__(cls, g, inp, Str(mode), _int(size), _int(stride))

    cot = property(lambda self: self.args[0])
    input = property(lambda self: self.args[1])
    mode = property(lambda self: str(self.args[2]))
    size = property(lambda self: self.args[3])
    stride = property(lambda self: self.args[4])

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        return tuple(self.input.shape)


class Flatten(MatrixExpr):  # type: ignore[misc]
    """Feature maps (m, C, H, W) as a matrix: one column (or row) of C H W entries per sample."""

    role = "primitive"

    def __new__(cls, inp: Any, column: bool) -> Any:
        return super().__new__(cls, inp, sympy.true if column else sympy.false)

    input = property(lambda self: self.args[0])
    column = property(lambda self: bool(self.args[1]))

    @property
    def shape(self) -> tuple[Any, Any]:
        """The node's shape, from its operands."""
        m, c, h, w = self.input.shape
        n = c * h * w
        return (n, m) if self.column else (m, n)


class Unflatten(TensorExpr):
    """A matrix of per-sample vectors back in the (m, C, H, W) layout of ``like``."""

    role = "backward"

    def __new__(cls, g: Any, like: Any, column: bool) -> Any:
        return super().__new__(cls, g, like, sympy.true if column else sympy.false)

    arg = property(lambda self: self.args[0])
    like = property(lambda self: self.args[1])
    column = property(lambda self: bool(self.args[2]))

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        return tuple(self.like.shape)
