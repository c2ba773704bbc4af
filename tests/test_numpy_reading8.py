"""NumPy reading, round 8: the reviewer's three reports (astype with a Python type, sign(Z)
written with comparisons, diagnoses in the user's names). The networks here are made up
for the tests (not corpus entries). Each test fails on the code before this round (said
per test)."""

from __future__ import annotations

import pytest

from derive.formula.answer import CheckResult
from derive.formula.check import Checker
from derive.formula.parse import FormulaError
from derive.formula.user_names import with_guessed_names
from derive.spec.reading import loads


def _net(first: str, width: int = 3) -> Checker:
    return Checker(
        loads(
            f"""
name = "made_up"
input = 4
[[layers]]
width = {width}
activation = {first}
[[layers]]
width = 2
activation = "sigmoid"
[loss]
name = "squared_error"
"""
        )
    )


RELU = _net('"relu"')
ABS = _net('{ name = "custom", expr = "abs(x)", symbol = "g" }')


@pytest.mark.parametrize(
    "formula",
    [
        "dZ1 = dA1 * (Z1 > 0).astype(float)",  # before: unknown name 'float'
        "dZ1 = (W2.T @ dZ2) * (Z1 > 0).astype(int)",
        "dZ1 = (W2.T @ dZ2) * (Z1 > 0).astype(dtype=float)",
        "mask = (Z1 > 0)\ndZ1 = (W2.T @ dZ2) * mask.astype(int)",
    ],
)
def test_astype_with_a_python_type_is_the_same_values(formula: str) -> None:
    assert RELU.check(formula, "python").correct


def test_astype_int_of_values_that_are_not_a_mask_is_refused() -> None:
    # (0.5 Z1).astype(int) truncates: it is not 0.5 Z1 (before: read as if it were)
    with pytest.raises(FormulaError, match=r"astype\(int\).*truncates"):
        RELU.check("dZ1 = (W2.T @ dZ2) * (0.5 * Z1).astype(int)", "python")


@pytest.mark.parametrize(
    "sign",
    [
        "((Z1 > 0).astype(float) - (Z1 < 0).astype(float))",
        "((Z1 > 0) * 1.0 - (Z1 < 0) * 1.0)",
        "np.sign(Z1)",
    ],
)
def test_sign_of_z_is_the_derivative_of_abs(sign: str) -> None:
    assert ABS.check(f"dZ1 = dA1 * {sign}", "python").correct


@pytest.mark.parametrize(
    "sign",
    [
        "((Z1 > 0).astype(float) - (Z1 < 0).astype(float))",  # before: "Z1 … A1 belongs"
        "((Z1 > 0) * 1.0 - (Z1 < 0) * 1.0)",
        "np.sign(Z1)",  # before: "the factor f'(Z) is missing"
    ],
)
def test_sign_of_z_on_a_relu_layer_is_the_wrong_derivative_not_z_for_a(sign: str) -> None:
    # sign(A1) = relu'(Z1) only because A1 ≥ 0; the mistake is the derivative itself
    result = RELU.check(f"dZ1 = dA1 * {sign}", "python")
    assert not result.correct
    assert result.diagnosis is not None
    assert "is not the derivative of the layer's activation" in result.diagnosis
    assert "A1 belongs" not in result.diagnosis and "missing" not in result.diagnosis
    assert "(…)" not in result.diagnosis  # the masks are shown: (Z1 > 0) − (Z1 < 0)


@pytest.mark.parametrize(
    ("formula", "said"),
    [
        ("delta1 = (W2.T @ delta1) * (Z1 > 0)", "delta1 where delta2 belongs"),
        ("delta_1 = (W2.T @ delta_1) * (Z1 > 0)", "delta_1 where delta_2 belongs"),
        ("dZ1 = (W2.T @ dZ1) * (Z1 > 0)", "dZ1 where dZ2 belongs"),
    ],
)
def test_a_diagnosis_says_the_users_delta_name(formula: str, said: str) -> None:
    # before: "dZ1 where dZ2 belongs" for a formula that writes delta1
    result = RELU.check(formula, "python")
    assert not result.correct
    assert result.diagnosis is not None and said in result.diagnosis


def test_a_note_says_the_users_delta_name() -> None:
    result = RELU.check("delta1 = (delta2 @ W2.T) * (Z1 > 0)", "python")
    said = " ".join([str(result.diagnosis), *result.notes])
    assert "delta2" in said and "dZ2" not in said


def test_a_name_read_by_its_spelling_is_said_as_written() -> None:
    result = CheckResult("incorrect", "δ_1", "", "numeric", "a transpose is missing on dZ2ᵀ")
    with_guessed_names(result, [("output_delta", "dZ2"), ("err", "(-dZ2)")])
    assert result.diagnosis == "a transpose is missing on output_delta (dZ2)ᵀ"


