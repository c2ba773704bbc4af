"""Unknown NumPy names tried in their common readings (``guesses``) against the network:
the verdict when the readings that fit agree, "cannot tell" (naming both) when they do
not. ``Checker.check`` calls ``guessed_check`` for NumPy formulas."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from derive.formula.answer import CheckResult
from derive.formula.guesses import readings
from derive.formula.ir import FormulaError
from derive.formula.letter_readings import LettersUnsure
from derive.formula.local_derivatives import local_derivative
from derive.formula.name_rewrites import UNNUMBERED, Reading, rewrite
from derive.formula.python_activations import PY_FUNCS
from derive.formula.python_helpers import function_readings
from derive.formula.python_nodes import UnknownName
from derive.formula.reading_doubts import generic_right_at_the_last, letters_sure
from derive.formula.returns import is_placeholder
from derive.formula.role_readings import (
    ROLE,
    in_output_form,
    role_readings,
    short_names_by_role,
    tied,
)
from derive.formula.user_names import with_guessed_names

#: At most this many readings are checked for one formula (each is a whole check): 32 is
#: a helper's two readings (``applySigmoid(x, True)``) times two names of four each.
MAX_TRIES = 32
#: At most this many unknown names are read by their spelling in one formula (Trask's
#: ``layer_1_delta = layer_2_delta.dot(weights_1_2.T) * relu2deriv(layer_1)`` has five, a
#: course's MLP backward (grad_logits, w_output, grad_tanh, h, inputs, grad_wh) six; the
#: readings tried stay bounded by ``MAX_TRIES``).
MAX_NAMES = 7


@dataclass
class Tried:
    """One combination of readings and its verdict (None: it could not be read)."""

    chosen: tuple[tuple[str, str, Reading], ...]  # (name, kind in words, reading)
    result: CheckResult | None
    error: FormulaError | None = None  # why it could not be read

    @property
    def fallback(self) -> bool:
        """Whether a sign-flipped reading is among its readings."""
        return any(r.fallback for _, _, r in self.chosen)

    @property
    def fits(self) -> bool:
        """Whether it was read and its shapes fit."""
        return self.result is not None and not self.result.shape_error

    def words(self) -> str:
        """The readings in words (``error`` as δ_2, …)."""
        return ", ".join(
            f"the names without a layer number as {r.words}"
            if n == UNNUMBERED
            else f"the value returned as {r.words}"
            if is_placeholder(n)
            else f"`{n}` as {r.words}"
            for n, _, r in self.chosen
        )


def _explore(
    formula: str,
    depth: int,
    attempt: Callable[[tuple[Any, ...]], CheckResult],
    chosen: tuple[Any, ...],
    activations: tuple[str, ...] = (),
) -> Iterator[Tried]:
    """Every combination of readings of the unknown names, each with its verdict."""
    try:
        tried = Tried(chosen, attempt(tuple(rewrite(n, r) for n, _, r in chosen)))
        yield tried
        if not tried.fits and len(chosen) < MAX_NAMES:  # l in o - l, read as a number
            for name, found in short_names_by_role(formula, depth, {n for n, _, _ in chosen}):
                pair = tied(name, formula, chosen)  # d_l2 read as δ_2: l2 is Z_2
                for r in found if pair is None else pair:
                    yield from _explore(
                        formula, depth, attempt, (*chosen, (name, ROLE, r)), activations
                    )
        return
    except UnknownName as err:
        unknown = err
    except FormulaError as other:
        yield Tried(chosen, None, other)
        return
    name = unknown.name
    if name == UNNUMBERED and re.search(r"(?<![\w.])delta(?!\w)", formula):
        name = "delta"  # network2.py's delta beside zs[-1]: read as a delta by its name
    kind, found = local_derivative(name, depth, formula) or readings(name, depth)  # d_a__d_z: ∂a/∂z
    if re.search(rf"(?<![\w.]){re.escape(name)}\s*\(", formula):  # called: a function
        kind, found = function_readings(name, formula)  # applySigmoid(x, True)
    if not found:  # by its role: the output minus it, its gradient's d_ name
        kind, found = ROLE, role_readings(name, formula, depth)
    found = in_output_form(name, formula, found, activations)  # h * (1 - h): h is A_1
    pair = tied(name, formula, chosen)  # d_l2 read as δ_2: l2 is Z_2
    if pair is not None:
        found = pair
        kind = kind or "a variable or its gradient, by the d-prefix"
    if found and found[0].words.startswith("δ") and _recurrence(formula, name):
        # error = W.T @ error * f'(Z): a delta from the next layer's, one layer down
        found = [Reading("delta", "δ_l (the loop's delta; δ_(l+1) on the right)")]
        found += [
            Reading(f"dZ{k + 1}", f"δ_{k} (δ_{k + 1} on the right)", lhs=f"dZ{k}")
            for k in range(1, depth)
        ]
    if not found or len(chosen) >= MAX_NAMES or any(n == name for n, _, _ in chosen):
        yield Tried(chosen, None, unknown)
        return
    for r in found:
        yield from _explore(formula, depth, attempt, (*chosen, (name, kind, r)), activations)


def _defines_itself(formula: str, t: Tried) -> bool:
    """Whether a name on the right is read as the very quantity the formula defines
    (``dZ = (1 - A**2) * top_diff`` with ``top_diff`` as δ_l: δ_l = f(δ_l)), which no
    author writes: a recurrence is read by its own reading (``_recurrence``). Only a wrong
    one is dropped (``dZ1 = dout``, right read as δ_1 = δ_1, stays a reading)."""
    if t.result is None or not t.result.quantity or t.result.correct:
        return False
    return any(
        r.words == t.result.quantity
        and not r.lhs
        and not is_placeholder(n)
        and n != UNNUMBERED
        and not _assigned(formula, n)
        for n, _, r in t.chosen
    )


def _assigned(formula: str, name: str) -> bool:
    """Whether the snippet assigns ``name`` (its value, not only a name it reads)."""
    word = re.escape(name)
    return (
        re.search(rf"(?m)^[ \t]*(?:self\.)?{word}\s*(?:\[[^\]\n]*\])?\s*[-+*/]?=(?!=)", formula)
        is not None
    )


def _recurrence(text: str, name: str) -> bool:
    """Whether a line assigns ``name`` from itself (``delta = W.T @ delta * sp``)."""
    word = re.escape(name)
    return re.search(rf"(?m)^\s*{word}\s*=[^=\n].*(?<![\w.]){word}(?!\w)", text) is not None


def guessed_check(
    formula: str,
    depth: int,
    attempt: Callable[[tuple[Any, ...], bool], CheckResult],
    activations: tuple[str, ...] = (),
) -> CheckResult:
    """The verdict on a NumPy formula whose names the reader does not all know.

    ``attempt(rewrites, verdict_only)`` checks the formula with its names rewritten. Each
    common reading of each unknown name is tried (at most ``MAX_TRIES``); a reading whose
    shapes do not fit is one the author did not mean. The readings that fit must agree:
    then that is the verdict, and the answer says which reading it used; if they
    disagree, the checker cannot tell (a FormulaError naming both). A sign-flipped
    reading (``error`` as minus the gradient) is only a fallback: it cannot make a formula
    right, only stop a formula right in that convention from being called wrong."""
    try:
        result = attempt((), False)
    except UnknownName as err:
        first = err
    else:
        generic_right_at_the_last(formula, result, depth, attempt, activations)
        return result
    tried: list[Tried] = []
    for t in _explore(formula, depth, lambda guessed: attempt(guessed, True), (), activations):
        tried.append(t)
        if len(tried) > MAX_TRIES:  # not every reading checked: no verdict on a part
            raise FormulaError(
                f"{first}; its names have more common readings than a check tries: declare "
                "them (--symbol NAME=QUANTITY)",
                first.column,
            ) from None
    plain = [t for t in tried if t.fits and not t.fallback and not _defines_itself(formula, t)]
    flipped = [t for t in tried if t.fits and t.fallback]
    right = [t for t in plain if t.result and t.result.correct]
    wrong = [t for t in plain if t.result and not t.result.correct]
    if right and wrong:
        raise _cannot_tell(_in_doubt(first.name, right[0], wrong[0]), right[0], wrong[0])
    unsure = [t.error for t in tried if isinstance(t.error, LettersUnsure)]
    if unsure and not right:  # right in one reading with a and z swapped: no verdict
        raise unsure[0]
    if wrong and any(t.result and t.result.correct for t in flipped):
        other = next(t for t in flipped if t.result and t.result.correct)
        raise _cannot_tell(_in_doubt(first.name, other, wrong[0]), other, wrong[0])
    chosen = (right or wrong or [])[:1]
    if not chosen:
        readable = [t for t in tried if t.result is not None and not t.fallback]
        if readable:  # a shape that fits no reading may be a name meaning another thing
            # (the source's w may be derive's Wᵀ): not a verdict
            raise FormulaError(
                f"{first}; no common reading of it fits the shapes (tried "
                + "; ".join(t.words() for t in readable[:3])
                + "): declare it, e.g. --symbol NAME=dZ_2",
                first.column,
            ) from None
        else:
            deepest = max(tried, key=lambda t: len(t.chosen))
            if deepest.chosen and isinstance(deepest.error, UnknownName):
                raise deepest.error  # the name no common reading explains
            raise first
    pick = chosen[0]
    result = attempt(tuple(rewrite(n, r) for n, _, r in pick.chosen), False)
    if not result.correct and any(n == UNNUMBERED for n, _, _ in pick.chosen):
        # dZ beside W2: numbered by the shapes, it is wrong; but a name without a number
        # may mean another thing (the author's Z an activation, dZ a summed delta)
        raise FormulaError(
            f"{first}; read with {pick.words()} it is incorrect ("
            f"{result.diagnosis or result.shape_error or 'not the derived formula'}), but a "
            "name without a layer number may mean another quantity: write the layer numbers "
            "or declare the names (--symbol NAME=QUANTITY)",
            first.column,
        )
    if result.correct:
        letters_sure(
            formula,
            pick.words(),
            pick.chosen[0][0],
            [rewrite(n, r) for n, _, r in pick.chosen],
            attempt,
        )
    with_guessed_names(result, [(n, r.text) for n, _, r in pick.chosen if not r.fallback])
    same = [t for t in (right or wrong) if t is not pick]
    result.notes[:0] = [  # in the order the names were met (the left-hand side first)
        f"read the names without a layer number as {r.words} (the layer whose shapes fit)"
        if name == UNNUMBERED
        else f"read the value returned as {r.words}"
        if is_placeholder(name)
        else f"read `{name}` as {r.words} ({kind}; declare it with --symbol "
        f"{name}=QUANTITY if it is another)"
        if kind == ROLE or r.words.endswith("the d-prefix ties them)")
        else f"read `{name}` as {r.words} ({kind}, from its spelling; write it out if it "
        "computes another)"
        if r.call
        else f"read `{name}` as {r.words} ({kind}, from its spelling; declare it with "
        f"--symbol {name}=QUANTITY if it is another)"
        for name, kind, r in pick.chosen
    ]
    if same:
        result.notes.append(
            f"the other readings that fit ({same[0].words()}) give the same verdict"
        )
    return result


def _in_doubt(first: str, right: Tried, wrong: Tried) -> str:
    """The one name read otherwise in the right and the wrong reading (botacademy's `h`
    as A_1 or Z_1 beside `delta_h`, `w_h_o`, `delta_o` read alike in both): the name to
    declare; else the first unknown name."""
    theirs = {n: r.words for n, _, r in wrong.chosen}
    differ = [n for n, _, r in right.chosen if theirs.get(n) != r.words]
    return differ[0] if len(differ) == 1 else first


def _cannot_tell(name: str, right: Tried, wrong: Tried) -> FormulaError:
    if is_placeholder(name):
        return FormulaError(
            "cannot tell what the value returned is: read as "
            f"{right.words().split(' as ', 1)[1]} it is correct, as "
            f"{wrong.words().split(' as ', 1)[1]} it is incorrect; assign it to the quantity "
            "it is (dZ2 = …) instead of returning it"
        )
    if name == UNNUMBERED:
        return FormulaError(
            "cannot tell: the layer of the names without a layer number is not shown; with "
            f"{right.words()} the formula is correct, with {wrong.words()} it is incorrect; "
            "write the layer numbers"
        )
    if any(n == name and r.call for n, _, r in right.chosen) and name in PY_FUNCS:
        return FormulaError(  # sigmoid(a1, deriv=True): the flag's meaning is the code's
            f"cannot tell: {name}(…, derivative=True) is called with an activation; read as "
            f"{right.words().split(' as ', 1)[1]} the formula is correct, as "
            f"{wrong.words().split(' as ', 1)[1]} it is incorrect; write what it computes "
            "(sigmoid_prime(Z1), A1 * (1 - A1), …) instead of the flag"
        )
    if any(n == name and r.call for n, _, r in right.chosen):  # a helper function
        return FormulaError(
            f"cannot tell: `{name}` is not a function derive knows; with {right.words()} the "
            f"formula is correct, with {wrong.words()} it is incorrect; write what it computes "
            "(sigmoid_prime(Z1), A1 * (1 - A1), …) instead of calling it"
        )
    return FormulaError(
        f"cannot tell: `{name}` is not a name derive knows; with {right.words()} the "
        f"formula is correct, with {wrong.words()} it is incorrect; declare what it is "
        f"(--symbol {name}=QUANTITY, e.g. dZ_2)"
    )
