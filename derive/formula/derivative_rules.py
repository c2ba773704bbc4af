"""A formula for an activation's derivative, as tables of them write it (``f'(x) = 1 −
tanh²(x)``, ``\\sigma'(z) = \\sigma(z)(1 - \\sigma(z))``): no quantity of the network, but
a rule its backward pass uses. A named function is checked against itself; the generic
``f`` against the activation of each layer that has an elementwise one, and the answer
says which layer's it was read as. The argument stands for that layer's pre-activation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sympy import OneMatrix
from sympy.matrices.expressions import MatrixExpr

from derive.formula.answer import CheckResult
from derive.formula.ir import IR, Fn, FormulaError, Neg, Sym
from derive.formula.ir_walk import map_children
from derive.formula.layer_indices import IntIndex
from derive.formula.local_rules import NOTE, as_rule, local_layers, local_pair, refuse_numbered
from derive.formula.resolve import Resolver, unique
from derive.formula.run import Run

if TYPE_CHECKING:
    from derive.formula.equivalence import Equivalence

#: Each activation's derivative as the answer writes it (x the argument).
RULES = {
    "sigmoid": "σ(x)(1 − σ(x))",
    "tanh": "1 − tanh²(x)",
    "relu": "1 where x > 0, else 0",
    "identity": "1",
    "linear": "1",
}


def rule_argument(lhs: IR) -> Sym | None:
    """The argument of ``f'(x)`` on a left-hand side (a plain symbol without a layer), or
    the z of ``∂a/∂z`` (``local_rules``); None if the left-hand side is neither."""
    pair = local_pair(lhs)
    if pair is not None:
        return pair[1]
    if isinstance(lhs, Fn) and lhs.order == 1 and isinstance(lhs.arg, Sym):
        return lhs.arg if lhs.arg.index is None else None
    return None


def _put(node: Any, arg: Sym, z: Sym) -> Any:
    if node == arg:
        return z
    return map_children(node, lambda c: _put(c, arg, z))


def _fit(side: Any, want: Any) -> Any:
    """A number on the right of ``f'(x) = 1`` (the identity's rule) as that number at every
    entry of the pre-activation it is compared with (a scalar is no matrix of its shape)."""
    shape = getattr(want, "shape", None)
    if getattr(side, "shape", None) is None and isinstance(want, MatrixExpr) and shape:
        return side * OneMatrix(*shape)
    return side


def check_rule(eq: Equivalence, run: Run) -> CheckResult:
    """``f'(x) = …`` checked at each layer with an elementwise activation (x as its Z):
    right at some layer, correct (which, in a note, for the generic f); else incorrect."""
    lhs = run.parts[0]
    arg = rule_argument(lhs)
    local = local_layers(run.parts, eq.d.depth) if local_pair(lhs) is not None else None
    assert (isinstance(lhs, Fn) or local) and arg is not None
    if local is None:  # σ'(z) = σ(z^2)(1 − σ(z^2)): z^2 is no square here (local: as_rule)
        refuse_numbered(run.parts, (arg.base,))
    d = eq.d
    right: list[int] = []
    negated = False
    tried: list[int] = []
    generic = local is not None or getattr(lhs, "name", "") == "generic"
    acts = [getattr(getattr(layer, "activation", None), "name", "") for layer in eq.network.layers]
    for k, act in enumerate(acts, start=1):
        if (generic and act in ("softmax", "")) or (local is not None and k not in local):
            continue  # a Jacobian (or no activation), not an elementwise derivative
        z = Sym("Z", IntIndex(k), False)
        parts = as_rule(run.parts, k) if local else [_put(p, arg, z) for p in run.parts]
        ctx = eq._context(run, d, k)
        try:
            want = unique(Resolver(ctx).readings(parts[0]))[0]
            sides = [[_fit(g, want) for g in unique(Resolver(ctx).readings(p))] for p in parts[1:]]
            flipped = [
                [_fit(g, want) for g in unique(Resolver(ctx).readings(Neg(p)))] for p in parts[1:]
            ]
        except FormulaError:
            continue
        tried.append(k)
        if all(any(eq._numeric_equal(d, g, want, 3) for g in side) for side in sides):
            right.append(k)
        elif all(any(eq._numeric_equal(d, g, want, 3) for g in side) for side in flipped):
            negated = True
        if not generic:
            break  # a named function is the same at every layer
    if not tried:
        raise FormulaError(
            "f'(x): this network has no layer with an elementwise activation to differentiate"
        )
    names = [acts[k - 1] for k in tried] if generic else [getattr(lhs, "name", "")]
    label = "∂a/∂z" if local else "f'" if generic else f"{getattr(lhs, 'name', '')}'"
    expected = "; ".join(
        f"{name}'(x) = {RULES.get(name, 'its derivative')}" for name in dict.fromkeys(names)
    )
    if right:
        notes = [NOTE] if local else []
        if generic:
            which = ", ".join(str(k) for k in right)
            notes.append(
                f"f' read as the derivative of layer {which}'s activation ({acts[right[0] - 1]})"
            )
        return CheckResult("correct", label, expected, "numeric", notes=notes, formula=run.formula)
    named = " or ".join(dict.fromkeys(names))
    diagnosis = (
        "the sign is wrong" if negated else f"this is not the derivative of {named}: {expected}"
    )
    notes = [NOTE] if local else []
    return CheckResult(
        "incorrect", label, expected, "numeric", diagnosis, notes=notes, formula=run.formula
    )
