"""Diagnoses that name the real mistake (issue 13 §3, round 9): an activation's backward
with a step's value where another belongs, ReLU's value for its mask, the product with the
gradient arriving left out; a weight gradient whose error lacks the layer's f'(Z); a size
read by its axis (len(Y)) that agrees with the other convention only by accident; a bias
gradient summed from a transposed δ; batch norm's σ_2 written beside Xc_2.

Every formula here is MADE UP, minimal, in the forms real code and notes use (the real
ones are in the corpus: yizt's tanh_backward, interviews.ai's Sigmoid, denggao's ReLU,
deepcourse's grad_wh, Deep-ML's bias gradient)."""

from __future__ import annotations

from pathlib import Path

import pytest

from derive import derive, load
from derive.formula.check import Checker

SPECS = Path(__file__).parent / "corpus" / "specs"
TANH_ROW = Checker(load(str(SPECS / "yizt_tanh.toml")))  # rows are samples, tanh hidden layer
NEURON = Checker(load(str(SPECS / "dml_neuron.toml")))  # one sigmoid unit, rows, mean MSE
CS231N = Checker(load("cs231n"))
NIELSEN = Checker(load("nielsen"))
NG = Checker(load("ng"))


def _said(checker: Checker, formula: str, syntax: str) -> str:
    result = checker.check(formula, syntax)
    assert result.verdict == "incorrect"
    assert result.diagnosis is not None
    return result.diagnosis


def test_tanh_backward_at_the_upstream_and_without_it_is_two_mistakes() -> None:
    """MADE UP: tanh' taken at dout, and dout never multiplied in (yizt's slip)."""
    code = "def tanh_backward(dout, cache):\n    x = cache\n    return 1 - np.tanh(dout) ** 2"
    said = _said(TANH_ROW, code, "python")
    assert said.startswith("two mistakes:")
    assert "dout (the gradient arriving at the output) is written where x" in said
    assert "the product with dout" in said and "is missing" in said


def test_relu_backward_keeping_the_value_for_the_mask() -> None:
    """MADE UP: np.where(x > 0, x, 0) is ReLU's value, its derivative's mask has 1 there."""
    code = (
        "def relu_backward(dout, cache):\n    x = cache\n"
        "    dx = np.where(x > 0, x, 0) * dout\n    return dx"
    )
    said = _said(CS231N, code, "python")
    assert "np.where(…, x, 0) keeps the value x" in said
    assert "0/1 mask" in said


def test_sigmoid_derivative_in_its_output_applied_to_its_input() -> None:
    """MADE UP: σ' = out (1 − out) written with the stored input x."""
    code = (
        "class Sigmoid:\n    def forward(self, x):\n        self.x = x\n"
        "        return 1 / (1 + np.exp(-x))\n\n    def backward(self, dout):\n"
        "        return dout * self.x * (1 - self.x)"
    )
    said = _said(NIELSEN, code, "python")
    assert "x (the step's input) is written where out (the step's output) belongs" in said


def test_a_right_backward_gets_no_slip() -> None:
    """MADE UP: the same class with σ(x) computed: CORRECT (the slips never make a verdict)."""
    code = (
        "class Sigmoid:\n    def forward(self, x):\n        self.x = x\n"
        "        return 1 / (1 + np.exp(-x))\n\n    def backward(self, dout):\n"
        "        s = 1 / (1 + np.exp(-self.x))\n        return dout * s * (1 - s)"
    )
    assert NIELSEN.check(code, "python").verdict == "correct"


@pytest.mark.parametrize(
    ("checker", "formula", "syntax", "z"),
    [
        (NG, "dW1 = np.dot(np.dot(W2.T, dZ2), X.T) / m", "python", "f'(Z1)"),
        (CS231N, "dW1 = X.T @ (dZ2 @ W2.T)", "python", "f'(Z1)"),
        (NIELSEN, r"\frac{\partial C}{\partial W_1} = (W_2^T \delta_2) X^T", "latex", "f'(Z_1)"),
    ],
)
def test_weight_gradient_without_the_layers_derivative(
    checker: Checker, formula: str, syntax: str, z: str
) -> None:
    """MADE UP: ∂L/∂A_1 (the next layer's δ through its weight) where δ_1 belongs in dW1."""
    said = _said(checker, formula, syntax)
    assert said.startswith(f"the factor f'(Z) of the layer is missing (⊙ {z})")


