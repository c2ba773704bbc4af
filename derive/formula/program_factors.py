"""A snippet's gradient that is the derived one times a factor: over all of it, or one
factor on each branch of a piecewise program (Huber's quadratic and linear parts).

``program_diagnose`` asks these after the shape: ``-1 times`` (a sign), a constant, a size
(``a factor 1/N is missing``), a size for another, a hyperparameter (``δ``). A program whose
forward takes a branch by a mask (``where(|r| < δ, …)``, ``mse * mse_mask + mae * mae_mask``)
may be right on one branch and off by a factor on the other, or off by two factors (a
``/ m`` twice and the linear branch without ``δ``): each branch's entries are compared on
their own, each factor named.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import numpy as np

from derive.core import numeric
from derive.core.nodes import Indicator
from derive.render.text import text as show


def ratios(got: list[Any], want: list[Any], where: list[Any] | None = None) -> list[float] | None:
    """The one ratio got/want at each point (``where``: only those entries), or None."""
    out = []
    for k, (a, b) in enumerate(zip(got, want, strict=True)):
        a, b = np.atleast_2d(a).astype(float), np.atleast_2d(b).astype(float)
        if a.shape != b.shape or (where is not None and not _spreads(where[k], a.shape)):
            return None  # a mask of another shape (Z's, for dW) does not split these entries
        chosen = (
            np.ones(a.shape, bool) if where is None else np.broadcast_to(where[k] > 0.5, a.shape)
        )
        a, b = a[chosen], b[chosen]
        mask = np.abs(b) > 1e-9 * max(1.0, float(np.max(np.abs(b), initial=0.0)))
        if not mask.any() or not np.allclose(a[~mask], 0, atol=1e-9):
            return None
        r = a[mask] / b[mask]
        if not np.allclose(r, r[0], rtol=1e-7):
            return None
        out.append(float(r[0]))
    return out


def _spreads(mask: Any, shape: tuple[int, ...]) -> bool:
    """Whether a mask broadcasts to the entries' shape (a row mask over rows does)."""
    try:
        return np.broadcast_shapes(np.shape(mask), shape) == shape
    except ValueError:
        return False


def words(
    rs: list[float], points: list[dict[Any, Any]], sizes: dict[str, Any], hyper: dict[str, Any]
) -> str | None:
    """The factor the ratios are at every point: ``−1 times``, ``2 times``, ``N times (a
    factor 1/N is missing)``, ``1/δ times (the factor δ is missing)``, or None."""
    if all(abs(r + 1) < 1e-9 for r in rs):
        return "−1 times (the sign is wrong)"
    if all(abs(r - rs[0]) < 1e-9 * abs(rs[0]) for r in rs):
        if abs(rs[0] - 1) < 1e-9:
            return "1 times"
        return f"{_ratio(rs[0])} times"

    def fits(value: Any) -> bool:
        return all(
            abs(r - float(value(env))) < 1e-9 * abs(r) for r, env in zip(rs, points, strict=True)
        )

    for name, sym in sizes.items():
        if fits(lambda env, s=sym: env[s]):
            return f"{name} times (a factor 1/{name} is missing)"
        if fits(lambda env, s=sym: 1 / env[s]):
            return f"1/{name} times (a factor 1/{name} too many)"
    for name, sym in hyper.items():
        if fits(lambda env, s=sym: env[s]):
            return f"{name} times (a factor {name} too many)"
        if fits(lambda env, s=sym: 1 / env[s]):
            return f"1/{name} times (the factor {name} is missing)"
    for (a, sa), (b, sb) in itertools.permutations(sizes.items(), 2):  # / n where / m belongs
        if fits(lambda env, sa=sa, sb=sb: env[sa] / env[sb]):
            return f"{a}/{b} times (divided by {b} where {a} belongs)"
    for (a, sa), (b, sb) in itertools.product(sizes.items(), hyper.items()):
        if fits(lambda env, sa=sa, sb=sb: 1 / (env[sa] * env[sb])):
            return f"1/({b}·{a}) times (a factor 1/{a} too many and the factor {b} missing)"
    return None


def split_masks(graph: Any, points: list[dict[Any, Any]]) -> Iterator[tuple[Any, list[Any]]]:
    """Each mask of the program (an indicator) with where it holds at each point, where
    both of its branches have entries at every point (else they are not told apart)."""
    masks = [m for eq in graph.equations for m in sorted(eq.rhs.atoms(Indicator), key=str)]
    for mask in dict.fromkeys(masks):
        with np.errstate(all="ignore"):
            on = [np.asarray(numeric.evaluate(mask, env), float) for env in points]
        if all(0 < v.mean() < 1 for v in on):
            yield mask, on


def branches(
    got: list[Any], want: list[Any], points: list[dict[Any, Any]], graph: Any
) -> str | None:
    """Each branch of a mask of the program with its own factor, where the whole is
    no one factor (a piecewise gradient wrong on one part, or by two factors)."""
    for mask, on in split_masks(graph, points):
        said = []
        for part, where in (("holds", on), ("does not hold", [1 - v for v in on])):
            rs = ratios(got, want, where)
            if rs is None:
                break
            said.append((part, words(rs, points, graph.sizes, graph.hyper)))
        if len(said) < 2 or any(w is None for _, w in said) or all(w == "1 times" for _, w in said):
            continue
        parts = "; ".join(
            f"where {show(mask)} {part}, it is {'right' if w == '1 times' else w}"
            for part, w in said
        )
        return f"the branches of {show(mask)} are off by different factors: {parts}"
    return None


def _ratio(value: float) -> str:
    """A measured ratio as a short fraction (``2``, ``1/2``, ``-3/4``): the ratio is our own
    float from two evaluations, read with a bounded denominator, never a user's string."""
    frac = Fraction(value).limit_denominator(1000)
    return str(frac.numerator) if frac.denominator == 1 else f"{frac.numerator}/{frac.denominator}"
