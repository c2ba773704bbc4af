"""The loss of one sample on the left (CS231n's L_i, Bishop's E_n) in a network with a
batch: checked on the network with a batch of one, and said so; refused for a weight
gradient of a network with weight decay (a sample's loss has none)."""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.formula.check import Checker
from derive.formula.ir import FormulaError

SPECS = Path(__file__).parent / "corpus" / "specs"


@pytest.mark.parametrize(
    ("formula", "verdict"),
    [
        (r"\frac{\partial L_i }{ \partial f_k } = p_k - \mathbb{1}(y_i = k)", "correct"),
        (r"\frac{\partial L_i }{ \partial f_k } = p_k + \mathbb{1}(y_i = k)", "incorrect"),
        (r"\frac{\partial L_i}{\partial W_2} = A_1^T (A_2 - Y)", "correct"),
        (r"\frac{\partial L_i}{\partial W_2} = (A_2 - Y)^T A_1", "incorrect"),
    ],
)
def test_a_samples_loss_is_checked_on_one_sample(formula: str, verdict: str) -> None:
    result = Checker("cs231n").check(formula)
    assert result.verdict == verdict
    assert any("checked on one sample" in note for note in result.notes)


def test_the_batch_gradient_is_not_taken_for_a_samples() -> None:
    """The same right-hand side with the whole loss on the left is a batch formula: its
    missing 1/N is still wrong (the reading is only for L_i)."""
    result = Checker("cs231n").check(r"\frac{\partial L}{\partial W_2} = A_1^T (A_2 - Y)")
    assert not result.correct


def test_a_weight_gradient_with_weight_decay_is_refused() -> None:
    checker = Checker(str(SPECS / "cs231n_case_reg.toml"))
    with pytest.raises(FormulaError, match="weight decay"):
        checker.check(r"\frac{\partial L_i}{\partial W_2} = A_1^T (A_2 - Y)")
    # a delta has no weight-decay term: read on one sample
    delta = r"\frac{\partial L_i }{ \partial f_k } = p_k - \mathbb{1}(y_i = k)"
    assert checker.check(delta).correct
