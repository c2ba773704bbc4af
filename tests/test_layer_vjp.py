"""A layer's backward code (a class's ``backward``, CS231n's ``*_backward(dout, cache)``)
read as one step's vector-Jacobian product (``layer_vjp``, issue 13 §2).

Every snippet here is MADE UP, minimal, in the forms real code uses (the real ones are
in the corpus: tests/corpus/classes8.toml and the entries the benchmark reads)."""

from __future__ import annotations

from pathlib import Path

import pytest

from derive import load
from derive.formula.check import Checker
from derive.formula.ir import FormulaError
from derive.formula.layer_code import read_layer_code

SPECS = Path(__file__).parent / "corpus" / "specs"
ROW = Checker(load("cs231n"))  # rows are samples: ReLU hidden layer, softmax output
COLUMN = Checker(load("nielsen"))  # columns are samples: sigmoid layers
ONE = Checker(load(str(SPECS / "independentcode_xor.toml")))  # one column sample, tanh

RELU_CLASS = """class ReLU(Layer):
    def forward(self, x):
        self.mask = (x <= 0)
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dout[self.mask] = 0
        dx = dout
        return dx"""

AFFINE = """def affine_backward(dout, cache):
    x, w, b = cache
    dx = dout.dot(w.T)
    dw = x.T.dot(dout){}
    db = np.sum(dout, axis=0)
    return dx, dw, db"""

DENSE_UPDATE = """class Dense(Layer):
    def forward(self, input):
        self.input = input
        return np.dot(self.weights, self.input) + self.bias

    def backward(self, output_gradient, learning_rate):
        weights_gradient = np.dot(output_gradient, self.input.T){}
        input_gradient = np.dot(self.weights.T, output_gradient)
        self.weights -= learning_rate * weights_gradient
        self.bias -= learning_rate * output_gradient
        return input_gradient"""

NNFS_DENSE = """class Layer_Dense:
    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.dot(inputs, self.weights) + self.biases
    def backward(self, dvalues):
        self.dweights = np.dot(self.inputs.T, dvalues)
        self.dbiases = np.sum(dvalues, axis=0, keepdims=True)
        self.dinputs = np.dot(dvalues, self.weights.{})"""

NNFS_RELU = """class Activation_ReLU:
    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.maximum(0, inputs)
    def backward(self, dvalues):
        self.dinputs = dvalues.copy()
        self.dinputs[self.inputs {} 0] = 0"""

SIGMOID = """class Sigmoid:
    def forward(self, x):
        self.{0} = {1}
        return 1 / (1 + np.exp(-x))
    def backward(self, grad):
        return grad * self.{0} * (1 - self.{0})"""

SOFTMAX_STATIC = """class Softmax:
    @staticmethod
    def backward(dout, out):
        return out * (dout - np.sum(dout * out, axis=1, keepdims=True)){}"""


@pytest.mark.parametrize(
    ("checker", "text", "verdict", "said"),
    [
        (ROW, RELU_CLASS, "correct", "by its name ReLU"),
        (ROW, AFFINE.format(""), "correct", "x, w, b = cache read as the step's x, W, b"),
        (ROW, AFFINE.format(" / x.shape[0]"), "incorrect", "by its name affine_backward"),
        (ONE, DENSE_UPDATE.format(""), "correct", "the update of self.weights inside"),
        (ONE, DENSE_UPDATE.format(".T"), "incorrect", "`weights_gradient` read as dW"),
        (ONE, DENSE_UPDATE.format(""), "correct", "db read from the update `self.bias -="),
        # a batch of m columns: the bias's gradient is a sum over them, not dout itself
        (COLUMN, DENSE_UPDATE.format(""), "incorrect", "db read from the update"),
        (ROW, NNFS_DENSE.format("T"), "correct", "`dvalues` as the gradient arriving"),
        (ROW, NNFS_DENSE.format("T.T"), "incorrect", "self.inputs read as the forward"),
        (ROW, NNFS_RELU.format("<="), "correct", "by its name Activation_ReLU"),
        (ROW, NNFS_RELU.format(">"), "incorrect", "by its name Activation_ReLU"),
        (COLUMN, SIGMOID.format("out", "1 / (1 + np.exp(-x))"), "correct", "self.out read"),
        (COLUMN, SIGMOID.format("x", "x"), "incorrect", "layers 1, 2 of this network: one VJP"),
        (ROW, SOFTMAX_STATIC.format(""), "correct", "the softmax step"),
        (ROW, SOFTMAX_STATIC.format(" * 2"), "incorrect", "the softmax step"),
    ],
)
def test_layer_code_read_as_a_steps_vjp(
    checker: Checker, text: str, verdict: str, said: str
) -> None:
    result = checker.check(text, "python")
    assert result.verdict == verdict
    assert any(said in note for note in result.notes), result.notes


