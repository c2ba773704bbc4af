"""Gradients in index form: each entry of a dense or convolutional gradient as a sum.

``index_form`` writes a dense step entry by entry (``\\frac{\\partial L}{\\partial W_{ij}}
= \\sum_k …``); ``conv_index_form`` the generic conv layer's delta and gradients.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sympy
from sympy.matrices.expressions import MatrixSymbol, OneMatrix, Transpose

from derive.core.graph import split_name
from derive.core.nodes import ConvBackKernel, tensor_coeff
from derive.render.latex_names import _tex_index
from derive.render.latex_printer import DeriveLatexPrinter
from derive.spec.notation import Notation

if TYPE_CHECKING:
    from derive.core.derivation import Step


def _entry(p: DeriveLatexPrinter, sym: MatrixSymbol, i: str, j: str) -> str:
    """``delta_l`` entry (j, i) -> ``\\delta^{(l)}_{ji}``; ``X`` -> ``x_{ji}``."""
    base, idx = split_name(sym.name)
    low = {"delta": p.base_tex("delta"), "lambda": r"\lambda"}.get(base, base.lower())
    if p.notation.delta == "dZ" and base == "delta":
        low = "dz"
    if idx:
        wrap = f"[{_tex_index(idx)}]" if p.notation.index == "bracket" else f"({_tex_index(idx)})"
        return f"{low}^{{{wrap}}}_{{{i}{j}}}"
    return f"{low}_{{{i}{j}}}"


def index_form(step: Step, batch: Any, notation: Notation | None = None) -> str | None:
    """The gradient step entry by entry, derived from its matrix form.

    ``c P Q`` becomes ``c Σ_i P_{ji} Q_{ik}`` (transposes swap indices, ones vectors drop);
    returns None for a form it cannot index (it never guesses).
    """
    p = DeriveLatexPrinter(notation)
    wrt = step.lhs.wrt
    rows, cols = wrt.shape
    out_i, out_j = ("j", "k") if rows != 1 and cols != 1 else ("j", "")
    if rows == 1:
        out_i, out_j = "", "k"
    from derive.render.text import ordered_terms

    terms = ordered_terms(step.rhs) if isinstance(step.rhs, sympy.MatAdd) else [step.rhs]
    pieces = []
    for term in terms:
        coeff, factors = term.as_coeff_matrices() if isinstance(term, sympy.MatMul) else (1, [term])
        mats = [f for f in factors if not isinstance(f, OneMatrix)]
        ones = [f for f in factors if isinstance(f, OneMatrix)]

        def ent(f: Any, a: str, b: str) -> str | None:
            if isinstance(f, Transpose) and isinstance(f.arg, MatrixSymbol):
                return _entry(p, f.arg, b, a)
            if isinstance(f, MatrixSymbol):
                return _entry(p, f, a, b)
            return None

        sum_tex = rf"\sum_{{i=1}}^{{{p._print(batch)}}}"
        if len(mats) == 1 and not ones:
            body = ent(mats[0], out_i, out_j)
        elif len(mats) == 2 and not ones:
            left, right = ent(mats[0], out_i, "i"), ent(mats[1], "i", out_j)
            body = None if left is None or right is None else f"{sum_tex} {left} {right}"
        elif len(mats) == 1 and len(ones) == 1:
            # 1ᵀ M sums M's rows over samples; M 1 sums its columns
            left_ones = factors[0] is ones[0]
            body = ent(mats[0], "i", out_j) if left_ones else ent(mats[0], out_i, "i")
            body = None if body is None else f"{sum_tex} {body}"
        else:
            body = None
        if body is None:
            return None
        c = p.coefficient(sympy.sympify(coeff))  # safe: a SymPy number of ours
        pieces.append(f"{c}{body}")
    lhs = rf"\frac{{\partial L}}{{\partial {_entry(p, wrt, out_i, out_j)}}}"
    rhs = pieces[0]
    for piece in pieces[1:]:
        rhs += f" - {piece[1:]}" if piece.startswith("-") else f" + {piece}"
    return f"{lhs} = {rhs}"


def conv_index_form(p: DeriveLatexPrinter, gc: Any) -> list[tuple[str, str]]:
    """The conv gradients and the input delta entry by entry, read off the nodes."""
    kgrad = gc.grad_w.rhs
    # with weight decay the gradient is c (A ⋆ δ) + (λ/m) K: the decay term is entry-wise
    terms = list(kgrad.args) if isinstance(kgrad, sympy.Add) else [kgrad]
    main = next(t for t in terms if t.has(ConvBackKernel))
    coeff, node = tensor_coeff(main)
    s, pad = node.stride, node.padding
    a, delta = node.input, node.cot

    def ent(sym: Any, idx: str) -> str:
        base, i = split_name(sym.name)
        low = {"delta": p.base_tex("delta")}.get(base, base.lower())
        style = p.notation.index
        sup = f"[{i}]" if style == "bracket" else f"({i})" if style == "paren" else ""
        if style == "subscript":
            return f"{low}^{{({_tex_index(i)})}}_{{{idx}}}" if i else f"{low}_{{{idx}}}"
        return f"{low}^{{{sup}}}_{{{idx}}}"

    def shift(var: str, off: str) -> str:
        base = var if s == 1 else f"{p._print(s)}{var}"
        return f"{base}+{off}" + (f"-{p._print(pad)}" if pad != 0 else "")

    decay = ""
    for t in terms:
        if t is not main:
            dc, dk = tensor_coeff(t)
            sign = "-" if dc.could_extract_minus_sign() else "+"
            dc = -dc if sign == "-" else dc
            decay += f" {sign} {p.coefficient(dc)}{ent(dk, 'o,c,u,v')}"
    c = p.coefficient(coeff)
    a_idx = f"n,c,{shift('i', 'u')},{shift('j', 'v')}"
    k_sym = gc.grad_w.lhs.wrt
    lines = [
        (
            rf"\frac{{\partial L}}{{\partial {ent(k_sym, 'o,c,u,v')}}}",
            rf"= {c}\sum_{{n,i,j}} {ent(delta, 'n,o,i,j')}\, {ent(a, a_idx)}{decay}",
        ),
        (
            rf"\frac{{\partial L}}{{\partial {ent(gc.grad_b.lhs.wrt, 'o')}}}",
            rf"= {c}\sum_{{n,i,j}} {ent(delta, 'n,o,i,j')}",
        ),
    ]
    if s == 1 and pad == 0:
        cot = gc.cotangent_a
        nxt = cot.rhs.cot if hasattr(cot.rhs, "cot") else None
        kern = cot.rhs.kernel if hasattr(cot.rhs, "kernel") else None
        if nxt is not None and kern is not None:
            lines.append(
                (
                    rf"\frac{{\partial {p._print(cot.lhs.of)}}}"
                    rf"{{\partial {ent(cot.lhs.wrt, 'n,c,i,j')}}}",
                    rf"= \sum_{{o,u,v}} {ent(nxt, 'n,o,i-u,j-v')}\, {ent(kern, 'o,c,u,v')}",
                )
            )
    return lines
