"""NumPy snippets as real code writes them (issue 13): names read by their spelling
(``error``, ``output_deltas``, ``dout``), tried against the network and named in the
answer; activation helpers called with ``derivative=True``; PyTorch and TensorFlow spellings
of the matrix product and the transpose.

Every verdict here is checked against derive's own formula written in derive's names, so
no expected output is computed by the code under test.
"""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from derive.formula.check import Checker
from derive.formula.guesses import readings, tokens
from derive.formula.parse import FormulaError
from derive.spec.reading import loads

# nielsen: 2 layers, sigmoid, quadratic cost, samples as columns;
#   δ_2 = (A2 - Y) ⊙ A2 ⊙ (1 - A2), δ_1 = (W2ᵀ δ_2) ⊙ σ'(Z1).


@pytest.fixture(scope="module")
def nielsen() -> Checker:
    return Checker("nielsen")


@pytest.fixture(scope="module")
def cs231n() -> Checker:
    return Checker("cs231n")


# (a formula with the author's names, the same formula in derive's names, a reading named)
SAME = [
    (
        "output_deltas = outputs * (1 - outputs) * (outputs - target)",
        "dZ2 = A2 * (1 - A2) * (A2 - Y)",
        "read `output_deltas` as δ_2",
    ),
    (
        "output_deltas = outputs - target",  # the factor σ'(Z2) is missing
        "dZ2 = A2 - Y",
        "read `outputs` as A_2",
    ),
    (
        # a delta from the next layer's, one layer down (Casper's `error`)
        "error = np.dot(W2.T, error) * sigmoid(Z1, derivative=True)",
        "dZ1 = np.dot(W2.T, dZ2) * sigmoid_prime(Z1)",
        "read `error` as δ_",  # δ_1 with δ_2 on its right, or the loop's δ_l
    ),
    (
        "error = np.dot(W2.T, error) * sigmoid(Z1)",  # σ where σ' belongs
        "dZ1 = np.dot(W2.T, dZ2) * sigmoid(Z1)",
        "read `error` as δ_",
    ),
    (
        "hidden_delta = np.dot(who.T, dZ2) * sigmoid(Z1, deriv=True)",
        "dZ1 = np.dot(W2.T, dZ2) * sigmoid_prime(Z1)",
        "read `who` as W_2",
    ),
    (
        "d_W1 = tf.matmul(d_l1, tf.transpose(X))",
        "dW1 = np.dot(dZ1, X.T)",
        "read `d_l1` as δ_1",
    ),
]


@pytest.mark.parametrize(("theirs", "ours", "note"), SAME)
def test_names_read_by_their_spelling(nielsen: Checker, theirs: str, ours: str, note: str) -> None:
    mine = nielsen.check(theirs, "python")
    derived = nielsen.check(ours, "python")
    assert mine.verdict == derived.verdict
    assert mine.diagnosis == derived.diagnosis
    assert any(n.startswith(note) for n in mine.notes), mine.notes


def test_a_wrong_formula_is_diagnosed_in_the_reading_used(nielsen: Checker) -> None:
    result = nielsen.check("output_deltas = outputs - target", "python")
    assert result.verdict == "incorrect"
    assert "f'(Z" in (result.diagnosis or "") and "missing" in (result.diagnosis or "")


def test_derivative_keyword_is_the_derivative(nielsen: Checker) -> None:
    # main read sigmoid(Z1, derivative=True) as σ(Z1): a correct formula judged wrong
    assert nielsen.check("dZ1 = (W2.T @ dZ2) * sigmoid(Z1, derivative=True)", "python").correct
    assert not nielsen.check("dZ1 = (W2.T @ dZ2) * sigmoid(Z1, derivative=False)", "python").correct
    with pytest.raises(FormulaError, match="keyword is not read"):
        nielsen.check("dZ1 = (W2.T @ dZ2) * sigmoid(Z1, scale=2)", "python")


@pytest.mark.parametrize(
    ("formula", "correct"),
    [
        ("dW2 = dZ2.mm(A1.t())", True),  # PyTorch
        ("dW2 = dZ2.matmul(A1.t()) / m", False),
        ("dW1 = tf.matmul(dZ1, tf.transpose(X))", True),  # TensorFlow
        ("dZ2 = np.divide(A2 - Y, 1) * A2 * (1 - A2)", True),
    ],
)
def test_torch_and_tf_spellings(nielsen: Checker, formula: str, correct: bool) -> None:
    assert nielsen.check(formula, "python").correct is correct


@pytest.mark.parametrize(
    ("formula", "both"),
    [
        ("dZ2 = dout", ("δ_2", "∂L/∂A_2")),  # dout: dL/dZ of an affine layer, dL/dA else
        ("db1 = np.sum(dRelu1, axis=1, keepdims=True)", ("δ_1", "∂L/∂A_1")),
        # error = target - output: minus the gradient in code that adds its updates
        ("error = (target - outputs) * outputs * (1 - outputs)", ("minus the gradient", "δ_2")),
        ("error = target - outputs", ("−∂L/∂A_2 (minus the gradient)", "δ_2")),
    ],
)
def test_readings_that_disagree_cannot_tell(nielsen: Checker, formula: str, both: tuple) -> None:
    with pytest.raises(FormulaError, match="cannot tell") as err:
        nielsen.check(formula, "python")
    assert all(word in str(err.value) for word in both), str(err.value)


def test_a_sign_flip_never_makes_a_formula_right(nielsen: Checker) -> None:
    # wrong in every reading (a factor 1 - a missing): incorrect, read as the plain delta
    result = nielsen.check("error = (outputs - target) * outputs", "python")
    assert result.verdict == "incorrect"
    assert any("read `error` as δ_2" in n for n in result.notes)


def test_a_name_without_a_reading_is_named(nielsen: Checker) -> None:
    with pytest.raises(FormulaError, match="unknown name 'frobnicate'"):
        nielsen.check("dZ2 = frobnicate * 2", "python")
    # the name after the one read by its spelling is the one reported
    with pytest.raises(FormulaError, match="unknown name 'frob'"):
        nielsen.check("d_l2 = frob * sigmoid_prime(Z2)", "python")


def test_declared_symbols_win_over_readings() -> None:
    net = """\
name = "case"
input = "n_0"
[[layers]]
width = "n_1"
activation = "relu"
[[layers]]
width = "n_2"
activation = "softmax"
[loss]
name = "cross_entropy"
[notation.symbols]
dout = "dZ_2"
"""
    checker = Checker(loads(net, "case.toml"))
    result = checker.check("dZ1 = W2.T @ dout * (Z1 > 0)", "python")
    assert result.correct
    assert not any("read `dout`" in n for n in result.notes)


def test_spelling() -> None:
    assert tokens("dLdTheta") == ["d", "ld", "theta"]
    assert readings("dLdTheta", 2)[0] == "a gradient on weights"
    assert tokens("layer_one_delta") == ["layer", "1", "delta"]
    assert tokens("deltao") == ["delta", "o"]
    kind, found = readings("weight_deltas", 2)
    assert kind == "a gradient on weights" and [r.text for r in found] == ["dW1", "dW2"]
    kind, found = readings("hidden_outputs", 3)
    assert [r.text for r in found] == ["A1", "A2"]
    assert [r.text for r in readings("w_h_o", 3)[1]] == ["W3"]
    kind, found = readings("del4", 3)  # numbered from the input: δ_3 (or a 4th layer)
    assert [r.text for r in found if not r.fallback] == ["dZ3"]
    assert readings("frobnicate", 2) == ("", [])


