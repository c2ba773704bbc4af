"""How the terms of a sum and the factors of a product are ordered, signed and grouped.

The text and LaTeX printers share these: a sum's terms in the order notes write them
(``ordered_terms``), a common factor pulled out (``common_factor``), a Hadamard product
split into numerator and denominator (``hadamard_fraction``), signs joined
(``join_signed``).
"""

from __future__ import annotations

from typing import Any

import sympy

from derive.core.nodes import ChannelBias


def hadamard_fraction(expr: Any) -> tuple[list[Any], list[Any]]:
    """The factors of a Hadamard product split into numerators and the bases of its
    ``Y^∘⁻¹`` factors (none when every factor is a reciprocal: nothing to divide)."""
    num = [a for a in expr.args if not _reciprocal(a)]
    if not num:
        return list(expr.args), []
    return num, [a.base for a in expr.args if _reciprocal(a)]


def _reciprocal(a: Any) -> bool:
    return isinstance(a, sympy.HadamardPower) and a.exp == -1


def _is_bias(term: Any) -> bool:
    return isinstance(term, ChannelBias)


def is_negative(term: Any) -> bool:
    """Whether a term of a sum prints with a minus sign."""
    if isinstance(term, sympy.MatMul):
        return bool(term.as_coeff_matrices()[0].could_extract_minus_sign())
    return bool(term.could_extract_minus_sign())


def _is_lone_symbol(term: Any) -> bool:
    if isinstance(term, sympy.MatMul):
        factors = term.as_coeff_matrices()[1]
        return len(factors) == 1 and isinstance(factors[0], sympy.MatrixSymbol)
    return isinstance(term, sympy.MatrixSymbol)


def named_value(label: str, value: Any, show: Any, eq: str = "=") -> str:
    """``s=2``, but ``s`` alone where the value is the symbol ``s`` itself (not ``p=p``)."""
    if isinstance(value, sympy.Symbol) and value.name == label:
        return label
    return f"{label}{eq}{show(value)}"


def scalar_terms(expr: Any) -> list[Any]:
    """Terms of a scalar sum (a size) as people write them: ``w − q + 1``, ``1 − q``.

    Symbols first, subtracted terms next, the number last; a sum never starts with a
    minus sign when some term is positive.
    """
    terms = sorted(expr.args, key=lambda t: (t.is_Number, bool(t.could_extract_minus_sign())))
    if terms[0].could_extract_minus_sign():
        positive = [t for t in terms if not t.could_extract_minus_sign()]
        if positive:
            terms.remove(positive[0])
            terms.insert(0, positive[0])
    return terms


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


def common_factor(expr: Any) -> tuple[Any, list[Any]]:
    """``2 A - 2 Y`` -> ``(2, [A, -Y])``: a numeric factor every term shares, taken out.

    Only a whole number or fraction other than 1 is taken out (``2 (A − Y)``, as notes
    write the derivative of a summed square); otherwise ``(1, ordered_terms(expr))``.
    """
    terms = ordered_terms(expr)
    coeffs = [t.as_coeff_mmul()[0] if isinstance(t, sympy.MatMul) else sympy.S.One for t in terms]
    if not all(c.is_Rational for c in coeffs):  # before abs(): a Σ(…) coefficient has no sign
        return sympy.S.One, terms
    mags = {abs(c) for c in coeffs}
    if len(mags) != 1:
        return sympy.S.One, terms
    (mag,) = mags
    if mag == 1:
        return sympy.S.One, terms
    return mag, [scale_term(t, 1 / mag) for t in terms]


def scale_term(term: Any, c: Any) -> Any:
    """``c`` times one term of a matrix sum, with the coefficient folded in."""
    coeff, factors = term.as_coeff_matrices()
    return sympy.MatMul(coeff * c, *factors).doit(deep=False)


def _is_data_term(term: Any) -> bool:
    return any(s.name == "Y" for s in term.atoms(sympy.MatrixSymbol))