@pytest.mark.parametrize("size", ["len(Y)", "Y.shape[0]"])
def test_size_read_by_its_axis_is_no_convention(size: str) -> None:
    """MADE UP: np.mean divides by m, and so does len(Y): 1/m too many. (In the column
    convention len(Y) would count the one unit: right there only by that accident, which
    is said after it.)"""
    result = NEURON.check(f"db1 = np.mean(dZ1) / {size}", "python")
    assert result.verdict == "incorrect"
    assert result.diagnosis is not None and result.diagnosis.startswith("a factor 1/m too many")
    assert any("column-convention formula" in n for n in result.notes)


@pytest.mark.parametrize(
    ("formula", "syntax"),
    [
        ("db2 = delta2.T / m", "python"),
        (r"\frac{\partial L}{\partial b_{2}} = \delta_{2}^{T}", "latex"),
    ],
)
def test_bias_from_a_transposed_delta_quotes_it(formula: str, syntax: str) -> None:
    """MADE UP: δ_2ᵀ (one output unit) where the sum over samples belongs: the diagnosis
    quotes the transposed δ as written and says the transpose goes."""
    said = _said(NG, formula, syntax)
    assert "sum over samples" in said and "without the transpose" in said


BN_DA1 = (
    r"\frac{\partial L}{\partial A_{1}} = \frac{1}{N} \sum_{\text{rows}} \left(\frac{1}{N} "
    r"\sum_{\text{rows}} \left(\gamma_{2} \odot \left(\sigma_{2}\right)^{\circ -2} \odot Xc_{2} "
    r"\odot \delta_{2}\right) \oslash \sigma_{2} \odot Xc_{2} - \gamma_{2} \odot \delta_{2} "
    r"\oslash \sigma_{2}\right) + \left(\delta_{2} \odot \gamma_{2}\right) \oslash \sigma_{2} - "
    r"\frac{1}{N} \sum_{\text{rows}} \left(\gamma_{2} \odot \left(\sigma_{2}\right)^{\circ -2} "
    r"\odot Xc_{2} \odot \delta_{2}\right) \oslash \sigma_{2} \odot Xc_{2}"
)


def test_batch_norm_sigma_beside_xc_is_a_product() -> None:
    """MADE UP (the diagnosis grid's slip): the last ``⊘ σ_2 ⊙ Xc_2`` of batch norm's
    ∂L/∂A_1 written ``⊘ σ_2 Xc_2``, which reads as the sigmoid of Xc_2."""
    checker = Checker(derive("bn_mlp").network)
    assert checker.check(BN_DA1, "latex").verdict == "correct"
    slipped = BN_DA1.removesuffix(r"\sigma_{2} \odot Xc_{2}") + r"\sigma_{2} Xc_{2}"
    said = _said(checker, slipped, "latex")
    assert "Hadamard product ⊙ belongs" in said and "read as the sigmoid" in said


def test_where_with_swapped_branches_is_said_as_written() -> None:
    """MADE UP (Huber's loss, branches in each other's place): the same formula as the
    comparison turned, said as the snippet writes it: the branches of where are swapped."""
    from test_corpus_file import load_program  # (the corpus's own program reader)

    from derive.formula.program_check import ProgramChecker

    checker = ProgramChecker(load_program(str(SPECS / "programs" / "huber_tensorforce.toml")))
    code = (
        "huber_loss = np.where(np.abs(delta) < clip_loss, 0.5 * clip_loss ** 2"
        " + clip_loss * (np.abs(delta) - clip_loss), 0.5 * loss_per_instance)"
    )
    result = checker.check(code)
    assert result.verdict == "incorrect" and result.diagnosis is not None
    assert "the two branches of where(abs(delta) < clip_loss, …) are swapped" in result.diagnosis
    assert "abs(delta) > clip_loss" in result.diagnosis


