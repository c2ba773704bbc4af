"""The LaTeX printer: a SymPy ``LatexPrinter`` subclass that writes our nodes as notes do.

``\\sigma'(Z_{1})``, ``W_{2}^{T} \\delta_{2}``, ``\\frac{1}{m} \\delta_{1} X^{T}``, in the
user's notation; ``latex`` prints one expression and ``step_latex`` one step of a
derivation. The nodes of programs and of feature maps are printed by the mixins of
``latex_nodes``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sympy
from sympy.matrices.expressions import MatrixSymbol, OneMatrix, Transpose
from sympy.printing.latex import LatexPrinter

from derive.core.derivation import PRINTERS, StepKind
from derive.core.graph import split_name
from derive.core.nodes import ChannelBias, Softmax, is_tensor, tensor_coeff
from derive.render.latex_names import _FUNCTIONS, _GREEK, _tex_index, _word_name
from derive.render.latex_nodes import FeatureMapsLatex, ProgramNodesLatex
from derive.render.text import hadamard_fraction
from derive.spec.activations import TABLE
from derive.spec.notation import DELTA_SYMBOLS, HADAMARD, TRANSPOSE, Notation

if TYPE_CHECKING:
    from derive.core.derivation import Step


#: A scalar multiple or a sum of feature maps (SymPy's own Mul and Add).
_SCALED = (sympy.Add, sympy.Mul)


# SymPy ships no type information: LatexPrinter is Any to mypy, hence the ignore
class DeriveLatexPrinter(ProgramNodesLatex, FeatureMapsLatex, LatexPrinter):  # type: ignore[misc]
    """Our matrix expressions in LaTeX, in the user's notation."""

    printmethod = "_derive_latex"

    if TYPE_CHECKING:
        # SymPy ships no type information, so to mypy its printers are Any; these are the
        # signatures (as SymPy documents them) of the inherited methods this class calls.
        def _print(self, expr: object, **kwargs: object) -> str: ...
        def doprint(self, expr: object) -> str: ...

    def __init__(self, notation: Notation | None = None) -> None:
        super().__init__({"mul_symbol": None})
        self.notation = notation or Notation()

    # --- symbols
    def base_tex(self, base: str) -> str:
        """The LaTeX of a symbol's base name in this notation (``\\delta`` or ``dZ``)."""
        if base == "delta":
            return DELTA_SYMBOLS[self.notation.delta]
        return _GREEK.get(base, base)

    def indexed(self, base: str, idx: str, extra_sup: str = "") -> str:
        """``W`` + ``2`` -> ``W_{2}`` / ``W^{[2]}`` / ``W^{(2)}`` (``extra_sup``: e.g. T)."""
        b = self.base_tex(base)
        style = self.notation.index
        if not idx:
            return f"{b}^{{{extra_sup}}}" if extra_sup else b
        i = _tex_index(idx)
        if style == "subscript":
            out = f"{b}_{{{i}}}"
            return f"{out}^{{{extra_sup}}}" if extra_sup else out
        wrap = f"[{i}]" if style == "bracket" else f"({i})"
        return f"{b}^{{{wrap}{extra_sup}}}"

    def _print_MatrixSymbol(self, expr: MatrixSymbol) -> str:
        word = _word_name(expr.name)
        return word if word is not None else self.indexed(*split_name(expr.name))

    def _print_Symbol(self, expr: sympy.Symbol, style: str = "plain") -> str:
        word = _word_name(expr.name)
        if word is not None:
            return word
        base, idx = split_name(expr.name)
        b = _GREEK.get(base, base)
        return f"{b}_{{{_tex_index(idx)}}}" if idx else b

    def _print_Transpose(self, expr: Transpose) -> str:
        t = TRANSPOSE[self.notation.transpose]
        if isinstance(expr.arg, MatrixSymbol):
            return self.indexed(*split_name(expr.arg.name), extra_sup=t)
        return rf"\left({self._print(expr.arg)}\right)^{{{t}}}"

    # --- linear algebra
    def coefficient(self, coeff: Any) -> str:
        """A scalar factor in front of a product (``\\frac{1}{m}``, ``-``, nothing for 1)."""
        if coeff == 1:
            return ""
        if coeff == -1:
            return "-"
        sign = "-" if coeff.could_extract_minus_sign() else ""
        mag = -coeff if sign else coeff
        body = self._print(mag)
        if mag.is_Add:
            body = rf"\left({body}\right)"
        return f"{sign}{body} "

    def _factor(self, f: Any) -> str:
        code = self._print(f)
        if isinstance(f, sympy.MatAdd):
            return rf"\left({code}\right)"
        return code

    def _print_MatMul(self, expr: Any) -> str:
        coeff, factors = expr.as_coeff_matrices()
        return self.coefficient(coeff) + " ".join(self._factor(f) for f in factors)

    def _print_MatAdd(self, expr: Any) -> str:
        from derive.render.text import common_factor, join_signed

        coeff, terms = common_factor(expr)
        codes = [r"\mathbf{1}" if isinstance(t, OneMatrix) else self._print(t) for t in terms]
        body = join_signed(codes, " - ")
        return body if coeff == 1 else rf"{self.coefficient(coeff)}\left({body}\right)"

    def _print_OneMatrix(self, expr: Any) -> str:
        rows, cols = expr.shape
        t = TRANSPOSE[self.notation.transpose]
        if cols == 1:
            return rf"\mathbf{{1}}_{{{self._print(rows)}}}"
        if rows == 1:
            return rf"\mathbf{{1}}_{{{self._print(cols)}}}^{{{t}}}"
        return rf"\mathbf{{1}}_{{{self._print(rows)}}}\mathbf{{1}}_{{{self._print(cols)}}}^{{{t}}}"

    def _print_HadamardProduct(self, expr: Any) -> str:
        """``X ⊙ Y`` of matrices or feature maps; a sum or product factor is bracketed."""
        op = f" {HADAMARD[self.notation.hadamard]} "
        num, den = hadamard_fraction(expr)
        parts = []
        for a in [*num, *den]:
            code = self._print(a)
            if isinstance(a, (sympy.MatAdd, sympy.MatMul, sympy.HadamardProduct, *_SCALED)):
                code = rf"\left({code}\right)"
            parts.append(code)
        out = op.join(parts[: len(num)])
        for code in parts[len(num) :]:  # X ⊙ Y^∘⁻¹ reads X ⊘ Y (entrywise division)
            out += rf" \oslash {code}"
        return out

    _print_TensorHadamard = _print_HadamardProduct

    def hadamard_operand(self, expr: Any) -> str:
        """One side of a ``⊙`` written by hand (the chain-rule step): bracketed like a factor
        of a printed Hadamard product, so ``∂C/∂A ⊙ (1 − A^{∘2})`` keeps its parentheses."""
        code = self._print(expr)
        if isinstance(
            expr, (sympy.MatAdd, sympy.MatMul, sympy.HadamardProduct, sympy.Add, sympy.Mul)
        ):
            code = rf"\left({code}\right)"
        return code

    def _print_HadamardPower(self, expr: Any) -> str:
        base = self._print(expr.base)
        if not isinstance(expr.base, MatrixSymbol):
            base = rf"\left({base}\right)"
        elif "^" in base:  # X^{[2]}: a second superscript needs its own group
            base = f"{{{base}}}"
        return rf"{base}^{{\circ {self._print(expr.exp)}}}"

    # --- activations and losses
    def activation_name(self, name: str) -> str:
        """How an activation is written in this notation (``\\sigma``, a user's name)."""
        default = TABLE[name].tex if name in TABLE else _GREEK.get(name, name)
        return self.notation.activation_tex(name, default)

    def _print_ElementwiseOf(self, expr: Any) -> str:
        if expr.order == 0 and expr.name in _FUNCTIONS:
            return _FUNCTIONS[expr.name].format(self._print(expr.arg))
        primes = "'" * expr.order
        return rf"{self.activation_name(expr.name)}{primes}\left({self._print(expr.arg)}\right)"

    def _print_Softmax(self, expr: Softmax) -> str:
        return rf"\operatorname{{softmax}}\left({self._print(expr.arg)}\right)"

    def _print_FrobeniusSq(self, expr: Any) -> str:
        return rf"\left\lVert {self._print(expr.arg)} \right\rVert_F^2"

    def _print_CrossEntropy(self, expr: Any) -> str:
        y, a = self._print(expr.target), self._print(expr.probs)
        return rf"-\sum_{{j,i}} \left({y} \odot \log {a}\right)_{{ji}}"

    def _print_BinaryCrossEntropy(self, expr: Any) -> str:
        y, a = self._print(expr.target), self._print(expr.probs)
        return (
            rf"-\sum_{{j,i}} \left({y} \odot \log {a} + (\mathbf{{1}} - {y}) \odot "
            rf"\log(\mathbf{{1}} - {a})\right)_{{ji}}"
        )

    def _print_PartialOf(self, expr: Any) -> str:
        return rf"\frac{{\partial {self._print(expr.of)}}}{{\partial {self._print(expr.wrt)}}}"

    def _print_Mul(self, expr: Any) -> str:
        if is_tensor(expr):
            coeff, rest = tensor_coeff(expr)
            body = self._print(rest)
            if isinstance(rest, sympy.Add):
                body = rf"\left({body}\right)"
            return self.coefficient(coeff) + body
        if expr.has(sympy.MatrixExpr):
            num, den = sympy.fraction(expr)
            if den.has(sympy.MatrixExpr):
                # g/‖X‖ (SymPy's _print_Pow sends x**-1 here too): a scalar node below
                return rf"\frac{{{self._print(num)}}}{{{self._print(den)}}}"
            coeff = sympy.Mul(*[f for f in expr.args if not f.has(sympy.MatrixExpr)])
            rest = [f for f in expr.args if f.has(sympy.MatrixExpr)]
            parts = []
            for r in rest:
                code = self._print(r)
                if r.is_Add:
                    code = rf"\left({code}\right)"
                parts.append(code)
            body = " ".join(parts)
            if body.startswith("-") and not coeff.could_extract_minus_sign():
                return "-" + self.coefficient(coeff) + body[1:]
            return self.coefficient(coeff) + body
        out: str = super()._print_Mul(expr)
        return out

    def _print_Add(self, expr: Any, order: Any = None) -> str:
        if is_tensor(expr):
            from derive.render.text import join_signed

            terms = sorted(
                expr.args,
                key=lambda t: (t.could_extract_minus_sign(), isinstance(t, ChannelBias)),
            )
            codes = [self._print(t) for t in terms]
            return join_signed([c.replace("- ", "-", 1) for c in codes], " - ")
        if not expr.has(sympy.MatrixExpr):
            # a size like w - q + 1 (not -q + w + 1): symbols first, subtracted terms
            # next, the number last, as the text output writes it
            from derive.render.text import join_signed, scalar_terms

            codes = [self._print(t) for t in scalar_terms(expr)]
            return join_signed([c.replace("- ", "-", 1) for c in codes], " - ")
        # the data term (the one with the targets Y) first, weight decay after it
        terms = sorted(
            expr.args, key=lambda t: not any(s.name == "Y" for s in t.atoms(MatrixSymbol))
        )
        out = self._print(terms[0])
        for t in terms[1:]:
            code = self._print(t)
            out += f" - {code[1:]}" if code.startswith("-") else f" + {code}"
        return out


def latex(expr: Any, notation: Notation | None = None) -> str:
    """One expression in LaTeX."""
    return DeriveLatexPrinter(notation).doprint(expr)


def step_latex(step: Step, notation: Notation | None = None, align: bool = False) -> str:
    """``lhs = rhs`` of one step (``\\gets`` for updates); ``align`` puts ``&`` before it."""
    p = DeriveLatexPrinter(notation)
    eq = r"\gets" if step.kind is StepKind.UPDATE else "="
    return f"{p.doprint(step.lhs)} {'&' if align else ''}{eq} {p.doprint(step.rhs)}"


PRINTERS["latex"] = step_latex
