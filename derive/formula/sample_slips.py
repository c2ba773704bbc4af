"""The mistakes of loop code over samples or classes, named from exact matches.

``sample_loops`` ran the snippet at the checker's two random points; a wrong gradient is
explained only when one usual slip reproduces it at both: the sign, a factor (a size's
1/N named as the size only if it is that size at both points, whose sizes all differ),
a hyperparameter's term missing or scaled (weight decay: its gradient is k·reg·W), ``=``
where the loop must sum (``+=``), the labels' classes alone differing (the correct-class
term). Otherwise it says that no usual slip explains it.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from derive.core import numeric
from derive.formula.program_points import ProgramPoints
from derive.formula.sample_branches import branches
from derive.formula.sample_run import fits, run_at, same, sizes_at
from derive.formula.window_lines import Block, LoopError, accumulated
from derive.formula.window_loops import MAX_STEPS, TooLong

NONE_FITS = "the loops' gradient differs from the derivation's; no usual slip explains it"
#: The loops give inf or nan where the derivation's gradient is finite.
NOT_FINITE = (
    "the loops' gradient is not finite (inf or nan: a division by zero or an overflow) where "
    "the derivation's is"
)


def _close(a: Any, b: Any) -> bool:
    return bool(np.allclose(a, b, rtol=1e-9, atol=1e-9))


def _shaped(got: list[Any], want: list[Any]) -> list[tuple[Any, Any]] | None:
    pairs = []
    for g, w in zip(got, want, strict=True):
        w = np.asarray(w, dtype=float)
        f = fits(g, w)
        if f is None:
            return None
        pairs.append((f, w))
    return pairs


def _ratio(g: Any, w: Any) -> float | None:
    """``r`` with ``g = r·w`` (None: not a multiple)."""
    norm = float(np.sum(w * w))
    if norm < 1e-12:
        return None
    r = float(np.sum(g * w)) / norm
    return r if _close(g, r * w) else None


def factor_words(c: ProgramPoints, ratios: list[float]) -> str | None:
    """A factor the same at both points (a number), or a size's (``1/N``: N at both)."""
    if not all(np.isfinite(r) for r in ratios):
        return None
    for name in c.sd.graph.sizes:
        per = [sizes_at(c, i).get(name) for i in range(len(ratios))]
        if all(s and np.isclose(r, 1 / s) for r, s in zip(ratios, per, strict=True)):
            return f"a factor 1/{name} too many (the derivation has no division by {name} here)"
        if all(s and np.isclose(r, s) for r, s in zip(ratios, per, strict=True)):
            return f"a factor 1/{name} is missing (the sum over {name} is not divided by {name})"
    if all(np.isclose(r, ratios[0]) for r in ratios):
        frac = Fraction(ratios[0]).limit_denominator(64)
        if np.isclose(float(frac), ratios[0]) and frac != 1:
            return f"the loops' gradient is {frac} times the derivation's: a factor {frac}"
    return None


def _zeroed(c: ProgramPoints, hyper: Any, sym: Any) -> list[Any]:
    """``sym`` at each point with the hyperparameter set to 0 (its term left out)."""
    out = []
    for point in c.points:
        env = dict(point)
        env[hyper] = 0.0
        for eq in c.sd.graph.equations:
            env[eq.out] = numeric.evaluate(eq.rhs, env)
        out.append(np.asarray(c.values_at(env)[sym], dtype=float))
    return out


