"""Benchmark: the exported NumPy gradients against hand-written NumPy, torch and JAX.

Run: ``python benchmarks/gradients.py`` (writes its section of docs/benchmarks.md).
MLP [784, 256, 128, 10], sigmoid hidden layers, identity output, 1/(2m) squared error,
batch 256, float64 and float32; every variant in one process, rounds in shuffled order,
medians. Targets: exported ≤ 1.05× hand-written NumPy, ≤ 1.25× the matrix products alone.
Also ``verify`` (directional) on this 235k-parameter model against
``torch.autograd.gradcheck(fast_mode=True)``.

CNN (``--cnn``, also part of the default run): 1×28×28 input, conv 5×5 ×8 + ReLU, 2×2 max
pool, conv 3×3 ×16 + ReLU, 2×2 max pool, flatten, dense 10 + softmax cross-entropy,
batch 64, float32 and float64: the exported NumPy module (sliding_window_view + einsum)
against torch autograd on the CPU, with derive's torch and JAX exports beside them.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, median_time, write_section  # noqa: E402

from derive import (  # noqa: E402
    Conv2d,
    Flatten,
    Layer,
    Loss,
    MaxPool2d,
    Network,
    dense,
    derive,
)
from derive.export import to_module  # noqa: E402
from derive.verify import check_grads  # noqa: E402

WIDTHS = [784, 256, 128, 10]
BATCH = 256


def network():
    return dense(WIDTHS, ["sigmoid", "sigmoid", "identity"], "squared_error", name="mlp784")


def handwritten(X, Y, W1, b1, W2, b2, W3, b3):
    """The textbook NumPy backprop, written the way a careful person writes it."""
    m = X.shape[1]
    A1 = 1 / (1 + np.exp(-(W1 @ X + b1)))
    A2 = 1 / (1 + np.exp(-(W2 @ A1 + b2)))
    A3 = W3 @ A2 + b3
    E = A3 - Y
    loss = np.sum(E * E) / (2 * m)
    d3 = E
    d2 = (W3.T @ d3) * (A2 * (1 - A2))
    d1 = (W2.T @ d2) * (A1 * (1 - A1))
    return loss, {
        "W1": (d1 @ X.T) / m,
        "b1": np.sum(d1, axis=1, keepdims=True) / m,
        "W2": (d2 @ A1.T) / m,
        "b2": np.sum(d2, axis=1, keepdims=True) / m,
        "W3": (d3 @ A2.T) / m,
        "b3": np.sum(d3, axis=1, keepdims=True) / m,
    }


def chain(X, Y, W1, b1, W2, b2, W3, b3):
    """Only the matrix products any backprop of this network must do: the lower bound."""
    A1 = W1 @ X
    A2 = W2 @ A1
    A3 = W3 @ A2
    G2 = W3.T @ A3
    G1 = W2.T @ G2
    return G1 @ X.T, G2 @ A1.T, A3 @ A2.T


def make_data(dtype):
    rng = np.random.default_rng(0)
    params = {}
    for i, (n_in, n_out) in enumerate(zip(WIDTHS[:-1], WIDTHS[1:]), start=1):
        params[f"W{i}"] = (rng.normal(size=(n_out, n_in)) / np.sqrt(n_in)).astype(dtype)
        params[f"b{i}"] = rng.normal(size=(n_out, 1)).astype(dtype) * 0.1
    X = rng.normal(size=(WIDTHS[0], BATCH)).astype(dtype)
    Y = rng.normal(size=(WIDTHS[-1], BATCH)).astype(dtype)
    return X, Y, params


def variants(dtype) -> dict[str, Callable[[], object]]:
    X, Y, params = make_data(dtype)
    exported = to_module(derive(network()))
    out: dict[str, Callable[[], object]] = {
        "exported NumPy (derive)": lambda: exported.loss_and_gradients(X, Y, **params),
        "hand-written NumPy": lambda: handwritten(X, Y, **params),
        "matrix products alone": lambda: chain(X, Y, **params),
    }
    # the exported gradients must be right before they are timed
    _, g = exported.loss_and_gradients(X, Y, **params)
    _, h = handwritten(X, Y, **params)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    for k in g:
        np.testing.assert_allclose(g[k], h[k], rtol=tol, atol=tol * 1e-2)
        assert g[k].dtype == dtype
    try:
        import torch

        tdtype = torch.float32 if dtype == np.float32 else torch.float64
        tp = {k: torch.tensor(v, dtype=tdtype, requires_grad=True) for k, v in params.items()}
        tx, ty = torch.tensor(X, dtype=tdtype), torch.tensor(Y, dtype=tdtype)

        def torch_autograd():
            for v in tp.values():
                v.grad = None
            a1 = torch.sigmoid(tp["W1"] @ tx + tp["b1"])
            a2 = torch.sigmoid(tp["W2"] @ a1 + tp["b2"])
            a3 = tp["W3"] @ a2 + tp["b3"]
            loss = torch.sum((a3 - ty) ** 2) / (2 * BATCH)
            loss.backward()
            return loss

        out["torch.autograd (CPU)"] = torch_autograd
    except ImportError:
        pass
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp

        jdtype = jnp.float32 if dtype == np.float32 else jnp.float64
        jp = {k: jnp.asarray(v, dtype=jdtype) for k, v in params.items()}
        jx, jy = jnp.asarray(X, dtype=jdtype), jnp.asarray(Y, dtype=jdtype)

        def jloss(p):
            a1 = jax.nn.sigmoid(p["W1"] @ jx + p["b1"])
            a2 = jax.nn.sigmoid(p["W2"] @ a1 + p["b2"])
            a3 = p["W3"] @ a2 + p["b3"]
            return jnp.sum((a3 - jy) ** 2) / (2 * BATCH)

        grad = jax.jit(jax.value_and_grad(jloss))
        jax.block_until_ready(grad(jp))
        out["jax.jit(jax.value_and_grad)"] = lambda: jax.block_until_ready(grad(jp))
    except ImportError:
        pass
    return out


def run_rounds(fns: dict[str, Callable[[], object]], rounds: int, inner: int) -> dict[str, float]:
    """Median seconds per call; each round runs every variant once, in a shuffled order."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    order = list(fns)
    for fn in fns.values():  # warm up
        fn()
    for _ in range(rounds):
        random.shuffle(order)
        for name in order:
            start = time.perf_counter()
            for _ in range(inner):
                fns[name]()
            times[name].append((time.perf_counter() - start) / inner)
    return {k: statistics.median(v) for k, v in times.items()}


