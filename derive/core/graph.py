"""The forward program: single-assignment equations over SymPy matrix symbols.

``Z_l := W_l A_{l-1} + b_l 1^T``, ``A_l := f_l(Z_l)``, …, ``L := s C + R``. Intermediate
values are named symbols, not inlined, so every equation stays small and the reverse walk
stays linear in depth. The same builder makes the program of a *generic* layer ``l``
(symbolic index), from which the delta recurrence is derived.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sympy
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol, OneMatrix

from derive.core.nodes import (
    BinaryCrossEntropy,
    ChannelBias,
    Correlate,
    CrossEntropy,
    Elementwise,
    Flatten,
    FrobeniusSq,
    Pool,
    Softmax,
    TensorElementwise,
    TensorSymbol,
)
from derive.spec import Activation, Conv2d, Layer, Network, Pool2d, Scalar, Width
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


@dataclass(frozen=True)
class Equation:
    """``out := rhs``; ``kind`` is affine, activation or loss; ``layer`` its layer index."""

    out: Any
    rhs: Any
    kind: str
    layer: Any = None


@dataclass
class Program:
    """The forward program of a network and the symbols the walk needs to know."""

    network: Network
    equations: list[Equation]
    params: list[MatrixSymbol]
    inputs: list[MatrixSymbol]
    batch: sympy.Expr
    scale: sympy.Expr
    widths: tuple[sympy.Expr, ...] = ()

    @property
    def column(self) -> bool:
        """Whether samples are columns (else rows)."""
        return self.network.convention == "column"

    @property
    def variables(self) -> set[Any]:
        """Everything the walk computes a cotangent for: parameters and intermediates."""
        return set(self.params) | {eq.out for eq in self.equations}


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


def data_term(network: Network, out: MatrixExpr, y: MatrixExpr) -> sympy.Expr:
    """``C = Σ_i C_i``, the per-sample losses summed (without the batch factor)."""
    loss = network.loss
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


def conv_layer(
    layer_no: Any, a: Any, c_out: Any, k: Any, stride: Any, padding: Any, act: Activation
) -> tuple[list[Equation], list[Any], Any]:
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
        Equation(z, corr + ChannelBias(bias, corr.shape), "affine", layer_no),
        Equation(out, activation_node(act, z, 1, layer_no), "activation", layer_no),
    ]
    return eqs, [kern, bias], out


def build(network: Network) -> Program:
    """The forward program of a concrete-depth network (dense or convolutional)."""
    column = network.convention == "column"
    m = width_symbol(network.batch)
    axis = 0 if column else 1
    equations: list[Equation] = []
    params: list[Any] = []
    sizes: list[sympy.Expr] = []
    a: Any
    if isinstance(network.input_width, tuple):
        c, h, w = (width_symbol(v) for v in network.input_width)
        a = TensorSymbol("X", m, c, h, w)
        sizes += [c, h, w]
        n_in: Any = None
    else:
        n_in = width_symbol(network.input_width)
        a = MatrixSymbol("X", *((n_in, m) if column else (m, n_in)))
        sizes.append(n_in)
    x = a
    for layer_no, layer in enumerate(network.layers, start=1):
        if isinstance(layer, Conv2d):
            c_out, k = width_symbol(layer.channels), width_symbol(layer.kernel)
            eqs, ps, a = conv_layer(
                layer_no, a, c_out, k, layer.stride, layer.padding, layer.activation
            )
            equations += eqs
            params += ps
            sizes += [width_symbol(layer.channels), width_symbol(layer.kernel)]
            continue
        if isinstance(layer, Pool2d):
            node = Pool(a, layer.mode, layer.size, layer.stride)
            a = layer_symbol("A", layer_no, *node.shape)
            equations.append(Equation(a, node, "pool", layer_no))
            continue
        if not isinstance(layer, Layer):  # flatten
            node = Flatten(a, column)
            n_in = node.shape[0] if column else node.shape[1]
            a = layer_symbol("A", layer_no, *node.shape)
            equations.append(Equation(a, node, "flatten", layer_no))
            continue
        n_out = width_symbol(layer.width)
        sizes.append(n_out)
        shp = _shapes(column, n_in, n_out, m)
        w = layer_symbol("W", layer_no, *shp["W"])
        b = layer_symbol("b", layer_no, *shp["b"])
        z = layer_symbol("Z", layer_no, *shp["Z"])
        params += [w, b]
        equations.append(Equation(z, affine(column, w, a, b, m), "affine", layer_no))
        a = layer_symbol("A", layer_no, *shp["Z"])
        equations.append(
            Equation(
                a, activation_node(layer.activation, z, axis, layer_no), "activation", layer_no
            )
        )
        n_in = n_out
    y = MatrixSymbol("Y", *a.shape)
    s = batch_scale(network, m)
    weights = [p for p in params if p.name.startswith(("W_", "K_"))]
    rhs = s * data_term(network, a, y) + weight_decay(network, m, weights)
    equations.append(Equation(LOSS, rhs, "loss"))
    if network.is_conv:
        widths: tuple[Any, ...] = tuple(dict.fromkeys(v for v in sizes if v.free_symbols))
    else:
        widths = tuple(sizes)
    return Program(network, equations, params, [x, y], m, s, widths)


def shared_activation(acts: list[Activation]) -> Activation:
    """The activation if every one of ``acts`` is it, else a symbolic ``f``."""
    if acts and all(a == acts[0] for a in acts):
        return acts[0]
    return Activation("symbolic", symbol="f")


def generic_activation(network: Network) -> Activation:
    """The hidden activation if every hidden layer shares it, else a symbolic ``f_l``."""
    return shared_activation([layer.activation for layer in network.dense_layers[:-1]])


def build_generic(network: Network) -> tuple[Program, MatrixSymbol, MatrixSymbol]:
    """The program around a hidden layer ``l`` with a symbolic index.

    Returns the program, ``Z_{l+1}`` (whose cotangent is seeded with ``delta_{l+1}``) and the
    ``delta_{l+1}`` symbol. Widths are ``n_{l-1}, n_l, n_{l+1}``.
    """
    column = network.convention == "column"
    m = width_symbol(network.batch)
    li = L_INDEX
    nprev, ncur, nnext = (
        sympy.Symbol(f"n_{index_text(i)}", integer=True, positive=True)
        for i in (li - 1, li, li + 1)
    )
    cur = _shapes(column, nprev, ncur, m)
    nxt = _shapes(column, ncur, nnext, m)
    a_prev = layer_symbol("A", li - 1, *((nprev, m) if column else (m, nprev)))
    w, b, z = (layer_symbol(k, li, *cur[k]) for k in ("W", "b", "Z"))
    a = layer_symbol("A", li, *cur["Z"])
    w2, b2, z2 = (layer_symbol(k, li + 1, *nxt[k]) for k in ("W", "b", "Z"))
    delta_next = layer_symbol("delta", li + 1, *nxt["Z"])
    act = generic_activation(network)
    equations = [
        Equation(z, affine(column, w, a_prev, b, m), "affine", li),
        Equation(a, activation_node(act, z, 0 if column else 1, li), "activation", li),
        Equation(z2, affine(column, w2, a, b2, m), "affine", li + 1),
    ]
    s = batch_scale(network, m)
    decay = weight_decay(network, m, [w, w2])
    if decay != 0:
        equations.append(Equation(LOSS, decay, "loss"))
    program = Program(network, equations, [w, b, w2, b2], [a_prev], m, s, (nprev, ncur, nnext))
    return program, z2, delta_next


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
    eqs_l, params, a_l = conv_layer(li, a_prev, size("C", li), size("k", li), stride, padding, act)
    eqs_next, params_next, _ = conv_layer(
        li + 1, a_l, size("C", li + 1), size("k", li + 1), stride, padding, act
    )
    equations = [*eqs_l, eqs_next[0]]  # Z_{l+1} is seeded with δ_{l+1}: its A is not needed
    params += params_next
    z_next = eqs_next[0].out
    delta_next = layer_symbol("delta", li + 1, *z_next.shape)
    s = batch_scale(network, m)
    decay = weight_decay(network, m, params[0::2])
    if decay != 0:
        equations.append(Equation(LOSS, decay, "loss"))
    program = Program(network, equations, params, [a_prev], m, s, ())
    return program, z_next, delta_next
