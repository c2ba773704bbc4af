"""Verdicts the checker got wrong: each a formula that is right (or wrong) for certain.

A checker that is sometimes wrong is worse than none; every case here was a wrong
verdict once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.formula.check import Checker

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
