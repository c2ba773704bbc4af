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
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import sympy
from sympy.matrices.expressions import (
    HadamardPower,
    HadamardProduct,
    MatAdd,
    MatMul,
    MatrixExpr,
    MatrixSymbol,
    OneMatrix,
)

from derive.core import nodes as N
from derive.core.graph import Equation

I, J = "i", "j"


class NotEntrywise(Exception):
    """The expression has a node that is not entrywise (a product, a softmax)."""


class RowSum(sympy.Function):  # type: ignore[misc]
    """``Σ_i (summand)``: the sum down the rows, a 1×n row."""


class ColSum(sympy.Function):  # type: ignore[misc]
    """``Σ_j (summand)``: the sum along each row, an m×1 column."""


def _deps_of_shape(shape: tuple[Any, Any]) -> frozenset[str]:
    rows, cols = shape
    return frozenset(([I] if rows != 1 else []) + ([J] if cols != 1 else []))


class Entrywise:
    """Translates matrix expressions to entry formulas and back, for one program."""

    def __init__(self, equations: list[Equation], shape: tuple[Any, Any]) -> None:
        self.shape = shape
        self.deps: dict[sympy.Symbol, frozenset[str]] = {}
        self.matrix: dict[sympy.Symbol, Any] = {}
        self.defs: dict[sympy.Symbol, Any] = {}
        #: σ -> (base, k) for a root σ = base^(1/k) written as a symbol of its own.
        self.roots: dict[sympy.Symbol, tuple[Any, int]] = {}
        for eq in equations:
            if isinstance(eq.out, MatrixSymbol):
                try:
                    self.defs[self.atom(eq.out)] = self.name_roots(self.entry(eq.rhs))
                except NotEntrywise:
                    continue

    # ------------------------------------------------------------------ to entries

    def atom(self, sym: MatrixSymbol) -> sympy.Symbol:
        """The symbol of one entry of a value (its indices from its shape)."""
        s = sympy.Symbol(f"_{sym.name}", real=True)
        self.deps[s] = _deps_of_shape(sym.shape)
        self.matrix[s] = sym
        return s

    def entry(self, e: Any) -> Any:
        """The formula of one entry of ``e``."""
        if not isinstance(e, MatrixExpr):
            if isinstance(e, sympy.Expr) and not e.has(MatrixExpr):
                return e
            raise NotEntrywise(type(e).__name__)
        if isinstance(e, MatrixSymbol):
            return self.atom(e)
        if isinstance(e, OneMatrix):
            return sympy.Integer(1)
        if isinstance(e, N.Broadcast):
            return self.entry(e.arg)
        if isinstance(e, MatAdd):
            return sympy.Add(*[self.entry(a) for a in e.args])
        if isinstance(e, HadamardProduct):
            return sympy.Mul(*[self.entry(a) for a in e.args])
        if isinstance(e, HadamardPower):
            return self.entry(e.base) ** e.exp
        if isinstance(e, MatMul):
            coeff, factors = e.as_coeff_matrices()
            if len(factors) != 1:
                raise NotEntrywise("a matrix product")
            return coeff * self.entry(factors[0])
        if isinstance(e, N.Elementwise):
            return e.scalar()(self.entry(e.arg))
        if isinstance(e, N.Reduce) and e.op in ("sum", "mean"):
            total = self.reduce(self.entry(e.arg), e.axis, e.arg.shape[e.axis])
            return total / e.size if e.op == "mean" else total
        raise NotEntrywise(type(e).__name__)

    def name_roots(self, expr: Any) -> Any:
        """``(var + ε)^(q)`` with q = p/k not an integer -> ``σ^p``, σ a symbol of its own
        standing for ``(var + ε)^(1/k)`` (so the algebra stays rational in σ)."""

        def is_root(f: Any) -> bool:
            return (
                isinstance(f, sympy.Pow)
                and f.exp.is_Rational
                and not f.exp.is_Integer
                and not isinstance(f.base, sympy.Symbol)
            )

        def named(f: Any) -> Any:
            k = int(f.exp.q)
            base = f.base
            for root, (b, kk) in self.roots.items():
                if b == base and kk == k:
                    return root**f.exp.p
            root = sympy.Symbol(f"_root{len(self.roots)}", positive=True)
            self.roots[root] = (base, k)
            self.deps[root] = self.depends(base)
            return root**f.exp.p

        return expr.replace(is_root, named)

    def depends(self, expr: Any) -> frozenset[str]:
        """Which entry indices a formula varies with."""
        if isinstance(expr, RowSum):
            return self.depends(expr.args[0]) - {I}
        if isinstance(expr, ColSum):
            return self.depends(expr.args[0]) - {J}
        out: frozenset[str] = frozenset()
        for a in [expr] if isinstance(expr, sympy.Symbol) else expr.args:
            if isinstance(a, sympy.Symbol):
                out |= self.deps.get(a, frozenset())
            elif isinstance(a, sympy.Basic) and a.args:
                out |= self.depends(a)
        return out

    def reduce(self, summand: Any, axis: int, count: Any, definitions: bool = True) -> Any:
        """``Σ`` over the axis' index: linear, factors free of the index outside, and a
        lone value summed through its definition when that sum is zero."""
        index = I if axis == 0 else J
        kind = RowSum if axis == 0 else ColSum
        total = sympy.Integer(0)
        for term in sympy.Add.make_args(sympy.expand(summand)):
            outside: list[Any] = []
            inside: list[Any] = []
            for f in sympy.Mul.make_args(term):
                (inside if index in self.depends(f) else outside).append(f)
            body = sympy.Mul(*inside)
            if body == 1:
                total += sympy.Mul(*outside) * count
                continue
            if body in self.defs and definitions:
                # Σ through the value's definition, one level deep (Σ_i (X − μ) = ΣX − Nμ,
                # and μ = ΣX / N): dropped when that is zero
                through = self.reduce(self.defs[body], axis, count, definitions=False)
                hit = {s: self.defs[s] for s in through.free_symbols if s in self.defs}
                if sympy.expand(through.xreplace(hit)) == 0:
                    continue
            total += sympy.Mul(*outside) * kind(body)
        return total

    # ------------------------------------------------------------------ back to matrices

    def back(self, expr: Any) -> Any:
        """The matrix expression of an entry formula (broadcast to the result's shape)."""
        return self._at(self._back(expr), self.shape)

    def _shape(self, deps: frozenset[str]) -> tuple[Any, Any]:
        rows, cols = self.shape
        return (rows if I in deps else sympy.Integer(1), cols if J in deps else sympy.Integer(1))

    def _back(self, expr: Any) -> Any:
        deps = self.depends(expr)
        if not deps:
            if expr.has(RowSum, ColSum) or any(s in self.matrix for s in expr.free_symbols):
                raise NotEntrywise("a scalar formula of values")
            return expr
        target = self._shape(deps)
        if isinstance(expr, sympy.Symbol) and expr in self.roots:
            base, k = self.roots[expr]
            inner = self._at(self._back(base), target)
            return (
                N.elementwise("sqrt", inner)
                if k == 2
                else HadamardPower(inner, sympy.Rational(1, k))
            )
        if isinstance(expr, sympy.Symbol):
            return self.matrix[expr]
        if isinstance(expr, RowSum):
            return N.Reduce(self._back_at(expr.args[0], I), "sum", 0)
        if isinstance(expr, ColSum):
            return N.Reduce(self._back_at(expr.args[0], J), "sum", 1)
        if isinstance(expr, sympy.Add):
            return N.add([self._at(self._back(a), target) for a in expr.args])
        if isinstance(expr, sympy.Mul):
            coeff = sympy.Mul(*[a for a in expr.args if not self.depends(a)])
            rest = [self._at(self._back(a), target) for a in expr.args if self.depends(a)]
            return N.scale(N.hadamard(*rest), coeff)
        if isinstance(expr, sympy.Pow):
            base = self._back(expr.base)
            if expr.exp == sympy.Rational(1, 2):
                return N.elementwise("sqrt", base)
            return HadamardPower(base, expr.exp)
        raise NotEntrywise(type(expr).__name__)

    def _back_at(self, summand: Any, index: str) -> Any:
        deps = self.depends(summand) | {index}
        return self._at(self._back(summand), self._shape(deps))

    @staticmethod
    def _at(m: Any, shape: tuple[Any, Any]) -> Any:
        if not isinstance(m, MatrixExpr):
            return N.Broadcast(m, *shape)
        return m if tuple(m.shape) == tuple(shape) else N.Broadcast(m, *shape)


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
