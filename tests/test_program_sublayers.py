"""Sub-layers in a forward program (issue 15): residual blocks and attention layers whose
backward pass calls another layer's backward (``self.layer.backward(d)``,
``self.softmax.backward(d)``), read as that step's vector-Jacobian product."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from derive.formula.ir import FormulaError
from derive.formula.program_check import ProgramChecker
from derive.programs import derive_program
from derive.spec import program_grammar as G
from derive.spec.records import SpecError

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "tests" / "corpus" / "specs" / "programs"


def checker(name: str) -> ProgramChecker:
    return ProgramChecker(derive_program(str(PROGRAMS / f"{name}.toml")))


@pytest.fixture(scope="module")
def residual() -> ProgramChecker:
    return checker("residual_softgrad")


@pytest.fixture(scope="module")
def attention() -> ProgramChecker:
    return checker("attention_idl_smit25")


def test_a_wrapped_layers_backward_is_its_vjp(residual: ProgramChecker) -> None:
    got = residual.check(
        "def _backward(self, dx_out: mx.array) -> mx.array:\n"
        "    return dx_out + self.layer.backward(dx_out)"
    )
    assert got.verdict == "correct"
    assert any("layer.backward(d)" in n and "opaque" in n for n in got.notes)


def test_the_skip_left_out_is_named(residual: ProgramChecker) -> None:
    """The classic mistake: the identity term of the skip missing."""
    got = residual.check("dx_in = self.layer.backward(dx_out)")
    assert got.verdict == "incorrect"
    assert "dx_out" in str(got) and "missing" in str(got)


def test_the_wrapped_layer_left_out_is_wrong(residual: ProgramChecker) -> None:
    """dx = dx_out alone (F's term dropped) differs at the random stand-in."""
    assert residual.check("dx_in = dx_out * 1").verdict == "incorrect"


def test_attention_through_the_softmax_layer(attention: ProgramChecker) -> None:
    snippet = (
        "d_V = np.swapaxes(self.attention_scores, -2, -1) @ d_output\n"
        "d_attention_scores = d_output @ np.swapaxes(self.V, -2, -1)\n"
        "d_s = self.softmax.backward(d_attention_scores)\n"
        "d_s = d_s / np.sqrt(self.d_k)\n"
        "d_Q = d_s @ self.K\n"
        "d_K = np.swapaxes(d_s, -2, -1) @ self.Q\n"
        "return d_Q, d_K, d_V"
    )
    assert attention.check(snippet).verdict == "correct"
    skipped = snippet.replace("self.softmax.backward(d_attention_scores)", "d_attention_scores")
    got = attention.check(skipped)
    assert got.verdict == "incorrect"
    assert "Jacobian" in str(got) and "softmax" in str(got)


def test_an_undeclared_layer_is_refused(attention: ProgramChecker) -> None:
    with pytest.raises(FormulaError, match=r"line 1: .*norm\.backward\(\).*\[sublayers\]"):
        attention.check("d_Q = self.norm.backward(d_output)")


def test_a_layer_given_the_wrong_shape_is_wrong(attention: ProgramChecker) -> None:
    got = attention.check("d_V = self.softmax.backward(self.V) ")
    assert got.verdict == "incorrect"


def test_swapaxes_is_the_transpose_of_a_matrix() -> None:
    got = G.parse_expression("np.swapaxes(x, -2, -1)")
    assert got == G.Transpose(G.Name("x"))
    with pytest.raises(G.EquationError, match="swapaxes"):
        G.parse_expression("np.swapaxes(x, 0, 2)")


PROJECTION = """\
dx_main = self.main_path.backward(dx_out)
if self.projection:
    dx_shortcut = self.projection.backward(dx_out)
else:
    dx_shortcut = dx_out
return dx_main + dx_shortcut
"""


def _spec(tmp_path: Path, sublayers: str, width: str = "") -> Path:
    path = tmp_path / "p.toml"
    path.write_text(
        '# test\nname = "p"\nconvention = "row"\n[inputs]\nx_in = ["n", "d"]\n'
        f"[sublayers]\n{sublayers}\n"
        '[forward]\nequations = """\ny = x_in + main_out\n"""\n'
        '[backward]\nupstream = "dx_out"\n',
        "utf-8",
    )
    return path


def test_a_branch_on_a_layer_is_read_for_the_program(tmp_path: Path) -> None:
    with_projection = checker("residual_softgrad_projection").check(PROJECTION)
    assert with_projection.verdict == "correct"
    path = _spec(
        tmp_path, 'main_path = { input = "x_in", output = "main_out" }\nprojection = false'
    )
    got = ProgramChecker(derive_program(path)).check(PROJECTION)
    assert got.verdict == "correct"
    assert any("as False" in n for n in got.notes)
    path = _spec(tmp_path, 'main_path = { input = "x_in", output = "main_out" }')
    with pytest.raises(FormulaError, match="line 2: .*projection = false"):
        ProgramChecker(derive_program(path)).check(PROJECTION)


@pytest.mark.parametrize(
    ("table", "said"),
    [
        ('main_path = "x_in"', "a sub-layer is"),
        ('main_path = { input = "x_in", output = "main_out", size = 3 }', "unknown key 'size'"),
        ('main_path = { input = "zz", output = "main_out" }', "must be one of \\[inputs\\]"),
        ('main_path = { input = "x_in", output = "main_out", width = "d-1" }', "main_path"),
    ],
)
def test_a_bad_sublayer_is_one_error_with_its_line(tmp_path: Path, table: str, said: str) -> None:
    path = _spec(tmp_path, table)
    with pytest.raises(SpecError, match=said) as err:
        derive_program(path)
    assert f"{path}:7: sublayers.main_path" in str(err.value)


def test_a_step_layers_input_is_a_name(tmp_path: Path) -> None:
    path = _spec(
        tmp_path,
        'main_path = { input = "x_in", output = "main_out" }\n'
        'norm = { input = "nope", output = "y" }',
    )
    with pytest.raises(SpecError, match="sublayers.norm: the input 'nope'"):
        derive_program(path)


def test_the_cli_refuses_a_bad_sublayer_in_one_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from derive.cli import main

    path = _spec(tmp_path, 'main_path = { input = "zz", output = "main_out" }')
    assert main(["show", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("derive: error:") and ":7:" in err[0]


def test_the_stand_ins_weight_gets_no_gradient() -> None:
    d = derive_program(str(PROGRAMS / "residual_softgrad_projection.toml"))
    assert sorted(d.gradients) == ["x_in"]


@pytest.mark.torch
def test_torch_autograd_agrees_on_the_programs() -> None:
    """Residual (x + tanh(x W)) and attention (F.scaled_dot_product_attention) against
    torch.autograd in float64, rtol 1e-9."""
    torch = pytest.importorskip("torch", reason="torch is not installed")
    rng = np.random.default_rng(3)
    n, m, dk, dv = 4, 5, 3, 6
    q, k, v = (
        rng.standard_normal((n, dk)),
        rng.standard_normal((m, dk)),
        rng.standard_normal((m, dv)),
    )
    up = rng.standard_normal((n, dv))
    ours = derive_program(str(PROGRAMS / "attention_idl_smit25.toml")).to_function()(q, k, v, up)
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    out = torch.nn.functional.scaled_dot_product_attention(tq[None], tk[None], tv[None])[0]
    out.backward(torch.tensor(up))
    for name, t in (("Q", tq), ("K", tk), ("V", tv)):
        np.testing.assert_allclose(ours[name], t.grad.numpy(), rtol=1e-9, atol=1e-12)
    x, w, dy = (
        rng.standard_normal((n, dk)),
        rng.standard_normal((dk, dk)),
        rng.standard_normal((n, dk)),
    )
    ours = derive_program(str(PROGRAMS / "residual_softgrad.toml")).to_function()(x, w, dy)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w)
    (tx + torch.tanh(tx @ tw)).backward(torch.tensor(dy))
    np.testing.assert_allclose(ours["x_in"], tx.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.torch
@settings(max_examples=5, deadline=None)
@given(
    n=st.integers(1, 5),
    m=st.integers(1, 5),
    dk=st.integers(1, 4),
    dv=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_torch_attention_on_drawn_sizes(n: int, m: int, dk: int, dv: int, seed: int) -> None:
    """IDL's attention program against F.scaled_dot_product_attention, float64."""
    torch = pytest.importorskip("torch", reason="torch is not installed")
    rng = np.random.default_rng(seed)
    q, k, v = (
        rng.standard_normal((n, dk)),
        rng.standard_normal((m, dk)),
        rng.standard_normal((m, dv)),
    )
    up = rng.standard_normal((n, dv))
    ours = _attention_function()(q, k, v, up)
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    out = torch.nn.functional.scaled_dot_product_attention(tq[None], tk[None], tv[None])[0]
    out.backward(torch.tensor(up))
    for name, t in (("Q", tq), ("K", tk), ("V", tv)):
        np.testing.assert_allclose(ours[name], t.grad.numpy(), rtol=1e-9, atol=1e-12)


@cache
def _attention_function():  # type: ignore[no-untyped-def]
    return derive_program(str(PROGRAMS / "attention_idl_smit25.toml")).to_function()
