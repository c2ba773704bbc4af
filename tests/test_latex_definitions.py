"""A definition sign is an equation: δ_j ≡ ∂E_n/∂a_j (Bishop's PRML 5.51), ≜, =^{def}."""

from __future__ import annotations

import pytest

from derive.formula.check import Checker


@pytest.mark.parametrize(
    "sign", [r"\equiv", r"\triangleq", r"\stackrel{\text{def}}{=}", r"\overset{def}{=}"]
)
def test_a_definition_sign_reads_as_equal(sign: str) -> None:
    checker = Checker("seed")
    right = checker.check(
        rf"\delta_2 {sign} \frac{{\partial C}}{{\partial Z_2}} = (W_3^T\delta_3) \odot f'(Z_2)"
    )
    assert right.correct
    wrong = checker.check(rf"\delta_2 {sign} (W_3^T\delta_3) \odot f'(Z_3)")
    assert not wrong.correct
