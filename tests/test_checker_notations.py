"""Notations of real sources the checker reads (tests/corpus/ is where they come from),
and the readings it refuses to guess.

Every formula here is one the checker could not read (or judged wrongly) before.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import derive
from derive.formula.check import Checker
from derive.formula.parse import FormulaError

SPECS = Path(__file__).parent / "corpus" / "specs"


@pytest.mark.parametrize(
    "formula",
    [
        r"\delta_2 &= (A_2 - Y) \odot \sigma'(Z_2) \tag{BP1}",  # alignment, equation tag
        r"\delta_2 = (A_2 - Y) \odot \sigma^{\prime}(Z_2)",  # primes as superscripts
        r"\delta_2 = (A_2 - Y) \odot \sigma^\prime(Z_2)",
        r"\delta_2 = (A_2 - Y) .* \sigma'(Z_2)",  # MATLAB's elementwise product
        r"\delta_2 = (\hat{y} - Y) \odot \sigma'(Z_2)",  # ŷ: the output
        r"\frac{\partial{L}}{\partial{W_2}} = \delta_2 A_1^T",  # braces after \partial
        r"\frac{\partial \mathcal{L}}{\partial W_2} = \delta_2 A_1^T",
        r"\frac{\partial E}{\partial W_2} = \delta_2 A_1^T",  # the loss named E
        r"\frac{\partial E}{\partial W_2} = \delta_2 · A_1^T",  # the middle dot
        r"\delta^l = \Sigma'(z^l) (w^{l+1})^T \delta^{l+1}",  # Nielsen's Σ'(z): diag(σ'(z))
    ],
)
def test_latex_notations_are_read(formula: str) -> None:
    result = Checker("nielsen").check(formula)
    assert result.correct, str(result)


@pytest.mark.parametrize(
    "formula",
    [
        r"\frac{\partial{L}}{\partial{W_2}} = A_1^T \delta_2",
        r"\delta^l = \Sigma'(z^{l+1}) (w^{l+1})^T \delta^{l+1}",
    ],
)
def test_a_wrong_formula_in_a_new_notation_is_still_wrong(formula: str) -> None:
    assert not Checker("nielsen").check(formula).correct


@pytest.mark.parametrize(
    "formula",
    ["dW1 = np.dot(dZ1, X.T) / m  # the gradient", "grad_w1 = np.dot(dZ1, X.T) / m"],
)
def test_numpy_comments_and_grad_names_are_read(formula: str) -> None:
    result = Checker("ng").check(formula, "python")
    assert result.correct, str(result)


def test_the_loss_of_one_sample_is_checked_on_one_sample() -> None:
    """∂C_0/∂W is per sample: on a batch network it is not ∂L/∂W; since round 7 it is
    checked on the network with a batch of one, and said so (tests/test_one_sample_loss.py)."""
    result = Checker("nielsen").check(r"\frac{\partial C_0}{\partial W_2} = \delta_2 A_1^T")
    assert result.correct
    assert any("checked on one sample" in note for note in result.notes)


def test_one_unit_layers_multiply_as_numbers() -> None:
    """3Blue1Brown's chain rule on a network of one neuron per layer (a real entry)."""
    checker = Checker(derive.load(str(SPECS / "scalar_sig_sq.toml")))
    formula = (
        r"\frac{ \partial C_0 }{ \partial w^{(L)} } = 2( a^{(L)}-y) \sigma' (z^{(L)}) a^{(L-1)}"
    )
    result = checker.check(formula)
    assert result.correct, str(result)
    wrong = r"\frac{ \partial C_0 }{ \partial w^{(L)} } = 2( a^{(L)}-y) \sigma' (z^{(L)}) a^{(L)}"
    assert not checker.check(wrong).correct


# --------------------------------------------------------------------------- numbering

DENNY = str(SPECS / "denny.toml")  # deltas numbered from the input: delta3 is the output's


def test_a_delta_the_network_has_not_is_read_in_the_numbering_that_has_it() -> None:
    """delta3 in a 2-layer network: the only numbering that reads it decides (z1 is no
    Z_0 in the other one)."""
    result = Checker(derive.load(DENNY)).check(
        "delta2 = delta3.dot(W2.T) * (1 - np.tanh(z1) ** 2)", "python"
    )
    assert result.correct, str(result)
    assert any("numbered" in n for n in result.notes)


def test_a_delta_read_two_ways_with_two_verdicts_is_not_guessed() -> None:
    """a1 is A_1 if only the deltas are renumbered, X if the input is layer 1."""
    with pytest.raises(FormulaError, match="numbering"):
        Checker(derive.load(DENNY)).check(
            "delta2 = delta3.dot(W2.T) * (1 - np.power(a1, 2))", "python"
        )


def test_a_numbering_whose_shapes_do_not_fit_is_not_the_one_meant() -> None:
    """Right as Denny numbers the deltas; as derive numbers them X.T δ_2 has the output's
    width, not W_1's shape, so that numbering cannot be what the author meant: the verdict
    is the fitting numbering's, said in a note (it was refused before the shapes were
    compared; the UFLDL case in test_latex_reading, whose shapes fit both ways, still is)."""
    result = Checker(derive.load(DENNY)).check("dW1 = np.dot(X.T, delta2)", "python")
    assert result.correct, str(result)
    assert any("deltas numbered from the input" in n for n in result.notes), result.notes


def test_numberings_that_disagree_are_not_guessed() -> None:
    """z_2 in Denny's notes is a bug (the fix wrote z_1); another numbering would hide it."""
    checker = Checker(derive.load(DENNY))
    with pytest.raises(FormulaError):
        checker.check(r"\delta_2 = (1 - \tanh^2z_2) \circ \delta_3W_2^T")
    fixed = checker.check(r"\delta_2 = (1 - \tanh^2z_1) \circ \delta_3W_2^T")
    assert fixed.correct, str(fixed)


def test_a_missing_one_over_m_is_still_named() -> None:
    """Right for one sample is not a numbering question: the 1/m is missing."""
    result = Checker("ng").check("dW1 = np.dot(dZ1, X.T)", "python")
    assert not result.correct
    assert "1/m" in (result.diagnosis or "")
