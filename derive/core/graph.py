"""The forward program: single-assignment equations over SymPy matrix symbols.

``Z_l := W_l A_{l-1} + b_l 1^T``, ``A_l := f_l(Z_l)``, …, ``L := s C + R``. Intermediate
values are named symbols, not inlined, so every equation stays small and the reverse walk
stays linear in depth. The same builder makes the program of a *generic* layer ``l``
(symbolic index), from which the delta recurrence is derived.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

import sympy
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol, OneMatrix

from derive.core.nodes import (
    BinaryCrossEntropy,
    ChannelBias,
    Correlate,
    CrossEntropy,
    Elementwise,
    FrobeniusSq,
    Pool,
    Softmax,
    TensorElementwise,
    TensorSymbol,
)
from derive.core.nodes import Flatten as FlattenNode
from derive.spec import Activation, Conv2d, Flatten, Layer, Network, Pool2d, Scalar, Width
from derive.spec.activations import SOFTMAX, TABLE, symbolic_function
from derive.spec.scalar_expr import X as XVAR
from derive.spec.scalar_expr import parse_scalar

#: The layer index of the generic layer.
L_INDEX = sympy.Symbol("l", integer=True, positive=True)
LOSS = sympy.Symbol("L")


def width_symbol(w: Width | sympy.Expr) -> sympy.Expr:
    """A width as SymPy: an Integer, or a positive integer Symbol."""
    if isinstance(w, int):
        return sympy.Integer(w)
    if isinstance(w, sympy.Expr):
        return w
    return sympy.Symbol(w, integer=True, positive=True)


def scalar_symbol(v: Scalar) -> sympy.Expr:
    """A scalar parameter (slope, weight decay) as SymPy: a number or a real Symbol."""
    if isinstance(v, str):
        return sympy.Symbol(v, real=True, positive=v in ("lambda", "lam"))
    if isinstance(v, float):
        return sympy.nsimplify(v, rational=True)
    return sympy.Integer(v)


def index_text(i: int | sympy.Expr) -> str:
    """``1`` -> ``1``; ``l + 1`` -> ``{l+1}`` (the index part of a symbol name)."""
    if isinstance(i, (int, sympy.Integer, sympy.Symbol)):
        return str(i)
    return "{" + str(sympy.sstr(i)).replace(" ", "") + "}"


def layer_symbol(base: str, index: int | sympy.Expr, *shape: Any) -> Any:
    """``W_1``, ``Z_{l+1}``, ``delta_2`` …: printers split the name at the first ``_``.

    Two sizes make a MatrixSymbol; any other number a TensorSymbol (feature maps, kernels).
    """
    name = f"{base}_{index_text(index)}"
    return MatrixSymbol(name, *shape) if len(shape) == 2 else TensorSymbol(name, *shape)


def index_at(index: str, layer: int) -> int | None:
    """The value of a generic index (``l``, ``l+1``, ``l-1``) at ``l = layer``."""
    m = re.fullmatch(r"l(?:([+-])(\d+))?", index)
    if m is None:
        return None
    offset = int(m.group(2) or 0) * (-1 if m.group(1) == "-" else 1)
    return layer + offset


def split_name(name: str) -> tuple[str, str]:
    """``'W_{l+1}'`` -> ``('W', 'l+1')``; ``'X'`` -> ``('X', '')``."""
    base, _, idx = name.partition("_")
    return base, idx[1:-1] if idx.startswith("{") and idx.endswith("}") else idx


def activation_node(act: Activation, z: Any, axis: int, layer: Any = None) -> Any:
    """The node applying ``act`` to ``z`` (softmax over the sample axis)."""
    if act.name == SOFTMAX:
        return Softmax(z, axis)
    params = {k: scalar_symbol(v) for k, v in act.params}
    if act.name == "custom":
        body = parse_scalar(act.expr or "", params)
        name = act.symbol or "f"
    elif act.name == "symbolic":
        name = act.symbol or "f"
        body = symbolic_function(name)(XVAR)
    else:
        kind = TABLE[act.name]
        merged = {**kind.defaults, **params}
        body = kind.body(merged)
        name = act.name
    cls = TensorElementwise if len(z.shape) != 2 else Elementwise
    return cls(name, sympy.Lambda(XVAR, body), z)


class Kind(str, Enum):
    """What an equation of the forward program computes (a ``str``, so it prints as its value)."""

    AFFINE = "affine"  # Z_l := W_l A_{l-1} + b_l 1ᵀ, or a convolution plus a channel bias
    ACTIVATION = "activation"  # A_l := f(Z_l)
    POOL = "pool"  # A_l := pool(A_{l-1})
    FLATTEN = "flatten"  # A_l := flatten(A_{l-1})
    MAP = "map"  # A_l := g(A_{l-1}), any other layer with no pre-activation
    STAGE = "stage"  # an intermediate inside a layer (a batch norm's mean, variance, x̂)
    LOSS = "loss"  # L := s C + R

    def __str__(self) -> str:
        return self.value

    @property
    def names_delta(self) -> bool:
        """Whether the walk names the cotangent of this equation's output ``δ_l``: a
        pre-activation's, or a layer's output where the layer has no pre-activation."""
        return self in (Kind.AFFINE, Kind.POOL, Kind.FLATTEN, Kind.MAP)


class Role(str, Enum):
    """What a parameter is to its layer: consumers ask this, never the symbol's name."""

    WEIGHT = "weight"  # a dense layer's W_l
    KERNEL = "kernel"  # a conv layer's K_l
    BIAS = "bias"  # b_l of a dense or a conv layer
    GAIN = "gain"  # γ_l of a normalisation layer
    SHIFT = "shift"  # β_l of a normalisation layer
    PROJECTION = "projection"  # P_l of a residual layer's skip

    def __str__(self) -> str:
        return self.value

    @property
    def decays(self) -> bool:
        """Whether weight decay penalises it (weights, kernels and projections; never
        biases, nor a normalisation's γ and β)."""
        return self in (Role.WEIGHT, Role.KERNEL, Role.PROJECTION)


