"""a and z the other way round (issue 13 §1: never a wrong verdict).

Goodfellow et al., Bishop and Saito's *Deep Learning from Scratch* write a for the
pre-activation and z for the activation; Ng and Nielsen (and derive) the other way round.
A formula right only with the letters swapped cannot be judged without being told. The
snippets are made up in Saito's style (``a1 = np.dot(x, W1) + b1``, ``z1 = sigmoid(a1)``).
"""

from __future__ import annotations

import pytest

from derive import dense
from derive.formula.check import Checker
from derive.formula.letter_readings import LettersUnsure
from derive.formula.parse import FormulaError

# rows are samples, sigmoid hidden layer, softmax output, mean cross-entropy, δ = ∂L/∂Z
ROWS = dense([4, 5, 3], ["sigmoid", "softmax"], "cross_entropy", convention="row", delta="mean")


@pytest.mark.parametrize(
    "snippet",
    [
        "dW1 = np.dot(x.T, da1)",  # Saito's da1: the gradient at the pre-activation a1
        "da1 = sigmoid_grad(a1) * dz1",
    ],
)
def test_right_only_with_a_and_z_swapped_is_not_judged(snippet: str) -> None:
    with pytest.raises(LettersUnsure, match="cannot tell which letters"):
        Checker(ROWS).check(snippet, "python")


@pytest.mark.parametrize(
    "snippet,correct",
    [
        ("dW1 = np.dot(x.T, dz1)", True),  # derive's (Ng's) letters: dz1 is δ_1
        ("dz1 = np.dot(dz2, W2.T) * a1 * (1 - a1)", True),
        ("dW1 = np.dot(dz1, x.T)", False),  # wrong in both readings: a verdict, named
    ],
)
def test_formulas_in_the_usual_letters_keep_their_verdict(snippet: str, correct: bool) -> None:
    result = Checker(ROWS).check(snippet, "python")
    assert result.correct is correct
    if not correct:
        assert result.diagnosis and "no usual mistake" not in result.diagnosis


def test_the_refusal_says_how_to_declare() -> None:
    with pytest.raises(FormulaError) as err:
        Checker(ROWS).check("dW1 = np.dot(x.T, da1)", "python")
    assert "--symbol" in str(err.value)


@pytest.mark.parametrize("layer", [1, 2])
def test_generic_f_of_the_activation_is_named_not_refused(layer: int) -> None:
    """Issue 13 §3: f'(A) written for f'(Z) is a classic mistake to name (made up, seed)."""
    formula = rf"\delta_{layer} = (W_{layer + 1}^T \delta_{layer + 1}) \odot f'(A_{layer})"
    result = Checker("seed").check(formula, "latex")
    assert not result.correct
    assert f"f'(A_{layer}) is written where f'(Z_{layer}) belongs" in (result.diagnosis or "")
    right = formula.replace(f"f'(A_{layer})", f"f'(Z_{layer})")
    assert Checker("seed").check(right, "latex").correct
