"""The three truths agree: closed form, explicit sympy.diff per entry, finite differences.

Both oracles run every activation × loss × convention × delta definition at depth 2 and
every loss × convention × delta at depth 1. Finite differences also run every loss ×
convention × delta at depths 3 and 4 (the hidden activation rotating through the table);
the explicit oracle, whose 50-digit comparison grows fast with depth, runs depths 3 and 4
for sigmoid, tanh and ReLU. Hypothesis adds random architectures (depth 1-6 for finite
differences, 1-3 for the explicit oracle).

The default run takes a covering subset of each grid (every activation, loss, convention
and delta definition at least once, see ``conftest.grid``); the full products and the
long hypothesis runs are marked ``slow`` and run in CI's exhaustive pass (``-m slow``).
"""

from __future__ import annotations

import pytest
from conftest import CONVENTIONS, DELTAS, HIDDEN_ACTIVATIONS, LOSSES, grid, label, net
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derive import Activation, Loss, dense, derive
from derive.oracles.explicit import compare
from derive.oracles.verify import check_grads

FD_TOL = 1e-6


# --------------------------------------------------------------------------- explicit oracle


@pytest.mark.parametrize(
    "hidden,loss_out,convention,delta",
    grid(HIDDEN_ACTIVATIONS, LOSSES, CONVENTIONS, DELTAS, ids=label),
)
def test_oracle_every_combination(hidden, loss_out, convention: str, delta: str) -> None:
    """Every activation × loss × convention × delta definition at depth 2."""
    d = derive(net([2, 2, 2], hidden, loss_out, convention, delta))
    result = compare(d, points=1)
    assert result.ok, result.mismatches[:3]


def test_oracle_symbolic_activation_is_exact() -> None:
    result = compare(derive("seed"), default=2)
    assert result.method == "exact"
    assert result.ok, result.mismatches[:3]


@pytest.mark.parametrize("loss_out,convention,delta", grid(LOSSES, CONVENTIONS, DELTAS, ids=label))
def test_oracle_depth_one(loss_out, convention: str, delta: str) -> None:
    d = derive(net([2, 2], None, loss_out, convention, delta))
    result = compare(d, {"m": 2}, points=1)
    assert result.ok, result.mismatches[:3]


@pytest.mark.parametrize(
    "depth,convention,hidden", grid([3, 4], CONVENTIONS, ["sigmoid", "tanh", "relu"])
)
def test_oracle_deeper(depth: int, convention: str, hidden: str) -> None:
    """Depths 3 and 4 (the 50-digit comparison grows fast with depth: a few activations)."""
    widths = [2] + [2] * (depth - 1) + [1]
    d = derive(net(widths, Activation(hidden), LOSSES[4], convention, "mean"))
    result = compare(d, {"m": 2}, points=1)
    assert result.ok, result.mismatches[:3]


def test_oracle_detects_a_wrong_closed_form(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rule that drops f' gives closed forms the oracle and finite differences reject."""
    from derive.core import rules
    from derive.core.nodes import Elementwise

    monkeypatch.setitem(rules.RULES, Elementwise, lambda node, g, ans: [(node.arg, g)])
    d = derive(net([2, 2, 1], Activation("tanh"), LOSSES[0]))
    assert not compare(d, {"m": 2}, points=1).ok
    assert not check_grads(d).passed


# --------------------------------------------------------------------------- finite differences


@pytest.mark.parametrize(
    "hidden,loss_out,convention,delta",
    grid(HIDDEN_ACTIVATIONS, LOSSES, CONVENTIONS, DELTAS, ids=label),
)
def test_fd_every_combination(hidden, loss_out, convention: str, delta: str) -> None:
    report = check_grads(net([3, 4, 3], hidden, loss_out, convention, delta), seed=1)
    assert report.passed, str(report)
    assert report.errors and max(report.errors.values()) < FD_TOL


@pytest.mark.parametrize(
    "loss_out,convention,delta,depth", grid(LOSSES, CONVENTIONS, DELTAS, [1, 3, 4], ids=label)
)
def test_fd_depths(loss_out, convention: str, delta: str, depth: int) -> None:
    hidden = HIDDEN_ACTIVATIONS[(depth * 5 + len(label(loss_out))) % len(HIDDEN_ACTIVATIONS)]
    widths = [3] + [3] * (depth - 1) + [2]
    report = check_grads(net(widths, hidden, loss_out, convention, delta), seed=depth)
    assert report.passed, str(report)


def test_fd_detects_a_wrong_gradient() -> None:
    from derive.export import to_module

    d = derive("nielsen")
    module = to_module(d)
    original = module.loss_and_gradients

    def off_by_half(*args, **kwargs):
        value, grads = original(*args, **kwargs)
        return value, {**grads, "W1": grads["W1"] * 0.5}

    module.loss_and_gradients = off_by_half
    report = check_grads(d, module=module)
    assert not report.passed
    assert report.errors["W1"] > 0.1 and report.errors["W2"] < FD_TOL


@pytest.mark.parametrize("spec", ["nielsen", "ng", "cs231n"])
def test_fd_builtin_examples(spec: str) -> None:
    assert check_grads(spec).passed


def test_fd_directional_mode() -> None:
    report = check_grads("cs231n", mode="directions", directions=4)
    assert report.mode == "directions" and report.passed


# --------------------------------------------------------------------------- hypothesis

hidden_names = st.sampled_from(
    ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "elu", "silu", "gelu"]
)


@st.composite
def architectures(draw, max_depth: int = 6, max_width: int = 4):
    depth = draw(st.integers(1, max_depth))
    widths = draw(st.lists(st.integers(1, max_width), min_size=depth + 1, max_size=depth + 1))
    hidden = draw(st.lists(hidden_names, min_size=depth - 1, max_size=depth - 1))
    loss_out = draw(st.sampled_from(LOSSES))
    loss, out = loss_out
    if out == "softmax" and widths[-1] < 2:
        widths[-1] = 2
    acts = [Activation(h) for h in hidden] + [Activation(out)]
    return dense(
        widths,
        acts,
        loss,
        convention=draw(st.sampled_from(CONVENTIONS)),
        delta=draw(st.sampled_from(DELTAS)),
    )


def fd_random_architecture(network, seed: int) -> None:
    report = check_grads(network, seed=seed)
    assert report.passed, f"{network}\n{report}"


def oracle_random_architecture(network) -> None:
    result = compare(derive(network), points=1)
    assert result.ok, result.mismatches[:3]


QUICK = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LONG = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

test_fd_random_architectures = QUICK(
    given(architectures(), st.integers(0, 2**16))(fd_random_architecture)
)
test_fd_random_architectures_long = pytest.mark.slow(
    LONG(given(architectures(), st.integers(0, 2**16))(fd_random_architecture))
)
test_oracle_random_architectures = settings(QUICK, max_examples=3)(
    given(architectures(max_depth=3, max_width=2))(oracle_random_architecture)
)
test_oracle_random_architectures_long = pytest.mark.slow(
    settings(LONG, max_examples=12)(
        given(architectures(max_depth=3, max_width=2))(oracle_random_architecture)
    )
)


def test_symbolic_hyperparameters_stay_symbols() -> None:
    d = derive(
        dense(
            [2, 2, 1],
            [Activation("leaky_relu", params=(("slope", "a"),)), "identity"],
            Loss("squared_error", weight_decay="lambda"),
        )
    )
    names = {str(s) for st_ in d.steps for s in st_.rhs.free_symbols}
    assert "lambda" in names