def test_unnumbered_names_in_a_fixed_layer_formula(nielsen: Checker) -> None:
    # Nielsen's network.py: `delta` without a number, the layer given by zs[-1]
    result = nielsen.check(
        "delta = self.cost_derivative(activations[-1], y) * sigmoid_prime(zs[-1])", "python"
    )
    assert result.correct and any("read `delta` as δ_2" in n for n in result.notes)
    result = nielsen.check("delta = self.cost_derivative(activations[-1], y)", "python")
    assert result.verdict == "incorrect"
    assert "f'(Z) of the layer is missing" in (result.diagnosis or "")


def test_dhidden_before_or_after_the_gate(cs231n: Checker) -> None:
    # CS231n reuses dhidden for the gated gradient: alone, it could be either
    with pytest.raises(FormulaError, match="cannot tell.*δ_1.*∂L/∂A_1"):
        cs231n.check("dW1 = np.dot(X.T, dhidden)", "python")
    gated = "dhidden = np.dot(dscores, W2.T)\ndhidden[hidden_layer <= 0] = 0"
    assert cs231n.check(gated, "python").correct


@pytest.mark.parametrize(
    ("formula", "correct"),
    [
        ("dW = np.dot(dZ, cache[0].T) / m", True),  # Ng's linear_backward
        ("dA_prev = np.dot(cache[1].T, dZ)", True),
    ],
)
def test_ngs_linear_cache(formula: str, correct: bool) -> None:
    result = Checker("ng").check(formula, "python")
    assert result.correct is correct
    assert any("Ng's cache (A_prev, W, b)" in n for n in result.notes)


def test_ngs_linear_cache_w_where_a_prev_belongs() -> None:
    # the shapes do not fit and no usual mistake explains it: no verdict (round 6)
    with pytest.raises(FormulaError, match="shapes do not fit"):
        Checker("ng").check("dW = np.dot(dZ, cache[1].T) / m", "python")


def test_a_gradient_dictionary_names_its_entries(nielsen: Checker) -> None:
    # Casper's change_w['W2'] is ∂L/∂W_2, as grads['W2'] is
    assert nielsen.check("change_w['W2'] = dZ2 @ A1.T", "python").correct
    assert not nielsen.check("change_w['W2'] = dZ2 @ A2.T", "python").correct


def test_nielsens_network2_cost_delta() -> None:
    xent = Checker("tests/corpus/specs/nielsen_xent.toml")
    # CrossEntropyCost.delta is the output delta of the network's own cost
    result = xent.check("delta = (self.cost).delta(zs[-1], activations[-1], y)", "python")
    assert result.correct and any("cost.delta" in n for n in result.notes)
    wrong = "delta = (self.cost).delta(zs[-1], activations[-1], y) * sigmoid_prime(zs[-1])"
    assert xent.check(wrong, "python").verdict == "incorrect"


def test_nielsens_sp_in_the_loop(nielsen: Checker) -> None:
    result = nielsen.check("delta = np.dot(self.weights[-l+1].transpose(), delta) * sp", "python")
    assert result.correct and any("read `sp` as f'(Z_l)" in n for n in result.notes)
    wrong = "delta = np.dot(self.weights[-l+1], delta) * sp"  # the transpose is missing
    # no reading fits the shapes: maybe a mistake, maybe a name meaning another thing
    with pytest.raises(FormulaError, match="no common reading of it fits the shapes"):
        nielsen.check(wrong, "python")


def test_a_called_name_is_no_quantity(nielsen: Checker) -> None:
    # sigma_prime(…) is a function (hunkim's labs): never read as a delta named sigma_…
    assert nielsen.check("dZ2 = (A2 - Y) * sigma_prime(Z2)", "python").correct
    with pytest.raises(FormulaError, match="unknown name 'sigma_prim'"):
        nielsen.check("dZ2 = (A2 - Y) * sigma_prim(Z2)", "python")


def test_reg_in_both_of_its_scales() -> None:
    # derive's loss adds λ/(2m)‖W‖²; code's reg is λ/m (0.5*reg*ΣW²) or λ/(2m) (reg*ΣW²)
    reg = Checker("tests/corpus/specs/cs231n_case_reg.toml")
    with pytest.raises(FormulaError, match="cannot tell: `reg`.*λ/m.*λ/\\(2m\\)"):
        reg.check("dW2 = hidden.T @ dscores + reg * W2", "python")
    wrong = reg.check("dW2 = hidden.T @ dscores - reg * W2", "python")  # wrong in both
    assert wrong.verdict == "incorrect"
    assert any("read `reg` as λ/m" in n for n in wrong.notes)
    assert reg.check("dW2 = hidden.T @ dscores + lambd / N * W2", "python").correct


def test_fresh_locals_need_no_reading(nielsen: Checker) -> None:
    # main read every assigned name outside the snippet first: unknown name 'tmp'
    snippet = "tmp = np.dot(W2.T, dZ2)\ndZ1 = tmp * sigmoid_prime(Z1)"
    assert nielsen.check(snippet, "python").correct
    assert not nielsen.check(snippet.replace("W2.T", "W2.T * 2"), "python").correct


def test_raschkas_minibatch_code(nielsen: Checker) -> None:
    """X_train[batch_idx], sigmoid_derivative_h, a statement over two bracketed lines."""
    snippet = "dZ1 = (np.dot(w_out.T, dZ2) *\n       sigmoid_derivative_h)"
    result = nielsen.check(snippet, "python")
    assert result.correct
    assert any("read `sigmoid_derivative_h` as f'(Z_1)" in n for n in result.notes)
    result = nielsen.check("dW1 = np.dot(dZ1, X_train[batch_idx].T) / num_samples", "python")
    assert not result.correct  # derive's dW1 has no 1/m here (a sum loss)
    assert any("X[batch_idx]" in n for n in result.notes)
    assert nielsen.check("dW1 = np.dot(dZ1, X_train[batch_idx].T)", "python").correct


def test_grokkings_outer_prod() -> None:
    single = Checker("tests/corpus/specs/grokking_linear.toml")
    assert single.check("weight_deltas = outer_prod(delta, input)", "python").correct
    with pytest.raises(FormulaError, match="fits the shapes"):  # transposed: maybe w is Wᵀ
        single.check("weight_deltas = outer_prod(input, delta)", "python")


# -- property: a reading never turns a verdict over -------------------------------------------

FORMULAS = [
    "dZ2 = (A2 - Y) * A2 * (1 - A2)",
    "dZ2 = (A2 - Y) * A2",
    "dZ2 = A2 - Y",
    "dZ1 = np.dot(W2.T, dZ2) * A1 * (1 - A1)",
    "dZ1 = np.dot(W2, dZ2) * A1 * (1 - A1)",
    "dW2 = np.dot(dZ2, A1.T)",
    "dW2 = np.dot(dZ2, A1.T) / m",
]
SPELLINGS = {
    "dZ2": ["output_deltas", "error", "delta_o", "d_l2", "output_error", "del2"],
    "dZ1": ["hidden_deltas", "delta_h", "hidden_error", "layer_1_delta"],
    "A2": ["outputs", "output", "final_outputs", "predictions", "o"],
    "A1": ["hidden_outputs", "ah", "layer_1"],
    "W2": ["who", "w_h_o", "weights_2"],
    "Y": ["target", "targets", "y_train", "training_set_outputs"],
    "dW2": ["weight_deltas_2", "dLdW2", "grad_w2"],
}


