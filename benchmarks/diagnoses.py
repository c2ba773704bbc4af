"""Benchmark: the mutation grid of the diagnoses (issue 13 §3).

Run: ``python benchmarks/diagnoses.py`` (writes its section of docs/benchmarks.md).
Every usual mistake of §3 (and every pair of two) is applied by the grid's own code
(tests/diagnosis_grid.py) to every quantity each built-in network prints, and to two
networks the examples lack (weight decay; a tanh hidden layer under a softmax, samples as
rows), in LaTeX and in NumPy. Per kind and syntax: the mutations applied that the oracle
finds unequal to the right formula, those judged INCORRECT, refused (a clear "cannot
judge" error: no verdict, never a wrong one), those whose diagnosis names the kind
(of those judged INCORRECT), and the time of one check (wall, and the process's CPU
time: the check's own work, whatever else the machine runs). ``--unnamed`` lists what was
judged INCORRECT but not named.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from _report import machine, write_section  # noqa: E402
from diagnosis_grid import Outcome, cases, run  # noqa: E402

from derive import dense, derive  # noqa: E402
from derive.formula.check import Checker  # noqa: E402
from derive.spec import EXAMPLES, Loss  # noqa: E402

#: networks the built-in examples lack: a weight-decay term, a softmax over a tanh layer
EXTRA = {
    "decay": lambda: dense(
        [3, 4, 2], ["tanh", "sigmoid"], Loss("binary_cross_entropy", weight_decay="lambda")
    ),
    "softmax_row": lambda: dense([3, 4, 3], ["tanh", "softmax"], "cross_entropy", convention="row"),
}

#: the numbers before the fixes of this round (``--before``: the same grid on main)
HISTORY = """Before this round's fixes: {before}."""


def grid(paired: tuple[str, ...] | None = None) -> list[Outcome]:
    """Every single mistake on every network; pairs on ``paired`` (None: on every one)."""
    out = []
    nets = {name: derive(name).network for name in EXAMPLES}
    nets |= {name: make() for name, make in EXTRA.items()}
    for name, net in nets.items():
        checker = Checker(net)
        for case in cases(name, net, pairs=paired is None or name in paired):
            try:
                out.append(run(checker, case))
            except Exception as err:  # a crash is counted, and listed
                print(f"CRASH {name}: {case.formula}: {type(err).__name__}: {err}")
                out.append(Outcome(case, "crash", str(err), 0.0))
    return out


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


def table(results: list[Outcome]) -> tuple[str, dict[str, int]]:
    rows: dict[tuple[str, str], list[Outcome]] = defaultdict(list)
    for o in results:
        kind = o.case.kinds[0] if len(o.case.kinds) == 1 else "two at once"
        rows[(kind, o.case.syntax)].append(o)
        rows[("all", o.case.syntax)].append(o)
    lines = [
        "| kind | syntax | applied (unequal) | judged INCORRECT | refused | wrong verdicts "
        "| named (of INCORRECT) | equal: CORRECT | median | worst | worst CPU |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    totals: dict[str, int] = {}
    for (kind, syntax), os_ in sorted(rows.items(), key=lambda kv: (kv[0][0] == "all", kv[0])):
        unequal = [o for o in os_ if not o.case.equal]
        equal = [o for o in os_ if o.case.equal]
        incorrect = [o for o in unequal if o.verdict == "incorrect"]
        refused = [o for o in os_ if o.verdict == "unread"]
        wrong = [o for o in os_ if o.verdict not in ("unread", "crash") and not o.judged_right]
        named = [o for o in incorrect if o.named]
        times = [o.seconds for o in os_]
        share = f"{100 * len(named) / len(incorrect):.0f} %" if incorrect else "–"
        lines.append(
            f"| {kind} | {'LaTeX' if syntax == 'latex' else 'NumPy'} | {len(unequal)} | "
            f"{len(incorrect)} | {len(refused)} | {len(wrong)} | {len(named)} ({share}) | "
            f"{sum(o.verdict == 'correct' for o in equal)} of {len(equal)} | "
            f"{ms(statistics.median(times))} | {ms(max(times))} | "
            f"{ms(max(o.cpu for o in os_))} |"
        )
        if kind == "all":
            for key, n in (("incorrect", len(incorrect)), ("named", len(named))):
                totals[key] = totals.get(key, 0) + n
            totals["wrong"] = totals.get("wrong", 0) + len(wrong)
    return "\n".join(lines), totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--unnamed", action="store_true", help="list INCORRECT, not named")
    parser.add_argument("--slowest", type=int, default=0, help="list the N slowest checks (CPU)")
    parser.add_argument("--before", default="", help="the numbers before, for the history line")
    parser.add_argument(
        "--pairs",
        default="seed,ng",
        help="networks whose pairs of two mistakes are tried, comma-separated, or 'all' "
        "(all: over half an hour on 2 cores)",
    )
    args = parser.parse_args()
    paired = None if args.pairs == "all" else tuple(filter(None, args.pairs.split(",")))
    results = grid(paired)
    body, totals = table(results)
    if args.unnamed:
        for o in results:
            if o.verdict == "incorrect" and not o.case.equal and not o.named:
                print(f"{o.case.network} {o.case.kinds} {o.case.formula}\n    -> {o.diagnosis}")
    for o in sorted(results, key=lambda o: -o.cpu)[: args.slowest]:
        print(
            f"{o.cpu:6.2f} s CPU {o.seconds:6.2f} s {o.case.network} {o.case.kinds} "
            f"{o.case.syntax}: {o.case.formula}\n    -> {o.diagnosis}"
        )
    summary = (
        f"{len(results)} checks; of the {totals['incorrect']} mutations judged INCORRECT, "
        f"{totals['named']} ({100 * totals['named'] / max(totals['incorrect'], 1):.0f} %) named; "
        f"{totals['wrong']} wrong verdicts."
    )
    text = (
        "## Diagnoses: the mutation grid (`benchmarks/diagnoses.py`)\n\n"
        "Each usual mistake of issue 13 §3 (and each pair of two on "
        + ("every network" if paired is None else ", ".join(paired))
        + ") applied by the grid's own "
        "code (tests/diagnosis_grid.py, not the checker's mutation tables) to every δ, "
        "gradient and ∂C/∂A each built-in network prints, and to two networks the examples "
        "lack (weight decay; tanh under a softmax, samples as rows), printed in LaTeX and "
        "NumPy. *Applied*: mutations the oracle (the core's NumPy interpreter on random "
        "values) finds unequal to the right formula; *refused*: a clear error, no verdict; "
        "*named*: the diagnosis (or its `equivalently:` note) names every kind applied; "
        "*worst CPU*: the slowest check's CPU time in this process (wall time counts the other "
        "processes of a shared machine too); "
        "*equal: CORRECT*: mutations that happen to be equal (ReLU's mask on A, a bias "
        "row without keepdims) judged CORRECT.\n\n"
        f"{body}\n\n{summary}\n\n"
        + (HISTORY.format(before=args.before) + "\n\n" if args.before else "")
        + machine()
    )
    print(text)
    if not args.no_write:
        write_section("diagnoses", text)


if __name__ == "__main__":
    main()
