"""Overflow-free forms of the activations, for the emitted code only: the derivation keeps
the textbook formulas, the printers print these."""

from __future__ import annotations

from typing import Any

import sympy

from derive.core.nodes import Elementwise

# --------------------------------------------------------------------------- stable forms
# The derivation keeps the textbook formulas (σ = 1/(1 + e^{−x}), softplus = log(1 + e^x));
# evaluated as written they overflow to inf or NaN where the maths is finite (e^{800}).
# The printers rewrite them, in the emitted code only, into forms that never overflow.


# SymPy ships no type information: sympy.Function is Any to mypy, hence the ignores
class StableSigmoid(sympy.Function):  # type: ignore[misc]
    """σ(u), printed with the backend's overflow-free sigmoid."""

    nargs = 1


class StableSoftplus(sympy.Function):  # type: ignore[misc]
    """log(1 + e^u), printed as the backend's log-add-exp (finite, exact for large u)."""

    nargs = 1


def _one_plus_exp(e: Any) -> Any:
    """``v`` when ``e`` is ``1 + exp(v)``, else None."""
    if isinstance(e, sympy.Add) and len(e.args) == 2 and sympy.S.One in e.args:
        other = e.args[0] if e.args[1] == 1 else e.args[1]
        if isinstance(other, sympy.exp):
            return other.args[0]
    return None


def _sigmoid_power(f: Any) -> tuple[Any, int] | None:
    """``(u, k)`` when ``f`` is ``σ(u)**k`` with k ≥ 1."""
    if isinstance(f, StableSigmoid):
        return f.args[0], 1
    if f.is_Pow and isinstance(f.base, StableSigmoid) and f.exp.is_Integer and f.exp > 0:
        return f.base.args[0], int(f.exp)
    return None


def stable_scalar(expr: Any) -> Any:
    """Rewrite a scalar formula so that no sub-expression overflows where the value is finite.

    ``1/(1 + e^v)^k`` -> ``σ(−v)^k``; ``log(1 + e^v)`` -> ``softplus(v)``; and a factor
    ``e^v`` next to ``σ(−v)`` -> ``σ(v)`` (``e^v/(1 + e^v) = σ(v)``), which turns the
    derivatives of sigmoid, softplus and SiLU (``e^{−x}/(1 + e^{−x})²`` = ``σ(x) σ(−x)``)
    into products of bounded factors.
    """
    if not expr.args or isinstance(expr, (sympy.Symbol, sympy.Number)):
        return expr
    args = tuple(stable_scalar(a) for a in expr.args)
    e = expr.func(*args) if args != expr.args else expr
    if isinstance(e, sympy.log):
        v = _one_plus_exp(e.args[0])
        if v is not None:
            return StableSoftplus(v)
    if e.is_Pow and e.exp.is_Integer and e.exp < 0:
        v = _one_plus_exp(e.base)
        if v is not None:
            return StableSigmoid(-v) ** (-e.exp)
    if e.is_Mul:
        factors = list(e.args)
        changed = True
        while changed:
            changed = False
            for i, f in enumerate(factors):
                if not isinstance(f, sympy.exp):
                    continue
                for j, g in enumerate(factors):
                    sp = _sigmoid_power(g)
                    if sp is not None and sp[0] == -f.args[0]:
                        u, k = sp
                        factors[i] = StableSigmoid(f.args[0])
                        factors[j] = StableSigmoid(u) ** (k - 1)
                        changed = True
                        break
                if changed:
                    break
        e = sympy.Mul(*factors)
    return e


def is_sigmoid(node: Any) -> bool:
    """True for ``σ(Z)`` itself (the table's sigmoid, not a derivative of it)."""
    if not isinstance(node, Elementwise) or node.order != 0:
        return False
    (x,) = node.fn.variables
    return (
        isinstance(stable_scalar(node.fn.expr), StableSigmoid)
        and stable_scalar(node.fn.expr).args[0] == x
    )
