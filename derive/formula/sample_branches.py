"""Each branch of a piecewise loss judged on its own, by a hyperparameter that picks it.

A Huber loss takes its quadratic branch where ``|r| ≤ δ`` and its linear one elsewhere; a
gradient written as a loop over samples with an ``if``/``else`` may be off on each branch
differently (RoboticsClub's: the linear branch's sign, and 1/M on both). The branches are
told apart without reading the code: the snippet and the derivation are run again with the
threshold hyperparameter of one of the program's comparisons at 10³ and at 10⁻³, used only
where the comparison then goes one way for every entry (each branch alone), and the factor
each gives is named (``sample_slips``'s words).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from derive.core import numeric
from derive.core.nodes import Indicator
from derive.formula.program_points import ProgramPoints
from derive.formula.sample_run import fits, run_at
from derive.formula.window_lines import Block, LoopError
from derive.formula.window_loops import MAX_STEPS
from derive.render.text import text as show

#: The threshold's values tried: the program's random values are within a few units, so a
#: comparison with 10³ or 10⁻³ usually goes one way everywhere (checked before it is used).
EXTREMES = (1e3, 1e-3)

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
    g = c.sd.graph
    masks = [m for eq in g.equations for m in sorted(eq.rhs.atoms(Indicator), key=str)]
    for hname, hyper in g.hyper.items():
        mask = next((m for m in masks if hyper in m.free_symbols), None)
        if mask is None:
            continue  # not a threshold: no branch to pick
        found = []
        for value in EXTREMES:
            points = _at(c, hyper, value)
            with np.errstate(all="ignore"):
                on = {float(np.mean(numeric.evaluate(mask, env))) for env in points}
            if on not in ({0.0}, {1.0}):
                break  # the extreme does not put every entry on one branch
            rs = _ratios(c, body, name, sym, points)
            slips = _slips(c, rs, words) if rs is not None else None
            if slips is None:
                break
            how = f"{value:g}, where {show(mask)} {'holds' if on == {1.0} else 'fails'} everywhere"
            found.append((how, slips))
        if len(found) < 2 or found[0][1] == found[1][1]:
            continue
        every = list(dict.fromkeys(s for _, slips in found for s in slips))
        parts = "; ".join(
            f"with {hname} = {how}, {', and '.join(slips) or 'it is right'}" for how, slips in found
        )
        count = {1: "one mistake", 2: "two mistakes"}.get(len(every), f"{len(every)} mistakes")
        return f"{count}, told branch by branch: {parts}"
    return None
