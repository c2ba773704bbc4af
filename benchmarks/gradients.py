"""Benchmark: derive's exported gradients against hand-written NumPy, torch and JAX.

Run: ``python benchmarks/gradients.py`` (writes its sections of docs/benchmarks.md).

MLP [784, 256, 128, 10], sigmoid hidden layers, identity output, 1/(2m) squared error,
batch 256; CNN 1×28×28, conv 5×5 ×8 + ReLU, 2×2 max pool, conv 3×3 ×16 + ReLU, 2×2 max
pool, flatten, dense 10 + softmax cross-entropy, batch 64. Every variant runs in one
process, float64 and float32, rounds in shuffled order, medians; the whole run is repeated
in a fresh process per thread count (``--threads 1,2``: BLAS, torch and XLA limited before
they load). Targets (issue 16): exported NumPy MLP ≤ 1.02× hand-written and ≤ 1.10× the
matrix products alone; exported torch ≤ 0.95× torch.autograd (MLP) and ≤ 1.0× (CNN);
exported NumPy CNN ≤ 1.3× torch.autograd; exported JAX ≤ 1.05× ``jax.jit(value_and_grad)``.

``--device cuda`` times the torch and JAX variants on the GPU (with ``torch.compile`` of
torch.autograd and of the exported torch module); without a GPU it says so and stops.
Also ``verify`` (directional) on the MLP against ``torch.autograd.gradcheck(fast_mode=True)``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def limit_threads(n: int) -> None:
    """Limit BLAS, OpenMP and XLA to ``n`` threads: only before numpy/torch/jax load."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    if n == 1:
        os.environ["XLA_FLAGS"] = (
            "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        )


if __name__ == "__main__" and "--threads" in sys.argv and "--child" in sys.argv:
    limit_threads(int(sys.argv[sys.argv.index("--threads") + 1]))

import numpy as np  # noqa: E402

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
from derive.oracles.verify import check_grads  # noqa: E402

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


def torch_setup(device: str) -> Any:
    """torch with its thread count set, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    if os.environ.get("OMP_NUM_THREADS"):
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    return torch


def sync(device: str) -> Callable[[Any], Any]:
    """Wait for a GPU result before the clock stops (a no-op on the CPU)."""
    if device == "cuda":
        import torch

        def wait(x: Any) -> Any:
            torch.cuda.synchronize()
            return x

        return wait
    return lambda x: x


def autograd_step(
    loss_fn: Callable[[dict[str, Any]], Any], params: dict[str, Any], done: Callable[[Any], Any]
) -> Callable[[], object]:
    """One torch.autograd step: clear the gradients, the loss, its backward pass."""

    def run() -> object:
        for v in params.values():
            v.grad = None
        loss = loss_fn(params)
        loss.backward()
        return done(loss)

    return run


def exported_torch_rows(
    d: Any,
    torch_loss: Callable[[dict[str, Any]], Any],
    tp: dict[str, Any],
    tx: Any,
    ty: Any,
    done: Callable[[Any], Any],
    device: str,
) -> dict[str, Callable[[], object]]:
    """derive's torch module beside torch.autograd; on a GPU, torch.compile of both too."""
    import torch

    torch_module = to_module(d, "torch")
    tq = {k: v.detach() for k, v in tp.items()}
    rows: dict[str, Callable[[], object]] = {
        "exported torch (derive)": lambda: done(torch_module.loss_and_gradients(tx, ty, **tq))
    }
    if device == "cuda":
        rows["torch.compile(torch.autograd)"] = autograd_step(torch.compile(torch_loss), tp, done)
        compiled = torch.compile(torch_module.loss_and_gradients)
        rows["torch.compile(exported torch)"] = lambda: done(compiled(tx, ty, **tq))
    return rows


def variants(dtype, device: str = "cpu") -> dict[str, Callable[[], object]]:
    X, Y, params = make_data(dtype)
    d = derive(network())
    exported = to_module(d)
    out: dict[str, Callable[[], object]] = {}
    if device == "cpu":
        out["exported NumPy (derive)"] = lambda: exported.loss_and_gradients(X, Y, **params)
        out["hand-written NumPy"] = lambda: handwritten(X, Y, **params)
        out["matrix products alone"] = lambda: chain(X, Y, **params)
        # the exported gradients must be right before they are timed
        _, g = exported.loss_and_gradients(X, Y, **params)
        _, h = handwritten(X, Y, **params)
        tol = 1e-4 if dtype == np.float32 else 1e-10
        for k in g:
            np.testing.assert_allclose(g[k], h[k], rtol=tol, atol=tol * 1e-2)
            assert g[k].dtype == dtype
    torch = torch_setup(device)
    if torch is not None:
        done = sync(device)
        tdtype = torch.float32 if dtype == np.float32 else torch.float64
        tp = {
            k: torch.tensor(v, dtype=tdtype, device=device, requires_grad=True)
            for k, v in params.items()
        }
        tx = torch.tensor(X, dtype=tdtype, device=device)
        ty = torch.tensor(Y, dtype=tdtype, device=device)

        def torch_loss(p: dict[str, Any]) -> Any:
            a1 = torch.sigmoid(p["W1"] @ tx + p["b1"])
            a2 = torch.sigmoid(p["W2"] @ a1 + p["b2"])
            a3 = p["W3"] @ a2 + p["b3"]
            return torch.sum((a3 - ty) ** 2) / (2 * BATCH)

        out[f"torch.autograd ({device.upper()})"] = autograd_step(torch_loss, tp, done)
        out.update(exported_torch_rows(d, torch_loss, tp, tx, ty, done, device))
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp

        jdev = jax.devices("gpu" if device == "cuda" else "cpu")[0]
        jdtype = jnp.float32 if dtype == np.float32 else jnp.float64
        jp = {k: jax.device_put(jnp.asarray(v, dtype=jdtype), jdev) for k, v in params.items()}
        jx = jax.device_put(jnp.asarray(X, dtype=jdtype), jdev)
        jy = jax.device_put(jnp.asarray(Y, dtype=jdtype), jdev)

        def jloss(p):
            a1 = jax.nn.sigmoid(p["W1"] @ jx + p["b1"])
            a2 = jax.nn.sigmoid(p["W2"] @ a1 + p["b2"])
            a3 = p["W3"] @ a2 + p["b3"]
            return jnp.sum((a3 - jy) ** 2) / (2 * BATCH)

        grad = jax.jit(jax.value_and_grad(jloss))
        jax.block_until_ready(grad(jp))
        out["jax.jit(jax.value_and_grad)"] = lambda: jax.block_until_ready(grad(jp))
        jax_module = to_module(d, "jax")
        jfn = jax.jit(jax_module.loss_and_gradients)
        jax.block_until_ready(jfn(jx, jy, **jp))
        out["exported JAX, jit (derive)"] = lambda: jax.block_until_ready(jfn(jx, jy, **jp))
    except (ImportError, RuntimeError):  # no jax, or no jax device of that kind
        pass
    return out


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


def cnn_variants(dtype, device: str = "cpu") -> dict[str, Callable[[], object]]:
    torch = torch_setup(device)
    if torch is None:
        return {}
    done = sync(device)
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
    tp = {
        k: torch.tensor(v, dtype=tdtype, device=device, requires_grad=True)
        for k, v in params.items()
    }
    tx = torch.tensor(X, device=device)
    ty = torch.tensor(Y, device=device)

    def torch_loss(p: dict[str, Any]) -> Any:
        a = F.max_pool2d(torch.relu(F.conv2d(tx, p["K1"], p["b1"])), 2)
        a = F.max_pool2d(torch.relu(F.conv2d(a, p["K3"], p["b3"])), 2)
        z = p["W6"] @ a.reshape(CNN_BATCH, -1).T + p["b6"]
        return -torch.sum(ty * torch.log_softmax(z, 0)) / CNN_BATCH

    torch_autograd = autograd_step(torch_loss, tp, done)
    out: dict[str, Callable[[], object]] = {}
    if device == "cpu":
        # the exported gradients must be right before they are timed
        _, g = exported.loss_and_gradients(X, Y, **params)
        torch_autograd()
        tol = 1e-3 if dtype == np.float32 else 1e-9
        for k in g:
            np.testing.assert_allclose(g[k], tp[k].grad.numpy(), rtol=tol, atol=tol * 1e-2)
            assert g[k].dtype == dtype
        out["exported NumPy (derive)"] = lambda: exported.loss_and_gradients(X, Y, **params)
    out[f"torch.autograd ({device.upper()})"] = torch_autograd
    out.update(exported_torch_rows(d, torch_loss, tp, tx, ty, done, device))
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        jdev = jax.devices("gpu" if device == "cuda" else "cpu")[0]
        jax_module = to_module(d, "jax")
        fn = jax.jit(jax_module.loss_and_gradients)
        jq = {k: jax.device_put(jax.numpy.asarray(v), jdev) for k, v in params.items()}
        jx = jax.device_put(jax.numpy.asarray(X), jdev)
        jy = jax.device_put(jax.numpy.asarray(Y), jdev)
        jax.block_until_ready(fn(jx, jy, **jq))
        out["exported JAX, jit (derive)"] = lambda: jax.block_until_ready(fn(jx, jy, **jq))

        def jloss(p):
            dn = ("NCHW", "OIHW", "NCHW")

            def conv(a, k, b):
                z = jax.lax.conv_general_dilated(a, k, (1, 1), "VALID", dimension_numbers=dn)
                return z + b.reshape(1, -1, 1, 1)

            def pool(a):
                return jax.lax.reduce_window(
                    a, -jax.numpy.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID"
                )

            a = pool(jax.nn.relu(conv(jx, p["K1"], p["b1"])))
            a = pool(jax.nn.relu(conv(a, p["K3"], p["b3"])))
            z = p["W6"] @ a.reshape(CNN_BATCH, -1).T + p["b6"]
            return -jax.numpy.sum(jy * jax.nn.log_softmax(z, 0)) / CNN_BATCH

        grad = jax.jit(jax.value_and_grad(jloss))
        jax.block_until_ready(grad(jq))
        out["jax.jit(jax.value_and_grad)"] = lambda: jax.block_until_ready(grad(jq))
    except (ImportError, RuntimeError):
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


DTYPES = ("float64", "float32")


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """One process, one thread count: every variant of both models in both dtypes."""
    out: dict[str, Any] = {"mlp": {}, "cnn": {}}
    for dt in DTYPES:
        out["cnn"][dt] = run_rounds(
            cnn_variants(np.dtype(dt).type, args.device), max(args.rounds // 2, 3), args.inner
        )
        print(f"  cnn {dt}", _ms(out["cnn"][dt]), file=sys.stderr, flush=True)
        if not args.cnn:
            out["mlp"][dt] = run_rounds(
                variants(np.dtype(dt).type, args.device), args.rounds, args.inner
            )
            print(f"  mlp {dt}", _ms(out["mlp"][dt]), file=sys.stderr, flush=True)
    if not args.cnn and args.device == "cpu":
        out["verify"] = verify_timing()
    return out


def _ms(r: dict[str, float]) -> dict[str, str]:
    return {k: f"{v * 1e3:.2f} ms" for k, v in r.items()}


def table(results: dict[str, dict[str, float]], refs: list[str]) -> list[str]:
    """Rows: variants; per dtype the median ms and its ratio to each reference variant."""
    head = "| variant |"
    rule = "|---|"
    for dt in DTYPES:
        head += f" {dt} (ms) |" + "".join(f" ÷ {ref} |" for ref in refs)
        rule += "---:|" * (1 + len(refs))
    lines = [head, rule]
    for name in results[DTYPES[0]]:
        cells = []
        for dt in DTYPES:
            r = results[dt]
            cells.append(f"{r[name] * 1e3:.2f}")
            cells += [f"{r[name] / r[ref]:.2f}×" if ref in r else "—" for ref in refs]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


#: (model, variant, reference, target ratio): the issue's targets, checked on every run.
TARGETS = [
    ("mlp", "exported NumPy (derive)", "hand-written NumPy", 1.02),
    ("mlp", "exported NumPy (derive)", "matrix products alone", 1.10),
    ("mlp", "exported torch (derive)", "torch.autograd (CPU)", 0.95),
    ("cnn", "exported torch (derive)", "torch.autograd (CPU)", 1.0),
    ("cnn", "exported NumPy (derive)", "torch.autograd (CPU)", 1.3),
    ("mlp", "exported JAX, jit (derive)", "jax.jit(jax.value_and_grad)", 1.05),
    ("cnn", "exported JAX, jit (derive)", "jax.jit(jax.value_and_grad)", 1.05),
]


def target_lines(by_threads: dict[int, dict[str, Any]]) -> list[str]:
    lines = ["| target | threads | float64 | float32 | met |", "|---|---:|---:|---:|---|"]
    for model, variant, ref, bound in TARGETS:
        for n, res in by_threads.items():
            r = res[model]
            if not r or variant not in r[DTYPES[0]] or ref not in r[DTYPES[0]]:
                continue
            ratios = [r[dt][variant] / r[dt][ref] for dt in DTYPES]
            met = "yes" if all(x <= bound for x in ratios) else "no"
            lines.append(
                f"| {model.upper()}: {variant} ≤ {bound}× {ref} | {n} | "
                + " | ".join(f"{x:.2f}×" for x in ratios)
                + f" | {met} |"
            )
    return lines


def child(args: argparse.Namespace) -> None:
    print(json.dumps(measure(args)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--inner", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--cnn", action="store_true", help="only the CNN section")
    parser.add_argument("--threads", default="1,2", help="thread counts, each in a fresh process")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if args.device == "cuda":
        torch = torch_setup("cuda")
        if torch is None or not torch.cuda.is_available():
            print("skipped: --device cuda needs a CUDA GPU and torch with CUDA; none here")
            return
    by_threads: dict[int, dict[str, Any]] = {}
    for n in (int(t) for t in args.threads.split(",")):
        print(f"threads = {n}", file=sys.stderr, flush=True)
        cmd = [sys.executable, __file__, "--child", "--threads", str(n)]
        cmd += ["--rounds", str(args.rounds), "--inner", str(args.inner), "--device", args.device]
        cmd += ["--cnn"] if args.cnn else []
        run = subprocess.run(cmd, capture_output=True, text=True, check=True)
        sys.stderr.write(run.stderr)
        by_threads[n] = json.loads(run.stdout)
    suffix = "" if args.device == "cpu" else "-cuda"
    note = (
        f"{machine()}; device {args.device}. Median of {max(args.rounds // 2, 3)} (CNN) or "
        f"{args.rounds} (MLP) rounds × {args.inner} calls, variants shuffled each round; "
        "each thread count in a fresh process (BLAS, torch and XLA limited to it)."
    )
    cnn_lines = [
        f"## CNN gradients (`benchmarks/gradients.py{' --device cuda' if suffix else ''}`)",
        "",
        "1×28×28 input, conv 5×5 ×8 + ReLU, 2×2 max pool, conv 3×3 ×16 + ReLU, 2×2 max pool, "
        f"flatten, dense 10 + softmax cross-entropy, batch {CNN_BATCH}; loss and all gradients "
        f"per call. {note}",
    ]
    ref = f"torch.autograd ({args.device.upper()})"
    for n, res in by_threads.items():
        cnn_lines += ["", f"{n} thread(s):", ""]
        cnn_lines += table(res["cnn"], [ref, "jax.jit(jax.value_and_grad)"])
    lines = []
    if not args.cnn:
        lines = [
            f"## Gradients (`benchmarks/gradients.py{' --device cuda' if suffix else ''}`)",
            "",
            f"MLP {WIDTHS}, sigmoid hidden, identity output, 1/(2m) squared error, batch "
            f"{BATCH}; loss and all gradients per call. {note}",
        ]
        refs = (
            ["hand-written NumPy", "matrix products alone", ref, "jax.jit(jax.value_and_grad)"]
            if args.device == "cpu"
            else [ref, "jax.jit(jax.value_and_grad)"]
        )
        for n, res in by_threads.items():
            lines += ["", f"{n} thread(s):", ""]
            lines += table(res["mlp"], refs)
        lines += ["", "Targets (both dtypes must meet the bound):", ""]
        lines += target_lines(by_threads)
        first = by_threads[min(by_threads)]
        if "verify" in first:
            ours, theirs, passed = first["verify"]
            lines += [
                "",
                f"Verification of the MLP (235,146 parameters, batch 32, one random direction "
                f"per parameter, central differences, {min(by_threads)} thread): "
                f"`derive.oracles.verify.check_grads` {ours * 1e3:.0f} ms "
                f"({'pass' if passed else 'FAIL'})"
                + (
                    f"; `torch.autograd.gradcheck(fast_mode=True)` {theirs * 1e3:.0f} ms "
                    f"(ratio {ours / theirs:.2f}×)."
                    if theirs
                    else "; torch not installed."
                ),
            ]
    print("\n".join(cnn_lines + [""] + lines))
    if not args.no_write:
        write_section("gradients-cnn" + suffix, "\n".join(cnn_lines))
        if lines:
            write_section("gradients" + suffix, "\n".join(lines))


if __name__ == "__main__":
    main()