@settings(max_examples=15, deadline=None)
@given(st.data())
def test_a_reading_never_turns_a_verdict_over(data: st.DataObject) -> None:
    """Real names for derive's symbols: the verdict is derive's own, or no verdict at all."""
    checker = Checker("nielsen")
    formula = data.draw(st.sampled_from(FORMULAS))
    literal = checker.check(formula, "python").verdict
    renamed = formula
    for symbol, names in SPELLINGS.items():
        if re.search(rf"\b{symbol}\b", renamed) and data.draw(st.booleans()):
            renamed = re.sub(rf"\b{symbol}\b", data.draw(st.sampled_from(names)), renamed)
    try:
        verdict = checker.check(renamed, "python").verdict
    except FormulaError:
        return  # cannot tell, or no reading fits: no verdict, never a wrong one
    assert verdict == literal, (formula, renamed)


# --- several quantities in one snippet (round 2): every one is judged ---------------------
# cs231n: 2 layers, ReLU then softmax, samples as rows: dW2 = A1ᵀ δ_2, db2 = Σ_rows δ_2,
# δ_1 = (δ_2 W2ᵀ) ⊙ (Z1 > 0).

DW2 = "dW2 = np.dot(A1.T, dZ2)"
DW2_WRONG = "dW2 = np.dot(dZ2.T, A1)"  # the whole right side should be transposed
DB2 = "db2 = np.sum(dZ2, axis=0, keepdims=True)"
DB2_WRONG = "db2 = np.sum(dZ2, axis=1, keepdims=True)"  # summed over the wrong axis


def test_every_quantity_of_a_snippet_is_judged(cs231n: Checker) -> None:
    """A wrong first assignment makes the snippet incorrect (before: only the last line was
    checked, and this snippet was CORRECT)."""
    alone = cs231n.check(DW2_WRONG, "python")
    result = cs231n.check(f"{DW2_WRONG}\n{DB2}", "python")
    assert not alone.correct and not result.correct
    assert result.quantity == alone.quantity
    assert result.diagnosis == alone.diagnosis
    assert any("dW2" in n and "db2" in n for n in result.notes)


def test_the_first_wrong_one_in_snippet_order_is_diagnosed(cs231n: Checker) -> None:
    first = cs231n.check(DB2_WRONG, "python")
    result = cs231n.check(f"{DB2_WRONG}\n{DW2_WRONG}", "python")
    assert not result.correct and result.diagnosis == first.diagnosis
    assert result.quantity == first.quantity


def test_a_snippet_is_correct_when_every_quantity_is(cs231n: Checker) -> None:
    result = cs231n.check(f"{DW2}\n{DB2}\nreturn dW2, db2", "python")
    assert result.correct
    for line in (DW2, DB2):
        assert cs231n.check(line, "python").quantity in result.quantity


def test_a_quantity_is_judged_by_its_last_value(cs231n: Checker) -> None:
    """``dW2 = …`` then ``db2 = …`` then ``dW2 += …``: dW2 is judged as it ends."""
    wrong = cs231n.check(f"{DW2}\n{DB2}\ndW2 += 2 * W2", "python")
    assert not wrong.correct and "W_2" in wrong.quantity
    assert cs231n.check(f"dW2 = 2 * W2\n{DB2}\ndW2 = np.dot(A1.T, dZ2)", "python").correct


def test_a_misnamed_temporary_is_not_judged_as_its_name(cs231n: Checker) -> None:
    """jariasf's ``dW1 = dscores.dot(W2.T)`` then ``… dW1 * (fc1 > 0)``: dW1 is a temporary."""
    result = cs231n.check(
        "dW1 = np.dot(dZ2, W2.T) * (A1 > 0)\ndb1 = np.sum(dW1, axis=0, keepdims=True)", "python"
    )
    assert result.correct
    assert any("temporary" in n for n in result.notes)


@pytest.mark.parametrize(
    "snippet",
    [
        # (round 3: ``return (a - y) * sigmoid_prime(z)`` is read as δ_2, and a definition of
        # sigmoid_prime is refused for what it is: test_a_returned_value_is_read_by_its_form)
        "output = self.forward(X)\nreturn (1.0 - np.square(output)) * top_diff",
        "def relu_prime(z):\n    if z > 0:\n        return z\n    return 1",
    ],
)
def test_a_returned_value_names_no_quantity(nielsen: Checker, snippet: str) -> None:
    with pytest.raises(FormulaError, match="assigns no quantity"):
        nielsen.check(snippet, "python")


# --- np.sum without axis: a number (round 2) ---------------------------------------------


def test_sum_without_axis_on_a_one_unit_layer_is_the_bias_gradient() -> None:
    """Ng's logistic regression: ``db = 1/m np.sum(A - Y)``; one unit, so the sum of every
    entry is the sum over the samples (before: an error asking for an axis)."""
    checker = Checker("tests/corpus/specs/ng_logreg.toml")
    assert checker.check("db = (1 / m) * np.sum(A - Y)", "python").correct
    same = checker.check("db = (1 / m) * np.sum(A - Y, axis=1, keepdims=True)", "python")
    assert same.correct
    assert not checker.check("db = (2 / m) * np.sum(A - Y)", "python").correct


def test_sum_without_axis_on_a_wide_layer_names_the_mistake(cs231n: Checker) -> None:
    """A bias gradient summed over every entry is a number where a row is needed."""
    result = cs231n.check("db2 = np.sum(dZ2)", "python")
    assert not result.correct
    assert "sums every entry" in str(result.diagnosis) and "axis=0" in str(result.diagnosis)
    assert cs231n.check("db2 = np.sum(dZ2, axis=0, keepdims=True)", "python").correct


def test_a_number_from_a_sum_broadcasts_in_a_sum_of_matrices(cs231n: Checker) -> None:
    """``λ·np.sum(W2)`` added to a weight gradient is read (NumPy broadcasts the number)
    and is wrong: the weight-decay term is λ·W2."""
    result = cs231n.check("dW2 = np.dot(A1.T, dZ2) + 0.5 * np.sum(W2)", "python")
    assert not result.correct


def test_lambda_times_the_sum_of_the_weights_is_named() -> None:
    """The DLAI forum's ``(lambd * np.sum(W1)) / m``: the weight-decay term is λ·W1/m."""
    checker = Checker("tests/corpus/specs/ng_relu3_l2.toml")
    right = "dW1 = 1/m * np.dot(dZ1, X.T) + (lambd * W1) / m"
    assert checker.check(right, "python").correct
    result = checker.check(right.replace("(lambd * W1)", "(lambd * np.sum(W1))"), "python")
    assert not result.correct
    assert "np.sum(W1)" in str(result.diagnosis) and "weight-decay" in str(result.diagnosis)


# --- CS231n's layer API: dout, x, dx by the kind of layer (round 2) ----------------------
# Each is compared with the same formula in derive's own names at the generic layer l.

LAYER_API = [
    ("dx = dout * (x > 0)", "dZ = dA * (Z > 0)", "a ReLU's backward"),
    ("dx = dout\ndx[x <= 0] = 0", "dZ = dA * (Z > 0)", "a ReLU's backward"),
    ("dx = (x >= 0) * dout", "dZ = dA * (Z >= 0)", "a ReLU's backward"),
    ("dx = dout * (x < 0)", "dZ = dA * (Z < 0)", "a ReLU's backward"),  # wrong way round
    ("dx = dout.dot(w.T)", "dA_prev = dZ.dot(W.T)", "an affine layer's backward"),
    ("dx = dout.dot(w.T)\ndx = dx.reshape(x.shape)", "dA_prev = dZ.dot(W.T)", "affine"),
    ("dx = w.T.dot(dout)", "dA_prev = W.T.dot(dZ)", "an affine layer's backward"),  # wrong
    ("dw = X.T.dot(dout)", "dW = A_prev.T.dot(dZ)", "an affine layer's backward"),
    ("dw = dout.T.dot(x)", "dW = dZ.T.dot(A_prev)", "an affine layer's backward"),  # wrong
    ("db = dout.sum(axis=0)", "db = dZ.sum(axis=0)", "an affine layer's backward"),
]


