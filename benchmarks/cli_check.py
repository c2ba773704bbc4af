"""Benchmark: ``derive check`` end to end (process start to exit), on corpus entries.

Run: ``python benchmarks/cli_check.py`` (writes its section of docs/benchmarks.md).
Target (issue 13): under 1.5 s end to end. The entries are the main corpus's 10 slowest
checks (in process, measured here) and 20 more drawn at random with a fixed seed; each is
run as the installed command (``derive`` next to this Python, the source tree on
``PYTHONPATH``), median of 3 runs. Next to it: the same check in process with a fresh
checker (what the command does after its imports: read the spec, derive, check), and
``import derive.cli`` alone in a new process (with ``import sympy`` for scale).

The commands run with compiled bytecode, as an installed package has it (a private
``PYTHONPYCACHEPREFIX``, warmed by a first run; ``PYTHONDONTWRITEBYTECODE`` in the
environment would recompile ~150 modules at every start); ``--no-bytecode`` measures
without. ``--before TREE``: each command also run on another source tree (e.g. a
``git archive`` of main), alternating run by run, so that both see the same machine
state: medians of both and their ratio. Beside wall time, the CPU time of the process
(user + system, from ``getrusage``): on a shared machine the wall time counts the others.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
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


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one new process running ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, capture_output=True, check=False, env=env, cwd=ROOT)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu


def wall(argv: list[str], rounds: int) -> float:
    """Median seconds of a new process running ``argv``."""
    return statistics.median(timed(argv, ENV)[0] for _ in range(rounds))


def both(argv: list[str], rounds: int, envs: list[dict[str, str]]) -> list[tuple[float, float]]:
    """(median wall, median CPU) of ``argv`` in each environment, run alternately."""
    runs: list[list[tuple[float, float]]] = [[] for _ in envs]
    for _ in range(rounds):
        for i, env in enumerate(envs):
            runs[i].append(timed(argv, env))
    return [(statistics.median(w for w, _ in r), statistics.median(c for _, c in r)) for r in runs]


def bytecode(env: dict[str, str], prefix: str) -> dict[str, str]:
    """The environment with bytecode written and read under ``prefix`` (as installed)."""
    out = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return out | {"PYTHONPYCACHEPREFIX": prefix}


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
    parser.add_argument("--before", help="another source tree, run alternately: the ratio")
    parser.add_argument("--before-label", help="what the other tree is (main at abc1234)")
    parser.add_argument(
        "--no-bytecode", action="store_true", help="keep PYTHONDONTWRITEBYTECODE as it is"
    )
    args = parser.parse_args()
    if args.source:
        ENV["PYTHONPATH"] = str(Path(args.source).resolve())
    cache = tempfile.mkdtemp(prefix="derive-pyc-")
    if not args.no_bytecode:
        ENV.update(bytecode(ENV, cache))
        ENV.pop("PYTHONDONTWRITEBYTECODE", None)
    envs = [ENV]
    if args.before:
        envs.append({**ENV, "PYTHONPATH": str(Path(args.before).resolve())})
    python = [sys.executable, "-c"]
    for env in envs:  # the bytecode written once, as an installed package has it
        timed([*python, "import derive.cli, derive.formula.check"], env)
    imports = {
        "python -c pass": wall([*python, "pass"], 5),
        "import sympy": wall([*python, "import sympy"], 5),
        "import derive.cli": wall([*python, "import derive.cli"], 5),
    }
    rows = []
    for entry in chosen():
        inside = statistics.median(fresh_check(entry) for _ in range(args.rounds))
        measured = both([*command(), *cli_args(entry)], args.rounds, envs)
        rows.append((entry["id"], inside, *measured))
        said = "  ".join(f"{w:6.2f} s ({c:4.2f} s CPU)" for w, c in measured)
        print(f"{said} end to end, {inside:6.2f} s in process  {entry['id']}")
    ends = [r[2][0] for r in rows]
    cpus = [r[2][1] for r in rows]
    insides = [r[1] for r in rows]
    worst = max(rows, key=lambda r: r[2][0])
    lines = [
        "## `derive check` end to end (`benchmarks/cli_check.py`)",
        "",
        f"{len(rows)} entries of the main corpus (its {SLOWEST} slowest checks and {RANDOM} "
        f"drawn with seed {SEED}), each run as `derive check SPEC FORMULA --syntax S` in a "
        f"new process, median of {args.rounds} runs. *In process*: the same check with a "
        "fresh checker (spec read, derived, checked), without the start-up and imports. "
        + (
            "Without bytecode (every module compiled at start). "
            if args.no_bytecode
            else "With bytecode, as an installed package has it. "
        )
        + f"Target: under 1.5 s end to end. {machine()}.",
        "",
        "| measure | median | worst |",
        "|---|---:|---:|",
        f"| `derive check` end to end | {statistics.median(ends):.2f} s "
        f"| {max(ends):.2f} s (`{worst[0]}`) |",
        f"| its CPU time (user + system) | {statistics.median(cpus):.2f} s | {max(cpus):.2f} s |",
        f"| the check in process | {statistics.median(insides):.2f} s | {max(insides):.2f} s |",
        *(
            [
                f"| before ({args.before_label or Path(args.before).name}), same runs alternated "
                f"| {statistics.median(r[3][0] for r in rows):.2f} s "
                f"| {max(r[3][0] for r in rows):.2f} s |",
                f"| before: CPU time | {statistics.median(r[3][1] for r in rows):.2f} s "
                f"| {max(r[3][1] for r in rows):.2f} s |",
                "| after / before, per entry (median of the ratios) "
                f"| {statistics.median(r[2][0] / r[3][0] for r in rows):.2f} "
                f"| CPU {statistics.median(r[2][1] / r[3][1] for r in rows):.2f} |",
            ]
            if args.before
            else []
        ),
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
