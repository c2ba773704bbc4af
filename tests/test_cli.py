"""The command line: every example shows, user mistakes exit 2 with one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from derive.cli import main
from derive.spec import EXAMPLES


@pytest.mark.parametrize("name", EXAMPLES)
def test_show_every_example(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", name]) == 0
    out = capsys.readouterr().out
    for section in ("forward:", "loss:", "backward:", "gradients:", "update"):
        assert section in out
    first = "K₁" if name == "cnn" else "W₁"
    assert f"∂L/∂{first}" in out and "δ₁" in out


def test_show_nielsen_text(capsys: pytest.CaptureFixture[str]) -> None:
    main(["show", "nielsen"])
    out = capsys.readouterr().out
    assert "δ₂ = (A₂ − Y) ⊙ σ'(Z₂)" in out
    assert "δₗ = (Wₗ₊₁ᵀ δₗ₊₁) ⊙ σ'(Zₗ)" in out
    assert "∂L/∂W₁ = δ₁ Xᵀ" in out
    assert "W₁ ← W₁ − α ∂L/∂W₁" in out


def test_show_output_form(capsys: pytest.CaptureFixture[str]) -> None:
    main(["show", "nielsen", "--output-form"])
    assert "δ₁ = (W₂ᵀ δ₂) ⊙ (A₁ ⊙ (1 − A₁))" in capsys.readouterr().out


def test_python_dash_m_works_the_same() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "derive", "show", "seed"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "δ₃ = A₃ − Y" in run.stdout


BAD_TOML = {
    "syntax.toml": ("[[layers]\nwidth = 3\n", "syntax.toml:1: TOML syntax error"),
    "act.toml": (
        '[[layers]]\nwidth = 3\nactivation = "swishy"\n',
        "act.toml:3: layers[1].activation: unknown activation 'swishy'",
    ),
    "empty.toml": ('name = "x"\n', "layers: the network has no layers"),
    "custom.toml": (
        '[[layers]]\nactivation = { name = "custom", expr = "x +" }\n',
        "activation formula ends too early",
    ),
}


@pytest.mark.parametrize("fname", sorted(BAD_TOML))
def test_bad_spec_exits_2_with_one_message(
    fname: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, expected = BAD_TOML[fname]
    path = tmp_path / fname
    path.write_text(text)
    assert main(["show", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("derive: error: ")
    assert expected in err
    assert "Traceback" not in err


def test_unknown_spec_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert "not a built-in example (seed, nielsen, ng, cs231n, cnn, resnet_mlp, bn_mlp, svm)" in err


def test_subprocess_error_has_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[[layers]]\nwidth = -1\n")
    run = subprocess.run(
        [sys.executable, "-m", "derive", "show", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert run.stderr.count("\n") == 1


def test_verify_passes_and_reports(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "ng", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"passed": true' in out


def test_export_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "grads.py"
    out.write_text("precious")
    assert main(["export", "nielsen", "-o", str(out)]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert out.read_text() == "precious"
    assert main(["export", "nielsen", "-o", str(out), "--force"]) == 0
    assert "def loss_and_gradients" in out.read_text()


def test_export_symbolic_activation_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "seed"]) == 2
    assert "symbolic and has no numeric form" in capsys.readouterr().err
