"""NumPy reading, round 5 (issue 13): returned values of layer objects, the gradient
arriving at any layer (``top_diff``), names read as the quantity they define.

Each verdict is compared with derive's own formula written in derive's names, so no
expected output is computed by the code under test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.formula.check import Checker
from derive.formula.parse import FormulaError
from derive.spec.reading import loads

# A tanh hidden layer and a softmax output, samples as rows (yizt's and gy910210's nets).
_ROW = """
name = "{act}_softmax"
convention = "row"
delta = "per_sample"
input = "n_0"
batch = "N"
[[layers]]
width = "n_1"
activation = "{act}"
[[layers]]
width = "n_2"
activation = "softmax"
[loss]
name = "cross_entropy"
reduction = "mean"
"""


@pytest.fixture(scope="module")
def tanh_net() -> Checker:
    return Checker(loads(_ROW.format(act="tanh")))


@pytest.fixture(scope="module")
def sigmoid_net() -> Checker:
    return Checker(loads(_ROW.format(act="sigmoid")))


def test_derive_names_agree(tanh_net: Checker, sigmoid_net: Checker) -> None:
    """The formulas below, in derive's names: what the readings must agree with."""
    assert tanh_net.check("dZ1 = (1.0 - np.square(A1)) * dA1", "python").correct
    assert not tanh_net.check("dZ1 = (1.0 - A1) * dA1", "python").correct
    assert sigmoid_net.check("dZ1 = sigmoid(Z1) * (1 - sigmoid(Z1)) * dA1", "python").correct


def test_an_activation_objects_forward_is_its_output(tanh_net: Checker) -> None:
    # gy910210/neural-network-from-scratch, Tanh.backward: the object's own forward pass
    # is its output A; the value returned multiplies the gradient arriving by tanh'
    snippet = "output = self.forward(X)\nreturn (1.0 - np.square(output)) * top_diff"
    result = tanh_net.check(snippet, "python")
    assert result.correct
    assert result.quantity == "δ_1"
    assert any("self.forward" in n for n in result.notes)
    try:  # a wrong derivative is not read as right (refused or judged wrong)
        wrong = tanh_net.check(
            "output = self.forward(X)\nreturn (1.0 - output) * top_diff", "python"
        )
    except FormulaError:
        return
    assert not wrong.correct


def test_an_objects_forward_without_the_gradient_arriving_is_not_read(tanh_net: Checker) -> None:
    # mlfromscratch's Softmax.gradient: p * (1 - p) is f' itself, not a δ
    with pytest.raises(FormulaError):
        tanh_net.check("p = self.__call__(x)\nreturn p * (1 - p)", "python")


@pytest.mark.parametrize("name", ["top_diff", "grad_output", "output_grad"])
def test_the_gradient_arriving_is_any_layers(tanh_net: Checker, name: str) -> None:
    # Caffe's top_diff is a layer's own output gradient, not the network's top layer's:
    # read at every layer, the shapes and the form tell it is ∂L/∂A_1 here
    result = tanh_net.check(f"dZ = (1.0 - np.square(A)) * {name}", "python")
    assert result.correct
    assert result.quantity == "δ_1"


def test_a_name_read_as_the_quantity_it_defines_is_not_a_reading(tanh_net: Checker) -> None:
    # δ_1 = (1 - A1²) ⊙ δ_1 is no formula anyone writes: only ∂L/∂A_1 is left
    result = tanh_net.check("dZ1 = (1.0 - np.square(A1)) * top_diff", "python")
    assert result.correct
    assert any("∂L/∂A_1" in n for n in result.notes)
    # the name assigned itself (the left-hand side) keeps its reading as the quantity
    lhs = tanh_net.check("delta = (1.0 - A1) * dA1", "python")
    assert not lhs.correct


def test_a_sigmoid_written_as_a_call_is_an_activations_derivative(sigmoid_net: Checker) -> None:
    # yizt/numpy_neural_network, sigmoid_backward (fixed): σ(z)(1 − σ(z)) times next_dz
    snippet = "return sigmoid_forward(z) * (1 - sigmoid_forward(z)) * next_dz"
    result = sigmoid_net.check(snippet, "python")
    assert result.correct
    assert result.quantity == "δ_1"


_BOTACADEMY = """
name = "botacademy"
convention = "column"
delta = "per_sample"
input = 5
batch = 1
[[layers]]
width = 4
activation = "sigmoid"
[[layers]]
width = 3
activation = "sigmoid"
[loss]
name = "squared_error"
reduction = "sum"
"""


