"""The longer sections of the LaTeX document (``latex.document`` lays the page out and writes
the short ones): the setup table, the output delta, the delta recurrence and the gradients
in matrix and index form. Each writes its displays and paragraphs into the page's ``_Doc``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sympy.matrices.expressions import OneMatrix

from derive.core.graph import Kind, Role
from derive.core.nodes import Elementwise, Softmax
from derive.render.latex_conv import conv_recurrence, conv_setup
from derive.render.latex_index import conv_index_form, index_form
from derive.render.latex_layout import LONG, _Doc, _shape_tex
from derive.render.latex_printer import DeriveLatexPrinter
from derive.render.outline import Outline
from derive.render.text import generic_f
from derive.spec.notation import HADAMARD, TRANSPOSE, Notation

if TYPE_CHECKING:
    from derive.core.derivation import Derivation, Step

#: An expression as LaTeX in the page's notation (through the output where it asks).
Tex = Callable[[Any], str]


def setup(doc: _Doc, p: DeriveLatexPrinter, d: Derivation, nt: Notation) -> None:
    """1. Setup: the convention, every symbol with its shape and meaning, what δ is."""
    net, prog = d.network, d.program
    column = prog.column
    m = p._print(prog.batch)
    n_layers = d.depth
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


def output_delta(
    doc: _Doc,
    p: DeriveLatexPrinter,
    d: Derivation,
    nt: Notation,
    sections: Outline,
    tex: Tex,
    factor: Tex,
    cost: str,
) -> None:
    """4. The output delta: through the loss and the output activation, or fused."""
    prog = d.program
    n_layers = d.depth
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


def recurrence(
    doc: _Doc,
    p: DeriveLatexPrinter,
    d: Derivation,
    nt: Notation,
    sections: Outline,
    tex: Tex,
    factor: Tex,
    cost: str,
) -> None:
    """5. The delta recurrence for a generic layer l (dense or conv), and each instance."""
    net = d.network
    n_layers = d.depth
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


def gradients(
    doc: _Doc, p: DeriveLatexPrinter, d: Derivation, nt: Notation, sections: Outline, tex: Tex
) -> None:
    """6. The gradients: for a generic layer, entry by entry, and layer by layer."""
    net, prog = d.network, d.program
    g = d.generic
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
