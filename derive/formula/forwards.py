"""A layer's pre-activation written out as the forward pass defines it (``f(W_1 X + b_1)``,
``σ(w_2 σ(w_1 x + b_1) + b_2)`` in the chain-rule derivations of small networks): the
generic activation ``f`` of such an argument is that layer's. Equal means equal as the
forward writes it (or, for a network of numbers, as numbers): a product that is not one
(``x w_1`` where the network has ``w_1 x + b_1``) names no layer."""

from __future__ import annotations

from typing import Any

import sympy

from derive.core.derivation import Derivation

#: Explicit entries compared at most (a network of numbers, or a tiny one): beyond, the
#: comparison is by structure alone.
_MAX_ENTRIES = 4


def pre_activations(d: Derivation) -> list[tuple[Any, Any]]:
    """Each dense layer's pre-activation ``Z_k`` (its symbol) and its right-hand side in
    the forward."""
    out = []
    for eq in d.program.equations:
        name = str(getattr(eq.out, "name", ""))
        if name.startswith("Z_") and name[2:].isdigit():
            out.append((eq.out, eq.rhs))
    return out


def written_out(d: Derivation, arg: Any) -> Any:
    """The pre-activation ``Z_k`` that ``arg`` writes out (``W_1 X + b_1``), else None (and
    always for a CNN, whose maps are not written out)."""
    if d.network.is_conv:
        return None
    for z, rhs in pre_activations(d):
        if same_forward(d, arg, rhs):
            return z
    return None


def inlined(d: Derivation, expr: Any) -> Any:
    """``expr`` with every Z_k and A_k it names replaced by the forward's right-hand side,
    down to the input (σ(W_2 A_1 + b_2) is σ(W_2 σ(W_1 X + b_1) + b_2))."""
    forward = {
        eq.out: eq.rhs
        for eq in d.program.equations
        if str(getattr(eq.out, "name", "")).startswith(("Z_", "A_"))
    }
    for _ in range(len(forward) + 1):
        if not isinstance(expr, sympy.Basic):
            return expr
        try:
            done = expr.xreplace(forward)
        except (TypeError, ValueError, AttributeError):  # a node that is not rebuilt so
            return expr
        if done == expr:
            return expr
        expr = done
    return expr


def same_forward(d: Derivation, arg: Any, rhs: Any) -> bool:
    """Whether ``arg`` is ``rhs`` with the forward inlined in both: the same expression,
    or the same numbers entry by entry when both are small matrices of concrete shape
    (1×1 products commute)."""
    if arg == rhs or inlined(d, arg) == inlined(d, rhs):
        return True
    if isinstance(arg, sympy.Basic):  # f(Z_1) is A_1: compared as the forward names it
        try:
            arg = arg.xreplace(
                {eq.rhs: eq.out for eq in d.program.equations if isinstance(eq.rhs, sympy.Basic)}
            )
        except (TypeError, ValueError, AttributeError):
            return False
    shape = getattr(arg, "shape", None)
    if shape is None or shape != getattr(rhs, "shape", None):
        return False
    if not all(isinstance(n, (int, sympy.Integer)) for n in shape):
        return False
    if int(shape[0]) * int(shape[1]) > _MAX_ENTRIES:
        return False
    try:
        diff = sympy.Matrix(arg.as_explicit()) - sympy.Matrix(rhs.as_explicit())
    except (AttributeError, TypeError, ValueError, NotImplementedError):
        return False
    return all(sympy.expand(v) == 0 for v in diff)
