"""Verdicts the checker got wrong: each a formula that is right (or wrong) for certain.

A checker that is sometimes wrong is worse than none; every case here was a wrong
verdict once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from derive import Activation, Network, dense
from derive.formula.check import Checker
from derive.formula.parse import FormulaError
from derive.spec.activations import TABLE

SPECS = Path(__file__).parent / "specs"


@pytest.mark.parametrize(
    "formula",
    [
        "dZ1 = dA1 * (A1 > 0)",  # CS231n's idiom: for ReLU, A > 0 exactly where Z > 0
        "dZ1 = dA1 * (Z1 > 0)",
        "dZ1 = np.dot(dZ2, W2.T) * (A1 > 0)",
    ],
)
def test_relu_mask_on_the_output_is_correct(formula: str) -> None:
    result = Checker("cs231n").check(formula, "python")
    assert result.correct, str(result)


def test_a_relu_mask_on_the_wrong_layer_is_still_wrong() -> None:
    result = Checker("cs231n").check("dZ1 = dA1 * (A2 > 0)", "python")
    assert not result.correct


@pytest.mark.parametrize(
    "formula,correct",
    [
        (r"\frac{\partial C}{\partial b_1} = \delta_1", True),
        (r"\frac{\partial C}{\partial b_2} = \delta_2", True),
        (r"\frac{\partial C}{\partial W_1} = \delta_1 X^T", True),
        (r"\frac{\partial C}{\partial W_1} = \delta_1 X", False),
        (r"\frac{\partial C}{\partial b_1} = 2 \delta_1", False),
    ],
)
def test_a_batch_of_one_is_checked_as_one_sample(formula: str, correct: bool) -> None:
    """Per-sample textbooks write ∂C/∂b = δ: right for a network of batch 1."""
    result = Checker(SPECS / "one_sample.toml").check(formula)
    assert result.correct is correct, str(result)


def test_a_result_does_not_depend_on_earlier_checks() -> None:
    formulas = [
        r"\delta_1 = \sigma'(Z_1) * W_2^T \delta_2",  # checked numerically
        r"\delta_1 = \frac{\partial C}{\partial Z_1}",  # a definition: no method of its own
        r"\delta_1 = (W_2^T \delta_2) \odot \sigma'(Z_1)",
        r"\delta_1 = (W_2 \delta_2) \odot \sigma'(Z_1)",
        r"\delta_2 = (A_2 - Y) \odot \sigma'(Z_2)",
    ]
    used = Checker("nielsen")
    for f in formulas + formulas[::-1]:
        fresh = Checker("nielsen").check(f)
        again = used.check(f)
        assert (again.verdict, again.method, again.notes) == (
            fresh.verdict,
            fresh.method,
            fresh.notes,
        ), f


@pytest.mark.parametrize(
    "spec,formula,correct",
    [
        ("ng", r"dA_{l} = W_{l+1}^T \delta_{l+1}", True),
        ("ng", r"dA^{[l]} = W^{[l+1]T} dZ^{[l+1]}", True),
        ("ng", r"dA^{[l]} = W^{[l+1]} dZ^{[l+1]}", False),
        ("cs231n", r"dA_{l} = \delta_{l+1} W_{l+1}^T", True),
    ],
)
def test_a_generic_activation_cotangent_is_checked_where_it_exists(
    spec: str, formula: str, correct: bool
) -> None:
    """∂C/∂A_l exists for the layers that feed another: the last layer has no W_{L+1}."""
    result = Checker(spec).check(formula)
    assert result.correct is correct, str(result)


# --------------------------------------------------------------------------- f(Z)^2

TANH3 = dense(
    [3, 4, 5, 2],
    [Activation("tanh"), Activation("tanh"), Activation("sigmoid")],
    "binary_cross_entropy",
)
SIGMOID3 = dense([3, 4, 5, 2], [Activation("sigmoid")] * 3, "binary_cross_entropy")


@pytest.mark.parametrize(
    "net,formula",
    [
        (TANH3, r"\delta_2 = (W_3^T \delta_3) \odot (1 - \tanh(Z_2)^2)"),
        (TANH3, r"\delta_2 = (W_3^T \delta_3) \odot (1 - \tanh^2(Z_2))"),
        (SIGMOID3, r"\delta_2 = (W_3^T \delta_3) \odot (\sigma(Z_2) - \sigma(Z_2)^2)"),
    ],
)
def test_a_squared_function_is_the_square_of_its_value(net: Network, formula: str) -> None:
    """``f(Z)^2`` squares f(Z), not Z: ``1 - tanh(Z)^2`` is tanh'(Z)."""
    result = Checker(net).check(formula)
    assert result.correct, str(result)


def test_the_square_of_the_argument_is_still_wrong() -> None:
    result = Checker(TANH3).check(r"\delta_2 = (W_3^T \delta_3) \odot (1 - \tanh(Z_2^2))")
    assert not result.correct


def test_a_function_of_a_bare_power_is_refused_as_ambiguous() -> None:
    """``\\tanh Z^2``: tanh(Z²) to some readers, tanh(Z)² to others: an error, not a guess."""
    with pytest.raises(FormulaError, match="ambiguous"):
        Checker(TANH3).check(r"\delta_2 = (W_3^T \delta_3) \odot (1 - \tanh Z_2^2)")


