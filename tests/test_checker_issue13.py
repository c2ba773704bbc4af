"""Issue 13 §1 and §3: verdicts the checker got wrong, and what it says is wrong.

Each case failed on the main of the issue (a wrong verdict, an exit 2 where a verdict or a
diagnosis is due, or a diagnosis that did not name the mistake).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from derive import Activation, Loss, dense, derive
from derive.formula.check import Checker
from derive.formula.parse import FormulaError

SPECS = Path(__file__).parent / "specs"

# --------------------------------------------------------------------------- §1 verdicts


@pytest.mark.parametrize("spec", ["nielsen", "seed"])
def test_the_generic_activation_cotangent_of_a_network_with_an_output_cotangent(
    spec: str,
) -> None:
    """∂C/∂A_l = W_{l+1}ᵀ δ_{l+1} is a step of the layers that feed another; the output's
    own ∂C/∂A_L (from the loss) is no instance of it, so there is no W_{L+1} to miss."""
    checker = Checker(spec)
    right = checker.check(r"dA_{l} = W_{l+1}^T \delta_{l+1}")
    assert right.correct, str(right)
    wrong = checker.check(r"dA_{l} = W_{l+1} \delta_{l+1}")
    assert not wrong.correct


def test_a_cnn_bias_gradient_in_l_is_checked_on_the_conv_layers() -> None:
    """The printed ``∂L/∂b_l = (1/m) Σ_{n,i,j} (δ_l)_{n,:,i,j}`` sums feature maps: it is
    for the conv layers, not the dense one (whose δ is a matrix)."""
    checker = Checker("cnn")
    maps = r"\sum_{n,i,j} \left(\delta_{l}\right)_{n,:,i,j}"
    right = checker.check(r"\frac{\partial L}{\partial b_{l}} = \frac{1}{m} " + maps)
    assert right.correct, str(right)
    wrong = checker.check(r"\frac{\partial L}{\partial b_{l}} = " + maps)
    assert not wrong.correct


def test_the_answer_is_written_in_the_networks_own_widths() -> None:
    """A network of concrete widths gets its answer in them (``\\mathbf{1}_{2}``), not in
    the checker's internal width symbols (``n_1``), and the answer reads back CORRECT."""
    net = dense([1, 2], [Activation("softmax")], "squared_error")
    checker = Checker(net)
    printed = checker.check(r"\delta_1 = A_1 - Y")
    assert not printed.correct
    assert "n_{1}" not in printed.expected and "\\mathbf{1}_{2}" in printed.expected
    again = checker.check(printed.expected)
    assert again.correct, str(again)


def test_a_sum_without_keepdims_on_a_one_unit_layer_is_harmless() -> None:
    """NumPy's (1,) broadcasts as (1, 1): ``b2 - α·db2`` keeps b2's shape, so the gradient
    is right, with a note; on a wider layer it is Ng's bug, whatever the numbering."""
    checker = Checker("ng")  # the output layer has 1 unit
    one = checker.check("db2 = np.sum(dZ2, axis=1) / m", "python")
    assert one.correct, str(one)
    assert any("keepdims" in n for n in one.notes)
    wide = checker.check("db1 = np.sum(dZ1, axis=1) / m", "python")
    assert not wide.correct
    assert "keepdims=True" in (wide.shape_error or "")


def test_a_row_sum_without_keepdims_is_correct_with_a_note() -> None:
    """``np.sum(dZ1, axis=0)`` is (n,): it broadcasts as the (1, n) bias of the row
    convention, so the update keeps b's shape; the note says what NumPy does."""
    result = Checker("cs231n").check("db1 = np.sum(dZ1, axis=0)", "python")
    assert result.correct, str(result)
    assert any("keepdims" in n and "(1, n)" in n for n in result.notes)
    kept = Checker("cs231n").check("db1 = np.sum(dZ1, axis=0, keepdims=True)", "python")
    assert kept.correct and not kept.notes


def test_the_ambiguity_note_prints_and_does_not_leak() -> None:
    checker = Checker("cs231n")
    ambiguous = checker.check(
        r"\frac{\partial L}{\partial b_{1}} = \mathbf{1}_{N}^{T} \cdot \delta_{1}"
    )
    assert ambiguous.correct
    assert any(n.startswith("ambiguous: 2 readings") for n in ambiguous.notes)
    plain = checker.check(r"\frac{\partial L}{\partial b_{1}} = \mathbf{1}_{N}^{T} \delta_{1}")
    assert plain.correct and not plain.notes


def test_the_cnn_kernel_gradient_as_printed_reads_back() -> None:
    d = derive("cnn")
    result = Checker(d).check("dK1 = conv2d_back_kernel(X, delta1, 1, 0, 3) / m", "python")
    assert result.correct, str(result)


def test_an_unknown_layer_is_still_an_error_when_nothing_explains_it() -> None:
    with pytest.raises(FormulaError, match="W_9"):
        Checker("seed").check(r"\delta_{1} = (W_{9}^T \delta_{2}) \odot f'(Z_{1})")


# --------------------------------------------------------------------------- §3 diagnoses

TANH3 = dense(
    [3, 4, 5, 2],
    [Activation("tanh"), Activation("tanh"), Activation("sigmoid")],
    "binary_cross_entropy",
)
TANH2 = dense([3, 4, 2], [Activation("tanh"), Activation("sigmoid")], "binary_cross_entropy")
SOFTMAX = dense([3, 4, 5], [Activation("sigmoid"), Activation("softmax")], "cross_entropy")


def diagnosis(spec: object, formula: str, syntax: str = "latex") -> str:
    result = Checker(spec).check(formula, syntax)
    assert not result.correct, str(result)
    return result.diagnosis or ""


