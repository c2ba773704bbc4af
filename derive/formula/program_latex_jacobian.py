"""An equation of Jacobians over a program: ``∂y/∂x = 1 + ∂F/∂x``, ``∂b/∂a = mask/(1-p)``.

Such an equation is one of linear maps; over a forward program it is read applied to the
gradient of its numerator the program has (its upstream ``dout`` for the output, else the
stage ``dy``): the left-hand side becomes ``dx``, a side with Jacobians a chain from ``dy``
(``program_latex_chain``), a side without the derivative of an entrywise map written
entry by entry (``da = db ⊙ mask/(1-p)``) when the shapes say so (a number, or values of
``b``'s shape, no transpose or sum). Anything else is refused, as is a left-hand side that
is one entry by its indices or a Jacobian of an expression.
"""

from __future__ import annotations

import re
from typing import Any

from derive.core.program import is_scalar, shape_of
from derive.formula.ir import FormulaError
from derive.formula.program_check import ProgramChecker
from derive.formula.program_latex import JacobianSide
from derive.formula.program_latex_chain import Chain, has_jacobian, spelled

#: ``∂L/∂S^{ij}``: one entry of a gradient, by its indices (planckeon's index notation).
_ENTRY = re.compile(r"\\partial\s*\\?[A-Za-z]+\s*\^\s*\{\s*[a-su-z][a-z]{1,2}'?\s*\}")


def left_side_refusal(text: str) -> str:
    """Why a left-hand side is not read: one entry by its indices, or Jacobians."""
    if _ENTRY.search(text):
        return (
            f"the left-hand side {text.strip()[:40]!r} is one entry of a gradient by its "
            "indices: an entry-wise formula is not read over a program; write its matrix "
            "form (∂L/∂S = …)"
        )
    return (
        "cannot tell what the left-hand side names: it is written with Jacobians; "
        "write the gradient as ∂L/∂X or dX"
    )


def jacobian_equation(checker: ProgramChecker, lhs: Any, text: str) -> tuple[Any, Any]:
    """``∂y/∂x = …``, an equation of Jacobians (linear maps), read applied to the gradient
    of ``y`` the program has (its upstream ``dy``, or the stage ``dy``): the left-hand side
    is then ``dx`` and each right-hand side ``dy`` times it. Returns (the gradient's name
    node for the left-hand side, the ``dy`` node each side is multiplied by);
    FormulaError where the names are not the program's."""
    try:
        of, by = spelled(lhs[1]), spelled(lhs[2])
    except JacobianSide:
        raise FormulaError(left_side_refusal(text)) from None
    values = checker.sd.graph.values
    missing = [n for n in (of, by) if n not in values]
    if missing:
        raise FormulaError(
            f"the left-hand side ∂{of}/∂{by} is a Jacobian, read over the program's names: "
            f"{', '.join(missing)} not among them"
        )
    graph = checker.sd.graph
    given = graph.upstream if values[of] == graph.output else None
    if given is not None:  # the output's gradient is the given upstream (dout for b)
        applied = ("name", given.name, None, None)
    elif checker.reader.names.find("d" + of) is not None:
        applied = ("name", "d" + lhs[1][1], lhs[1][2], None)
    else:
        raise FormulaError(left_side_refusal(text))
    return ("name", "d" + lhs[2][1], lhs[2][2], None), applied


#: The note a Jacobian equation's verdict carries.
JACOBIAN_NOTE = (
    "read the equation of Jacobians as linear maps: both sides applied to the program's "
    "{grad}, the gradient of the numerator (vector-Jacobian products)"
)


def applied_to(checker: ProgramChecker, grad: Any, tree: Any, side: str) -> Any:
    """One side of ``∂b/∂a = …`` applied to ``db`` (``grad``): a side with Jacobians is a
    chain from ``db``; a side without is the derivative of an entrywise map written entry
    by entry (``∂b/∂a = mask/(1-p)``: ``da = db ⊙ mask/(1-p)``), which the shapes decide:
    it must be a number or of ``b``'s shape, anything else is not read."""
    if has_jacobian(tree):
        return ("amb", grad, tree)
    of = Chain(checker, []).gradient(spelled(grad))[0]
    found = [checker.reader.names.find(spelled(n)) for n in _names(tree)]
    if any(f is None for f in found):
        raise FormulaError(f"cannot read {side.strip()[:40]!r}: a name the program lacks")
    shapes = {shape_of(f[1]) for f in found if f is not None and not is_scalar(f[1])}
    if not shapes:  # a number: the map is that multiple of the identity
        return ("dot", grad, tree)
    if shapes == {shape_of(of)} and not _kinds(tree) & {"T", "diag", "sum", "ones"}:
        return ("had", grad, tree)
    raise FormulaError(
        f"cannot tell how {side.strip()[:40]!r} is the Jacobian ∂{of}/∂…: write it with "
        "Jacobians, as a number, or entry by entry with values of its shape"
    )


def _names(tree: Any) -> list[Any]:
    if not isinstance(tree, tuple) or not tree:
        return []
    if tree[0] == "name":
        return [tree]
    return [n for part in tree[1:] for n in _names(part)]


def _kinds(tree: Any) -> set[str]:
    """The node kinds of a side's tree (a transpose or a sum changes its shape)."""
    if not isinstance(tree, tuple) or not tree:
        return set()
    return {str(tree[0])}.union(*(_kinds(part) for part in tree[1:]))
