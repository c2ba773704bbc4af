"""A piecewise gradient off by one factor everywhere and by another on one branch: two
mistakes, each named (tinynn's Huber gradient: ``/ m`` twice, and the linear branch without
``δ``). ``program_factors.branches`` says each branch's whole factor; this says the factor
the branches share first, then what one branch has besides: the mistakes as made."""

from __future__ import annotations

from typing import Any

import numpy as np

from derive.core import numeric
from derive.core.nodes import Indicator
from derive.formula.program_factors import ratios, words
from derive.render.text import text as show


def shared_and_one_branch(
    got: list[Any], want: list[Any], points: list[dict[Any, Any]], graph: Any
) -> str | None:
    """ "two mistakes: …" where the two branches of a mask of the program are off by
    different factors, one of them right but for a factor both share; None otherwise."""
    masks = [m for eq in graph.equations for m in sorted(eq.rhs.atoms(Indicator), key=str)]
    for mask in dict.fromkeys(masks):
        with np.errstate(all="ignore"):
            on = [np.asarray(numeric.evaluate(mask, env), float) for env in points]
        if not all(0 < v.mean() < 1 for v in on):
            continue  # every entry on one side at a point: the branches are not told apart
        holds = ratios(got, want, on)
        fails = ratios(got, want, [1 - v for v in on])
        if holds is None or fails is None:
            continue
        for shared, other, part in ((holds, fails, "does not hold"), (fails, holds, "holds")):
            both = words(shared, points, graph.sizes, graph.hyper)
            if both in (None, "1 times") or any(abs(r) < 1e-12 for r in shared):
                continue
            rest = words([o / s for o, s in zip(other, shared, strict=True)], points,
                         graph.sizes, graph.hyper)  # fmt: skip
            if rest in (None, "1 times"):
                continue
            return (
                f"two mistakes: it is {both} the derived one on both branches of "
                f"{show(mask)}; and where {show(mask)} {part}, it is also {rest}"
            )
    return None