def test_h_is_a_hidden_layer_not_a_scalar() -> None:
    # bot-academy's w_h_o update, δ_o hᵀ: h is the hidden layer's activation or its
    # pre-activation, tried in both readings (not a scalar h, which no such network has);
    # they disagree, so the answer names both. (Its delta_h, which writes h(1 − h), the
    # sigmoid's output form, reads h as A_1 since round 8: role_readings.)
    net = Checker(loads(_BOTACADEMY))
    assert net.check("dZ1 = np.transpose(W2) @ dZ2 * (A1 * (1 - A1))", "python").correct
    with pytest.raises(FormulaError, match="cannot tell.*`h` as A_1.*`h` as Z_1"):
        net.check("dW2 = dZ2 @ np.transpose(h)", "python")
    assert net.check("dZ1 = np.transpose(W2) @ dZ2 * (h * (1 - h))", "python").correct


def test_h_read_as_the_hidden_layer_names_a_mistake() -> None:
    # rust0258's CBOW back_prop (issue #62): the bias gradient summed from (yhat - y) hᵀ;
    # both readings of h give the same verdict (δ_2 Σ over samples is derived)
    net = Checker(loads(_BOTACADEMY.replace('"sigmoid"\n[loss]', '"softmax"\n[loss]')))
    assert net.check("db2 = np.sum(dZ2, axis=1, keepdims=True)", "python").correct
    result = net.check("db2 = np.sum(np.dot(dZ2, h.T), axis=1, keepdims=True)", "python")
    assert not result.correct


@pytest.mark.parametrize("rate", ["learn_rate", "LEARNING_RATE", "lrate"])
def test_more_spellings_of_the_learning_rate(rate: str) -> None:
    # bot-academy's w_h_o += -learn_rate * delta_o @ np.transpose(h): the update's step
    net = Checker(loads(_BOTACADEMY))
    result = net.check(f"W2 += -{rate} * dZ2 @ np.transpose(A1)", "python")
    assert result.correct


_SOFTMAX_REG = """
name = "softmax_reg"
convention = "column"
delta = "mean"
input = {d}
batch = "N"
[[layers]]
width = 3
activation = "softmax"
[loss]
name = "cross_entropy"
reduction = "mean"
"""


def test_theta_is_read_as_w_or_its_transpose_by_the_shapes() -> None:
    # janch's softmax regression, O = Θᵀ X with Θ D × K: dLdTheta = X dLdAᵀ is ∂L/∂W_1ᵀ
    net = Checker(loads(_SOFTMAX_REG.format(d=5)))
    assert net.check("dW1 = np.dot(X, dZ1.T).T", "python").correct
    result = net.check("dLdTheta = np.dot(X, dLdA.T)", "python")
    assert result.correct
    assert any("Θ = Wᵀ" in n for n in result.notes)
    # janch PR 21: the 1/N is already in dLdA
    assert not net.check("dW1 = np.dot(X, dZ1.T).T / N", "python").correct
    twice = net.check("dLdTheta = np.dot(X, dLdA.T) / num_samples", "python")
    assert not twice.correct
    assert "factor" in (twice.diagnosis or "")


def test_theta_in_ws_orientation_is_read_as_w() -> None:
    # UFLDL's θ is K × D (θ_jᵀ x row by row): its gradient is ∂L/∂W_1 itself
    net = Checker(loads(_SOFTMAX_REG.format(d=5)))
    result = net.check("dLdTheta = np.dot(dLdA, X.T)", "python")
    assert result.correct
    assert not any("Θ = Wᵀ" in n for n in result.notes)


_DENGGAO = """
name = "denggao_relu"
convention = "row"
delta = "per_sample"
input = 2
batch = "N"
[[layers]]
width = 3
activation = "relu"
[[layers]]
width = 4
activation = "identity"
[loss]
name = "squared_error"
reduction = "half_sum"
"""


def test_a_private_attribute_without_a_layer_is_numbered_as_the_shapes_say() -> None:
    # denggao's Linear.backward: return np.matmul(grad, self._W.T), the gradient at the
    # layer's input; self._W is numbered like the other names without a layer number
    net = Checker(loads(_DENGGAO))
    assert net.check("dA1 = np.matmul(dZ2, W2.T)", "python").correct
    result = net.check("return np.matmul(grad, self._W.T)", "python")
    assert result.correct
    assert any("layer 2's" in n for n in result.notes)
    with pytest.raises(FormulaError):  # no shape-consistent reading of the product
        net.check("return np.matmul(grad, self._W)", "python")


_CBOW = """
name = "cbow"
convention = "column"
delta = "per_sample"
input = "V"
batch = "batch_size"
[[layers]]
width = "N"
activation = "relu"
[[layers]]
width = "V"
activation = "softmax"
[loss]
name = "cross_entropy"
reduction = "mean"
"""


