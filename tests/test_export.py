"""The exported module: its interface, dtypes, shape errors, and the JAX/PyTorch backends."""

from __future__ import annotations

import ast
import sys

import numpy as np
import pytest
from conftest import CONVENTIONS, HIDDEN_ACTIVATIONS, LOSSES, grid, label, net
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derive import Activation, derive
from derive.export import ExportError, to_module, to_source
from derive.oracles.verify import random_point


def _point(d, module, seed=0):
    return random_point(d, module, np.random.default_rng(seed))


def test_module_interface() -> None:
    d = derive("ng")
    mod = d.to_function().module
    assert mod.PARAMETERS == ("W1", "b1", "W2", "b2")
    assert mod.SHAPES == {
        "X": ("n_x", "m"),
        "Y": (1, "m"),
        "W1": ("n_h", "n_x"),
        "b1": ("n_h", 1),
        "W2": (1, "n_h"),
        "b2": (1, 1),
    }
    p = _point(d, mod)
    value, grads = mod.loss_and_gradients(p.X, p.Y, **p.params)
    assert np.isclose(mod.loss(p.X, p.Y, **p.params), value)
    assert mod.forward(p.X, **p.params).shape == p.Y.shape
    for name in mod.PARAMETERS:
        assert grads[name].shape == p.params[name].shape
    assert set(mod.gradients(p.X, p.Y, **p.params)) == set(mod.PARAMETERS)


def test_source_reads_like_the_derivation_and_imports_only_numpy() -> None:
    src = to_source("nielsen")
    tree = ast.parse(src)
    imported = {
        a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names
    }
    assert imported == {"numpy"}
    assert "sympy" not in src
    assert (
        "    # δ₁ = (W₂ᵀ δ₂) ⊙ σ'(Z₁)   (in place)\n    delta1 = W2.T @ delta2\n"
        "    delta1 *= A1\n    delta1 *= (1 - A1)"
    ) in src
    assert "dW1 = delta1 @ X.T" in src
    assert "db1 = numpy.sum(delta1, axis=1, keepdims=True)" in src
    formulas = to_source("nielsen", fast=False)  # each statement the formula of its comment
    assert (
        "    # δ₁ = (W₂ᵀ δ₂) ⊙ σ'(Z₁)\n    delta1 = (W2.T @ delta2) * (A1 * (1 - A1))" in formulas
    )


def test_the_fast_module_moves_1_over_m_to_the_output_delta() -> None:
    """Per-sample deltas, mean loss: the code divides δ_L by m once; no gradient divides."""
    fast, plain = to_source("ng"), to_source("ng", fast=False)
    assert "    delta2 = (A2 - Y) / m\n" in fast and "dW1 = delta1 @ X.T\n" in fast
    assert "dW1 = (delta1 @ X.T) / m" in plain and "    delta2 = A2 - Y\n" in plain
    assert "(code: the 1/m is in the deltas)" in fast
    d = derive("ng")
    a, b = to_module(d), to_module(d, fast=False)
    p = random_point(d, a, np.random.default_rng(0))
    _, ga = a.loss_and_gradients(p.X, p.Y, **p.params)
    _, gb = b.loss_and_gradients(p.X, p.Y, **p.params)
    for k in ga:
        np.testing.assert_allclose(ga[k], gb[k], rtol=1e-12, atol=1e-15)


def test_output_form_reuses_the_activation() -> None:
    src = to_source(derive("ng"))
    assert "delta1 = W2.T @ delta2\n    delta1 *= (1 - A1**2)" in src  # tanh' through A1, not Z1
    # tanh is computed once per forward pass (intermediates, loss, _backprop), never again
    assert src.count("numpy.tanh(") == 3


@pytest.mark.parametrize("hidden", HIDDEN_ACTIVATIONS, ids=label)
@pytest.mark.parametrize("loss_out", LOSSES, ids=label)
def test_float32_in_float32_out(hidden, loss_out) -> None:
    d = derive(net([3, 4, 3], hidden, loss_out, "row"))
    mod = to_module(d)
    p = _point(d, mod)
    cast = {k: v.astype(np.float32) for k, v in p.params.items()}
    value, grads = mod.loss_and_gradients(
        p.X.astype(np.float32), p.Y.astype(np.float32), **cast, **p.hyper
    )
    assert np.asarray(value).dtype == np.float32
    for name, g in grads.items():
        assert g.dtype == np.float32, name


def test_symbolic_widths_take_shapes_from_the_arrays() -> None:
    mod = to_module("nielsen")
    rng = np.random.default_rng(0)
    for n0, n1, n2, m in [(2, 3, 1, 5), (7, 2, 4, 1)]:
        params = {
            "W1": rng.normal(size=(n1, n0)),
            "b1": rng.normal(size=(n1, 1)),
            "W2": rng.normal(size=(n2, n1)),
            "b2": rng.normal(size=(n2, 1)),
        }
        grads = mod.gradients(rng.normal(size=(n0, m)), rng.normal(size=(n2, m)), **params)
        assert grads["W1"].shape == (n1, n0)