def test_unnamed_code_read_at_each_activation_step_of_the_network() -> None:
    # made up (mobula's Softmax layer names): no class or function name, no weights: the
    # network's activation steps are tried; here its only one, σ
    text = "self.dX = np.multiply(self.dY, self.Y * (1 - self.Y))"
    result = COLUMN.check(text, "python")
    assert result.correct
    assert "each activation step of this network in turn" in result.notes[0]
    wrong = COLUMN.check(text.replace("1 - self.Y", "1 + self.Y"), "python")
    assert wrong.verdict == "incorrect"


def test_readings_that_disagree_are_refused() -> None:
    # made up: y(1 - y) is the sigmoid step's VJP and not the softmax step's: on a network
    # with both, which step the code is decides the verdict, so it is refused
    mixed = Checker(load(str(SPECS / "yizt_sigmoid.toml")))
    text = "self.dX = np.multiply(self.dY, self.Y * (1 - self.Y))"
    with pytest.raises(FormulaError, match="cannot tell which step"):
        mixed.check(text, "python")
    named = "class Sigmoid:\n    def backward(self):\n        " + text
    assert mixed.check(named, "python").correct  # the class's name decides


def test_a_step_the_network_lacks_is_named() -> None:
    text = "class Tanh:\n    def backward(self, grad):\n        return grad * (1 - self.out ** 2)"
    with pytest.raises(FormulaError, match="no tanh layer"):
        COLUMN.check(text, "python")


def test_a_loss_layer_is_read_as_the_loss_not_as_its_activation() -> None:
    # made up: SoftmaxWithLoss's backward is the loss's gradient, not the softmax step's VJP
    text = (
        "class SoftmaxWithLoss:\n    def backward(self, dout=1):\n"
        "        return (self.y - self.t) / self.t.shape[0]"
    )
    result = ROW.check(text, "python")
    assert result.correct
    assert "the loss fused with its softmax" in result.notes[0]
    assert not any("vector-Jacobian" in n for n in result.notes)


def test_read_layer_code_parts() -> None:
    code = read_layer_code(AFFINE.format(""))
    assert code is not None
    assert (code.hint, code.upstream, code.inputs, code.header) == (
        "affine_backward",
        "dout",
        ["cache"],
        True,
    )
    assert read_layer_code("def f(a):\n    return a * 2") is None  # no gradient arriving


def test_gradient_read_after_the_update_uses_the_updated_weights() -> None:
    # made up, in the form of TheIndependentCode's first dense.py (the corpus has the real one)
    text = DENSE_UPDATE.format("").replace(
        "        input_gradient = np.dot(self.weights.T, output_gradient)\n", ""
    )
    text = text.replace("return input_gradient", "return np.dot(self.weights.T, output_gradient)")
    result = ONE.check(text, "python")
    assert result.verdict == "incorrect"
    assert "is read after `self.weights -= learning_rate * weights_gradient`" in str(
        result.diagnosis
    )


@pytest.mark.parametrize(
    "text",
    [
        # made up: a leaky ReLU is not the ReLU step (its VJP lets 0.01 dout through)
        "class LeakyReLU:\n    def backward(self, dout):\n"
        "        return np.where(self.x > 0, dout, 0.01 * dout)",
        # made up: CS231n's sandwich layer is two steps, not one
        "def affine_relu_backward(dout, cache):\n    x = cache\n    return dout * (x > 0)",
    ],
)
def test_a_name_that_names_no_step_of_the_rule_table_is_not_read(text: str) -> None:
    with pytest.raises(FormulaError) as err:
        ROW.check(text, "python")
    assert "vector-Jacobian" not in str(err.value)


def test_cache_kept_on_the_object() -> None:
    # made up: the CS231n unpacking from an object's cache
    text = (
        "class Affine:\n    def backward(self, dout):\n        x, w, b = self.cache\n"
        "        return dout.dot(w.T), x.T.dot(dout), np.sum(dout, axis=0)"
    )
    result = ROW.check(text, "python")
    assert result.correct
    assert any("x, w, b = cache read as the step's x, W, b" in n for n in result.notes)


