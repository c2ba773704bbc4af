"""The matrix algebra as array code: symbols, products and sums, powers, identities,
activations (entrywise, piecewise, stable forms, softmax) and the losses."""

from __future__ import annotations

import re
from typing import Any

import sympy
from sympy.matrices.expressions import MatrixSymbol, OneMatrix
from sympy.printing.precedence import PRECEDENCE

from derive.core.nodes import Softmax
from derive.export.array_hooks import (
    ArrayHooks,
    ExportError,
    binds_looser_than_matmul,
    code_name,
    wrapped,
)
from derive.export.stable_forms import is_sigmoid, stable_scalar


class AlgebraNodes(ArrayHooks):
    """Symbols, linear algebra, numbers, activations and losses (a printer mixin)."""

    # --- symbols
    def _print_MatrixSymbol(self, expr: MatrixSymbol) -> str:
        return code_name(expr.name)

    _print_TensorSymbol = _print_MatrixSymbol

    def _print_Symbol(self, expr: sympy.Symbol) -> str:
        if expr.name == self._dtype_ref:  # an entrywise function's argument, printed already
            return str(expr.name)
        return code_name(expr.name)

    # --- linear algebra
    def _print_MatMul(self, expr: Any) -> str:
        coeff, factors = expr.as_coeff_matrices()
        acc: str | None = None
        pending_left_ones: Any = None
        for f in factors:
            if isinstance(f, OneMatrix):
                if acc is None:
                    pending_left_ones = f
                    continue
                # M 1_{k×c}: the row sums, broadcast over c columns (k = 1: M itself).
                acc = acc if f.shape[0] == 1 else self.reduce_sum(acc, 1)
                continue
            code = self._print(f)
            if binds_looser_than_matmul(code):  # f'(Z) as 1 - A**2, σ(−Z)*σ(Z), A ⊙ B
                code = f"({code})"
            if pending_left_ones is not None:
                # 1_{r×k} M: the column sums, broadcast over r rows (k = 1: M itself).
                k = pending_left_ones.shape[1]
                code = code if k == 1 else self.reduce_sum(self._print(f), 0)
                pending_left_ones = None
            acc = code if acc is None else f"{acc} @ {code}"
        if acc is None:
            acc = "1"
        if coeff == 1:
            return acc
        if " " in acc and not wrapped(acc):
            acc = f"({acc})"
        return self.scaled(coeff, acc)

    def _print_MatAdd(self, expr: Any) -> str:
        from derive.render.text import join_signed, ordered_terms

        return join_signed([self._print(t) for t in ordered_terms(expr)], " - ")

    def _print_OneMatrix(self, expr: Any) -> str:
        return "1"

    def _print_Transpose(self, expr: Any) -> str:
        return f"{self.parenthesize(expr.arg, PRECEDENCE['Func'])}.T"

    def _print_TensorHadamard(self, expr: Any) -> str:
        return self._print_HadamardProduct(expr)

    def _print_HadamardProduct(self, expr: Any) -> str:
        parts = []
        for a in expr.args:
            code = self._print(a)
            if " " in code and not wrapped(code):
                code = f"({code})"
            parts.append(code)
        return " * ".join(parts)

    def _print_HadamardPower(self, expr: Any) -> str:
        base = self.parenthesize(expr.base, PRECEDENCE["Pow"])
        exp = self._print(expr.exp)
        if not (expr.exp.is_Integer or expr.exp.is_Symbol):
            exp = f"({exp})"  # X**(1/2), not X**1/2 = X/2
        return f"{base}**{exp}"

    def _print_Pow(self, expr: Any, rational: bool = False) -> str:
        if expr.is_number and not expr.is_Rational:
            # a Python float, not numpy.sqrt(2): a NumPy float64 scalar would promote float32
            return repr(float(expr))
        base = self.parenthesize(expr.base, PRECEDENCE["Pow"], strict=False)
        if expr.exp == -1:
            return f"1/{base}"
        if expr.exp.is_Integer and expr.exp > 0:
            return f"{base}**{expr.exp}"
        return self.pow_fallback(expr, rational)

    def pow_fallback(self, expr: Any, rational: bool) -> str:
        """SymPy's own power printing (the PyTorch printer's takes no ``rational``)."""
        return str(super()._print_Pow(expr, rational=rational))  # type: ignore[misc]

    def _print_Integer(self, expr: Any) -> str:
        # an integer past 2**53 (a slope of 1e308, read exactly) is a float to the arrays:
        # as a Python int it overflows NumPy's C long and is not exact in float64 anyway
        if abs(int(expr)) > 2**53:
            return repr(float(expr))
        return str(super()._print_Integer(expr))  # type: ignore[misc]

    def _print_Identity(self, expr: Any) -> str:
        # A 1×1 identity (1 − A² at width 1 and batch 1) is the number 1: numpy.eye(1)
        # would make float32 inputs float64, torch.eye(1) a CPU tensor on any device.
        if expr.shape == (1, 1):
            return "1"
        if not expr.shape[0].is_Integer:  # SymPy's printers refuse a symbolic size
            return f"{self.fn('eye')}({self._print(expr.shape[0])})"
        return str(super()._print_Identity(expr))  # type: ignore[misc]

    def _print_ElementwiseOf(self, expr: Any) -> str:
        fn = expr.scalar()
        if any(
            type(f).__module__ == "derive.spec.activations" for f in fn.expr.atoms(sympy.Function)
        ):
            raise ExportError(
                f"activation {expr.name} is symbolic and has no numeric form; "
                "choose a concrete activation (or a custom formula) to export"
            )
        arg = self._print(expr.arg)
        if not re.fullmatch(r"\w+", arg):
            arg = f"({arg})"
        (x,) = fn.variables
        # The argument's code stands in as a placeholder symbol, put back after printing: a
        # symbol's name goes through code_name, which would mangle code such as
        # numpy.broadcast_to(mu, (N, C)) (a column broadcast inside exp, relu, …).
        hole = "ELEMENTWISEARGUMENT"
        saved, self._dtype_ref = self._dtype_ref, hole
        body = stable_scalar(fn.expr.xreplace({x: sympy.Symbol(hole, real=True)}))
        try:
            return self._print(body).replace(hole, arg)
        finally:
            self._dtype_ref = saved

    def _print_Max(self, expr: Any) -> str:
        return self._extremum(expr, "max")

    def _print_Min(self, expr: Any) -> str:
        return self._extremum(expr, "min")

    def _extremum(self, expr: Any, kind: str) -> str:
        ref = self._dtype_ref
        scalar = [
            not any(getattr(s, "name", None) == ref for s in a.free_symbols) if ref else a.is_number
            for a in expr.args
        ]
        args = [self._print(a) for a in expr.args]
        return self.extremum(kind, args, scalar)

    def _print_Piecewise(self, expr: Any) -> str:
        *pieces, last = expr.args
        out = self._print(last.expr)
        ref = self._dtype_ref

        def scalar(e: Any) -> bool:  # a branch free of the array itself (1, slope, …)
            return bool(ref) and not any(s.name == ref for s in e.free_symbols)

        if scalar(last.expr):
            out = self.scalar_like(out, ref or "")
        for piece in reversed(pieces):
            cond, val = self._print(piece.cond), self._print(piece.expr)
            if scalar(piece.expr):
                val = self.scalar_like(val, ref or "")
            out = f"{self.fn('where')}({cond}, {val}, {out})"
        # where() of Python numbers would give the default dtype: keep the input's.
        return self.cast_like(out, self._dtype_ref) if self._dtype_ref else out

    def _print_StableSigmoid(self, expr: Any) -> str:
        return self.sigmoid(self._print(expr.args[0]))

    def _print_StableSoftplus(self, expr: Any) -> str:
        return self.softplus(self._print(expr.args[0]))

    def _print_Heaviside(self, expr: Any) -> str:
        arg = self._print(expr.args[0])
        return self.cast_like(f"({arg} > 0)", self._dtype_ref or arg)

    def _print_Softmax(self, expr: Any) -> str:
        return self.softmax(self._print(expr.arg), expr.axis)

    # --- losses
    def _print_FrobeniusSq(self, expr: Any) -> str:
        return self.total(f"{self.fn('square')}({self._print(expr.arg)})")

    #: The equation that defines each forward value (set by ``to_source``): a loss of
    #: ``softmax(Z)`` or ``σ(Z)`` is computed from the logits Z, where it stays finite.
    producers: dict[Any, Any] = {}

    def _producer(self, a: Any) -> Any:
        return self.producers.get(a)

    def _print_CrossEntropy(self, expr: Any) -> str:
        y, a = self._print(expr.target), self._print(expr.probs)
        src = self._producer(expr.probs)
        if isinstance(src, Softmax):
            # log softmax(Z) = Z − logsumexp(Z): finite where softmax underflows to 0
            logp = self.log_softmax(self._print(src.arg), int(src.axis))
            return "-" + self.total(f"{y} * {logp}")
        log = self.fn("log")
        return "-" + self.total(f"{y} * {log}({a})")

    def _print_BinaryCrossEntropy(self, expr: Any) -> str:
        y, a = self._print(expr.target), self._print(expr.probs)
        src = self._producer(expr.probs)
        if is_sigmoid(src):
            # from the logits: log σ(Z) = −softplus(−Z), log(1 − σ(Z)) = −softplus(Z)
            z = self._print(src.arg)
            z = z if re.fullmatch(r"\w+", z) else f"({z})"
            sp_neg, sp_pos = self.softplus(f"-{z}"), self.softplus(z)
            return self.total(f"{y} * {sp_neg} + (1 - {y}) * {sp_pos}")
        log = self.fn("log")
        return "-" + self.total(f"{y} * {log}({a}) + (1 - {y}) * {log}(1 - {a})")
