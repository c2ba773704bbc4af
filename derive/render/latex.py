"""LaTeX and Markdown derivations for notes: a SymPy ``LatexPrinter`` subclass and a document.

The printer writes our nodes the way lecture notes do (``\\sigma'(Z_{1})``, ``W_{2}^{T}
\\delta_{2}``, ``\\frac{1}{m} \\delta_{1} X^{T}``) in the user's notation. ``document``
lays a derivation out step by step: setup with every symbol's shape, forward pass, loss,
output delta and recurrence with the chain-rule step, gradients in matrix and index form,
the update, and optionally the exported code rendered by latexify.

This module lays the document out; the pieces live beside it and are re-exported here:
the printer in ``latex_printer`` (its node mixins in ``latex_nodes``, names in
``latex_names``), index forms in ``latex_index``, the page layout in ``latex_layout``
and the convolutional sections in ``latex_conv``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sympy.matrices.expressions import OneMatrix

from derive.core.graph import Kind, Role
from derive.core.nodes import Elementwise, Softmax
from derive.render.latex_conv import conv_recurrence, conv_setup
from derive.render.latex_index import conv_index_form, index_form
from derive.render.latex_layout import (
    FORMATS,
    LONG,
    PREAMBLE,
    _Doc,
    _escape,
    _shape_tex,
    top_level_terms,
)
from derive.render.latex_printer import DeriveLatexPrinter, latex, step_latex
from derive.render.outline import outline
from derive.render.text import generic_f
from derive.spec.notation import HADAMARD, TRANSPOSE, Notation

if TYPE_CHECKING:
    from derive.core.derivation import Derivation, Step


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

    net, prog = d.network, d.program
    column = prog.column
    m = p._print(prog.batch)
    n_layers = d.depth
    cost = "C" if d.per_sample else "L"

    # 1. setup
    doc.heading("1. Setup")
    samples = "columns" if column else "rows"
    z, w, b = (p.indexed(k, "l") for k in ("Z", "W", "b"))
    a_prev = p.indexed("A", "l-1")
    t = TRANSPOSE[nt.transpose]
    conv_eq = (
        rf"${z} = {w} {a_prev} + {b} \mathbf{{1}}_{{{m}}}^{{{t}}}$"
        if column
        else rf"${z} = {a_prev} {w} + \mathbf{{1}}_{{{m}}} {b}$"
    )
    doc.para(
        f"The network has {n_layers} layer{'s' if n_layers > 1 else ''}; a batch of "
        f"${m}$ samples is stored as {samples} (the {net.convention} convention, {conv_eq}), "
        f"with ${p.indexed('A', '0')} = X$."
    )
    rows = []
    for par in prog.parameters:
        meaning = _MEANING[par.role, len(par.symbol.shape) == 2].format(par.layer)
        rows.append([f"${p.doprint(par.symbol)}$", f"${_shape_tex(p, par.symbol)}$", meaning])
    for sym, meaning in zip(prog.inputs, ("inputs", "targets")):
        rows.append([f"${p.doprint(sym)}$", f"${_shape_tex(p, sym)}$", meaning])
    kinds = {
        Kind.AFFINE: "pre-activation",
        Kind.POOL: "pooled maps",
        Kind.FLATTEN: "flattened maps",
        Kind.STAGE: "intermediate",
    }
    for eq in prog.forward_equations:
        rows.append(
            [
                f"${p.doprint(eq.out)}$",
                f"${_shape_tex(p, eq.out)}$",
                kinds.get(eq.kind, "activation"),
            ]
        )
    doc.table(["symbol", "shape", "meaning"], rows)
    if net.is_conv:
        conv_setup(doc, p)
    delta_sym = p.indexed("delta", "l")
    if d.per_sample:
        doc.para(
            rf"The loss is $L = s\,C$ with $C = \sum_{{i=1}}^{{{m}}} C_i$ the sum of the "
            rf"per-sample losses (here $s = {p._print(prog.scale)}$). The delta is per sample: "
            rf"${delta_sym} = \frac{{\partial C}}{{\partial {p.indexed('Z', 'l')}}}$ stacks "
            rf"the errors $\partial C_i / \partial z_l$ of the samples, with no batch factor."
        )
    else:
        doc.para(
            rf"The delta is the derivative of the whole batch loss: "
            rf"${delta_sym} = \frac{{\partial L}}{{\partial {p.indexed('Z', 'l')}}}$."
        )

    sections = outline(d)

    # 2. forward
    doc.heading("2. Forward pass")
    doc.display([(p.doprint(st.lhs), f"= {p.doprint(st.rhs)}") for st in sections.forward])

    # 3. loss
    doc.heading("3. Loss")
    doc.display([("L", f"= {p.doprint(sections.loss.rhs)}")])

    # 4. output delta
    doc.heading("4. Output delta")
    out_delta = sections.output_delta
    a_eq = prog.equation(prog.output)
    z_out = prog.named[f"Z_{n_layers}"]
    first = rf"\frac{{\partial {cost}}}{{\partial {p.doprint(z_out)}}}"
    steps = [(p.doprint(out_delta.lhs), f"= {first}")]
    if n_layers not in d.cotangents:
        doc.para(
            "The output activation and the loss are differentiated together: the "
            + (
                "softmax Jacobian and the derivative of the logarithm cancel (each target "
                "sums to 1),"
                if isinstance(a_eq.rhs, Softmax)
                else "sigmoid's derivative cancels the denominator of the cross-entropy's,"
            )
            + " so the error is the difference between output and target."
        )
    else:
        da = d.cotangents[n_layers]
        if isinstance(a_eq.rhs, Elementwise):
            fprime = a_eq.rhs.derivative()
            if isinstance(fprime, OneMatrix):
                steps.append(("", f"= {p.doprint(da.lhs)}"))
            else:
                steps.append(
                    ("", f"= {p.doprint(da.lhs)} {HADAMARD[nt.hadamard]} {factor(fprime)}")
                )
        else:
            doc.para(
                "The softmax Jacobian is applied to each sample's column of "
                rf"${p.doprint(da.lhs)} = {tex(da.rhs)}$."
            )
        if not isinstance(a_eq.rhs, Softmax) and len(tex(da.rhs)) > LONG:
            doc.para("The loss gives")
            doc.display([(p.doprint(da.lhs), f"= {tex(da.rhs)}")])
            doc.para("so")
        elif not isinstance(a_eq.rhs, Softmax):
            doc.para(rf"The loss gives ${p.doprint(da.lhs)} = {tex(da.rhs)}$, so")
    steps.append(("", f"= {tex(out_delta.rhs)}"))
    doc.display(steps)

    # 5. recurrence
    doc.heading("5. The delta recurrence")
    g = d.generic
    if g is None and d.generic_conv is None and n_layers == 1:
        doc.para("With a single layer there is no hidden layer and no recurrence.")
    elif g is None and d.generic_conv is None:
        # residual, normalisation or dropout layers: each layer's delta is its own formula
        doc.para(
            "The layers differ (a skip, a normalisation or a dropout), so there is no "
            "one-line recurrence; each layer's delta, from the output down:"
        )
        each: list[tuple[str, str]] = []
        for st in sections.deltas:
            rhs = st.rhs
            stages = sections.stages.get(st.layer + 1, [])
            each += [(p.doprint(stage.lhs), f"= {tex(stage.rhs)}") for stage in stages]
            if stages and st.layer in d.cotangents:  # δ below a norm: via its input's cotangent
                rhs = rhs.xreplace({d.cotangents[st.layer].rhs: stages[-1].lhs})
            each.append((p.doprint(st.lhs), f"= {tex(rhs)}"))
        doc.display(each)
    if g is not None:
        gp = g.program
        z_l, a_l = gp.named["Z_l"], gp.named["A_l"]
        z_next = gp.equation(gp.named["Z_{l+1}"])
        doc.para(
            rf"For a hidden {'dense ' if net.is_conv else ''}layer $l$"
            + (
                " (its activation written $f$: the layers' differ)"
                if generic_f(d, g.delta.rhs)
                else ""
            )
            + ", "
            rf"${p.doprint(z_next.out)} = {p.doprint(z_next.rhs)}$ "
            rf"depends on ${p.doprint(a_l)}$, so "
            rf"${p.doprint(g.cotangent_a.lhs)} = {tex(g.cotangent_a.rhs)}$, and"
        )
        fprime = gp.equation(a_l).rhs.derivative()
        rec = [
            (p.doprint(g.delta.lhs), rf"= \frac{{\partial {cost}}}{{\partial {p.doprint(z_l)}}}"),
            ("", f"= {p.doprint(g.cotangent_a.lhs)} {HADAMARD[nt.hadamard]} {factor(fprime)}"),
            ("", f"= {tex(g.delta.rhs)}"),
        ]
        doc.display(rec)
    if d.generic_conv is not None:
        conv_recurrence(doc, p, d, cost, tex)
    if n_layers > 1 and (g is not None or d.generic_conv is not None):
        which = "layer's" if net.is_conv else "hidden layer's"
        doc.para(f"Each {which} instance, from the output down:")
        doc.display([(p.doprint(st.lhs), f"= {tex(st.rhs)}") for st in sections.deltas])

    # 6. gradients
    doc.heading("6. Gradients")
    if d.generic_conv is not None:
        gc = d.generic_conv
        doc.para(f"For any convolutional layer $l$ (with ${p.indexed('A', '0')} = X$):")
        doc.display([(p.doprint(s.lhs), f"= {tex(s.rhs)}") for s in (gc.grad_w, gc.grad_b)])
        doc.para("Entry by entry (entries of $A$ outside the image, in the padding, are 0):")
        doc.display(conv_index_form(p, gc))
    if g is not None:
        doc.para(
            f"For any {'dense ' if net.is_conv else ''}layer $l$"
            + ("" if net.is_conv else f" (with ${p.indexed('A', '0')} = X$)")
            + ":"
        )
        doc.display([(p.doprint(s.lhs), f"= {tex(s.rhs)}") for s in (g.grad_w, g.grad_b)])
        idx_steps: tuple[Step, ...] = (g.grad_w, g.grad_b)
    else:
        dense_no = net.first_dense
        idx_steps = tuple(st for st in sections.gradients if st.layer == dense_no)
    index_lines = [index_form(s, prog.batch, nt) for s in idx_steps]
    if all(index_lines):
        doc.para("Entry by entry:")
        doc.display(
            [
                (line.split(" = ", 1)[0], "= " + line.split(" = ", 1)[1])
                for line in index_lines
                if line
            ]
        )
    doc.para("Layer by layer:")
    doc.display([(p.doprint(st.lhs), f"= {tex(st.rhs)}") for st in sections.gradients])

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


#: What a parameter is, in the setup table: by its role and whether it is a matrix.
_MEANING = {
    (Role.WEIGHT, True): "weights of layer {}",
    (Role.BIAS, True): "bias of layer {}",
    (Role.KERNEL, False): "kernels of layer {}",
    (Role.BIAS, False): "bias of layer {} (one per filter)",
    (Role.GAIN, True): "scale (gamma) of the normalisation, layer {}",
    (Role.SHIFT, True): "shift (beta) of the normalisation, layer {}",
    (Role.PROJECTION, True): "projection of the skip into layer {}",
}


# --------------------------------------------------------------------------- code via latexify


def code_latex(source: str, fmt: str = "tex") -> str:
    """The exported ``_backprop`` rendered for reading (see ``derive.render.code_view``)."""
    from derive.render.code_view import code_latex as render

    return render(source, fmt)
