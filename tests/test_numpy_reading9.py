"""NumPy reading, round 9 (helper pyread9): PyTorch's ``dim=``/``keepdim=`` in a sum, the
one-hot labels ``np.eye(K)[y]``, the biases ``bo``/``bh`` beside ``wo``/``wh``, a ReLU's
backward in a layer API's names on a convolutional network, and an affine layer's ``dout``
on a network whose δ is per sample read both ways it is passed. The networks and snippets
here are made up for the tests (not corpus entries); each test fails on the code before this
round (said per test), but for the guards, which say what must stay as it was."""

from __future__ import annotations

import pytest

from derive.formula.check import Checker
from derive.formula.parse import FormulaError
from derive.spec.reading import loads


def _net(convention: str, delta: str = "per_sample", reduction: str = "mean") -> Checker:
    """A made-up two-layer softmax network (tanh hidden layer, 10 classes)."""
    return Checker(
        loads(
            f"""
name = "made_up"
convention = "{convention}"
delta = "{delta}"
input = "n_in"
batch = "N"
[[layers]]
width = "n_h"
activation = "tanh"
[[layers]]
width = 10
activation = "softmax"
[loss]
name = "cross_entropy"
reduction = "{reduction}"
"""
        )
    )


ROW = _net("row")
COLUMN = _net("column")


# --- torch.sum(x, dim=0): before, dim= was dropped and the sum read over every entry ---


@pytest.mark.parametrize(
    "snippet",
    [
        "db2 = torch.sum(dZ2, dim=0) / N",
        "db2 = torch.sum(dZ2, dim=0, keepdim=True) / N",
        "db2 = dZ2.sum(dim=0) / N",
    ],
)
def test_a_torch_sum_over_dim_is_the_sum_over_that_axis(snippet: str) -> None:
    """Fails before: INCORRECT, 'np.sum without axis sums every entry'."""
    numpy = ROW.check("db2 = np.sum(dZ2, axis=0) / N", "python")
    torch = ROW.check(snippet, "python")
    assert numpy.correct and torch.correct


def test_a_torch_sum_over_the_wrong_dim_is_the_wrong_axis() -> None:
    """Fails before (read as a sum of every entry, not over the units)."""
    result = ROW.check("db2 = torch.sum(dZ2, dim=1, keepdim=True) / N", "python")
    assert not result.correct and "axis" in (result.diagnosis or "")


def test_a_keyword_a_sum_does_not_read_is_refused_not_dropped() -> None:
    """Fails before: initial= was dropped (the sum read as if it were not there)."""
    with pytest.raises(FormulaError, match="initial"):
        ROW.check("db2 = np.sum(dZ2, axis=0, initial=1) / N", "python")
    with pytest.raises(FormulaError, match="twice"):
        ROW.check("db2 = np.sum(dZ2, dim=0, axis=0) / N", "python")


# --- np.eye(K)[y]: the one-hot labels, samples on rows ---


def test_the_identity_indexed_by_the_labels_is_the_one_hot_labels() -> None:
    """Fails before: 'unknown function eye()'."""
    for net, snippet in (
        (ROW, "dZ2 = A2 - np.eye(10)[y]"),
        (ROW, "dZ2 = A2 - torch.eye(10)[y]"),
        (COLUMN, "dZ2 = A2 - np.eye(10)[y].T"),
        (COLUMN, "dZ2 = A2 - np.eye(10)[:, y]"),
    ):
        result = net.check(snippet, "python")
        assert result.correct, snippet
        assert any("np.eye(10) indexed by the labels" in n for n in result.notes)
    assert ROW.check("dZ2 = np.eye(10)[y] - A2", "python").verdict == "incorrect"


def test_the_identity_sized_by_a_name_of_the_class_count_is_read() -> None:
    """np.eye(num_classes)[y]: the size is not judged (a name of the class count, as C is).
    Fails before: 'unknown function eye()' (and then 'unknown name num_classes')."""
    for size in ("C", "num_classes", "n_classes"):
        assert ROW.check(f"dZ2 = A2 - np.eye({size})[y]", "python").correct


@pytest.mark.parametrize("size", ["N", "H", "D", "X.shape[1]", "Y.shape[0]"])
def test_the_identity_sized_by_another_count_is_not_the_one_hot_labels(size: str) -> None:
    """Made up (review9): np.eye(N)[y] is N×N and np.eye(H)[y] N×H, not N×C; the size was
    not judged, so A2 minus them (a broadcasting error in NumPy) was CORRECT."""
    cs = Checker("cs231n")  # D inputs, H hidden, C classes, N samples
    assert cs.check("dZ2 = (A2 - np.eye(C)[y]) / N", "python").correct
    with pytest.raises(FormulaError, match="number of classes"):
        cs.check(f"dZ2 = (A2 - np.eye({size})[y]) / N", "python")


