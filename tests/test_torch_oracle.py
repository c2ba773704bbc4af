"""The exported gradients equal torch.autograd on the same networks (float64)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import CONVENTIONS, DELTAS, LOSSES, grid, label, net
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derive import Activation, derive
from derive.export import to_module
from derive.oracles.verify import random_point

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch", reason="torch not installed (pip install torch==2.13.0)")
F = torch.nn.functional

TORCH_ACT = {
    "identity": lambda z, p: z,
    "sigmoid": lambda z, p: torch.sigmoid(z),
    "tanh": lambda z, p: torch.tanh(z),
    "relu": lambda z, p: torch.relu(z),
    "leaky_relu": lambda z, p: F.leaky_relu(z, p.get("slope", 0.01)),
    "softplus": lambda z, p: F.softplus(z),
    "elu": lambda z, p: F.elu(z, p.get("alpha", 1.0)),
    "silu": lambda z, p: F.silu(z),
    "gelu": lambda z, p: F.gelu(z),
}
#: Custom activations by their formula, written in torch by hand.
TORCH_CUSTOM = {
    "x / (1 + abs(x))": lambda z: z / (1 + torch.abs(z)),
    "x^3 / 3 + x": lambda z: z**3 / 3 + z,
    "sqrt(1 + x^2)": lambda z: torch.sqrt(1 + z**2),
    "2^x": lambda z: 2.0**z,
    "min(x, 1)": lambda z: torch.clamp_max(z, 1.0),
}


def _number(value, hyper):
    """A spec's number, or the value the point gave its symbol (slope a, lambda, …)."""
    if isinstance(value, str):
        return float(hyper[{"lambda": "lam"}.get(value, value)])
    return float(value)


def torch_loss(network, point):
    """The network's loss written directly in torch, independent of derive's derivation."""
    column = network.convention == "column"
    t = {k: torch.tensor(v, requires_grad=True) for k, v in point.params.items()}
    a = torch.tensor(point.X)
    y = torch.tensor(point.Y)
    m = a.shape[1] if column else a.shape[0]
    for i, layer in enumerate(network.layers, start=1):
        w, b = t[f"W{i}"], t[f"b{i}"]
        z = w @ a + b if column else a @ w + b
        act = layer.activation
        params = {k: _number(v, point.hyper) for k, v in act.params}
        if act.name == "softmax":
            a = torch.softmax(z, dim=0 if column else 1)
        elif act.name == "custom":
            a = TORCH_CUSTOM[act.expr](z)
        else:
            a = TORCH_ACT[act.name](z, params)
    loss = network.loss
    scale = 1.0 / m if loss.is_mean else 1.0
    if loss.name == "squared_error":
        half = 0.5 if loss.reduction.startswith("half") else 1.0
        data = half * torch.sum((a - y) ** 2)
    elif loss.name == "cross_entropy":
        data = -torch.sum(y * torch.log(a))
    else:
        data = F.binary_cross_entropy(a, y, reduction="sum")
    total = scale * data
    if loss.weight_decay is not None:
        lam = _number(loss.weight_decay, point.hyper)
        total = total + lam / (2 * m) * sum(
            torch.sum(t[f"W{i}"] ** 2) for i in range(1, len(network.layers) + 1)
        )
    total.backward()
    return float(total.detach()), {k: v.grad.numpy() for k, v in t.items()}


def compare_with_torch(network, seed=0):
    d = derive(network)
    module = to_module(d)
    point = random_point(d, module, np.random.default_rng(seed))
    value, grads = module.loss_and_gradients(point.X, point.Y, **point.params, **point.hyper)
    t_value, t_grads = torch_loss(network, point)
    np.testing.assert_allclose(value, t_value, rtol=1e-10)
    for name in module.PARAMETERS:
        np.testing.assert_allclose(grads[name], t_grads[name], rtol=1e-10, atol=1e-14, err_msg=name)


NUMERIC_LOSSES = [lo for lo in LOSSES if not isinstance(lo[0].weight_decay, str)]


@pytest.mark.parametrize(
    "hidden,loss_out,convention,delta",
    grid(sorted(TORCH_ACT), NUMERIC_LOSSES, CONVENTIONS, DELTAS, ids=label),
)
def test_torch_agrees(hidden, loss_out, convention, delta):
    compare_with_torch(net([3, 4, 3, 2], Activation(hidden), loss_out, convention, delta))


@pytest.mark.parametrize("spec", ["nielsen", "ng", "cs231n"])
def test_torch_agrees_on_examples(spec):
    compare_with_torch(derive(spec).network)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    depth=st.integers(1, 6),
    width=st.integers(1, 5),
    hidden=st.sampled_from(sorted(TORCH_ACT)),
    loss_out=st.sampled_from(NUMERIC_LOSSES),
    convention=st.sampled_from(CONVENTIONS),
    seed=st.integers(0, 1000),
)
def test_torch_agrees_random(depth, width, hidden, loss_out, convention, seed):
    widths = [width + 1] + [width] * (depth - 1) + [2]
    compare_with_torch(net(widths, Activation(hidden), loss_out, convention), seed)
