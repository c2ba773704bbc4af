"""The checker reads NumPy backprop code as people write it (issue 13 §2, NumPy part).

Each real snippet is checked as its source has it (provenance in a comment) and in a wrong
variant: a reading is only worth having if the verdict it leads to is right both ways.
"""

from __future__ import annotations

import pytest

from derive.formula.check import Checker
from derive.formula.ir import Bin, Sym, T
from derive.formula.layer_indices import IntIndex
from derive.formula.parse import FormulaError
from derive.formula.snippets import number_layers


@pytest.fixture(scope="module")
def cs231n() -> Checker:
    return Checker("cs231n")  # row convention, ReLU then softmax, mean delta


@pytest.fixture(scope="module")
def nielsen() -> Checker:
    return Checker("nielsen")  # column convention, sigmoid layers


# cs231n/cs231n.github.io, neural-networks-case-study.md (commit 3d84654), as it stands
CASE_STUDY_DSCORES = """dscores = probs
dscores[range(num_examples),y] -= 1
dscores /= num_examples"""

CASE_STUDY_GATE = """dhidden = np.dot(dscores, W2.T)
# backprop the ReLU non-linearity
dhidden[hidden_layer <= 0] = 0"""

# mnielsen/neural-networks-and-deep-learning, src/network.py, Network.backprop (as it stands)
NIELSEN_OUTPUT = """delta = self.cost_derivative(activations[-1], y) * \\
    sigmoid_prime(zs[-1])
nabla_b[-1] = delta
nabla_w[-1] = np.dot(delta, activations[-2].transpose())"""

NIELSEN_LOOP = """for l in xrange(2, self.num_layers):
    z = zs[-l]
    sp = sigmoid_prime(z)
    delta = np.dot(self.weights[-l+1].transpose(), delta) * sp"""


@pytest.mark.parametrize(
    ("snippet", "wrong"),
    [
        (CASE_STUDY_DSCORES, CASE_STUDY_DSCORES.replace("-= 1", "+= 1")),
        (
            CASE_STUDY_DSCORES + "\ndW2 = np.dot(hidden_layer.T, dscores)",
            CASE_STUDY_DSCORES + "\ndW2 = np.dot(dscores.T, hidden_layer).T.T",
        ),
        (
            "dscores = probs.copy()\ndscores[range(N), y] -= 1\ndscores /= N\n"
            "dW2 = hidden.T.dot(dscores)",
            "dscores = probs.copy()\ndscores[range(N), y] -= 1\ndW2 = hidden.T.dot(dscores)",
        ),
        (CASE_STUDY_GATE, CASE_STUDY_GATE.replace("<= 0", "> 0")),
        ("dhidden[hidden_layer <= 0] = 0", "dhidden[hidden_layer >= 0] = 0"),
        (
            "dscores = probs; dscores[range(N), y] -= 1; dscores /= N\n"
            "db2 = np.sum(dscores, axis=0, keepdims=True)",
            "dscores = probs; dscores[range(N), y] -= 1; dscores /= N\n"
            "db2 = np.sum(dscores, axis=1, keepdims=True).T",
        ),
    ],
)
def test_cs231n_case_study_lines(cs231n: Checker, snippet: str, wrong: str) -> None:
    """Several lines, in-place updates, one-hot labels, the ReLU gate, real names."""
    right = cs231n.check(snippet, "python")
    assert right.correct, right
    assert any(n.startswith("read ") for n in right.notes)  # the reading is said
    try:
        bad = cs231n.check(wrong, "python")
    except FormulaError:
        pytest.fail(f"the wrong variant should be read: {wrong!r}")
    assert not bad.correct, bad


def test_one_hot_on_the_wrong_axis_is_wrong(cs231n: Checker) -> None:
    """x[y, range(N)] puts the labels on the other axis of a row-convention network."""
    result = cs231n.check("dscores = probs\ndscores[y, range(N)] -= 1\ndscores /= N", "python")
    assert not result.correct