@pytest.mark.parametrize(("snippet", "ours", "said"), LAYER_API)
def test_layer_api_names_are_read_by_the_kind_of_layer(
    cs231n: Checker, snippet: str, ours: str, said: str
) -> None:
    """Before: "unknown name 'dout'" or "cannot tell" (dout tried as δ and as ∂L/∂A)."""
    want = cs231n.check(ours, "python")
    got = cs231n.check(snippet, "python")
    assert got.verdict == want.verdict and got.quantity == want.quantity
    assert got.diagnosis == want.diagnosis
    assert any(said in n for n in got.notes)


# --- tuple unpacking (round 2): refused, saying why ---------------------------------------


@pytest.mark.parametrize(
    ("snippet", "said"),
    [
        (
            "dA_prev_temp, dW_temp, db_temp = linear_activation_backward(grads['dA2'], "
            "current_cache, activation='relu')",
            "linear_activation_backward(…) is not read: Ng's helper",
        ),
        (
            "dA_prev, dW, db = linear_backward(sigmoid_backward(dAL, caches[1]), caches[0])",
            "linear_backward(…) is not read: Ng's helper",
        ),
        ("dW2, db2 = compute(dZ2)", "one assignment a line"),
    ],
)
def test_a_tuple_unpacked_is_refused_with_the_reason(
    nielsen: Checker, snippet: str, said: str
) -> None:
    """Before: "unexpected ','" (or an unknown name) at the first comma."""
    with pytest.raises(FormulaError) as err:
        nielsen.check(snippet, "python")
    assert said in str(err.value)


# --- dW += (weight decay) with no dW = … before it (round 2) -----------------------------


@pytest.fixture(scope="module")
def decayed() -> Checker:
    """cs231n_case_reg: dW2 = A1ᵀ δ_2 + (λ/N) W2 (derived)."""
    return Checker("tests/corpus/specs/cs231n_case_reg.toml")


def test_an_update_adding_weight_decay_reads_dw_as_the_data_gradient(decayed: Checker) -> None:
    """``dW2 += λ/N·W2`` alone: before, "dW cannot appear on the right-hand side"."""
    whole = decayed.check("dW2 = np.dot(A1.T, dZ2) + (lambd / N) * W2", "python")
    result = decayed.check("dW2 += (lambd / N) * W2", "python")
    assert whole.correct and result.correct
    assert any("before its `+=`" in n for n in result.notes)
    wrong = decayed.check("dW2 += 2 * (lambd / N) * W2", "python")
    same = decayed.check("dW2 = np.dot(A1.T, dZ2) + 2 * (lambd / N) * W2", "python")
    assert not wrong.correct and wrong.diagnosis == same.diagnosis


def test_reg_in_an_update_is_still_ambiguous_in_scale(decayed: Checker) -> None:
    """``reg`` may be λ/N or λ/(2N) (the loss adds reg/2‖W‖² or reg‖W‖²): cannot tell."""
    with pytest.raises(FormulaError, match="cannot tell: `reg`"):
        decayed.check("dW2 += reg * W2", "python")


# --- the one-hot labels subtracted make δ_L, whatever the name (round 2) ------------------


@pytest.mark.parametrize(
    ("snippet", "ours"),
    [
        ("dx = probs.copy()\ndx[np.arange(N), y] -= 1\ndx /= N", "dZ_L = (A2 - Y) / N"),
        ("dx = probs.copy()\ndx[np.arange(N), y] -= 1", "dZ_L = A2 - Y"),  # 1/N missing
        ("softmax_matrix[np.arange(N), y] -= 1\nsoftmax_matrix /= N", "dZ_L = (A2 - Y) / N"),
        ("prob_matrix[np.arange(N), y] += 1\nprob_matrix /= N", "dZ_L = (A2 + Y) / N"),  # sign
    ],
)
def test_labels_subtracted_from_the_softmax_make_the_output_delta(
    cs231n: Checker, snippet: str, ours: str
) -> None:
    """CS231n's softmax_loss (``dx``) and jariasf's ``softmax_matrix``: before, "the
    left-hand side must name a quantity" / "unknown name"."""
    want = cs231n.check(ours, "python")
    got = cs231n.check(snippet, "python")
    assert (got.verdict, got.quantity, got.diagnosis) == (
        want.verdict,
        want.quantity,
        want.diagnosis,
    )
    assert any("one-hot labels" in n for n in got.notes)


# --- pooling and convolutions as loops over windows: read by running them (round 7) ------


@pytest.mark.parametrize(
    "snippet",
    [
        "dA_prev[i, vert_start:vert_end, horiz_start:horiz_end, c] += "
        "np.multiply(mask, dA[i, h, w, c])",
        "dW[:,:,:,c] += a_slice * dZ[i, h, w, c]",
        "db[:,:,:,c] += dZ[i, h, w, c]",
    ],
)
def test_loops_over_windows_are_read_by_running_them(snippet: str) -> None:
    """Round 2 refused these (Ng's loop bodies); round 7 runs them (``window_check``)."""
    checker = Checker("tests/corpus/specs/cnn_ng.toml")
    result = checker.check(snippet, "python")
    assert result.verdict == "correct"
    assert "loops over the windows" in result.notes[-1]


# --- names without a layer number beside numbered ones (round 2) -------------------------


def test_unnumbered_names_take_the_layer_the_shapes_fit(cs231n: Checker) -> None:
    """``dZ = np.dot(dZ2, W2.T) * (Z > 0)``: dZ and Z can only be layer 1's (before: "delta
    has no layer number, and the formula names a fixed layer")."""
    got = cs231n.check("dZ = np.dot(dZ2, W2.T) * (Z > 0)", "python")
    want = cs231n.check("dZ1 = np.dot(dZ2, W2.T) * (Z1 > 0)", "python")
    assert got.correct and want.correct and got.quantity == want.quantity
    assert any("layer 1's" in n for n in got.notes)
    dw = cs231n.check("dW = np.dot(A1.T, dZ)", "python")
    assert dw.correct and dw.quantity == cs231n.check("dW2 = A1.T @ dZ2", "python").quantity


def test_unnumbered_names_never_make_an_incorrect_verdict(cs231n: Checker) -> None:
    """Read by the shapes, a wrong formula is refused (the author's dZ or Z may be another
    quantity: lazyprogrammer's Z is an activation), with what the reading says."""
    with pytest.raises(FormulaError, match="wrong way round") as err:
        cs231n.check("dZ = np.dot(dZ2, W2.T) * (Z < 0)", "python")
    assert "may mean another quantity" in str(err.value)


# --- round 3: what a `return` hands back, read as the quantity the function computes ---


@pytest.mark.parametrize(
    "returned, ours",
    [
        # Nielsen, network2.py, QuadraticCost.delta (mnielsen/neural-networks-and-deep-learning
        # src/network2.py; corpus nielsen-network2-py-quadratic-delta)
        ("return (a-y) * sigmoid_prime(z)", "dZ2 = (A2 - Y) * A2 * (1 - A2)"),
        # Nielsen's network.py cost_derivative times 2 (PR #79; corpus
        # nielsen-pr79-cost-derivative-times-2): read as δ_2 or ∂L/∂A_2, wrong in both
        ("return (output_activations-y) * 2", "dZ2 = (A2 - Y) * 2"),
    ],
)
def test_a_returned_value_is_read_by_its_form(nielsen: Checker, returned: str, ours: str) -> None:
    result = nielsen.check(returned, "python")
    assert result.verdict == nielsen.check(ours, "python").verdict
    assert any("value returned" in n for n in result.notes)


