"""A Jacobian left out upstream of the judged gradient: attention's dQ built from dA.

``program_diagnose.passed_through`` names a judged cotangent that is its output's cotangent
passed on unchanged (dS = dA). A student who skips a step's backward earlier on (IDL's
attention without ``self.softmax.backward``: dS taken as dA, then dQ = dS K / √d) hands
back a dQ that is no stage passed on: the slip is upstream. Here each stage's term through
one equation is replaced by that equation's output cotangent, as if its function were the
identity, the stages after it recomputed at the checker's points, and the judged gradient
compared. Bounded: programs of at most ``MAX_STAGES`` stages, only the steps that apply a
function (a softmax, an activation), every replacement tried once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from derive.core import numeric
from derive.core.interpret import Memo
from derive.core.nodes import Elementwise, LogSoftmax, Softmax
from derive.core.program import cotangent_name, shape_of
from derive.render.text import text as show

#: The most stages (cotangents and gradients) of a program searched so.
MAX_STAGES = 40
#: The steps whose Jacobian a student leaves out: a softmax, an activation.
FUNCTIONS = (Softmax, LogSoftmax, Elementwise)


def _close(a: Any, b: Any) -> bool:
    a, b = np.atleast_2d(np.asarray(a, float)), np.atleast_2d(np.asarray(b, float))
    if a.shape != b.shape:
        return False
    scale = max(1.0, float(np.max(np.abs(b))) if b.size else 1.0)
    return bool(np.allclose(a, b, rtol=1e-7, atol=1e-9 * scale))


def forgotten_upstream(judge: Any, got: list[Any], sym: Any) -> str | None:
    """What is wrong when ``got`` (the snippet's value of ``sym`` at each point) is the
    derivation with one step's Jacobian left out before ``sym``; None if no step explains it."""
    sd = judge.sd
    order = [*sd.cotangents, *sd.gradients.values()]
    if len(order) > MAX_STAGES:
        return None
    by_name = {st.lhs.name: st.lhs for st in sd.cotangents}
    for stage in sd.cotangents:
        if stage.lhs == sym:
            continue  # the judged stage itself: passed_through's case
        terms = sd.terms.get(stage.lhs, [])
        for k, (eq, _) in enumerate(terms):
            if not isinstance(eq.rhs, FUNCTIONS):
                continue  # only a function's Jacobian is what gets forgotten
            cot = by_name.get(cotangent_name(eq.out.name))
            if cot is None or shape_of(cot) != shape_of(stage.lhs):
                continue
            values = []
            with np.errstate(all="ignore"):
                for env in judge.points:
                    memo = Memo(env)
                    for st in order:
                        if st.lhs != stage.lhs:
                            memo[st.lhs] = numeric.evaluate(st.rhs, memo)
                            continue
                        kept = [
                            numeric.evaluate(t, memo) for j, (_, t) in enumerate(terms) if j != k
                        ]
                        memo[st.lhs] = sum(kept, np.asarray(memo[cot], float))
                    values.append(memo[sym])
            want = [v[sym] for v in judge.expected_now]
            if all(_close(a, b) for a, b in zip(values, want, strict=True)):
                continue  # the step passes its cotangent on unchanged itself
            if all(_close(a, b) for a, b in zip(got, values, strict=True)):
                return (
                    f"{cot.name} is used where {stage.lhs.name} belongs: the derivative of "
                    f"{show(eq.out)} = {show(eq.rhs)} (its Jacobian) is left out before "
                    f"{judge.label(sym)}"
                )
    return None