def test_the_checked_quantities_are_every_one_assigned(cs231n: Checker) -> None:
    """Earlier lines are definitions, and each quantity a snippet names is checked (issue
    13, round 2): a wrong earlier quantity is the one diagnosed."""
    ok = cs231n.check("dscores = probs - Y\ndscores /= N\ndW2 = hidden.T @ dscores", "python")
    assert ok.correct and ok.quantity == "δ_L, ∂L/∂W_2"
    bad = cs231n.check("dscores = probs - Y\ndscores *= N\ndW2 = hidden.T @ dscores", "python")
    assert not bad.correct and bad.quantity == "δ_L"
    tmp = cs231n.check("sp = probs - Y\nsp *= N\ndW2 = hidden.T @ sp", "python")
    assert not tmp.correct and tmp.quantity == "∂L/∂W_2"  # a temporary: only dW2 is named


@pytest.mark.parametrize(
    ("snippet", "wrong"),
    [
        (NIELSEN_OUTPUT, NIELSEN_OUTPUT.replace("activations[-2]", "activations[-1]")),
        (NIELSEN_LOOP, NIELSEN_LOOP.replace(".transpose(), delta", ", delta")),
        (NIELSEN_LOOP.split("\n", 1)[1], NIELSEN_LOOP.split("\n", 1)[1].replace("-l+1", "-l")),
        (
            "nabla_w[-l] = np.dot(delta, activations[-l-1].transpose())",
            "nabla_w[-l] = np.dot(delta, activations[-l].transpose())",
        ),
        (
            "nabla_w[-1] = np.dot(self.cost_derivative(activations[-1], y) * sigmoid_prime(zs[-1]),"
            " activations[-2].T)",
            "nabla_w[-1] = np.dot(self.cost_derivative(activations[-1], y) * sigmoid_prime(zs[-2]),"
            " activations[-2].T)",
        ),
        (
            "delta = np.multiply(np.dot(self.weights[-l+1].T, delta), sigmoid_prime(zs[-l]))",
            "delta = np.multiply(np.dot(self.weights[-l+1].T, delta), sigmoid(zs[-l]))",
        ),
    ],
)
def test_nielsen_per_layer_lists(nielsen: Checker, snippet: str, wrong: str) -> None:
    """zs[-1], activations[-2], self.weights[-l+1] and a delta without a layer number."""
    right = nielsen.check(snippet, "python")
    assert right.correct, right
    bad = nielsen.check(wrong, "python")
    assert not bad.correct, bad


@pytest.mark.parametrize(
    ("snippet", "wrong"),
    [
        # Ng's dnn_utils.relu_backward, its body as it stands (Z = cache)
        ("dZ = np.array(dA, copy=True)\ndZ[Z <= 0] = 0", "dZ = np.array(dA, copy=True)"),
        ("dZ = relu_backward(dA, activation_cache)", "dZ = sigmoid_backward(dA, activation_cache)"),
        ("dW = np.dot(A_prev.T, dZ)", "dW = np.dot(A_prev, dZ.T)"),
        ("dA_prev = np.dot(dZ, W.T)", "dA_prev = np.dot(dZ, W)"),
        ("dZ = np.where(Z > 0, dA, 0)", "dZ = np.where(Z > 0, 0, dA)"),
        ("dZ = dA * (np.maximum(Z, 0) > 0)", "dZ = dA * np.maximum(Z, 0)"),
    ],
)
def test_names_without_a_layer_number_are_layer_l(
    cs231n: Checker, snippet: str, wrong: str
) -> None:
    """A loop body's dZ, dA, W, A_prev: layer l's, checked for every layer (noted)."""
    right = cs231n.check(snippet, "python")
    assert right.correct, right
    assert any("layer l" in n for n in right.notes)
    assert not cs231n.check(wrong, "python").correct


def test_params_dict_and_self_attributes(cs231n: Checker) -> None:
    ok = cs231n.check("grads['W2'] = hidden.T.dot(dscores) + 0 * self.params['W2']", "python")
    assert ok.correct
    assert not cs231n.check(
        "grads['W2'] = hidden.T.dot(dscores) + self.params['W2']", "python"
    ).correct


def test_np_outer_and_transpose_method(nielsen: Checker) -> None:
    assert nielsen.check("dW2 = dZ2.dot(A1.transpose())", "python").correct
    assert not nielsen.check("dW2 = A1.dot(dZ2.transpose())", "python").correct


