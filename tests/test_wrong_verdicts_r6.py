"""Two wrong verdicts found on a fresh held-out set (issue 13 §1, round 6).

1. adeveloperdiary/blog, Backpropagation_Algorithm_using_Softmax/main.py (ANN.backward):
   ``dZ = A - Y.T`` on a column-convention network whose one-hot labels the source keeps
   with samples as rows. It was INCORRECT ("shapes do not fit"), read at layer 1.
2. rasbt/machine-learning-book, ch11/neuralnet.py (NeuralNetMLP.backward): ``d_a_h__d_z_h``
   is Raschka's name for the local derivative ∂a_h/∂z_h = f'(Z_1); it was read as a
   gradient of the loss, and the correct bias gradient judged INCORRECT.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.formula.check import Checker
from derive.formula.local_derivatives import local_derivative, parts_of
from derive.formula.parse import FormulaError

SPECS = Path(__file__).parent / "specs"


@pytest.fixture(scope="module")
def softmax_two() -> Checker:
    return Checker(str(SPECS / "softmax_two.toml"))  # column convention, sigmoid, softmax


@pytest.fixture(scope="module")
def mlbook() -> Checker:
    return Checker(str(SPECS / "mlbook_ch11.toml"))  # row convention, sigmoid, sigmoid, MSE


# ----------------------------------------------------------- 1. labels stored as rows


def test_adeveloperdiary_output_delta_with_labels_as_rows(softmax_two: Checker) -> None:
    r = softmax_two.check("dZ = A - Y.T", "python")
    assert r.correct, r
    said = " ".join(r.notes)
    assert "the last layer's" in said  # A without a number is the output's: it is beside Y
    assert "labels Y stored with samples as rows" in said
    assert "A₂ − Yᵀ" in said  # the shapes that decided it, named


def test_numbered_output_delta_either_orientation(softmax_two: Checker) -> None:
    assert softmax_two.check("dZ2 = A2 - Y", "python").correct
    r = softmax_two.check("dZ2 = A2 - Y.T", "python")
    assert r.correct and any("stored with samples as rows" in n for n in r.notes), r
    # the output delta with the labels the other way is still wrong when its value is
    assert not softmax_two.check("dZ2 = Y.T - A2", "python").correct


def test_latex_has_no_storage_order(softmax_two: Checker) -> None:
    """Maths has no storage: ``A_2 - Y^T`` on a column network is the spec's Y transposed,
    which does not fit: the slip is named, never read as right."""
    r = softmax_two.check(r"\delta_2 = A_2 - Y^T", "latex")
    assert not r.correct and "Y should not be transposed" in (r.diagnosis or ""), r
    assert softmax_two.check(r"\delta_2 = A_2 - Y", "latex").correct


def test_class_indices_on_the_wrong_axis_stay_wrong() -> None:
    """``x[y, range(N)]`` is read as Yᵀ by the reader, not written so: integer labels have
    no storage order, and the mistake stays named."""
    r = Checker("cs231n").check(
        "dscores = probs\ndscores[y, range(N)] -= 1\ndscores /= N", "python"
    )
    assert r.verdict == "incorrect" and "should not be transposed" in (r.diagnosis or ""), r


def test_unnumbered_output_delta_is_the_last_layers(softmax_two: Checker) -> None:
    r = softmax_two.check("dZ = A - Y", "python")
    assert r.correct and r.quantity.endswith("L"), r
    assert not softmax_two.check("dZ = Y - A", "python").correct


@pytest.mark.parametrize(
    ("formula", "named"),
    [
        ("dW2 = dZ2 @ A1", "transpose is missing"),  # a usual mistake: still INCORRECT
        ("dZ2 = A2.T - Y", "A2 should not be transposed"),  # not a data matrix
        ("dZ2 = A1 - Y", "layer index"),
    ],
)
def test_named_shape_mistakes_stay_incorrect(
    softmax_two: Checker, formula: str, named: str
) -> None:
    r = softmax_two.check(formula, "python")
    assert r.verdict == "incorrect" and r.shape_error, r
    assert named in (r.diagnosis or ""), r


@pytest.mark.parametrize("formula", ["dZ2 = A2 - Y @ A2", "dZ2 = A2 - X", "dZ2 = A2 - Y.T @ Y"])
def test_unexplained_shape_mismatch_is_refused(softmax_two: Checker, formula: str) -> None:
    with pytest.raises(FormulaError, match="shapes do not fit .* no usual mistake"):
        softmax_two.check(formula, "python")


def test_cli_refuses_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from derive.cli import main

    spec = str(SPECS / "softmax_two.toml")
    assert main(["check", spec, "dZ2 = A2 - Y @ A2", "--syntax", "python"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("derive: error: cannot judge")
    assert "Y A₂: Y is 10×n, A₂ is 10×n" in err[0] and "labels Y" in err[0]
    assert main(["check", spec, "dZ = A - Y.T", "--syntax", "python"]) == 0


# ---------------------------------------------- 2. names spelling a local derivative

RASCHKA_DB_H = "d_loss__d_b_h = np.sum((d_loss__a_h * d_a_h__d_z_h), axis=0)"


def test_raschka_hidden_bias_gradient(mlbook: Checker) -> None:
    r = mlbook.check(RASCHKA_DB_H, "python")
    assert r.correct, r
    assert any("`d_a_h__d_z_h` as f'(Z_1)" in n for n in r.notes), r.notes
    wrong = mlbook.check(RASCHKA_DB_H + " / n", "python")
    assert not wrong.correct and "factor" in (wrong.diagnosis or ""), wrong


def test_raschka_with_the_snippets_own_definition(mlbook: Checker) -> None:
    snippet = "d_a_h__d_z_h = a_h * (1. - a_h)\n" + RASCHKA_DB_H
    assert mlbook.check(snippet, "python").correct
    wrong = "d_a_h__d_z_h = a_h * a_h\n" + RASCHKA_DB_H  # not σ'(Z_1): the definition is used
    assert not mlbook.check(wrong, "python").correct


@pytest.mark.parametrize(
    ("name", "top", "bottom"),
    [
        ("d_a_h__d_z_h", ["a", "h"], ["z", "h"]),
        ("d_loss__a_h", ["loss"], ["a", "h"]),
        ("d_z_out__dw_out", ["z", "out"], ["dw", "out"]),
        ("dAdZ", ["a"], ["z"]),
        ("d_a_d_z", ["a"], ["z"]),
    ],
)
def test_two_part_spellings(name: str, top: list[str], bottom: list[str]) -> None:
    assert parts_of(name) == (top, bottom)


@pytest.mark.parametrize("name", ["dZ2", "delta_h", "dw_out", "grad_w_h", "dLdW", "d_loss__d_w_h"])
def test_other_names_keep_their_usual_readings(name: str) -> None:
    assert local_derivative(name, 2) is None


@pytest.mark.parametrize("name", ["d_a_h__d_z_h", "d_a_out__d_z_out", "dAdZ"])
def test_a_local_derivative_is_never_a_loss_gradient(name: str) -> None:
    found = local_derivative(name, 2)
    assert found is not None and found[1]
    assert all(r.text.startswith("f_prime(Z") for r in found[1])


def test_the_loss_by_an_activation_is_dA() -> None:
    """Beside a name spelling ∂a/∂z, the formula's letters are fixed: ∂L/∂a is ∂L/∂A."""
    beside = "d_loss__a_h * d_a_h__d_z_h"
    found = local_derivative("d_loss__a_h", 2, beside)
    assert found is not None and [r.text for r in found[1]] == ["dA1"]
    out = local_derivative("d_loss__d_z_out", 2, beside)
    assert out is not None and [r.text for r in out[1]] == ["dZ2"]


