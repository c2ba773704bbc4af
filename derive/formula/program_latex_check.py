"""``derive check`` of a LaTeX formula on a forward program (an unrolled RNN, attention).

``program_latex`` reads the formula into trees with symbolic time steps; here each tree
is written out as NumPy lines over the program's own names, one per step ``t = k`` at
which every name it uses exists (``\\sum_{t=1}^T`` becomes the sum over the program's
steps), and each line is judged by the program checker as a snippet would be. A product
with ``diag(v)`` is ``v ⊙ ·`` on the side its shapes allow; a diagonal matrix on the
right of a column vector is a product that is not defined, and is said so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from derive.formula.answer import CheckResult
from derive.formula.ir import FormulaError
from derive.formula.program_check import ProgramChecker
from derive.formula.program_latex import JacobianSide, equations, read_side
from derive.formula.program_latex_chain import chains, judge_chain, unread_result
from derive.formula.program_latex_diagnose import (
    activation_for_pre_activation,
    diag_right,
    from_the_next_step,
    softmax_diagonal,
    step_off,
    swapped_name,
)
from derive.formula.program_latex_index import check_entrywise, is_entrywise
from derive.formula.program_latex_jacobian import (
    JACOBIAN_NOTE,
    applied_to,
    jacobian_equation,
    left_side_refusal,
)
from derive.formula.program_latex_names import Defined
from derive.formula.program_latex_write import (
    DiagRight,
    Missing,
    Writer,
    free,
    names_nothing,
    steps,
)
from derive.formula.program_snippet import ShapeError
from derive.spec import program_grammar as G


def _unexplained(diagnosis: str | None) -> str | None:
    """The program checker's diagnosis where it names a mistake (None where it found none,
    so that the names one step off or swapped are tried next)."""
    if diagnosis is None or "no single usual mistake" in diagnosis:
        return None
    return diagnosis


def check_latex(checker: ProgramChecker, formula: str, context: Sequence[str] = ()) -> CheckResult:
    """The verdict on a LaTeX formula over a program's names (see the module docstring).
    ``context``: the earlier formulas of the same page, whose equations may name their
    results (``… = \\zeta_1``) for this one to use (``program_latex_names``)."""
    if is_entrywise(formula):  # ∂L/∂S^{ij} = …: index notation, judged entry by entry
        return check_entrywise(checker, formula)
    words = tuple(w for w in checker.reader.names.values if len(w) > 1 and w.isalpha())
    defined = Defined(checker, words)
    try:
        defined.take_all(context)
        result = _check(checker, formula, words, defined)
    finally:
        defined.undo()
    return result


def _check(
    checker: ProgramChecker, formula: str, words: tuple[str, ...], defined: Defined
) -> CheckResult:
    """check_latex with the names defined so far declared (``defined``)."""
    last = steps(checker)
    skipped: list[str] = []
    named: list[str] = []
    jacobian_notes: list[str] = []
    lines: list[tuple[str, int | None, Any, Any]] = []
    for sides in equations(formula):
        try:
            lhs = read_side(sides[0], words)
        except JacobianSide:
            lhs = ("jac",)
        applied = None  # ∂y/∂x = …: both sides applied to dy
        if lhs[0] == "jac" and len(lhs) == 3:
            lhs, applied = jacobian_equation(checker, lhs, sides[0])
        elif lhs[0] == "jac":
            raise FormulaError(left_side_refusal(sides[0])) from None
        if lhs[0] != "name":
            raise FormulaError(
                f"the left-hand side {sides[0].strip()!r} names no gradient: write dX or ∂L/∂X"
            )
        for number, side in enumerate(sides[1:], 2):
            try:
                tree = read_side(side, words)
            except JacobianSide as why:
                skipped.append(f"{side.strip()[:40]}… ({why})")
                continue
            if applied is not None:  # ∂b/∂a = M: M's Jacobians carry db; else entrywise
                tree = applied_to(checker, applied, tree, side)
                jacobian_notes.append(JACOBIAN_NOTE.format(grad=applied[1]))
            if number == len(sides) > 2 and tree[0] == "name" and names_nothing(checker, tree):
                named.append(side.strip())  # … = \zeta_1: the formula names its result
                continue
            lines.append((side, None, lhs, tree))
        defined.take(sides)  # … = \zeta_1: read so by the equations after this one
    lines = chains(checker, lines, skipped)
    jacobian_notes = list(dict.fromkeys(jacobian_notes))
    unread_result(formula, lines, named, skipped)
    if not lines and skipped and all("does not define" in s for s in skipped):
        raise FormulaError(
            "cannot tell: every right-hand side is "
            + skipped[0].split("… (", 1)[-1].rstrip(")")
            + "; its gradients start from the program's given ones (write the formula over "
            "the program's names)"
        )
    if not lines:
        raise FormulaError(
            "cannot tell: every right-hand side is a chain-rule product of Jacobians "
            "(∂h_{t+1}/∂h_t, prod(…)) with no matrix meaning here"
            + (f" ({skipped[0].split('… (', 1)[-1]}" if skipped else "")
            + "; write the gradient as matrices, e.g. dW = Σ_t dh_t h_{t-1}ᵀ"
        )
    results: list[tuple[CheckResult, str]] = []
    for side, chain, lhs, rhs in lines:
        if chain is not None:  # a chain-rule product, its value built by program_latex_chain
            results.append(
                (judge_chain(checker, Writer(checker, last, None).name(lhs), chain), side)
            )
            if not results[-1][0].correct:
                break
            continue
        at_t = free(lhs) or free(rhs)
        ks: list[int | None] = list(range(1, last + 1)) if at_t else [None]
        judged = []
        for k in ks:
            writer = Writer(checker, last, k)
            try:
                text = f"{writer.name(lhs)} = {writer.write(rhs)}"
                if checker.target(writer.name(lhs)) is None:
                    raise Missing(writer.name(lhs))
            except (ShapeError, G.EquationError) as err:
                raise FormulaError(f"cannot read {side.strip()!r}: {err}") from None
            except FormulaError as err:  # its "line N" is the NumPy written here: not theirs
                said = re.sub(r"^line \d+: ", "", str(err))
                raise FormulaError(f"cannot read {side.strip()!r}: {said}") from None
            except Missing as missing:
                if at_t:
                    continue
                raise FormulaError(
                    f"{missing} is not a name of this program: declare what it stands for "
                    f"(--symbol {missing}=EXPR over the program's names)"
                ) from None
            except DiagRight as err:
                results.append((diag_right(checker, writer, lhs, rhs, err, formula), side))
                judged.append(k)
                break
            try:
                result = checker.check(text)
            except ShapeError as err:
                raise FormulaError(str(err)) from None
            except FormulaError as err:  # its "line N" is the NumPy written here: not theirs
                said = re.sub(r"^line \d+: ", "", str(err))
                raise FormulaError(f"cannot read {side.strip()!r}: {said}") from None
            except NotImplementedError as err:  # W W read by SymPy as a MatPow
                raise FormulaError(f"cannot evaluate {side.strip()!r}: {err}") from None
            if not result.correct:
                result.diagnosis = (
                    activation_for_pre_activation(checker, text)
                    or softmax_diagonal(checker, text)
                    or _unexplained(result.diagnosis)
                    or step_off(checker, writer, lhs, rhs)
                    or swapped_name(checker, text)
                    or result.diagnosis
                )
                from_the_next_step(checker, result, k)
            result.notes[:0] = [n for n in writer.loose if n not in result.notes]
            results.append((result, f"{side.strip()} at t = {k}" if at_t else side))
            judged.append(k)
            if not result.correct:
                break  # the first wrong step is the one explained
        if at_t and not judged:
            raise FormulaError("no step t at which every name of the formula exists")
        if any(not r.correct for r, _ in results):
            break
    wrong = [(r, s) for r, s in results if not r.correct]
    result, where = wrong[0] if wrong else results[-1]
    result.formula = formula
    for attr in ("diagnosis", "shape_error"):  # the NumPy line written here is no line of theirs
        said = getattr(result, attr)
        if said:
            setattr(result, attr, re.sub(r"^line \d+: |(?<=: )line \d+: ", "", said))
    if len(results) > 1 or wrong:
        result.notes.append(
            f"judged {len(results)} side(s) and step(s) as NumPy over the program's names"
            + (f"; wrong: {where.strip()[:60]}" if wrong else "")
        )
    if (defined_note := defined.note(formula)) is not None:
        result.notes.append(defined_note)
    if named:
        result.notes.append(
            "read " + ", ".join(named) + " as the formula's own name for its value (not judged)"
        )
    if skipped:
        result.notes.append("not judged (products of Jacobians): " + "; ".join(skipped))
    result.notes.extend(jacobian_notes)
    return result
