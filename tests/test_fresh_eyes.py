"""Regressions found by a fresh-eyes review of the printed outputs and of the command line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sympy
from sympy import HadamardPower, MatrixSymbol

from derive import Loss, dense, derive
from derive.cli import main
from derive.render.latex import document, latex
from derive.render.text import TextPrinter, text
from derive.spec.notation import Notation

STEP = r"\s*&= \\frac\{\\partial [CL]\}\{\\partial A_\{[^}]*\}\} \\odot (.*) \\\\"


def _chain_steps(tex: str) -> list[tuple[str, str]]:
    """Each hand-written chain-rule step ``&= ∂C/∂A ⊙ F`` with the line that follows it."""
    lines = tex.splitlines()
    out = []
    for i, line in enumerate(lines[:-1]):
        m = re.fullmatch(
            r"\s*&= \\frac\{\\partial [CL]\}\{\\partial A_\{[^}]*\}\} \\odot (.*) \\\\", line
        )
        if m:
            out.append((m.group(1), lines[i + 1]))
    return out


@pytest.mark.parametrize("name", ["nielsen", "ng"])
@pytest.mark.parametrize("output_form", [False, True])
def test_chain_rule_step_brackets_the_derivative_like_the_result(
    name: str, output_form: bool
) -> None:
    """``∂C/∂A ⊙ 1 − A^∘2`` read as ``(∂C/∂A ⊙ 1) − A^∘2``: the step must bracket f' as the
    next line (the printed Hadamard product) does."""
    tex = document(derive(name), "fragment", Notation(output_form=output_form))
    steps = _chain_steps(tex)
    assert steps, "no chain-rule step found"
    for fprime, result in steps:
        assert result.rstrip(" \\").endswith(r"\odot " + fprime), (fprime, result)


def test_hadamard_power_reads_as_maths() -> None:
    a = MatrixSymbol("A_1", 3, 3)
    assert TextPrinter().doprint(HadamardPower(a, 2)) == "A₁∘²"
    assert "^∘(" not in derive("ng").text() + _show_output_form("ng")


def _show_output_form(name: str) -> str:
    from derive.render.text import render

    return render(derive(name), through_output=True)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``main`` in process; argparse's own exit is a return code like any other."""
    try:
        rc = main(argv)
    except SystemExit as done:
        rc = int(done.code or 0)
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize(
    "argv",
    [
        ["verify", "nielsen", "--seed", "-1"],
        ["verify", "nielsen", "--seed", "abc"],
        ["latex", "nielsen", "--format", "foo"],
        ["export", "nielsen", "--backend", "fortran"],
        ["show"],
        [],
    ],
)
def test_a_wrong_option_is_one_error_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """argparse printed a usage block, and a negative --seed reached NumPy (traceback)."""
    rc, out, err = _run(argv, capsys)
    assert rc == 2 and out == ""
    assert err.startswith("derive: error: ") and err.count("\n") == 1, err
    assert "--help" in err


def test_json_errors_are_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = _run(["check", "nielsn", r"\delta_1 = 0", "--json"], capsys)
    record = json.loads(out)
    assert rc == 2 and err == ""
    assert record["verdict"] == "error" and "did you mean 'nielsen'" in record["error"]
    spec = tmp_path / "net.toml"
    spec.write_text('[[layers]]\nwidth = 2\nactivation = "swishy"\n', "utf-8")
    rc, out, _ = _run(["verify", str(spec), "--json"], capsys)
    record = json.loads(out)
    assert rc == 2 and record["line"] == 3 and record["key"] == "layers[1].activation"