@pytest.mark.parametrize(
    "snippet",
    [
        "def relu_backward(dA, Z): return dA * (Z > 0)",
        "def relu_backward(dA, Z):\n    return dA * (Z > 0)",
        "relu_backward = lambda dA, Z: dA * (Z > 0)",
        "return dA * (Z > 0)",
    ],
)
def test_an_activation_backward_returns_dz(cs231n: Checker, snippet: str) -> None:
    """CS231n/Ng's relu_backward written as a function returning its value: δ_l, as
    ``dZ = dA * (Z > 0)`` is."""
    ours = cs231n.check("dZ = dA * (Z > 0)", "python")
    result = cs231n.check(snippet, "python")
    assert result.correct and ours.correct
    assert result.quantity == ours.quantity
    assert any("value returned" in n for n in result.notes)
    wrong = cs231n.check(snippet.replace("(Z > 0)", "(Z > 0) * 2"), "python")
    assert not wrong.correct and "factor" in (wrong.diagnosis or "")


def test_an_activation_backward_the_network_has_not(cs231n: Checker) -> None:
    with pytest.raises(FormulaError, match="no tanh layer"):
        cs231n.check("def tanh_backward(dA, Z): return dA * (1 - np.tanh(Z)**2)", "python")


def test_an_activation_derivative_definition_is_refused(nielsen: Checker) -> None:
    """dmelcaz's sigmoid_prime (corpus dmelcaz-sigmoid-prime-of-activation) is wrong only in
    how it is called: its definition alone is no verdict."""
    with pytest.raises(FormulaError, match="depends on what it is called with"):
        nielsen.check("def sigmoid_prime(x):\n\treturn sigmoid(x)*(1.0-sigmoid(x))", "python")


def test_a_returned_value_whose_readings_disagree_cannot_tell(nielsen: Checker) -> None:
    """`return (a-y)`: ∂L/∂A_2 on the quadratic cost (right) or δ_2 (wrong)."""
    with pytest.raises(FormulaError, match="cannot tell what the value returned is"):
        nielsen.check("return (a-y)", "python")


def test_a_prediction_named_after_y_is_the_output() -> None:
    """andersbll's ``-(Y - Y_pred)``: Y_pred is the output, not the targets."""
    kind, found = readings("Y_pred", 2)
    assert [r.text for r in found] == ["A2"]


def test_lines_that_double_the_one_before_are_refused_quickly(nielsen: Checker) -> None:
    """``a = x + x; b = a + a; …`` grows exponentially once names are replaced by what they
    hold: refused with the bound named (the program checker bounds it the same way)."""
    names = ["A1"] + [f"t{i}" for i in range(22)]
    lines = [f"{names[i + 1]} = {names[i]} + {names[i]}" for i in range(22)]
    start = time.perf_counter()
    with pytest.raises(FormulaError, match="operations; check a shorter snippet"):
        nielsen.check("\n".join([*lines, f"dZ1 = {names[-1]}"]), "python")
    assert time.perf_counter() - start < 5  # generous: it is refused before any check


# --- round 3 (continued): np.mean over the samples, returns.py against odd text ---


def test_a_mean_over_the_samples_is_the_sum_over_m() -> None:
    """``np.mean(dZ, axis=1, keepdims=True)``: the sum over the samples over m (as Ng's
    ``np.sum(dZ, axis=1, keepdims=True) / m``); kvfrans/notes backpropagation.ipynb
    ``d_b1 = jnp.mean(d_h2, axis=1)`` (corpus kvfrans-db1-mean, issue #5: d_h2 already
    carries the 1/m, so the mean divides twice)."""
    ng = Checker("tests/corpus/specs/ng_relu3.toml")
    ours = ng.check("db1 = np.sum(dZ1, axis=1, keepdims=True) / m", "python")
    for mean in (
        "db1 = np.mean(dZ1, axis=1, keepdims=True)",
        "db1 = dZ1.mean(axis=1, keepdims=True)",
        "db1 = np.sum(dZ1, axis=1, keepdims=True) / dZ1.shape[1]",
    ):
        assert ng.check(mean, "python").verdict == ours.verdict == "correct"
    assert not ng.check("db1 = np.mean(dZ1, axis=0, keepdims=True)", "python").correct
    # without an axis, every entry as NumPy has it (a number): wrong for a bias gradient
    # (round 8; it was refused before)
    every = ng.check("db1 = np.mean(dZ1)", "python")
    assert not every.correct and "without axis" in (every.diagnosis or "")
    kv = Checker("tests/corpus/specs/kvfrans_relu_mse.toml")
    twice = kv.check("d_b1 = jnp.mean(d_h2, axis=1, keepdims=True)", "python")
    assert not twice.correct and "factor" in (twice.diagnosis or "")
    assert kv.check("d_b1 = jnp.sum(d_h2, axis=1, keepdims=True)", "python").correct


_RELU = "dA * (Z > 0)"


@pytest.mark.parametrize(
    "template",
    [
        # a docstring holding a def or a return is text, not the function's (CS231n-style
        # helpers document their use in the docstring)
        'def relu_backward(dA, Z):\n    """\n    return dA * 2\n    """\n    return {v}',
        "def relu_backward(dA, Z):\n    '''\n    def relu_backward(dA, Z): return dA\n    '''\n"
        "    return {v}",
        "@staticmethod\ndef relu_backward(dA, Z):\n    return {v}",
        "def relu_backward(dA, Z, shape=(1, 2)):\n    return {v}",
        "def relu_backward(dA: np.ndarray, Z) -> Dict[str, int]:\n    return {v}",
    ],
)
def test_an_odd_def_header_is_read_as_its_body_says(cs231n: Checker, template: str) -> None:
    """returns.py reads ``def`` headers with regular expressions: docstrings, decorators
    that change nothing, defaults with brackets and annotations do not mislead it (the
    verdict follows the body: right as written, wrong with a factor 2)."""
    assert cs231n.check(template.format(v=_RELU), "python").correct
    assert not cs231n.check(template.format(v=f"{_RELU} * 2"), "python").correct


@pytest.mark.parametrize(
    "snippet, refusal",
    [
        # which function is judged? (the inner one, or the outer one returning its call)
        (
            f"def outer(dA, Z):\n    def relu_backward(dA, Z):\n        return {_RELU}\n"
            "    return relu_backward(dA, Z) * 2",
            "assigns no quantity",
        ),
        ("@jax.custom_vjp\ndef relu_backward(dA, Z):\n    return dA * (Z > 0)", "decorated"),
        ('s = """\ndef relu_backward(dA, Z): return dA * (Z > 0)\n"""', "column"),
        (f"def relu_backward(dA, Z):\n    return {_RELU} if Z.any() else 0", "no quantity"),
    ],
)
def test_an_odd_def_is_refused_not_misread(cs231n: Checker, snippet: str, refusal: str) -> None:
    with pytest.raises(FormulaError, match=refusal):
        cs231n.check(snippet, "python")


# --- round 3 (continued): a tuple unpacked from Ng's backward helpers ---


@pytest.fixture(scope="module")
def ng3() -> Checker:
    return Checker("tests/corpus/specs/ng_relu3.toml")


