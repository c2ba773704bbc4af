"""The loss named as papers and worked examples name it, after a ∂: ℓ (a layer index is
never differentiated, so ``∂ℓ`` is the loss) and the total error E_{total} (Mazur's
worked example, ∂E_total/∂w_5, copied across blogs and Q&A answers). Made-up formulas on
the seed network; ℓ as a layer index stays one."""

from __future__ import annotations

import pytest

from derive.formula.check import Checker

RIGHT = r"\delta_3 A_2^T / m"


@pytest.fixture(scope="module")
def seed() -> Checker:
    return Checker("seed")


@pytest.mark.parametrize(
    "loss",
    [
        r"\ell",
        "E_{total}",
        r"E_{\text{total}}",
        "L_{total}",
        "E_{tot}",
        "E_total",
        r"E_{\rm total}",
    ],
)
def test_the_loss_after_a_partial(seed: Checker, loss: str) -> None:
    result = seed.check(rf"\frac{{\partial {loss}}}{{\partial W_3}} = {RIGHT}", "latex")
    assert result.verdict == "correct"
    assert result.quantity == "∂L/∂W_3"
    wrong = seed.check(rf"\frac{{\partial {loss}}}{{\partial W_3}} = \delta_3 A_2 / m", "latex")
    assert wrong.verdict == "incorrect"


def test_ell_as_the_loss_and_as_the_layer_in_one_formula(seed: Checker) -> None:
    result = seed.check(
        r"\frac{\partial \ell}{\partial W^{(\ell)}} = \frac{1}{m} \delta^{(\ell)} A^{(\ell-1)T}",
        "latex",
    )
    assert result.verdict == "correct"
    assert result.quantity == "∂L/∂W_l"
