"""derive.testing: users' own backprop checked against the derived one."""

from __future__ import annotations

import numpy as np
import pytest

from derive.testing import assert_gradients


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def nielsen_backprop(X, Y, W1, b1, W2, b2, *, bug=None):
    """A hand-written backprop for the nielsen example (½ Σ squared error, sigmoid)."""
    A1 = sigmoid(W1 @ X + b1)
    A2 = sigmoid(W2 @ A1 + b2)
    d2 = (A2 - Y) * A2 * (1 - A2)
    d1 = (W2.T @ d2) * A1 * (1 - A1)
    grads = {
        "W1": d1 @ X.T,
        "b1": d1.sum(axis=1, keepdims=True),
        "W2": d2 @ A1.T,
        "b2": d2.sum(axis=1, keepdims=True),
    }
    m = X.shape[1]
    if bug == "one_over_m":
        grads["W2"] = grads["W2"] / m
    if bug == "transpose":
        grads["W1"] = X @ d1.T
    if bug == "sign":
        grads["b1"] = -grads["b1"]
    return grads


def test_a_correct_backprop_passes() -> None:
    assert_gradients("nielsen", nielsen_backprop)


@pytest.mark.parametrize(
    ("bug", "message"),
    [
        ("one_over_m", "W2: it is 1/m times the right gradient"),
        ("transpose", "W1: it is the transpose of the right gradient"),
        ("sign", "b1: it has the wrong sign"),
    ],
)
def test_a_wrong_backprop_fails_with_a_readable_message(bug: str, message: str) -> None:
    with pytest.raises(AssertionError) as info:
        assert_gradients("nielsen", lambda *a, **k: nielsen_backprop(*a, **k, bug=bug))
    assert message in str(info.value)


def test_missing_parameter_is_named() -> None:
    def partial(X, Y, **params):
        grads = nielsen_backprop(X, Y, **params)
        del grads["b2"]
        return grads

    with pytest.raises(AssertionError, match="b2: missing from the result"):
        assert_gradients("nielsen", partial)


def test_tuple_results_are_accepted() -> None:
    def as_tuple(X, Y, **params):
        g = nielsen_backprop(X, Y, **params)
        return 0.0, g

    assert_gradients("nielsen", as_tuple)
