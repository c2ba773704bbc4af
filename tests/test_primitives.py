"""Issue 14's primitives, each checked by three independent truths on a tiny program.

For every primitive a program of one or two equations (``L := Σ Y ⊙ node(X)`` with a fixed
random Y, or a scalar node directly) at small concrete shapes:

(a) the rule table's closed form (the reverse walk), evaluated by the NumPy interpreter;
(b) the explicit SymPy oracle: the forward program on matrices of named scalar entries,
    ``sympy.diff`` of the expanded loss by every entry;
(c) central finite differences of the loss computed by the exported NumPy code (the
    printers' code for every equation), whose printed gradient must equal (a) too.

All three agree to rtol 1e-7. A hypothesis test composes 2–4 random primitives with
consistent shapes; shape errors name both shapes.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import sympy
from conftest import PDFLATEX, compile_tex
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sympy.matrices.expressions import (
    Determinant,
    Inverse,
    MatrixSymbol,
    OneMatrix,
    Trace,
)

from derive.core import numeric
from derive.core.backward import reverse_walk
from derive.core.graph import Equation, Kind
from derive.core.nodes import (
    Broadcast,
    Concat,
    Indicator,
    Labels,
    LogDet,
    LogSoftmax,
    Norm,
    Pick,
    Reduce,
    ReduceAll,
    ShapeMismatch,
    Slice,
    Softmax,
    add,
    divide,
    elementwise,
    fit,
    hadamard,
    inverse,
    power,
    trace,
    where,
)
from derive.export.printers import JaxCode, NumPyCode, code_name
from derive.export.source import BACKEND_IMPORT, NUMPY_HELPERS, SOFTMAX_HELPER
from derive.oracles import explicit
from derive.render.latex import latex
from derive.render.text import text

M, N = 3, 4
L = sympy.Symbol("L")


@dataclass
class Program:
    """A tiny forward program: inputs with their values, equations, what to differentiate."""

    equations: list[tuple[Any, Any]]
    values: dict[Any, np.ndarray]
    wrt: list[MatrixSymbol]
    labels: dict[Any, np.ndarray] = field(default_factory=dict)

    @property
    def eqs(self) -> list[Equation]:
        return [Equation(out, rhs, Kind.MAP) for out, rhs in self.equations]


def closed_form(prog: Program) -> dict[Any, Any]:
    """The reverse walk's gradient of L for each input in ``wrt`` (SymPy expressions)."""
    active = set(prog.wrt) | {out for out, _ in prog.equations}
    acc = reverse_walk(prog.eqs, {L: sympy.Integer(1)}, active)
    return {x: add(acc[x]) for x in prog.wrt if acc.get(x)}


def numpy_env(prog: Program) -> dict[Any, Any]:
    env: dict[Any, Any] = {**prog.values, **prog.labels}
    for out, rhs in prog.equations:
        env[out] = numeric.evaluate(rhs, env)
    return env


def _full(value: Any, shape: tuple[int, ...]) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, dtype=float), shape)


def truth_a(prog: Program) -> dict[Any, np.ndarray]:
    """(a) the closed form on the NumPy interpreter."""
    env = numpy_env(prog)
    grads = closed_form(prog)
    return {x: _full(numeric.evaluate(grads.get(x, 0 * x), env), x.shape) for x in prog.wrt}


def truth_b(prog: Program) -> dict[Any, np.ndarray]:
    """(b) sympy.diff of the loss expanded over named scalar entries, at the same point."""
    env: dict[Any, Any] = {}
    point: dict[Any, Any] = {}
    for sym, value in prog.values.items():
        entries = explicit.entry_matrix(sym, *value.shape)
        env[sym] = entries
        for e, v in zip(entries, value.flat):
            point[e] = sympy.Float(float(v), 30)
    env.update(prog.labels)
    for out, rhs in prog.equations:
        env[out] = explicit.evaluate(rhs, env)
    loss = env[L]
    out = {}
    for x in prog.wrt:
        entries = env[x]
        grads = [float(sympy.diff(loss, e).xreplace(point).evalf(30)) for e in entries]
        out[x] = np.array(grads).reshape(x.shape)
    return out


def _printer(backend: str) -> Any:
    if backend == "torch":
        from derive.export.torch_code import TorchCode

        return TorchCode()
    return {"numpy": NumPyCode, "jax": JaxCode}[backend]()