def test_a_tuple_from_linear_backward_is_its_documented_returns(ng3: Checker) -> None:
    """Ng's linear_activation_backward body, ``dA_prev, dW, db = linear_backward(dZ,
    linear_cache)`` (Kulbear/deep-learning-coursera, 'Building your Deep Neural Network -
    Step by Step.ipynb'): dW = dZ A_prevᵀ/m, db = Σ dZ/m, dA_prev = Wᵀ dZ at the cache's
    layer, judged as derive's own lines are."""
    line = "dA_prev, dW, db = linear_backward(dZ, linear_cache)"
    ours = ng3.check(
        "dW = np.dot(dZ, A_prev.T) / m\ndb = np.sum(dZ, axis=1, keepdims=True) / m\n"
        "dA_prev = np.dot(W.T, dZ)",
        "python",
    )
    result = ng3.check(line, "python")
    assert result.correct and ours.correct and result.quantity == ours.quantity
    assert any("documented returns" in n for n in result.notes)
    doubled = ng3.check(line.replace("(dZ,", "(dZ * 2,"), "python")
    assert not doubled.correct and "factor" in (doubled.diagnosis or "")


@pytest.mark.parametrize(
    "args, right",
    [
        # the hidden-layer call of Ng's L_model_backward written for layer 2 of 3 (the
        # corpus entries' `right`, e.g. ng-c1w4-L-model-backward-hidden-sigmoid, with the
        # layer shown): the cache's layer from Ng's caches list or the gradient's number
        ('dA2, caches[1], activation = "relu"', True),
        ('dA2, current_cache, activation = "relu"', True),
        # the corpus entry's mistake: the hidden (ReLU) layer differentiated as sigmoid
        ('dA2, caches[1], activation = "sigmoid"', False),
        # the gradient of another layer (fanghao PR #7's off-by-one key)
        ('dA1, caches[1], activation = "relu"', False),
    ],
)
def test_a_tuple_from_linear_activation_backward_is_read_at_its_layer(
    ng3: Checker, args: str, right: bool
) -> None:
    line = f"dA_prev_temp, dW_temp, db_temp = linear_activation_backward({args})"
    result = ng3.check(line, "python")
    assert result.correct is right
    assert "_2" in result.quantity
    if not right:
        said = (result.diagnosis or "") + (result.shape_error or "")
        assert "activation" in said or "layer index" in said


@pytest.mark.parametrize(
    "targets",
    [
        "dW2, dA1, db2",  # the order is (dA_prev, dW, db): dW2 would get dA1
        "dA1, db2, dW2",  # db and dW swapped
        "dA1, dW3, db3",  # layer 2's cache named as layer 3's gradients
        "dA0, dW2, db2",  # the previous layer's gradient named as another layer's
    ],
)
def test_a_tuple_whose_names_disagree_with_the_helpers_returns_is_not_correct(
    ng3: Checker, targets: str
) -> None:
    """Before: CORRECT, the unpacked names ignored (each value judged by its position):
    ``dW2, dA1, db2 = linear_activation_backward(dA2, caches[1], "relu")`` said right."""
    line = f'{targets} = linear_activation_backward(dA2, caches[1], activation="relu")'
    with pytest.raises(FormulaError, match="returns \\(dA_prev, dW, db\\) in this order"):
        ng3.check(line, "python")
    right = ng3.check(
        'dA1, dW2, db2 = linear_activation_backward(dA2, caches[1], activation="relu")', "python"
    )
    assert right.correct


def test_a_tuple_from_a_helper_whose_layer_is_not_shown_is_still_refused(ng3: Checker) -> None:
    """enggen/Deep-Learning-Coursera PR #11's loop body (corpus enggen-pr11-hidden-loop):
    the gradient is a grads key built with str(), the layer the loop's; not read."""
    line = (
        'dA_prev_temp, dW_temp, db_temp = linear_activation_backward(grads["dA" + str(L-1)], '
        'current_cache, activation="relu")'
    )
    with pytest.raises(FormulaError, match="tuple unpacked from linear_activation_backward"):
        ng3.check(line, "python")


# --- round 3 (continued): helpers named after an activation (applySigmoid, der_sigmoid) ---


def test_a_helper_whose_both_readings_are_wrong_is_judged() -> None:
    """farzaa/Neural-Network-From-Scratch (corpus farzaa-fancy-layer-one-delta):
    ``applySigmoid(x, True)`` is σ'(x) or x(1 − x) depending on the helper's version, and
    here it is given the error itself: wrong in either reading."""
    farzaa = Checker("tests/corpus/specs/farzaa2.toml")
    snippet = "layer_one_change_in_error = layer_one_error * applySigmoid(layer_one_error, True)"
    result = farzaa.check(snippet, "python")
    assert not result.correct
    assert any("`applySigmoid` as" in n for n in result.notes)


@pytest.mark.parametrize("helper", ["applySigmoid(Z1, True)", "der_sigmoid(A1)"])
def test_a_helper_whose_readings_disagree_cannot_tell(nielsen: Checker, helper: str) -> None:
    """``applySigmoid(x, True)`` (farzaa's) and ``der_sigmoid(x)`` (CV 464262's) take the
    pre-activation in one version and the activation in another: right in one reading,
    wrong in the other, so no verdict; with a factor 2 too, wrong in both."""
    with pytest.raises(FormulaError, match="cannot tell: `\\w+` is not a function"):
        nielsen.check(f"dZ1 = np.dot(W2.T, dZ2) * {helper}", "python")
    doubled = nielsen.check(f"dZ1 = np.dot(W2.T, dZ2) * {helper} * 2", "python")
    assert not doubled.correct and "factor" in (doubled.diagnosis or "")


def test_a_helper_named_after_an_activation_without_a_flag_is_the_activation(
    nielsen: Checker,
) -> None:
    result = nielsen.check("dZ1 = np.dot(W2.T, dZ2) * applySigmoid(Z1)", "python")
    ours = nielsen.check("dZ1 = np.dot(W2.T, dZ2) * sigmoid(Z1)", "python")
    assert not result.correct and result.diagnosis == ours.diagnosis
    kind, found = readings("applySigmoid", 2)
    assert found == []  # a name alone (not called) is no helper


def test_a_helpers_calls_must_agree_on_what_they_ask() -> None:
    from derive.formula.python_helpers import function_readings

    assert function_readings("applySigmoid", "d = applySigmoid(a, True) * applySigmoid(b)")[1] == []
    assert function_readings("applySigmoid", "d = applySigmoid(a, mode)")[1] == []
    assert len(function_readings("der_sigmoid", "d = der_sigmoid(np.dot(W, x))")[1]) == 2
    assert function_readings("sigmoid_tanh_mix", "d = sigmoid_tanh_mix(x)")[1] == []


def test_a_linear_layers_bprop_in_its_own_names_is_read_at_layer_l() -> None:
    """andersbll/nnet layers.py, Linear.bprop (issue #4, corpus
    andersbll-issue4-dw-minus-decay): ``output_grad`` is the gradient at the affine output,
    ``self.last_input`` the layer's input; the weight-decay term's sign is the mistake."""
    net = Checker("tests/corpus/specs/andersbll_wd.toml")
    snippet = "self.dW = np.dot(self.last_input.T, output_grad)/n - self.weight_decay*self.W"
    result = net.check(snippet, "python")
    assert not result.correct and "sign" in (result.diagnosis or "")
    assert any("`last_input` as A_(l-1)" in n for n in result.notes)
    plain = net.check("self.dW = np.dot(self.last_input.T, output_grad)/n", "python")
    ours = net.check("dW = np.dot(A_prev.T, dZ)/n", "python")
    assert plain.verdict == ours.verdict and plain.diagnosis == ours.diagnosis


