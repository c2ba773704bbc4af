"""The classic mistakes of back-propagation through time, named where the comparison shows
them: the loop run forward in time, the gradient of the carried state not passed into the
next step, a weight's gradient overwritten at each step instead of summed over time.

Each is a fact about the numbers at the checker's random points: the snippet with its
loops run the other way is right; the snippet's value is the derivation's with every term
a state receives from the next step left out; or it is the term of one step alone.
"""

from __future__ import annotations

from typing import Any, Protocol

from derive.core import numeric
from derive.core.interpret import Memo
from derive.formula.ir import FormulaError
from derive.formula.program_factors import ratios
from derive.formula.program_judge import Judge, all_close
from derive.formula.program_lines import Reading, ShapeError, logical_lines
from derive.formula.program_loop_run import unroll
from derive.formula.program_steps import StepCall, Steps, indexed


class LoopJudge(Judge, Protocol):
    """The checker as this module uses it (``program_check.ProgramChecker``)."""

    def target(self, name: str) -> Any | None:
        """The symbol a snippet's name must equal."""

    def same(self, reading: Reading, name: str, sym: Any) -> bool:
        """Whether the snippet's name equals the symbol at every point."""

    def user_values(self, reading: Reading, name: str) -> list[Any] | None:
        """The snippet's name at each point."""


def explain(c: LoopJudge, formula: str, reading: Reading, name: str, sym: Any) -> str | None:
    """What is wrong with a BPTT loop's ``name`` (None: none of the loop's own mistakes)."""
    steps = Steps.of(c.sd)
    if steps is None:
        return None
    return (
        _skipped(c, steps, formula)
        or _order(c, formula, reading)
        or _per_step(c, steps, reading, name, sym)
        or _carry(c, steps, reading, name, sym)
        or _one_step(c, reading, name, sym)
    )


def _skipped(c: LoopJudge, steps: Steps, formula: str) -> str | None:
    """A step whose backward the loop never calls (``reversed(range(T-1))``): the steps
    after it get no gradient from it, and its own terms are missing."""
    try:
        out = unroll(logical_lines(formula), formula, c.sd)
    except FormulaError:
        return None
    called = {st.step for st in out if isinstance(st, StepCall)}
    missing = sorted(set(range(1, steps.T + 1)) - called)
    if not called or not missing:
        return None
    which = ", ".join(f"step {k} (t = {k - 1})" for k in missing)
    last = " (the last step: the loop over time starts at T−1)" if missing[-1] == steps.T else ""
    return (
        f"the loop skips {which}{last}: its step backward is never called, so that step's "
        "terms are missing from every gradient; the loop must visit every step, from T−1 "
        "down to 0 (reversed(range(T)))"
    )


def _per_step(c: LoopJudge, steps: Steps, reading: Reading, name: str, sym: Any) -> str | None:
    """A factor that is the program's step count: ``dWx += dWx_t / T`` (T is the same at
    both points, so only its value tells it; named as T, never as a bare number)."""
    got = c.user_values(reading, name)
    rs = ratios(got, [v[sym] for v in c.expected_now]) if got is not None else None
    if rs is None or steps.T < 2:
        return None
    if all(abs(r * steps.T - 1) < 1e-9 for r in rs):
        return (
            f"a factor 1/T too many: {name} is the derivation's divided by T = {steps.T}, the "
            "program's steps; back-propagation through time sums a weight's gradient over "
            "the steps, it does not average it"
        )
    if all(abs(r - steps.T) < 1e-9 * steps.T for r in rs):
        return f"a factor T = {steps.T} too many: {name} is T times the derivation's"
    return None


def _order(c: LoopJudge, formula: str, reading: Reading) -> str | None:
    """The snippet right with its loops run in the other order."""
    try:
        flipped = c.reader.run(unroll(logical_lines(formula), formula, c.sd, flip=True))
    except (FormulaError, ShapeError):
        return None
    judged = [
        (n, c.target(n)) for n in reading.order if n in reading.returned or not reading.returned
    ]
    judged = [(n, s) for n, s in judged if s is not None and n in flipped.values]
    if not judged or not all(c.same(flipped, n, s) for n, s in judged):
        return None
    return (
        "the loop runs forward in time: back-propagation through time starts at the last "
        "step (its gradient reaches the earlier steps through the carried state), so the "
        "steps go from T−1 down to 0 (reversed(range(T)))"
    )


def _carried_terms(c: LoopJudge, steps: Steps, only: str | None) -> set[tuple[Any, int]]:
    """Each (cotangent, term) a carried state ``s_k`` receives through step k+1."""
    out: set[tuple[Any, int]] = set()
    for st in c.sd.cotangents:
        value = str(st.lhs.name)[1:].removesuffix("_total")
        hit = indexed(value)
        if hit is None or hit[0] not in steps.carried or (only and hit[0] != only):
            continue
        for i, (eq, _) in enumerate(c.sd.terms.get(st.lhs, [])):
            at = indexed(str(getattr(eq.out, "name", "")))
            if at is not None and at[1] == hit[1] + 1:
                out.add((st.lhs, i))
    return out


def _without(c: LoopJudge, drops: set[tuple[Any, int]], sym: Any) -> list[Any]:
    """``sym`` at each point with the terms ``drops`` left out of their stages."""
    order = [*c.sd.cotangents, *c.sd.gradients.values()]
    out = []
    for env in c.points:
        values = Memo(env)
        for st in order:
            terms = c.sd.terms.get(st.lhs, [])
            if any((st.lhs, i) in drops for i in range(len(terms))):
                kept = [t for i, (_, t) in enumerate(terms) if (st.lhs, i) not in drops]
                values[st.lhs] = sum(numeric.evaluate(t, values) for t in kept)
            else:
                values[st.lhs] = numeric.evaluate(st.rhs, values)
        out.append(values[sym])
    return out


def _carry(c: LoopJudge, steps: Steps, reading: Reading, name: str, sym: Any) -> str | None:
    """The snippet's value is the derivation's without what step k+1 sends back."""
    got = c.user_values(reading, name)
    if got is None:
        return None
    tries: list[str | None] = [*steps.carried, None] if len(steps.carried) > 1 else [None]
    for only in tries:
        drops = _carried_terms(c, steps, only)
        if drops and all_close(got, _without(c, drops, sym)):
            states = [only] if only else steps.carried
            sent = " and ".join(f"d{s}_k" for s in states)
            verb = "is" if len(states) == 1 else "are"
            back = " and ".join(f"d{s}_{{k}}" for s in states)
            return (
                f"the gradient of the carried state is not passed back: the {sent} that step "
                f"k+1 sends back {verb} never added, so each step's backward is given its own "
                f"upstream only (a state's gradient is the sum of both paths: add to it the "
                f"{back} the later step returned)"
            )
    return None


def _one_step(c: LoopJudge, reading: Reading, name: str, sym: Any) -> str | None:
    """A weight's gradient that is one step's term: the sum over time left out."""
    wrt = getattr(sym, "wrt", None)
    terms = c.sd.terms.get(sym, [])
    if wrt is None or len(terms) < 2:
        return None
    got = c.user_values(reading, name)
    if got is None:
        return None
    for eq, term in terms:
        at = indexed(str(getattr(eq.out, "name", "")))
        want = [numeric.evaluate(term, Memo(env)) for env in c.expected_now]
        if at is not None and all_close(got, want):
            return (
                f"the sum over time is missing: {name} holds step {at[1]}'s term only (of "
                f"{len(terms)}); a weight every step uses gets the sum of all the steps' "
                f"terms ({name} += … in the loop, from zeros)"
            )
    return None