def test_a_number_of_classes_other_than_the_output_width_is_refused() -> None:
    """Made up (review9): the output has 2 units; np.eye(7)[y] has 7 columns."""
    one = Checker("tests/specs/one_sample.toml")
    assert one.check("dZ2 = (A2 - np.eye(2)[y].T) * A2 * (1 - A2)", "python").correct
    with pytest.raises(FormulaError, match="number of classes"):
        one.check("dZ2 = (A2 - np.eye(7)[y].T) * A2 * (1 - A2)", "python")


def test_the_one_hot_labels_transposed_by_the_snippet_are_not_a_storage() -> None:
    """Made up (review9): np.eye(C)[y] has the samples on rows whatever the network
    stores; its .T in a row network is N×C minus C×N, a mistake. It was CORRECT, read as
    the labels stored with samples as columns."""
    cs = Checker("cs231n")
    result = cs.check("T = np.eye(C)[y].T\ndZ2 = (A2 - T) / N", "python")
    assert not result.correct and result.shape_error


def test_the_one_hot_labels_on_the_other_axis_do_not_fit() -> None:
    """np.eye(K)[y] has the samples on rows: in a column network it needs its .T."""
    result = COLUMN.check("dZ2 = A2 - np.eye(10)[y]", "python")
    assert not result.correct and result.shape_error


def test_the_identity_alone_is_not_read() -> None:
    with pytest.raises(FormulaError, match="np.eye"):
        ROW.check("dZ2 = A2 - np.eye(10)", "python")
    with pytest.raises(FormulaError, match="np.eye"):
        ROW.check("dZ2 = A2 - np.eye(10)[A1]", "python")


# --- grad_bo, grad_bh: the biases beside wo, wh ---


def test_the_output_bias_gradient_spelled_bo_is_read() -> None:
    """Fails before: 'unknown name grad_bo' (arthurdouillard/deepcourse's names)."""
    result = ROW.check("grad_bo = torch.sum(dZ2, dim=0) / N", "python")
    assert result.correct and result.quantity == "∂L/∂b_2"
    wrong = ROW.check("grad_bo = torch.sum(dZ2, dim=0)", "python")
    assert not wrong.correct and "1/m" in (wrong.diagnosis or "")


def test_the_hidden_bias_gradient_spelled_bh_is_read() -> None:
    """Fails before: 'unknown name grad_bh'."""
    result = ROW.check("grad_bh = torch.sum(dZ1, dim=0) / N", "python")
    assert result.correct and result.quantity == "∂L/∂b_1"


# --- a ReLU's backward (CS231n's relu_backward) on a convolutional network ---

CNN = Checker("tests/corpus/specs/cnn_cs231n3.toml")


def test_a_relu_backward_in_layer_api_names_is_read_on_a_conv_network() -> None:
    """Fails before: 'unknown name dout' (a conv network read no layer API names)."""
    result = CNN.check("dx = dout * (x > 0)", "python")
    assert result.correct and any("ReLU's backward" in n for n in result.notes)
    assert not CNN.check("dx = dout * (x < 0)", "python").correct


def test_an_affine_backward_is_not_read_by_layer_api_names_on_a_conv_network() -> None:
    """Only the ReLU's reads alike on feature maps: an affine layer's dout is left as it was
    (an unknown name), not read as some layer's δ."""
    with pytest.raises(FormulaError, match="dout"):
        CNN.check("db = np.sum(dout, axis=(0, 2, 3))", "python")


# --- an affine layer's dout on a network whose δ is per sample ---

SEED = Checker("seed")  # column, per-sample δ, a mean loss over a batch of m


@pytest.mark.parametrize(
    "snippet",
    [
        "db = np.sum(dout, axis=1, keepdims=True)",  # CS231n's: dout already has the 1/N
        "dw = dout.dot(x.T)",
        "dw = dout.dot(x.T) / m",  # andersbll's: the layer divides by N itself
    ],
)
def test_an_affine_dout_on_a_per_sample_network_is_read_both_ways(snippet: str) -> None:
    """Fails before: the first two were INCORRECT ('a factor 1/m is missing'), though
    CS231n's layers.py writes exactly that (its dout is the batch loss's gradient)."""
    with pytest.raises(FormulaError, match="cannot tell.*per sample"):
        SEED.check(snippet, "python")


def test_an_affine_dout_verdict_where_both_readings_agree() -> None:
    """dx = Wᵀ dout holds in either reading (dx scales as dout does); a missing transpose
    is wrong in both."""
    assert SEED.check("dx = w.T.dot(dout)", "python").correct
    wrong = SEED.check("dx = w.dot(dout)", "python")
    assert not wrong.correct and "transpose" in (wrong.diagnosis or "")
    assert any("both as δ_l and as ∂L/∂Z_l" in n for n in wrong.notes)


def test_an_affine_dout_is_read_once_where_delta_is_the_gradient() -> None:
    """A loss summed over the batch: δ is ∂L/∂Z, one reading, a verdict."""
    summed = _net("column", reduction="sum")
    assert summed.check("db = np.sum(dout, axis=1, keepdims=True)", "python").correct
    mean = _net("column", delta="mean")
    assert mean.check("db = np.sum(dout, axis=1, keepdims=True)", "python").correct


