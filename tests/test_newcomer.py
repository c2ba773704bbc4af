"""The paths a newcomer takes first: fresh install, readable output, clear errors.

Each test here is a regression test for something a new user met: a traceback, a
misleading line of output, a name the API did not accept.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
from conftest import compile_tex

from derive import derive
from derive.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
SPECS = Path(__file__).parent / "specs"
PDFLATEX = shutil.which("pdflatex")


# --------------------------------------------------------------------------- fresh install


def test_the_suite_collects_without_torch_and_jax(tmp_path: Path) -> None:
    """Collection (doctests of derive/ included) must not need an optional backend, and the
    CNN tests that need no torch must still be collected to run."""
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\nfor name in ('torch', 'jax', 'jaxlib'):\n    sys.modules[name] = None\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-p", "no:xdist", "-m", ""]
        + ["derive", "tests/test_cnn.py", "tests/test_export.py", "tests/test_torch_oracle.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "error" not in run.stdout.lower().split("\n")[-2]
    collected = [ln for ln in run.stdout.splitlines() if "::" in ln]
    assert any("test_cnn.py::test_finite_differences" in ln for ln in collected)


def _runtime_imports() -> set[str]:
    """Top-level third-party modules that derive's modules import (optional backends out)."""
    optional = {"convops_jax.py", "convops_torch.py"}
    found: set[str] = set()
    for path in (ROOT / "derive").rglob("*.py"):
        if path.name in optional:
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m != "derive"}


