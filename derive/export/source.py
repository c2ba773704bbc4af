"""Export a derivation as a numeric Python module: SymPy code printers for our nodes.

The module reads like the derivation: one statement per forward equation, per delta and
per gradient, each under the step's formula as a comment. Expressions are printed by a
``NumPyPrinter`` subclass (SymPy's own printer, taught our primitives); only the module's
frame (``def`` lines, the shape check) is a template.

Why not ``lambdify``: SymPy 1.14 prints ``ElementwiseApplyFunction`` as invalid Python and
its ``cse=True`` crashes on it; and a bias ``b 1^T`` must become broadcasting, not a
product with a ones matrix.

The module's frame (imports, helpers, shape check, loading) is in ``module_frame``,
re-exported here; the in-place statements of the fast module are ``in_place``.
"""

from __future__ import annotations

import re
import types
from typing import Any

import sympy

from derive.core.derivation import Derivation, derive
from derive.core.nodes import (
    Pool,
    add,
    is_tensor,
    scale,
)
from derive.export.in_place import in_place
from derive.export.module_frame import (
    BACKEND_IMPORT,
    BACKEND_PACKAGE,
    CHECK_HELPER,
    NUMPY_HELPERS,
    SOFTMAX_HELPER,
    _comment,
    _docstring,
    _helper_source,
    array_helpers,
    load_module,
    printer_for,
    require_backend,
)
from derive.export.printers import BACKENDS, ExportError, code_name

__all__ = [
    "BACKEND_IMPORT",
    "BACKEND_PACKAGE",
    "CHECK_HELPER",
    "NUMPY_HELPERS",
    "SOFTMAX_HELPER",
    "_comment",
    "_docstring",
    "array_helpers",
    "in_place",
    "load_module",
    "printer_for",
    "require_backend",
    "to_module",
    "to_source",
]


def _without_batch_factor(rhs: Any, s: Any, deltas: set[Any]) -> Any:
    """A gradient's terms that hold a delta, divided by the batch factor ``s`` (the code's
    deltas carry it); other terms (weight decay) as they are."""
    terms = list(rhs.args) if isinstance(rhs, (sympy.Add, sympy.MatAdd)) else [rhs]
    out = [scale(t, 1 / s) if t.has(*deltas) else t for t in terms]
    return out[0] if len(out) == 1 else add(out)


