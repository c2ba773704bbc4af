"""``o`` and ``p``, the letters of other sources for the output's scores and probabilities
(``output_letters``): read where one reading fits, "cannot tell" where two disagree."""

from __future__ import annotations

from pathlib import Path

import pytest

from derive import Activation, dense
from derive.formula.check import Checker, CheckResult
from derive.formula.parse import FormulaError

SPECS = Path(__file__).parent / "corpus" / "specs"

SOFTMAX = dense([3, 4], [Activation("softmax")], "cross_entropy", batch=1)
SIGMOID_MSE = dense([3, 2], [Activation("sigmoid")], "squared_error", batch=1)
IDENTITY_MSE = dense([3, 2], [Activation("identity")], "squared_error", batch=1)


def check(spec: object, formula: str) -> CheckResult:
    return Checker(spec).check(formula, "latex")


def test_the_softmax_gradient_on_its_scores_is_read() -> None:
    # Math Stack Exchange 'Derivative of Softmax loss function', the course slides' result
    # (corpus: mathse-softmax-loss-slides)
    result = check(SPECS / "softmax_xent_1.toml", r"\frac{\partial L}{\partial o_i} = p_i - y_i")
    assert result.correct
    notes = " ".join(result.notes)
    assert "'o' read as the output layer's pre-activation Z_L" in notes
    assert "'p' read as the output's probabilities A_L" in notes


@pytest.mark.parametrize(
    "formula",
    [
        r"\frac{\partial L}{\partial \mathbf{o}} = \mathbf{p} - \mathbf{y}",
        r"\frac{\partial L}{\partial o} = p - y",
    ],
)
def test_bold_and_bare_letters_are_read(formula: str) -> None:
    assert check(SOFTMAX, formula).correct


def test_a_wrong_formula_in_these_letters_is_wrong() -> None:
    # the same question's own result (corpus: mathse-softmax-loss-question-result)
    formula = r"\frac{\partial L}{\partial o_i} = \left (\sum_i p_i y_i \right ) - y_i"
    assert check(SPECS / "softmax_xent_1.toml", formula).verdict == "incorrect"
    assert check(SOFTMAX, r"\frac{\partial L}{\partial o_i} = o_i - y_i").verdict == "incorrect"


def test_readings_of_o_that_disagree_are_not_judged() -> None:
    # o - y is ∂L/∂A (Wikipedia's o, a unit's output) and not ∂L/∂Z (the scores)
    with pytest.raises(FormulaError, match="cannot tell what the letters stand for"):
        check(SIGMOID_MSE, r"\frac{\partial L}{\partial o_i} = o_i - y_i")


def test_p_is_the_probabilities_only_where_the_output_gives_them() -> None:
    with pytest.raises(FormulaError, match="unknown symbol"):
        check(IDENTITY_MSE, r"\frac{\partial L}{\partial o_i} = p_i - y_i")


@pytest.mark.parametrize(
    ("letters", "written"),
    [
        (
            r"\frac{\partial L}{\partial o_i} = p_i - y_i",
            r"\frac{\partial L}{\partial z_i} = a_i - y_i",
        ),
        (
            r"\frac{\partial L}{\partial o_i} = o_i - y_i",
            r"\frac{\partial L}{\partial z_i} = z_i - y_i",
        ),
        (
            r"\frac{\partial L}{\partial o} = 2 (p - y)",
            r"\frac{\partial L}{\partial z} = 2 (a - y)",
        ),
    ],
)
def test_the_verdict_is_the_one_of_the_letters_written_out(letters: str, written: str) -> None:
    assert check(SOFTMAX, letters).verdict == check(SOFTMAX, written).verdict


def test_o_as_a_layer_name_is_left_to_the_layer_letters() -> None:
    # W^o, δ^o: o names the output layer there (latex_layers), not a value
    net = dense([3, 4, 2], [Activation("sigmoid")] * 2, "squared_error", batch=1)
    assert check(net, r"\frac{\partial L}{\partial W^o} = \delta^o (A^1)^T").correct


# --------------------------------------------------------------------------- CS231n's f
# CS231n's notes (Neural Networks Part 2, attribute classification): the scores f = W x,
# ∂L_i/∂f_j for sample i (corpus: cs231n-nn2-attribute-nll-gradient-sign, the sign wrong).


def test_cs231n_scores_and_the_samples_entries_are_read() -> None:
    spec = SPECS / "cs231n_multilabel.toml"
    wrong = check(spec, r"\partial{L_i} / \partial{f_j} = y_{ij} - \sigma(f_j)")
    assert wrong.verdict == "incorrect"
    assert "sign" in (wrong.diagnosis or "")
    assert any("'f' read as the scores Z_L" in n for n in wrong.notes)
    right = check(spec, r"\partial{L_i} / \partial{f_j} = \sigma(f_j) - y_{ij}")
    assert right.correct
    assert any("entry k of sample i's" in n for n in right.notes)


def test_f_applied_anywhere_is_the_activation_function() -> None:
    with pytest.raises(FormulaError):
        check(SOFTMAX, r"\frac{\partial L}{\partial f_k} = f'(f_k) - y_k")


# CS231n's notes (Linear classification, softmax): ∂L_i/∂f_k = p_k − 1(y_i = k), the
# indicator of sample i's label being class k (corpus: cs231n-notes-case-softmax-grad, on
# a batch network there); UFLDL's softmax regression writes 1{y = k}.


@pytest.mark.parametrize(
    ("formula", "correct"),
    [
        (r"\frac{\partial L_i }{ \partial f_k } = p_k - \mathbb{1}(y_i = k)", True),
        (r"\frac{\partial L_i }{ \partial f_k } = \mathbb{1}(y_i = k) - p_k", False),
        (r"\frac{\partial L}{\partial z_k} = a_k - \mathbf{1}\{y = k\}", True),
        (r"\frac{\partial L}{\partial z_k} = a_k - \mathbb{1}\left(y = k\right)", True),
    ],
)
def test_the_indicator_of_the_labels_class_is_the_one_hot_entry(
    formula: str, correct: bool
) -> None:
    assert check(SOFTMAX, formula).correct == correct


def test_a_per_sample_loss_on_a_batch_network_is_checked_on_one_sample() -> None:
    """(Refused before round 7; now read on the network with a batch of one, said so:
    tests/test_one_sample_loss.py.)"""
    result = check("cs231n", r"\frac{\partial L_i }{ \partial f_k } = p_k - \mathbb{1}(y_i = k)")
    assert result.correct
    assert any("checked on one sample" in n for n in result.notes)
