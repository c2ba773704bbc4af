"""Builders of the issue-15 layers and losses: equations over the forward-program nodes.

A residual layer is a dense layer whose pre-activation also receives ``A_j`` (or
``P_l A_j``): the walk then adds ``δ_l`` (or ``P_lᵀ δ_l``) to the cotangent of ``A_j``, the
gradient highway. Batch and layer normalisation expand into the staged equations
courses write (``μ_l``, ``Xc_l``, ``var_l``, ``σ_l``, ``X̂_l``: kind ``STAGE``), then
``Z_l = γ_l ⊙ X̂_l + β_l`` (its cotangent is ``δ_l``) and ``A_l = f(Z_l)``. Dropout is
``A_l = A_{l-1} ⊙ M_l / p`` with the mask an input. The losses are built from
``Reduce``/``ReduceAll``, ``abs``, ``relu`` and ``Indicator``/``where``; no new rule.
"""

from __future__ import annotations

from typing import Any

import sympy
from sympy.matrices.expressions import OneMatrix

from derive.core.graph import (
    LOSS_TERMS,
    Block,
    Context,
    Equation,
    Kind,
    Param,
    Role,
    activation_node,
    dense_layer,
    layer_symbol,
    layer_type,
    scalar_symbol,
    width_symbol,
)
from derive.core.nodes import (
    Broadcast,
    Indicator,
    Reduce,
    ReduceAll,
    divide,
    elementwise,
    hadamard,
    power,
    scale,
    where,
)
from derive.spec import Network
from derive.spec.norm_layers import Dropout, Norm, Residual


def _width_of(ctx: Context, a: Any) -> Any:
    return a.shape[0] if ctx.column else a.shape[1]


@layer_type(Residual)
def _residual(ctx: Context, layer_no: Any, layer: Residual, inputs: dict[str, Any]) -> Block:
    block = dense_layer(ctx, layer_no, inputs["in"], width_symbol(layer.width), layer.activation)
    src = inputs[f"A_{layer.skip_from}"]
    z_eq = block.equations[0]
    params = list(block.parameters)
    if layer.projection:
        n_j, n_l = _width_of(ctx, src), width_symbol(layer.width)
        p = layer_symbol("P", layer_no, *((n_l, n_j) if ctx.column else (n_j, n_l)))
        skip = p * src if ctx.column else src * p
        params.append(Param(p, Role.PROJECTION, layer_no))
    else:
        skip = src
    z = Equation(z_eq.out, z_eq.rhs + skip, z_eq.kind, layer_no)
    return Block([z, *block.equations[1:]], params, block.outputs, block.sizes)


@layer_type(Norm)
def _norm(ctx: Context, layer_no: Any, layer: Norm, inputs: dict[str, Any]) -> Block:
    h = inputs["in"]
    rows, cols = h.shape
    batch_axis = 1 if ctx.column else 0
    axis = batch_axis if layer.over == "batch" else 1 - batch_axis
    n = _width_of(ctx, h)
    # ε > 0 (it keeps the square root real): a positive symbol, or the number given
    eps = (
        sympy.Symbol(layer.eps, positive=True)
        if isinstance(layer.eps, str)
        else scalar_symbol(layer.eps)
    )
    red = (rows, 1) if axis == 1 else (1, cols)
    mu = layer_symbol("mu", layer_no, *red)
    xc = layer_symbol("Xc", layer_no, rows, cols)
    var = layer_symbol("var", layer_no, *red)
    xhat = layer_symbol("Xhat", layer_no, rows, cols)
    per_feature = (n, 1) if ctx.column else (1, n)
    gamma = layer_symbol("gamma", layer_no, *per_feature)
    beta = layer_symbol("beta", layer_no, *per_feature)
    z = layer_symbol("Z", layer_no, rows, cols)
    out = layer_symbol("A", layer_no, rows, cols)
    sigma = layer_symbol("sigma", layer_no, *red)  # σ_l = sqrt(var_l + ε), a stage of its own
    stage = Kind.STAGE
    eqs = [
        Equation(mu, Reduce(h, "mean", axis), stage, layer_no),
        Equation(xc, h - Broadcast(mu, rows, cols), stage, layer_no),
        Equation(var, Reduce(power(xc, 2), "mean", axis), stage, layer_no),
        Equation(sigma, elementwise("sqrt", var + eps * OneMatrix(*red)), stage, layer_no),
        Equation(xhat, divide(xc, sigma), stage, layer_no),
        Equation(
            z,
            hadamard(Broadcast(gamma, rows, cols), xhat) + Broadcast(beta, rows, cols),
            Kind.AFFINE,
            layer_no,
        ),
        Equation(
            out, activation_node(layer.activation, z, ctx.axis, layer_no), Kind.ACTIVATION, layer_no
        ),
    ]
    params = [Param(gamma, Role.GAIN, layer_no), Param(beta, Role.SHIFT, layer_no)]
    return Block(eqs, params, {"out": out, "Z": z})


@layer_type(Dropout)
def _dropout(ctx: Context, layer_no: Any, layer: Dropout, inputs: dict[str, Any]) -> Block:
    h = inputs["in"]
    mask = layer_symbol("M", layer_no, *h.shape)
    out = layer_symbol("A", layer_no, *h.shape)
    rhs = scale(hadamard(h, mask), 1 / scalar_symbol(layer.p))
    return Block([Equation(out, rhs, Kind.MAP, layer_no)], [], {"out": out, "input:M": mask})


# --------------------------------------------------------------------------- losses


def _l1(network: Network, out: Any, y: Any, column: bool) -> sympy.Expr:
    """``Σ_i Σ_j |a_ij − y_ij|``."""
    return ReduceAll(elementwise("abs", out - y), "sum")


def _mae(network: Network, out: Any, y: Any, column: bool) -> sympy.Expr:
    """``Σ_i (1/n) Σ_j |a_ij − y_ij|``: with the 1/m of the mean, the mean of every entry."""
    n = out.shape[0] if column else out.shape[1]
    return ReduceAll(elementwise("abs", out - y), "sum") / n


def _huber(network: Network, out: Any, y: Any, column: bool) -> sympy.Expr:
    """``Σ h(a − y)``, ``h(r) = r²/2`` where ``|r| ≤ δ``, else ``δ (|r| − δ/2)``."""
    d = scalar_symbol(network.loss.delta if network.loss.delta is not None else 1)
    r = out - y
    ar = elementwise("abs", r)
    inside = Indicator(ar, "<=", d)
    outside = scale(ar, d) - scale(OneMatrix(*r.shape), d**2 / 2)
    return ReduceAll(where(inside, scale(power(r, 2), sympy.Rational(1, 2)), outside), "sum")


def _hinge(network: Network, out: Any, y: Any, column: bool) -> sympy.Expr:
    """CS231n's ``Σ_i Σ_{j≠y_i} max(0, s_j − s_{y_i} + Δ)`` with one-hot targets Y: the
    correct class's score is ``Σ_j Y ⊙ S`` per sample, and ``1 − Y`` drops ``j = y_i``."""
    margin = scalar_symbol(network.loss.margin if network.loss.margin is not None else 1)
    rows, cols = out.shape
    class_axis = 0 if column else 1
    correct = Broadcast(Reduce(hadamard(y, out), "sum", class_axis), rows, cols)
    margins = out - correct + scale(OneMatrix(rows, cols), margin)
    return ReduceAll(hadamard(elementwise("relu", margins), OneMatrix(rows, cols) - y), "sum")


LOSS_TERMS.update({"l1": _l1, "mae": _mae, "huber": _huber, "multiclass_hinge": _hinge})
