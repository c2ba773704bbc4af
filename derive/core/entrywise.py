"""One entry of a matrix expression as a scalar formula, and back.

An expression built only of entrywise operations, broadcasts and reductions is a formula
for *one entry*: ``(i, j)`` of an m×n value, ``j`` of a 1×n row, ``i`` of an m×1 column.
Each value becomes one commutative symbol, a reduction an unevaluated ``RowSum``/``ColSum``
of its summand (a factor free of the summed index leaves the sum; a sum that is zero
through its value's definition is dropped); ``Entrywise.back`` writes a formula as a
matrix expression again. ``compact`` searches for short forms with it.
"""

from __future__ import annotations

from typing import Any

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