def verify_timing() -> tuple[float, float | None, bool]:
    d = derive(network().with_(batch=32))
    module = to_module(d)
    ours = median_time(lambda: check_grads(d, mode="directions", directions=1, module=module), 3)
    passed = check_grads(d, mode="directions", directions=1, module=module).passed
    try:
        import torch
    except ImportError:
        return ours, None, passed
    X, Y, params = make_data(np.float64)
    X, Y = X[:, :32], Y[:, :32]
    tp = tuple(torch.tensor(v, requires_grad=True) for v in params.values())
    tx, ty = torch.tensor(X), torch.tensor(Y)

    def f(W1, b1, W2, b2, W3, b3):
        a1 = torch.sigmoid(W1 @ tx + b1)
        a2 = torch.sigmoid(W2 @ a1 + b2)
        return torch.sum((W3 @ a2 + b3 - ty) ** 2) / 64

    theirs = median_time(lambda: torch.autograd.gradcheck(f, tp, fast_mode=True), 3)
    return ours, theirs, passed


CNN_BATCH = 64


def cnn_network() -> Network:
    return Network(
        input_width=(1, 28, 28),
        layers=(
            Conv2d(8, 5, activation="relu"),
            MaxPool2d(2),
            Conv2d(16, 3, activation="relu"),
            MaxPool2d(2),
            Flatten(),
            Layer(10, "softmax"),
        ),
        loss=Loss("cross_entropy"),
        name="cnn28",
    )


def cnn_variants(dtype) -> dict[str, Callable[[], object]]:
    import torch

    d = derive(cnn_network())
    exported = to_module(d)
    rng = np.random.default_rng(0)
    params = {}
    for name in exported.PARAMETERS:
        shape = tuple(s if isinstance(s, int) else 0 for s in exported.SHAPES[name])
        fan_in = int(np.prod(shape[1:])) if name.startswith(("K", "W")) else 1
        params[name] = (rng.normal(size=shape) / np.sqrt(fan_in)).astype(dtype)
    X = rng.normal(size=(CNN_BATCH, 1, 28, 28)).astype(dtype)
    Y = np.eye(10, dtype=dtype)[rng.integers(0, 10, CNN_BATCH)].T.copy()
    F = torch.nn.functional
    tdtype = torch.float32 if dtype == np.float32 else torch.float64
    tp = {k: torch.tensor(v, dtype=tdtype, requires_grad=True) for k, v in params.items()}
    tx, ty = torch.tensor(X), torch.tensor(Y)

    def torch_autograd():
        for v in tp.values():
            v.grad = None
        a = F.max_pool2d(torch.relu(F.conv2d(tx, tp["K1"], tp["b1"])), 2)
        a = F.max_pool2d(torch.relu(F.conv2d(a, tp["K3"], tp["b3"])), 2)
        z = tp["W6"] @ a.reshape(CNN_BATCH, -1).T + tp["b6"]
        loss = -torch.sum(ty * torch.log_softmax(z, 0)) / CNN_BATCH
        loss.backward()
        return loss

    # the exported gradients must be right before they are timed
    _, g = exported.loss_and_gradients(X, Y, **params)
    torch_autograd()
    tol = 1e-3 if dtype == np.float32 else 1e-9
    for k in g:
        np.testing.assert_allclose(g[k], tp[k].grad.numpy(), rtol=tol, atol=tol * 1e-2)
        assert g[k].dtype == dtype
    out: dict[str, Callable[[], object]] = {
        "exported NumPy (derive)": lambda: exported.loss_and_gradients(X, Y, **params),
        "torch.autograd (CPU)": torch_autograd,
    }
    torch_module = to_module(d, "torch")
    tq = {k: torch.tensor(v) for k, v in params.items()}
    out["exported torch (derive)"] = lambda: torch_module.loss_and_gradients(tx, ty, **tq)
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        jax_module = to_module(d, "jax")
        fn = jax.jit(jax_module.loss_and_gradients)
        jq = {k: jax.numpy.asarray(v) for k, v in params.items()}
        jx, jy = jax.numpy.asarray(X), jax.numpy.asarray(Y)
        jax.block_until_ready(fn(jx, jy, **jq))
        out["exported JAX, jit (derive)"] = lambda: jax.block_until_ready(fn(jx, jy, **jq))
    except ImportError:
        pass
    return out