def test_a_returned_gradient_through_a_weight_matrix_is_the_layers_input_gradient() -> None:
    """andersbll/nnet layers.py, Linear.bprop's ``return np.dot(output_grad, self.W.T)``
    (corpus andersbll-linear-input-grad): the gradient at the layer's input, ∂L/∂A_(l-1),
    as derive's ``dA_prev = dZ @ W.T`` is; with a factor 2, wrong."""
    net = Checker("tests/corpus/specs/andersbll.toml")
    ours = net.check("dA_prev = np.dot(dZ, W.T)", "python")
    result = net.check("return np.dot(output_grad, self.W.T)", "python")
    assert result.correct and ours.correct and result.quantity == ours.quantity
    assert not net.check("return np.dot(output_grad, self.W.T) * 2", "python").correct


# --- round 3 (continued): a bare expression proposed as an activation's derivative ---


def test_a_derivative_wrong_whatever_it_is_given_is_judged() -> None:
    """nicodjimenez/lstm issue #41 proposes ``1. + values**2`` as tanh's derivative
    (corpus lstm-issue41-tanh-derivative-plus): wrong given the activation (the sign of
    a²) and given z; judged as derive's ``dZ = dA * (1 + A**2)`` is."""
    tanh = Checker("tests/corpus/specs/yizt_tanh.toml")
    result = tanh.check("1. + values**2", "python")
    ours = tanh.check("dZ = dA * (1. + A**2)", "python")
    assert not result.correct and result.diagnosis == ours.diagnosis
    assert "sign" in (result.diagnosis or "")


@pytest.mark.parametrize(
    "expression, spec",
    [
        ("1. - values**2", "yizt_tanh"),  # right given the activation
        # iamtrask/iamtrask.github.io issue #25 (corpus
        # iamtrask-issue25-sigmoid-derivative-proposal): σ'(x) of x, right given z
        ("np.exp(-x)/((1 + np.exp(-x)) ** 2)", "iamtrask_1layer"),
    ],
)
def test_a_derivative_right_for_one_argument_is_refused(expression: str, spec: str) -> None:
    checker = Checker(f"tests/corpus/specs/{spec}.toml")
    with pytest.raises(FormulaError, match="it is right if `\\w+` is the"):
        checker.check(expression, "python")


# --- round 4: what the held-out set showed a new user meets (made-up snippets, in the
# spelling of SkalskiP's "numpy deep neural network" tutorial: NAME_curr / NAME_prev) ---


@pytest.mark.parametrize(
    ("theirs", "ours"),
    [
        # made up: each _curr/_prev name against the same formula in derive's names
        ("dW_curr = np.dot(dZ_curr, A_prev.T) / m", "dW = np.dot(dZ, A_prev.T) / m"),
        ("dW_curr = np.dot(dZ_curr, A_prev.T)", "dW = np.dot(dZ, A_prev.T)"),  # 1/m missing
        (
            "db_curr = np.sum(dZ_curr, axis=1, keepdims=True) / m",
            "db = np.sum(dZ, axis=1, keepdims=True) / m",
        ),
        ("dA_prev = np.dot(W_curr.T, dZ_curr)", "dA_prev = np.dot(W.T, dZ)"),
        ("dZ_curr = dA_curr * (Z_curr > 0)", "dZ = dA * (Z > 0)"),
        ("dZ_curr = dA_curr * Z_curr", "dZ = dA * Z"),  # wrong: Z for the ReLU's step
    ],
)
def test_curr_and_prev_suffixes_are_layer_l_and_l_minus_1(
    ng3: Checker, theirs: str, ours: str
) -> None:
    mine = ng3.check(theirs, "python")
    derived = ng3.check(ours, "python")
    assert mine.verdict == derived.verdict
    assert mine.diagnosis == derived.diagnosis
    assert any("_curr as layer l, _prev as layer l-1" in n for n in mine.notes), mine.notes


@pytest.mark.parametrize(
    ("snippet", "correct"),
    [
        # made up (SkalskiP's and Ng's output gradient, with the output named AL or Y_hat,
        # assigned to dA_prev before the loop takes it as its dA_curr): the last layer's
        ("dA_prev = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))", True),
        ("dA_prev = -(np.divide(Y, Y_hat) - np.divide(1 - Y, 1 - Y_hat))", True),
        ("dA_prev = -(np.divide(Y, AL) + np.divide(1 - Y, 1 - AL))", False),
        ("dZ_curr = Y_hat - Y", True),
    ],
)
def test_a_target_without_a_layer_whose_value_is_the_outputs_is_the_last_layers(
    ng3: Checker, snippet: str, correct: bool
) -> None:
    # the branch point judged the correct ones incorrect (∂L/∂A_(l-1) against A_L's terms)
    result = ng3.check(snippet, "python")
    assert result.correct is correct
    ours = ng3.check("dA3 = -(np.divide(Y, A3) - np.divide(1 - Y, 1 - A3))", "python")
    assert ours.correct
    assert any("the last layer's" in n for n in result.notes), result.notes


@pytest.mark.parametrize(
    ("theirs", "ours"),
    [
        # made up: a tensor class or constructor around an array keeps its values
        ("dZ2 = Tensor(A2 - Y) * A2 * (1 - A2)", "dZ2 = (A2 - Y) * A2 * (1 - A2)"),
        ("dZ2 = torch.tensor(A2 - Y)", "dZ2 = A2 - Y"),  # the factor σ'(Z2) missing
    ],
)
def test_a_tensor_wrapper_is_its_values(nielsen: Checker, theirs: str, ours: str) -> None:
    mine = nielsen.check(theirs, "python")
    derived = nielsen.check(ours, "python")
    assert (mine.verdict, mine.diagnosis) == (derived.verdict, derived.diagnosis)


@pytest.mark.parametrize(
    "snippet",
    [
        # made up, in the form of a class-style layer (an activator object's backward)
        "dZ1 = self.activator.backward(A1) * np.dot(W2.T, dZ2)",
        "dZ2 = self.loss.gradient(A2, Y)",
    ],
)
def test_a_method_of_the_codes_own_class_is_refused_clearly(nielsen: Checker, snippet: str) -> None:
    with pytest.raises(FormulaError, match="method of the code's own class") as err:
        nielsen.check(snippet, "python")
    assert "write what it returns" in str(err.value)


@pytest.fixture(scope="module")
def saito() -> Checker:
    # Saito's two-layer net (rows are samples, sigmoid then softmax, mean cross-entropy)
    return Checker("tests/corpus/specs/dlfs_two_layer.toml")


@pytest.mark.parametrize(
    ("snippet", "ours"),
    [
        # made up, in Saito's names (dy: the gradient arriving at the output)
        ("dW2 = np.dot(A1.T, dy)", "dW2 = np.dot(A1.T, dZ2)"),
        ("dW2 = np.dot(A1.T, dy) / N", "dW2 = np.dot(A1.T, dZ2) / N"),
        ("dZ1 = np.dot(dy, W2.T) * A1 * (1 - A1)", "dZ1 = np.dot(dZ2, W2.T) * A1 * (1 - A1)"),
    ],
)
def test_dy_is_the_gradient_arriving_at_the_output(saito: Checker, snippet: str, ours: str) -> None:
    mine = saito.check(snippet, "python")
    derived = saito.check(ours, "python")
    assert (mine.verdict, mine.diagnosis) == (derived.verdict, derived.diagnosis)
    assert any("read `dy` as δ_2" in n for n in mine.notes), mine.notes


def test_a_guessed_name_with_letters_in_doubt_is_no_verdict(saito: Checker) -> None:
    # made up: right in Ng's letters (da1 = ∂L/∂a_1), wrong in Saito's (a1 = W1 x + b1, so
    # da1 is the gradient before the sigmoid): two guesses at once are no verdict
    with pytest.raises(FormulaError, match="cannot tell") as err:
        saito.check("da1 = np.dot(dy, W2.T)", "python")
    assert "Saito" in str(err.value) and "`dy` as δ_2" in str(err.value)


