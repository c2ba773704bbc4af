"""Benchmark: forward programs (issue 14) — deriving and rendering, and the exported
batch-norm backward against a hand-written NumPy one.

Run: ``python benchmarks/programs.py`` (writes its section of docs/benchmarks.md).

1. Derive + render (text and LaTeX) a 30-equation program (target < 1 s).
2. The built-in ``batchnorm`` program's exported NumPy ``gradients`` against CS231n's
   hand-written ``batchnorm_backward_alt`` (the compact formula), N = 256, D = 512, float64,
   side by side in one process, rounds interleaved, medians (target ≤ 1.2×).
3. Sequence models (issue 15): a tanh RNN unrolled over T = 50 steps (hidden 128, batch 32,
   input 64, softmax cross-entropy of a read-out with 16 classes at every step) and
   single-head attention (sequence 128, d = 64, a layer's backward given ``dout``):
   derive's exported NumPy ``gradients`` against a hand-written NumPy backward
   (``benchmarks/handwritten.py``, tested equal in tests/test_sequence.py) and
   torch.autograd on the CPU (target: ≤ 1.2× hand-written, no slower than torch).

Every variant computes the forward pass and all gradients. One thread for BLAS and torch
(set before NumPy loads), float64.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, median_time, write_section  # noqa: E402
from handwritten import attention_backward, rnn_loss_and_grads  # noqa: E402

from derive.programs import derive_program  # noqa: E402
from derive.spec.program import loads_program  # noqa: E402
from derive.spec.sequence import attention_program, rnn_program  # noqa: E402


def chain_program(n: int) -> str:
    """A program of ``n`` equations mixing every kind of step (made up for timing)."""
    lines = ["H0 = X @ W"]
    kinds = [
        "H{i} = tanh(H{p}) + b",
        "H{i} = H{p} - mean(H{p}, axis=0)",
        "H{i} = H{p} / sqrt(mean(H{p} ** 2, axis=0) + eps)",
        "H{i} = gamma * H{p} + beta",
        "H{i} = maximum(0, H{p})",
    ]
    for i in range(1, n):
        lines.append(kinds[(i - 1) % len(kinds)].format(i=i, p=i - 1))
    eqs = "\n".join(lines)
    return f'''name = "chain{n}"
convention = "row"
[inputs]
X = ["N", "D"]
[parameters]
W = ["D", "D"]
b = [1, "D"]
gamma = [1, "D"]
beta = [1, "D"]
[hyperparameters]
eps = "epsilon"
[forward]
equations = """
{eqs}
"""
[loss]
expression = "sum(H{n - 1} ** 2) / 2"
'''


def batchnorm_backward_alt(dout, cache):  # CS231n assignment 2, the compact form
    """Hand-written batch-norm backward (the form students derive on paper)."""
    xhat, gamma, std = cache
    n = dout.shape[0]
    dbeta = dout.sum(axis=0, keepdims=True)
    dgamma = np.sum(dout * xhat, axis=0, keepdims=True)
    dx = (gamma / (n * std)) * (n * dout - dbeta - xhat * dgamma)
    return dx, dgamma, dbeta


def _race(variants: dict[str, Any], rounds: int = 15, calls: int = 3) -> dict[str, float]:
    """Median seconds per call of each variant, rounds interleaved."""
    times: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(rounds):
        for k, fn in variants.items():
            times[k].append(median_time(fn, calls))
    return {k: float(np.median(v)) for k, v in times.items()}


def _table(title: str, med: dict[str, float], ref: str = "hand-written NumPy") -> list[str]:
    torch_key = next((k for k in med if k.startswith("torch")), None)
    head = "| variant | median | ÷ hand-written NumPy |" + (
        " ÷ torch.autograd |" if torch_key else ""
    )
    rows = [title, "", head, "|---|---:|---:|" + ("---:|" if torch_key else "")]
    for k, v in med.items():
        row = f"| {k} | {v * 1e3:.2f} ms | {v / med[ref]:.2f} |"
        if torch_key:
            row += f" {v / med[torch_key]:.2f} |"
        rows.append(row)
    return rows


def rnn_race(steps: int = 50, n: int = 32, d: int = 64, h: int = 128, c: int = 16) -> list[str]:
    """The exported RNN backward against hand-written NumPy BPTT and torch.autograd."""
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    t0 = time.perf_counter()
    der = derive_program(rnn_program(steps))
    grads = der.to_function()
    t_derive = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((n, d)) for _ in range(steps)]
    ys = [rng.integers(0, c, n) for _ in range(steps)]
    h0 = rng.standard_normal((n, h)) * 0.1
    wx, wh = rng.standard_normal((d, h)) * 0.1, rng.standard_normal((h, h)) * 0.1
    b, wy, by = np.zeros((1, h)), rng.standard_normal((h, c)) * 0.1, np.zeros((1, c))
    args = [*xs, h0, *ys, wx, wh, b, wy, by]
    tx = [torch.tensor(x) for x in xs]
    ty = [torch.tensor(y) for y in ys]
    th0 = torch.tensor(h0)
    tp = [torch.tensor(a, requires_grad=True) for a in (wx, wh, b, wy, by)]

    def exported() -> object:
        return grads(*args)

    def hand() -> object:
        return rnn_loss_and_grads(xs, h0, ys, wx, wh, b, wy, by)

    def autograd() -> object:
        twx, twh, tb, twy, tby = tp
        for p in tp:
            p.grad = None
        hid, loss = th0, 0
        for x, y in zip(tx, ty):
            hid = torch.tanh(x @ twx + hid @ twh + tb)
            loss = loss + torch.nn.functional.cross_entropy(hid @ twy + tby, y)
        loss.backward()
        return [p.grad for p in tp]

    ours, ref = exported(), hand()[1]
    for k, v in ref.items():
        np.testing.assert_allclose(ours[k], v, rtol=1e-9, atol=1e-12)
    med = _race(
        {
            "derive's exported `gradients`": exported,
            "hand-written NumPy": hand,
            "torch.autograd (CPU, same ops)": autograd,
        }
    )
    title = (
        f"RNN (tanh), T = {steps}, hidden {h}, batch {n}, input {d}, {c} classes, softmax "
        f"cross-entropy at every step; derived and exported in {t_derive:.2f} s; medians of "
        "15 rounds:"
    )
    return _table(title, med)


def attention_race(n: int = 128, d: int = 64) -> list[str]:
    """The exported attention backward against hand-written NumPy and torch.autograd
    through ``F.scaled_dot_product_attention``."""
    import torch

    der = derive_program(attention_program())
    grads = der.to_function()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, d))
    wq, wk, wv = (rng.standard_normal((d, d)) / np.sqrt(d) for _ in range(3))
    dout = rng.standard_normal((n, d))
    tx = torch.tensor(x, requires_grad=True)
    tw = [torch.tensor(w, requires_grad=True) for w in (wq, wk, wv)]
    tdout = torch.tensor(dout)

    def exported() -> object:
        return grads(x, wq, wk, wv, dout)

    def hand() -> object:
        return attention_backward(x, wq, wk, wv, dout)

    def autograd() -> object:
        for p in (tx, *tw):
            p.grad = None
        q, k, v = tx @ tw[0], tx @ tw[1], tx @ tw[2]
        out = torch.nn.functional.scaled_dot_product_attention(q[None], k[None], v[None])[0]
        out.backward(tdout)
        return tx.grad

    ours, ref = exported(), hand()
    for k, v in ref.items():
        np.testing.assert_allclose(ours[k], v, rtol=1e-9, atol=1e-12)
    med = _race(
        {
            "derive's exported `gradients`": exported,
            "hand-written NumPy": hand,
            "torch.autograd (CPU, scaled_dot_product_attention)": autograd,
        }
    )
    title = (
        f"Single-head attention, sequence {n}, d = {d} (d_k = d_v = D), a layer's backward "
        "given dout; medians of 15 rounds:"
    )
    return _table(title, med)


def main() -> None:
    rows = []
    text = chain_program(30)
    t0 = time.perf_counter()
    d = derive_program(loads_program(text, "<chain30>"))
    t1 = time.perf_counter()
    d.text()
    d.to_latex()
    t2 = time.perf_counter()
    rows.append(f"| derive a 30-equation program | {t1 - t0:.3f} s |")
    rows.append(f"| render it (text + LaTeX) | {t2 - t1:.3f} s |")
    rows.append(f"| total (target < 1 s) | {t2 - t0:.3f} s |")

    bn = derive_program("batchnorm")
    grads = bn.to_function()
    rng = np.random.default_rng(0)
    n, dim = 256, 512
    x = rng.standard_normal((n, dim))
    gamma, beta = rng.standard_normal((1, dim)), rng.standard_normal((1, dim))
    dout = rng.standard_normal((n, dim))
    eps = 1e-5
    hyper = {h: eps for h in grads.module.HYPERPARAMETERS}

    def exported() -> object:
        return grads(x, gamma, beta, dout, **hyper)

    def hand() -> object:
        mu = x.mean(axis=0, keepdims=True)
        var = ((x - mu) ** 2).mean(axis=0, keepdims=True)
        std = np.sqrt(var + eps)
        xhat = (x - mu) / std
        return batchnorm_backward_alt(dout, (xhat, gamma, std))

    ours, ref = exported(), hand()
    np.testing.assert_allclose(ours["X"], ref[0], rtol=1e-8, atol=1e-10)
    times = {"exported": [], "hand": []}
    for _ in range(15):
        times["exported"].append(median_time(exported, 3))
        times["hand"].append(median_time(hand, 3))
    med = {k: float(np.median(v)) for k, v in times.items()}
    ratio = med["exported"] / med["hand"]
    body = "\n".join(
        [
            "## Forward programs (`benchmarks/programs.py`)",
            "",
            f"{machine()}.",
            "",
            "| what | time |",
            "|---|---|",
            *rows,
            "",
            f"Batch-norm backward, N = {n}, D = {dim}, float64 (forward included in both), "
            "medians of 15 rounds:",
            "",
            "| variant | median | ratio to hand-written |",
            "|---|---|---|",
            f"| hand-written NumPy (CS231n `batchnorm_backward_alt`) | {med['hand'] * 1e3:.2f} ms "
            "| 1.00 |",
            f"| derive's exported `gradients` | {med['exported'] * 1e3:.2f} ms | {ratio:.2f} |",
            "",
            "Target: within 1.2× of the hand-written backward.",
            "",
            *rnn_race(),
            "",
            *attention_race(),
            "",
            "Targets: within 1.2× of the hand-written NumPy backward and no slower than "
            "torch.autograd. One thread (BLAS and torch), float64.",
        ]
    )
    write_section("programs", body)
    print(body)


if __name__ == "__main__":
    main()
