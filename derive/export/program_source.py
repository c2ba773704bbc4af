"""Export a program's staged derivation as a numeric module (NumPy, JAX or PyTorch).

The module reads like the derivation: one statement per forward assignment, per named
cotangent and per gradient, each under its formula as a comment, printed by the same
backend printers as a network's module. Its functions: ``forward`` (the program's output
or loss) and ``gradients`` (a dict of every input's and parameter's gradient).

The statements are printed by ``program_lean.lean_printer``; the values computed once are
found by ``program_shared``.
"""

from __future__ import annotations

import re
import types
from typing import Any

import sympy

from derive.core.nodes import Broadcast
from derive.core.staged import StagedDerivation
from derive.export.printers import BACKENDS, ExportError, code_name
from derive.export.program_lean import _group, _matrix, lean_printer
from derive.export.program_shared import _cheap, _repeated, _size
from derive.export.program_sizes import size_statements
from derive.export.source import (
    BACKEND_IMPORT,
    CHECK_HELPER,
    _comment,
    _docstring,
    array_helpers,
    load_module,
    require_backend,
)


def _shape(sym: Any) -> tuple[Any, ...]:
    return tuple(int(d) if d.is_Integer else str(d) for d in sym.shape)


def _reads(exprs: list[Any], defined: dict[Any, Any]) -> set[Any]:
    """The names in ``defined`` that ``exprs`` read, directly or through each other."""
    needed: set[Any] = set()
    todo = [s for e in exprs for s in e.free_symbols if s in defined]
    while todo:
        s_ = todo.pop()
        if s_ not in needed:
            needed.add(s_)
            todo += [t for t in defined[s_].free_symbols if t in defined]
    return needed


class _Body:
    """The statements of one function, printed in order: each value already computed
    (an earlier statement, or a repeated subexpression named ``tmpK`` just before its
    first use) is read by its name."""

    def __init__(
        self, backend: str, producers: dict[Any, Any], taken: set[str], sizes: set[Any]
    ) -> None:
        self.printer: Any = lean_printer(backend, sizes)
        self.printer.producers = producers
        self.taken = taken
        self.lines: list[str] = []
        self.shared: dict[Any, Any] = {}
        self.order: list[Any] = []
        self.rank: dict[Any, int] = {}
        self.pending: set[Any] = set()

    def share(self, exprs: list[Any]) -> None:
        """Name the subexpressions that ``exprs`` compute more than once."""
        rep = _repeated(exprs, self.printer.keys)
        self.shared = rep
        self.order = sorted(rep, key=lambda k: _size(rep[k]))
        self.rank = {k: i for i, k in enumerate(self.order)}
        self.pending = set(self.order)

    def emit(self, lhs: str, rhs: Any, comment: str, like: str | None = None) -> None:
        """``lhs = rhs`` under its comment (``like``: the array whose shape a lone
        broadcast takes), after the shared values it reads."""
        from derive.render.text import text

        keys = self.printer.keys
        inside = {keys(e) for e in sympy.preorder_traversal(rhs) if isinstance(e, sympy.Basic)}
        for k in sorted(inside & self.pending, key=self.rank.__getitem__):
            self.pending.discard(k)
            if k not in self.printer.names:
                name = self._fresh()
                code = self.printer.doprint(self.shared[k])
                self.lines.append(_comment(f"{name} = {text(self.shared[k])}, used again below"))
                self.lines.append(f"    {name} = {code}")
                self.printer.names[k] = name
        self.lines.append(_comment(comment))
        if isinstance(rhs, Broadcast) and like is not None:
            # a broadcast alone keeps the shape of its value (read from the array itself)
            code = _group(self.printer.doprint(rhs.arg))
            code = self.printer.broadcast(code, f"{like}.shape[0]", f"{like}.shape[1]", False)
        else:
            code = self.printer.doprint(rhs)
            if _matrix(rhs) and re.fullmatch(r"-?[\d.]+", code):  # 1_N 1_Dᵀ: an array
                rows, cols = (self.printer._print(d) for d in rhs.shape)
                code = self.printer.broadcast(f"{float(code)!r}", rows, cols, True)
        self.lines.append(f"    {lhs} = {code}")
        if not _cheap(rhs):
            self.printer.names.setdefault(keys(rhs), lhs)

    def _fresh(self) -> str:
        i = 1
        while f"tmp{i}" in self.taken:
            i += 1
        self.taken.add(f"tmp{i}")
        return f"tmp{i}"