# --- a function defining an activation's derivative, judged by its body ---

SIG = Checker("tests/corpus/specs/dmelcaz_sigmoid.toml")  # tanh hidden, sigmoid output
RELU2 = Checker("tests/corpus/specs/mlglossary_relu_scalar.toml")  # two one-unit ReLU layers
ANDERSBLL = Checker("tests/corpus/specs/andersbll.toml")  # tanh hidden, softmax output


@pytest.mark.parametrize(
    ("net", "snippet"),
    [
        (
            ANDERSBLL,
            "def tanh_d(x):\n    e = np.exp(2*x)\n    return (e-1)/(e+1)",
        ),
        (RELU2, "def relu_prime(z):\n    if z > 0:\n        return z\n    return 1"),
        (RELU2, "def relu_prime(z):\n    if z > 0:\n        return 0\n    else:\n        return 1"),
        (SIG, "def sigmoid_prime(a):\n    return a * (1 + a)"),
    ],
)
def test_a_defined_derivative_wrong_whatever_it_is_called_with_is_wrong(
    net: Checker, snippet: str
) -> None:
    """Made-up bodies (tanh_d is andersbll/nnet's, returning tanh itself). Fails before:
    'this snippet defines …(), an activation's derivative: whether it is right depends on
    what it is called with'."""
    result = net.check(snippet, "python")
    assert not result.correct
    assert "is not" in (result.diagnosis or "") and "derivative" in (result.diagnosis or "")
    assert any("wrong in each, so whatever it is called with" in n for n in result.notes)


def test_a_defined_derivative_right_whatever_it_is_called_with_is_right() -> None:
    """ReLU's derivative is (z > 0) at Z and at A = relu(Z) alike. Fails before (refused)."""
    for body in ("return (z > 0).astype(float)", "if z > 0:\n        return 1\n    return 0"):
        result = RELU2.check(f"def relu_prime(z):\n    {body}", "python")
        assert result.correct
        assert any("right in each" in n for n in result.notes)


@pytest.mark.parametrize(
    ("snippet", "right_as"),
    [
        ("def sigmoid_prime(x):\n\treturn sigmoid(x)*(1.0-sigmoid(x))", "pre-activation Z_2"),
        ("def sigmoid_prime(a):\n    return a * (1 - a)", "activation A_2"),
        ("def tanh_prime(a):\n    return 1 - a**2", "activation A_1"),
    ],
)
def test_a_defined_derivative_right_in_one_reading_is_refused_saying_which(
    snippet: str, right_as: str
) -> None:
    """Right with its parameter as Z or as A, not both: what it is called with decides."""
    with pytest.raises(FormulaError, match=f"right with `\\w` as the {right_as}"):
        SIG.check(snippet, "python")


def test_a_defined_derivative_of_an_activation_the_network_lacks_is_not_judged() -> None:
    """relu_prime on a network without ReLU: nothing to judge it against (refused as before)."""
    with pytest.raises(FormulaError, match="defines relu_prime"):
        SIG.check("def relu_prime(z):\n    return z * 2", "python")


def test_an_affine_dout_declared_is_read_as_declared() -> None:
    """--symbol dout=dZ_1 (the way out the refusal names) says the code's dout is the
    per-sample δ: one reading, a verdict (andersbll's layers divide by N themselves).
    Undeclared, the snippet is refused; it fails before there (CORRECT on one reading)."""
    net = Checker(loads(SEED_TEXT.replace("[loss]", '[notation.symbols]\ndout = "dZ_1"\n[loss]')))
    assert net.check("dw = dout.dot(x.T) / m", "python").correct
    with pytest.raises(FormulaError, match="cannot tell"):
        Checker(loads(SEED_TEXT)).check("dw = dout.dot(x.T) / m", "python")


SEED_TEXT = """
name = "made_up_seed"
convention = "column"
input = "n_0"
batch = "m"
[[layers]]
width = "n_1"
activation = "sigmoid"
[[layers]]
width = "n_2"
activation = "sigmoid"
[loss]
name = "squared_error"
reduction = "half_mean"
"""


def test_a_defined_derivative_naming_what_it_does_not_define_is_not_judged() -> None:
    """A body reading a global (s, set elsewhere) is not one expression of its parameter:
    refused as before, not judged as a constant."""
    with pytest.raises(FormulaError, match="defines sigmoid_prime"):
        SIG.check("def sigmoid_prime(x):\n    return s * (1 + s)", "python")


@pytest.mark.parametrize(
    "text",
    [  # made up (review9): ReLU's derivative defined under a name that does not say so
        "def derivative(z):\n    return (z > 0) * 1.0",
        "def backward(self, z):\n    return (z > 0) * 1.0",
    ],
)
def test_a_function_of_its_one_parameter_alone_is_no_gradient(text: str) -> None:
    """It was INCORRECT, its value read as δ_l (f' a factor): no gradient arrives in it."""
    with pytest.raises(FormulaError, match="a function of its one parameter alone"):
        Checker("cs231n").check(text, "python")
