"""The forward program: single-assignment equations over SymPy matrix symbols.

``Z_l := W_l A_{l-1} + b_l 1^T``, ``A_l := f_l(Z_l)``, …, ``L := s C + R``. Intermediate
values are named symbols, not inlined, so every equation stays small and the reverse walk
stays linear in depth. The same builder makes the program of a *generic* layer ``l``
(symbolic index), from which the delta recurrence is derived.

This module builds the programs; the records and symbol names are in ``equations`` and
the layer builders in ``layer_builders``, both re-exported here.
"""

from __future__ import annotations

from typing import Any

import sympy
from sympy.matrices.expressions import MatrixSymbol

from derive.core.equations import (
    L_INDEX,
    LOSS,
    Equation,
    Kind,
    Param,
    Program,
    Role,
    activation_node,
    index_at,
    index_text,
    layer_symbol,
    scalar_symbol,
    split_name,
    width_symbol,
)
from derive.core.layer_builders import (
    LAYERS,
    LOSS_TERMS,
    Block,
    Builder,
    Context,
    affine,
    batch_scale,
    conv_layer,
    data_term,
    dense_layer,
    layer_type,
    weight_decay,
)
from derive.core.nodes import TensorSymbol
from derive.spec import Activation, Conv2d, Network

__all__ = [
    "LAYERS",
    "LOSS",
    "LOSS_TERMS",
    "L_INDEX",
    "Block",
    "Builder",
    "Context",
    "Equation",
    "Kind",
    "Param",
    "Program",
    "Role",
    "activation_node",
    "affine",
    "batch_scale",
    "build",
    "build_generic",
    "build_generic_conv",
    "conv_layer",
    "data_term",
    "dense_layer",
    "generic_activation",
    "index_at",
    "index_text",
    "layer_symbol",
    "layer_type",
    "scalar_symbol",
    "shared_activation",
    "split_name",
    "weight_decay",
    "width_symbol",
]


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