def exported(prog: Program, backend: str = "numpy") -> types.ModuleType:
    """The program as code printed by the export's printer: ``loss`` and ``grads``."""
    printer = _printer(backend)
    names = [code_name(s.name) for s in [*prog.values, *prog.labels]]
    body = [f"    {code_name(out.name)} = {printer.doprint(rhs)}" for out, rhs in prog.equations]
    grads = closed_form(prog)
    returned = ", ".join(
        f"{code_name(x.name)!r}: {printer.doprint(grads[x]) if x in grads else '0'}"
        for x in prog.wrt
    )
    head = ", ".join(names)
    imports = sorted({"numpy", *printer.module_imports, BACKEND_IMPORT[backend]})
    src = "".join(f"import {m}\n" for m in imports) + SOFTMAX_HELPER
    src += "".join(NUMPY_HELPERS.values())
    src += f"\n\ndef loss({head}):\n" + "\n".join(body) + "\n    return L\n"
    src += f"\n\ndef grads({head}):\n" + "\n".join(body) + f"\n    return {{{returned}}}\n"
    mod = types.ModuleType(f"primitives_{backend}")
    exec(compile(src, f"<test_primitives {backend}>", "exec"), mod.__dict__)  # safe: our code
    mod.__source__ = src  # type: ignore[attr-defined]
    return mod


def _arguments(prog: Program, backend: str = "numpy") -> dict[str, Any]:
    args = {code_name(s.name): v for s, v in {**prog.values, **prog.labels}.items()}
    if backend == "torch":
        import torch

        return {k: torch.tensor(v) for k, v in args.items()}
    if backend == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
        return {k: jax.numpy.asarray(v) for k, v in args.items()}
    return args


def truth_c(prog: Program, mod: types.ModuleType, h: float = 1e-6) -> dict[Any, np.ndarray]:
    """(c) central finite differences of the exported loss."""
    args = _arguments(prog)
    out = {}
    for x in prog.wrt:
        name = code_name(x.name)
        base = args[name]
        grad = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            up, down = base.copy(), base.copy()
            up[idx] += h
            down[idx] -= h
            grad[idx] = (mod.loss(**{**args, name: up}) - mod.loss(**{**args, name: down})) / (
                2 * h
            )
        out[x] = grad
    return out


def assert_three_way(prog: Program) -> None:
    a, b = truth_a(prog), truth_b(prog)
    mod = exported(prog)
    c = truth_c(prog, mod)
    printed = mod.grads(**_arguments(prog))
    for x in prog.wrt:
        # (entries routed nowhere, e.g. off a max, are 0 in a and b: FD noise there is ~1e-10)
        np.testing.assert_allclose(a[x], b[x], rtol=1e-7, atol=1e-12, err_msg=f"a vs b, {x}")
        np.testing.assert_allclose(a[x], c[x], rtol=1e-7, atol=1e-8, err_msg=f"a vs c, {x}")
        got = _full(printed[code_name(x.name)], x.shape)
        np.testing.assert_allclose(got, a[x], rtol=1e-12, atol=1e-14, err_msg=f"code, {x}")


# --------------------------------------------------------------------------- the programs

X = MatrixSymbol("X", M, N)
W = MatrixSymbol("W", M, N)
Q = MatrixSymbol("Q", M, M)
r = MatrixSymbol("r", 1, N)
c = MatrixSymbol("c", M, 1)
s = sympy.Symbol("s", real=True)
OUT = MatrixSymbol("Z", M, N)


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def weighted(node: Any, values: dict[Any, np.ndarray], wrt: list[Any], seed: int = 0) -> Program:
    """``Z := node``, ``L := Σ Y ⊙ Z`` with a fixed random Y of Z's shape."""
    z = MatrixSymbol("Z", *node.shape)
    y = MatrixSymbol("Y", *node.shape)
    vals = {**values, y: _rng(seed + 99).normal(size=tuple(int(d) for d in node.shape))}
    return Program([(z, node), (L, ReduceAll(hadamard(y, z), "sum"))], vals, wrt)


def _values(positive: bool = False, seed: int = 0) -> dict[Any, np.ndarray]:
    g = _rng(seed)
    if positive:
        return {
            X: g.uniform(0.5, 2.0, (M, N)),
            W: g.uniform(0.5, 2.0, (M, N)),
            r: g.uniform(0.5, 2.0, (1, N)),
            c: g.uniform(0.5, 2.0, (M, 1)),
        }
    # entries kept off 0 (the kinks of abs, relu and the indicator)
    sign = g.choice([-1.0, 1.0], size=(M, N))
    return {X: sign * g.uniform(0.2, 1.5, (M, N)), W: g.normal(size=(M, N))}