def cnn_section(rounds: int, inner: int) -> list[str]:
    results = {}
    for dtype in (np.float64, np.float32):
        results[np.dtype(dtype).name] = run_rounds(cnn_variants(dtype), rounds, inner)
        print("cnn", np.dtype(dtype).name, results[np.dtype(dtype).name], flush=True)
    lines = [
        "## CNN gradients (`benchmarks/gradients.py --cnn`)",
        "",
        "1×28×28 input, conv 5×5 ×8 + ReLU, 2×2 max pool, conv 3×3 ×16 + ReLU, 2×2 max pool, "
        f"flatten, dense 10 + softmax cross-entropy, batch {CNN_BATCH}; loss and all gradients "
        f"per call; median of {rounds} rounds × {inner} calls, variants shuffled each round. "
        f"{machine()}; torch runs on the CPU.",
        "",
        "| variant | float64 (ms) | ratio to torch.autograd | float32 (ms) | "
        "ratio to torch.autograd |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in results["float64"]:
        cells = []
        for dt in ("float64", "float32"):
            r = results[dt]
            cells += [f"{r[name] * 1e3:.2f}", f"{r[name] / r['torch.autograd (CPU)']:.2f}×"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    r64, r32 = (
        results[dt]["exported NumPy (derive)"] / results[dt]["torch.autograd (CPU)"]
        for dt in ("float64", "float32")
    )
    lines += [
        "",
        f"Exported NumPy vs torch autograd: {r64:.2f}× (float64), {r32:.2f}× (float32).",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--inner", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--cnn", action="store_true", help="only the CNN section")
    args = parser.parse_args()
    cnn_lines = cnn_section(max(args.rounds // 2, 3), args.inner)
    print("\n".join(cnn_lines))
    if not args.no_write:
        write_section("gradients-cnn", "\n".join(cnn_lines))
    if args.cnn:
        return
    results = {}
    for dtype in (np.float64, np.float32):
        results[np.dtype(dtype).name] = run_rounds(variants(dtype), args.rounds, args.inner)
        print(
            np.dtype(dtype).name,
            {k: f"{v * 1e3:.2f} ms" for k, v in results[np.dtype(dtype).name].items()},
            flush=True,
        )
    ours, theirs, passed = verify_timing()
    names = list(results["float64"])
    lines = [
        "## Gradients (`benchmarks/gradients.py`)",
        "",
        f"MLP {WIDTHS}, sigmoid hidden, identity output, 1/(2m) squared error, batch {BATCH}; "
        f"median of {args.rounds} rounds × {args.inner} calls, variants shuffled each round. "
        f"{machine()}.",
        "",
        "| variant | float64 (ms) | ratio to hand-written | ratio to products alone | "
        "float32 (ms) | ratio to hand-written | ratio to products alone |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in names:
        cells = []
        for dt in ("float64", "float32"):
            r = results[dt]
            t = r[name]
            cells += [
                f"{t * 1e3:.2f}",
                f"{t / r['hand-written NumPy']:.2f}×",
                f"{t / r['matrix products alone']:.2f}×",
            ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    ex64 = results["float64"]["exported NumPy (derive)"] / results["float64"]["hand-written NumPy"]
    ex32 = results["float32"]["exported NumPy (derive)"] / results["float32"]["hand-written NumPy"]
    ch64 = (
        results["float64"]["exported NumPy (derive)"] / results["float64"]["matrix products alone"]
    )
    ch32 = (
        results["float32"]["exported NumPy (derive)"] / results["float32"]["matrix products alone"]
    )
    lines += [
        "",
        f"Exported vs hand-written NumPy: {ex64:.2f}× (float64), {ex32:.2f}× (float32); "
        f"target ≤ 1.05×. Exported vs the matrix products alone: {ch64:.2f}× (float64), "
        f"{ch32:.2f}× (float32); target ≤ 1.25×.",
        "",
        f"Verification of this model (235,146 parameters, batch 32, one random direction per "
        f"parameter, central differences): `derive.verify.check_grads` {ours * 1e3:.0f} ms "
        f"({'pass' if passed else 'FAIL'})"
        + (
            f"; `torch.autograd.gradcheck(fast_mode=True)` {theirs * 1e3:.0f} ms "
            f"(ratio {ours / theirs:.2f}×)."
            if theirs
            else "; torch not installed."
        ),
    ]
    print("\n".join(lines))
    if not args.no_write:
        write_section("gradients", "\n".join(lines))


if __name__ == "__main__":
    main()