def to_source(spec: Any, backend: str = "numpy", fast: bool = True) -> str:
    """The exported module's source (see the module docstring).

    ``fast=False`` prints every statement as exactly the formula in its comment: no
    in-place updates, and the batch factor 1/m where the derivation has it (the fast
    module divides the output delta by m once, so its deltas are ∂L/∂Z).
    """
    if backend not in BACKENDS:
        raise ExportError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    d = spec if isinstance(spec, Derivation) else derive(spec)
    from derive.render.text import text

    printer: Any = printer_for(backend)
    prog = d.program
    printer.producers = {eq.out: eq.rhs for eq in prog.equations}
    net = d.network
    params = [code_name(p.name) for p in prog.params]
    x, y, *masks = prog.inputs  # masks: a dropout layer's M_l, given like a hyperparameter
    hyper = (
        sorted(
            {s for eq in prog.equations for s in eq.rhs.free_symbols if isinstance(s, sympy.Symbol)}
            - set(prog.widths)
            - {prog.batch},
            key=str,
        )
        + masks
    )
    hyper_args = "".join(f", {code_name(h.name)}" for h in hyper)
    kw = f", *{hyper_args}" if hyper else ""
    pass_hyper = "".join(f", {code_name(h.name)}={code_name(h.name)}" for h in hyper)
    # forward/intermediates take only what the forward pass uses (a slope, not λ)
    used = set().union(*(eq.rhs.free_symbols for eq in prog.forward_equations))
    fwd_hyper = [h for h in hyper if h in used]
    fwd_kw = f", *{''.join(f', {code_name(h.name)}' for h in fwd_hyper)}" if fwd_hyper else ""
    fwd_pass = "".join(f", {code_name(h.name)}={code_name(h.name)}" for h in fwd_hyper)

    def shape_of(sym: Any) -> tuple[Any, ...]:
        return tuple(int(d) if d.is_Integer else str(d) for d in sym.shape)

    pool_index: dict[Any, str] = {}
    if backend == "torch" and fast:  # keep each max pool's arg-max for its backward pass
        for eq in prog.equations:
            if isinstance(eq.rhs, Pool) and eq.rhs.mode == "max":
                pool_index[eq.out] = f"_index{eq.layer}"
    printer.pool_index = pool_index

    def stmt(lhs: str, rhs: Any, comment: str) -> list[str]:
        if isinstance(rhs, Pool) and rhs.mode == "max" and pool_index:
            index = next(v for k, v in pool_index.items() if code_name(k.name) == lhs)
            call = printer.helper("maxpool2d_index", rhs.input, rhs.size, rhs.stride)
            return [_comment(comment + "   (and its arg-max)"), f"    {lhs}, {index} = {call}"]
        rhs = d.through_output(rhs)
        if backend in ("numpy", "torch") and fast:
            steps = in_place(printer, lhs, rhs)
            if steps is not None:
                return [_comment(comment + "   (in place)"), *steps]
        return [_comment(comment), f"    {lhs} = {printer.doprint(rhs)}"]

    batch_axis = 1 if prog.column and not net.is_conv else 0
    forward_body: list[str] = []
    m_line = []
    if isinstance(prog.batch, sympy.Symbol):
        m_line = [f"    {code_name(prog.batch.name)} = X.shape[{batch_axis}]"]
    for eq in prog.forward_equations:
        forward_body += stmt(code_name(eq.out.name), eq.rhs, f"{text(eq.out)} = {text(eq.rhs)}")
    out_name = code_name(prog.output.name)
    loss_eq = prog.loss_equation
    loss_lines = stmt("L", loss_eq.rhs, f"L = {text(loss_eq.rhs)}")
    backward: list[str] = []
    # Per-sample deltas and a mean loss: every gradient is (1/m)·(something linear in a δ).
    # The code divides the small output delta by m once instead of every gradient after its
    # product, so its deltas are the mean loss's (∂L/∂Z); the comments say where.
    s = prog.scale
    moved = fast and d.per_sample and s != 1
    for k in range(d.depth, 0, -1):
        st = d.deltas[k]
        comment = f"{text(st.lhs)} = {text(st.rhs)}"
        rhs = st.rhs
        if moved and k == d.depth:  # one product with the whole delta, not per term
            rhs = sympy.Mul(s, rhs) if is_tensor(rhs) else sympy.MatMul(s, rhs)
            comment += f"   (code: times {text(s)}, so every delta below carries it)"
        backward += stmt(code_name(st.lhs.name), rhs, comment)
    delta_names = {st.lhs for st in d.deltas.values()}
    for p in prog.params:
        st = d.gradients[p.name]
        comment = f"{text(st.lhs)} = {text(st.rhs)}"
        rhs = st.rhs
        if moved:
            rhs = _without_batch_factor(rhs, s, delta_names)
            if rhs != st.rhs:
                comment += f"   (code: the {text(s)} is in the deltas)"
        backward += stmt("d" + code_name(p.name), rhs, comment)

    # symbolic sizes a statement uses (a kernel side k, …), read off the arrays' shapes
    code = "\n".join(forward_body + loss_lines + backward)
    bound = {prog.batch}
    for sym in [x, *prog.params]:
        for axis, dim in enumerate(sym.shape):
            name = code_name(dim.name) if isinstance(dim, sympy.Symbol) else ""
            if name and dim not in bound and re.search(rf"\b{name}\b", code):
                bound.add(dim)
                m_line.append(f"    {name} = {code_name(sym.name)}.shape[{axis}]")
    helpers = _helper_source(printer)
    shapes = {"X": shape_of(x), "Y": shape_of(y)}
    shapes.update({code_name(p.name): shape_of(p) for p in prog.params})
    shapes.update({code_name(mk.name): shape_of(mk) for mk in masks})
    imports = [
        f"import {mod}" for mod in sorted({BACKEND_IMPORT[backend], *printer.module_imports})
    ]
    sig = ", ".join(params)
    check_fwd = "    _check_shapes({" + ", ".join(f'"{n}": {n}' for n in ["X", *params]) + "})"
    check_all = "    _check_shapes({" + ", ".join(f'"{n}": {n}' for n in ["X", "Y", *params]) + "})"
    inter = ", ".join(
        f'"{code_name(eq.out.name)}": {code_name(eq.out.name)}' for eq in prog.forward_equations
    )
    grads = ", ".join(f'"{n}": d{n}' for n in params)
    header = (
        _docstring(
            f"Backpropagation for the network {net.name!r}, exported by derive ({backend}).\n\n"
            f"Convention: {net.convention} "
            f"({'samples are columns' if prog.column else 'samples are rows'}).\n"
            f"Delta: {net.delta}. Loss: {net.loss.name} ({net.loss.reduction}).\n"
            "Every statement is one step of the derivation; its formula is the comment above "
            "it.\n"
        )
        + "\n\n"
    )
    lines = [header + "from __future__ import annotations\n\n" + "\n".join(imports)]
    lines.append("")
    lines.append(f"PARAMETERS = {tuple(params)!r}")
    lines.append(f"SHAPES = {shapes!r}")
    lines.append(f"HYPERPARAMETERS = {tuple(code_name(h.name) for h in hyper)!r}")
    src = "\n".join(lines) + "\n" + CHECK_HELPER
    if "_softmax(" in "\n".join(forward_body):
        src += SOFTMAX_HELPER
    if backend == "numpy":
        src += "".join(h for name, h in NUMPY_HELPERS.items() if re.search(rf"\b{name}\(", code))
    src += helpers
    src += f'''

def intermediates(X, {sig}{fwd_kw}):
    """Every forward value (Z1, A1, …) by name."""
{check_fwd}
{chr(10).join(m_line)}
{chr(10).join(forward_body)}
    return {{{inter}}}


def forward(X, {sig}{fwd_kw}):
    """The network output {out_name}."""
    return intermediates(X, {sig}{fwd_pass})[{out_name!r}]


def loss(X, Y, {sig}{kw}):
    """The scalar loss L (forward pass only)."""
{check_all}
{chr(10).join(m_line)}
{chr(10).join(forward_body)}
{chr(10).join(loss_lines)}
    return L


def _backprop(X, Y, {sig}{kw}):
    # Forward pass, loss, deltas and gradients: the derivation, one step a line.
{chr(10).join(m_line)}
{chr(10).join(forward_body)}
{chr(10).join(loss_lines)}
{chr(10).join(backward)}
    return L, {", ".join("d" + n for n in params)}


def loss_and_gradients(X, Y, {sig}{kw}):
    """The loss and every parameter's gradient, in one forward and one backward pass."""
{check_all}
    L, {", ".join("d" + n for n in params)} = _backprop(X, Y, {sig}{pass_hyper})
    return L, {{{grads}}}


def gradients(X, Y, {sig}{kw}):
    """dict parameter name -> dL/d(parameter), shaped like the parameter."""
    return loss_and_gradients(X, Y, {sig}{pass_hyper})[1]
'''
    return src.replace("\n\n\n\n", "\n\n\n")


def to_module(spec: Any, backend: str = "numpy", fast: bool = True) -> types.ModuleType:
    """The exported module, compiled in memory (for verification and ``to_function``)."""
    require_backend(backend)
    return load_module(to_source(spec, backend, fast))
