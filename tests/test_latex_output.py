"""The output's values written without their layer beside the labels (``dz = a - y``,
``latex_output``): read as the output layer's, and only where nothing else is numbered."""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.formula.check import Checker, CheckResult
from derive.formula.parse import FormulaError

NG_RELU3 = Path(__file__).parent / "corpus" / "specs" / "ng_relu3.toml"
NOTE = "read as the output layer's (layer L)"


def check(formula: str) -> CheckResult:
    return Checker(NG_RELU3).check(formula, "latex")


def test_the_learners_misquote_is_read_and_its_sign_named() -> None:
    # DeepLearning.AI community, 'Course 1 Week 4 Programming Assignment #2 Error', the
    # learner's quote of the lecture (corpus: dlai-forum-da-video-misquote)
    result = check(r"da = \left(\frac{y}{a}\right) + \left(\frac{1-y}{1-a}\right)")
    assert result.verdict == "incorrect"
    assert "sign" in (result.diagnosis or "")
    assert any(NOTE in n for n in result.notes)


@pytest.mark.parametrize(
    ("formula", "numbered", "correct"),
    [
        (  # Ng's lecture, as given
            r"da = -\frac{y}{a} + \frac{1-y}{1-a}",
            r"dA^{[L]} = -\frac{y}{a^{[L]}} + \frac{1-y}{1-a^{[L]}}",
            True,
        ),
        (r"dz = a - y", r"dZ^{[L]} = a^{[L]} - y", True),
        (
            r"\frac{\partial L}{\partial z} = \frac{1}{m} (a - y)",
            r"\frac{\partial L}{\partial z^{[L]}} = \frac{1}{m} (a^{[L]} - y)",
            True,
        ),
        (
            r"\frac{\partial L}{\partial z} = a - y",
            r"\frac{\partial L}{\partial z^{[L]}} = a^{[L]} - y",
            False,
        ),
        (r"dz = a \odot (1 - a) - y", r"dZ^{[L]} = a^{[L]} \odot (1 - a^{[L]}) - y", False),
    ],
)
def test_unnumbered_output_values_beside_the_labels(
    formula: str, numbered: str, correct: bool
) -> None:
    result = check(formula)
    assert result.correct == correct
    assert any(NOTE in n for n in result.notes)
    assert check(numbered).verdict == result.verdict  # as written with the layer [L]


@pytest.mark.parametrize(
    "formula",
    [
        r"da = W^T dz",  # no labels: which layer, it does not say
        r"dz_2 = a - y",  # a layer numbered: the others are not guessed
        r"dw = x (a - y)^T",  # a weight: the first layer's in logistic regression
    ],
)
def test_other_unnumbered_formulas_still_need_their_layer(formula: str) -> None:
    with pytest.raises(FormulaError, match="layer index"):
        check(formula)


# --------------------------------------------------------------------------- prose around
# A formula quoted from prose ends its sentence (". ", ", ") and may state its shape
# (raissi/backprop's docs: "= A_\ell^T G_\ell \in \mathbb{R}^{p_\ell \times p_{\ell+1}},").


@pytest.mark.parametrize(
    "formula",
    [
        r"dZ^{[L]} = a^{[L]} - y.",
        r"dZ^{[L]} = a^{[L]} - y,",
        r"dZ^{[L]} = a^{[L]} - y \in \mathbb{R}^{1 \times m}",
        r"dZ^{[L]} = a^{[L]} - y \in \mathbb{R}^{n^{[L]} \times m},",
        r"dZ^{[L]} \in \mathbb{R}^{1 \times m} = a^{[L]} - y",
    ],
)
def test_the_sentence_and_the_shape_around_a_formula_are_not_read(formula: str) -> None:
    assert check(formula).correct


def test_an_ellipsis_at_the_end_is_not_a_period() -> None:
    # (a product's ellipsis is read since round 7, so the formula now ends too early)
    with pytest.raises(FormulaError, match="unexpected|ends too early"):
        check(r"dZ^{[L]} = a^{[L]} - y ...")


# --------------------------------------------------------------------------- one sample's entries
# Beside the loss of sample i (L_i), y_{ij} is entry j of sample i: in a column network the
# literal entry (i, j) is the transpose of it, and the right formula was judged wrong.


@pytest.mark.parametrize(
    ("formula", "correct"),
    [
        (r"\frac{\partial L_i}{\partial z_j} = \sigma(z_j) - y_{ij}", True),
        (r"\frac{\partial L_i}{\partial z_j} = y_{ij} - \sigma(z_j)", False),
        (r"\frac{\partial L_i}{\partial z_j} = \sigma(z_j) - y_j", True),
    ],
)
def test_entries_of_the_sample_on_the_left_are_that_samples(formula: str, correct: bool) -> None:
    spec = Path(__file__).parent / "corpus" / "specs" / "cs231n_multilabel.toml"
    assert Checker(spec).check(formula, "latex").correct == correct


# --------------------------------------------------------------------------- one layer's update
# In a network of one layer (logistic regression), W and b updated without their layer are
# its own: W ← W − α dW.

NG_LOGREG = Path(__file__).parent / "corpus" / "specs" / "ng_logreg.toml"


@pytest.mark.parametrize(
    ("formula", "correct"),
    [
        (r"W = W - \frac{\alpha}{m} (\hat{y} - y) x^T", True),
        (r"W = W - \frac{\alpha}{m} x (\hat{y} - y)^T", False),
        (r"b := b - \alpha db", True),
        (r"W := W - \alpha dW", True),
    ],
)
def test_a_one_layer_networks_parameter_is_updated_without_its_layer(
    formula: str, correct: bool
) -> None:
    result = Checker(NG_LOGREG).check(formula, "latex")
    assert result.correct == correct
    assert any("W, b without a layer read as layer 1's" in n for n in result.notes)


def test_an_update_whose_shapes_do_not_fit_gets_no_verdict() -> None:
    """Cross Validated 377533, the skeleton's update (corpus:
    cv-377533-skeleton-update-sigma-prime): σ'(x) where σ'(z) belongs. σ'(X) is nₓ×m beside
    a 1×m factor and no usual mistake explains it: refused, naming the shapes."""
    with pytest.raises(FormulaError, match="shapes do not fit"):
        Checker(NG_LOGREG).check(r"W = W + \frac{\alpha}{m} (y-\hat{y}) \sigma ' (x) x", "latex")


def test_a_deeper_networks_parameter_still_needs_its_layer() -> None:
    with pytest.raises(FormulaError, match="updates a parameter with its layer"):
        check(r"W := W - \alpha dW")
