"""A generic activation applied to a pre-activation written out as the forward defines
it (``f(W_2 A_1 + b_2)``, ``f(w_2 f(w_1 x + b_1) + b_2)``): read as that layer's; an
argument that is no pre-activation of the network is refused, naming the network's."""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.formula.check import Checker
from derive.formula.ir import FormulaError
from derive.spec.reading import load

SPECS = Path(__file__).parent / "corpus" / "specs"
CHAIN = str(SPECS / "masha_chain.toml")  # one unit per layer, f, f, identity, one sample


@pytest.mark.parametrize(
    ("formula", "verdict"),
    [
        (
            r"\frac{\partial L}{\partial w_3} = -(y - \hat{y}) f(w_2 f(w_1 x + b_1) + b_2)",
            "correct",
        ),
        (
            r"\frac{\partial L}{\partial w_3} = (y - \hat{y}) f(w_2 f(w_1 x + b_1) + b_2)",
            "incorrect",
        ),
        (
            r"\frac{\partial L}{\partial w_2} = -(y - \hat{y}) w_3 f'(w_2 f(w_1 x + b_1) + b_2)"
            r" f(w_1 x + b_1)",
            "correct",
        ),
    ],
)
def test_the_forward_written_out_in_a_chain_of_numbers(formula: str, verdict: str) -> None:
    assert Checker(CHAIN).check(formula).verdict == verdict


def test_a_product_that_is_no_pre_activation_is_refused_naming_the_networks() -> None:
    """The source's network has no biases; this one has: x w_1 is none of its Z_l."""
    with pytest.raises(FormulaError, match=r"this network's are Z₁ = W₁ X \+ b₁"):
        Checker(CHAIN).check(r"\frac{\partial L}{\partial w_3} = -(y - \hat{y}) f(f(x w_1) w_2)")


def test_the_forward_written_out_in_matrices() -> None:
    """One sample (batch 1), so the bias needs no broadcast: f'(W_2 A_1 + b_2) is f'(Z_2)."""
    net = load("seed").with_(batch=1)
    checker = Checker(net)
    right = checker.check(r"\delta_2 = (W_3^T \delta_3) \odot f'(W_2 A_1 + b_2)")
    assert right.correct
    wrong = checker.check(r"\delta_2 = (W_3^T \delta_3) \odot f'(W_2 A_1 + b_3)")
    assert not wrong.correct
