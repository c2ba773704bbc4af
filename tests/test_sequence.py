"""Sequence models as forward programs (issue 15): the RNN, LSTM and attention builders,
their derivations (BPTT), three-way truth, the torch oracles and the hand-written
baselines of the benchmark."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from derive.programs import derive_program
from derive.spec.program_records import PROGRAM_EXAMPLES
from derive.spec.reading import example_text
from derive.spec.records import SpecError
from derive.spec.sequence import (
    MAX_STEPS,
    attention_program,
    attention_text,
    lstm_program,
    lstm_text,
    rnn_program,
    rnn_text,
)

ROOT = Path(__file__).resolve().parent.parent


def _handwritten() -> Any:
    spec = importlib.util.spec_from_file_location("handwritten", ROOT / "benchmarks/handwritten.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _point(d: Any, sizes: dict[str, int], seed: int = 0) -> tuple[list[Any], dict[str, Any]]:
    """Random arguments for the exported ``gradients`` (labels drawn in range)."""
    mod = d.to_function().module
    rng = np.random.default_rng(seed)
    g = d.graph
    args: dict[str, Any] = {}
    for sym in [*g.inputs, *g.parameters]:
        shape = [int(s) if s.is_Integer else sizes[str(s)] for s in sym.shape]
        args[sym.name] = rng.standard_normal(shape) * 0.5
    for lab in g.labels:
        args[lab.name] = rng.integers(0, sizes["C"], size=sizes["N"])
    if g.upstream is not None:
        shape = [int(s) if s.is_Integer else sizes[str(s)] for s in g.upstream.shape]
        args[g.upstream.name] = rng.standard_normal(shape)
    del mod
    return [args[s.name] for s in [*g.inputs, *g.labels, *g.parameters]] + (
        [args[g.upstream.name]] if g.upstream is not None else []
    ), args


# ----------------------------------------------------------------------------- builders


def test_examples_are_the_builders_output() -> None:
    assert "rnn" in PROGRAM_EXAMPLES
    assert example_text("rnn") == rnn_text(3)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"steps": 0}, "from 1 to"),
        ({"steps": MAX_STEPS["rnn"] + 1}, "from 1 to"),
        ({"steps": True}, "from 1 to"),
        ({"steps": 2.0}, "from 1 to"),
        ({"steps": 2, "activation": "softplus"}, "activation must be one of"),
        ({"steps": 2, "loss": "hinge"}, "loss must be one of"),
        ({"steps": 2, "at": "first"}, "at must be one of"),
        ({"steps": 2, "hidden": "H; import os"}, "not a valid symbol name"),
        ({"steps": 2, "hidden": 0}, "between 1 and"),
        ({"steps": 2, "batch": "b"}, "both a size and a parameter"),
    ],
)
def test_rnn_builder_refuses_bad_arguments(kwargs: dict[str, Any], needle: str) -> None:
    with pytest.raises(SpecError, match=needle):
        rnn_program(**kwargs)


def test_bptt_is_in_the_staged_derivation() -> None:
    d = derive_program(rnn_program(3))
    # dh_1 gains one term through z_2 (the recurrence, W_hhᵀ) and one through its own loss
    text = d.text()
    assert "dh₁ = dS₁ W_{hy}ᵀ + dz₂ Wₕₕᵀ" in text, text
    assert "dz₂ = dh₂ ⊙ (1 − h₂∘²)" in text  # tanh' through its output, as notes write it
    # the weight gradients sum over the three steps
    assert "dWₕₕ = h₀ᵀ dz₁ + h₁ᵀ dz₂ + h₂ᵀ dz₃" in text
    assert "dWₓₕ = X₁ᵀ dz₁ + X₂ᵀ dz₂ + X₃ᵀ dz₃" in text


def test_loss_at_the_last_step_only() -> None:
    text = derive_program(rnn_program(3, at="last")).text()
    # h_1 reaches the loss only through h_2: one term, the recurrence
    assert "dh₁ = dz₂ Wₕₕᵀ" in text


def test_derivation_at_fifty_steps_stays_fast() -> None:
    import time

    t0 = time.perf_counter()
    d = derive_program(rnn_program(50))
    d.to_source()
    assert time.perf_counter() - t0 < 10  # about 1.5 s on the 2-core machine


# ----------------------------------------------------------------------------- truth


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"loss": "mse"},
        {"at": "last"},
        {"loss": "upstream"},
        {"activation": "sigmoid"},
        {"activation": "relu", "loss": "mse", "at": "last"},
    ],
)
def test_rnn_verifies_three_ways(kwargs: dict[str, Any]) -> None:
    report = derive_program(rnn_program(2, **kwargs)).verify()
    assert report.passed, str(report)


def _torch_rnn_grads(
    args: dict[str, Any], steps: int, activation: str, loss: str, at: str
) -> dict[str, np.ndarray]:
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch)")
    d_in, hidden = args["W_xh"].shape
    rnn = torch.nn.RNN(d_in, hidden, nonlinearity=activation, batch_first=True)
    rnn = rnn.double()
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.tensor(args["W_xh"].T))
        rnn.weight_hh_l0.copy_(torch.tensor(args["W_hh"].T))
        rnn.bias_ih_l0.copy_(torch.tensor(args["b"][0] * 0.25))
        rnn.bias_hh_l0.copy_(torch.tensor(args["b"][0] * 0.75))  # b = b_ih + b_hh
    x = torch.tensor(np.stack([args[f"X_{t}"] for t in range(1, steps + 1)], axis=1))
    h0 = torch.tensor(args["h_0"])[None]
    hs, _ = rnn(x, h0)
    wy = torch.tensor(args["W_hy"], requires_grad=True)
    by = torch.tensor(args["b_y"], requires_grad=True)
    ts = range(1, steps + 1) if at == "every" else [steps]
    total = torch.zeros((), dtype=torch.float64)
    for t in ts:
        s = hs[:, t - 1] @ wy + by
        if loss == "cross_entropy":
            y = torch.tensor(args[f"y_{t}"], dtype=torch.long)
            total = total + torch.nn.functional.cross_entropy(s, y)
        else:
            target = torch.tensor(args[f"Y_{t}"])
            total = total + ((s - target) ** 2).sum() / (2 * s.shape[0])
    total.backward()
    return {
        "W_xh": rnn.weight_ih_l0.grad.numpy().T,
        "W_hh": rnn.weight_hh_l0.grad.numpy().T,
        "b": rnn.bias_ih_l0.grad.numpy()[None],
        "W_hy": wy.grad.numpy(),
        "b_y": by.grad.numpy(),
    }


def _layer_form(kind: str, steps: int, loss: str, at: str, activation: str = "tanh") -> Any:
    """The derivation of the same model written as a layer of the network spec."""
    import tomllib

    from derive.spec.sequence_layers import from_sequence_dict

    act = f'activation = "{activation}"\n' if kind == "rnn" else ""
    spec_loss, readout = {
        "cross_entropy": ("cross_entropy", "softmax"),
        "mse": ("squared_error", "identity"),
    }[loss]
    text = (
        f'input = "D"\nbatch = "N"\n[[layers]]\ntype = "{kind}"\nsteps = {steps}\n{act}'
        f'loss_at = "{at}"\n[[layers]]\ntype = "dense"\nwidth = "C"\n'
        f'activation = "{readout}"\n[loss]\nname = "{spec_loss}"\n'
    )
    return derive_program(from_sequence_dict(tomllib.loads(text), source="t.toml", text=text))


def _check_rnn_against_torch(
    steps: int,
    sizes: dict[str, int],
    activation: str,
    loss: str,
    at: str,
    seed: int,
    layered: bool = False,
) -> None:
    d = (
        _layer_form("rnn", steps, loss, at, activation)
        if layered
        else derive_program(rnn_program(steps, activation=activation, loss=loss, at=at))
    )
    call, args = _point(d, sizes, seed)
    ours = d.to_function()(*call)
    theirs = _torch_rnn_grads(args, steps, activation, loss, at)
    assert set(ours) == set(theirs)
    for name, value in theirs.items():
        np.testing.assert_allclose(ours[name], value, rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.torch
def test_rnn_example_against_torch() -> None:
    _check_rnn_against_torch(
        3, {"N": 4, "D": 3, "H": 5, "C": 3}, "tanh", "cross_entropy", "every", 0
    )


_rnn_configs = st.tuples(
    st.integers(1, 4),
    st.fixed_dictionaries(
        {
            "N": st.integers(1, 4),
            "D": st.integers(1, 4),
            "H": st.integers(1, 4),
            "C": st.integers(2, 4),
        }
    ),
    st.sampled_from(["tanh", "relu"]),
    st.sampled_from(["cross_entropy", "mse"]),
    st.sampled_from(["every", "last"]),
    st.integers(0, 2**16),
)


@pytest.mark.torch
@settings(max_examples=4, deadline=None)
@given(_rnn_configs)
def test_rnn_against_torch_drawn(config: tuple[Any, ...]) -> None:
    _check_rnn_against_torch(*config)


@pytest.mark.torch
@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(_rnn_configs)
def test_rnn_against_torch_drawn_long(config: tuple[Any, ...]) -> None:
    _check_rnn_against_torch(*config)


def test_handwritten_rnn_baseline_equals_the_export() -> None:
    hw = _handwritten()
    steps, sizes = 4, {"N": 5, "D": 3, "H": 4, "C": 3}
    d = derive_program(rnn_program(steps))
    call, args = _point(d, sizes, 3)
    ours = d.to_function()(*call)
    xs = [args[f"X_{t}"] for t in range(1, steps + 1)]
    ys = [args[f"y_{t}"] for t in range(1, steps + 1)]
    p = [args[k] for k in ("W_xh", "W_hh", "b", "W_hy", "b_y")]
    _, theirs = hw.rnn_loss_and_grads(xs, args["h_0"], ys, *p)
    for name, value in theirs.items():
        np.testing.assert_allclose(ours[name], value, rtol=1e-10, atol=1e-13, err_msg=name)


# ----------------------------------------------------------------------------- attention


def test_attention_example_is_the_builders_output() -> None:
    assert "attention" in PROGRAM_EXAMPLES
    assert example_text("attention") == attention_text()


def test_attention_shows_the_softmax_jacobian() -> None:
    text = derive_program(attention_program()).text()
    assert "dS = P ⊙ (dP − (P ⊙ dP) 1ₙ 1ₙᵀ)" in text  # dS = P ⊙ (dP − rowsum(dP ⊙ P))
    assert "dX = dK W_Kᵀ + dQ W_Qᵀ + dV W_Vᵀ" in text  # X is used three times


@pytest.mark.parametrize("loss", ["upstream", "mse"])
def test_attention_verifies_three_ways(loss: str) -> None:
    report = derive_program(attention_program(loss=loss)).verify({"D": 2, "d_k": 2, "d_v": 2})
    assert report.passed, str(report)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [({"loss": "hinge"}, "loss must be one of"), ({"key": -1}, "between 1 and")],
)
def test_attention_builder_refuses_bad_arguments(kwargs: dict[str, Any], needle: str) -> None:
    with pytest.raises(SpecError, match=needle):
        attention_program(**kwargs)


def _check_attention_against_torch(sizes: dict[str, int], seed: int) -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch)")
    d = derive_program(attention_program())
    call, args = _point(d, sizes, seed)
    ours = d.to_function()(*call)
    t = {k: torch.tensor(v, requires_grad=True) for k, v in args.items() if k != "dout"}
    q, k, v = t["X"] @ t["W_Q"], t["X"] @ t["W_K"], t["X"] @ t["W_V"]
    out = torch.nn.functional.scaled_dot_product_attention(q[None], k[None], v[None])[0]
    out.backward(torch.tensor(args["dout"]))
    for name, value in ours.items():
        np.testing.assert_allclose(value, t[name].grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.torch
def test_attention_example_against_torch() -> None:
    _check_attention_against_torch({"n": 5, "D": 4, "d_k": 3, "d_v": 2}, 0)


_attention_sizes = st.tuples(
    st.fixed_dictionaries({k: st.integers(1, 5) for k in ("n", "D", "d_k", "d_v")}),
    st.integers(0, 2**16),
)


@pytest.mark.torch
@settings(max_examples=4, deadline=None)
@given(_attention_sizes)
def test_attention_against_torch_drawn(config: tuple[Any, ...]) -> None:
    _check_attention_against_torch(*config)


@pytest.mark.torch
@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(_attention_sizes)
def test_attention_against_torch_drawn_long(config: tuple[Any, ...]) -> None:
    _check_attention_against_torch(*config)


def test_handwritten_attention_baseline_equals_the_export() -> None:
    hw = _handwritten()
    d = derive_program(attention_program())
    call, args = _point(d, {"n": 6, "D": 4, "d_k": 3, "d_v": 3}, 5)
    ours = d.to_function()(*call)
    theirs = hw.attention_backward(args["X"], args["W_Q"], args["W_K"], args["W_V"], args["dout"])
    for name, value in theirs.items():
        np.testing.assert_allclose(ours[name], value, rtol=1e-10, atol=1e-13, err_msg=name)


# ----------------------------------------------------------------------------- LSTM


def test_lstm_example_is_the_builders_output() -> None:
    assert "lstm" in PROGRAM_EXAMPLES
    assert example_text("lstm") == lstm_text(1)  # one cell step: SymPy's oracle stays fast


def test_lstm_shows_the_cell_state_highway() -> None:
    text = derive_program(lstm_program(2)).text()
    # c_1 reaches the loss through h_1 and, by the highway, through c_2 = f_2 ⊙ c_1 + …
    assert "dc₁ = (dh₁ ⊙ o₁) ⊙ tanh'(c₁) + dc₂ ⊙ f₂" in text
    assert "df₂ = dc₂ ⊙ c₁" in text and "di₂ = dc₂ ⊙ g₂" in text


def test_lstm_builder_refuses_bad_arguments() -> None:
    with pytest.raises(SpecError, match="from 1 to"):
        lstm_program(MAX_STEPS["lstm"] + 1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"steps": 1, "loss": "upstream"},
        pytest.param({"loss": "mse", "at": "last"}, marks=pytest.mark.slow),  # 40 s of SymPy
    ],
)
def test_lstm_verifies_three_ways(kwargs: dict[str, Any]) -> None:
    report = derive_program(lstm_program(**kwargs)).verify({"N": 2, "D": 2, "H": 2, "C": 2})
    assert report.passed, str(report)


def _check_lstm_against_torch(
    steps: int, sizes: dict[str, int], loss: str, at: str, seed: int, layered: bool = False
) -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch)")
    d = (
        _layer_form("lstm", steps, loss, at)
        if layered
        else derive_program(lstm_program(steps, loss=loss, at=at))
    )
    call, args = _point(d, sizes, seed)
    ours = d.to_function()(*call)
    d_in, hidden = args["W_xi"].shape
    lstm = torch.nn.LSTM(d_in, hidden, batch_first=True).double()
    order = "ifgo"  # torch stacks the gates as i, f, g, o
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.tensor(np.vstack([args[f"W_x{g}"].T for g in order])))
        lstm.weight_hh_l0.copy_(torch.tensor(np.vstack([args[f"W_h{g}"].T for g in order])))
        bias = np.concatenate([args[f"b_{g}"][0] for g in order])
        lstm.bias_ih_l0.copy_(torch.tensor(bias * 0.4))  # the two biases add up to ours
        lstm.bias_hh_l0.copy_(torch.tensor(bias * 0.6))
    x = torch.tensor(np.stack([args[f"X_{t}"] for t in range(1, steps + 1)], axis=1))
    state = (torch.tensor(args["h_0"])[None], torch.tensor(args["c_0"])[None])
    hs, _ = lstm(x, state)
    wy = torch.tensor(args["W_hy"], requires_grad=True)
    by = torch.tensor(args["b_y"], requires_grad=True)
    total = torch.zeros((), dtype=torch.float64)
    for t in range(1, steps + 1) if at == "every" else [steps]:
        s = hs[:, t - 1] @ wy + by
        if loss == "cross_entropy":
            y = torch.tensor(args[f"y_{t}"], dtype=torch.long)
            total = total + torch.nn.functional.cross_entropy(s, y)
        else:
            total = total + ((s - torch.tensor(args[f"Y_{t}"])) ** 2).sum() / (2 * s.shape[0])
    total.backward()
    h = hidden
    for k, g in enumerate(order):
        rows = slice(k * h, (k + 1) * h)
        theirs = {
            f"W_x{g}": lstm.weight_ih_l0.grad[rows].numpy().T,
            f"W_h{g}": lstm.weight_hh_l0.grad[rows].numpy().T,
            f"b_{g}": lstm.bias_ih_l0.grad[rows].numpy()[None],
        }
        for name, value in theirs.items():
            np.testing.assert_allclose(ours[name], value, rtol=1e-9, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(ours["W_hy"], wy.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours["b_y"], by.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.torch
def test_lstm_example_against_torch() -> None:
    _check_lstm_against_torch(2, {"N": 4, "D": 3, "H": 5, "C": 3}, "cross_entropy", "every", 0)


_lstm_configs = st.tuples(
    st.integers(1, 3),
    st.fixed_dictionaries({k: st.integers(1, 4) for k in "NDH"} | {"C": st.integers(2, 4)}),
    st.sampled_from(["cross_entropy", "mse"]),
    st.sampled_from(["every", "last"]),
    st.integers(0, 2**16),
)


@pytest.mark.torch
@settings(max_examples=3, deadline=None)
@given(_lstm_configs)
def test_lstm_against_torch_drawn(config: tuple[Any, ...]) -> None:
    _check_lstm_against_torch(*config)


@pytest.mark.torch
@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(_lstm_configs)
def test_lstm_against_torch_drawn_long(config: tuple[Any, ...]) -> None:
    _check_lstm_against_torch(*config)


def test_a_program_name_is_escaped_not_pasted_into_toml() -> None:
    """The builders write TOML; a name with a quote and a newline must stay a name."""
    from derive.spec.sequence import attention_program

    name = 'x"\n[hyperparameters]\nq = 1\n#'
    program = attention_program(name=name)
    assert program.name == name and not program.hyperparameters


# ----------------------------------------------------------------------------- layer form


@pytest.mark.torch
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
@pytest.mark.parametrize("at", ["every", "last"])
def test_rnn_layer_against_torch(loss: str, at: str) -> None:
    """``type = "rnn"`` in a network spec, a loss at every step or the last: nn.RNN."""
    _check_rnn_against_torch(3, {"N": 3, "D": 2, "H": 4, "C": 3}, "tanh", loss, at, 7, layered=True)


@pytest.mark.torch
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
@pytest.mark.parametrize("at", ["every", "last"])
def test_lstm_layer_against_torch(loss: str, at: str) -> None:
    """``type = "lstm"`` unrolled in a network spec, a loss at every step or the last."""
    _check_lstm_against_torch(3, {"N": 3, "D": 2, "H": 3, "C": 3}, loss, at, 5, layered=True)


@pytest.mark.torch
@settings(max_examples=3, deadline=None)
@given(_rnn_configs)
def test_rnn_layer_against_torch_drawn(config: tuple[Any, ...]) -> None:
    _check_rnn_against_torch(*config, layered=True)


@pytest.mark.parametrize("at", ["every", "last"])
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_rnn_layer_verifies_three_ways(loss: str, at: str) -> None:
    report = _layer_form("rnn", 2, loss, at).verify({"N": 2, "D": 2, "H": 2, "C": 2})
    assert report.passed, str(report)


@pytest.mark.parametrize(
    ("steps", "at"),
    [(1, "every"), pytest.param(2, "last", marks=pytest.mark.slow)],  # T = 2: SymPy, 40 s+
)
def test_lstm_layer_verifies_three_ways(steps: int, at: str) -> None:
    report = _layer_form("lstm", steps, "mse", at).verify({"N": 2, "D": 2, "H": 2, "C": 2})
    assert report.passed, str(report)


def test_a_second_derivation_of_a_program_costs_what_the_first_did(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Deriving the same program again in one process (tests, the checker, a notebook)
    compared SymPy trees deeply through a cache keyed by them: an LSTM at T = 50 took
    0.9 s the first time and 2.5 s after. Counted in equality tests, not seconds."""
    import sympy

    calls = [0]
    original = sympy.Basic.__eq__

    def counted(self: Any, other: Any) -> Any:
        calls[0] += 1
        return original(self, other)

    program = lstm_program(8)
    counts = []
    monkeypatch.setattr(sympy.Basic, "__eq__", counted)
    for _ in range(2):
        calls[0] = 0
        derive_program(program)
        counts.append(calls[0])
    assert counts[1] <= 1.5 * counts[0], counts
