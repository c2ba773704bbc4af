"""Forward programs (issue 14): the staged derivation, its closed forms, the three-way
truth on every built-in program, expression mode, the CLI and its bad-input errors."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from derive.cli import main
from derive.core.program import random_point
from derive.oracles.program_verify import closed_form, finite_differences, verify_program
from derive.programs import derive_expression, derive_program
from derive.render.text import text
from derive.spec.program import loads_program
from derive.spec.program_records import PROGRAM_EXAMPLES


@pytest.mark.parametrize("name", PROGRAM_EXAMPLES)
def test_every_example_agrees_three_ways(name: str) -> None:
    # closed form vs exported code vs central differences vs SymPy on every entry
    report = verify_program(derive_program(name), sizes={}, seed=1)
    assert report.passed, str(report)
    methods = {r.method for r in report.rows}
    assert methods == {"exported code", "finite differences", "SymPy on every entry"}


def test_batchnorm_names_every_stage_as_courses_do() -> None:
    d = derive_program("batchnorm")
    assert [st.lhs.name for st in d.cotangents] == ["dXhat", "dvar", "dXc", "dmu"]
    assert list(d.gradients) == ["X", "gamma", "beta"]
    # dXc has one term through each of its two uses (var and Xhat)
    through = [eq.out.name for eq, _ in d.terms[d.cotangent("Xc").lhs]]
    assert sorted(through) == ["Xhat", "var"]
    # the transpose of the broadcast of mu is a sum: dmu = -Σ_rows(dXc)
    assert text(d.cotangent("mu").rhs) == "-Σ_rows(dXc)"


def test_batchnorm_compact_form_is_the_textbook_one() -> None:
    d = derive_program("batchnorm")
    closed = d.compact["X"]
    assert closed is not None
    # the golden string is the product: (1/N) γ/σ (N dout − Σ dout − X̂ Σ dout⊙X̂)
    assert text(closed.rhs) == (
        "(1/N) (γ ⊙ sqrt(ε + var)∘⁻¹ ⊙ (-Σ_rows(dout) + N dout − (Σ_rows(Xhat ⊙ dout) ⊙ Xhat)))"
    )


def _batchnorm_backward_alt(x, gamma, dout, eps):
    """CS231n's compact batch-norm backward, written out independently here."""
    n = x.shape[0]
    mu = x.mean(axis=0, keepdims=True)
    std = np.sqrt(((x - mu) ** 2).mean(axis=0, keepdims=True) + eps)
    xhat = (x - mu) / std
    dbeta = dout.sum(axis=0, keepdims=True)
    dgamma = (dout * xhat).sum(axis=0, keepdims=True)
    dx = gamma / (n * std) * (n * dout - dbeta - xhat * dgamma)
    return dx, dgamma, dbeta


def test_batchnorm_export_matches_a_hand_written_backward() -> None:
    fn = derive_program("batchnorm").to_function()
    rng = np.random.default_rng(3)
    x = rng.standard_normal((7, 5))
    gamma, beta = rng.standard_normal((1, 5)), rng.standard_normal((1, 5))
    dout = rng.standard_normal((7, 5))
    got = fn(x, gamma, beta, dout, **dict.fromkeys(fn.module.HYPERPARAMETERS, 1e-3))
    want = _batchnorm_backward_alt(x, gamma, dout, 1e-3)
    for name, value in zip(("X", "gamma", "beta"), want, strict=True):
        np.testing.assert_allclose(got[name], value, rtol=1e-10, atol=1e-12)


def test_the_compact_form_evaluates_like_the_stages() -> None:
    from derive.core import numeric

    d = derive_program("layernorm")
    env = random_point(
        d.graph, {s: 4 + i for i, s in enumerate(d.graph.sizes.values())}, np.random.default_rng(0)
    )
    values = dict(env)
    for eq in d.graph.equations:
        values[eq.out] = numeric.evaluate(eq.rhs, values)
    staged = closed_form(d, env)["X"]
    compact = numeric.evaluate(d.compact["X"].rhs, values)
    np.testing.assert_allclose(compact, staged, rtol=1e-10)


