"""Readable Unicode text of a derivation (``derive show``): a SymPy StrPrinter subclass."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sympy
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from derive.activations import TABLE
from derive.graph import split_name

if TYPE_CHECKING:
    from derive.derivation import Derivation

_SUB = str.maketrans("0123456789+-=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ")
_GREEK = {"delta": "δ", "alpha": "α", "lambda": "λ", "sigma": "σ"}


def subscript(index: str) -> str:
    """``'l+1'`` -> ``'ₗ₊₁'`` where Unicode has every character, else ``'_{l+1}'``."""
    plain = index.replace(" ", "")
    out = plain.translate(_SUB)
    if any(ch == src for ch, src in zip(out, plain)):
        return f"_{{{plain}}}" if len(plain) > 1 else f"_{plain}"
    return out


def symbol_text(name: str) -> str:
    base, idx = split_name(name)
    base = _GREEK.get(base, base)
    return base + (subscript(idx) if idx else "")


class TextPrinter(StrPrinter):
    """Prints matrix expressions the way notes write them: ``W₂ᵀ δ₂ ⊙ σ'(Z₁)``."""

    printmethod = "_derive_text"

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
        return join_signed(
            ["1" if isinstance(t, sympy.OneMatrix) else self._print(t) for t in ordered_terms(expr)]
        )

    def _print_HadamardProduct(self, expr: Any) -> str:
        return " ⊙ ".join(self.parenthesize(a, PRECEDENCE["Mul"] + 1) for a in expr.args)

    def _print_HadamardPower(self, expr: Any) -> str:
        base = self.parenthesize(expr.base, PRECEDENCE["Pow"])
        return f"{base}^∘({self._print(expr.exp)})"

    def _print_Elementwise(self, expr: Any) -> str:
        name = TABLE[expr.name].text if expr.name in TABLE else expr.name
        return f"{name}{chr(39) * expr.order}({self._print(expr.arg)})"

    def _print_Softmax(self, expr: Any) -> str:
        return f"softmax({self._print(expr.arg)})"

    def _print_FrobeniusSq(self, expr: Any) -> str:
        return f"‖{self._print(expr.arg)}‖²"

    def _print_CrossEntropy(self, expr: Any) -> str:
        return f"−Σ {self._print(expr.target)} ⊙ log {self._print(expr.probs)}"

    def _print_BinaryCrossEntropy(self, expr: Any) -> str:
        y, a = self._print(expr.target), self._print(expr.probs)
        return f"−Σ [{y} ⊙ log {a} + (1 − {y}) ⊙ log(1 − {a})]"

    def _print_Partial(self, expr: Any) -> str:
        return f"∂{self._print(expr.of)}/∂{self._print(expr.wrt)}"

    def _print_Mul(self, expr: Any) -> str:
        if expr.has(sympy.MatrixExpr):
            coeff = sympy.Mul(*[f for f in expr.args if not f.has(sympy.MatrixExpr)])
            rest = " ".join(self._print(f) for f in expr.args if f.has(sympy.MatrixExpr))
            if rest.startswith("−") and not coeff.could_extract_minus_sign():
                return "−" + self.coefficient(coeff) + rest[1:].lstrip()
            return self.coefficient(coeff) + rest
        num, den = sympy.fraction(expr)
        if den != 1:
            n = self.parenthesize(num, PRECEDENCE["Mul"])
            d = self._print(den)
            if den.is_Mul or den.is_Add:
                d = f"({d})"
            return f"{n}/{d}"
        coeff, rest = expr.as_coeff_Mul()
        if coeff not in (1, -1) and coeff.is_Integer:
            sign = "-" if coeff < 0 else ""
            return f"{sign}{abs(coeff)}{self.parenthesize(rest, PRECEDENCE['Mul'])}"
        return super()._print_Mul(expr)

    def _print_Add(self, expr: Any, order: Any = None) -> str:
        if not expr.has(sympy.MatrixExpr):
            return super()._print_Add(expr, order)
        terms = sorted(expr.args, key=lambda t: not _is_data_term(t))
        return join_signed([self._print(t) for t in terms])


def is_negative(term: Any) -> bool:
    if isinstance(term, sympy.MatMul):
        return bool(term.as_coeff_matrices()[0].could_extract_minus_sign())
    return bool(term.could_extract_minus_sign())