def test_the_update_order_is_named_only_when_it_is_the_one_mistake() -> None:
    # made up: the weights read after their update AND a transposed weight gradient
    text = DENSE_UPDATE.format(".T").replace(
        "        input_gradient = np.dot(self.weights.T, output_gradient)\n", ""
    )
    text = text.replace("return input_gradient", "return np.dot(self.weights.T, output_gradient)")
    result = ONE.check(text, "python")
    assert result.verdict == "incorrect"
    assert "is read after" not in str(result.diagnosis)
    assert any("is read after" in n for n in result.notes)


def test_an_affine_steps_a_is_not_read_as_its_output() -> None:
    # made up: in a dense layer self.a is usually the activation it was given (its input);
    # an activation's a is its output: the spelling alone does not say which, so without
    # the forward it is not read; with it, it is what the forward stores
    backward = "    def backward(self, delta):\n        self.dW = np.dot(self.a.T, delta)\n"
    with pytest.raises(FormulaError):
        ROW.check("class Dense:\n" + backward, "python")
    forward = "    def forward(self, a):\n        self.a = a\n        return a @ self.W + self.b\n"
    assert ROW.check("class Dense:\n" + forward + backward, "python").correct


@pytest.mark.parametrize(
    "text",
    [
        "return np.dot(self.x.T, grad)",  # made up: a weight gradient, its weights unnamed
        "return grad.sum(axis=0)",  # made up: a bias gradient
    ],
)
def test_a_guessed_step_whose_shapes_do_not_fit_is_not_that_step(text: str) -> None:
    # no name says which step: an activation's reading whose shapes do not fit is not
    # judged INCORRECT (the code may well be a right weight or bias gradient)
    with pytest.raises(FormulaError):
        COLUMN.check(text, "python")


FUSED = """class Activation_Softmax_Loss_CategoricalCrossentropy():
    def backward(self, dvalues, y_true):
        samples = len(dvalues)
        if len(y_true.shape) == 2:
            y_true = np.argmax(y_true, axis=1)
        self.dinputs = dvalues.copy()
        self.dinputs[range(samples), y_true] -= 1
        self.dinputs = self.dinputs{}"""

CCE = """class CrossEntropy:
    def backward(self, y_pred, y_true):
        return -y_true / y_pred{}"""


@pytest.mark.parametrize(
    ("text", "verdict", "said"),
    [  # made up, in the forms of nnfs's loss classes (the corpus has the real ones)
        (FUSED.format(" / samples"), "correct", "the loss fused with its softmax"),
        (FUSED.format(""), "incorrect", "left out `if len(y_true.shape) == 2:`"),
        (CCE.format(" / len(y_pred)"), "correct", "`y_pred` as A_2 (the predictions)"),
        (CCE.format(""), "incorrect", "the value as ∂L/∂A_L"),
    ],
)
def test_a_loss_layers_backward_is_the_networks_output_gradient(
    text: str, verdict: str, said: str
) -> None:
    result = ROW.check(text, "python")
    assert result.verdict == verdict
    assert any(said in n for n in result.notes), result.notes


def test_a_loss_layer_of_another_loss_is_named() -> None:
    text = "class MSE:\n    def backward(self, y_pred, y_true):\n        return y_pred - y_true"
    with pytest.raises(FormulaError, match="network's output is softmax with cross_entropy"):
        ROW.check(text, "python")


def test_a_loss_method_that_is_not_its_gradient_is_not_read_so() -> None:
    # made up, in the form of Nielsen's network2.py: CrossEntropyCost.delta returns δ_L
    # (a − y), not ∂C/∂a: a method not named as a gradient is not read as the loss's
    text = "class CrossEntropyCost(object):\n    @staticmethod\n    def delta(z, a, y):\n"
    text += "        return (a-y)"
    with pytest.raises(FormulaError) as err:
        COLUMN.check(text, "python")
    assert "loss layer" not in str(err.value)


COLUMN_AFFINE = """def affine_backward(dout, cache):
    x, w, b = cache
    dx = w.T.dot(dout)
    dw = dout.dot(x.T){0}
    db = np.sum(dout, axis=1, keepdims=True){0}
    return dx, dw, db"""


@pytest.mark.parametrize("scale", ["", " / x.shape[1]"])
def test_a_half_mean_loss_reads_dout_both_ways_as_a_mean_loss_does(scale: str) -> None:
    # made up (review9): the seed's δ is per sample and its loss 1/(2m)‖A − Y‖² (reduction
    # half_mean); dw = dout xᵀ / N is right when dout is that δ (andersbll's layers), and was
    # INCORRECT because only reduction "mean" was read both ways
    with pytest.raises(FormulaError, match="cannot tell what the gradient arriving is"):
        Checker(load("seed")).check(COLUMN_AFFINE.format(scale), "python")
