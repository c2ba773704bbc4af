"""A gradient's closed form, found by SymPy's scalar algebra on one entry.

An expression built only of entrywise operations, broadcasts and reductions (batch norm,
layer norm, most losses) is a formula for *one entry*: ``(i, j)`` of an m×n value, ``j``
of a 1×n row, ``i`` of an m×1 column. Each value becomes one commutative symbol, a
reduction an unevaluated ``RowSum``/``ColSum`` of its summand, and SymPy's own algebra
(``expand``, ``factor``) does the rest. Two identities of sums are what make batch norm
compact: a factor that does not depend on the summed index leaves the sum, and a sum is
also worked out through its value's definition when that gives zero (``Σ_i (X − μ) = 0``).
Then each forward value is tried as a name for what it defines (``X_c = X̂ ⊙ σ``), kept
when the formula gets shorter. Anything else (a matrix product, a softmax) is left as
staged. The result is checked numerically against the inlined stages before it is used.
The translation to one entry and back is ``entrywise.Entrywise``; this module searches.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import sympy
from sympy.matrices.expressions import MatAdd, MatMul, MatrixExpr, MatrixSymbol

from derive.core import nodes as N
from derive.core.entrywise import ColSum, Entrywise, NotEntrywise, RowSum
from derive.core.graph import Equation


def _ops(expr: Any) -> int:
    return int(sympy.count_ops(expr))


#: Bounds that keep a derivation fast: a longer formula or more renamings are not tried.
MAX_OPS = 120
MAX_CANDIDATES = 8


def _renames(ew: Entrywise, expr: Any) -> Any:
    """Write values through the later values they define where that is shorter
    (``X_c = X̂ σ`` from ``X̂ = X_c / σ``; ``var = σ² − ε`` from ``σ = √(var + ε)``):
    every set of up to three such renamings is tried, the shortest factored form kept."""
    candidates: list[tuple[Any, Any]] = []
    equations = [(name, d) for name, d in ew.defs.items()]
    equations += [(root**k, base) for root, (base, k) in ew.roots.items()]
    for name, definition in equations:
        for u in sorted(definition.free_symbols & set(ew.deps), key=str):
            solved = _solve_linear(name, definition, u, set(ew.deps))
            if solved is not None and u not in solved.free_symbols:
                candidates.append((u, solved))
    best, best_ops = _tidy(expr), _ops(_tidy(expr))
    if len(candidates) > MAX_CANDIDATES:
        return best
    for size in (1, 2, 3):
        for combo in combinations(candidates, size):
            if len({u for u, _ in combo}) < size:
                continue
            candidate = expr
            for u, solved in combo:
                candidate = _normalise(ew, candidate.xreplace({u: solved}))
            candidate = _tidy(candidate)
            if _ops(candidate) < best_ops:
                best, best_ops = candidate, _ops(candidate)
    return best


def _tidy(expr: Any) -> Any:
    """Factored, with common factors pulled out of the sum."""
    return sympy.factor_terms(sympy.factor(expr))


def _solve_linear(name: Any, definition: Any, u: Any, values: set[Any]) -> Any:
    """``u`` from ``name = definition`` when the definition is linear in ``u`` (outside
    any sum) and solving divides by no value (``values``) that may be zero, else None:
    ``c = a ⊙ mask`` gives no ``mask = c ⊘ a`` (wrong where a = 0, as dropout's a is),
    ``X̂ = X_c ⊘ σ`` gives ``X_c = X̂ ⊙ σ``."""
    if any(u in f.free_symbols for f in definition.atoms(RowSum, ColSum)):
        return None
    slope = sympy.diff(definition, u)
    if slope == 0 or u in slope.free_symbols:
        return None
    if sympy.denom(sympy.together(1 / slope)).free_symbols & values:
        return None
    return sympy.simplify((name - definition.xreplace({u: 0})) / slope)


def _normalise(ew: Entrywise, expr: Any) -> Any:
    """Re-apply the sum identities after a substitution inside sums."""

    def redo(f: Any) -> Any:
        axis = 0 if isinstance(f, RowSum) else 1
        size = ew.shape[axis]
        return ew.reduce(_normalise(ew, f.args[0]), axis, size)

    return sympy.expand(expr.replace(lambda f: isinstance(f, (RowSum, ColSum)), redo))


def too_big(expr: Any, limit: int = 300) -> bool:
    """More than ``limit`` nodes in the inlined formula (counted with an early stop)."""
    return any(k > limit for k, _ in enumerate(sympy.preorder_traversal(expr)))


def compact(expr: MatrixExpr, equations: list[Equation], check: Any = None) -> MatrixExpr | None:
    """A shorter closed form of an inlined gradient, or None when none is found.

    ``check(candidate) -> bool`` (the numeric comparison with the inlined form) guards
    the result: a form that does not check is never returned.
    """
    if not isinstance(expr, MatrixExpr) or too_big(expr):
        return None
    out = _entrywise(expr, equations)
    if out is None:
        out = _inside_product(expr, equations)
    if out is None or (check is not None and not check(out)):
        return None
    return out


def _entrywise(expr: MatrixExpr, equations: list[Equation]) -> MatrixExpr | None:
    """The closed form of an entrywise expression (None: not entrywise, or too long)."""
    ew = Entrywise(equations, tuple(expr.shape))
    try:
        entry = ew.name_roots(_normalise(ew, ew.entry(expr)))
        if _ops(entry) > MAX_OPS:
            return None
        entry = _renames(ew, entry)
        return ew.back(entry)
    except (NotEntrywise, N.ShapeMismatch, ValueError, TypeError):
        return None


def _inside_product(expr: MatrixExpr, equations: list[Equation]) -> MatrixExpr | None:
    """A matrix product whose factors are entrywise: each factor in its closed form
    (logistic regression's ``Xᵀ (p − y)``); None when no factor gets shorter."""
    if not isinstance(expr, MatMul):
        return None
    coeff, factors = expr.as_coeff_matrices()
    found = [_entrywise(f, equations) if not isinstance(f, MatrixSymbol) else None for f in factors]
    if all(f is None for f in found):
        return None
    parts = []
    for f, g in zip(factors, found, strict=True):
        if g is not None and isinstance(g, MatAdd):  # (1/m) p − (1/m) y -> (1/m) (p − y)
            sizes = {abs(N.split_coeff(t)[0]) for t in g.args}
            if len(sizes) == 1 and sizes != {1}:
                c = sizes.pop()
                coeff *= c
                g = MatAdd(*[N.scale(t, 1 / c) for t in g.args])
        parts.append(f if g is None else g)
    return MatMul(coeff, *parts).doit(deep=False)


def numeric_check(inlined: Any, env: dict[Any, Any], evaluate: Any) -> Any:
    """A ``check`` for ``compact``: the candidate and the inlined form agree at ``env``."""
    want = np.asarray(evaluate(inlined, env), dtype=float)

    def ok(candidate: Any) -> bool:
        try:
            got = np.asarray(evaluate(candidate, env), dtype=float)
        except Exception:  # noqa: BLE001 - a candidate that does not evaluate is not used
            return False
        return bool(np.allclose(got, want, rtol=1e-9, atol=1e-12))

    return ok
