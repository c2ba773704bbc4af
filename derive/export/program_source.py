"""Export a program's staged derivation as a numeric module (NumPy, JAX or PyTorch).

The module reads like the derivation: one statement per forward assignment, per named
cotangent and per gradient, each under its formula as a comment, printed by the same
backend printers as a network's module. Its functions: ``forward`` (the program's output
or loss) and ``gradients`` (a dict of every input's and parameter's gradient).
"""

from __future__ import annotations

import types
from typing import Any

import sympy

from derive.core.nodes import Broadcast
from derive.core.staged import StagedDerivation
from derive.export.printers import BACKENDS, ExportError, code_name
from derive.export.source import (
    BACKEND_IMPORT,
    CHECK_HELPER,
    _comment,
    _docstring,
    array_helpers,
    load_module,
    printer_for,
    require_backend,
)


def _shape(sym: Any) -> tuple[Any, ...]:
    return tuple(int(d) if d.is_Integer else str(d) for d in sym.shape)


def program_source(sd: StagedDerivation, backend: str = "numpy") -> str:
    """The exported module's source."""
    if backend not in BACKENDS:
        raise ExportError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    from derive.render.text import text

    g = sd.graph
    printer: Any = printer_for(backend)
    printer.producers = {eq.out: eq.rhs for eq in g.equations}

    def stmt(lhs: str, rhs: Any, comment: str) -> list[str]:
        return [_comment(comment), f"    {lhs} = {printer.doprint(rhs)}"]

    forward: list[str] = []
    for eq in g.forward_equations:
        forward += stmt(code_name(eq.out.name), eq.rhs, f"{text(eq.out)} = {text(eq.rhs)}")
    if g.loss is not None:
        forward += stmt("L", g.loss, f"L = {text(g.loss)}")
    # each gradient as its closed form where one was found (fewer passes over the data),
    # else staged; only the stages a printed gradient reads are computed
    names = list(sd.gradients)
    rhs_of = {}
    for name in names:
        closed = sd.compact.get(name)
        rhs_of[name] = closed.rhs if closed is not None else sd.gradients[name].rhs
    stage_of = {st.lhs: st for st in sd.cotangents}
    needed: set[Any] = set()
    todo = [s for name in names for s in rhs_of[name].free_symbols if s in stage_of]
    while todo:
        s_ = todo.pop()
        if s_ not in needed:
            needed.add(s_)
            todo += [t for t in stage_of[s_].rhs.free_symbols if t in stage_of]
    backward: list[str] = []
    for st in sd.cotangents:
        if st.lhs in needed:
            backward += stmt(code_name(st.lhs.name), st.rhs, f"{text(st.lhs)} = {text(st.rhs)}")
    for name in names:
        st = sd.gradients[name]
        sym = st.lhs.wrt
        rhs = rhs_of[name]
        line = stmt("d" + code_name(name), rhs, f"{text(st.lhs)} = {text(rhs)}")
        if isinstance(rhs, Broadcast):  # a broadcast alone keeps the shape of its value
            mod = BACKEND_IMPORT[backend]
            shape = f"{code_name(sym.name)}.shape"
            code = printer.doprint(rhs)
            line[-1] = f"    d{code_name(name)} = {mod}.broadcast_to({code}, {shape})"
        backward += line

    arrays = [*g.inputs, *g.labels, *g.parameters]
    args = [code_name(s.name) for s in arrays]
    upstream = [code_name(g.upstream.name)] if g.upstream is not None else []
    hyper = [code_name(s.name) for s in sorted(set(g.hyper.values()), key=str)]
    kw = f", *, {', '.join(hyper)}" if hyper else ""
    sizes: list[str] = []
    code = "\n".join(forward + backward)
    bound: set[Any] = set()
    for sym in arrays:
        for axis, dim in enumerate(sym.shape):
            if isinstance(dim, sympy.Symbol) and dim not in bound:
                bound.add(dim)
                name = code_name(dim.name)
                if name in code:
                    sizes.append(f"    {name} = {code_name(sym.name)}.shape[{axis}]")
    shapes = {code_name(s.name): _shape(s) for s in [*g.inputs, *g.parameters]}
    if g.upstream is not None:
        shapes[upstream[0]] = _shape(g.upstream)
    check = (
        "    _check_shapes({" + ", ".join(f'"{n}": {n}' for n in shapes if n not in upstream) + "})"
    )
    check_all = "    _check_shapes({" + ", ".join(f'"{n}": {n}' for n in shapes) + "})"
    out = "L" if g.loss is not None else code_name(g.output.name)
    what = "its loss L" if g.loss is not None else f"upstream gradient {upstream[0]} = ∂L/∂{out}"
    header = _docstring(
        f"Backward pass of the program {sd.name!r}, exported by derive ({backend}).\n\n"
        f"Differentiated through {what}; every statement is one step of the staged\n"
        "derivation, its formula the comment above it.\n"
    )
    imports = sorted({BACKEND_IMPORT[backend], *printer.module_imports})
    lines = [header, "", "from __future__ import annotations", ""]
    lines += [f"import {m}" for m in imports]
    lines += [
        "",
        f"INPUTS = {tuple(code_name(s.name) for s in g.inputs)!r}",
        f"PARAMETERS = {tuple(code_name(s.name) for s in g.parameters)!r}",
        f"UPSTREAM = {upstream[0] if upstream else None!r}",
        f"HYPERPARAMETERS = {tuple(hyper)!r}",
        f"SHAPES = {shapes!r}",
    ]
    src = "\n".join(lines) + "\n" + CHECK_HELPER + array_helpers(code, backend, printer)
    sig = ", ".join(args)
    src += f'''

def forward({sig}{kw}):
    """The program's {"loss" if g.loss is not None else "output " + out}."""
{check}
{chr(10).join(sizes)}
{chr(10).join(forward)}
    return {out}


def gradients({", ".join(args + upstream)}{kw}):
    """The gradient of every input and parameter: {{name: array}}."""
{check_all}
{chr(10).join(sizes)}
{chr(10).join(forward)}
{chr(10).join(backward)}
    return {{{", ".join(f'"{code_name(n)}": d{code_name(n)}' for n in names)}}}
'''
    return src.replace("\n\n\n\n", "\n\n\n")


def program_module(sd: StagedDerivation, backend: str = "numpy") -> types.ModuleType:
    """The exported module, imported."""
    require_backend(backend)
    return load_module(program_source(sd, backend), f"program_{code_name(sd.name)}")