@pytest.mark.parametrize(
    ("update", "ours"),
    [
        # main corpus ng-c1w3-planar-update-W1 (deeplearning.ai C1W3 update_parameters)
        ("W1 = W1 - learning_rate * dW1", None),  # dW1 itself: correct
        # made up: the step written out, with or without its 1/m; lr, a private name
        ("W1 -= lr * np.dot(dZ1, X.T) / m", "dW1 = np.dot(dZ1, X.T) / m"),
        ("W1 -= lr * np.dot(dZ1, X.T)", "dW1 = np.dot(dZ1, X.T)"),
        (
            "_b2 = _b2 - learning_rate * np.sum(dZ2, axis=1, keepdims=True) / m",
            "db2 = np.sum(dZ2, axis=1, keepdims=True) / m",
        ),
    ],
)
def test_an_update_rule_checks_its_step_as_the_gradient(
    ng3: Checker, update: str, ours: str | None
) -> None:
    mine = ng3.check(update, "python")
    derived = ng3.check(ours, "python") if ours else None
    assert mine.verdict == (derived.verdict if derived else "correct")
    assert derived is None or mine.diagnosis == derived.diagnosis


@pytest.mark.parametrize(
    ("update", "refusal"),
    [
        ("W1 += lr * dW1", "climbs the loss"),  # made up: the sign of the step unknown
        ("W3 = W3 - 0.01 * dW3", "no learning rate"),  # made up: a number may be a factor
    ],
)
def test_an_update_rule_in_doubt_is_refused(ng3: Checker, update: str, refusal: str) -> None:
    with pytest.raises(FormulaError, match=refusal):
        ng3.check(update, "python")


@pytest.mark.parametrize(
    "snippet",
    [
        # made up: trask's nonlin(x, deriv=True) returns x * (1 - x) and is called with the
        # layer's output; a flag on sigmoid given an activation is that, or σ'(a)
        "dZ1 = np.dot(W2.T, dZ2) * sigmoid(A1, deriv=True)",
        "dz1 = np.dot(W2.T, dz2) * sigmoid(a1, derivative=True)",
    ],
)
def test_a_derivative_flag_on_an_activation_cannot_tell(nielsen: Checker, snippet: str) -> None:
    # the branch point judged it incorrect (σ'(A1) for σ'(Z1)): right in trask's convention
    with pytest.raises(FormulaError, match="cannot tell") as err:
        nielsen.check(snippet, "python")
    assert "a(1 − a)" in str(err.value) and "called with an activation" in str(err.value)
    # on the pre-activation the flag is σ'(Z1), as before
    assert nielsen.check("dZ1 = np.dot(W2.T, dZ2) * sigmoid(Z1, deriv=True)", "python").correct


@pytest.mark.parametrize(
    ("snippet", "readings"),
    [
        # made up: the weight-decay strength and the upstream gradient in other spellings,
        # tried in the readings of reg and grad
        ("dW2 = np.dot(A1.T, dscores) + reg_param * W2", ("λ/m", "λ/(2m)")),
        ("dW2 = np.dot(gradient, A1.T)", ("δ_2", "∂L/∂A_2")),
    ],
)
def test_more_spellings_are_tried_in_their_readings(snippet: str, readings: tuple) -> None:
    network = "tests/corpus/specs/cs231n_reg.toml" if "reg" in snippet else "nielsen"
    with pytest.raises(FormulaError, match="cannot tell") as err:
        Checker(network).check(snippet, "python")
    assert all(r in str(err.value) for r in readings), str(err.value)


def test_a_returned_value_not_read_says_what_stopped_it(ng3: Checker) -> None:
    # made up (SkalskiP's sigmoid_backward without its `sig = sigmoid(Z)` line): the answer
    # names the name that stopped the reading, not only that nothing is assigned
    with pytest.raises(FormulaError, match="unknown name 'sig'") as err:
        ng3.check("return dA * sig * (1 - sig)", "python")
    assert "returns a value" in str(err.value) and "returned_" not in str(err.value)


@pytest.mark.parametrize(
    ("snippet", "verdict"),
    [
        # made up: the body of Ng's sigmoid_backward without its def, in a network of ReLU
        # hidden layers and a sigmoid output under a squared error (its dA_L is derived):
        # wrong as a hidden layer's, right as the output's
        ("dZ = dA * sigmoid(Z) * (1 - sigmoid(Z))", None),
        ("dZ = dA * (Z > 0)", "correct"),  # the hidden layers' ReLU: as before
        ("dZ = dA * sigmoid(Z)", "incorrect"),  # wrong at every layer: judged
    ],
)
def test_a_formula_without_layers_right_only_at_the_last_layer_cannot_tell(
    snippet: str, verdict: str | None
) -> None:
    checker = Checker("tests/corpus/specs/genai_relu_sig.toml")
    if verdict is None:  # the branch point judged it incorrect
        with pytest.raises(FormulaError, match="cannot tell which layer"):
            checker.check(snippet, "python")
    else:
        assert checker.check(snippet, "python").verdict == verdict


def test_the_sigmoid_output_backward_without_layers_is_not_judged_a_hidden_layers(
    ng3: Checker,
) -> None:
    # made up: the body of Ng's C1W4 sigmoid_backward (ReLU hidden layers, a sigmoid
    # output under cross-entropy, whose δ_L derive forms with the loss): the branch point
    # judged it incorrect as a ReLU layer's
    body = "s = 1/(1+np.exp(-Z))\ndZ = dA * s * (1-s)"
    with pytest.raises(FormulaError, match="cannot tell which layer") as err:
        ng3.check(body, "python")
    assert "output layer's backward" in str(err.value)
    # a ReLU layer's body is judged as before, right or wrong
    assert ng3.check("dZ = dA * (Z > 0)", "python").correct
    assert ng3.check("dZ = dA * (Z > 0) * Z", "python").verdict == "incorrect"


@pytest.mark.parametrize(
    "snippet",
    [
        # made up, in the form of a layer-class loop (layer.delta, next_layer.weights)
        "layer.delta = np.dot(next_layer.weights, next_layer.delta) * sigmoid_prime(Z1)",
        "dZ1 = np.dot(next_layer.weights.T, dZ2) * sigmoid_prime(Z1)",
    ],
)
def test_a_layer_objects_attribute_is_refused_clearly(nielsen: Checker, snippet: str) -> None:
    with pytest.raises(FormulaError, match="attribute of the code's own layer object"):
        nielsen.check(snippet, "python")


@pytest.mark.parametrize(
    ("snippet", "ours"),
    [
        # main corpus ng-c1w2-logreg-dw-code (deeplearning.ai C1W2 propagate()): Ng's w is
        # the column n_x × 1, derive's W_1 transposed; the shapes say which reading fits
        ("dw = (1 / m) * np.dot(X, (A - Y).T)", "dW1 = (1 / m) * np.dot(A - Y, X.T)"),
        # made up: the 1/m missing; and dw written as derive's row W_1
        ("dw = np.dot(X, (A - Y).T)", "dW1 = np.dot(A - Y, X.T)"),
        ("dw = 1./m * np.dot(dZ, X.T)", "dW1 = 1./m * np.dot(dZ1, X.T)"),
    ],
)
def test_a_one_layer_weight_vector_is_read_as_its_shapes_say(snippet: str, ours: str) -> None:
    checker = Checker("tests/corpus/specs/ng_logreg.toml")
    mine = checker.check(snippet, "python")
    derived = checker.check(ours, "python")
    assert (mine.verdict, mine.diagnosis) == (derived.verdict, derived.diagnosis)
    assert any("read `dw` as ∂L/∂W_1" in n for n in mine.notes), mine.notes