@pytest.mark.parametrize(
    "snippet",
    [
        # rust0258's CBOW back_prop (PR #70): the bias gradient as a product with ones
        "db1 = np.dot(dZ1, np.ones((batch_size, 1))) / batch_size",
        "db1 = np.dot(dZ1, np.ones((1, batch_size)).T) / batch_size",
        "db1 = np.dot(dZ1, np.ones((dZ1.shape[1], 1))) / batch_size",
        # gy910210's AddGate.backward, samples as rows: 1ᵀ dZ
        "db1 = np.dot(np.ones((1, dZ1.shape[1])), dZ1.T).T / batch_size",
    ],
)
def test_np_ones_is_the_ones_vector_of_the_bias_gradient(snippet: str) -> None:
    net = Checker(loads(_CBOW))
    assert net.check("db1 = np.sum(dZ1, axis=1, keepdims=True) / batch_size", "python").correct
    assert net.check(snippet, "python").correct
    wrong = net.check(snippet.replace(" / batch_size", ""), "python")
    assert not wrong.correct


@pytest.mark.parametrize(
    ("snippet", "says"),
    [
        # NumPy raises on these: a row where a column belongs, and the other way
        ("db1 = np.dot(dZ1, np.ones((1, batch_size))) / batch_size", "a row where"),
        ("db1 = np.dot(np.ones((batch_size, 1)), dZ1.T).T / batch_size", "a column where"),
        ("db1 = dZ1 * np.ones((1, batch_size))", "only as a factor of a matrix product"),
        ("db1 = np.dot(dZ1, np.ones(batch_size))", "1-d array"),
    ],
)
def test_np_ones_keeps_numpys_orientation(snippet: str, says: str) -> None:
    with pytest.raises(FormulaError, match=says):
        Checker(loads(_CBOW)).check(snippet, "python")


@pytest.mark.parametrize(
    "snippet",
    [
        # dZ1 is N×batch_size: its shape[0] is N, and NumPy refuses N×bs @ N×1
        "db1 = np.dot(dZ1, np.ones((dZ1.shape[0], 1))) / batch_size",
        "db1 = np.dot(np.ones((1, dZ1.shape[0])), dZ1.T).T / batch_size",
    ],
)
def test_np_ones_of_a_size_of_the_wrong_axis_is_not_correct(snippet: str) -> None:
    net = Checker(loads(_CBOW))
    result = net.check(snippet, "python")
    assert not result.correct
    assert result.shape_error is not None


def test_welchs_yhat_is_the_networks_output() -> None:
    # Welch Labs, Neural Networks Demystified: delta3 = np.multiply(-(y - self.yHat), …)
    net = Checker("nielsen")
    ours = net.check("dZ2 = np.multiply(-(Y - A2), sigmoid_prime(Z2))", "python")
    theirs = net.check("dZ2 = np.multiply(-(y - self.yHat), sigmoid_prime(Z2))", "python")
    assert ours.correct and theirs.correct
    assert any("yHat as A_L" in n for n in theirs.notes)


def test_a_gradient_with_respect_to_y_is_not_the_targets() -> None:
    # a stats.stackexchange question's gradient_y (∂E/∂y, y the output): not Y itself
    from derive.formula.guesses import readings

    assert readings("y_train", 2)[0] == "the targets"
    kind, found = readings("gradient_y", 2)
    assert kind != "the targets"
    assert all(r.text != "Y" for r in found)


@pytest.mark.parametrize(
    "snippet",
    [
        "db[i, h, w, c] += dZ[i, h, w, c]",  # a DLAI forum post's conv_backward
        "vert_start = h * stride\ndW[:,:,:,c] += a_slice * dZ[i, h, w, c]",
    ],
)
def test_h_as_a_windows_row_keeps_the_window_loop_refusal(snippet: str) -> None:
    """h is a window's row here, never the hidden layer: the loops are run over windows
    (round 7) or refused as loops, never read as a dense formula."""
    try:
        result = Checker("cnn").check(snippet, "python")
    except FormulaError as err:
        assert "loops over windows" in str(err)
    else:
        assert "loops over the windows" in result.notes[-1]


def test_a_layer_objects_own_gradient_attribute_is_not_numbered() -> None:
    """Made up, in the form of layer-class code: ``self.delta`` may be the delta the layer
    sends down (some code stores that), so it is not numbered like ``self._W``; the formula
    is refused, naming the layer to write."""
    spec = Path(__file__).parent / "corpus" / "specs" / "ng_relu3_one.toml"
    with pytest.raises(FormulaError, match="delta has no layer number"):
        Checker(spec).check("self.b_grad = self.delta", "python")
