"""Every backend against a torch reference written from the spec (issue 16 §1).

Hypothesis draws dense networks (every activation, custom formulas included, every loss,
both conventions and delta definitions, widths and batch down to 1); each is exported to
NumPy, JAX and PyTorch, compared in float64 with ``torch_loss`` of tests/test_torch_oracle.py
(autograd on a forward pass written by hand), and run in float32, whose results must stay
float32. The torch module must also run on the ``meta`` device: a constant it created
itself (``torch.eye(1)``, a ``torch.tensor``) would sit on the CPU and break there.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import CONVENTIONS, DELTAS, HIDDEN_ACTIVATIONS, LOSSES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derive import Activation, dense, derive
from derive.export import to_module
from derive.oracles.verify import random_point

pytestmark = pytest.mark.torch  # every test compares with a torch reference
torch = pytest.importorskip("torch", reason="torch not installed (pip install torch==2.13.0)")
from test_torch_oracle import TORCH_CUSTOM, torch_loss  # noqa: E402

ACTIVATIONS = [
    *HIDDEN_ACTIVATIONS,
    *(Activation("custom", expr=e) for e in TORCH_CUSTOM if e not in ("x^3 / 3 + x",)),
]
assert all(a.expr in TORCH_CUSTOM for a in ACTIVATIONS if a.name == "custom")


def _jax():
    jax = pytest.importorskip("jax", reason="jax not installed (pip install jax)")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    return jnp


def _to(backend, value, dtype):
    if backend == "numpy":
        return value.astype(dtype)
    if backend == "torch":
        return torch.tensor(value, dtype=getattr(torch, np.dtype(dtype).name))
    return _jax().asarray(value, dtype=dtype)


def _run(mod, backend, point, dtype):
    args = {k: _to(backend, v, dtype) for k, v in point.params.items()}
    x, y = _to(backend, point.X, dtype), _to(backend, point.Y, dtype)
    with np.errstate(all="ignore"):
        return mod.loss_and_gradients(x, y, **args, **point.hyper)


def _dtype_name(value) -> str:
    return str(value.dtype).removeprefix("torch.")


networks = st.builds(
    lambda widths, acts, loss_out, convention, delta, batch: dense(
        widths,
        [*acts[: len(widths) - 2], Activation(loss_out[1])],
        loss_out[0],
        convention=convention,
        delta=delta,
        batch=batch,
    ),
    widths=st.lists(st.integers(1, 4), min_size=2, max_size=5),
    acts=st.lists(st.sampled_from(ACTIVATIONS), min_size=4, max_size=4),
    loss_out=st.sampled_from(LOSSES),
    convention=st.sampled_from(CONVENTIONS),
    delta=st.sampled_from(DELTAS),
    batch=st.integers(1, 4),
)


def check_every_backend(network, seed: int) -> None:
    d = derive(network)
    ref = to_module(d)
    point = random_point(d, ref, np.random.default_rng(seed))
    t_value, t_grads = torch_loss(network, point)
    for backend in ("numpy", "jax", "torch"):
        if backend == "jax":
            _jax()
        mod = ref if backend == "numpy" else to_module(d, backend)
        value, grads = _run(mod, backend, point, np.float64)
        np.testing.assert_allclose(float(value), t_value, rtol=1e-9, err_msg=backend)
        for name in mod.PARAMETERS:
            np.testing.assert_allclose(
                np.asarray(grads[name]),
                t_grads[name],
                rtol=1e-8,
                atol=1e-12,
                err_msg=f"{backend} d{name}",
            )
        value32, grads32 = _run(mod, backend, point, np.float32)
        kinds = {"loss": _dtype_name(value32)}
        kinds |= {f"d{k}": _dtype_name(g) for k, g in grads32.items()}
        assert set(kinds.values()) == {"float32"}, f"{backend}: float32 in, out {kinds}"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(network=networks, seed=st.integers(0, 999))
def test_every_backend_equals_the_torch_reference(network, seed) -> None:
    check_every_backend(network, seed)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(network=networks, seed=st.integers(0, 999))
def test_every_backend_equals_the_torch_reference_long(network, seed) -> None:
    check_every_backend(network, seed)


# the cases the oracle found (issue 16 §1), kept as plain regression tests
@pytest.mark.parametrize("expr", ["sqrt(1 + x^2)", "2^x", "min(x, 1)"])
@pytest.mark.parametrize("convention", CONVENTIONS)
def test_custom_activations_on_every_backend(expr, convention) -> None:
    network = dense([3, 2, 2], [Activation("custom", expr=expr), "identity"], convention=convention)
    check_every_backend(network, 0)


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_width_one_batch_one_keeps_float32(convention) -> None:
    check_every_backend(dense([1, 1, 1], ["tanh", "tanh"], convention=convention, batch=1), 0)


META_NETWORKS = [
    dense([1, 1, 1], ["tanh", "sigmoid"], "binary_cross_entropy", batch=1),
    dense([1, 1, 1], ["tanh", "tanh"], batch=1, convention="row"),
    *(
        dense([3, 2, 1, 2], [a, a, "softmax"], "cross_entropy", batch=1)
        for a in ACTIVATIONS
        if a.name != "leaky_relu" or dict(a.params)["slope"] != "a"
    ),
    dense([2, 2, 2], [Activation("leaky_relu", params=(("slope", "a"),)), "sigmoid"]),
]


def assert_runs_on_meta(network) -> None:
    """Every input on the meta device: a tensor the module made on the CPU would not mix."""
    d = derive(network)
    mod = to_module(d, "torch")
    point = random_point(d, to_module(d), np.random.default_rng(0))
    meta = {
        k: torch.empty(v.shape, dtype=torch.float64, device="meta") for k, v in point.params.items()
    }
    x = torch.empty(point.X.shape, dtype=torch.float64, device="meta")
    y = torch.empty(point.Y.shape, dtype=torch.float64, device="meta")
    value, grads = mod.loss_and_gradients(x, y, **meta, **point.hyper)
    assert value.device.type == "meta"
    assert all(g.device.type == "meta" and g.shape == meta[k].shape for k, g in grads.items())


@pytest.mark.parametrize("network", META_NETWORKS, ids=lambda n: n.layers[0].activation.label)
def test_torch_module_creates_no_cpu_constant(network) -> None:
    """Inputs on the meta device: any tensor the module made on the CPU fails to mix."""
    assert_runs_on_meta(network)


@pytest.mark.parametrize("name", ["cnn", "avgpool"])
def test_torch_cnn_module_creates_no_cpu_constant(name: str) -> None:
    """The conv/pool helpers too (kept max-pool indices, conv backward kernels)."""
    from derive import AvgPool2d, Conv2d, Flatten, Layer, Loss, Network

    layers = (Conv2d(3, 3, padding=1, activation="tanh"), AvgPool2d(2), Flatten())
    network = (
        derive("cnn").network
        if name == "cnn"
        else Network((2, 6, 6), (*layers, Layer(2, "identity")), loss=Loss("squared_error"))
    )
    assert_runs_on_meta(network)
