"""The convolutional parts of the LaTeX document: the setup and the delta recurrence.

``conv_setup`` explains the feature-map notation (⋆, *, rot180, the full convolution);
``conv_recurrence`` writes the generic conv layer's delta and gradients.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from derive.core.graph import Kind
from derive.core.nodes import Correlate
from derive.render.latex_layout import _Doc
from derive.render.latex_printer import DeriveLatexPrinter
from derive.render.text import generic_f, named_value
from derive.spec.notation import HADAMARD

if TYPE_CHECKING:
    from derive.core.derivation import Derivation


def conv_setup(doc: _Doc, p: DeriveLatexPrinter) -> None:
    """What the CNN symbols mean: ⋆, *, rot180, and the delta of a layer without Z."""
    doc.para(
        r"Feature maps are tensors of shape samples $\times$ channels $\times$ height "
        r"$\times$ width, kernels $K$ are filters $\times$ channels $\times\, k \times k$. "
        r"$K \star A$ is the cross-correlation with the channels summed, "
        r"$(K \star A)_{n,o,i,j} = \sum_{c,u,v} K_{o,c,u,v}\, A_{n,c,si+u-p,\,sj+v-p}$ "
        r"(stride $s$, zero padding $p$, written as subscripts where they are not 1 and 0); "
        r"$*$ is the convolution, a correlation with the kernel rotated by 180 degrees "
        r"($\operatorname{rot180}$), and $(\cdot)_{\text{full}}$ pads by $k-1$ so every "
        r"overlap counts. A pooling or flatten layer has no pre-activation: its "
        rf"${p.indexed('delta', 'l')}$ is the derivative with respect to its output "
        rf"${p.indexed('A', 'l')}$."
    )


def conv_recurrence(doc: _Doc, p: DeriveLatexPrinter, d: Derivation, cost: str, tex: Any) -> None:
    """The conv-to-conv recurrence with its chain-rule step, and what pooling does."""
    gc = d.generic_conv
    assert gc is not None
    gp = gc.program
    z_l, a_l = gp.named["Z_l"], gp.named["A_l"]
    z_next = gp.equation(gp.named["Z_{l+1}"])
    corr = next((a for a in z_next.rhs.args if isinstance(a, Correlate)), None)
    doc.para(
        "Between two convolutional layers"
        + (" ($f$ the activation of layer $l$)" if generic_f(d, gc.delta.rhs) else "")
        + rf", ${p.doprint(z_next.out)} = "
        rf"{p.doprint(z_next.rhs)}$ depends on ${p.doprint(a_l)}$ through every kernel "
        "position that covers a pixel; summing those contributions is the full convolution "
        rf"with the flipped kernel: ${p.doprint(gc.cotangent_a.lhs)} = "
        rf"{tex(gc.cotangent_a.rhs)}$, and"
    )
    fprime = gp.equation(a_l).rhs.derivative()
    if p.notation.output_form:
        fprime = d.through_output(fprime)
    doc.display(
        [
            (p.doprint(gc.delta.lhs), rf"= \frac{{\partial {cost}}}{{\partial {p.doprint(z_l)}}}"),
            (
                "",
                f"= {p.doprint(gc.cotangent_a.lhs)} {HADAMARD[p.notation.hadamard]} "
                + p.hadamard_operand(
                    d.through_output(fprime) if p.notation.output_form else fprime
                ),
            ),
            ("", f"= {tex(gc.delta.rhs)}"),
        ]
    )
    if corr is not None and (corr.stride != 1 or corr.padding != 0):
        doc.para(
            rf"With stride ${named_value('s', corr.stride, p._print, ' = ')}$ the delta is first "
            r"dilated ($s-1$ zeros between neighbouring entries); with padding "
            rf"${named_value('p', corr.padding, p._print, ' = ')}$ "
            "the full convolution is cropped by $p$ on every side."
        )
    pools = {eq.rhs.mode for eq in d.program.equations if eq.kind is Kind.POOL}
    if "max" in pools:
        doc.para(
            r"Through max pooling the delta is routed to the arg-max of each window: "
            r"$\operatorname{up}$ copies each entry to its window and the mask "
            r"$\mathbb{1}_{\max}(A)$ is 1 at the position of each window's maximum, 0 elsewhere "
            "(where windows overlap, the routed values add up)."
        )
    if "avg" in pools:
        doc.para(
            r"Through average pooling the delta is spread evenly: each of the $k^2$ pixels "
            r"of a window receives $1/k^2$ of it."
        )