def test_without_fixed_letters_the_loss_gradient_keeps_its_usual_readings() -> None:
    """``dLdA`` alone: A may be the scores (janch's softmax regression, Saito's letters),
    so its usual readings apply and the shapes decide."""
    assert local_derivative("dLdA", 1, "dLdTheta = np.dot(X, dLdA.T)") is None


@pytest.mark.parametrize("name", ["d_z_out__a_h", "d_z_h__d_w_h", "d_z_h__d_a_h"])
def test_other_local_derivatives_are_refused(mlbook: Checker, name: str) -> None:
    with pytest.raises(FormulaError, match="local derivative"):
        mlbook.check(f"d_loss__d_b_h = np.sum((d_loss__a_h * {name}), axis=0)", "python")


def test_a_right_formula_whose_shapes_are_misread_is_not_incorrect() -> None:
    """Ulyankin's masha book, problem set 3, problem 2 (б), with the sign put right (the
    corpus entry's ``right``): the scalar chain x·w₁ does not fit the shapes as read, and
    no usual mistake explains it. It was INCORRECT, a wrong verdict on a right formula."""
    spec = Path(__file__).parent / "corpus" / "specs" / "masha_chain.toml"
    right = (
        r"\frac{\partial L}{\partial w_2} = (\hat{y} - y) \cdot w_3 \cdot "
        r"f'(f(x\cdot w_1) \cdot w_2) \cdot f(x\cdot w_1)"
    )
    with pytest.raises(FormulaError, match="shapes do not fit|cannot tell"):
        Checker(str(spec)).check(right, "latex")


@pytest.mark.parametrize("name", ["d_a_out__d_z_h", "d_a2__d_z1", "d_a_h__d_z_out"])
def test_an_activation_by_another_layers_pre_activation_is_not_f_prime(
    mlbook: Checker, name: str
) -> None:
    """∂a_out/∂z_h is a product of the chain rule's factors: read as σ'(Z_2), Raschka's
    output delta written with it was CORRECT."""
    with pytest.raises(FormulaError, match="pre-activation of another layer"):
        mlbook.check(f"delta_out = d_loss__d_a_out * {name}", "python")
    assert mlbook.check("delta_out = d_loss__d_a_out * d_a_out__d_z_out", "python").correct
