"""NumPy reading, round 7: names and returned values read as real code writes them.

Each test fails on the code before this round (said per test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.formula.check import Checker
from derive.formula.guesses import readings, tokens
from derive.formula.parse import FormulaError
from derive.spec.reading import loads

# Trask's Grokking Deep Learning, ch. 6: rows are samples, a ReLU hidden layer.
GROKKING = """
name = "grokking_case"
convention = "row"
delta = "per_sample"
input = 3
batch = 1
[[layers]]
width = 4
activation = "relu"
[[layers]]
width = 1
activation = "identity"
[loss]
name = "squared_error"
reduction = "half_sum"
"""

# Ng's Machine Learning course, ex4: sigmoid layers, the logistic (cross-entropy) cost.
NG_ML = """
name = "ng_ml_case"
convention = "column"
delta = "per_sample"
input = 4
batch = "m"
[[layers]]
width = 3
activation = "sigmoid"
[[layers]]
width = 2
activation = "sigmoid"
[loss]
name = "binary_cross_entropy"
reduction = "mean"
"""


@pytest.fixture(scope="module")
def grokking() -> Checker:
    return Checker(loads(GROKKING, "grokking_case.toml"))


@pytest.fixture(scope="module")
def ng_ml() -> Checker:
    return Checker(loads(NG_ML, "ng_ml_case.toml"))


def test_a_two_between_letters_is_to() -> None:
    # before: relu2deriv -> relu, 2deriv (the split consumed the 2), so the derivative word
    # was lost and Trask's relu2deriv was read as relu itself
    assert tokens("relu2deriv") == ["relu", "to", "deriv"]
    assert tokens("h2o") == ["h", "to", "o"]  # hidden to output, not layer 2
    assert tokens("w1x2") == ["w", "1", "x", "2"]
    assert tokens("layer_1_delta") == ["layer", "1", "delta"]


@pytest.mark.parametrize("given", ["A1", "Z1"])
def test_relu2deriv_is_relus_derivative_at_z_or_a(grokking: Checker, given: str) -> None:
    # before: read as relu(x) and judged INCORRECT (a wrong verdict on Trask's own code)
    result = grokking.check(f"dZ1 = dZ2.dot(W2.T) * relu2deriv({given})", "python")
    assert result.correct
    assert any("relu2deriv" in n and "the same at Z and at A" in n for n in result.notes)


def test_relu2deriv_does_not_make_a_wrong_formula_right(grokking: Checker) -> None:
    result = grokking.check("dZ1 = dZ2.dot(W2.T) * relu2deriv(A1) * A1", "python")
    assert result.verdict == "incorrect"


def test_ngs_d_is_a_delta(ng_ml: Checker) -> None:
    # before: d and d3 were read as scalars ("the left-hand side must name a quantity")
    assert readings("d", 2)[0] == "a delta"
    result = ng_ml.check("d = (a - y)", "python")
    assert result.correct and any("read `d` as δ_2" in n for n in result.notes)
    assert ng_ml.check("d3 = A2 - Y", "python").correct  # numbered from the input
    assert ng_ml.check("d2 = W2.T @ d3 * A1 * (1 - A1)", "python").correct
    wrong = ng_ml.check("d3 = (A2 - Y) * A2 * (1 - A2)", "python")
    assert wrong.verdict == "incorrect" and any("read `d3` as δ_2" in n for n in wrong.notes)


def test_a_capital_d_stays_a_size(ng_ml: Checker) -> None:
    # D is a dimension in CS231n's code (N, D): not read as Ng's delta
    with pytest.raises(FormulaError, match="unknown symbol 'D'"):
        ng_ml.check("dZ2 = (A2 - Y) * D", "python")


# A tanh hidden layer and a softmax output, samples as rows (gy910210's network); and the
# same with two tanh hidden layers.
_TANH = """
name = "tanh_case"
convention = "row"
delta = "per_sample"
input = "n_0"
batch = "N"
{hidden}
[[layers]]
width = "n_9"
activation = "softmax"
[loss]
name = "cross_entropy"
reduction = "sum"
"""
_HIDDEN = '[[layers]]\nwidth = "n_{k}"\nactivation = "tanh"\n'


@pytest.fixture(scope="module")
def tanh_one() -> Checker:
    return Checker(loads(_TANH.format(hidden=_HIDDEN.format(k=1)), "tanh_one.toml"))


@pytest.fixture(scope="module")
def tanh_two() -> Checker:
    hidden = _HIDDEN.format(k=1) + _HIDDEN.format(k=2)
    return Checker(loads(_TANH.format(hidden=hidden), "tanh_two.toml"))


_PLUS = "output = self.forward(X)\nreturn (1.0 + np.square(output)) * top_diff"


def test_an_activation_objects_backward_with_a_slip_is_read(tanh_one: Checker) -> None:
    # gy910210 issue #2, a reader's tanh backward: before, the value (no f' form found) was
    # read as a gradient at any layer's input and refused
    assert tanh_one.check("dZ1 = (1.0 + np.square(A1)) * dA1", "python").verdict == "incorrect"
    result = tanh_one.check(_PLUS, "python")
    assert result.verdict == "incorrect" and result.quantity == "δ_1"
    assert "sign" in (result.diagnosis or "")
    assert any("self.forward(…) as A_1" in n and "tanh" in n for n in result.notes)
    right = tanh_one.check(_PLUS.replace("+", "-"), "python")
    assert right.correct and right.quantity == "δ_1"


def test_an_activation_object_at_one_of_two_layers_is_not_judged_wrong(tanh_two: Checker) -> None:
    # two tanh layers: which one the object is, the snippet does not say, and both give one
    # VJP (round 8, layer_vjp): judged as that function, wrong whichever layer it is
    wrong = tanh_two.check(_PLUS, "python")
    assert wrong.verdict == "incorrect"
    assert any("one VJP" in n for n in wrong.notes)
    assert tanh_two.check(_PLUS.replace("+", "-"), "python").correct


def test_an_object_with_weights_is_no_activation_object(tanh_one: Checker) -> None:
    snippet = "output = self.forward(X)\nreturn (1.0 + np.square(output)) * top_diff * self.W"
    with pytest.raises(FormulaError):
        tanh_one.check(snippet, "python")


# --- --quantity names what a snippet returns --------------------------------------------


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    from derive.cli import main

    try:
        code = main(["check", *argv])
    except SystemExit as exc:  # argparse and user errors exit through SystemExit
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


_YIZT = "def tanh_backward(next_dz, z):\n    return 1 - np.square(np.tanh(next_dz))"


def test_a_returned_value_unread_names_quantity(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # yizt's tanh_backward before its fix: read as the tanh step's VJP (round 8, layer_vjp)
    spec = tmp_path / "tanh.toml"
    spec.write_text(_TANH.format(hidden=_HIDDEN.format(k=1)))
    path = str(spec)
    code, said = _run(capsys, "--syntax", "python", path, _YIZT)
    assert code == 1 and "the vector-Jacobian product of the tanh step" in said
    # named with --quantity, its one return is the assignment: the verdict of the same
    # formula written whole
    code, said = _run(capsys, "--syntax", "python", "--quantity", "dZ1", path, _YIZT)
    written, _ = _run(capsys, "--syntax", "python", path, "dZ1 = 1 - np.square(np.tanh(next_dz))")
    assert code == written == 1
    assert "the value returned, read as dZ1 (--quantity)" in said
    right = _YIZT.replace("1 - np.square(np.tanh(next_dz))", "next_dz * (1 - np.tanh(z)**2)")
    code, said = _run(capsys, "--syntax", "python", "--quantity", "dZ1", path, right)
    assert code == 0 and "read as dZ1 (--quantity)" in said


def test_assign_returned_keeps_the_body_and_drops_the_header() -> None:
    from derive.formula.return_lines import assign_returned

    text = "def f(dA, Z):\n    s = sigmoid(Z)\n    return dA * s * (1 - s)"
    got = assign_returned(text, "dZ1")
    assert got is not None
    assert got.split("\n")[1:] == ["    s = sigmoid(Z)", "    dZ1 = dA * s * (1 - s)"]
    assert not got.split("\n")[0].strip()  # the header blanked, the columns kept
    assert assign_returned("def f(x):\n    return x, x", "dZ1") is None  # a tuple
    assert assign_returned("dZ1 = dA1", "dZ1") is None  # nothing returned


# --- five names read by their spelling; the name in doubt is the one named ---------------

_TRASK = "layer_1_delta=layer_2_delta.dot(weights_1_2.T)*relu2deriv(layer_1)"


def test_five_names_read_by_their_spelling(grokking: Checker) -> None:
    # Grokking Deep Learning ch. 6: five names derive does not know (before: at most three
    # were read, and relu2deriv was relu)
    result = grokking.check(_TRASK, "python")
    assert result.correct and result.quantity == "δ_1"
    for note in ("`layer_1_delta` as δ_1", "`weights_1_2` as W_2", "`layer_1` as A_1"):
        assert any(note in n for n in result.notes)
    assert grokking.check(_TRASK + " * 2", "python").verdict == "incorrect"


def test_cannot_tell_names_the_name_read_two_ways() -> None:
    # botacademy's weight update: h may be A_1 (right) or Z_1 (wrong); the other names are
    # read alike, so h is the one to declare (before: the first unknown name). (Its delta_h,
    # which writes h(1 − h), the sigmoid's output form, reads h as A_1 since round 8.)
    with pytest.raises(FormulaError, match=r"cannot tell: `h` .*--symbol h="):
        Checker("nielsen").check("w_h_o += -learn_rate * delta_o @ np.transpose(h)", "python")


# --- Ng's forward cache as a dictionary ---------------------------------------------------


@pytest.mark.parametrize(
    ("formula", "correct"),
    [
        # Ng's C1W3 (planar data): cache = {"Z1": Z1, "A1": A1, ...}; before, every
        # cache[...] was read as the linear cache (A_prev, W, b) and refused
        ("dZ1 = np.dot(W2.T, dZ2) * (1 - np.tanh(cache['Z1'])**2)", True),
        ('dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(cache["A1"], 2))', True),
        ("dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(cache['Z1'], 2))", False),
        ("dW = np.dot(dZ, cache[0].T) / m", True),  # the linear cache, by position
    ],
)
def test_a_cache_dictionary_is_read_by_its_keys(formula: str, correct: bool) -> None:
    assert Checker("ng").check(formula, "python").correct is correct


# --- reductions: an axis by position, np.squeeze of a sum ----------------------------------


@pytest.mark.parametrize(
    ("formula", "correct"),
    [
        # before: x.sum(0) dropped its positional axis and summed every entry, so
        # CS231n's correct db2 was judged INCORRECT
        ("db2 = dZ2.sum(0, keepdims=True)", True),
        ("db2 = dZ2.sum(1, keepdims=True)", False),  # the units' axis
        ("db2 = np.sum(dZ2, 0, keepdims=True)", True),
        ("db2 = dZ2.mean(0, keepdims=True) * N", True),
    ],
)
def test_an_axis_given_by_position(formula: str, correct: bool) -> None:
    cs231n = Checker("cs231n")
    written = cs231n.check(formula.replace("(0", "(axis=0").replace("(1", "(axis=1"), "python")
    assert written.correct is correct  # the same formula with axis= (read before too)
    assert cs231n.check(formula, "python").correct is correct


def test_squeeze_of_a_kept_sum_drops_the_axis_as_numpy_does() -> None:
    # Ng's db = np.squeeze(np.sum(dZ, axis=1, keepdims=True)) / m: shape (n,), as np.sum
    # without keepdims; before: "unknown function squeeze()"
    ng = Checker("ng")
    squeezed = ng.check("db1 = np.squeeze(np.sum(dZ1, axis=1, keepdims=True)) / m", "python")
    plain = ng.check("db1 = np.sum(dZ1, axis=1) / m", "python")
    assert squeezed.verdict == plain.verdict == "incorrect"
    assert "keepdims" in (squeezed.diagnosis or "") and squeezed.diagnosis == plain.diagnosis
    # samples as rows: the (n,) row broadcasts as the bias's own shape, as NumPy has it
    row = Checker("cs231n").check("db2 = np.squeeze(np.sum(dZ2, axis=0, keepdims=True))", "python")
    assert row.correct
    with pytest.raises(FormulaError, match="np.squeeze is read only on a sum"):
        ng.check("db1 = np.squeeze(dZ1) / m", "python")


# --- dW = dW + decay: the += update written out --------------------------------------------

_REG = """
name = "reg_case"
convention = "row"
delta = "mean"
input = "D"
batch = "N"
[[layers]]
width = "H"
activation = "relu"
[[layers]]
width = "C"
activation = "softmax"
[loss]
name = "cross_entropy"
reduction = "mean"
weight_decay = "lambda"
"""


@pytest.mark.parametrize(("term", "correct"), [("lambd/N * W2", True), ("lambd * W2", False)])
def test_a_decay_added_to_the_gradient_written_out(term: str, correct: bool) -> None:
    # before: "dW cannot appear on the right-hand side"; now as dW2 += term
    checker = Checker(loads(_REG, "reg_case.toml"))
    inplace = checker.check(f"dW2 += {term}", "python")
    written = checker.check(f"dW2 = dW2 + {term}", "python")
    assert inplace.correct is written.correct is correct
    assert written.diagnosis == inplace.diagnosis
    assert any("read as the gradient of the data term" in n for n in written.notes)


def test_quantity_does_not_rename_a_snippets_own_assignment(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = tmp_path / "tanh.toml"
    spec.write_text(_TANH.format(hidden=_HIDDEN.format(k=1)))
    snippet = "dZ1 = dA1 * (1 - A1**2)\nreturn dZ1"
    code, said = _run(capsys, "--syntax", "python", "--quantity", "dW2", str(spec), snippet)
    assert code == 0 and "--quantity" not in said  # dZ1 = … keeps its own left-hand side
    # a value the checker reads by its function's name: the user's --quantity wins
    named = "def tanh_backward(dA, z):\n    return dA * (1 - np.tanh(z)**2)"
    code, said = _run(capsys, "--syntax", "python", "--quantity", "dZ1", str(spec), named)
    assert code == 0 and "read as dZ1 (--quantity)" in said
