"""A program's names printed as their author wrote them (text and LaTeX).

``sample_var`` is one name, not ``sample`` with a subscript ``var``; ``x_hat`` is x̂;
``W_hh`` and ``h_t`` keep their subscripts; entrywise functions are typeset as LaTeX does.
"""

from __future__ import annotations

import pytest
import sympy
from sympy import MatrixSymbol

from derive.render.latex import DeriveLatexPrinter
from derive.render.text import symbol_text


@pytest.mark.parametrize(
    "name,text,tex",
    [
        ("sample_var", "sample_var", r"\mathit{sample\_var}"),
        ("x_centered", "x_centered", r"\mathit{x\_centered}"),
        ("dnext_c_total", "dnext_c_total", r"\mathit{dnext\_c\_total}"),
        ("x_hat", "x\u0302", r"\hat{x}"),
        ("W_hh", "Wₕₕ", r"W_{hh}"),
        ("h_t", "hₜ", r"h_{t}"),
        ("W_2", "W₂", r"W_{2}"),
        ("dgamma", "dγ", r"d\gamma"),
    ],
)
def test_names(name: str, text: str, tex: str) -> None:
    assert symbol_text(name) == text
    assert DeriveLatexPrinter().doprint(MatrixSymbol(name, 2, 3)) == tex


def test_entrywise_functions_typeset() -> None:
    from derive.core.nodes import Elementwise
    from derive.spec.scalar_expr import X as XVAR

    x = MatrixSymbol("x", 2, 3)
    p = DeriveLatexPrinter()
    assert p.doprint(Elementwise("sqrt", sympy.Lambda(XVAR, sympy.sqrt(XVAR)), x)) == r"\sqrt{x}"
    assert p.doprint(Elementwise("exp", sympy.Lambda(XVAR, sympy.exp(XVAR)), x)) == (
        r"\exp\left(x\right)"
    )
