"""The layer builders: each spec layer type expands into equations of the program.

``LAYERS`` maps a spec layer type to its builder (``layer_type`` registers one; other
modules register theirs), which takes the layer's named inputs and returns a ``Block``
of equations, parameters and named outputs. The dense, conv, pooling and flatten
builders are here, with the affine map, the batch factor and the loss's data term.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import sympy
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol, OneMatrix

from derive.core.equations import (
    Equation,
    Kind,
    Param,
    Role,
    activation_node,
    layer_symbol,
    scalar_symbol,
    width_symbol,
)
from derive.core.nodes import (
    BinaryCrossEntropy,
    ChannelBias,
    Correlate,
    CrossEntropy,
    FrobeniusSq,
    Pool,
)
from derive.core.nodes import Flatten as FlattenNode
from derive.spec import Activation, Conv2d, Flatten, Layer, Network, Pool2d


def _shapes(column: bool, n_in: Any, n_out: Any, m: Any) -> dict[str, tuple[Any, Any]]:
    if column:
        return {"W": (n_out, n_in), "b": (n_out, 1), "Z": (n_out, m)}
    return {"W": (n_in, n_out), "b": (1, n_out), "Z": (m, n_out)}


def affine(column: bool, w: MatrixExpr, a: MatrixExpr, b: MatrixExpr, m: Any) -> MatrixExpr:
    """``W A + b 1_m^T`` (column) or ``A W + 1_m b`` (row)."""
    if column:
        return w * a + b * OneMatrix(1, m)
    return a * w + OneMatrix(m, 1) * b


def batch_scale(network: Network, m: sympy.Expr) -> sympy.Expr:
    """The factor s in ``L = s Σ_i C_i``: 1/m for a mean over samples, 1 for a sum."""
    return 1 / m if network.loss.is_mean else sympy.Integer(1)


#: Losses whose per-sample term another module builds (``core.norm_blocks``): name -> C.
LOSS_TERMS: dict[str, Callable[[Network, Any, Any, bool], sympy.Expr]] = {}


def data_term(network: Network, out: MatrixExpr, y: MatrixExpr) -> sympy.Expr:
    """``C = Σ_i C_i``, the per-sample losses summed (without the batch factor)."""
    loss = network.loss
    if loss.name in LOSS_TERMS:
        return LOSS_TERMS[loss.name](network, out, y, network.convention == "column")
    if loss.name == "squared_error":
        half = sympy.Rational(1, 2) if loss.reduction in ("half_mean", "half_sum") else 1
        return half * FrobeniusSq(out - y)
    if loss.name == "cross_entropy":
        return CrossEntropy(out, y)
    return BinaryCrossEntropy(out, y)


def weight_decay(network: Network, m: sympy.Expr, weights: list[MatrixSymbol]) -> sympy.Expr:
    """``λ/(2m) Σ_l ||W_l||_F^2`` or 0."""
    if network.loss.weight_decay is None:
        return sympy.Integer(0)
    lam = scalar_symbol(network.loss.weight_decay)
    norms = [FrobeniusSq(w) for w in weights]
    return lam / (2 * m) * (sympy.Add(*norms) if len(norms) > 1 else norms[0])


@dataclass(frozen=True)
class Block:
    """What a layer builder returns: its equations, its parameters and its named outputs.

    ``outputs["out"]`` is what the next layer reads; ``sizes`` are the widths it adds to
    the program's list of sizes (its channels, kernel side or width).
    """

    equations: list[Equation]
    parameters: list[Param]
    outputs: dict[str, Any]
    sizes: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Context:
    """What every layer builder needs to know about the network around it."""

    column: bool
    batch: Any

    @property
    def axis(self) -> int:
        """The feature axis of a matrix (softmax runs along it)."""
        return 0 if self.column else 1


#: A layer builder: the layer's number, its spec record and its named inputs (``in``: the
#: previous layer's output) -> its Block. One entry per spec layer type (``LAYERS``).
Builder = Callable[[Context, Any, Any, dict[str, Any]], Block]


LAYERS: dict[type, Builder] = {}


def layer_type(*records: type) -> Callable[[Builder], Builder]:
    """Register the builder of a spec layer type (a record class of ``derive.spec``)."""

    def register(fn: Builder) -> Builder:
        for record in records:
            LAYERS[record] = fn
        return fn

    return register


def conv_layer(
    layer_no: Any, a: Any, c_out: Any, k: Any, stride: Any, padding: Any, act: Activation
) -> Block:
    """``Z := K ⋆ A_prev + b``, ``A := f(Z)`` of a conv layer; its K and b; its output.

    ``padding`` is ``valid``, ``same`` (``(k - 1)/2``) or a number of pixels.
    """
    pad = {"valid": sympy.Integer(0), "same": (k - 1) / 2}.get(padding, padding)
    kern = layer_symbol("K", layer_no, c_out, a.shape[1], k, k)
    bias = layer_symbol("b", layer_no, c_out)
    corr = Correlate(kern, a, stride, pad)
    z = layer_symbol("Z", layer_no, *corr.shape)
    out = layer_symbol("A", layer_no, *corr.shape)
    eqs = [
        Equation(z, corr + ChannelBias(bias, corr.shape), Kind.AFFINE, layer_no),
        Equation(out, activation_node(act, z, 1, layer_no), Kind.ACTIVATION, layer_no),
    ]
    params = [Param(kern, Role.KERNEL, layer_no), Param(bias, Role.BIAS, layer_no)]
    return Block(eqs, params, {"out": out, "Z": z})


@layer_type(Conv2d)
def _conv2d(ctx: Context, layer_no: Any, layer: Conv2d, inputs: dict[str, Any]) -> Block:
    c_out, k = width_symbol(layer.channels), width_symbol(layer.kernel)
    block = conv_layer(
        layer_no, inputs["in"], c_out, k, layer.stride, layer.padding, layer.activation
    )
    return replace(block, sizes=(c_out, k))


@layer_type(Pool2d)
def _pool2d(ctx: Context, layer_no: Any, layer: Pool2d, inputs: dict[str, Any]) -> Block:
    node = Pool(inputs["in"], layer.mode, layer.size, layer.stride)
    a = layer_symbol("A", layer_no, *node.shape)
    return Block([Equation(a, node, Kind.POOL, layer_no)], [], {"out": a})


@layer_type(Flatten)
def _flatten(ctx: Context, layer_no: Any, layer: Flatten, inputs: dict[str, Any]) -> Block:
    node = FlattenNode(inputs["in"], ctx.column)
    a = layer_symbol("A", layer_no, *node.shape)
    return Block([Equation(a, node, Kind.FLATTEN, layer_no)], [], {"out": a})


def dense_layer(ctx: Context, layer_no: Any, a: Any, n_out: Any, act: Activation) -> Block:
    """``Z := W A_prev + b 1ᵀ`` (or the row form), ``A := f(Z)`` of a dense layer."""
    n_in = a.shape[0] if ctx.column else a.shape[1]
    shp = _shapes(ctx.column, n_in, n_out, ctx.batch)
    w = layer_symbol("W", layer_no, *shp["W"])
    b = layer_symbol("b", layer_no, *shp["b"])
    z = layer_symbol("Z", layer_no, *shp["Z"])
    out = layer_symbol("A", layer_no, *shp["Z"])
    eqs = [
        Equation(z, affine(ctx.column, w, a, b, ctx.batch), Kind.AFFINE, layer_no),
        Equation(out, activation_node(act, z, ctx.axis, layer_no), Kind.ACTIVATION, layer_no),
    ]
    params = [Param(w, Role.WEIGHT, layer_no), Param(b, Role.BIAS, layer_no)]
    return Block(eqs, params, {"out": out, "Z": z}, (n_out,))


@layer_type(Layer)
def _dense(ctx: Context, layer_no: Any, layer: Layer, inputs: dict[str, Any]) -> Block:
    return dense_layer(ctx, layer_no, inputs["in"], width_symbol(layer.width), layer.activation)
