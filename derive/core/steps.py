"""What a derivation is made of: its named steps, the partials they name, a generic layer.

A ``Step`` is one line of the derivation (a ``StepKind``: forward, loss, delta, gradient,
…) with its left side (often a ``PartialOf``, ∂L/∂W₁) and its right side; it prints
through ``PRINTERS``, which the render layer fills in, so the core never imports a printer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import sympy
from sympy.matrices.expressions import MatrixExpr

from derive.core.graph import Program, Role
from derive.core.nodes import TensorExpr

ALPHA = sympy.Symbol("alpha", positive=True)


#: The summed per-sample loss Σ_i C_i, the variable of per-sample deltas.
COST = sympy.Symbol("C")


class UnknownQuantity(KeyError):
    """A delta or gradient the network does not have; the message lists what it has."""

    def __str__(self) -> str:
        return str(self.args[0])


class PartialOf:
    """``∂f/∂X``, shaped like X: the left-hand side of a gradient equation.

    The one body of ``Partial`` (X a matrix) and ``TensorPartial`` (X a kernel, a conv
    bias or a feature map); printers registered for this class serve both.
    """

    role = "lhs"
    args: tuple[Any, ...]

    def __new__(cls, of: sympy.Symbol, wrt: Any) -> Any:
        return super().__new__(cls, of, wrt)  # type: ignore[call-arg]

    @property
    def of(self) -> sympy.Symbol:
        """What is differentiated (``L`` or ``C``)."""
        return self.args[0]

    @property
    def wrt(self) -> Any:
        """What it is differentiated with respect to (``W_1``)."""
        return self.args[1]

    @property
    def shape(self) -> tuple[Any, ...]:
        """A gradient is shaped like what it differentiates by."""
        return tuple(self.wrt.shape)


class Partial(PartialOf, MatrixExpr):  # type: ignore[misc]
    """``∂f/∂X`` for a matrix X."""


class TensorPartial(PartialOf, TensorExpr):
    """``∂f/∂K`` for a tensor K (a kernel, a conv bias, a feature map)."""


def partial(of: Any, wrt: Any) -> Any:
    """``∂of/∂wrt``, a matrix or a tensor like ``wrt``."""
    return TensorPartial(of, wrt) if isinstance(wrt, TensorExpr) else Partial(of, wrt)


#: How a step prints: ``"text"`` (an expression to readable text) and ``"latex"`` (a step
#: to LaTeX). The render layer registers them when it is imported (``derive/__init__``
#: imports it); the core never imports a printer, so the dependencies point one way.
PRINTERS: dict[str, Callable[[Any], str]] = {}


class StepKind(str, Enum):
    """What a line of a derivation is (a ``str``, so it prints as its value)."""

    FORWARD = "forward"
    LOSS = "loss"
    OUTPUT_DELTA = "output_delta"
    RECURRENCE = "recurrence"
    DELTA = "delta"
    COTANGENT = "cotangent"
    GRADIENT = "gradient"
    GENERIC_GRADIENT = "generic_gradient"
    UPDATE = "update"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Step:
    """One line of a derivation: ``lhs = rhs``, what kind of line, and its layer."""

    kind: StepKind
    lhs: Any
    rhs: Any
    layer: Any = None

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {PRINTERS['latex'](self)}$"

    def __str__(self) -> str:
        text = PRINTERS["text"]
        return f"{text(self.lhs)} = {text(self.rhs)}"

    def __repr__(self) -> str:
        return f"<{self.kind}: {self}>"

    @property
    def text(self) -> str:
        """The right-hand side as readable text (``(W₂ᵀ δ₂) ⊙ σ'(Z₁)``)."""
        return PRINTERS["text"](self.rhs)


@dataclass(frozen=True)
class GenericLayer:
    """The recurrence and gradients of a hidden layer ``l`` (symbolic index).

    ``gradients`` holds one step per parameter of layer ``l``, keyed by its role.
    """

    program: Program
    delta: Step
    gradients: dict[Role, Step]
    cotangent_a: Step

    @property
    def grad_w(self) -> Step:
        """The gradient of layer l's weight (or kernel)."""
        return next(st for role, st in self.gradients.items() if role.decays)

    @property
    def grad_b(self) -> Step:
        """The gradient of layer l's bias."""
        return self.gradients[Role.BIAS]
