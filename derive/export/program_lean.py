"""Lean printing of a program's module: NumPy's broadcasting instead of broadcast nodes.

``LeanPrinting`` is mixed into a backend printer (``lean_printer``): a broadcast node is
written as its operand wherever the array library broadcasts it anyway, a scalar
coefficient lands on the smallest factor, and a value already computed (a forward value,
a stage, a shared subexpression) is read by its name instead of computed again.
"""

from __future__ import annotations

import re
from typing import Any

import sympy
from sympy.matrices.expressions import OneMatrix

from derive.core.nodes import Broadcast, Elementwise, ElementwiseOf, Indicator, ScalarOfMatrices
from derive.export.array_hooks import code_name, wrapped
from derive.export.program_shared import _cheap, _Keys
from derive.export.source import printer_for


def _group(code: str) -> str:
    """``code`` as one operand (parenthesised unless a name or one call already)."""
    return code if re.fullmatch(r"[\w.]+", code) or wrapped(code) else f"({code})"


def _matrix(e: Any) -> bool:
    return isinstance(e, sympy.MatrixExpr)


def _entrywise_children(e: Any) -> list[Any] | None:
    """The matrix operands of an entry-by-entry node (None for any other node): where an
    operand may stay a row, column or scalar and the array library broadcasts it."""
    if isinstance(e, (sympy.MatAdd, sympy.HadamardProduct)):
        return [a for a in e.args if _matrix(a)]
    if isinstance(e, sympy.HadamardPower):
        return [e.base] if _matrix(e.base) and not _matrix(e.exp) else None
    if isinstance(e, Elementwise):
        return [e.arg]
    if isinstance(e, Indicator):
        return [a for a in (e.lhs, e.rhs) if _matrix(a)]
    if isinstance(e, sympy.MatMul):
        _, factors = e.as_coeff_matrices()
        if len(factors) == 1 and not isinstance(factors[0], OneMatrix):
            return list(factors)
    return None


def _f_of_derivative(fn: sympy.Lambda, order: int) -> Any:
    """``f^{(order)}`` written in ``f`` itself where it is one of the usual forms
    (tanh' = 1 − tanh², σ' = σ(1 − σ), exp' = exp), with ``F`` standing for ``f(x)``;
    None otherwise. Lets the exported code read a forward value instead of recomputing."""
    key = (fn, order)
    if key not in _F_FORMS:
        (x,) = fn.variables
        d = sympy.diff(fn.expr, x, order)
        found = None
        if order == 1:
            for cand in (1 - _F**2, _F * (1 - _F), _F):
                if sympy.simplify(d - cand.xreplace({_F: fn.expr})) == 0:
                    found = cand
                    break
        _F_FORMS[key] = found
    return _F_FORMS[key]


_F = sympy.Symbol("F", real=True)


_F_FORMS: dict[Any, Any] = {}


def _plain_scalar(e: Any, scalars: set[Any]) -> bool:
    """A number computed from sizes alone (``scalars``: the size symbols)."""
    return (
        isinstance(e, sympy.Expr)
        and not e.is_Symbol
        and e.free_symbols <= scalars
        and not e.is_number
        and not isinstance(e, (sympy.MatrixExpr, ScalarOfMatrices))
        and all(
            isinstance(a, (sympy.Symbol, sympy.Number, sympy.Add, sympy.Mul, sympy.Pow))
            or (isinstance(a, sympy.Function) and not isinstance(a, ElementwiseOf))
            for a in sympy.preorder_traversal(e)
        )
    )