@dataclass(frozen=True)
class Param:
    """A parameter symbol with its role and the layer it belongs to."""

    symbol: Any
    role: Role
    layer: Any


@dataclass(frozen=True)
class Equation:
    """``out := rhs``; ``kind`` says what it computes; ``layer`` its layer index."""

    out: Any
    rhs: Any
    kind: Kind
    layer: Any = None


@dataclass
class Program:
    """The forward program of a network and the symbols the walk needs to know.

    ``named`` maps each value's name (``X``, ``Y``, ``A_1``, …, and ``out`` for the network
    output) to its symbol, so a consumer asks for a value by name, not by position.
    """

    network: Network
    equations: list[Equation]
    parameters: list[Param]
    inputs: list[Any]
    batch: sympy.Expr
    scale: sympy.Expr
    widths: tuple[sympy.Expr, ...] = ()
    named: dict[str, Any] = field(default_factory=dict)

    @property
    def params(self) -> list[Any]:
        """The parameter symbols, in layer order (weight before bias)."""
        return [p.symbol for p in self.parameters]

    @property
    def column(self) -> bool:
        """Whether samples are columns (else rows)."""
        return self.network.convention == "column"

    @property
    def variables(self) -> set[Any]:
        """Everything the walk computes a cotangent for: parameters and intermediates."""
        return set(self.params) | {eq.out for eq in self.equations}

    @property
    def forward_equations(self) -> list[Equation]:
        """Every equation but the loss."""
        return [eq for eq in self.equations if eq.kind is not Kind.LOSS]

    @property
    def loss_equation(self) -> Equation:
        """``L := s C + R``."""
        return next(eq for eq in self.equations if eq.kind is Kind.LOSS)

    @property
    def output(self) -> Any:
        """The network's output (the last layer's activation)."""
        return self.named["out"]

    def equation(self, out: Any) -> Equation:
        """The equation that defines ``out``."""
        return next(eq for eq in self.equations if eq.out == out)


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


def build(network: Network) -> Program:
    """The forward program of a concrete-depth network (dense or convolutional).

    Each layer is expanded by its builder (``LAYERS``, keyed by the spec record's type),
    which reads its named inputs and returns named outputs.
    """
    ctx = Context(network.convention == "column", width_symbol(network.batch))
    m = ctx.batch
    sizes: list[sympy.Expr] = []
    x: Any
    if isinstance(network.input_width, tuple):
        c, h, w = (width_symbol(v) for v in network.input_width)
        x = TensorSymbol("X", m, c, h, w)
        sizes += [c, h, w]
    else:
        n_in = width_symbol(network.input_width)
        x = MatrixSymbol("X", *((n_in, m) if ctx.column else (m, n_in)))
        sizes.append(n_in)
    named: dict[str, Any] = {"X": x, "A_0": x}
    equations: list[Equation] = []
    params: list[Param] = []
    a = x
    for layer_no, layer in enumerate(network.layers, start=1):
        block = LAYERS[type(layer)](ctx, layer_no, layer, {**named, "in": a})
        equations += block.equations
        params += block.parameters
        sizes += block.sizes
        a = block.outputs["out"]
        named |= {f"{k if k != 'out' else 'A'}_{layer_no}": v for k, v in block.outputs.items()}
    y = MatrixSymbol("Y", *a.shape)
    named |= {"Y": y, "out": a}
    s = batch_scale(network, m)
    weights = [p.symbol for p in params if p.role.decays]
    rhs = s * data_term(network, a, y) + weight_decay(network, m, weights)
    equations.append(Equation(LOSS, rhs, Kind.LOSS))
    inputs = [x, y, *(v for k, v in named.items() if k.startswith("input:"))]
    if network.is_conv:
        widths: tuple[Any, ...] = tuple(dict.fromkeys(v for v in sizes if v.free_symbols))
    else:
        widths = tuple(sizes)
    return Program(network, equations, params, inputs, m, s, widths, named)


