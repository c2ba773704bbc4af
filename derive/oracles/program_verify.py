"""The three-way truth for a program: closed form, every entry by SymPy, finite differences.

(a) The staged derivation, evaluated with the NumPy interpreter; (b) ``sympy.diff`` of
the program expanded into scalar entries at small sizes (the explicit oracle's own
evaluators, written independently of the vectorised code); (c) central finite
differences of the exported module's ``forward``. A layer's backward pass (an upstream
gradient ``dout``) is checked through ``L = Σ dout ⊙ out`` with ``dout`` fixed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy

from derive.core import numeric
from derive.core.graph import LOSS
from derive.core.program import ProgramGraph, dims_of, random_point
from derive.core.staged import StagedDerivation
from derive.export.printers import code_name
from derive.export.program_source import program_module
from derive.oracles import explicit


@dataclass
class Agreement:
    """How far one gradient is from another method's: the largest relative error."""

    name: str
    method: str
    error: float
    tolerance: float

    @property
    def ok(self) -> bool:
        """Within the tolerance (NaN never is)."""
        return bool(self.error <= self.tolerance)


@dataclass
class ProgramReport:
    """What ``verify`` found: one agreement per gradient and method."""

    name: str
    sizes: dict[str, int]
    rows: list[Agreement] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Every gradient agrees with every method."""
        return all(r.ok for r in self.rows)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "program": self.name,
            "sizes": self.sizes,
            "passed": self.passed,
            "checks": [
                {"gradient": r.name, "method": r.method, "error": r.error, "ok": r.ok}
                for r in self.rows
            ],
        }

    def __str__(self) -> str:
        sizes = ", ".join(f"{k}={v}" for k, v in self.sizes.items()) or "as declared"
        lines = [f"program {self.name!r} ({sizes}): {'PASS' if self.passed else 'FAIL'}"]
        for r in self.rows:
            mark = "ok  " if r.ok else "FAIL"
            lines.append(
                f"  {mark} d{r.name:<10} vs {r.method:<22} max rel. error {r.error:.2e} "
                f"(tolerance {r.tolerance:.0e})"
            )
        return "\n".join(lines)


def concrete_sizes(graph: ProgramGraph, sizes: Mapping[str, int], default: int) -> dict[Any, int]:
    """Every size symbol bound to an int (``sizes`` by name, else ``default``)."""
    out = {}
    for name, sym in graph.sizes.items():
        out[sym] = int(sizes.get(name, default))
    for lab in graph.labels:
        for d in (lab.n, lab.classes):
            if isinstance(d, sympy.Symbol) and d not in out:
                out[d] = int(sizes.get(d.name, default))
    return out


def closed_form(sd: StagedDerivation, env: Mapping[Any, Any]) -> dict[str, np.ndarray]:
    """The staged derivation evaluated: forward, every cotangent, every gradient."""
    values = dict(env)
    for eq in sd.graph.equations:
        values[eq.out] = numeric.evaluate(eq.rhs, values)
    for st in sd.cotangents:
        values[st.lhs] = numeric.evaluate(st.rhs, values)
    return {
        name: np.asarray(numeric.evaluate(st.rhs, values), dtype=float)
        for name, st in sd.gradients.items()
    }


def _call_args(graph: ProgramGraph, env: Mapping[Any, Any]) -> tuple[list[Any], dict[str, Any]]:
    arrays = [env[s] for s in [*graph.inputs, *graph.labels, *graph.parameters]]
    hyper = {code_name(s.name): env[s] for s in sorted(set(graph.hyper.values()), key=str)}
    return arrays, hyper


def finite_differences(
    sd: StagedDerivation, env: Mapping[Any, Any], h: float = 1e-6, mod: Any = None
) -> dict[str, np.ndarray]:
    """Central differences of the exported ``forward`` by every entry of each input and
    parameter (through ``Σ dout ⊙ out`` for a layer's backward pass)."""
    g = sd.graph
    mod = mod or program_module(sd)
    dout = env[g.upstream] if g.upstream is not None else None
    more = [env[u] for u in g.more_upstream.values()]  # several outputs: a tuple returned

    def loss(values: dict[Any, Any]) -> float:
        arrays, hyper = _call_args(g, values)
        out = mod.forward(*arrays, **hyper)
        if more:
            return float(sum(np.sum(d * o) for d, o in zip([dout, *more], out, strict=True)))
        return float(np.sum(dout * out)) if dout is not None else float(out)

    grads = {}
    for sym in g.wrt:
        if sym.name not in sd.gradients:
            continue
        base = np.array(env[sym], dtype=float)
        grad = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            plus, minus = base.copy(), base.copy()
            plus[idx] += h
            minus[idx] -= h
            grad[idx] = (loss({**env, sym: plus}) - loss({**env, sym: minus})) / (2 * h)
        grads[sym.name] = grad
    return grads


def exported_gradients(
    sd: StagedDerivation, env: Mapping[Any, Any], mod: Any = None
) -> dict[str, np.ndarray]:
    """The exported module's ``gradients`` at the point."""
    g = sd.graph
    arrays, hyper = _call_args(g, env)
    if g.upstream is not None:
        arrays.append(env[g.upstream])
    arrays += [env[u] for u in g.more_upstream.values()]
    out = (mod or program_module(sd)).gradients(*arrays, **hyper)
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


def explicit_gradients(sd: StagedDerivation, env: Mapping[Any, Any]) -> dict[str, np.ndarray]:
    """``sympy.diff`` of the program expanded into scalar entries, at the point.

    One matrix's entries are symbols at a time, every other value its number: the
    partial derivative by an entry at the point does not depend on when the others are
    bound, and with them bound SymPy folds the constants, so each expansion is a function
    of that matrix's entries only (a one-step LSTM: 40 s with every entry symbolic at
    once, see benchmarks/programs.py)."""
    g = sd.graph
    base: dict[Any, Any] = {k: v for k, v in env.items() if not hasattr(k, "shape")}
    for sym in [*g.inputs, *g.parameters]:  # data and parameters: their numbers
        base[sym] = sympy.ImmutableMatrix(np.asarray(env[sym], dtype=float).tolist())
    for lab in g.labels:
        base[lab] = env[lab]
    for h in g.hyper.values():
        base[h] = sympy.Float(env[h])
    for up in [g.upstream, *g.more_upstream.values()]:
        if up is not None:
            base[up] = sympy.ImmutableMatrix(np.asarray(env[up]).tolist())
    grads = {}
    for sym in g.wrt:
        if sym.name not in sd.gradients:
            continue
        r, c = dims_of(sym, env)
        mat = explicit.entry_matrix(sym, r, c)
        numbers = {mat[i, j]: float(env[sym][i, j]) for i in range(r) for j in range(c)}
        total = _expanded_loss(g, {**base, sym: mat})
        grads[sym.name] = np.array(
            [[float(sympy.diff(total, w).xreplace(numbers)) for w in row] for row in mat.tolist()]
        )
    return grads


def _expanded_loss(g: ProgramGraph, sym_env: dict[Any, Any]) -> Any:
    """The program's scalar loss (``Σ dout ⊙ out`` for a layer) over explicit values."""
    for eq in g.equations:
        sym_env[eq.out] = explicit.evaluate(eq.rhs, sym_env)
    if g.loss is not None:
        return sym_env[LOSS]
    total: Any = 0
    for o, u in [(g.output, g.upstream), *g.more_upstream.items()]:
        out, dout = sym_env[o], sym_env[u]
        total += sum(out[i, j] * dout[i, j] for i in range(out.rows) for j in range(out.cols))
    return total


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float))
    scale = max(1.0, float(np.max(np.abs(b))) if b.size else 1.0)
    return float(np.max(np.abs(a - b)) / scale) if a.size else 0.0


def verify_program(
    sd: StagedDerivation,
    sizes: Mapping[str, int] | None = None,
    seed: int = 0,
    explicit_oracle: bool = True,
) -> ProgramReport:
    """Check every gradient three ways (closed form, exported code, finite differences,
    and SymPy on every entry unless ``explicit_oracle`` is off) at one random point."""
    g = sd.graph
    dims = concrete_sizes(g, sizes or {}, default=3)
    rng = np.random.default_rng(seed)
    env = random_point(g, dims, rng)
    report = ProgramReport(sd.name, {k.name: v for k, v in dims.items()})
    closed = closed_form(sd, env)
    module = program_module(sd)
    methods = {
        "exported code": (exported_gradients(sd, env, module), 1e-10),
        "finite differences": (finite_differences(sd, env, mod=module), 1e-6),
    }
    if explicit_oracle:
        methods["SymPy on every entry"] = (explicit_gradients(sd, env), 1e-9)
    for name, value in closed.items():
        for method, (grads, tol) in methods.items():
            report.rows.append(Agreement(name, method, _rel(value, grads[name]), tol))
    return report