@pytest.mark.parametrize(
    "spec,formula,syntax,words",
    [
        # a layer index off by one, also where the symbol is not in the network at all
        (TANH3, r"\delta_2 = (W_3^T \delta_3) \odot \tanh'(Z_3)", "latex", "Z_3 where Z_2"),
        ("nielsen", r"\delta_1 = (W_2^T \delta_3) \odot \sigma'(Z_1)", "latex", "δ_3 where δ_2"),
        ("ng", "dZ1 = np.dot(W2.T, dZ3) * (1 - A1**2)", "python", "dZ3 where dZ2"),
        # f'(A) for f'(Z)
        (TANH3, r"\delta_2 = (W_3^T \delta_3) \odot \tanh'(A_2)", "latex", "pre-activation"),
        # (1 - A)^2 for 1 - A^2, and the square missing
        (TANH3, r"\delta_2 = (W_3^T \delta_3) \odot (1 - A_2)^2", "latex", "square is on A_2"),
        ("ng", "dZ1 = np.dot(W2.T, dZ2) * (1 - A1)**2", "python", "square is on A1"),
        ("ng", "dZ1 = np.dot(W2.T, dZ2) * (1 - A1)", "python", "the square is missing"),
        # ReLU's mask on a layer that is not ReLU (A > 0 ⇔ Z > 0 does not make it tanh')
        (TANH2, "dZ1 = (W2.T @ dZ2) * (A1 > 0)", "python", "ReLU's derivative"),
        # the sum over samples
        ("ng", "db1 = dZ1 / m", "python", "sum over samples is missing"),
        ("ng", r"db^{[1]} = \frac{1}{m} dZ^{[1]}", "latex", "sum over samples is missing"),
        # weight decay
        (SPECS / "decay.toml", "dW1 = dZ1 @ X.T", "python", "weight-decay term (λ/m) W1"),
        (SPECS / "decay.toml", r"dW_1 = \delta_1 X^T + \lambda W_1", "latex", "λ/m, not λ"),
        # softmax with the cross-entropy: the Jacobian cancels, no elementwise factor
        (SOFTMAX, r"\delta_2 = (A_2 - Y) \odot A_2 \odot (1 - A_2)", "latex", "softmax"),
        (SOFTMAX, "dZ2 = (A2 - Y) * A2 * (1 - A2)", "python", "not elementwise"),
    ],
)
def test_the_usual_mistakes_are_named(spec: object, formula: str, syntax: str, words: str) -> None:
    assert words in diagnosis(spec, formula, syntax)


@pytest.mark.parametrize(
    "spec,formula,syntax,first,second",
    [
        ("ng", "dW2 = np.dot(A1.T, dZ2)", "python", "1/m", "order"),
        (
            TANH3,
            r"\delta_1 = (W_1^T \delta_1) \odot \tanh'(Z_1)",
            "latex",
            "W_1 where",
            "δ_1 where",
        ),
        (SPECS / "decay.toml", r"dW_1 = X^T \delta_1 + \lambda W_1", "latex", "order", "λ/m"),
    ],
)
def test_two_mistakes_at_once_are_named_even_late_kinds(
    spec: object, formula: str, syntax: str, first: str, second: str
) -> None:
    """Pairs are tried by the sum of their ranks: a layer index or the decay factor (late
    in the list) is paired with every early mistake within the budget."""
    said = diagnosis(spec, formula, syntax)
    assert said.startswith("two mistakes"), said
    assert first in said and second in said


@pytest.mark.parametrize(
    "spec,formula,syntax",
    [
        ("nielsen", r"\frac{\partial L}{\partial b_1} = \delta_1", "latex"),
        ("cs231n", "db1 = dZ1", "python"),
    ],
)
def test_a_per_sample_formula_in_a_batch_network_is_named(
    spec: str, formula: str, syntax: str
) -> None:
    """Right for one sample, as numbered: a verdict with its diagnosis, not an exit 2."""
    said = diagnosis(spec, formula, syntax)
    assert "right for one sample" in said and "sum over samples" in said


@pytest.mark.parametrize(
    "spec,formula,first,also",
    [
        ("cs231n", "dZ2 = A2 - Y", "a factor 1/m is missing", "per-sample delta definition"),
        ("ng", "dZ2 = (A2 - Y) / m", "a factor 1/m too many", "mean delta definition"),
    ],
)
def test_the_explanation_in_the_declared_delta_definition_comes_first(
    spec: str, formula: str, first: str, also: str
) -> None:
    result = Checker(spec).check(formula, "python")
    assert (result.diagnosis or "").startswith(first), str(result)
    assert any(also in n for n in result.notes), str(result)


def test_a_renumbering_that_fits_is_still_refused_but_says_what_is_off() -> None:
    """``δ_2 = (W_2ᵀ δ_3) ⊙ f'(Z_2)`` is UFLDL's formula (W_k feeds layer k+1): right in that
    numbering, so no verdict; the message names the index that is off in derive's."""
    with pytest.raises(FormulaError, match="W_2 where W_3 belongs"):
        Checker(TANH3).check(r"\delta_2 = (W_2^T \delta_3) \odot \tanh'(Z_2)")


def test_a_formula_right_for_one_sample_numbered_otherwise_gets_no_verdict() -> None:
    """Britz numbers deltas from the input and writes them per sample: ``∂L/∂b_2 = δ_3``
    names a δ_3 this network has not, and a layer-index diagnosis would call a right
    formula wrong; it stays an error naming the missing symbol."""
    britz = dense(
        [2, "n_h", 2],
        [Activation("tanh"), Activation("softmax")],
        Loss("cross_entropy", "sum"),
        convention="row",
        batch="N",
    )
    with pytest.raises(FormulaError, match="delta_3"):
        Checker(britz).check(r"\frac{\partial{L}}{\partial{b_2}} = \delta_3")