def test_activation_name_errors_name_the_users_spelling(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, _, err = _run(["latex", "nielsen", "--activation-name", r"sigmoid=\input{x}"], capsys)
    assert rc == 2 and err.startswith(r"derive: error: --activation-name sigmoid: '\input{x}'")
    rc, _, err = _run(
        ["latex", "nielsen", "--activation-name", "sigmoid=g", "--activation-name", "sigmoid=h"],
        capsys,
    )
    assert rc == 2 and "given twice" in err
    spec = tmp_path / "net.toml"
    spec.write_text(
        '[notation]\nactivation-name = { sigmoid = "\\\\write" }\n[[layers]]\nwidth = 2\n', "utf-8"
    )
    rc, _, err = _run(["latex", str(spec)], capsys)
    assert rc == 2 and "notation.activation-name.sigmoid: '\\write'" in err


def test_symbolic_sizes_read_as_maths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``(-q + w + 1)``, ``(h/2 + (-q)/2 + 1/2)`` and ``h - 2`` (a hyphen among − signs)."""
    spec = tmp_path / "net.toml"
    spec.write_text(
        'input = ["c", "h", "w"]\n[[layers]]\ntype = "conv2d"\nchannels = "k"\nkernel = "q"\n'
        '[[layers]]\ntype = "maxpool2d"\n[[layers]]\ntype = "flatten"\n'
        "[[layers]]\nwidth = 2\n",
        "utf-8",
    )
    assert main(["show", str(spec)]) == 0
    sizes = capsys.readouterr().out.splitlines()[1]
    assert "A₁ m×k×(h − q + 1)×(w − q + 1)" in sizes
    assert "A₂ m×k×(h/2 − q/2 + 1/2)×(w/2 − q/2 + 1/2)" in sizes
    assert " - " not in sizes and "(-" not in sizes
    assert main(["latex", str(spec), "--format", "fragment"]) == 0
    tex = capsys.readouterr().out
    assert r"\left(h - q + 1\right) \times \left(w - q + 1\right)" in tex
    assert r"\left(\frac{w}{2} - \frac{q}{2} + \frac{1}{2}\right)" in tex
    assert r"\left(- q" not in tex


def test_scalar_sums_never_start_with_a_minus_when_a_term_is_positive() -> None:
    q, h = sympy.symbols("q h")
    assert text(1 - q) == "1 − q" and latex(1 - q) == "1 - q"
    assert text(h - q + 1) == "h − q + 1" and latex(h - q + 1) == "h - q + 1"


def test_a_cross_entropy_sum_ends_before_the_weight_decay() -> None:
    """``−(1/m) Σ Y ⊙ log A₂ + (λ/(2m)) ‖W₁‖² …`` leaves open how far Σ reaches."""
    loss = Loss("cross_entropy", weight_decay="lambda")
    net = dense(["n_0", "n_1", 3], ["tanh", "softmax"], loss)
    (line,) = [ln for ln in derive(net).text().splitlines() if ln.strip().startswith("L =")]
    assert "Σ [Y ⊙ log A₂] + (λ/(2m))" in line
    assert "L = −(1/m) Σ Y ⊙ log A₄" in derive("cnn").text()  # alone, no bracket needed


def test_one_printed_name_is_one_function(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two different custom activations both called f printed ``f'(Z₁)`` and ``f'(Z₂)``
    as if they were one function (and one ``activation-name`` renamed both)."""
    spec = tmp_path / "net.toml"
    body = (
        '[[layers]]\nwidth = 3\nactivation = { name = "custom", expr = "x^3", symbol = "f" }\n'
        "[[layers]]\nwidth = 2\nactivation = {}\n"
    )
    for other, rc in [
        ('{ name = "custom", expr = "tanh(x)", symbol = "f" }', 2),
        ('{ name = "symbolic", symbol = "f" }', 2),
        ('{ name = "custom", expr = "x^3", symbol = "f" }', 0),  # the same function twice
        ('{ name = "custom", expr = "tanh(x)", symbol = "g" }', 0),
    ]:
        spec.write_text(body.replace("{}", other), "utf-8")
        assert main(["show", str(spec)]) == rc, other
        err = capsys.readouterr().err
        if rc:
            assert err.startswith(f"derive: error: {spec}:6: layers[2].activation: 'f' already")
    two_relus = '[[layers]]\nwidth = 3\nactivation = "relu"\n[[layers]]\nwidth = 2\n'
    spec.write_text(two_relus + 'activation = { name = "custom", expr = "x", symbol = "relu" }\n')
    assert main(["show", str(spec)]) == 2


def test_with_code_says_why_it_needs_the_export(capsys: pytest.CaptureFixture[str]) -> None:
    """``derive latex seed --with-code`` said only "… to export" to a user who did not."""
    rc, _, err = _run(["latex", "seed", "--with-code"], capsys)
    assert rc == 2 and err.startswith("derive: error: --with-code ") and "symbolic" in err


def test_an_empty_spec_argument_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = _run(["show", ""], capsys)
    assert rc == 2 and err.startswith("derive: error: the spec is empty")


def test_the_generic_f_is_said_to_be_the_layers_activation() -> None:
    """With tanh and leaky ReLU hidden layers, ``⊙ f'(Zₗ)`` named a function never defined."""
    net = dense(["n_0", "n_1", "n_2", 1], ["tanh", "leaky_relu", "sigmoid"])
    d = derive(net)
    (rec,) = [ln for ln in d.text().splitlines() if "recurrence:" in ln]
    assert rec.endswith("⊙ f'(Zₗ)    (hidden layer l; f its activation)")
    assert "(its activation written $f$: the layers' differ)" in d.to_latex("fragment")
    # where the user's own activation is f, f needs no introduction
    (rec,) = [ln for ln in derive("seed").text().splitlines() if "recurrence:" in ln]
    assert rec.endswith("(hidden layer l)")
