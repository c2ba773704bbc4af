"""Each branch of a piecewise loss judged on its own, by a hyperparameter that picks it.

A Huber loss takes its quadratic branch where ``|r| ≤ δ`` and its linear one elsewhere; a
gradient written as a loop over samples with an ``if``/``else`` may be off on each branch
differently (RoboticsClub's: the linear branch's sign, and 1/M on both). The branches are
told apart without reading the code: the snippet and the derivation are run again with the
hyperparameter large (every entry on the branch ``≤ δ`` holds) and small (none), where each
is one branch alone, and the factor each gives is named (``sample_slips``'s words).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from derive.core import numeric
from derive.formula.program_points import ProgramPoints
from derive.formula.sample_run import fits, run_at
from derive.formula.window_lines import Block, LoopError
from derive.formula.window_loops import MAX_STEPS

#: The hyperparameter's values that put every entry on one branch: the program's random
#: values are within a few units, so a threshold of 10³ holds everywhere and 10⁻³ nowhere.
EXTREMES = ((1e3, "large"), (1e-3, "small"))

Words = Callable[[ProgramPoints, list[float]], "str | None"]


def _at(c: ProgramPoints, hyper: Any, value: float) -> list[dict[Any, Any]]:
    """The checker's points with the hyperparameter set, the forward recomputed."""
    out = []
    for point in c.points:
        env = dict(point)
        env[hyper] = value
        for eq in c.sd.graph.equations:
            env[eq.out] = numeric.evaluate(eq.rhs, env)
        out.append(env)
    return out


def _ratios(c: ProgramPoints, body: list[Block], name: str, sym: Any, points: Any) -> Any:
    """The one factor snippet/derivation at each point (None: not one factor)."""
    try:
        runs = [run_at(body, c, env, [MAX_STEPS]) for env in points]
    except LoopError:
        return None
    out = []
    for run, env in zip(runs, points, strict=True):
        want = np.asarray(c.values_at(env)[sym], dtype=float)
        got = fits(run[name], want) if name in run else None
        norm = float(np.sum(want * want))
        if got is None or norm < 1e-12:
            return None
        r = float(np.sum(got * want)) / norm
        if not np.allclose(got, r * want, rtol=1e-9, atol=1e-9):
            return None
        out.append(r)
    return out


def _slips(c: ProgramPoints, rs: list[float], words: Words) -> list[str] | None:
    """One branch's slips: none, the sign, a factor, or both (None: no words for it)."""
    if all(np.isclose(r, 1) for r in rs):
        return []
    if all(np.isclose(r, -1) for r in rs):
        return ["the sign is wrong"]
    said = words(c, rs)
    if said is not None:
        return [said]
    said = words(c, [-r for r in rs])
    return ["the sign is wrong", said] if said is not None else None


def branches(c: ProgramPoints, body: list[Block], name: str, words: Words) -> str | None:
    """The branches' slips, each named, when a hyperparameter's extremes give each branch
    one factor and they differ."""
    sym = c.target(name)
    for hname, hyper in c.sd.graph.hyper.items():
        found = []
        for value, how in EXTREMES:
            rs = _ratios(c, body, name, sym, _at(c, hyper, value))
            slips = _slips(c, rs, words) if rs is not None else None
            if slips is None:
                break
            found.append((how, slips))
        if len(found) < 2 or found[0][1] == found[1][1]:
            continue
        every = list(dict.fromkeys(s for _, slips in found for s in slips))
        parts = "; ".join(
            f"with {hname} {how} (one branch alone) {', and '.join(slips) or 'it is right'}"
            for how, slips in found
        )
        count = {1: "one mistake", 2: "two mistakes"}.get(len(every), f"{len(every)} mistakes")
        return f"{count}, told branch by branch: {parts}"
    return None