def _hyper_term(c: ProgramPoints, sym: Any, pairs: list[tuple[Any, Any]]) -> str | None:
    """A hyperparameter's term missing or scaled: with it at 0 the derivation gives the
    snippet's value, or the snippet has k times that term (weight decay: ``k·reg·W``)."""
    wrt = getattr(sym, "wrt", None)
    for name, hyper in c.sd.graph.hyper.items():
        base = _zeroed(c, hyper, sym)
        terms = [w - b for (_, w), b in zip(pairs, base, strict=True)]
        if all(_close(t, 0) for t in terms):
            continue  # the derivation's gradient has no term in it
        theirs = [g - b for (g, _), b in zip(pairs, base, strict=True)]
        ks = [_ratio(t, d) for t, d in zip(theirs, terms, strict=True)]
        decay = None
        if wrt is not None:  # weight decay: the term is k·reg·W
            w_ks = [
                _ratio(d, float(p[hyper]) * np.asarray(p[wrt], dtype=float))
                for d, p in zip(terms, c.points, strict=True)
            ]
            if None not in w_ks and all(np.isclose(k or 0, w_ks[0] or 0) for k in w_ks):
                k0 = Fraction(w_ks[0] or 0).limit_denominator(64)
                decay = f"{'' if k0 == 1 else f'{k0}·'}{name}·{wrt.name}"
        what = f"the weight-decay term {decay}" if decay else f"the term in {name}"
        if all(_close(t, 0) for t in theirs):
            return f"{what} is missing from the gradient (the loss has {name}'s term)"
        if None not in ks and all(np.isclose(k or 0, ks[0] or 0) for k in ks):
            k = Fraction(ks[0] or 0).limit_denominator(64)
            return f"{what} has a factor {k} (the loops give {k} times that term)"
        rest = [_ratio(g - t, b) for (g, _), t, b in zip(pairs, terms, base, strict=True)]
        if all(r is not None for r in rest):  # the term right, the rest scaled
            words = factor_words(c, [float(r or 0) for r in rest])
            if words is not None:
                return f"{words}, in the gradient's part without {what} (that term is right)"
    return None


def _summed(c: ProgramPoints, body: list[Block], name: str, want: list[Any]) -> str | None:
    """The statement whose ``=`` made ``+=`` gives the gradient right, if one does."""
    budget = [2 * MAX_STEPS]
    for src, fixed in accumulated(body):
        try:
            runs = [run_at(fixed, c, p, budget) for p in c.points]
        except TooLong:
            return None
        except LoopError:
            continue
        if all(name in r and same(r[name], w) for r, w in zip(runs, want, strict=True)):
            return src
    return None


def _labels_only(c: ProgramPoints, pairs: list[tuple[Any, Any]]) -> str | None:
    """The difference only in the labels' classes (a column or row per label): the
    correct class's term is left out or wrong."""
    for lab in c.sd.graph.labels:
        axes = set()
        for (g, w), p in zip(pairs, c.points, strict=True):
            d = np.abs(g - w) > 1e-9
            classes = sorted(set(int(v) for v in np.asarray(p[lab]).reshape(-1)))
            k = int(np.asarray(p[lab.classes]) if lab.classes in p else 0)
            if d.ndim != 2 or len(classes) >= k:
                return None
            for axis in (0, 1):
                if d.shape[axis] == k:
                    rest = np.delete(d, classes, axis=axis)
                    if not rest.any() and d.any():
                        axes.add(axis)
        if axes:
            return (
                f"the gradient differs only in the labels' classes ({lab.name}): the correct "
                "class's term is missing or wrong"
            )
    return None


def explain(c: ProgramPoints, body: list[Block], name: str, got: list[Any], want: list[Any]) -> str:
    """What is wrong with the snippet's ``name``, when a usual slip says it exactly."""
    pairs = _shaped(got, want)
    if pairs is None:
        return NONE_FITS
    if not all(np.all(np.isfinite(np.asarray(g, dtype=float))) for g, _ in pairs):
        # no factor or slip is read from inf or nan (Fraction(inf) raised: a traceback)
        return NOT_FINITE
    sym = c.target(name)
    if all(_close(g, -w) for g, w in pairs):
        return "the sign is wrong: the loops give minus the derivation's gradient"
    said = _hyper_term(c, sym, pairs)
    if said is not None:
        return said
    ratios = [_ratio(g, w) for g, w in pairs]
    if all(r is not None for r in ratios):
        said = factor_words(c, [float(r or 0) for r in ratios])
        if said is not None:
            return said
    said = branches(c, body, name, factor_words)
    if said is not None:
        return said
    src = _summed(c, body, name, want)
    if src is not None:
        return (
            f"`{src}` overwrites what earlier turns of the loop gave: each sample's (or "
            "class's) contribution must be summed into the gradient (+=)"
        )
    said = _labels_only(c, pairs)
    return said if said is not None else NONE_FITS
