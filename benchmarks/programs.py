"""Benchmark: forward programs (issue 14) — deriving and rendering, and the exported
batch-norm backward against a hand-written NumPy one.

Run: ``python benchmarks/programs.py`` (writes its section of docs/benchmarks.md).

1. Derive + render (text and LaTeX) a 30-equation program (target < 1 s).
2. The built-in ``batchnorm`` program's exported NumPy ``gradients`` against CS231n's
   hand-written ``batchnorm_backward_alt`` (the compact formula), N = 256, D = 512, float64,
   side by side in one process, rounds interleaved, medians (target ≤ 1.2×).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, median_time, write_section  # noqa: E402

from derive.programs import derive_program  # noqa: E402
from derive.spec.program import loads_program  # noqa: E402


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
        ]
    )
    write_section("programs", body)
    print(body)


if __name__ == "__main__":
    main()
