"""The feature-map nodes of convolutional layers, and their arithmetic.

Convolutional layers work on 4-d tensors (samples, channels, height, width), which
SymPy's matrix expressions cannot hold. These nodes are plain SymPy expressions with a
``shape``; they are non-commutative so SymPy keeps the order of a product, and a scalar
times a tensor is an ordinary ``Mul`` (so 1/m and m cancel as they do for matrices).

This module holds their base, the named tensor, the entrywise nodes and the arithmetic
of tensor expressions; the convolution and pooling nodes are ``conv_nodes``.
"""

from __future__ import annotations

from typing import Any

import sympy
from sympy.core.symbol import Str

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
