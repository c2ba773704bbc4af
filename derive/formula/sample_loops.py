"""A backward pass written as loops over samples, classes or rows, judged by running it.

CS231n's naive SVM (``for i in range(num_train): scores = X[i].dot(W) … for j in
range(num_classes): … if margin > 0: dW[:, j] += X[i]``) and its kin loop over samples
and classes with branches; the program reader (``program_snippet``) reads statements,
not loops (loops over time are unrolled by ``program_loops``). Such a snippet is run by
the bounded runner (``sample_flow``, over ``window_loops``: our grammar, NumPy's own
operations, a bound on the statements run) on the program's values at the checker's two
random points, whose sizes all differ (a factor 1/N is not a factor 1/C), and every
gradient it writes (``dW``, ``dX``) is compared with the derivation's at both. CORRECT:
every one equal at both points; INCORRECT: one differs; a mistake is named only from an
exact match (``sample_slips``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from derive.formula.answer import CheckResult
from derive.formula.ir import FormulaError
from derive.formula.program_loop_text import STEP_FN
from derive.formula.program_points import ProgramPoints
from derive.formula.sample_run import fits, run_at, same, sizes_at, unallocated
from derive.formula.sample_slips import explain
from derive.formula.window_lines import LoopError, blocks
from derive.formula.window_loops import MAX_STEPS, TooLong


def over_time(text: str) -> bool:
    """Whether loop code is over time steps: it calls a step's backward by name
    (``rnn_step_backward``), which only a program written out per step has."""
    return re.search(rf"\b{STEP_FN}\s*\(", text) is not None


def returned_as(c: ProgramPoints, text: str) -> tuple[str, str]:
    """``return der``, an unnamed gradient handed back, read as the program's one gradient
    (a loss's backward returns the gradient of its one parameter); the note that says so.
    Unchanged when a line assigns a gradient or the program has several."""
    lines = text.rstrip().splitlines()
    last = re.match(r"^(\s*)return\s+([A-Za-z_]\w*)\s*$", lines[-1]) if lines else None
    if last is None or len(c.sd.gradients) != 1 or c.target(last[2]) is not None:
        return text, ""
    assigns = re.findall(r"^\s*([A-Za-z_]\w*)\s*(?:\[.*\])?\s*[-+*/]?=(?!=)", text, re.M)
    if any(c.target(n) is not None for n in assigns):
        return text, ""
    grad = f"d{next(iter(c.sd.gradients))}"
    lines[-1] = f"{last[1]}{grad} = {last[2]}"
    return "\n".join(lines), f"read the value the last line returns ({last[2]}) as {grad}"


def handed_back(text: str) -> set[str]:
    """The names the snippet's last line returns (``return loss, dW``; none without one)."""
    lines = text.rstrip().splitlines()
    last = re.match(r"^\s*return\s+(.+)$", lines[-1]) if lines else None
    return set(re.findall(r"[A-Za-z_]\w*", last[1])) if last else set()


def check_sample_loops(c: ProgramPoints, text: str, derived: Callable[[Any], str]) -> CheckResult:
    """The verdict on loop code over samples or classes, or a FormulaError saying why it
    is not read (``derived``: the derivation's formula of a gradient, as shown)."""
    text, returned = returned_as(c, text)
    try:
        body = blocks(text)
        budget = [MAX_STEPS]
        seen: set[str] = set()
        runs = [run_at(body, c, point, budget, seen) for point in c.points]
    except TooLong as err:
        raise FormulaError(f"loops over samples or classes: {err}") from None
    except LoopError as err:
        raise FormulaError(f"loops over samples or classes, not read: {err}") from None
    written = [n for n in runs[0] if all(n in r for r in runs)]
    handed = handed_back(text)
    if set(written) & handed:  # a function's own helpers are not its answer
        written = [n for n in written if n in handed]
    c.expected_now = c.expected()
    wants = {n: [e[c.target(n)] for e in c.expected_now] for n in written}
    helpers = [
        n
        for n in written
        if getattr(c.target(n), "wrt", None) is None
        and any(fits(r[n], w) is None for r, w in zip(runs, wants[n], strict=True))
    ]  # a per-sample local named like a stage (dscores of one row): the loop's own
    written = [n for n in written if n not in helpers]
    if not written:
        raise FormulaError(
            "the loops write no gradient of this program; name one of "
            + ", ".join(f"d{n}" for n in c.sd.gradients)
        )
    wrong = [
        n for n in written if not all(same(r[n], w) for r, w in zip(runs, wants[n], strict=True))
    ]
    labels = ", ".join(dict.fromkeys(c.label(c.target(n)) for n in written))
    shown = [", ".join(f"{k}={v}" for k, v in sizes_at(c, i).items()) for i in range(len(c.points))]
    notes = [
        "read as loops run on the program's values at "
        + f"{len(c.points)} random points ({' / '.join(shown)}), each gradient compared "
        "with the derivation's"
    ]
    if seen:
        notes.append(f"the program's values read: {', '.join(sorted(seen))}")
    if returned:
        notes.append(returned)
    for n in helpers:
        notes.append(f"{n} is not judged: its shape is not the stage's (the loop's own helper)")
    for n in sorted(unallocated(body) & set(written)):
        notes.append(f"{n} is written entry by entry and never allocated: taken as zeros first")
    for n in written:
        if n != c.label(c.target(n)):
            notes.append(f"read {n} as {c.label(c.target(n))}")
    method = "numeric (loops run)"
    first = wrong[0] if wrong else written[-1]
    expected = derived(c.target(first))
    if not wrong:
        return CheckResult("correct", labels, expected, method, notes=notes, formula=text)
    if len(wrong) > 1:
        notes.append(f"also wrong: {', '.join(wrong[1:])}")
    got = [r[first] for r in runs]
    shape = None
    if any(fits(g, w) is None for g, w in zip(got, wants[first], strict=True)):
        g, w = got[0], np.asarray(wants[first][0])
        shape = (
            f"{first} has shape {g.shape}, the derivation's {c.label(c.target(first))} {w.shape}"
        )
    said = explain(c, body, first, got, wants[first])
    return CheckResult("incorrect", labels, expected, method, said, shape, notes, text)