@pytest.mark.parametrize(
    ("formula", "syntax"),
    [
        (r"\delta_1 = (W_2^T \delta_2) \odot \sigma'(W_2^T \delta_2)", "latex"),
        ("dZ1 = np.dot(W2.T, dZ2) * sigmoid_prime(np.dot(W2.T, dZ2))", "python"),
    ],
)
def test_derivative_taken_at_the_error_arriving(formula: str, syntax: str) -> None:
    """MADE UP: σ' of the backpropagated error (farzaa's slip), where σ'(Z_1) belongs: one
    mistake, not "σ' too many and f'(Z) missing"."""
    said = _said(NIELSEN, formula, syntax)
    assert "is taken at" in said and "pre-activation Z" in said
    assert not said.startswith("two mistakes")


@pytest.mark.parametrize(
    ("checker", "formula"),
    [
        (NG, "db2 = np.sum(np.dot(dZ2, A1.T), axis=1, keepdims=True) / m"),
        (CS231N, "db2 = np.sum(A1.T @ dZ2, axis=0, keepdims=True)"),
    ],
)
def test_bias_gradient_written_as_the_weight_gradient(checker: Checker, formula: str) -> None:
    """MADE UP: the weight gradient's product summed for a bias (cbow's slip)."""
    said = _said(checker, formula, "python")
    assert said.startswith("the factor A1ᵀ does not belong: that is the weight gradient's")


@pytest.mark.parametrize(
    ("formula", "syntax"),
    [
        (r"\delta_2 = (A_2 - Y) \odot \sigma'(Z_2)", "latex"),
        ("dZ2 = (A2 - Y) * sigmoid_prime(Z2)", "python"),
    ],
)
def test_extra_output_derivative_with_the_cross_entropy(formula: str, syntax: str) -> None:
    """MADE UP: the squared error's output δ on a sigmoid + cross-entropy network (Ng's):
    the diagnosis says why σ' is too many (it cancels with this loss)."""
    said = _said(NG, formula, syntax)
    assert "does not belong here" in said and "cancels, δ_L = A_L − Y" in said


@pytest.mark.parametrize(
    "formula",
    [
        r"\frac{\partial L}{\partial o_j} = \left(\sum_j p_j y_j\right) - y_j",
        r"\frac{\partial L}{\partial o_j} = \left(\sum_j y_j p_j\right) - y_j",
    ],
)
def test_sum_over_the_left_hand_sides_own_index(formula: str) -> None:
    """MADE UP (the Math SE question's slip, in another letter): Σ_j over the free index j
    sums p_j too, where p_j Σ_k y_k belongs; the factors' order under the sum is no
    mistake (their entries are numbers)."""
    checker = Checker(load(str(SPECS / "softmax_xent_1.toml")))
    said = _said(checker, formula, "latex")
    assert said.startswith("an entry index: the sum runs over j, the left-hand side's own")
    assert "softmax Jacobian" in said


def test_piecewise_gradient_off_by_a_shared_factor_and_one_branch() -> None:
    """MADE UP (tinynn's Huber slip, rewritten): divided by N twice, and the linear branch
    without δ: the shared 1/N and the branch's δ are two mistakes, said as such."""
    from test_corpus_file import load_program

    from derive.formula.program_check import ProgramChecker

    spec = SPECS / "programs" / "huber_tinynn_a77816a.toml"
    checker = ProgramChecker(load_program(str(spec)))
    code = (
        "err = predicted - actual\n"
        "small = np.abs(err) < self._delta\n"
        "n = predicted.shape[0]\n"
        "return (np.sign(err) * ~small + err * small) / n / n"
    )
    result = checker.check(code)
    assert result.verdict == "incorrect" and result.diagnosis is not None
    assert "two mistakes: it is 1/N times" in result.diagnosis
    assert "the factor delta is missing" in result.diagnosis