# ---------------------------------------------------------------- names by their role

# made up: one sample as a column, sigmoid layers, ½ Σ (a − y)² (Bot Academy's and
# Stack Overflow answers' shape of network)
SIG = Checker(
    loads(
        """
name = "made_up_sig"
convention = "column"
delta = "per_sample"
input = 4
batch = 1
[[layers]]
width = 3
activation = "sigmoid"
[[layers]]
width = 2
activation = "sigmoid"
[loss]
name = "squared_error"
reduction = "half_sum"
"""
    )
)
# made up: rows are samples, as hunkim's lab 10 (l1, l2 the layers' pre-activations)
SIG_ROWS = Checker(
    loads(
        """
name = "made_up_rows"
convention = "row"
delta = "per_sample"
input = "n_in"
batch = "N"
[[layers]]
width = "n_h"
activation = "sigmoid"
[[layers]]
width = "n_out"
activation = "sigmoid"
[loss]
name = "squared_error"
reduction = "half_sum"
"""
    )
)


def test_a_name_subtracted_from_the_output_is_the_targets() -> None:
    # before: l read as a number, the shapes fit no reading (unknown name 'delta_o')
    wrong = SIG.check("delta_o = o - l", "python")
    assert not wrong.correct
    assert wrong.diagnosis is not None and "f'(Z) of the layer is missing" in wrong.diagnosis
    assert any("`l` as Y" in n and "role" in n for n in wrong.notes)
    assert SIG.check("delta_o = (o - l) * o * (1 - o)", "python").correct


def test_the_targets_only_beside_the_output() -> None:
    # l beside the hidden activation is not the targets: no reading by its role
    with pytest.raises(FormulaError):
        SIG.check("delta_h = h - l", "python")


def test_the_d_prefix_ties_a_gradient_to_its_variable() -> None:
    # hunkim's d_l2 = diff * sigma_prime(l2): d_l2 is δ_2, so l2 is Z_2 (before: no
    # reading fit the shapes)
    result = SIG_ROWS.check("d_l2 = diff * sigma_prime(l2)", "python")
    assert result.correct
    assert any("`l2` as Z_2" in n and "d-prefix" in n for n in result.notes)
    # the same with a stray factor: wrong, said so
    wrong = SIG_ROWS.check("d_l2 = 2 * diff * sigma_prime(l2)", "python")
    assert not wrong.correct and "factor 1/2" in str(wrong.diagnosis)


def test_no_tie_where_the_variable_is_used_in_arithmetic() -> None:
    # h * (1 - h) is an activation's output form: the d-prefix and the structure disagree
    # (code names δ dh beside an activation h), so both readings are tried: no verdict
    with pytest.raises(FormulaError, match="cannot tell|declare"):
        SIG_ROWS.check("d_h1 = (d_h2 @ W2.T) * h1 * (1 - h1)", "python")


def test_an_activations_derivative_flag_by_position() -> None:
    # sigmoid(x, True) as Stack Overflow answers write it (before: "unknown function
    # sigmoid() with 2 argument(s)")
    assert SIG.check("dZ2 = (A2 - Y) * sigmoid(Z2, True)", "python").correct
    assert not SIG.check("dZ2 = (A2 - Y) * sigmoid(Z2, False)", "python").correct


# made up: one sigmoid neuron, rows are samples, a batch of 3 (deep-ml's question 25 shape)
NEURON = Checker(
    loads(
        """
name = "made_up_neuron"
convention = "row"
delta = "per_sample"
input = 2
batch = 3
[[layers]]
width = 1
activation = "sigmoid"
[loss]
name = "squared_error"
reduction = "mean"
"""
    )
)


def test_len_and_a_mean_without_axis_as_numpy_has_them() -> None:
    # len(y) is y.shape[0]; np.mean of an m×1 column is its sum over m (before: "unknown
    # function len()", "np.mean without axis= is not read")
    right = "db1 = (2 / len(Y)) * np.sum((A1 - Y) * A1 * (1 - A1), axis=0, keepdims=True)"
    assert NEURON.check(right, "python").correct
    assert NEURON.check("db1 = 2 * np.mean((A1 - Y) * A1 * (1 - A1))", "python").correct
    # deep-ml's bias gradient divides twice (2/len(labels) and the mean): wrong
    twice = "db1 = (2 / len(Y)) * np.mean((A1 - Y) * A1 * (1 - A1))"
    assert not NEURON.check(twice, "python").correct


