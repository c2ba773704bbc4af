"""The feature-map nodes of convolutional layers, and their arithmetic.

Convolutional layers work on 4-d tensors (samples, channels, height, width), which
SymPy's matrix expressions cannot hold. These nodes are plain SymPy expressions with a
``shape``; they are non-commutative so SymPy keeps the order of a product, and a scalar
times a tensor is an ordinary ``Mul`` (so 1/m and m cancel as they do for matrices).
"""

from __future__ import annotations

from typing import Any

import sympy
from sympy.core.symbol import Str
from sympy.matrices.expressions import MatrixExpr

from derive.core.layer_nodes import ElementwiseOf
from derive.core.node_checks import split_coeff


class TensorExpr(sympy.Expr):  # type: ignore[misc]
    """Base of the tensor-valued nodes."""

    is_commutative = False
    is_Tensor = True

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        raise NotImplementedError


def _int(v: Any) -> Any:
    return sympy.Integer(v) if isinstance(v, int) else v


class TensorSymbol(TensorExpr):
    """A named tensor: ``K_1`` (C_out, C_in, k, k), ``b_1`` (C_out,), ``A_1`` (m, C, H, W)."""

    role = "leaf"

    def __new__(cls, name: str, *shape: Any) -> Any:
        return super().__new__(cls, Str(name), *(_int(d) for d in shape))

    @property
    def name(self) -> str:
        """The activation's name in the table (or the user's symbol)."""
        return str(self.args[0])

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        return tuple(self.args[1:])

    @property
    def free_symbols(self) -> set[Any]:
        """A named tensor is a free symbol itself (as a MatrixSymbol is)."""
        return {self}

    def _hashable_content(self) -> tuple[Any, ...]:
        return (self.name, *self.shape)


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


class TensorElementwise(ElementwiseOf, TensorExpr):
    """``f^{(k)}(Z)`` on a feature map Z."""

    role = "primitive"

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        return tensor_shape(self.arg)


class TensorHadamard(TensorExpr):
    """``X ⊙ Y`` of tensors."""

    role = "primitive"

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        return tensor_shape(self.args[0])


def tensor_shape(e: Any) -> tuple[Any, ...]:
    """The shape of a tensor expression: a node, or a scalar multiple or sum of nodes."""
    if isinstance(e, TensorExpr):
        return e.shape
    return next(tensor_shape(a) for a in e.args if is_tensor(a))


def is_tensor(e: Any) -> bool:
    """True for a tensor node or a scalar multiple or sum of them."""
    return bool(getattr(e, "is_Tensor", False)) or (
        isinstance(e, (sympy.Mul, sympy.Add)) and any(is_tensor(a) for a in e.args)
    )


def tensor_coeff(e: Any) -> tuple[Any, Any]:
    """``c T`` -> ``(c, T)`` for a tensor, ``c M`` -> ``(c, M)`` for a matrix."""
    if isinstance(e, sympy.Mul) and is_tensor(e):
        c, nc = e.args_cnc()
        if len(nc) != 1:
            raise ValueError(f"a product of tensors is not defined: {e}")
        return sympy.Mul(*c), nc[0]
    return split_coeff(e)


def tensor_scale(e: Any, c: Any) -> Any:
    """``c e`` for a tensor (a SymPy Mul, so coefficients cancel)."""
    return e if c == 1 else sympy.Mul(c, e)


def _tensor_hadamard(factors: tuple[Any, ...]) -> Any:
    """``G ⊙ D ⊙ …`` of feature maps, scalar factors (and constant factors) pulled out."""
    coeff: Any = sympy.Integer(1)
    kept = []
    for f in factors:
        if not is_tensor(f):
            if f == 0:
                return sympy.Integer(0)
            coeff *= f
            continue
        c, body = tensor_coeff(f)
        coeff *= c
        kept.append(body)
    body = kept[0] if len(kept) == 1 else TensorHadamard(*kept)
    return tensor_scale(body, coeff)


def linear(node: Any, g: Any, *rest: Any) -> Any:
    """``node(c G, …) = c node(G, …)`` for the linear nodes (keeps 1/m outside)."""
    c, g = tensor_coeff(g)
    return tensor_scale(node(g, *rest), c)
