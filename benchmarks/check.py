"""Benchmark: how long the formula checker takes, in process and end to end.

Run: ``python benchmarks/check.py`` (writes its section of docs/benchmarks.md).
Targets: one check under 0.3 s in process after the first; ``derive check`` end to end
under 1.5 s. The in-process numbers run the whole test corpus (tests/formula_corpus.py).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))
from _report import machine, write_section  # noqa: E402
from formula_corpus import CORPUS  # noqa: E402

from derive.formula.check import Checker  # noqa: E402
from derive.formula.parse import FormulaError  # noqa: E402

CLI_CASES = [
    ("correct", ["nielsen", r"\delta_1 = (W_2^T \delta_2) \odot \sigma'(Z_1)"]),
    (
        "incorrect, diagnosed",
        ["seed", r"\frac{\partial L}{\partial W_l} = \frac{1}{m} a_{l-1}^T \delta_l"],
    ),
    ("NumPy syntax", ["ng", "dW1 = np.dot(dZ1, X.T)", "--syntax", "python"]),
]


def in_process() -> tuple[list[float], float]:
    checkers: dict[str, Checker] = {}
    first = None
    times = []
    for spec, syntax, formula, _verdict, _words in CORPUS:
        start = time.perf_counter()
        if spec not in checkers:
            checkers[spec] = Checker(spec)
        with contextlib.suppress(FormulaError):
            checkers[spec].check(formula, syntax)
        elapsed = time.perf_counter() - start
        if first is None:
            first = elapsed
        else:
            times.append(elapsed)
    assert first is not None
    return times, first


def end_to_end(args: list[str], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "derive", "check", *args], capture_output=True, check=False
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    runs = [in_process() for _ in range(3)]
    times = [t for r, _ in runs for t in r]
    firsts = [f for _, f in runs]
    q = statistics.quantiles(times, n=20)
    lines = [
        "## Formula checks (`benchmarks/check.py`)",
        "",
        f"The {len(CORPUS)} formulas of the test corpus, three passes, each pass with fresh "
        f"checkers. {machine()}.",
        "",
        "| measure | seconds |",
        "|---|---:|",
        f"| very first check in this process (derivations, grammar, compiled activations) | "
        f"{firsts[0]:.3f} |",
        f"| first check of a later pass (builds the derivations again) | "
        f"{statistics.median(firsts[1:]):.3f} |",
        f"| later checks: median | {statistics.median(times):.3f} |",
        f"| later checks: 95th percentile | {q[18]:.3f} |",
        f"| later checks: slowest | {max(times):.3f} |",
        "",
        f"`derive check` end to end (new process, median of {args.rounds}; target under 1.5 s):",
        "",
        "| formula | seconds |",
        "|---|---:|",
    ]
    for label, cli_args in CLI_CASES:
        lines.append(f"| {label} | {end_to_end(cli_args, args.rounds):.2f} |")
    print("\n".join(lines))
    if not args.no_write:
        write_section("check", "\n".join(lines))


if __name__ == "__main__":
    main()
