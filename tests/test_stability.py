"""Exported code is finite wherever the maths is (issue 11 §5): large logits and
pre-activations on every backend, against NumPy references built on ``np.logaddexp`` and
against torch's stable primitives (F.cross_entropy, BCE with logits, softplus, silu)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import BACKEND_PARAMS

from derive import Loss, dense, derive
from derive.export import to_module

# One layer, X = I and b = 0, so that Z = W (column: Z = W X; row: Z = X W): the test picks
# the pre-activations directly, and dL/dW = dL/dZ, dL/db = dL/dZ summed over samples.


def _sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))


def _ref_ce(z, y, axis):
    logp = z - np.logaddexp.reduce(z, axis=axis, keepdims=True)
    return -np.sum(y * logp), np.exp(logp) - y


def _ref_bce(z, y, axis):
    loss = np.sum(y * np.logaddexp(0.0, -z) + (1 - y) * np.logaddexp(0.0, z))
    return loss, _sigmoid(z) - y


def _ref_softplus_se(z, y, axis):
    a = np.logaddexp(0.0, z)
    return 0.5 * np.sum((a - y) ** 2), (a - y) * _sigmoid(z)


def _ref_silu_se(z, y, axis):
    s = _sigmoid(z)
    a = z * s
    # silu'(z) = σ(z) + z σ(z) σ(−z)
    return 0.5 * np.sum((a - y) ** 2), (a - y) * (s + z * s * _sigmoid(-z))


Z_CE = np.array([[1e3, -1e3, 0.0, 1e3], [-1e3, 1e3, 0.0, 999.0], [0.0, -1e3, 1e3, -1e3]])
Y_CE = np.eye(3)[[0, 2, 1, 1]].T  # correct, very wrong, very wrong, nearly tied
Z_SOFT = np.array([[1e4, -1e4, 3.0], [-1e4, 1e4, -3.0], [0.0, 0.0, 1e4]])
Y_SOFT = np.array([[0.2, 0.5, 0.1], [0.7, 0.25, 0.3], [0.1, 0.25, 0.6]])
Z_BCE = np.array([[37.0, 40.0, 100.0, -800.0, -800.0, 800.0]])
Y_BCE = np.array([[1.0, 1.0, 1.0, 0.0, 0.3, 0.9]])
Z_BIG = np.array([[800.0, -800.0, 50.0, -50.0], [30.0, -30.0, 1e3, -1e3]])
Y_BIG = np.array([[1.0, -1.0, 0.5, 0.0], [2.0, 0.0, 0.1, -0.2]])

CASES = {
    "softmax-CE-1e3": ("softmax", "cross_entropy", Z_CE, Y_CE, _ref_ce),
    "softmax-CE-soft-1e4": ("softmax", "cross_entropy", Z_SOFT, Y_SOFT, _ref_ce),
    "sigmoid-BCE": ("sigmoid", "binary_cross_entropy", Z_BCE, Y_BCE, _ref_bce),
    "softplus-800": ("softplus", "squared_error", Z_BIG, Y_BIG, _ref_softplus_se),
    "silu-800": ("silu", "squared_error", Z_BIG, Y_BIG, _ref_silu_se),
}


def _setup(case, convention):
    act, loss_name, z, y, ref = CASES[case]
    k, m = z.shape
    loss = Loss(loss_name, "half_sum" if loss_name == "squared_error" else "sum")
    network = dense([m, k], [act], loss, convention=convention)
    column = convention == "column"
    zc, yc = (z, y) if column else (z.T, y.T)
    params = {"W1": zc.copy(), "b1": np.zeros((k, 1) if column else (1, k))}
    value, dz = ref(zc, yc, 0 if column else 1)
    want = {"W1": dz, "b1": dz.sum(axis=1 if column else 0, keepdims=True)}
    return network, np.eye(m), yc, params, value, want


def _run(network, backend, x, y, params):
    mod = to_module(derive(network), backend)
    if backend == "numpy":
        # no overflow even in a branch that where() drops
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            value, grads = mod.loss_and_gradients(x, y, **params)
        return float(value), grads
    if backend == "torch":
        torch = pytest.importorskip("torch", reason="torch not installed")
        value, grads = mod.loss_and_gradients(
            torch.tensor(x), torch.tensor(y), **{k: torch.tensor(v) for k, v in params.items()}
        )
        return float(value), {k: g.numpy() for k, g in grads.items()}
    jax = pytest.importorskip("jax", reason="jax not installed")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    value, grads = mod.loss_and_gradients(
        jnp.asarray(x), jnp.asarray(y), **{k: jnp.asarray(v) for k, v in params.items()}
    )
    return float(value), {k: np.asarray(g) for k, g in grads.items()}


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
@pytest.mark.parametrize("convention", ["column", "row"])
@pytest.mark.parametrize("case", list(CASES))
def test_finite_and_equal_to_the_logaddexp_reference(case, convention, backend) -> None:
    network, x, y, params, want_value, want = _setup(case, convention)
    value, grads = _run(network, backend, x, y, params)
    assert np.isfinite(value), f"loss is {value}"
    np.testing.assert_allclose(value, want_value, rtol=1e-12, atol=1e-300)
    for name, g in grads.items():
        assert np.all(np.isfinite(g)), f"d{name} has non-finite entries: {g}"
        np.testing.assert_allclose(g, want[name], rtol=1e-10, atol=1e-14, err_msg=name)


def _torch_reference(case, z, y):
    """Loss and dL/dZ from torch's own stable primitives (samples are columns of z)."""
    torch = pytest.importorskip("torch", reason="torch not installed (pip install torch==2.13.0)")
    F = torch.nn.functional
    zt = torch.tensor(z, requires_grad=True)
    yt = torch.tensor(y)
    act = CASES[case][0]
    if act == "softmax":
        loss = F.cross_entropy(zt.T, yt.T, reduction="sum")
    elif act == "sigmoid":
        loss = F.binary_cross_entropy_with_logits(zt, yt, reduction="sum")
    else:
        a = F.softplus(zt) if act == "softplus" else F.silu(zt)
        loss = 0.5 * torch.sum((a - yt) ** 2)
    loss.backward()
    return float(loss.detach()), zt.grad.numpy()