def test_wrong_shape_names_the_parameter_and_both_shapes() -> None:
    mod = to_module("nielsen")
    rng = np.random.default_rng(0)
    params = {
        "W1": rng.normal(size=(3, 2)),
        "b1": rng.normal(size=(3, 1)),
        "W2": rng.normal(size=(1, 4)),
        "b2": rng.normal(size=(1, 1)),
    }
    with pytest.raises(
        ValueError,
        match=r"W2 has shape \(1, 4\), expected \('n_2', 'n_1'\) with n_2 = 1 from Y, "
        r"n_1 = 3 from W1$",
    ):
        mod.gradients(rng.normal(size=(2, 5)), rng.normal(size=(1, 5)), **params)
    with pytest.raises(ValueError, match="b1 must be a 2-d array"):
        mod.gradients(
            rng.normal(size=(2, 5)),
            rng.normal(size=(1, 5)),
            **{**params, "W2": rng.normal(size=(1, 3)), "b1": np.zeros(3)},
        )


def test_shape_error_names_widths_bound_by_other_arrays_only() -> None:
    """``forward`` has no Y: W2's own first axis binds n_2, and is not reported as a bound."""
    mod = to_module("nielsen")
    rng = np.random.default_rng(0)
    params = {"W1": np.zeros((3, 2)), "b1": np.zeros((3, 1)), "W2": np.zeros((5, 4))}
    with pytest.raises(ValueError) as err:
        mod.forward(rng.normal(size=(2, 5)), **params, b2=np.zeros((5, 1)))
    assert str(err.value) == ("W2 has shape (5, 4), expected ('n_2', 'n_1') with n_1 = 3 from W1")


def test_forward_takes_only_the_hyperparameters_it_uses() -> None:
    """λ is a loss term: forward/intermediates do not ask for it; a leaky slope they do."""
    d = derive(net([2, 3, 1], Activation("leaky_relu", params=(("slope", "a"),)), LOSSES[4]))
    mod = to_module(d)
    p = random_point(d, mod, np.random.default_rng(0))
    params = dict(p.params)
    out = mod.forward(p.X, **params, a=0.1)
    assert out.shape == p.Y.shape
    assert set(mod.intermediates(p.X, **params, a=0.1)) == {"Z1", "A1", "Z2", "A2"}
    with pytest.raises(TypeError):
        mod.forward(p.X, **params, a=0.1, lam=0.5)
    mod.loss(p.X, p.Y, **params, **p.hyper)  # the loss still takes both


def test_concrete_widths_are_checked_too() -> None:
    mod = to_module(derive(net([3, 4, 2], Activation("tanh"), LOSSES[0])))
    with pytest.raises(ValueError, match=r"X has shape \(2, 5\), expected \(3, 'm'\)"):
        mod.forward(
            np.zeros((2, 5)),
            W1=np.zeros((4, 3)),
            b1=np.zeros((4, 1)),
            W2=np.zeros((2, 4)),
            b2=np.zeros((2, 1)),
        )


def test_unknown_backend_and_missing_backend(monkeypatch) -> None:
    with pytest.raises(ExportError, match="unknown backend 'tensorflow'"):
        to_source("ng", "tensorflow")
    monkeypatch.setitem(sys.modules, "jax.numpy", None)
    with pytest.raises(ExportError, match="pip install 'jax'"):
        to_module("ng", "jax")


# --------------------------------------------------------------------------- backends


def _compare_backend(network, backend, to_array, from_array, seed=0):
    d = derive(network)
    ref = to_module(d)
    mod = to_module(d, backend)
    p = _point(d, ref, seed)
    value, grads = ref.loss_and_gradients(p.X, p.Y, **p.params, **p.hyper)
    args = {k: to_array(v) for k, v in p.params.items()}
    b_value, b_grads = mod.loss_and_gradients(to_array(p.X), to_array(p.Y), **args, **p.hyper)
    np.testing.assert_allclose(from_array(b_value), value, rtol=1e-10)
    for name in ref.PARAMETERS:
        np.testing.assert_allclose(
            from_array(b_grads[name]), grads[name], rtol=1e-10, atol=1e-13, err_msg=name
        )
    return mod, p


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch", reason="torch not installed (pip install torch==2.13.0)")


@pytest.fixture(scope="module")
def jax():
    jax = pytest.importorskip("jax", reason="jax not installed (pip install jax)")
    jax.config.update("jax_enable_x64", True)
    return jax


@pytest.mark.parametrize(
    "hidden,loss_out,convention", grid(HIDDEN_ACTIVATIONS, LOSSES, CONVENTIONS, ids=label)
)
@pytest.mark.torch
def test_torch_backend_equals_numpy(torch, hidden, loss_out, convention) -> None:
    _compare_backend(
        net([3, 4, 3], hidden, loss_out, convention),
        "torch",
        torch.from_numpy,
        lambda t: t.detach().numpy(),
    )