def test_expression_mode_ridge() -> None:
    d = derive_expression(
        "norm(X @ w - y)^2 + lambda * norm(w)^2",
        ["w"],
        {"X": ("m", "n"), "w": ("n", 1), "y": ("m", 1)},
    )
    assert [st.lhs.name for st in d.cotangents] == ["du1"]  # the residual, named
    rng = np.random.default_rng(0)
    x, w, y = rng.standard_normal((6, 3)), rng.standard_normal((3, 1)), rng.standard_normal((6, 1))
    fn = d.to_function()
    lam = 0.7
    got = fn(x, y, w, **{fn.module.HYPERPARAMETERS[0]: lam})["w"]
    np.testing.assert_allclose(got, 2 * x.T @ (x @ w - y) + 2 * lam * w, rtol=1e-12)


def test_expression_mode_log_det_and_trace() -> None:
    d = derive_expression("logdet(S) - trace(S @ A)", ["S"], {"S": ("n", "n"), "A": ("n", "n")})
    assert text(d.compact["S"].rhs) == "S⁻ᵀ − Aᵀ"
    assert verify_program(d, seed=2).passed


# ----------------------------------------------------------------------------- the CLI


def test_cli_runs_every_command_on_a_program(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    assert main(["show", "batchnorm"]) == 0
    assert "dXhat = dout ⊙ γ" in capsys.readouterr().out
    assert main(["verify", "layernorm"]) == 0
    assert "PASS" in capsys.readouterr().out
    out = tmp_path / "bn.py"
    assert main(["export", "batchnorm", "-o", str(out)]) == 0
    assert "def gradients(X, gamma, beta, dout, *, epsilon)" in out.read_text()
    assert main(["export", "batchnorm", "-o", str(out)]) == 2  # never overwritten
    assert "exists" in capsys.readouterr().err
    assert (
        main(
            [
                "expr",
                "norm(X @ w - y)^2",
                "--wrt",
                "w",
                "--shape",
                "X=m,n",
                "--shape",
                "w=n,1",
                "--shape",
                "y=m,1",
            ]
        )
        == 0
    )
    assert "dw = Xᵀ du1" in capsys.readouterr().out
    assert (
        main(
            [
                "verify",
                "--expr",
                "sum(exp(X @ w))",
                "--wrt",
                "w",
                "--shape",
                "X=4,3",
                "--shape",
                "w=3,1",
            ]
        )
        == 0
    )


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
@pytest.mark.parametrize("name", PROGRAM_EXAMPLES)
def test_latex_compiles(name: str, tmp_path) -> None:
    tex = tmp_path / f"{name}.tex"
    tex.write_text(derive_program(name).to_latex())
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-2000:]


BAD = [
    ("Xc = X - mu", "unknown name 'mu'"),
    ("mu = mean(X, axis=0)\nmu = X", "assigned twice"),
    ("mu = mean(X, axis=2)", "axis 2"),
    ("mu = X @ gamma", "do not fit"),
    ("mu = X + W", "do not fit"),
]


