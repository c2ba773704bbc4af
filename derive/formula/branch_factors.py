"""A piecewise gradient off by one factor everywhere and by another on one branch: two
mistakes, each named (tinynn's Huber gradient: ``/ m`` twice, and the linear branch without
``δ``). ``program_factors.branches`` says each branch's whole factor; this says the factor
the branches share first, then what one branch has besides: the mistakes as made."""

from __future__ import annotations

from typing import Any

from derive.formula.program_factors import ratios, split_masks, words
from derive.render.text import text as show


def shared_and_one_branch(
    got: list[Any], want: list[Any], points: list[dict[Any, Any]], graph: Any
) -> str | None:
    """ "two mistakes: …" where the two branches of a mask of the program are off by
    different factors, one of them right but for a factor both share; None otherwise."""
    for mask, on in split_masks(graph, points):
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
