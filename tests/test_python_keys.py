"""Dictionary keys built from the layer (``python_keys``): Ng's L-layer idiom
``grads["dW" + str(l)]``, ``parameters['W' + str(l + 1)]``, f-strings ``grads[f"dW{l}"]``,
a dictionary of the code's own (``forward_vars``). The snippets are made up in those forms
(tests/corpus/fresh9_code.toml has enesozeren's real ones); each was unread before
("unknown function str()")."""

from __future__ import annotations

import pytest

from derive.formula.check import Checker
from derive.formula.parse import FormulaError
from derive.spec.reading import loads

#: Made up: Ng's L-layer network (ReLU hidden layers, a sigmoid unit out, samples as columns).
RELU_NET = """
name = "keys_relu"
convention = "column"
delta = "per_sample"
input = "n_0"
batch = "m"

[[layers]]
width = "n_1"
activation = "relu"

[[layers]]
width = "n_2"
activation = "relu"

[[layers]]
width = 1
activation = "sigmoid"

[loss]
name = "binary_cross_entropy"
reduction = "mean"
"""


@pytest.fixture(scope="module")
def relu() -> Checker:
    return Checker(loads(RELU_NET))


@pytest.mark.parametrize(
    ("snippet", "verdict"),
    [
        (
            'grads["dW" + str(l)] = np.dot(grads["dZ" + str(l)], caches["A" + str(l-1)].T) / m',
            "correct",
        ),
        (
            'grads["dW" + str(l)] = np.dot(grads["dZ" + str(l)], caches["A" + str(l-1)].T)',
            "incorrect",
        ),
        (
            'grads["dW" + str(l)] = np.dot(grads["dZ" + str(l)], caches["A" + str(l)].T) / m',
            "incorrect",
        ),
        ('grads[f"dW{l}"] = np.dot(grads[f"dZ{l}"], cache[f"A{l-1}"].T) / m', "correct"),
        (
            "grads['dA' + str(l)] = np.dot(parameters['W' + str(l+1)].T, grads['dZ' + str(l+1)])",
            "correct",
        ),
        (
            "grads['dA' + str(l)] = np.dot(parameters['W' + str(l)].T, grads['dZ' + str(l + 1)])",
            "incorrect",
        ),
        (
            'grads["db" + str(l)] = np.sum(grads["dZ" + str(l)], axis=1, keepdims=True) / m',
            "correct",
        ),
    ],
)
def test_keys_built_from_the_layer(relu: Checker, snippet: str, verdict: str) -> None:
    result = relu.check(snippet, "python")
    assert result.verdict == verdict
    assert any("the key names the layer's quantity" in note for note in result.notes)


def test_a_snippet_naming_the_labels_is_the_last_layers(relu: Checker) -> None:
    result = relu.check('grads["dZ" + str(l)] = forward_vars["A" + str(l)] - Y', "python")
    assert result.correct
    assert any("last layer L = 3" in note for note in result.notes)
    wrong = relu.check('grads["dZ" + str(l)] = forward_vars["A" + str(l)] + Y', "python")
    assert wrong.verdict == "incorrect"


def test_right_only_at_the_last_layer_is_no_verdict(relu: Checker) -> None:
    """σ's derivative is right at the output (the code's ``if l == L:`` branch) only,
    where this derivation forms no ∂L/∂A_L to multiply: no verdict."""
    snippet = (
        'grads["dZ" + str(l)] = grads["dA" + str(l)] * cache["A" + str(l)] '
        '* (1 - cache["A" + str(l)])'
    )
    with pytest.raises(FormulaError, match="cannot tell: with the keys' l any layer"):
        relu.check(snippet, "python")
    hidden = 'grads["dZ" + str(l)] = grads["dA" + str(l)] * (cache["Z" + str(l)] > 0)'
    assert relu.check(hidden, "python").correct  # l a hidden layer, as derive's l is


def test_str_of_anything_but_a_layer_is_refused(relu: Checker) -> None:
    with pytest.raises(FormulaError, match="str"):
        relu.check('grads["dW" + str(n)] = np.dot(grads["dZ" + str(n)], A.T) / m', "python")


def test_a_dictionary_indexed_otherwise_is_not_renamed(relu: Checker) -> None:
    with pytest.raises(FormulaError, match="forward_vars"):
        relu.check(
            'dW2 = np.dot(dZ2, forward_vars["A" + str(l)].T + forward_vars[0]) / m', "python"
        )