@pytest.mark.parametrize(("equations", "words"), BAD)
def test_bad_programs_are_one_line_with_file_and_line(
    equations: str, words: str, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "bad.toml"
    spec.write_text(
        'name = "bad"\n[inputs]\nX = ["N", "D"]\n[parameters]\ngamma = [1, "D"]\n'
        'W = ["D", "D2"]\n[forward]\nequations = """\n' + equations + '\n"""\n'
        '[backward]\nupstream = "dout"\n'
    )
    assert main(["show", str(spec)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("derive: error: ")
    assert words in err
    assert f"{spec}:" in err  # the file and its line


def test_a_shape_error_names_both_shapes(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "bad.toml"
    spec.write_text(
        'name = "bad"\n[inputs]\nX = ["N", "D"]\nY = ["N", "K"]\n[forward]\n'
        'equations = """\nZ = X * Y\n"""\n[loss]\nexpression = "sum(Z)"\n'
    )
    assert main(["show", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "N×D" in err and "N×K" in err and ":7" in err


def test_a_non_scalar_loss_is_refused(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "bad.toml"
    spec.write_text(
        'name = "bad"\n[inputs]\nX = ["N", "D"]\n[parameters]\nw = ["D", 1]\n'
        '[forward]\nequations = """\nz = X @ w\n"""\n[loss]\nexpression = "z"\n'
    )
    assert main(["show", str(spec)]) == 2
    assert "scalar" in capsys.readouterr().err


def test_expression_mode_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["expr", "norm(X @ w", "--wrt", "w", "--shape", "X=2,3", "--shape", "w=3,1"]) == 2
    assert main(["expr", "norm(X @ w)", "--wrt", "w", "--shape", "X=2,3", "--shape", "w=2,1"]) == 2
    err = capsys.readouterr().err
    assert "2×3" in err and "2×1" in err


# ----------------------------------------------------------------------------- random programs

UNARY = [
    "tanh({x})",
    "exp({x})",
    "sigmoid({x})",
    "{x} ** 2",
    "{x} / (1 + {x} ** 2)",
    "{x} - mean({x}, axis=0)",
    "{x} - mean({x}, axis=1)",
    "{x} * gamma",
    "{x} + beta",
    "{x} / sqrt(mean({x} ** 2, axis=0) + 1)",
    "softmax({x}, axis=1)",
    "log_softmax({x}, axis=0)",
    "where({x} > 0, {x}, 0.1 * {x})",
    "abs({x}) + {x}",
]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(UNARY), min_size=1, max_size=4), st.integers(0, 10**6))
def test_random_programs_agree_with_finite_differences(ops: list[str], seed: int) -> None:
    lines = ["H0 = X @ W"]
    for i, op in enumerate(ops, start=1):
        lines.append(f"H{i} = " + op.format(x=f"H{i - 1}"))
    spec = (
        'name = "random"\n[inputs]\nX = [4, 3]\n[parameters]\nW = [3, 5]\n'
        'gamma = [1, 5]\nbeta = [1, 5]\n[forward]\nequations = """\n'
        + "\n".join(lines)
        + f'\n"""\n[loss]\nexpression = "sum(H{len(ops)} * H{len(ops)}) / 2"\n'
    )
    d = derive_program(loads_program(spec, "<random>"))
    env = random_point(d.graph, {}, np.random.default_rng(seed))
    closed = closed_form(d, env)
    # exp(exp(exp(X W))) overflows, and central differences of a loss near 1e11 lose every
    # digit: such draws measure float64, not the derivation
    assume(all(np.all(np.isfinite(v)) and np.max(np.abs(v)) < 1e4 for v in closed.values()))
    fd = finite_differences(d, env)
    for name, value in closed.items():
        np.testing.assert_allclose(value, fd[name], rtol=1e-5, atol=1e-6)


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(UNARY), min_size=1, max_size=5), st.integers(0, 10**6))
def test_random_programs_three_ways_exhaustive(ops: list[str], seed: int) -> None:
    lines = ["H0 = X @ W"]
    for i, op in enumerate(ops, start=1):
        lines.append(f"H{i} = " + op.format(x=f"H{i - 1}"))
    spec = (
        'name = "random"\n[inputs]\nX = [3, 2]\n[parameters]\nW = [2, 3]\n'
        'gamma = [1, 3]\nbeta = [1, 3]\n[forward]\nequations = """\n'
        + "\n".join(lines)
        + f'\n"""\n[loss]\nexpression = "sum(H{len(ops)} * H{len(ops)}) / 2"\n'
    )
    report = verify_program(derive_program(loads_program(spec, "<random>")), seed=seed)
    assert report.passed, str(report)


# ----------------------------------------------------------------------------- torch oracle


@pytest.mark.torch
@pytest.mark.parametrize("name", ["batchnorm", "layernorm"])
def test_torch_autograd_agrees(name: str) -> None:
    torch = pytest.importorskip(
        "torch", reason="torch is not installed (pip install torch==2.13.0)"
    )
    fn = derive_program(name).to_function()
    rng = np.random.default_rng(5)
    n, dim = 6, 4
    x = rng.standard_normal((n, dim))
    gamma, beta = rng.standard_normal((1, dim)), rng.standard_normal((1, dim))
    dout = rng.standard_normal((n, dim))
    eps = 1e-5
    got = fn(x, gamma, beta, dout, **dict.fromkeys(fn.module.HYPERPARAMETERS, eps))
    tx = torch.tensor(x, requires_grad=True)
    tg = torch.tensor(gamma[0], requires_grad=True)
    tb = torch.tensor(beta[0], requires_grad=True)
    if name == "batchnorm":
        out = torch.nn.functional.batch_norm(tx, None, None, tg, tb, training=True, eps=eps)
    else:
        out = torch.nn.functional.layer_norm(tx, (dim,), tg, tb, eps=eps)
    out.backward(torch.tensor(dout))
    np.testing.assert_allclose(got["X"], tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got["gamma"][0], tg.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got["beta"][0], tb.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_a_scalar_value_used_as_a_coefficient_gets_its_cotangent() -> None:
    """``s = sum(x); y = s * x``: y depends on x directly and through s (the matrix
    product's rule dropped the coefficient's own cotangent, and verify failed)."""
    from derive.programs import derive_program
    from derive.spec.program import loads_program

    spec = loads_program(
        'name = "scalar_use"\nconvention = "row"\n[inputs]\nx = ["N", "D"]\n'
        '[forward]\nequations = """\ns = sum(x)\ny = s * x\n"""\n[backward]\nupstream = "dy"\n'
    )
    d = derive_program(spec)
    assert [st.lhs.name for st in d.cotangents] == ["ds"]
    report = d.verify()
    assert report.passed, str(report)


def test_a_closed_form_holds_where_a_value_is_zero() -> None:
    """Dropout's c = a ⊙ mask gave the closed form da = b ⊙ dout ⊘ a (solving for mask
    divides by a), wrong wherever a = 0; every closed form must equal the staged gradient at
    a point whose input and mask have zeros (made up: the program of SE 207481's dropout)."""
    d = derive_program(
        loads_program(
            'name = "dropout_zero"\nconvention = "row"\n[inputs]\na = ["n", "d"]\n'
            'mask = ["n", "d"]\n[hyperparameters]\np = "p"\n[forward]\nequations = """\n'
            'c = a * mask\nb = c / (1 - p)\n"""\n[backward]\nupstream = "dout"\n'
        )
    )
    from derive.core import numeric

    sizes = {s: 4 + i for i, s in enumerate(d.graph.sizes.values())}
    env = random_point(d.graph, sizes, np.random.default_rng(0))
    for sym in env:
        if getattr(sym, "name", "") in ("a", "mask"):
            value = np.array(env[sym], dtype=float)
            value.flat[::2] = 0.0  # zeros where the forward multiplies by them
            env[sym] = value
    staged = closed_form(d, env)
    values = dict(env)
    for eq in d.graph.equations:
        values[eq.out] = numeric.evaluate(eq.rhs, values)
    found = {name: step for name, step in d.compact.items() if step is not None}
    assert found, "no closed form to check"
    for name, step in found.items():
        closed = np.asarray(numeric.evaluate(step.rhs, values), dtype=float)
        np.testing.assert_allclose(closed, staged[name], rtol=1e-9, atol=1e-12, err_msg=name)
