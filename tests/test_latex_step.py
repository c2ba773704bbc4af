"""The Heaviside step H(z) (also step(z), Step(z), Heaviside(z)): ReLU's derivative, read as
the indicator [z > 0]. Before, ``dA_1 ⊙ H(Z_1)`` on CS231n's network (whose hidden width is
H) was read as the width times Z_1 and judged INCORRECT.

The formulas are MADE UP (CS231n's ReLU layer with the step written as H), each judged as
the same formula with the indicator written out."""

from __future__ import annotations

from functools import cache

import pytest

from derive.formula.check import Checker, CheckResult
from derive.formula.latex_rewrites import STEP_NOTE


@cache
def checker(name: str) -> Checker:
    return Checker(name)


def check(formula: str) -> CheckResult:
    return checker("cs231n").check(formula, "latex")


@pytest.mark.parametrize(
    ("step", "plain"),
    [
        (r"dZ_1 = dA_1 \odot H(Z_1)", r"dZ_1 = dA_1 \odot [Z_1 > 0]"),
        (r"dZ_1 = dA_1 \odot H\left(Z_1\right)", r"dZ_1 = dA_1 \odot [Z_1 > 0]"),
        (r"dZ_1 = dA_1 \odot \operatorname{step}(Z_1)", r"dZ_1 = dA_1 \odot [Z_1 > 0]"),
        (r"dZ_1 = dA_1 \odot \text{Step}(A_1)", r"dZ_1 = dA_1 \odot [A_1 > 0]"),
        (r"dZ_1 = dA_1 \odot H(Z_1 - 1)", r"dZ_1 = dA_1 \odot [Z_1 - 1 > 0]"),
        (r"dZ_1 = dA_1 \odot H(Z_2)", r"dZ_1 = dA_1 \odot [Z_2 > 0]"),
    ],
)
def test_the_step_is_the_indicator(step: str, plain: str) -> None:
    ours, theirs = check(step), check(plain)
    assert (ours.verdict, ours.diagnosis) == (theirs.verdict, theirs.diagnosis)
    assert STEP_NOTE in ours.notes


def test_relu_with_the_step_is_correct() -> None:
    assert check(r"dZ_1 = dA_1 \odot H(Z_1)").correct
