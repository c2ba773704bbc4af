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
from dataclasses import replace
from typing import Any

from derive.formula.answer import CheckResult
from derive.formula.ir import FormulaError
from derive.formula.program_check import ProgramChecker
from derive.formula.program_latex import Step
from derive.formula.program_latex_write import DiagRight, Missing, Writer
from derive.formula.program_snippet import ShapeError
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


def _right(checker: ProgramChecker, text: str) -> bool:
    """Whether a repaired line is right: its verdict only (a wrong repair is not itself
    diagnosed, which made each try of a wrong sum over time steps take a second)."""
    before = checker.verdict_only
    checker.verdict_only = True
    try:
        return checker.check(text).correct
    finally:
        checker.verdict_only = before


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
            if _right(checker, fixed):
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
    from derive.formula.program_judge import all_close

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


#: How many other names a diagnosis tries in place of one (each try is one check).
SWAP_BUDGET = 24


def swapped_name(checker: ProgramChecker, text: str) -> str | None:
    """The diagnosis if the line is right with one gradient read as another of the
    program's or of the user's own names (Goubasarian's ζ_3 where ζ_2 belongs)."""
    target, _, rhs = text.partition(" = ")
    names = checker.names
    gradients = [
        n for n in [*names.declared, *(st.lhs.name for st in checker.sd.cotangents)] if n != target
    ]
    g = checker.sd.graph
    gradients += [u.name for u in [g.upstream, *g.more_upstream.values()] if u is not None]
    tries = 0
    for word in dict.fromkeys(re.findall(r"\b[A-Za-z]\w*\b", rhs)):
        if word not in names.values and word not in names.declared:
            continue
        others = [n for n in gradients if n != word] if word in gradients else []
        for other in others:
            tries += 1
            if tries > SWAP_BUDGET:
                return None
            fixed = re.sub(rf"\b{re.escape(word)}\b", other, rhs)
            try:
                if not _right(checker, f"{target} = {fixed}"):
                    continue
            except (ValueError, KeyError, NotImplementedError):
                continue
            return f"{word} is used where {other} belongs (the formula is right with {other})"
    return None


def step_off(checker: ProgramChecker, writer: Writer, lhs: Any, rhs: Any) -> str | None:
    """The diagnosis if the formula is right with one time-indexed name one step off
    (``dz_t`` where ``dz_{t+1}`` belongs, ``h_t`` for ``h_{t-1}`` in a sum over time)."""
    stepped = {(n[1], n[2], n[3]) for n in _names(rhs) if isinstance(n[3], Step)}
    for base, sub, step in sorted(stepped, key=str):
        for by in (1, -1):
            moved = replace(step, offset=step.offset + by)
            tree = _moved(rhs, (base, sub, step), moved)
            try:
                fixed = f"{writer.name(lhs)} = {writer.write(tree)}"
                if _right(checker, fixed):
                    return (
                        f"{base}{'_' + sub if sub else ''} is one time step off: the formula "
                        f"is right with {_step_text(moved)} in place of {_step_text(step)}"
                    )
            except (FormulaError, Missing, DiagRight, ShapeError, NotImplementedError):
                continue
    return None


def _step_text(step: Step) -> str:
    more = "".join(
        f"{'+' if c > 0 else '-'}{'' if abs(c) == 1 else abs(c)}{v}" for v, c in step.more
    )
    return step.letter + more + (f"{step.offset:+d}" if step.offset else "")


def _names(node: Any) -> list[Any]:
    if not isinstance(node, tuple) or not node:
        return []
    if node[0] == "name":
        return [node]
    return [n for part in node[1:] for n in _names(part)]


def _moved(node: Any, which: tuple[Any, Any, Any], to: Step) -> Any:
    if not isinstance(node, tuple) or not node:
        return node
    if node[0] == "name":
        return ("name", node[1], node[2], to) if (node[1], node[2], node[3]) == which else node
    return (node[0], *(_moved(p, which, to) for p in node[1:]))


def diag_right(
    checker: ProgramChecker, writer: Writer, lhs: Any, rhs: Any, err: DiagRight, formula: str
) -> CheckResult:
    """``x diag(v)`` with a column ``x``: incorrect; the order named if diag(v) x is right."""
    target = writer.name(lhs)
    diagnosis, expected = None, ""
    for swapped in (_swap_diag(rhs, inner=True), _swap_diag(rhs, inner=False)):
        try:
            fixed = checker.check(f"{target} = {writer.write(swapped)}")
        except (FormulaError, DiagRight, Missing):
            continue
        expected = fixed.expected
        if fixed.correct:
            diagnosis = (
                "the order of a product: diag(v) must multiply from the left, "
                "diag(v) x = v ⊙ x; written on the right of the column it is not defined"
            )
            break
    shape = f"{err.left} (a column) times diag({err.vector}) on its right is not defined"
    return CheckResult("incorrect", target, expected, "shapes", diagnosis, shape, [], formula)


def _swap_diag(node: Any, inner: bool) -> Any:
    """The tree with each ``x diag(v)`` written ``diag(v) x`` (``inner``: ``P Q diag(v)``
    as ``P diag(v) Q``, the diagonal next to the factor it followed)."""
    if not isinstance(node, tuple) or not node or node[0] in ("name", "num"):
        return node
    if node[0] == "amb" and isinstance(node[2], tuple) and node[2][0] == "diag":
        left = _swap_diag(node[1], inner)
        if inner and left[0] == "amb":
            return ("amb", left[1], ("amb", node[2], left[2]))
        return ("amb", node[2], left)
    return (node[0], *(_swap_diag(p, inner) for p in node[1:]))