def _square(seed: int = 0) -> dict[Any, np.ndarray]:
    g = _rng(seed)
    return {Q: 3 * np.eye(M) + 0.3 * g.normal(size=(M, M))}  # det > 0, well conditioned


def _matrix_cases() -> dict[str, Callable[[], Program]]:
    cases: dict[str, Callable[[], Program]] = {}
    for op in ("sum", "mean", "max"):
        for axis in (0, 1):
            cases[f"reduce-{op}-axis{axis}"] = lambda op=op, axis=axis: weighted(
                Reduce(X, op, axis), _values(), [X]
            )
    cases["broadcast-row"] = lambda: weighted(Broadcast(r, M, N), _values(True), [r])
    cases["broadcast-column"] = lambda: weighted(Broadcast(c, M, N), _values(True), [c])
    cases["divide"] = lambda: weighted(divide(X, W), _values(True), [X, W])
    cases["divide-by-row"] = lambda: weighted(divide(X, r), _values(True), [X, r])
    cases["divide-row-by-matrix"] = lambda: weighted(divide(r, X), _values(True), [X, r])
    cases["power-3"] = lambda: weighted(power(X, 3), _values(), [X])
    cases["power-minus-2"] = lambda: weighted(power(X, -2), _values(True), [X])
    cases["power-half"] = lambda: weighted(power(X, sympy.Rational(1, 2)), _values(True), [X])
    for name in ("sqrt", "log"):
        cases[f"elementwise-{name}"] = lambda name=name: weighted(
            elementwise(name, X), _values(True), [X]
        )
    for name in ("exp", "abs", "relu", "maximum0", "tanh", "sigmoid"):
        cases[f"elementwise-{name}"] = lambda name=name: weighted(
            elementwise(name, X), _values(), [X]
        )
    cases["where"] = lambda: weighted(
        where(Indicator(X, ">", 0), hadamard(X, W), scale2(X)), _values(), [X, W]
    )
    cases["where-matrices"] = lambda: weighted(
        where(Indicator(X, "<=", W), X, W), _values(), [X, W]
    )
    for axis in (0, 1):
        cases[f"softmax-axis{axis}"] = lambda axis=axis: weighted(Softmax(X, axis), _values(), [X])
        cases[f"log-softmax-axis{axis}"] = lambda axis=axis: weighted(
            LogSoftmax(X, axis), _values(), [X]
        )
    cases["inverse"] = lambda: weighted(inverse(Q), _square(), [Q])
    # slices and concatenation (issue 15's LSTM gates): a block of columns or rows, the
    # blocks joined again, and gates cut from one matrix and joined (padded cotangents
    # added back into one concatenation)
    cases["slice-columns"] = lambda: weighted(Slice(X, 1, 3, 1), _values(), [X])
    cases["slice-rows"] = lambda: weighted(Slice(X, 1, 3, 0), _values(), [X])
    cases["concat-columns"] = lambda: weighted(Concat(1, X, W), _values(), [X, W])
    cases["concat-rows"] = lambda: weighted(Concat(0, X, r, W), _values(True), [X, r, W])
    cases["gates"] = lambda: weighted(
        Concat(
            1,
            elementwise("sigmoid", Slice(X, 0, 1, 1)),
            hadamard(Slice(X, 1, 3, 1), Slice(W, 2, 4, 1)),
            elementwise("tanh", Slice(X, 3, 4, 1)),
        ),
        _values(),
        [X, W],
    )
    return cases


def scale2(e: Any) -> Any:
    return 2 * e