class LeanPrinting:
    """Mixed into a backend printer for a program's module: a broadcast node is written
    as its operand wherever the array library broadcasts it anyway (an entrywise
    operation beside a full-size operand), a scalar coefficient lands on the smallest
    factor, and a value already computed (a forward value, a stage, a shared
    subexpression) is read by its name instead of computed again."""

    names: dict[Any, str]
    keys: _Keys
    _lean: bool = False
    _full_memo: dict[Any, bool]
    #: Print numbers made of sizes and hyperparameters alone with Python's math module.
    _scalar_math: bool = False
    _math: Any = None
    _scalars: set[Any] = set()

    def setup(self) -> None:
        """Start with nothing named (one printer per exported function)."""
        self.names = {}
        self.keys = _Keys()
        self._full_memo = {}
        self._lean = False

    def full(self, e: Any) -> bool:
        """Whether ``e``, printed leanly, has its whole shape (no operand broadcasts it)."""
        got = self._full_memo.get(e)
        if got is None:
            if isinstance(e, Broadcast):
                got = False
            elif self.keys(e) in self.names:
                got = True
            else:
                kids = _entrywise_children(e)
                got = True if kids is None else any(self.full(k) for k in kids)
            self._full_memo[e] = got
        return got

    def doprint(self, expr: Any, *args: Any, **kwargs: Any) -> str:
        """One statement's right-hand side (its top keeps its whole shape)."""
        self._lean = False
        code = str(super().doprint(expr, *args, **kwargs))  # type: ignore[misc]
        return re.sub(r"(?<![\w.\]])\((\w+)\)", r"\1", code)  # (tmp1) -> tmp1

    def _print(self, expr: Any, **kwargs: Any) -> str:
        if isinstance(expr, sympy.Basic) and not _cheap(expr):
            name = self.names.get(self.keys(expr))
            if name is not None:
                return name
            if self._scalar_math and _plain_scalar(expr, self._scalars):
                # sqrt(d_k) of a size (a Python int): torch.sqrt takes only tensors
                rename = {s: sympy.Symbol(code_name(s.name)) for s in expr.free_symbols}
                code = self._math.doprint(expr.xreplace(rename))
                for mod, fns in self._math.module_imports.items():
                    self.module_imports[mod] |= fns  # type: ignore[attr-defined]
                return _group(code)
        lean = self._lean
        if isinstance(expr, Broadcast):
            self._lean = False
            try:
                if lean:
                    return str(self._print(expr.arg))
                return str(super()._print(expr, **kwargs))  # type: ignore[misc]
            finally:
                self._lean = lean
        kids = _entrywise_children(expr) if isinstance(expr, sympy.Basic) else None
        wrap = False
        if kids is None:
            self._lean = False
        else:
            self._lean = True
            wrap = not lean and not any(self.full(k) for k in kids)
        try:
            code = str(super()._print(expr, **kwargs))  # type: ignore[misc]
        finally:
            self._lean = lean
        if wrap:
            rows, cols = (self._print(d) for d in expr.shape)
            return str(self.broadcast(_group(code), rows, cols, False))  # type: ignore[attr-defined]
        return code

    def _hadamard(self, args: list[Any], coeff: Any = 1) -> str:
        """``a ⊙ b ⊙ …``, the operands that stay small first (Python multiplies left to
        right, so they meet each other before the full-size ones), ``coeff`` on the
        smallest."""
        small = [a for a in args if _matrix(a) and not self.full(a)]
        order = small + [a for a in args if not any(a is s for s in small)]
        parts = []
        for i, a in enumerate(order):
            code = self._print(a)
            if " " in code and not wrapped(code):
                code = f"({code})"
            if i == 0 and coeff != 1:
                code = self.scaled(coeff, code)  # type: ignore[attr-defined]
                code = code if wrapped(code) or " " not in code else f"({code})"
            parts.append(code)
        return " * ".join(parts)

    def _print_HadamardProduct(self, expr: Any) -> str:
        return self._hadamard(list(expr.args))

    def _print_MatMul(self, expr: Any) -> str:
        coeff, factors = expr.as_coeff_matrices()
        if (
            coeff not in (1, -1)
            and len(factors) == 1
            and isinstance(factors[0], sympy.HadamardProduct)
            and self.keys(factors[0]) not in self.names
            and any(_matrix(a) and not self.full(a) for a in factors[0].args)
        ):
            return self._hadamard(list(factors[0].args), coeff)
        return str(super()._print_MatMul(expr))  # type: ignore[misc]

    def _print_ElementwiseOf(self, expr: Any) -> str:
        if expr.order >= 1:
            base = type(expr)(expr.args[0], expr.fn, expr.arg, 0)
            name = self.names.get(self.keys(base))
            form = _f_of_derivative(expr.fn, expr.order) if name is not None else None
            if form is not None:
                return str(self._print(form.xreplace({_F: sympy.Symbol(name, real=True)})))
        return str(super()._print_ElementwiseOf(expr))  # type: ignore[misc]


def lean_printer(backend: str, sizes: set[Any] | None = None) -> Any:
    """The backend's printer with lean printing mixed in (``sizes``: the size symbols,
    Python ints in the module)."""
    base = type(printer_for(backend))
    cls = type(f"Lean{base.__name__}", (LeanPrinting, base), {})
    printer = cls()
    printer.setup()
    if backend != "numpy":
        from sympy.printing.pycode import PythonCodePrinter

        printer._scalar_math = True
        printer._scalars = set(sizes or ())
        printer._math = PythonCodePrinter({"fully_qualified_modules": True})
    return printer
