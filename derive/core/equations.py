"""The records of a forward program and the names of its symbols.

A ``Program`` is a list of ``Equation(out, rhs, kind, layer)`` with its parameters as
``Param(symbol, role, layer)``; consumers ask a parameter's ``Role`` or a value by name,
never a symbol's name or an equation's position. ``layer_symbol``, ``split_name`` and
their kin make and read the names (``W_2``, ``Z_{l+1}``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import sympy
from sympy.matrices.expressions import MatrixSymbol

from derive.core.nodes import Elementwise, Softmax, TensorElementwise, TensorSymbol
from derive.spec import Activation, Network, Scalar, Width
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
