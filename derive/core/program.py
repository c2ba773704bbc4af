"""A user's forward program as equations over our nodes, and its staged derivation.

``derive.spec.program`` reads the program (names checked, positions kept); here each
assignment becomes one ``Equation`` whose right-hand side is built from the nodes of the
one rule table, with NumPy's broadcasting made explicit (``Broadcast`` nodes, so the
derivation can say that the transpose of a broadcast is a sum). Shapes are checked as the
nodes are built: a mismatch names the file, the line, the equation and both shapes.

The derivation is the same reverse walk as for networks. Its naming hook binds the
cotangent of every assignment to ``d<name>`` — the staged backward pass as courses teach
it (``dXhat``, ``dvar``, ``dmu``, ``dXc``, ``dX``).

This module stages a program and builds it (``build_program``) and picks the points it
is evaluated at; the pieces live beside it and are re-exported here: the built graph,
shapes and errors in ``program_graph``, the builder in ``program_values`` (names,
numbers, operators) and ``program_calls`` (calls).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy
from sympy.matrices.expressions import Determinant, MatrixExpr, MatrixSymbol, Trace

from derive.core import nodes as N
from derive.core.graph import LOSS, Equation, Kind
from derive.core.program_calls import EquationBuilder as _Builder
from derive.core.program_graph import (
    FILLS,
    MAX_EXPONENT,
    MAX_LITERAL_SIZE,
    ProgramError,
    ProgramGraph,
    ProgramReadError,
    Shape,
    _is_mask,
    cotangent_name,
    flat_add,
    from_end,
    is_scalar,
    mask_names,
    matrix_shape,
    shape_of,
    shape_text,
    size_symbol,
)

__all__ = [
    "FILLS",
    "MAX_EXPONENT",
    "MAX_LITERAL_SIZE",
    "ProgramError",
    "ProgramGraph",
    "ProgramReadError",
    "Shape",
    "_Builder",
    "build_program",
    "cotangent_name",
    "dims_of",
    "flat_add",
    "from_end",
    "is_scalar",
    "mask_names",
    "matrix_shape",
    "random_point",
    "sample_point",
    "shape_of",
    "shape_text",
    "size_symbol",
    "stage_expression",
]


def stage_expression(loss: Any, taken: set[str]) -> tuple[list[Equation], Any]:
    """Name the matrix each scalar node of a free expression reads (``u1 = X w − y`` in
    ``‖X w − y‖²``), so its derivation has steps: ``du1``, then the gradient."""
    equations: list[Equation] = []
    names: dict[Any, MatrixSymbol] = {}

    def name(node: Any) -> Any:
        if not isinstance(node, N.ScalarOfMatrices) and not isinstance(node, (Trace, Determinant)):
            return node
        args = list(node.args)
        for k, arg in enumerate(args):
            if isinstance(arg, MatrixExpr) and not isinstance(arg, MatrixSymbol):
                if arg not in names:
                    i = len(names) + 1
                    while f"u{i}" in taken:
                        i += 1
                    taken.add(f"u{i}")
                    names[arg] = MatrixSymbol(f"u{i}", *arg.shape)
                    equations.append(Equation(names[arg], arg, Kind.MAP))
                args[k] = names[arg]
        return node.func(*args)

    staged = loss.replace(lambda e: isinstance(e, (N.ScalarOfMatrices, Trace, Determinant)), name)
    return equations, staged


def build_program(spec: Any) -> ProgramGraph:
    """The equations of a read program, shapes checked as each is built."""
    b = _Builder(spec)
    inputs = [b.declare(n, s) for n, s in spec.inputs.items()]
    labels = []
    for name, lab in spec.labels.items():
        length = size_symbol(lab.length)
        classes = size_symbol(lab.classes)
        sym = N.Labels(name, length, classes)
        b.env[name] = sym
        labels.append(sym)
    parameters = [b.declare(n, s) for n, s in spec.parameters.items()]
    hyper: dict[str, sympy.Symbol] = {}
    for name, value in spec.hyperparameters.items():
        if isinstance(value, str):
            sym = sympy.Symbol(value, positive=True)
            hyper[name] = sym
            b.env[name] = sym
        else:
            b.env[name] = sympy.sympify(value)  # safe: a SymPy number our parser built
    for name, size in b.sizes.items():  # a size the equations use, e.g. mu = 1 / N * sum(x)
        b.env.setdefault(name, size)
    equations: list[Equation] = []
    for assign in spec.equations:
        b.where = f"equation '{assign.text}'"
        rhs = b.build(assign.expr)
        out: Any
        if is_scalar(rhs):
            out = sympy.Symbol(assign.target, real=True)
        else:
            out = MatrixSymbol(assign.target, *rhs.shape)
            if _is_mask(rhs, b.masks):
                b.masks.add(out)
        b.env[assign.target] = out
        equations.append(Equation(out, rhs, Kind.MAP))
    b.where = ""
    upstream = loss = None
    auto: dict[Any, Any] = {}
    output = b.env[spec.output] if spec.output else (equations[-1].out if equations else None)
    if spec.loss is not None:
        b.where = f"the loss '{spec.loss.text}'"
        loss = b.build(spec.loss.expr)
        if not is_scalar(loss):
            raise b.fail(
                f"the loss must be a scalar, got {shape_text(shape_of(loss))}; "
                "sum or mean it, or take a norm",
                spec.loss.line or None,
            )
        if not equations:  # an expression: name what each scalar node reads, for steps
            staged, loss = stage_expression(loss, set(b.env))
            equations += staged
            auto = {eq.out: eq.rhs for eq in staged}
        equations.append(Equation(LOSS, loss, Kind.LOSS))
    elif spec.upstream is not None:
        upstream = _given(spec.upstream, output)
    more_upstream = {b.env[o]: _given(u, b.env[o]) for o, u in spec.more_upstream}
    return ProgramGraph(
        spec=spec,
        values=dict(b.env),
        equations=equations,
        inputs=inputs,
        labels=labels,
        parameters=parameters,
        hyper=hyper,
        output=output,
        upstream=upstream,
        loss=loss,
        sizes=b.sizes,
        auto=auto,
        more_upstream=more_upstream,
    )


def _given(name: str, output: Any) -> Any:
    """The upstream gradient ``name`` = ∂L/∂output, shaped like the output."""
    if output is None or is_scalar(output):
        return sympy.Symbol(name, real=True)
    return MatrixSymbol(name, *output.shape)


def dims_of(sym: Any, env: Mapping[Any, int]) -> tuple[int, int]:
    """A value's shape as ints, its size symbols looked up in ``env``."""
    return tuple(_dim(d, env) for d in sym.shape)  # type: ignore[return-value]