@pytest.mark.parametrize(
    "hidden,loss_out,convention", grid(HIDDEN_ACTIVATIONS, LOSSES, CONVENTIONS, ids=label)
)
@pytest.mark.jax
def test_jax_backend_equals_numpy(jax, hidden, loss_out, convention) -> None:
    import jax.numpy as jnp

    _compare_backend(net([3, 4, 3], hidden, loss_out, convention), "jax", jnp.asarray, np.asarray)


@pytest.mark.jax
def test_jax_backend_is_jittable_and_equals_jax_grad(jax) -> None:
    import jax.numpy as jnp

    for spec in ("nielsen", "ng", "cs231n"):
        d = derive(spec)
        mod = to_module(d, "jax")
        p = _point(d, to_module(d))
        args = {k: jnp.asarray(v) for k, v in p.params.items()}
        x, y = jnp.asarray(p.X), jnp.asarray(p.Y)
        value, grads = jax.jit(mod.loss_and_gradients)(x, y, **args)
        auto = jax.grad(lambda prm, mod=mod, x=x, y=y: mod.loss(x, y, **prm))(args)
        for name in mod.PARAMETERS:
            np.testing.assert_allclose(grads[name], auto[name], rtol=1e-10, atol=1e-14)


@pytest.mark.torch
def test_torch_backend_equals_autograd_on_its_own_forward(torch) -> None:
    for spec in ("nielsen", "ng", "cs231n"):
        d = derive(spec)
        mod = to_module(d, "torch")
        p = _point(d, to_module(d))
        args = {k: torch.tensor(v, requires_grad=True) for k, v in p.params.items()}
        x, y = torch.tensor(p.X), torch.tensor(p.Y)
        _, grads = mod.loss_and_gradients(x, y, **{k: v.detach() for k, v in args.items()})
        mod.loss(x, y, **args).backward()
        for name in mod.PARAMETERS:
            np.testing.assert_allclose(
                grads[name].numpy(), args[name].grad.numpy(), rtol=1e-10, atol=1e-14
            )


@pytest.mark.torch
def test_torch_backend_keeps_float32(torch) -> None:
    d = derive(net([3, 4, 2], Activation("leaky_relu"), LOSSES[5]))
    mod = to_module(d, "torch")
    p = _point(d, to_module(d))
    args = {k: torch.tensor(v, dtype=torch.float32) for k, v in p.params.items()}
    value, grads = mod.loss_and_gradients(
        torch.tensor(p.X, dtype=torch.float32), torch.tensor(p.Y, dtype=torch.float32), **args
    )
    assert value.dtype == torch.float32
    assert all(g.dtype == torch.float32 for g in grads.values())


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    depth=st.integers(1, 5),
    width=st.integers(1, 4),
    hidden=st.sampled_from(["sigmoid", "tanh", "relu", "elu", "gelu", "softplus"]),
    loss_out=st.sampled_from(LOSSES),
    convention=st.sampled_from(CONVENTIONS),
    seed=st.integers(0, 999),
)
@pytest.mark.jax
def test_jax_grad_agrees_on_random_networks(jax, depth, width, hidden, loss_out, convention, seed):
    import jax.numpy as jnp

    widths = [width + 1] + [width] * (depth - 1) + [2]
    mod, p = _compare_backend(
        net(widths, Activation(hidden), loss_out, convention), "jax", jnp.asarray, np.asarray, seed
    )
    args = {k: jnp.asarray(v) for k, v in p.params.items()}
    auto = jax.grad(lambda prm: mod.loss(jnp.asarray(p.X), jnp.asarray(p.Y), **prm, **p.hyper))(
        args
    )
    _, grads = mod.loss_and_gradients(jnp.asarray(p.X), jnp.asarray(p.Y), **args, **p.hyper)
    for name in mod.PARAMETERS:
        np.testing.assert_allclose(grads[name], auto[name], rtol=1e-10, atol=1e-13)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    depth=st.integers(1, 3),
    hidden=st.sampled_from(["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "identity"]),
    loss_out=st.sampled_from(LOSSES),
    convention=st.sampled_from(CONVENTIONS),
    delta=st.sampled_from(["per_sample", "mean"]),
)
def test_in_place_statements_never_touch_the_inputs(depth, hidden, loss_out, convention, delta):
    """The fast module updates its own temporaries in place, never X, Y or a parameter."""
    d = derive(net([3] + [4] * (depth - 1) + [2], Activation(hidden), loss_out, convention, delta))
    mod = to_module(d)
    p = _point(d, mod)
    before = {k: v.copy() for k, v in {**p.params, "X": p.X, "Y": p.Y}.items()}
    mod.loss_and_gradients(p.X, p.Y, **p.params, **p.hyper)
    mod.loss(p.X, p.Y, **p.params, **p.hyper)
    for name, value in {**p.params, "X": p.X, "Y": p.Y}.items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)


def test_cnn_module_never_touches_its_inputs() -> None:
    d = derive("cnn")
    mod = to_module(d)
    p = _point(d, mod)
    before = {k: v.copy() for k, v in {**p.params, "X": p.X, "Y": p.Y}.items()}
    mod.loss_and_gradients(p.X, p.Y, **p.params)
    for name, value in {**p.params, "X": p.X, "Y": p.Y}.items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)