@pytest.mark.torch
@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("case", list(CASES))
def test_equal_to_torch_stable_losses(case, backend) -> None:
    network, x, y, params, _, _ = _setup(case, "column")
    t_value, t_dz = _torch_reference(case, CASES[case][2], CASES[case][3])
    value, grads = _run(network, backend, x, y, params)
    np.testing.assert_allclose(value, t_value, rtol=1e-9, atol=1e-300)
    # torch's softplus is x itself beyond 20 (threshold): agree to its precision there
    np.testing.assert_allclose(grads["W1"], t_dz, rtol=1e-8, atol=1e-12)


def test_large_sigmoid_in_float32_keeps_dtype_and_is_finite() -> None:
    network, x, y, params, want_value, _ = _setup("sigmoid-BCE", "column")
    mod = to_module(derive(network))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value, grads = mod.loss_and_gradients(
            x.astype(np.float32),
            y.astype(np.float32),
            **{k: v.astype(np.float32) for k, v in params.items()},
        )
    assert np.isfinite(value) and value.dtype == np.float32
    np.testing.assert_allclose(value, want_value, rtol=1e-5)
    assert all(g.dtype == np.float32 and np.all(np.isfinite(g)) for g in grads.values())


def test_derivation_keeps_the_textbook_formulas() -> None:
    """The stable forms are in the code only: comments still read as the derivation."""
    src = to_module(derive(dense([2, 3], ["softmax"], "cross_entropy")), "numpy").__source__
    assert "# L = −(1/m) Σ Y ⊙ log A₁" in src
    assert "_log_softmax(Z1, 0)" in src


# --------------------------------------------------------------------------- verify's pass

STACK = dense(
    [3, 4, 3, 2],
    ["silu", "softplus", "sigmoid"],
    Loss("binary_cross_entropy", "mean"),
)


def _naive_module(tmp_path, network, replacements):
    """The exported module with textbook formulas put back: what verify must catch."""
    import importlib.util

    from derive.export import to_source

    src = to_source(derive(network))
    for old, new in replacements.items():
        assert old in src
        src = src.replace(old, new)
    path = tmp_path / "naive_export.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("naive_export", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_verify_tries_large_preactivations_and_passes_stable_code() -> None:
    from derive.oracles.verify import check_grads

    report = check_grads(STACK)
    assert report.passed and report.unstable == []
    assert "unstable" in report.as_dict()


@pytest.mark.parametrize(
    ("replacements", "where"),
    [
        ({"numpy.logaddexp(0, Z2)": "numpy.log(1 + numpy.exp(Z2))"}, "Z2"),
        ({"numpy.logaddexp(0, -Z3)": "-numpy.log(_sigmoid(Z3))"}, "Z3"),
        ({"Z1*_sigmoid(-Z1)*_sigmoid(Z1)": "Z1*numpy.exp(-Z1)/(1 + numpy.exp(-Z1))**2"}, "Z1"),
    ],
)
def test_verify_reports_nonfinite_values_at_large_z(tmp_path, replacements, where) -> None:
    from derive.oracles.verify import check_grads

    mod = _naive_module(tmp_path, STACK, replacements)
    report = check_grads(STACK, module=mod)
    assert not report.passed
    assert any(f"max|{where}|" in item for item in report.unstable), report.unstable
    assert "large |z|" in str(report)