def test_a_layer_number_beyond_the_network_is_no_layer_of_it() -> None:
    from derive.formula.guesses import readings

    # l8_delta (a source numbering its sub-layers) in a 2-layer network: every layer tried
    kind, found = readings("l8_delta", 2)
    assert kind == "a delta" and {r.text for r in found if not r.fallback} == {"dZ1", "dZ2"}
    # a number of the network stays itself or one less
    assert {r.text for r in readings("l2_delta", 2)[1] if not r.fallback} == {"dZ2", "dZ1"}


def test_gradients_spelled_with_a_layer_short_name() -> None:
    from derive.formula.guesses import readings

    # grad_wh: the hidden weights' gradient (before: no reading, "wh" not a weight word)
    assert [r.text for r in readings("grad_wh", 2)[1]] == ["dW1"]
    assert [r.text for r in readings("d_who", 3)[1]] == ["dW3"]
    # dSoft: at the softmax, before or after it: both tried, the shapes and verdicts decide
    assert [r.text for r in readings("dSoft", 2)[1]] == ["dZ2", "dA2"]


def test_a_name_in_its_activations_output_form_is_the_activation() -> None:
    # Bot Academy's delta_h = W.T @ delta_o * (h * (1 - h)): h(1 − h) is the sigmoid's
    # derivative written in its output, so h is A_1, not Z_1 (before: cannot tell)
    result = SIG.check("delta_h = np.transpose(w_h_o) @ delta_o * (h * (1 - h))", "python")
    assert result.correct
    assert any("`h` as A_1" in n and "output form" in n for n in result.notes)
    tanh = _net('"tanh"')
    assert tanh.check("dZ1 = (W2.T @ dZ2) * (1 - h**2)", "python").correct
    # the network's own Z stays Z: Z1(1 − Z1) is the mistake it is
    wrong = SIG.check("dZ1 = (W2.T @ dZ2) * Z1 * (1 - Z1)", "python")
    assert not wrong.correct
    # h in no output form: both readings are still tried (no verdict where they disagree)
    with pytest.raises(FormulaError, match="cannot tell"):
        SIG.check("dW2 = delta_o @ np.transpose(h)", "python")


def test_matmul_with_a_third_argument_is_still_a_matrix_product() -> None:
    # np.matmul(o, 1 - o, error) (a freeCodeCamp forum post): NumPy's third positional
    # argument is out=, so it computes o @ (1 - o) — wrong where ⊙ belongs (before:
    # "unknown function matmul() with 3 argument(s)")
    wrong = SIG.check("dZ2 = np.matmul(A2 - Y, A2 * (1 - A2), E)", "python")
    assert not wrong.correct
    assert SIG.check("dZ2 = (A2 - Y) * A2 * (1 - A2)", "python").correct


def test_an_error_named_by_its_spelling_may_be_the_residual_itself() -> None:
    # Made up (the form of many tutorials' linear regression): error = yhat - y, loss =
    # (error ** 2).mean(), so the bias gradient 2 * error.mean() is right. The name
    # `error` was read only as δ (which has the loss's 2/N in it) and the formula was
    # judged INCORRECT; with the residual among the readings, they disagree: no verdict.
    linreg = Checker(
        loads(
            """
name = "made_up_linreg"
convention = "row"
delta = "mean"
input = 1
batch = "N"
[[layers]]
width = 1
activation = "identity"
[loss]
name = "squared_error"
reduction = "mean"
"""
        )
    )
    with pytest.raises(FormulaError, match="cannot tell") as err:
        linreg.check("b_grad = 2 * error.mean()", "python")
    assert "A_1 − Y" in str(err.value)
    # written in derive's own names it is judged, and right
    assert linreg.check("db1 = 2 * (A1 - Y).mean()", "python").verdict == "correct"


def test_a_one_unit_layer_adds_no_spurious_transpose_to_a_diagnosis() -> None:
    # Ng's L2 cost (ng.toml, ng-c2w1-reg-cost) with its 1/2 dropped (made up). W3 is one
    # unit wide: as matrices, only W3ᵀ made the written sum fit, so the diagnosis said
    # "a factor 1/2 is missing; and a transpose is missing on W3" (‖W3‖² = ‖W3ᵀ‖²).
    # With the one-unit layer a number, one mistake explains it.
    from pathlib import Path

    import derive

    spec = Path(__file__).parent / "corpus" / "specs" / "ng_relu3_l2.toml"
    ng = Checker(derive.load(str(spec)))
    cost = "lambd * (np.sum(np.square(W1)) + np.sum(np.square(W2)) + np.sum(np.square(W3)))"
    got = ng.check(f"L2_regularization_cost = {cost} / m", "python")
    assert got.verdict == "incorrect"
    assert got.diagnosis == "a factor 1/2 is missing"
    assert ng.check(f"L2_regularization_cost = {cost} / (2 * m)", "python").correct
