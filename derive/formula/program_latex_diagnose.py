"""What is wrong with a LaTeX formula on a program, in the words of its time steps.

The program checker names a wrong line's mistake as for any snippet; two mistakes are
told here in the terms of an unrolled sequence model, each decided by the program's own
equations, not by the formula's spelling:

- a derivative evaluated at the activation: ``1 − tanh²(a^t)`` where ``a^t = tanh(â^t)``
  (the formula is right with the pre-activation ``â^t`` in its place);
- the gradient that comes back from step ``t+1`` left out (the ``+=`` of back-propagation
  through time): the missing chain-rule term is the one through an equation of step t+1;
- the softmax Jacobian cut to its diagonal: ``dS = P ⊙ dP`` for ``P = softmax(S)``.
"""

from __future__ import annotations

import re

from derive.formula.answer import CheckResult
from derive.formula.program_check import ProgramChecker
from derive.spec import program_grammar as G


def _defined_by(checker: ProgramChecker, name: str, fn: str) -> str | None:
    """``ahat_1`` if the program defines ``name = fn(ahat_1)``, else None."""
    for eq in checker.sd.graph.spec.equations:
        expr = getattr(eq, "expr", None)
        if getattr(eq, "target", None) != name or not isinstance(expr, G.Call):
            continue
        if expr.fn == fn and len(expr.args) == 1 and isinstance(expr.args[0], G.Name):
            return expr.args[0].id
    return None


def activation_for_pre_activation(checker: ProgramChecker, text: str) -> str | None:
    """The diagnosis if the line ``text`` is right with each ``f(a)``, ``a = f(â)``, read
    as ``f(â)``; None otherwise."""
    target = text.partition(" = ")[0]
    for fn, name in re.findall(r"\b(tanh|sigmoid|exp|log)\((\w+)\)", text):
        pre = _defined_by(checker, name, fn)
        if pre is None:
            continue
        fixed = text.replace(f"{fn}({name})", f"{fn}({pre})")
        try:
            if checker.check(fixed).correct:
                return (
                    f"{fn} is applied to {name}, the activation ({name} = {fn}({pre})): the "
                    f"derivative of the activation takes its pre-activation {pre}, not "
                    f"{name} itself ({target} is right with {fn}({pre}))"
                )
        except (ValueError, KeyError):
            continue
    return None


def from_the_next_step(checker: ProgramChecker, result: CheckResult, step: int | None) -> None:
    """Add to a "term … is missing" diagnosis that the term comes back from step t+1."""
    if step is None or not result.diagnosis or "missing" not in result.diagnosis:
        return
    target = checker.target(result.quantity)
    nxt = f"_{step + 1}"
    for eq, _term in checker.sd.terms.get(target, []):
        out = getattr(getattr(eq, "out", None), "name", "")
        if out.endswith(nxt) and not out.endswith("_total"):
            result.diagnosis += (
                f" — it is the gradient that comes back from step t+1 ({out}): back-"
                "propagation through time sums it into step t's (the += of each step "
                "but the last)"
            )
            return


def _same(checker: ProgramChecker, one: str, other: str) -> bool:
    """Whether two NumPy expressions over the program's names agree at its points."""
    from derive.formula.program_diagnose import all_close

    try:
        stmts = [G.parse_statement(f"u_one_ = {one}"), G.parse_statement(f"u_other_ = {other}")]
        reading = checker.reader.run(stmts)
        checker.expected_now = checker.expected()
        a = checker.user_values(reading, "u_one_")
        b = checker.user_values(reading, "u_other_")
    except (ValueError, KeyError, TypeError):
        return False
    return a is not None and b is not None and all_close(a, b)


def softmax_diagonal(checker: ProgramChecker, text: str) -> str | None:
    """The diagnosis if the line sets a softmax's input gradient to ``P ⊙ dP`` only."""
    target, _, rhs = text.partition(" = ")
    for eq in checker.sd.graph.spec.equations:
        expr = getattr(eq, "expr", None)
        if not (isinstance(expr, G.Call) and expr.fn == "softmax" and expr.args):
            continue
        scores = expr.args[0]
        if not isinstance(scores, G.Name) or f"d{scores.id}" != target:
            continue
        out = eq.target
        if _same(checker, rhs, f"{out} * d{out}"):
            return (
                f"the softmax Jacobian is cut to its diagonal: {target} = {out} ⊙ d{out} drops "
                f"the term −{out} ⊙ Σ({out} ⊙ d{out}) summed along the softmax's axis (each "
                "output of a softmax depends on every score it normalises)"
            )
    return None