def _scalar_cases() -> dict[str, Callable[[], Program]]:
    def scalar(rhs: Any, values: dict[Any, np.ndarray], wrt: list[Any]) -> Program:
        return Program([(L, rhs)], values, wrt)

    y = Labels("y", M, N)
    yc = Labels("yc", M, N)  # column convention: one label per column of an N×M matrix
    labels = {y: np.array([2, 0, 3]), yc: np.array([1, 3, 3])}
    cases: dict[str, Callable[[], Program]] = {}
    for op in ("sum", "mean", "max"):
        cases[f"reduce-all-{op}"] = lambda op=op: Program(
            [(L, ReduceAll(hadamard(W, X), op))], _values(), [X, W]
        )
    cases["norm"] = lambda: scalar(Norm(X - W), _values(), [X, W])
    cases["norm-named"] = lambda: Program(
        [(s, Norm(X)), (L, s**2 + 3 * s)], _values(), [X]
    )  # a scalar intermediate, and the norm rule's use of ans
    cases["trace"] = lambda: scalar(trace(Q * Q.T), _square(), [Q])
    cases["logdet"] = lambda: scalar(LogDet(Q), _square(), [Q])
    cases["det"] = lambda: scalar(Determinant(Q), _square(), [Q])
    cases["det-named"] = lambda: Program([(s, Determinant(Q)), (L, sympy.log(s))], _square(), [Q])
    cases["broadcast-scalar"] = lambda: Program(
        [(s, ReduceAll(X, "mean")), (OUT, hadamard(W, Broadcast(s, M, N))), (L, Norm(OUT) ** 2)],
        _values(),
        [X, W],
    )
    cases["pick-rows"] = lambda: Program(
        [(L, ReduceAll(Pick(LogSoftmax(X, 1), y), "mean"))], _values(), [X], labels
    )
    xt = MatrixSymbol("P", N, M)
    cases["pick-columns"] = lambda: Program(
        [(L, -ReduceAll(Pick(xt, yc, axis=0), "sum"))],
        {xt: _rng(3).normal(size=(N, M))},
        [xt],
        labels,
    )
    cases["scalar-expression"] = lambda: Program(
        [
            (
                L,
                sympy.log(ReduceAll(power(X, 2), "sum"))
                + Norm(W) * ReduceAll(X, "mean")
                + sympy.sqrt(1 + ReduceAll(hadamard(X, W)) ** 2),
            )
        ],
        _values(),
        [X, W],
    )
    return cases


MATRIX = _matrix_cases()
SCALAR = _scalar_cases()


@pytest.mark.parametrize("case", sorted(MATRIX))
def test_matrix_primitive_three_way(case: str) -> None:
    assert_three_way(MATRIX[case]())


@pytest.mark.parametrize("case", sorted(SCALAR))
def test_scalar_primitive_three_way(case: str) -> None:
    assert_three_way(SCALAR[case]())


ALL = {
    **{f"matrix-{k}": v for k, v in MATRIX.items()},
    **{f"scalar-{k}": v for k, v in SCALAR.items()},
}


