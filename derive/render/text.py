"""Readable Unicode text of a derivation (``derive show``): a SymPy StrPrinter subclass.

This module lays the derivation out (``render``); the printer is in ``text_printer`` (its
node mixins in ``text_nodes``), names in ``text_names`` and the ordering of terms in
``text_terms``, all re-exported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sympy

from derive.core.graph import Kind
from derive.core.nodes import TensorElementwise
from derive.render.outline import outline

if TYPE_CHECKING:
    from derive.core.derivation import Derivation

from derive.render.text_names import ACCENTS, is_word_index, subscript, symbol_text
from derive.render.text_printer import _PRINTER, TextPrinter, text
from derive.render.text_terms import (
    common_factor,
    hadamard_fraction,
    is_negative,
    join_signed,
    named_value,
    ordered_terms,
    scalar_terms,
    scale_term,
)

__all__ = [
    "ACCENTS",
    "TextPrinter",
    "common_factor",
    "generic_f",
    "hadamard_fraction",
    "is_negative",
    "is_word_index",
    "join_signed",
    "named_value",
    "ordered_terms",
    "render",
    "scalar_terms",
    "scale_term",
    "subscript",
    "symbol_text",
    "text",
]


def _shape(expr: Any) -> str:
    return "×".join(text(d) if d.is_Atom else f"({text(d)})" for d in expr.shape)


def generic_f(d: Derivation, rhs: Any) -> bool:
    """Whether a generic recurrence writes ``f'`` for "layer l's activation" (the hidden
    layers' activations differ) rather than for an activation the user named ``f``."""
    from derive.core.nodes import Elementwise

    names = {
        a.name
        for a in sympy.preorder_traversal(rhs)
        if isinstance(a, (Elementwise, TensorElementwise))
    }
    if "f" not in names:
        return False
    return not any(
        (act := getattr(layer, "activation", None)) is not None
        and act.name in ("custom", "symbolic")
        and (act.symbol or "f") == "f"
        for layer in d.network.layers
    )


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
    batch = text(d.program.batch)
    if net.is_conv:
        sizes = ", ".join(
            f"{text(eq.out)} {_shape(eq.out)}"
            for eq in d.program.equations
            if eq.kind in (Kind.ACTIVATION, Kind.POOL, Kind.FLATTEN)
        )
        lines.append(f"sizes: X {_shape(d.program.inputs[0])}, {sizes}")
    else:
        widths = ", ".join(
            f"n{subscript(str(i))}"
            + ("" if text(w) == f"n{subscript(str(i))}" else f" = {text(w)}")
            for i, w in enumerate(d.program.widths)
        )
        lines.append(f"widths: {widths}; batch m" + ("" if batch == "m" else f" = {batch}"))
    if d.per_sample:
        lines.append("delta: per sample, δₗ = ∂C/∂Zₗ with C = Σᵢ Cᵢ (no batch factor)")
    else:
        lines.append("delta: mean, δₗ = ∂L/∂Zₗ of the batch loss")
    if net.is_conv:
        lines.append(
            "feature maps are m×C×H×W; ⋆ is cross-correlation (channels summed), "
            "* convolution; a pooling or flatten layer has no Z: its δₗ is ∂/∂Aₗ"
        )
    lines.append("")
    lines.append("shapes:")
    for p in d.program.params:
        lines.append(f"  {text(p)}: {_shape(p)}")
    for sym in d.program.inputs:
        lines.append(f"  {text(sym)}: {_shape(sym)}")
    doc = outline(d)
    lines.append("")
    lines.append("forward:")
    for step in doc.forward:
        lines.append(f"  {text(step.lhs)} = {text(step.rhs)}")
    lines.append("")
    lines.append("loss:")
    lines.append(f"  L = {text(doc.loss.rhs)}")
    lines.append("")
    lines.append("backward:")
    out = doc.output_delta
    lines.append(f"  {'output delta:':<16}{text(out.lhs)} = {text(out.rhs)}")
    notes = {"dense": "; f its activation", "conv": "; f the activation of layer l"}
    wheres = {"dense": "hidden layer l", "conv": "conv layers l, l+1"}
    for kind, gl in doc.recurrences:
        g = gl.delta
        note = notes[kind] if generic_f(d, g.rhs) else ""
        lines.append(
            f"  {'recurrence:':<16}{text(g.lhs)} = {text(g.rhs)}    ({wheres[kind]}{note})"
        )
    for st in doc.deltas:
        for stage in doc.stages.get(st.layer + 1, []):  # the normalisation above, staged
            lines.append(
                f"  {f'layer {st.layer + 1} stage:':<16}{text(stage.lhs)} = {text(stage.rhs)}"
            )
        lines.append(f"  {f'layer {st.layer}:':<16}{text(st.lhs)} = {text(st.rhs)}")
    lines.append("")
    lines.append("gradients:")
    both = len(doc.recurrences) == 2
    for kind, gl in doc.recurrences:
        for st in (gl.grad_w, gl.grad_b):
            where = f"{kind + ' ' if both else ''}layer l"
            lines.append(f"  {text(st.lhs)} = {text(st.rhs)}    ({where})")
    for st in doc.gradients:
        lines.append(f"  {text(st.lhs)} = {text(st.rhs)}")
    lines.append("")
    lines.append("update (learning rate α):")
    for st in doc.updates:
        lines.append(f"  {text(st.lhs)} ← {text(st.rhs)}")
    return "\n".join(lines) + "\n"