def test_unnumbered_names_next_to_a_fixed_layer_need_a_number() -> None:
    """dW = X.T @ dZ: which layer's dZ? Not guessed when the formula pins a layer."""
    parts = [Sym("dW", None), Bin("mat", T(Sym("X", None)), Sym("delta", None))]
    with pytest.raises(FormulaError, match="no layer number"):
        number_layers(parts, 2, generic=False)
    renumbered, words = number_layers(parts, 1, generic=False)
    assert renumbered[0].index == IntIndex(1) and words is not None


def test_ambiguous_names_ask_for_a_declaration(nielsen: Checker) -> None:
    with pytest.raises(FormulaError, match="--symbol"):
        Checker("cnn").check("dW1 = hidden.T @ dZ1", "python")
    # dout is δ_2 or ∂L/∂A_2 (both common, both fit): the checker cannot tell
    with pytest.raises(FormulaError, match="cannot tell: `dout`.*δ_2.*∂L/∂A_2"):
        nielsen.check("dZ2 = dout", "python")


def test_indexing_that_is_not_read_says_so(cs231n: Checker) -> None:
    with pytest.raises(FormulaError, match="indexing"):
        cs231n.check("dZ2 = probs[:, 0]", "python")
    with pytest.raises(FormulaError, match="only x\\[mask\\] = value"):
        cs231n.check("dZ1 = dA1\ndZ1[Z1 <= 0] *= 2", "python")


# -- syntax detection (derive check --syntax auto, the default) ------------------------------


@pytest.mark.parametrize(
    ("formula", "syntax", "sure"),
    [
        (r"\delta_1 = (W_2^T \delta_2) \odot \sigma'(Z_1)", "latex", True),
        ("dW_2 = \\frac{1}{m} \\delta_2 A_1^T", "latex", True),
        ("dW2 = np.dot(dZ2, A1.T) / m", "python", True),
        (CASE_STUDY_DSCORES, "python", True),
        ("dZ2 = A2 - Y", "python", False),  # the same in both: NumPy, said
        # Ng's bracketed layer in a superscript is LaTeX's, not NumPy's indexing (made up;
        # it was "read as LaTeX (it could be NumPy …)")
        ("dW^{[1]} = \\frac{1}{m} dZ^{[1]} X^T", "latex", True),
        ("dZ^{[2]} = A^{[2]} - Y", "latex", True),
        ("grads['dW1'] = dZ1 @ X.T / m", "python", True),
    ],
)
def test_detect_syntax(formula: str, syntax: str, sure: bool) -> None:
    from derive.formula.detect import detect_syntax

    assert detect_syntax(formula) == (syntax, sure)


def test_cli_detects_the_syntax_per_line(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from derive.cli import main

    lines = tmp_path / "f.txt"
    lines.write_text(
        "dW2 = np.dot(hidden_layer.T, dscores)\n"
        "\\delta_1 = (\\delta_2 W_2^T) \\odot relu'(Z_1)\n"
        "dW_2 = A_1^T \\delta_2 + 1\n",
        encoding="utf-8",
    )
    assert main(["check", "cs231n", "--file", str(lines)]) == 1
    out = capsys.readouterr().out
    assert "2 correct, 1 incorrect, 0 unreadable" in out
    # --syntax overrides: the LaTeX lines are not NumPy
    assert main(["check", "cs231n", "--file", str(lines), "--syntax", "python"]) == 2


def test_cli_says_which_syntax_it_chose(capsys) -> None:  # type: ignore[no-untyped-def]
    from derive.cli import main

    assert main(["check", "cs231n", "dZ2 = (A2 - Y) / N"]) == 0
    assert "read as NumPy (it could be LaTeX" in capsys.readouterr().out


def test_lower_case_w_without_a_number_is_not_guessed() -> None:
    """Ng's logistic regression: dw = np.dot(X, (A - Y).T) / m is right for w = W_1ᵀ, so a
    reading as derive's W_1 would call it wrong: both are tried and the shapes decide (the
    W_1 reading does not fit), never a wrong verdict (readpy4)."""
    one_layer = Checker("tests/corpus/specs/ng_logreg.toml")
    read = one_layer.check("dw = (1 / m) * np.dot(X, (A - Y).T)", "python")
    assert read.correct and any("W_1ᵀ (a weight column)" in n for n in read.notes)
    assert one_layer.check("dW = (1 / m) * np.dot((A - Y), X.T)", "python").correct
    assert not one_layer.check("dW = np.dot((A - Y), X.T)", "python").correct