@pytest.mark.parametrize(
    "backend",
    [pytest.param("jax", marks=pytest.mark.jax), pytest.param("torch", marks=pytest.mark.torch)],
)
@pytest.mark.parametrize("case", sorted(ALL))
def test_printed_code_of_every_backend_computes_the_closed_form(case: str, backend: str) -> None:
    """The JAX and PyTorch printing of each node and its gradient equals (a) in float64."""
    prog = ALL[case]()
    want = truth_a(prog)
    mod = exported(prog, backend)
    args = _arguments(prog, backend)
    got = mod.grads(**args)
    loss = float(mod.loss(**args))
    np.testing.assert_allclose(loss, float(numpy_env(prog)[L]), rtol=1e-12)
    for x in prog.wrt:
        value = np.asarray(got[code_name(x.name)], dtype=float)
        np.testing.assert_allclose(_full(value, x.shape), want[x], rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------- random programs


def _compose(ops: list[str], rows: int, cols: int, final: str, seed: int) -> Program:
    """A chain of equations Z1 := op1(X), Z2 := op2(Z1), … then a scalar loss; W is a
    second parameter some ops use. Every op keeps the rows×cols shape (a reduction is
    broadcast back), so any sequence composes."""
    x, w = MatrixSymbol("X", rows, cols), MatrixSymbol("W", rows, cols)
    g = _rng(seed)
    values = {x: g.normal(size=(rows, cols)), w: g.uniform(0.5, 1.5, (rows, cols))}
    cur: Any = x
    equations: list[tuple[Any, Any]] = []
    for i, op in enumerate(ops, start=1):
        if op == "tanh":
            rhs = elementwise("tanh", cur)
        elif op == "sigmoid":
            rhs = elementwise("sigmoid", cur)
        elif op == "times-W":
            rhs = hadamard(cur, w)
        elif op == "over-W":
            rhs = divide(cur, w)
        elif op.startswith("softmax"):
            rhs = Softmax(cur, int(op[-1]))
        elif op.startswith("log-softmax"):
            rhs = LogSoftmax(cur, int(op[-1]))
        elif op.startswith("center"):  # Z − mean over an axis, broadcast back
            mean = Reduce(cur, "mean", int(op[-1]))
            rhs = add([cur, -Broadcast(mean, rows, cols)])
        elif op.startswith("normalise"):  # Z ⊘ sqrt(mean(Z²) + 1), as batch norm divides
            var = Reduce(power(cur, 2), "mean", int(op[-1]))
            ones = OneMatrix(*var.shape)
            rhs = divide(cur, elementwise("sqrt", add([var, ones])))
        elif op.startswith("max-gate"):  # W ⊙ broadcast(max over an axis)
            rhs = hadamard(w, Broadcast(Reduce(cur, "max", int(op[-1])), rows, cols))
        else:  # "soft-abs": sqrt(Z² + 1)
            rhs = elementwise("sqrt", add([power(cur, 2), OneMatrix(rows, cols)]))
        out = MatrixSymbol(f"Z{i}", rows, cols)
        equations.append((out, rhs))
        cur = out
    y = MatrixSymbol("Y", rows, cols)
    if final == "weighted-sum":
        values[y] = g.normal(size=(rows, cols))
        loss: Any = ReduceAll(hadamard(y, cur), "sum")
    elif final == "norm":
        loss = Norm(cur)
    else:  # a scalar expression of two scalar nodes
        loss = sympy.log(1 + ReduceAll(power(cur, 2), "mean")) + Trace(cur * w.T)
    equations.append((L, loss))
    return Program(equations, values, [x, w])


OPS = [
    "tanh",
    "sigmoid",
    "times-W",
    "over-W",
    "softmax0",
    "softmax1",
    "log-softmax0",
    "log-softmax1",
    "center0",
    "center1",
    "normalise0",
    "normalise1",
    "max-gate0",
    "max-gate1",
    "soft-abs",
]

programs = st.builds(
    _compose,
    st.lists(st.sampled_from(OPS), min_size=2, max_size=4),
    st.integers(2, 3),
    st.integers(2, 3),
    st.sampled_from(["weighted-sum", "norm", "scalar"]),
    st.integers(0, 2**16),
)


def _differentiable(prog: Program) -> bool:
    """False at a norm of a zero matrix, where L = ‖Z‖ has no gradient (a drawn program
    can reach it exactly: center, an even function, center again over two rows)."""
    _, loss = prog.equations[-1]
    if not isinstance(loss, Norm):
        return True
    return bool(np.linalg.norm(numpy_env(prog)[loss.arg]) > 1e-6)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs)
def test_random_programs_three_way(prog: Program) -> None:
    assume(_differentiable(prog))
    assert_three_way(prog)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs)
def test_random_programs_three_way_long(prog: Program) -> None:
    assume(_differentiable(prog))
    assert_three_way(prog)


# --------------------------------------------------------------------------- shape errors

Nn, Dd, Kk = sympy.symbols("N D K")
XS = MatrixSymbol("X", Nn, Dd)


@pytest.mark.parametrize(
    ("build", "names"),
    [
        (lambda: Reduce(XS, "sum", 2), ["axis 2", "axes 0 and 1"]),
        (lambda: Reduce(XS, "mean", -1), ["axis -1", "axes 0 and 1"]),
        (lambda: divide(XS, MatrixSymbol("k", 1, Kk)), ["N×D", "1×K", "⊘"]),
        (lambda: fit(XS, MatrixSymbol("V", Dd, Nn), "⊙"), ["N×D", "D×N"]),
        (lambda: Broadcast(MatrixSymbol("k", 1, Kk), Nn, Dd), ["1×K", "N×D"]),
        (lambda: Indicator(XS, ">", MatrixSymbol("V", Nn, Kk)), ["N×D", "N×K"]),
        (lambda: trace(XS), ["N×D", "square"]),
        (lambda: inverse(XS), ["N×D", "square"]),
        (lambda: LogDet(XS), ["N×D", "square"]),
        (lambda: Pick(XS, Labels("y", Dd)), ["N×D", "D labels"]),
        (lambda: Pick(XS, Labels("y", Nn, Kk)), ["N×D", "K classes"]),
        (lambda: where(Indicator(XS, ">", 0), MatrixSymbol("V", Dd, Nn), 0), ["D×N", "N×D"]),
    ],
)
def test_shape_errors_name_both_shapes(build: Callable[[], Any], names: list[str]) -> None:
    with pytest.raises(ShapeMismatch) as err:
        build()
    for name in names:
        assert name in str(err.value)


