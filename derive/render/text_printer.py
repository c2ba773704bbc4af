"""The text printer: a SymPy ``StrPrinter`` subclass that writes our nodes as notes do.

``W₂ᵀ δ₂ ⊙ σ'(Z₁)``: ``text`` prints one expression (and is the core's ``PRINTERS["text"]``).
The nodes of feature maps and of programs are printed by the mixins of ``text_nodes``,
names by ``text_names``, sums and products ordered by ``text_terms``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sympy
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from derive.core.derivation import PRINTERS
from derive.core.nodes import is_tensor, tensor_coeff
from derive.render.text_names import _GREEK, _SUP, subscript, symbol_text
from derive.render.text_nodes import FeatureMapsText, ProgramNodesText
from derive.render.text_terms import (
    _is_bias,
    _is_data_term,
    common_factor,
    hadamard_fraction,
    join_signed,
    scalar_terms,
)
from derive.spec.activations import TABLE


# SymPy ships no type information: StrPrinter is Any to mypy, hence the ignore
class TextPrinter(FeatureMapsText, ProgramNodesText, StrPrinter):  # type: ignore[misc]
    """Prints matrix expressions the way notes write them: ``W₂ᵀ δ₂ ⊙ σ'(Z₁)``."""

    printmethod = "_derive_text"

    if TYPE_CHECKING:
        # SymPy ships no type information, so to mypy its printers are Any; these are the
        # signatures (as SymPy documents them) of the inherited methods this class calls.
        def _print(self, expr: object, **kwargs: object) -> str: ...
        def doprint(self, expr: object) -> str: ...
        def parenthesize(self, item: object, level: int, strict: bool = False) -> str: ...

    def _print_Symbol(self, expr: sympy.Symbol) -> str:
        return symbol_text(expr.name)

    def _print_MatrixSymbol(self, expr: Any) -> str:
        return symbol_text(expr.name)

    def _print_Transpose(self, expr: Any) -> str:
        inner = self._print(expr.arg)
        if not hasattr(expr.arg, "name"):
            inner = f"({inner})"
        return inner + "ᵀ"

    def _print_OneMatrix(self, expr: Any) -> str:
        rows, cols = expr.shape
        if cols == 1:
            return "1" + subscript(sympy.sstr(rows))
        if rows == 1:
            return "1" + subscript(sympy.sstr(cols)) + "ᵀ"
        return "1" + subscript(sympy.sstr(rows)) + " 1" + subscript(sympy.sstr(cols)) + "ᵀ"

    def coefficient(self, coeff: Any) -> str:
        """``-1`` -> ``-``; ``1/m`` -> ``(1/m) ``; ``alpha`` -> ``α ``."""
        if coeff == 1:
            return ""
        if coeff == -1:
            return "-"
        sign = "-" if coeff.could_extract_minus_sign() else ""
        mag = -coeff if sign else coeff
        body = self._print(mag)
        if sympy.fraction(mag)[1] != 1 or mag.is_Add:
            body = f"({body})"
        return f"{sign}{body} "

    def _print_MatMul(self, expr: Any) -> str:
        coeff, factors = expr.as_coeff_matrices()
        prec = PRECEDENCE["Mul"]
        parts = [self.parenthesize(f, prec, strict=False) for f in factors]
        return self.coefficient(coeff) + " ".join(parts)

    def _print_MatAdd(self, expr: Any) -> str:
        coeff, terms = common_factor(expr)
        body = join_signed(
            ["1" if isinstance(t, sympy.OneMatrix) else self._print(t) for t in terms]
        )
        return body if coeff == 1 else f"{self.coefficient(coeff)}({body})"

    def _print_HadamardProduct(self, expr: Any) -> str:
        num, den = hadamard_fraction(expr)
        out = " ⊙ ".join(self.parenthesize(a, PRECEDENCE["Mul"] + 1) for a in num)
        for d in den:  # X ⊙ Y^∘⁻¹ reads X ⊘ Y (entrywise division)
            out += " ⊘ " + self.parenthesize(d, PRECEDENCE["Mul"] + 1)
        return out

    _print_TensorHadamard = _print_HadamardProduct

    def _print_HadamardPower(self, expr: Any) -> str:
        """``A ⊙ A`` as ``A∘²`` (the Hadamard power), not ``A^∘(2)``."""
        base = self.parenthesize(expr.base, PRECEDENCE["Pow"])
        exp = self._print(expr.exp)
        sup = exp.translate(_SUP)
        if any(ch == src for ch, src in zip(sup, exp)):  # no superscript for some character
            return f"{base}^∘({exp})"
        return f"{base}∘{sup}"

    def _print_ElementwiseOf(self, expr: Any) -> str:
        name = TABLE[expr.name].text if expr.name in TABLE else _GREEK.get(expr.name, expr.name)
        return f"{name}{chr(39) * expr.order}({self._print(expr.arg)})"

    def _print_Softmax(self, expr: Any) -> str:
        return f"softmax({self._print(expr.arg)})"

    def _print_FrobeniusSq(self, expr: Any) -> str:
        return f"‖{self._print(expr.arg)}‖²"

    #: set while the terms of a loss with several terms print: a Σ then says where it ends
    _in_sum = False

    def _print_CrossEntropy(self, expr: Any) -> str:
        body = f"{self._print(expr.target)} ⊙ log {self._print(expr.probs)}"
        return f"−Σ [{body}]" if self._in_sum else f"−Σ {body}"

    def _print_BinaryCrossEntropy(self, expr: Any) -> str:
        y, a = self._print(expr.target), self._print(expr.probs)
        return f"−Σ [{y} ⊙ log {a} + (1 − {y}) ⊙ log(1 − {a})]"

    def _print_PartialOf(self, expr: Any) -> str:
        return f"∂{self._print(expr.of)}/∂{self._print(expr.wrt)}"

    # --- feature maps (CNN notes' notation: ⋆ correlation, * convolution, rot180)
    _print_TensorSymbol = _print_MatrixSymbol

    def _print_Mul(self, expr: Any) -> str:
        if is_tensor(expr):
            coeff, rest = tensor_coeff(expr)
            body = self._print(rest)
            if isinstance(rest, sympy.Add):
                body = f"({body})"
            return self.coefficient(coeff) + body
        if expr.has(sympy.MatrixExpr):
            num, den = sympy.fraction(expr)
            if den.has(sympy.MatrixExpr):  # g/‖X‖: a scalar node in the denominator
                d = self._print(den)
                return f"{self.parenthesize(num, PRECEDENCE['Mul'])}/" + (
                    f"({d})" if den.is_Mul or den.is_Add else d
                )
            coeff = sympy.Mul(*[f for f in expr.args if not f.has(sympy.MatrixExpr)])
            rest = " ".join(
                f"({self._print(f)})" if f.is_Add else self._print(f)
                for f in expr.args
                if f.has(sympy.MatrixExpr)
            )
            if rest.startswith("−") and not coeff.could_extract_minus_sign():
                return "−" + self.coefficient(coeff) + rest[1:].lstrip()
            return self.coefficient(coeff) + rest
        num, den = sympy.fraction(expr)
        if den != 1:
            if num.could_extract_minus_sign():  # -q/2, not (-q)/2
                return "-" + self._print(sympy.Mul(-num, 1 / den, evaluate=True))
            n = self.parenthesize(num, PRECEDENCE["Mul"])
            d = self._print(den)
            if den.is_Mul or den.is_Add:
                d = f"({d})"
            return f"{n}/{d}"
        coeff, rest = expr.as_coeff_Mul()
        if coeff not in (1, -1) and coeff.is_Integer:
            sign = "-" if coeff < 0 else ""
            return f"{sign}{abs(coeff)}{self.parenthesize(rest, PRECEDENCE['Mul'])}"
        if coeff == 1 and rest.is_Mul:
            # c₁ (h/2 − 1)², not c₁*(h/2 - 1)**2: sizes read as notes write them
            return " ".join(self.parenthesize(f, PRECEDENCE["Mul"]) for f in rest.args)
        out: str = super()._print_Mul(expr)
        return out

    def _print_Pow(self, expr: Any, rational: bool = False) -> str:
        if expr.exp.is_Integer and 2 <= expr.exp <= 9 and not expr.base.is_Number:
            sup = str(expr.exp).translate(str.maketrans("23456789", "²³⁴⁵⁶⁷⁸⁹"))
            return self.parenthesize(expr.base, PRECEDENCE["Pow"], strict=True) + sup
        return str(super()._print_Pow(expr, rational))

    def _print_Add(self, expr: Any, order: Any = None) -> str:
        if is_tensor(expr):
            terms = sorted(expr.args, key=lambda t: (t.could_extract_minus_sign(), _is_bias(t)))
            return join_signed([self._print(t) for t in terms])
        if not expr.has(sympy.MatrixExpr):
            # a size like w − q + 1 (not -q + w + 1): symbols first, subtracted terms
            # next, the number last, with the minus sign of the rest of the output
            return join_signed([self._print(t) for t in scalar_terms(expr)])
        terms = sorted(expr.args, key=lambda t: not _is_data_term(t))
        saved, self._in_sum = self._in_sum, len(terms) > 1
        try:
            return join_signed([self._print(t) for t in terms])
        finally:
            self._in_sum = saved


_PRINTER = TextPrinter()


def text(expr: Any) -> str:
    """One expression as Unicode text."""
    return _PRINTER.doprint(expr)


PRINTERS["text"] = text
