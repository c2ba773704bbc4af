"""Benchmark: ``derive check`` end to end (process start to exit), on corpus entries.

Run: ``python benchmarks/cli_check.py`` (writes its section of docs/benchmarks.md).
Target (issue 13): under 1.5 s end to end. The entries are the main corpus's 10 slowest
checks (in process, measured here) and 20 more drawn at random with a fixed seed; each is
run as the installed command (``derive`` next to this Python, the source tree on
``PYTHONPATH``), median of 3 runs. Next to it: the same check in process with a fresh
checker (what the command does after its imports: read the spec, derive, check), and
``import derive.cli`` alone in a new process (with ``import sympy`` for scale).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))
from _report import machine, write_section  # noqa: E402
from test_corpus_file import BUILT_IN, ENTRIES, load  # noqa: E402

from derive.formula.check import Checker  # noqa: E402
from derive.formula.parse import FormulaError  # noqa: E402

SLOWEST = 10
RANDOM = 20
SEED = 13
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}  # ``--source`` runs another tree's derive


def command() -> list[str]:
    """The installed console script beside this interpreter, else ``python -m derive``."""
    script = Path(sys.executable).parent / "derive"
    return [str(script)] if script.exists() else [sys.executable, "-m", "derive"]


def cli_args(entry: dict[str, Any]) -> list[str]:
    """``derive check`` as a user would type it for this entry (its symbols declared)."""
    network = str(entry["network"])
    spec = network if network in BUILT_IN else str(ROOT / network)
    args = ["check", spec, str(entry["text"]), "--syntax", str(entry["syntax"])]
    for name, quantity in dict(entry.get("symbols", {})).items():
        args += ["--symbol", f"{name}={quantity}"]
    return args


def fresh_check(entry: dict[str, Any]) -> float:
    """Seconds of one check in process with a new checker (the spec read and derived)."""
    start = time.perf_counter()
    net = load(str(entry["network"]))
    symbols = dict(entry.get("symbols", {}))
    if symbols:
        net = net.with_(notation=net.notation.merge(symbols=symbols))
    with contextlib.suppress(FormulaError):
        Checker(net).check(str(entry["text"]), str(entry["syntax"]))
    return time.perf_counter() - start


def wall(argv: list[str], rounds: int) -> float:
    """Median seconds of a new process running ``argv``."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=False, env=ENV, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def chosen() -> list[dict[str, Any]]:
    """The 10 slowest checks of the main corpus (one fresh check each) and 20 at random."""
    entries = [e for _f, e in ENTRIES]
    timed = sorted(entries, key=fresh_check, reverse=True)
    slow = timed[:SLOWEST]
    rest = [e for e in entries if e not in slow]
    return slow + random.Random(SEED).sample(rest, RANDOM)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--source", help="run the commands on this source tree's derive (before/after)"
    )
    args = parser.parse_args()
    if args.source:
        ENV["PYTHONPATH"] = str(Path(args.source).resolve())
    python = [sys.executable, "-c"]
    imports = {
        "python -c pass": wall([*python, "pass"], 5),
        "import sympy": wall([*python, "import sympy"], 5),
        "import derive.cli": wall([*python, "import derive.cli"], 5),
    }
    rows = []
    for entry in chosen():
        inside = statistics.median(fresh_check(entry) for _ in range(args.rounds))
        outside = wall([*command(), *cli_args(entry)], args.rounds)
        rows.append((entry["id"], inside, outside))
        print(f"{outside:6.2f} s end to end, {inside:6.2f} s in process  {entry['id']}")
    ends = [r[2] for r in rows]
    insides = [r[1] for r in rows]
    worst = max(rows, key=lambda r: r[2])
    lines = [
        "## `derive check` end to end (`benchmarks/cli_check.py`)",
        "",
        f"{len(rows)} entries of the main corpus (its {SLOWEST} slowest checks and {RANDOM} "
        f"drawn with seed {SEED}), each run as `derive check SPEC FORMULA --syntax S` in a "
        f"new process, median of {args.rounds} runs. *In process*: the same check with a "
        "fresh checker (spec read, derived, checked), without the start-up and imports. "
        f"Target: under 1.5 s end to end. {machine()}.",
        "",
        "| measure | median | worst |",
        "|---|---:|---:|",
        f"| `derive check` end to end | {statistics.median(ends):.2f} s "
        f"| {max(ends):.2f} s (`{worst[0]}`) |",
        f"| the check in process | {statistics.median(insides):.2f} s | {max(insides):.2f} s |",
        "",
        "| start-up (new process, median of 5) | seconds |",
        "|---|---:|",
        *(f"| `{label}` | {seconds:.2f} |" for label, seconds in imports.items()),
    ]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        write_section("cli_check", body)


if __name__ == "__main__":
    main()