def _free(lines: list[str], kept: set[str]) -> list[str]:
    """``lines`` with ``del`` after each value's last read: a full-size temporary no
    longer held lets the array library reuse its memory (measurably faster)."""
    target = re.compile(r"^    (\w+) = ")
    made: dict[str, int] = {}
    last: dict[str, int] = {}
    for i, line in enumerate(lines):
        if line.lstrip().startswith("#"):
            continue
        m = target.match(line)
        rhs = line[m.end() :] if m else line
        for name in _names(rhs):
            if name in made:
                last[name] = i
        if m and m.group(1) not in kept:
            made.setdefault(m.group(1), i)
    out = []
    for i, line in enumerate(lines):
        out.append(line)
        m = target.match(line)
        # in the order the line reads them (never a set's order, which changes from one
        # process to the next: the exported source must be the same every time)
        done = [n for n in _names(line[m.end() :] if m else line) if last.get(n) == i]
        if done and not line.lstrip().startswith("#"):
            out.append(f"    del {', '.join(done)}")
    return out


def _names(code: str) -> list[str]:
    """The words of a line of code, each once, in reading order."""
    return list(dict.fromkeys(re.findall(r"\b\w+\b", code)))


def program_source(sd: StagedDerivation, backend: str = "numpy") -> str:
    """The exported module's source."""
    if backend not in BACKENDS:
        raise ExportError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    from derive.render.text import text

    g = sd.graph
    producers = {eq.out: eq.rhs for eq in g.equations}
    taken = {code_name(s.name) for s in [*g.inputs, *g.labels, *g.parameters]}
    taken |= {code_name(eq.out.name) for eq in g.equations}
    taken |= {code_name(st.lhs.name) for st in sd.cotangents}
    taken |= {code_name(s.name) for s in g.hyper.values()}
    # each gradient as its closed form where one was found (fewer passes over the data),
    # else staged; only the stages a printed gradient reads are computed, and only the
    # forward values those read
    # (only where it is clearly shorter than the stages it replaces, which it then
    # need not compute: batch norm's dX; a closed form that merely inlines the stages
    # would compute the same values, and read worse)
    names = list(sd.gradients)
    stage_of = {st.lhs: st.rhs for st in sd.cotangents}
    closed_of = {n: c.rhs for n, c in sd.compact.items() if c is not None and c.rhs is not None}
    rhs_of = {n: closed_of.get(n, sd.gradients[n].rhs) for n in names}
    changed = True
    while changed:  # a stage some staged gradient computes is free for the others
        changed = False
        anyway = _reads([rhs_of[n] for n in names if rhs_of[n] is sd.gradients[n].rhs], stage_of)
        for name in closed_of:
            staged = sd.gradients[name].rhs
            own = _reads([staged], stage_of) - anyway
            cost = _size(staged) + sum(_size(stage_of[s]) for s in own)
            if rhs_of[name] is not staged and _size(closed_of[name]) > 0.75 * cost or not own:
                changed |= rhs_of[name] is not staged
                rhs_of[name] = staged
    needed = _reads([rhs_of[n] for n in names], stage_of)
    stages = [st for st in sd.cotangents if st.lhs in needed]
    value_of = {eq.out: eq.rhs for eq in g.forward_equations}
    reads = _reads([rhs_of[n] for n in names] + [st.rhs for st in stages], value_of)
    kept = [eq for eq in g.forward_equations if eq.out in reads]

    size_syms = {  # H inside 4*H too: a Python int in the module
        f
        for s in [*g.inputs, *g.parameters]
        for d in s.shape
        if isinstance(d, sympy.Basic)
        for f in d.free_symbols
    }
    fwd = _Body(backend, producers, set(taken), size_syms)
    fwd.share([eq.rhs for eq in g.forward_equations] + ([g.loss] if g.loss is not None else []))
    for eq in g.forward_equations:
        fwd.emit(code_name(eq.out.name), eq.rhs, f"{text(eq.out)} = {text(eq.rhs)}")
    if g.loss is not None:
        fwd.emit("L", g.loss, f"L = {text(g.loss)}")

    # gradients() returns no loss: it computes only the forward values the stages read
    grad = _Body(backend, producers, set(taken), size_syms)
    grad.share([eq.rhs for eq in kept] + [st.rhs for st in stages] + [rhs_of[n] for n in names])
    for eq in kept:
        grad.emit(code_name(eq.out.name), eq.rhs, f"{text(eq.out)} = {text(eq.rhs)}")
    for st in stages:
        grad.emit(code_name(st.lhs.name), st.rhs, f"{text(st.lhs)} = {text(st.rhs)}")
    for name in names:
        st = sd.gradients[name]
        rhs = rhs_of[name]
        like = code_name(st.lhs.wrt.name)
        grad.emit("d" + code_name(name), rhs, f"{text(st.lhs)} = {text(rhs)}", like)
    forward, backward = fwd.lines, _free(grad.lines, {"d" + code_name(n) for n in names})
    printer = grad.printer

    arrays = [*g.inputs, *g.labels, *g.parameters]
    args = [code_name(s.name) for s in arrays]
    upstream = [code_name(g.upstream.name)] if g.upstream is not None else []
    upstream += [code_name(u.name) for u in g.more_upstream.values()]  # dnext_c too
    hyper = [code_name(s.name) for s in sorted(set(g.hyper.values()), key=str)]
    kw = f", *, {', '.join(hyper)}" if hyper else ""
    code = "\n".join(forward + backward)
    sizes = size_statements(arrays, code)
    ups = [u for u in [g.upstream, *g.more_upstream.values()] if u is not None]
    grad_sizes = size_statements(arrays, code, checked=ups)
    shapes = {code_name(s.name): _shape(s) for s in [*g.inputs, *g.parameters]}
    if g.upstream is not None:
        shapes[upstream[0]] = _shape(g.upstream)
    for u in g.more_upstream.values():
        shapes[code_name(u.name)] = _shape(u)
    check = (
        "    _check_shapes({" + ", ".join(f'"{n}": {n}' for n in shapes if n not in upstream) + "})"
    )
    check_all = "    _check_shapes({" + ", ".join(f'"{n}": {n}' for n in shapes) + "})"
    out = "L" if g.loss is not None else code_name(g.output.name)
    what = "its loss L" if g.loss is not None else f"upstream gradient {upstream[0]} = ∂L/∂{out}"
    for o, u in g.more_upstream.items():  # several outputs: forward returns them all
        out += f", {code_name(o.name)}"
        what += f" and {code_name(u.name)} = ∂L/∂{code_name(o.name)}"
    header = _docstring(
        f"Backward pass of the program {sd.name!r}, exported by derive ({backend}).\n\n"
        f"Differentiated through {what}; every statement is one step of the staged\n"
        "derivation, its formula the comment above it.\n"
    )
    imports = sorted(
        {BACKEND_IMPORT[backend], *fwd.printer.module_imports, *printer.module_imports}
    )
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
{chr(10).join(grad_sizes)}
{chr(10).join(backward)}
    return {{{", ".join(f"{n!r}: d{code_name(n)}" for n in names)}}}
'''
    return src.replace("\n\n\n\n", "\n\n\n")


def program_module(sd: StagedDerivation, backend: str = "numpy") -> types.ModuleType:
    """The exported module, imported."""
    require_backend(backend)
    return load_module(program_source(sd, backend), f"program_{code_name(sd.name)}")