def test_shapes_that_fit_broadcast_like_numpy() -> None:
    row, col = MatrixSymbol("r", 1, Dd), MatrixSymbol("c", Nn, 1)
    assert divide(XS, row).shape == (Nn, Dd)
    assert divide(col, XS).shape == (Nn, Dd)
    assert Broadcast(XS, Nn, Dd) == XS  # already that shape: nothing to broadcast
    assert Reduce(XS, "max", 0).shape == (1, Dd) and Reduce(XS, "sum", 1).shape == (Nn, 1)
    assert Pick(XS, Labels("y", Nn, Dd)).shape == (Nn, 1)
    assert Pick(XS, Labels("y", Dd, Nn), axis=0).shape == (1, Dd)


# --------------------------------------------------------------------------- printing


def test_the_transpose_of_a_broadcast_is_a_sum_and_the_derivation_says_so() -> None:
    prog = MATRIX["broadcast-row"]()
    (grad,) = closed_form(prog).values()
    assert isinstance(grad, Reduce) and grad.op == "sum" and grad.axis == 0
    assert text(grad).startswith("Σ_rows(")
    assert latex(grad).startswith(r"\sum_{\text{rows}}")


def test_the_transpose_of_a_mean_is_a_broadcast_divided_by_n() -> None:
    g = MatrixSymbol("G", 1, Dd)
    ((_, grad),) = rules_vjp(Reduce(XS, "mean", 0), g)
    # the node is a broadcast of G/N back to N×D; printed as NumPy writes it (the
    # document says once that a row next to an N×D value is repeated)
    assert any(
        isinstance(n, Broadcast) and n.shape == (Nn, Dd) for n in sympy.preorder_traversal(grad)
    )
    assert text(grad) == "(1/N) G"
    assert latex(grad) == r"\frac{1}{N} G"


def rules_vjp(node: Any, g: Any) -> list[Any]:
    from derive.core.rules import vjp

    return list(vjp(node, g, None))


NODE_PRINTS = [
    (Trace(Q), "tr(Q)", r"\operatorname{tr}\left(Q\right)"),
    (LogDet(Q), "log |det(Q)|", r"\log\left|\det Q\right|"),
    (Inverse(Q), "Q⁻¹", r"Q^{-1}"),
    (Determinant(Q), "det(Q)", r"\det Q"),
    (Norm(X), "‖X‖", r"\left\lVert X \right\rVert_F"),
    (Indicator(X, ">", 0), "𝟙[X > 0]", r"\mathbb{1}\left[X > 0\right]"),
    (divide(X, W), "X ⊘ W", r"X \oslash W"),
    (divide(X, X + W), "X ⊘ (W + X)", r"X \oslash \left(W + X\right)"),
    (ReduceAll(X, "mean"), "mean(X)", r"\operatorname{mean} X"),
    (LogSoftmax(X, 1), "log softmax(X)", r"\log \operatorname{softmax}\left(X\right)"),
]


@pytest.mark.parametrize(("node", "txt", "tex"), NODE_PRINTS)
def test_text_and_latex_of_the_nodes(node: Any, txt: str, tex: str) -> None:
    assert text(node) == txt
    assert latex(node) == tex


def test_a_scalar_node_in_a_denominator_prints_as_a_fraction() -> None:
    """The norm rule's g X/‖X‖: SymPy's LaTeX printer sent ‖X‖⁻¹ through our Mul printer,
    which read the exponent −1 as a sign (``-g ‖X‖ X``)."""
    ((_, grad),) = rules_vjp(Norm(X), sympy.Symbol("g"))
    assert latex(grad) == r"\frac{g}{\left\lVert X \right\rVert_F} X"
    assert text(grad) == "(g/‖X‖) X"


@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex not installed (apt-get install texlive)")
def test_the_latex_of_every_new_node_and_rule_compiles(tmp_path: Any) -> None:
    """Every node and every gradient of the three-way programs, in the document's preamble."""
    exprs = [node for node, _, _ in NODE_PRINTS]
    for case in sorted(ALL):
        prog = ALL[case]()
        exprs += [rhs for _, rhs in prog.equations] + list(closed_form(prog).values())
    body = "\n".join(rf"\[ {latex(e)} \]" for e in exprs)
    tex = (
        "\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n\\begin{document}\n"
        f"{body}\n\\end{{document}}\n"
    )
    code, log = compile_tex(tex, tmp_path)
    assert code == 0, log[-2000:]
