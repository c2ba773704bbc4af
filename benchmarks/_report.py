"""Shared by the benchmarks: medians, machine facts, and writing a section of docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = """# Benchmarks

Each section is written by the script named in it (`python benchmarks/NAME.py`), which
runs every compared variant side by side in one process. The machine is small and noisy
(2 cores), so every number is a median over rounds and comparisons are given as ratios.
"""


def median_time(fn: Callable[[], object], rounds: int) -> float:
    """Median wall time of ``fn()`` over ``rounds`` runs, in seconds."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def machine() -> str:
    import numpy
    import sympy

    return (
        f"Python {platform.python_version()}, SymPy {sympy.__version__}, "
        f"NumPy {numpy.__version__}, {os.cpu_count()} cores, {platform.machine()}"
    )


def write_section(name: str, body: str) -> None:
    """Replace (or add) the section between ``<!-- name:start -->`` and ``<!-- name:end -->``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = DOC.read_text("utf-8") if DOC.exists() else HEADER
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        _, after = rest.split(end, 1)
        text = before + block + after
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text, "utf-8")
