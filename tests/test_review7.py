"""Wrong verdicts found by the round-7 review.

1. ``x >= 0`` was read as ReLU's mask ``x > 0``. The two differ only where ``x = 0``: a
   measure-zero set for the pre-activation Z, but every inactive unit for the activation
   ``A = relu(Z)``, which is 0 there. ``dZ1 = dA1 * (A1 >= 0)`` multiplies by ones (the
   ReLU's gate is missing) and was judged CORRECT.
2. Boolean arithmetic NumPy refuses (``(e > 0) - (e < 0)``, ``-(e < 0)``) was refused in a
   program's snippet (round 7's ``numpy_bools``) but judged CORRECT in a dense network's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.formula.check import Checker
from derive.formula.parse import FormulaError


@pytest.fixture(scope="module")
def cs231n() -> Checker:
    # D -> H (relu) -> C (softmax), rows, delta = mean
    return Checker("cs231n")


# ------------------------------------------- 1. A >= 0 holds on every ReLU output


@pytest.mark.parametrize(
    ("formula", "syntax"),
    [
        ("dZ1 = dA1 * (A1 >= 0)", "python"),
        ("dZ1 = np.where(A1 >= 0, dA1, 0)", "python"),
        ("dZ1 = dA1 * np.greater_equal(A1, 0)", "python"),
        (r"\delta_1 = (\delta_2 W_2^T) \odot \mathbb{1}[A_1 \geq 0]", "latex"),
    ],
)
def test_a_relu_output_at_least_zero_is_no_mask(cs231n: Checker, formula: str, syntax: str) -> None:
    result = cs231n.check(formula, syntax)
    assert not result.correct
    assert "Z" in str(result.diagnosis)  # the mask belongs on the pre-activation


@pytest.mark.parametrize(
    ("formula", "syntax"),
    [
        ("dZ1 = dA1 * (Z1 >= 0)", "python"),  # differs from Z1 > 0 only where Z1 = 0
        ("dZ1 = np.where(Z1 >= 0, dA1, 0)", "python"),
        ("dZ1 = dA1 * (A1 > 0)", "python"),  # A1 > 0 exactly where Z1 > 0
        (r"\delta_1 = (\delta_2 W_2^T) \odot \mathbb{1}[Z_1 \geq 0]", "latex"),
    ],
)
def test_the_masks_that_are_relus_stay_right(cs231n: Checker, formula: str, syntax: str) -> None:
    assert cs231n.check(formula, syntax).correct


# ------------------------------------------- 2. boolean arithmetic NumPy refuses, dense path

MAE = str(Path(__file__).parent / "corpus" / "specs" / "mae_linear.toml")


@pytest.mark.parametrize(
    "snippet",
    [
        "dZ1 = ((A1 - Y > 0) - (A1 - Y < 0)) / (m*k)",  # TypeError: boolean subtract
        "err = A1 - Y\ndZ1 = ((err > 0) - (err < 0)) / (m*k)",
        "dZ1 = -(A1 - Y < 0) / (m*k)",  # TypeError: boolean negative
    ],
)
def test_boolean_arithmetic_numpy_refuses_is_no_verdict(snippet: str) -> None:
    # the program checker refused these (``numpy_bools``); a dense network's snippet
    # reader judged the first two CORRECT, as sign(A1 - Y) / (m k)
    with pytest.raises(FormulaError, match="NumPy refuses"):
        Checker(MAE).check(snippet, "python")


def test_boolean_arithmetic_numpy_runs_is_judged() -> None:
    assert Checker(MAE).check("dZ1 = ((A1 - Y > 0) * 1 - (A1 - Y < 0)) / (m*k)", "python").correct


# ------------------------------------------- 3. one sample's loss where samples interact


@pytest.mark.parametrize(
    "formula",
    [
        # both right on a batch of one, where batch norm sends every unit to β; wrong on
        # bn_mlp's batch of N, where a sample's loss depends on γ through its x̂
        r"\frac{\partial L_i}{\partial \gamma_2} = 0 \cdot \gamma_2",
        r"\frac{\partial L_i}{\partial W_1} = 0 \cdot W_1",
    ],
)
def test_one_samples_loss_is_not_read_on_a_batch_norm_network(formula: str) -> None:
    with pytest.raises(FormulaError, match="normalises over its batch"):
        Checker("bn_mlp").check(formula)


def test_one_samples_loss_is_still_read_without_batch_norm(cs231n: Checker) -> None:
    assert cs231n.check(r"\frac{\partial L_i}{\partial b_2} = \delta_2").correct


def test_no_one_sample_diagnosis_on_a_batch_norm_network() -> None:
    # ∂L/∂W_1 is 0 on a batch of one (every unit normalised to β), not on bn_mlp's batch
    result = Checker("bn_mlp").check(r"\frac{\partial L}{\partial W_1} = 0 \cdot W_1")
    assert not result.correct
    assert "one sample" not in str(result.diagnosis)


# ------------------------------------------- 4. a written 0 for a matrix quantity


def test_a_zero_gradient_written_as_0_is_right_where_it_vanishes() -> None:
    # bn_mlp's b_1 comes before batch norm, which subtracts the batch mean: its gradient
    # is the zero matrix (CS231n: that bias is redundant); 0 was judged INCORRECT while
    # 0 · b_1 was CORRECT
    bn = Checker("bn_mlp")
    assert bn.check(r"\frac{\partial L}{\partial b_1} = 0").correct
    assert bn.check(r"\frac{\partial L}{\partial b_1} = 0 \cdot b_1").correct
    wrong = bn.check(r"\frac{\partial L}{\partial W_1} = 0")
    assert not wrong.correct
    assert "another quantity" not in str(wrong.diagnosis)  # 0 is every vanishing one's


def test_a_zero_is_wrong_where_the_gradient_does_not_vanish(cs231n: Checker) -> None:
    assert not cs231n.check(r"\frac{\partial L}{\partial b_1} = 0").correct
    assert not cs231n.check("db1 = 0", "python").correct


# ------------------------------------------- 5. np.sum(…, axis=1) with samples as rows


@pytest.mark.parametrize("snippet", ["db2 = np.sum(dZ2, axis=1)", "db2 = dZ2.sum(axis=-1)"])
def test_a_row_networks_sum_over_axis_1_is_not_told_to_add_keepdims(
    cs231n: Checker, snippet: str
) -> None:
    # samples are rows: axis=1 sums each sample's units; keepdims=True would give (N, 1),
    # still not the bias's (1, C): "add keepdims=True" (Ng's column-network fix) misled
    result = cs231n.check(snippet, "python")
    assert not result.correct
    said = str(result.shape_error)
    assert "add keepdims" not in said and "axis=0" in said