# --------------------------------------------------------------------------- NumPy shapes


@pytest.mark.parametrize("formula", ["db1 = np.sum(dZ1, axis=1)/m", "db1 = dZ1.sum(axis=1) / m"])
def test_a_column_sum_without_keepdims_has_numpys_shape(formula: str) -> None:
    """Ng's classic bug: shape (n,) broadcasts as a row, so b - α·db is n×n."""
    result = Checker("ng").check(formula, "python")
    assert not result.correct
    assert "keepdims=True" in (result.shape_error or "")
    assert "keepdims=True" in (result.diagnosis or "")


@pytest.mark.parametrize(
    "spec,formula",
    [
        ("ng", "db1 = np.sum(dZ1, axis=1, keepdims=True)/m"),
        ("cs231n", "db1 = np.sum(dZ1, axis=0)"),  # (n,) broadcasts as the row b is
        ("cs231n", "db1 = np.sum(dZ1, axis=0, keepdims=True)"),
    ],
)
def test_sums_that_numpy_shapes_right_are_correct(spec: str, formula: str) -> None:
    result = Checker(spec).check(formula, "python")
    assert result.correct, str(result)


def test_leaky_relu_written_with_np_where_is_correct() -> None:
    net = dense(
        [3, 4, 2], [Activation("leaky_relu"), Activation("sigmoid")], "binary_cross_entropy"
    )
    checker = Checker(net)
    slope = float(TABLE["leaky_relu"].defaults["slope"])
    right = checker.check(f"dZ1 = (W2.T @ dZ2) * np.where(Z1 > 0, 1, {slope})", "python")
    assert right.correct, str(right)
    swapped = checker.check(f"dZ1 = (W2.T @ dZ2) * np.where(Z1 > 0, {slope}, 1)", "python")
    assert not swapped.correct


# --------------------------------------------------------------------------- ones vectors


def test_a_sized_ones_vector_must_have_its_neighbours_length() -> None:
    """``\\mathbf{1}_m`` is read (every printed bias gradient has it), and its length counts."""
    net = dense(
        [3, 4, 2],
        [Activation("sigmoid"), Activation("sigmoid")],
        "binary_cross_entropy",
        delta="mean",  # δ is ∂L/∂Z of the batch loss: ∂L/∂b = δ 1
    )
    checker = Checker(net)
    right = checker.check(r"\frac{\partial L}{\partial b_1} = \delta_1 \mathbf{1}_{m}")
    assert right.correct, str(right)
    wrong = checker.check(r"\frac{\partial L}{\partial b_1} = \delta_1 \mathbf{1}_{3}")
    assert not wrong.correct
    assert wrong.shape_error is not None


# --------------------------------------------------------------------------- diagnoses

TANH_DIAG = dense(
    [3, 4, 5, 2],
    [Activation("tanh"), Activation("tanh"), Activation("sigmoid")],
    "binary_cross_entropy",
)


@pytest.mark.parametrize(
    "formula,words",
    [
        (r"\delta_1 = (W_2^T \delta_2) \odot \tanh'(Z_2)", "Z_2 where Z_1"),
        (r"\delta_1 = (W_3^T \delta_2) \odot \tanh'(Z_1)", "W_3 where W_2"),
        (r"\delta_1 = (W_2^T \delta_2) \odot \tanh'(A_1)", "pre-activation"),
        (r"\delta_1 = (W_2^T \delta_2) \odot (1 - Z_1^2)", "activation A_1"),
    ],
)
def test_layer_index_and_activation_mistakes_are_named(formula: str, words: str) -> None:
    result = Checker(TANH_DIAG).check(formula)
    assert not result.correct
    assert words in (result.diagnosis or ""), str(result)


def test_two_mistakes_at_once_are_named() -> None:
    """A missing transpose and a missing 1/m (a per-sample formula copied to a batch)."""
    result = Checker("ng").check("dW2 = np.dot(dZ2, A1)", "python")
    assert not result.correct
    diagnosis = result.diagnosis or ""
    assert diagnosis.startswith("two mistakes"), str(result)
    assert "1/m" in diagnosis and "transpose" in diagnosis


def test_a_stray_number_is_named() -> None:
    result = Checker("ng").check("db1 = 4 / m * np.sum(dZ1, axis=1, keepdims=True)", "python")
    assert "the factor 4" in (result.diagnosis or ""), str(result)


@pytest.mark.parametrize(
    "formula,correct",
    [
        (
            "delta1 = (W2.T @ delta2) * (0.5 + 0.5 * scipy.special.erf(Z1 / 1.4142135623730951)"
            " + Z1 * np.exp(-Z1**2 / 2) / 2.5066282746310002)",
            True,
        ),
        ("delta1 = (W2.T @ delta2) * scipy.special.erf(Z1)", False),
    ],
)
def test_gelu_derivative_written_with_erf(formula: str, correct: bool) -> None:
    """GELU' = Φ(z) + z φ(z), written with SciPy's erf as NumPy code writes it."""
    result = Checker(SPECS / "gelu.toml").check(formula, "python")
    assert result.correct is correct, str(result)