def _is_lone_symbol(term: Any) -> bool:
    if isinstance(term, sympy.MatMul):
        factors = term.as_coeff_matrices()[1]
        return len(factors) == 1 and isinstance(factors[0], sympy.MatrixSymbol)
    return isinstance(term, sympy.MatrixSymbol)


def join_signed(codes: list[str], minus: str = " − ") -> str:
    """``["A", "-Y"]`` -> ``"A − Y"``: the printed terms of a sum, signs written once."""
    out = codes[0]
    for code in codes[1:]:
        out += minus + code[1:] if code.startswith("-") else " + " + code
    return out


def ordered_terms(expr: Any) -> list[Any]:
    """Terms of a sum as people write them: ``A - Y``, ``W - α G``, ``(1/m) δ Xᵀ + (λ/m) W``.

    Positive terms first; among them, a lone scaled symbol (a weight-decay term) last,
    unless every term is one.
    """
    return sorted(expr.args, key=lambda t: (is_negative(t), _is_lone_symbol(t)))


def _is_data_term(term: Any) -> bool:
    return any(s.name == "Y" for s in term.atoms(sympy.MatrixSymbol))


_PRINTER = TextPrinter()


def text(expr: Any) -> str:
    """One expression as Unicode text."""
    return _PRINTER.doprint(expr)


def _shape(expr: Any) -> str:
    rows, cols = expr.shape
    return f"{text(rows)}×{text(cols)}"


def render(d: Derivation, through_output: bool = False) -> str:
    """The whole derivation, section by section, as plain Unicode text.

    ``through_output`` writes activation derivatives through the output where the
    textbooks do (``σ'(Z₁)`` as ``A₁ ⊙ (1 − A₁)``).
    """

    def text(expr: Any) -> str:
        return _PRINTER.doprint(d.through_output(expr) if through_output else expr)

    net = d.network
    lines: list[str] = []
    lines.append(
        f"{net.name}: {d.depth} layer(s), {net.convention} convention "
        f"({'samples are columns' if net.convention == 'column' else 'samples are rows'})"
    )
    widths = ", ".join(
        f"n{subscript(str(i))}" + ("" if text(w) == f"n{subscript(str(i))}" else f" = {text(w)}")
        for i, w in enumerate(d.program.widths)
    )
    batch = text(d.program.batch)
    lines.append(f"widths: {widths}; batch m" + ("" if batch == "m" else f" = {batch}"))
    if d.per_sample:
        lines.append("delta: per sample, δₗ = ∂C/∂Zₗ with C = Σᵢ Cᵢ (no batch factor)")
    else:
        lines.append("delta: mean, δₗ = ∂L/∂Zₗ of the batch loss")
    lines.append("")
    lines.append("shapes:")
    for p in d.program.params:
        lines.append(f"  {text(p)}: {_shape(p)}")
    for sym in d.program.inputs:
        lines.append(f"  {text(sym)}: {_shape(sym)}")
    lines.append("")
    lines.append("forward:")
    for step in d.forward():
        lines.append(f"  {text(step.lhs)} = {text(step.rhs)}")
    lines.append("")
    lines.append("loss:")
    lines.append(f"  L = {text(d.loss().rhs)}")
    lines.append("")
    lines.append("backward:")
    n = d.depth
    out = d.deltas[n]
    lines.append(f"  {'output delta:':<16}{text(out.lhs)} = {text(out.rhs)}")
    if d.generic is not None:
        g = d.generic.delta
        lines.append(f"  {'recurrence:':<16}{text(g.lhs)} = {text(g.rhs)}    (hidden layer l)")
    for k in range(n - 1, 0, -1):
        st = d.deltas[k]
        lines.append(f"  {f'layer {k}:':<16}{text(st.lhs)} = {text(st.rhs)}")
    lines.append("")
    lines.append("gradients:")
    if d.generic is not None:
        for st in (d.generic.grad_w, d.generic.grad_b):
            lines.append(f"  {text(st.lhs)} = {text(st.rhs)}    (layer l)")
    for p in d.program.params:
        st = d.gradients[p.name]
        lines.append(f"  {text(st.lhs)} = {text(st.rhs)}")
    lines.append("")
    lines.append("update (learning rate α):")
    for st in d.updates():
        lines.append(f"  {text(st.lhs)} ← {text(st.rhs)}")
    return "\n".join(lines) + "\n"