def test_every_runtime_import_is_a_declared_dependency() -> None:
    """GELU needs SciPy's erf: a plain `pip install -e .` must bring it (and everything else
    derive imports outside the optional backends)."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    declared = {re.split(r"[<>=;\[ ]", d)[0].lower() for d in meta["project"]["dependencies"]}
    names = {"latexify": "latexify-py", "tomli": "tomli"}
    missing = {
        m for m in _runtime_imports() - {"torch", "jax"} if names.get(m, m).lower() not in declared
    }
    assert not missing, f"imported but not in [project].dependencies: {sorted(missing)}"


def test_gelu_verifies_and_checks(capsys: pytest.CaptureFixture[str]) -> None:
    spec = str(SPECS / "gelu.toml")
    assert main(["verify", spec]) == 0
    assert (
        main(["check", spec, r"\delta_1 = (W_2^T \delta_2) \odot \operatorname{gelu}'(Z_1)"]) == 0
    )
    assert "CORRECT" in capsys.readouterr().out


# --------------------------------------------------------------------------- no traceback


def test_latex_of_a_cnn_with_weight_decay(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["latex", str(SPECS / "cnn_decay.toml"), "--format", "fragment"]) == 0
    out = capsys.readouterr().out
    assert (
        r"\frac{\partial L}{\partial k^{(l)}_{o,c,u,v}} &= \frac{1}{m} \sum_{n,i,j} "
        r"\delta^{(l)}_{n,o,i,j}\, a^{(l-1)}_{n,c,i+u,j+v} + \frac{1}{10 m} k^{(l)}_{o,c,u,v}"
    ) in out


@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex not installed (apt-get install texlive)")
@pytest.mark.parametrize("spec", ["cnn_decay.toml", "conv_padding.toml"])
def test_more_cnn_documents_compile(spec: str, tmp_path: Path) -> None:
    code, log = compile_tex(derive(SPECS / spec).to_latex(with_code=True), tmp_path)
    assert code == 0, log[-2000:]


# --------------------------------------------------------------------------- what the user reads


def test_weight_decay_is_bracketed_in_text(capsys: pytest.CaptureFixture[str]) -> None:
    main(["show", str(SPECS / "decay.toml")])
    out = capsys.readouterr().out
    assert "L = ‖A₂ − Y‖² + (λ/(2m)) (‖W₁‖² + ‖W₂‖²)" in out
    src = derive(SPECS / "decay.toml").to_source()
    assert "# L = ‖A₂ − Y‖² + (λ/(2m)) (‖W₁‖² + ‖W₂‖²)" in src


def test_a_shared_factor_is_taken_out(capsys: pytest.CaptureFixture[str]) -> None:
    main(["show", str(SPECS / "decay.toml")])
    assert "δ₂ = 2 (A₂ − Y)" in capsys.readouterr().out
    tex = derive(SPECS / "decay.toml").to_latex("fragment")
    assert r"\delta_{2} &= \frac{\partial C}{\partial Z_{2}}" in tex
    assert r"2 \left(A_{2} - Y\right)" in tex and "2 A_{2} - 2 Y" not in tex


def test_symbolic_cnn_sizes_read_as_maths(capsys: pytest.CaptureFixture[str]) -> None:
    main(["show", str(SPECS / "cnn_symbolic.toml")])
    out = capsys.readouterr().out
    assert "A₃ (c₁ (h/2 − 1)²)×m" in out and "W₄: 3×(c₁ (h/2 − 1)²)" in out
    sizes = [ln for ln in out.splitlines() if ln.startswith(("sizes:", "  W₄:"))]
    assert sizes and not any("*" in ln for ln in sizes), sizes


def test_symbolic_padding_is_not_written_p_equals_p(capsys: pytest.CaptureFixture[str]) -> None:
    main(["show", str(SPECS / "conv_padding.toml")])
    out = capsys.readouterr().out
    assert "_full[p]" in out and "p=p" not in out
    tex = derive(SPECS / "conv_padding.toml").to_latex("fragment")
    assert "p = p" not in tex and "p=p" not in tex


def test_generic_gradients_of_dense_and_conv_layers_are_labelled(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["show", str(SPECS / "conv_padding.toml")])
    out = capsys.readouterr().out
    assert "∂L/∂bₗ = (1/m) δₗ 1ₘ    (dense layer l)" in out
    assert "∂L/∂bₗ = (1/m) Σₙᵢⱼ δₗ    (conv layer l)" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"derive {version('derive')}"


def test_every_option_has_help() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    missing = [
        f"{name} {'/'.join(action.option_strings) or action.dest}"
        for name, command in sub.choices.items()
        for action in command._actions
        if not action.help
    ]
    assert not missing, missing


def test_a_misspelt_example_gets_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "nielson"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean 'nielsen'?" in err


def test_gradients_by_exported_names_and_clear_key_errors() -> None:
    d = derive("nielsen")
    assert d.grad("W1") is d.grad("W_1") is d.grad("dW1")
    assert d.grad("db2") is d.grad("b_2")
    with pytest.raises(KeyError) as err:
        d.grad("W9")
    assert str(err.value) == (
        "no parameter 'W9': the parameters are W_1, b_1, W_2, b_2 (also written W1, b1, W2, b2)"
    )
    with pytest.raises(KeyError, match="this network has layers 1 to 2"):
        d.delta(3)


def test_steps_and_expressions_print_readably() -> None:
    d = derive("nielsen")
    assert str(d.delta(1)) == "δ₁ = (W₂ᵀ δ₂) ⊙ σ'(Z₁)"
    assert repr(d.delta(1)) == "<delta: δ₁ = (W₂ᵀ δ₂) ⊙ σ'(Z₁)>"
    assert d.delta(1).text == "(W₂ᵀ δ₂) ⊙ σ'(Z₁)"
    assert "sigmoid'(Z_1)" in str(d.delta(1).rhs) and "Lambda" not in str(d.delta(1).rhs)


def test_jupyter_latex_is_aligned_on_the_equals_sign() -> None:
    d = derive("nielsen")
    body = d._repr_latex_()
    lines = body.removeprefix(r"$$\begin{aligned}").removesuffix(r"\end{aligned}$$")
    rows = lines.split(r" \\ ")
    assert len(rows) == len(d.steps)
    assert all(row.count("&=") + row.count(r"&\gets") == 1 for row in rows), rows


def test_unnamed_custom_activations_get_their_own_letters() -> None:
    """Two different formulas with no symbol: f and g (a chosen symbol is kept)."""
    from derive import Activation, dense

    net = dense(
        [2, 3, 3, 3, 1],
        [
            Activation("custom", expr="x^3/3 + x"),
            Activation("custom", expr="sqrt(1 + x^2)"),
            Activation("custom", expr="x / (1 + abs(x))", symbol="g"),
            "identity",
        ],
        "squared_error",
    )
    d = derive(net)
    assert [str(d.delta(k)).split("⊙ ")[1] for k in (1, 2, 3)] == ["f'(Z₁)", "h'(Z₂)", "g'(Z₃)"]
