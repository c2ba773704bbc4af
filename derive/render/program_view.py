"""A program's staged derivation as text (``derive show``) and as LaTeX or Markdown.

Both print the same sections: what is given (shapes), the forward pass, what is
differentiated (a loss, or an upstream gradient), each named cotangent with the chain-rule
step through every use, then each gradient, staged and as a closed form where one is
simpler. The printers are the same SymPy printer subclasses as a network's document.
"""

from __future__ import annotations

from typing import Any

from sympy import preorder_traversal

from derive.core.graph import Equation
from derive.core.nodes import Broadcast
from derive.core.staged import StagedDerivation
from derive.render.latex import FORMATS, PREAMBLE, DeriveLatexPrinter, _Doc, _escape
from derive.render.text import text
from derive.spec.notation import Notation


def _shape(sym: Any) -> str:
    return "×".join(text(d) for d in sym.shape) if hasattr(sym, "shape") else "scalar"


def _given(sd: StagedDerivation) -> list[tuple[str, list[Any]]]:
    g = sd.graph
    out = [("inputs", g.inputs), ("labels", g.labels), ("parameters", g.parameters)]
    return [(k, v) for k, v in out if v]


def _hyper(sd: StagedDerivation) -> str:
    return ", ".join(f"{k} = {text(v)}" if k != text(v) else k for k, v in sd.graph.hyper.items())


def _through(eq: Equation, given: Any = ()) -> str:
    if eq.rhs in given:
        return "given"  # an output's own upstream gradient (dnext_c for next_c)
    return f"through {text(eq.out)} = {text(eq.rhs)}"


def render_program(sd: StagedDerivation) -> str:
    """The staged derivation as plain Unicode text."""
    g = sd.graph
    lines = [f"{sd.name}: a forward program of {len(g.forward_equations)} equation(s)"]
    for kind, syms in _given(sd):
        lines.append(f"{kind}: " + ", ".join(f"{text(s)} ({_shape(s)})" for s in syms))
    if g.hyper:
        lines.append(f"hyperparameters: {_hyper(sd)}")
    if g.upstream is not None:
        lines.append(
            f"upstream gradient: {text(g.upstream)} = ∂L/∂{text(g.output)} "
            f"({_shape(g.upstream)}), given"
        )
    for out, up in g.more_upstream.items():
        lines.append(f"upstream gradient: {text(up)} = ∂L/∂{text(out)} ({_shape(up)}), given")
    if any(isinstance(n, Broadcast) for eq in g.equations for n in preorder_traversal(eq.rhs)):
        lines.append(
            "broadcasting: a row (1×n), column (m×1) or scalar next to an m×n value is repeated "
            "to m×n, as NumPy does; its transpose is a sum (the Σ in the backward pass)"
        )
    lines += ["", "forward:"]
    lines += [f"  {text(st.lhs)} = {text(st.rhs)}    ({_shape(st.lhs)})" for st in sd.forward]
    if sd.loss is not None:
        lines += ["", "loss:", f"  L = {text(sd.loss.rhs)}"]
    lines += ["", "backward (staged; dv = ∂L/∂v, one term per use of v):"]
    for st in sd.cotangents:
        lines.append(f"  {text(st.lhs)} = {text(st.rhs)}")
        for eq, term in sd.terms.get(st.lhs, []):
            if len(sd.terms[st.lhs]) > 1:
                lines.append(f"      {text(term)}    ({_through(eq, g.more_upstream.values())})")
    lines += ["", "gradients:"]
    for name, st in sd.gradients.items():
        lines.append(f"  d{text(st.lhs.wrt)} = {text(st.rhs)}")
        if name not in sd.compact:
            continue
        closed = sd.compact[name]
        if closed is not None:
            lines.append(f"      closed form: {text(closed.rhs)}")
        else:
            lines.append("      (no simpler closed form found: inlining the stages is longer)")
    lines += _recurrence_text(sd.recurrence)
    return "\n".join(lines) + "\n"


def _grad_name(line: Any) -> Any:
    """A gradient's left side as the rest of the view writes it: ``dW``."""
    wrt = getattr(line.lhs, "wrt", None)
    return wrt if wrt is not None else line.lhs


def _recurrence_text(rec: Any) -> list[str]:
    """The generic-T section: BPTT at a symbolic step t (``derive.core.bptt``)."""
    if rec is None:
        return []
    lines = [
        "",
        "back-propagation through time at a symbolic step t (derived from one step of the "
        f"{rec.kind}, for any T):",
        "  what step t+1 sends back (its own gradient of its previous state, one step on):",
    ]
    lines += [f"    {text(ln.lhs)} = {text(ln.rhs)}" for ln in rec.carried]
    lines.append("  step t < T:")
    lines += [f"    {text(ln.lhs)} = {text(ln.rhs)}" for ln in rec.step]
    if rec.delta is not None:
        lines.append(f"  the recurrence: {text(rec.delta.lhs)} = {text(rec.delta.rhs)}")
    lines.append("  the last step t = T (nothing comes back from T+1):")
    lines += [f"    {text(ln.lhs)} = {text(ln.rhs)}" for ln in rec.boundary]
    lines.append("  gradients, summed over time:")
    for ln in rec.gradients:
        total = "Σ_{t=1..T} " if ln.summed else ""
        lines.append(f"    d{text(_grad_name(ln))} = {total}{text(ln.rhs)}")
    return lines


