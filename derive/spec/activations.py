"""The activation table: each activation's scalar formula in ``x``, its notation, its kinks.

The derivative of every activation is derived by SymPy from the scalar formula; nothing
here types a derivative in. Where textbooks write the derivative through the output
(``sigma' = A (1 - A)``), ``output_form`` gives that matrix form; it is an equal
rewrite, checked by the tests against the derived one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache

import sympy
from sympy.matrices.expressions import HadamardProduct, MatrixExpr, OneMatrix

from derive.spec.scalar_expr import X, sigmoid


@dataclass(frozen=True)
class ActivationKind:
    """One row of the activation table."""

    name: str
    tex: str
    text: str
    body: Callable[[Mapping[str, sympy.Expr]], sympy.Expr]
    params: tuple[str, ...] = ()
    defaults: Mapping[str, sympy.Expr] = field(default_factory=dict)
    output_form: Callable[[MatrixExpr], MatrixExpr] | None = None
    output_form_tex: str = ""
    kinks: tuple[float, ...] = ()


def _ones_like(a: MatrixExpr) -> MatrixExpr:
    return OneMatrix(*a.shape)


def _sigmoid_out(a: MatrixExpr) -> MatrixExpr:
    return HadamardProduct(a, _ones_like(a) - a)


def _tanh_out(a: MatrixExpr) -> MatrixExpr:
    return _ones_like(a) - HadamardProduct(a, a)


def _identity_out(a: MatrixExpr) -> MatrixExpr:
    return _ones_like(a)


TABLE: dict[str, ActivationKind] = {
    k.name: k
    for k in [
        ActivationKind(
            "identity", r"\operatorname{id}", "id", lambda p: X, output_form=_identity_out
        ),
        ActivationKind("sigmoid", r"\sigma", "σ", lambda p: sigmoid(X), output_form=_sigmoid_out),
        ActivationKind("tanh", r"\tanh", "tanh", lambda p: sympy.tanh(X), output_form=_tanh_out),
        ActivationKind(
            "relu", r"\operatorname{relu}", "relu", lambda p: sympy.Max(0, X), kinks=(0.0,)
        ),
        ActivationKind(
            "leaky_relu",
            r"\operatorname{lrelu}",
            "lrelu",
            lambda p: sympy.Piecewise((X, X > 0), (p["slope"] * X, True)),
            params=("slope",),
            defaults={"slope": sympy.Rational(1, 100)},
            kinks=(0.0,),
        ),
        ActivationKind(
            "softplus",
            r"\operatorname{softplus}",
            "softplus",
            lambda p: sympy.log(1 + sympy.exp(X)),
        ),
        ActivationKind(
            "elu",
            r"\operatorname{elu}",
            "elu",
            lambda p: sympy.Piecewise((X, X > 0), (p["alpha"] * (sympy.exp(X) - 1), True)),
            params=("alpha",),
            defaults={"alpha": sympy.Integer(1)},
            kinks=(0.0,),
        ),
        ActivationKind("silu", r"\operatorname{silu}", "silu", lambda p: X * sigmoid(X)),
        ActivationKind(
            "gelu",
            r"\operatorname{gelu}",
            "gelu",
            lambda p: X / 2 * (1 + sympy.erf(X / sympy.sqrt(2))),
        ),
    ]
}

#: Activations that are not elementwise and have their own primitive.
SOFTMAX = "softmax"
#: Names a spec may use besides the table: softmax, a custom formula, a symbolic function.
SPECIAL = (SOFTMAX, "custom", "symbolic")
ALL_NAMES = (*TABLE, *SPECIAL)


@cache
def symbolic_function(name: str, order: int = 0) -> type[sympy.Function]:
    """An undefined scalar function ``f`` whose derivative is the undefined ``f'``.

    SymPy's plain ``Function('f')`` differentiates to ``Subs(Derivative(...))``; a subclass
    with ``fdiff`` gives ``f'(z)`` directly, so the explicit oracle compares exactly.
    """
    primes = "'" * order

    def fdiff(self: sympy.Function, argindex: int = 1) -> sympy.Expr:
        return symbolic_function(name, order + 1)(self.args[0])

    cls = type(f"{name}{primes}", (sympy.Function,), {"fdiff": fdiff, "nargs": 1})
    return cls