def _dim(d: Any, env: Mapping[Any, int]) -> int:
    """A size as an int: a number, a size symbol, or a multiple of one (``4 H``)."""
    if d.is_Integer:
        return int(d)
    if d in env:
        return int(env[d])
    return int(d.xreplace({s: sympy.Integer(env[s]) for s in d.free_symbols}))


def random_point(
    graph: ProgramGraph, dims: Mapping[Any, int], rng: np.random.Generator
) -> dict[Any, Any]:
    """Random values for every input, label, parameter, hyperparameter and upstream.

    Square matrices are kept well conditioned (``n I + noise``: inverses and log-dets
    exist); other entries are drawn in [0.5, 1.5] when the program takes logs or square
    roots of them, else in [-1, 1].
    """
    positive = _needs_positive(graph)
    env: dict[Any, Any] = dict(dims)
    fixed = getattr(graph.spec, "fixed", ())
    for sym in [*graph.inputs, *graph.parameters]:
        r, c = dims_of(sym, dims)
        if r == c and r > 1 and sym.name not in fixed:
            env[sym] = r * np.eye(r) + 0.3 * rng.standard_normal((r, c))
        elif positive:
            env[sym] = rng.uniform(0.5, 1.5, (r, c))
        else:
            env[sym] = rng.uniform(-1, 1, (r, c))
    for lab in graph.labels:
        n = int(lab.n) if lab.n.is_Integer else dims[lab.n]
        k = int(lab.classes) if lab.classes.is_Integer else dims[lab.classes]
        env[lab] = rng.integers(0, k, n)
    for sym in graph.hyper.values():
        env[sym] = float(rng.uniform(0.2, 0.5))
    for up in [graph.upstream, *graph.more_upstream.values()]:
        if up is not None:
            shape = (1, 1) if is_scalar(up) else dims_of(up, dims)
            env[up] = rng.uniform(-1, 1, shape)
    return env


def _needs_positive(graph: ProgramGraph) -> bool:
    names = {
        getattr(f, "name", "") for eq in graph.equations for f in sympy.preorder_traversal(eq.rhs)
    }
    return bool(names & {"log", "sqrt"})


def sample_point(graph: ProgramGraph, seed: int = 0, default: int = 3) -> dict[Any, Any]:
    """A random point with every size bound to ``default``: where a closed form found by
    algebra is compared with the stages before it is shown."""
    dims: dict[Any, int] = {sym: default + i for i, sym in enumerate(graph.sizes.values())}
    for lab in graph.labels:
        for d in (lab.n, lab.classes):
            if isinstance(d, sympy.Symbol) and d not in dims:
                dims[d] = default
    return random_point(graph, dims, np.random.default_rng(seed))