def program_document(sd: StagedDerivation, fmt: str = "tex") -> str:
    """The staged derivation as a LaTeX document, a Markdown page or a LaTeX fragment."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    # a recurrence counts its steps with T: its transposes are written \top, not T
    p = DeriveLatexPrinter(Notation(transpose="top") if sd.recurrence is not None else None)
    doc = _Doc(fmt)
    g = sd.graph

    def tex(e: Any) -> str:
        return str(p.doprint(e))

    def shape(sym: Any) -> str:
        return r" \times ".join(tex(d) for d in sym.shape)

    doc.heading("1. Setup")
    given = [f"${tex(s)} \\in \\mathbb{{R}}^{{{shape(s)}}}$" for _, v in _given(sd) for s in v]
    doc.para(
        f"The program {_escape(sd.name, fmt)} reads "
        + ", ".join(given)
        + "."
        + (
            " Hyperparameters: " + ", ".join(f"${tex(v)}$" for v in g.hyper.values()) + "."
            if g.hyper
            else ""
        )
    )
    if g.upstream is not None:
        doc.para(
            f"It is one layer's backward pass: the upstream gradient "
            f"${tex(g.upstream)} = \\partial L / \\partial {tex(g.output)}$ is given."
        )
    for out, up in g.more_upstream.items():
        doc.para(
            f"So is ${tex(up)} = \\partial L / \\partial {tex(out)}$ "
            "(the step has several outputs)."
        )
    if any(isinstance(n, Broadcast) for eq in g.equations for n in preorder_traversal(eq.rhs)):
        doc.para(
            "A row ($1 \\times n$), a column ($m \\times 1$) or a scalar next to an "
            "$m \\times n$ value is repeated to $m \\times n$ (broadcasting, as NumPy does): "
            "$\\mu$ there stands for $\\mathbf{1}_m \\mu$. The transpose of a broadcast is a "
            "sum over the repeated axis, which is where the sums of the backward pass come from."
        )
    doc.heading("2. Forward pass")
    doc.display([(tex(st.lhs), f"= {tex(st.rhs)}") for st in sd.forward])
    if sd.loss is not None:
        doc.display([("L", f"= {tex(sd.loss.rhs)}")])
    doc.heading("3. Backward pass, stage by stage")
    doc.para(
        "Each intermediate $v$ gets its cotangent $dv = \\partial L/\\partial v$, the sum of "
        "one chain-rule term per equation that uses $v$; a broadcast's transpose is a sum."
    )
    for st in sd.cotangents:
        parts = sd.terms.get(st.lhs, [])
        lines = [(tex(st.lhs), f"= {tex(st.rhs)}")]
        doc.display(lines)
        if len(parts) > 1:
            given_ups = list(g.more_upstream.values())
            uses = "; ".join(
                f"${tex(t)}$ given"
                if eq.rhs in given_ups
                else f"${tex(t)}$ through ${tex(eq.out)}$"
                for eq, t in parts
            )
            doc.para(f"Terms: {uses}.")
    doc.heading("4. Gradients")
    for name, st in sd.gradients.items():
        doc.display([(tex(st.lhs), f"= {tex(st.rhs)}")])
        if name not in sd.compact:
            continue
        closed = sd.compact[name]
        if closed is not None:
            doc.para("In the forward values, with every stage inlined:")
            doc.display([(tex(st.lhs), f"= {tex(closed.rhs)}")])
        else:
            doc.para("No simpler closed form was found: inlining the stages makes it longer.")
    rec = sd.recurrence
    if rec is not None:
        doc.heading("5. Back-propagation through time at a symbolic step t")
        doc.para(
            f"Derived from one step of the {rec.kind}, for any $T$. Step $t+1$ sends back "
            "its own gradient of its previous state, one step on:"
        )
        doc.display([(tex(ln.lhs), f"= {tex(ln.rhs)}") for ln in rec.carried])
        doc.para("At a step $t < T$, with that substituted:")
        doc.display([(tex(ln.lhs), f"= {tex(ln.rhs)}") for ln in rec.step])
        if rec.delta is not None:
            doc.para("In one line, the recurrence of back-propagation through time:")
            doc.display([(tex(rec.delta.lhs), f"= {tex(rec.delta.rhs)}")])
        doc.para("At the last step $t = T$ nothing comes back from $T+1$:")
        doc.display([(tex(ln.lhs), f"= {tex(ln.rhs)}") for ln in rec.boundary])
        doc.para("Each shared weight's gradient is its step's term summed over time:")
        doc.display(
            [
                (
                    f"d{tex(_grad_name(ln))}",
                    "= " + (r"\sum_{t=1}^{T} " if ln.summed else "") + tex(ln.rhs),
                )
                for ln in rec.gradients
            ]
        )
    body = "\n\n".join(doc.parts)
    if fmt == "tex":
        return PREAMBLE % {"packages": ""} + body + "\n\\end{document}\n"
    return body + "\n"
