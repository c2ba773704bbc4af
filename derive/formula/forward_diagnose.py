"""What differs in a forward value or a loss: each explanation re-checked at the points.

Tried in order (``forward_check`` calls ``diagnose`` for a value that differs):

- a branch condition of the snippet (a comparison) with an ``abs`` missing or turned the
  other way: the snippet rerun with it fixed equals the program (``b = (e > d)`` for
  ``abs(e) > d``: errors below −d fall into no branch);
- a term missing or one too many: the difference is one of the program's values (a
  residual block's output without its input: the skip connection missing);
- a constant factor;
- one branch of the program's own piecewise value (an indicator ``𝟙[c]``): the snippet
  agrees with the program wherever ``c`` holds and differs only where it fails (or the
  other way round): that branch is wrong.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import sympy

from derive.core import numeric
from derive.core.nodes import Indicator
from derive.formula.program_judge import all_close, close
from derive.formula.program_points import ProgramPoints
from derive.formula.program_slips import rebuild
from derive.formula.program_snippet import ShapeError
from derive.render.text import text as show
from derive.spec import program_grammar as G

_FLIP: dict[G.CompareOp, G.CompareOp] = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}


def diagnose(
    checker: ProgramPoints,
    statements: list[G.Statement],
    name: str,
    target: Any,
    got: list[Any],
    want: list[Any],
) -> str | None:
    """What differs between the snippet's forward value ``name`` and the program's."""
    return (
        condition_slip(checker, statements, name, want)
        or _term(checker, target, got, want)
        or _factor(got, want)
        or _branch(checker, target, got, want)
    )


def _spelled(e: G.Expr) -> str:
    """A short spelling of a compared value (for the message)."""
    if isinstance(e, G.Name):
        return e.id
    if isinstance(e, G.Num):
        return str(e.value)
    if isinstance(e, G.Call) and len(e.args) == 1:
        return f"{e.fn}({_spelled(e.args[0])})"
    return "the compared value"


def _is_abs(e: G.Expr) -> bool:
    return isinstance(e, G.Call) and e.fn == "abs"


def condition_slip(
    checker: ProgramPoints, statements: list[G.Statement], name: str, want: list[Any]
) -> str | None:
    """A comparison of the snippet that, with an ``abs`` added or its direction turned,
    makes the value right: the branch condition differs (a forward value's, or a
    gradient's where the backward diagnosis found no usual mistake)."""
    for i, st in enumerate(statements):
        expr = _expr_of(st)
        if expr is None:
            continue
        for node in G.walk(expr):
            if not isinstance(node, G.Compare):
                continue
            for fixed, why in _variants(node):
                changed = list(statements)
                changed[i] = _with_expr(st, rebuild(expr, node, fixed))
                if _value_is(checker, changed, name, want):
                    if fixed.op != node.op and _is_where_condition(expr, node):
                        return _swapped(st.line, node)
                    return f"the branch condition differs: line {st.line}: {why}"
    return None


def _is_where_condition(expr: G.Expr, node: G.Compare) -> bool:
    """Whether ``node`` is the condition of a ``where(cond, a, b)`` of ``expr``."""
    return any(
        isinstance(n, G.Call) and n.fn == "where" and n.args and n.args[0] is node
        for n in G.walk(expr)
    )


def _swapped(line: int, node: G.Compare) -> str:
    """A ``where`` whose condition, turned, makes it right: its two branches are in each
    other's place. The same formula as the comparison turned (off ties), said in the terms
    the snippet is written in: the branches, then the comparison."""
    left, right = _spelled(node.left), _spelled(node.right)
    return (
        f"line {line}: the two branches of where({left} {node.op} {right}, …) are swapped "
        f"(the same formula as its comparison the other way round: "
        f"{left} {_FLIP[node.op]} {right})"
    )


def _variants(node: G.Compare) -> list[tuple[G.Compare, str]]:
    """The comparison with an ``abs`` added to one side, or turned the other way."""
    out: list[tuple[G.Compare, str]] = []
    for part, left in ((node.left, True), (node.right, False)):
        if _is_abs(part) or isinstance(part, G.Num):
            continue
        wrapped = G.Call("abs", (part,), None, node.line, node.column)
        fixed = replace(node, left=wrapped) if left else replace(node, right=wrapped)
        said = _spelled(part)
        out.append(
            (
                fixed,
                f"it compares {said} where the program compares abs({said}) (the abs is missing)",
            )
        )
    flipped = _FLIP.get(node.op)
    if flipped is not None:
        out.append((replace(node, op=flipped), "the comparison is the other way round"))
    return out


def _expr_of(st: G.Statement) -> G.Expr | None:
    """The right-hand side of an assignment, an update or a returned value."""
    if isinstance(st, G.Assign | G.Update):
        return st.expr
    if isinstance(st, G.Return):
        return st.value
    return None


def _with_expr(st: G.Statement, expr: G.Expr) -> G.Statement:
    """``st`` with its right-hand side replaced."""
    if isinstance(st, G.Assign | G.Update):
        return replace(st, expr=expr)
    assert isinstance(st, G.Return)
    return replace(st, value=expr)


def _value_is(
    checker: ProgramPoints, statements: list[G.Statement], name: str, want: list[Any]
) -> bool:
    """Whether the snippet's ``name``, rerun, equals ``want`` at every point."""
    try:
        reading = checker.reader.run(statements)
    except (ShapeError, Exception):  # noqa: BLE001 - a variant that does not build is no fix
        return False
    if name not in reading.values:
        return False
    got = checker.user_values(reading, name)
    return got is not None and all_close(got, want)


def _term(checker: ProgramPoints, target: Any, got: list[Any], want: list[Any]) -> str | None:
    """The difference is one of the program's values: a term missing (or one too many)."""
    g = checker.sd.graph
    rhs = next((eq.rhs for eq in g.equations if eq.out == target), None)
    added = set(rhs.args) if isinstance(rhs, sympy.MatAdd | sympy.Add) else set()
    candidates = [*g.inputs, *g.parameters, *(eq.out for eq in g.forward_equations)]
    for sym in candidates:
        if sym == target:
            continue
        values = [env[sym] for env in checker.points]
        short = [np.asarray(w, float) - np.asarray(a, float) for w, a in zip(want, got)]
        if all_close(short, values):
            skip = (
                " (the skip connection: the block adds its input)"
                if sym in added and sym in g.inputs
                else ""
            )
            return f"a term is missing: + {sym.name}{skip}"
        if all_close([-s for s in short], values):
            return f"a term too many: {sym.name}"
    return None


def _factor(got: list[Any], want: list[Any]) -> str | None:
    """The snippet is the program's value times a constant."""
    w0 = np.asarray(want[0], float).ravel()
    g0 = np.asarray(got[0], float).ravel()
    if w0.shape != g0.shape or not w0.size or np.max(np.abs(w0)) < 1e-12:
        return None
    k = int(np.argmax(np.abs(w0)))
    c = g0[k] / w0[k]
    if not np.isfinite(c) or close(c, 1.0):
        return None
    if all_close(got, [c * np.asarray(w, float) for w in want]):
        return f"a factor: the value is {c:.6g} times the program's"
    return None


def _branch(checker: ProgramPoints, target: Any, got: list[Any], want: list[Any]) -> str | None:
    """The snippet agrees with the program wherever one indicator's condition holds (or
    fails) and differs elsewhere: the other branch is wrong."""
    g = checker.sd.graph
    rhs = next((eq.rhs for eq in g.equations if eq.out == target), None)
    if rhs is None:
        return None
    masks = list(
        dict.fromkeys(n for n in sympy.preorder_traversal(rhs) if isinstance(n, Indicator))
    )
    for mask in masks:
        with np.errstate(all="ignore"):
            values = [np.asarray(numeric.evaluate(mask, env), float) for env in checker.points]
        for holds in (1.0, 0.0):
            agree, differ = True, False
            for m, a, b in zip(values, got, want):
                a, b = np.broadcast_to(np.asarray(a, float), m.shape), np.asarray(b, float)
                on = m == holds
                same = np.isclose(a, b, rtol=1e-7, atol=1e-9)
                agree = agree and bool(np.all(same[on]))
                differ = differ or bool(np.any(~same[~on]))
            if agree and differ:
                right, wrong = ("holds", "fails") if holds else ("fails", "holds")
                return (
                    f"one branch differs: where the condition {show(mask)} {right} the "
                    f"value is the program's; where it {wrong} it is not (that branch's "
                    "expression is wrong)"
                )
    return None
