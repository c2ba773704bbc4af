"""Benchmark: how long ``derive verify lstm`` (one cell step, three-way) and ``derive check``
on an LSTM unrolled over T = 50 steps take (issue 15, speed).

Run: ``python benchmarks/sequence_speed.py`` (writes its section of docs/benchmarks.md).

CPU time of the process (``time.process_time``: the machine is shared, wall time is not
what the code costs), medians of a few rounds, each part measured in one process after
the imports. The check is a wrong snippet (the weight's sum over time cut to one step),
the worst case: its diagnosis searches for the missing terms. "Before" is main at
44e18e4, measured the same way (the check there did not finish in 10 minutes).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, write_section  # noqa: E402

from derive.formula.program_check import ProgramChecker  # noqa: E402
from derive.programs import derive_program  # noqa: E402
from derive.spec.sequence_layers import from_sequence_dict  # noqa: E402

#: Measured on main at 44e18e4 with the same calls (CPU seconds; the check was stopped
#: after 10 minutes).
BEFORE = {
    "verify lstm (derive + three-way check)": 12.8,
    "check lstm T=50, wrong db_y (derive + check)": float("inf"),
}


def lstm50() -> object:
    """The LSTM of the built-in ``lstm_net`` unrolled over 50 steps."""
    data = {
        "name": "lstm50",
        "input": "D",
        "batch": "N",
        "layers": [
            {"type": "lstm", "steps": 50, "hidden": "H", "loss_at": "every"},
            {"type": "dense", "width": "C", "activation": "softmax"},
        ],
        "loss": "cross_entropy",
    }
    return from_sequence_dict(data, source="<lstm50>")


def cpu(fn: Callable[[], object], rounds: int) -> float:
    """Median CPU time of ``fn()`` over ``rounds`` runs, in seconds."""
    times = []
    for _ in range(rounds):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def main() -> None:
    def verify() -> None:
        assert derive_program("lstm").verify().passed

    def check() -> None:
        result = ProgramChecker(derive_program(lstm50())).check("db_y = np.sum(dS_50, axis=0)")
        assert not result.correct and "49 of the 50 terms" in str(result)

    after = {
        "verify lstm (derive + three-way check)": cpu(verify, 3),
        "check lstm T=50, wrong db_y (derive + check)": cpu(check, 3),
    }
    rows = []
    for what, now in after.items():
        was = BEFORE[what]
        ratio = "did not finish in 600 s" if was == float("inf") else f"{was / now:.1f}× faster"
        shown = "> 600 s" if was == float("inf") else f"{was:.1f} s"
        rows.append(f"| {what} | {shown} | {now:.2f} s | {ratio} |")
    body = "\n".join(
        [
            "## Sequence models: verify and check time (`benchmarks/sequence_speed.py`)",
            "",
            f"{machine()}. CPU seconds, medians of 3 rounds, after the imports (~0.9 s).",
            "",
            "| what | before (44e18e4) | now | |",
            "|---|---:|---:|---|",
            *rows,
            "",
            "verify: the SymPy oracle differentiates by one matrix's entries at a time with "
            "every other value bound to its number (SymPy folds the constants), not the whole "
            "expanded loss by every entry. check: the diagnosis' missing-term search "
            "recomputes only the stages between the dropped term and the judged gradient "
            "(it recomputed all ~1300 per term tried), is bounded by a count of stages, and "
            "prints only what it found; the generic-T recurrence is derived only when printed; an "
            "activation's derivative is differentiated once per function, not once per step.",
        ]
    )
    write_section("sequence_speed", body)
    print(body)


if __name__ == "__main__":
    main()
