"""LaTeX and Markdown derivations for notes: a SymPy ``LatexPrinter`` subclass and a document.

The printer writes our nodes the way lecture notes do (``\\sigma'(Z_{1})``, ``W_{2}^{T}
\\delta_{2}``, ``\\frac{1}{m} \\delta_{1} X^{T}``) in the user's notation. ``document``
lays a derivation out step by step: setup with every symbol's shape, forward pass, loss,
output delta and recurrence with the chain-rule step, gradients in matrix and index form,
the update, and optionally the exported code rendered by latexify.

This module lays the document out; the pieces live beside it and are re-exported here:
the printer in ``latex_printer`` (its node mixins in ``latex_nodes``, names in
``latex_names``), index forms in ``latex_index``, the page layout in ``latex_layout``,
the longer sections in ``latex_sections`` and the convolutional ones in ``latex_conv``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from derive.render.latex_index import conv_index_form, index_form
from derive.render.latex_layout import (
    FORMATS,
    LONG,
    PREAMBLE,
    _Doc,
    _escape,
    top_level_terms,
)
from derive.render.latex_printer import DeriveLatexPrinter, latex, step_latex
from derive.render.latex_sections import gradients, output_delta, recurrence, setup
from derive.render.outline import outline
from derive.spec.notation import Notation

if TYPE_CHECKING:
    from derive.core.derivation import Derivation


__all__ = [
    "FORMATS",
    "LONG",
    "PREAMBLE",
    "DeriveLatexPrinter",
    "_Doc",
    "_escape",
    "code_latex",
    "conv_index_form",
    "document",
    "index_form",
    "latex",
    "step_latex",
    "top_level_terms",
]


def document(
    d: Derivation,
    fmt: str = "tex",
    notation: Notation | None = None,
    code: str | None = None,
) -> str:
    """The derivation as a standalone LaTeX document, a Markdown page or a LaTeX fragment.

    ``code``, the exported module's source (as the formulas say, ``fast=False``), adds a
    last section that renders its ``_backprop`` for reading.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    nt = notation or d.network.notation
    p = DeriveLatexPrinter(nt)
    doc = _Doc(fmt)
    out_form = nt.output_form

    def tex(expr: Any) -> str:
        return p.doprint(d.through_output(expr) if out_form else expr)

    def factor(expr: Any) -> str:
        return p.hadamard_operand(d.through_output(expr) if out_form else expr)

    net = d.network
    cost = "C" if d.per_sample else "L"

    # 1. setup
    setup(doc, p, d, nt)

    sections = outline(d)

    # 2. forward
    doc.heading("2. Forward pass")
    doc.display([(p.doprint(st.lhs), f"= {p.doprint(st.rhs)}") for st in sections.forward])

    # 3. loss
    doc.heading("3. Loss")
    doc.display([("L", f"= {p.doprint(sections.loss.rhs)}")])

    # 4. output delta
    output_delta(doc, p, d, nt, sections, tex, factor, cost)

    # 5. recurrence
    recurrence(doc, p, d, nt, sections, tex, factor, cost)

    # 6. gradients
    gradients(doc, p, d, nt, sections, tex)

    # 7. update
    doc.heading("7. Gradient descent")
    doc.para(r"With learning rate $\alpha$:")
    doc.display([(p.doprint(s.lhs), rf"\gets {p.doprint(s.rhs)}") for s in sections.updates])

    if code is not None:
        doc.heading("8. The exported code")
        doc.para(
            "The NumPy module that `derive export` writes, rendered for reading by latexify "
            "($\\odot$: elementwise product; juxtaposition: matrix product; "
            "$\\mathbb{1}(\\cdot)$: 1 where the condition holds, else 0; "
            "$\\sum_{\\text{axis } k}$: the sum along axis $k$; "
            "$\\operatorname{size}_k(X)$: the size of $X$ along axis $k$):"
        )
        doc.raw(code_latex(code, fmt))

    title = f"Backpropagation for {_escape(net.name, fmt)}"
    body = "\n\n".join(doc.parts)
    if fmt == "md":
        return f"# {title}\n\n{body}\n"
    if fmt == "fragment":
        return body + "\n"
    packages = "\\usepackage{algpseudocode}\n" if code is not None else ""
    return (
        PREAMBLE % {"packages": packages}
        + rf"\section*{{{title}}}"
        + "\n\n"
        + body
        + "\n\n\\end{document}\n"
    )


# --------------------------------------------------------------------------- code via latexify


def code_latex(source: str, fmt: str = "tex") -> str:
    """The exported ``_backprop`` rendered for reading (see ``derive.render.code_view``)."""
    from derive.render.code_view import code_latex as render

    return render(source, fmt)