def shared_activation(acts: list[Activation]) -> Activation:
    """The activation if every one of ``acts`` is it, else a symbolic ``f``."""
    if acts and all(a == acts[0] for a in acts):
        return acts[0]
    return Activation("symbolic", symbol="f")


def generic_activation(network: Network) -> Activation:
    """The hidden activation if every hidden layer shares it, else a symbolic ``f_l``."""
    return shared_activation([layer.activation for layer in network.dense_layers[:-1]])


def _around_layer_l(
    network: Network, m: Any, a_prev: Any, cur: Block, nxt: Block, widths: tuple[Any, ...]
) -> tuple[Program, Any, Any]:
    """The program of layer ``l`` and the affine part of layer ``l+1`` (``Z_{l+1}`` is seeded
    with ``δ_{l+1}``, so its activation is not needed), with the weight decay of both."""
    z_next = nxt.outputs["Z"]
    delta_next = layer_symbol("delta", L_INDEX + 1, *z_next.shape)
    equations = [*cur.equations, nxt.equations[0]]
    params = cur.parameters + nxt.parameters
    decay = weight_decay(network, m, [p.symbol for p in params if p.role.decays])
    if decay != 0:
        equations.append(Equation(LOSS, decay, Kind.LOSS))
    named = {
        "A_{l-1}": a_prev,
        "Z_l": cur.outputs["Z"],
        "A_l": cur.outputs["out"],
        "Z_{l+1}": z_next,
    }
    s = batch_scale(network, m)
    return Program(network, equations, params, [a_prev], m, s, widths, named), z_next, delta_next


def build_generic(network: Network) -> tuple[Program, MatrixSymbol, MatrixSymbol]:
    """The program around a hidden layer ``l`` with a symbolic index.

    Returns the program, ``Z_{l+1}`` (whose cotangent is seeded with ``delta_{l+1}``) and the
    ``delta_{l+1}`` symbol. Widths are ``n_{l-1}, n_l, n_{l+1}``.
    """
    ctx = Context(network.convention == "column", width_symbol(network.batch))
    m = ctx.batch
    li = L_INDEX
    nprev, ncur, nnext = (
        sympy.Symbol(f"n_{index_text(i)}", integer=True, positive=True)
        for i in (li - 1, li, li + 1)
    )
    a_prev = layer_symbol("A", li - 1, *((nprev, m) if ctx.column else (m, nprev)))
    act = generic_activation(network)
    cur = dense_layer(ctx, li, a_prev, ncur, act)
    nxt = dense_layer(ctx, li + 1, cur.outputs["out"], nnext, act)
    return _around_layer_l(network, m, a_prev, cur, nxt, (nprev, ncur, nnext))


def build_generic_conv(network: Network) -> tuple[Program, Any, Any]:
    """The program around conv layer ``l`` followed by conv layer ``l+1`` (symbolic index).

    Stride and padding are the network's where all its conv layers agree, else symbols
    ``s`` and ``p``. Returns the program, ``Z_{l+1}`` and the ``delta_{l+1}`` seeding it.
    """
    m = width_symbol(network.batch)
    li = L_INDEX
    convs = [layer for layer in network.layers if isinstance(layer, Conv2d)]
    strides = {c.stride for c in convs}
    pads = {c.padding for c in convs}
    stride: Any = strides.pop() if len(strides) == 1 else sympy.Symbol("s", positive=True)
    padding: Any = pads.pop() if len(pads) == 1 else sympy.Symbol("p", nonnegative=True)

    def size(base: str, i: Any) -> sympy.Symbol:
        return sympy.Symbol(f"{base}_{index_text(i)}", integer=True, positive=True)

    a_prev = layer_symbol("A", li - 1, m, size("C", li - 1), size("h", li - 1), size("w", li - 1))
    act = shared_activation([c.activation for c in convs])
    cur = conv_layer(li, a_prev, size("C", li), size("k", li), stride, padding, act)
    nxt = conv_layer(
        li + 1, cur.outputs["out"], size("C", li + 1), size("k", li + 1), stride, padding, act
    )
    return _around_layer_l(network, m, a_prev, cur, nxt, ())
