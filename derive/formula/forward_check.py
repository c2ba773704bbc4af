"""A forward pass or a loss, judged: the value a snippet computes, against the program's.

Students write (and get wrong) the forward too: a Huber loss whose linear branch lost its
``abs``, a residual block that returns ``F(x)`` without the skip. A NumPy snippet that
assigns no gradient and no stage of the program is read as a forward computation when

- it returns a value: a scalar is the program's loss (``L``), an array its forward output
  (the ``output`` the spec names, else its last equation); or
- it assigns one of the program's forward names (``huber_loss = …``, ``out = …``) or the
  loss by a usual name (``loss``, ``cost``, ``J``).

The value is compared with the program's at the checker's own random points and
tolerance (``program_points``), with the verdicts of a backward pass: CORRECT, INCORRECT
with what differs (``forward_diagnose``), or an error. The answer says that it judged a
forward value. An array returned where the program also has a gradient of that shape is
read as the forward value only when it equals it, or when a forward mistake explains it;
otherwise it is left to the backward reading (``program_check``) as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from derive.core.graph import LOSS
from derive.core.program import is_scalar
from derive.formula.answer import CheckResult
from derive.formula.forward_diagnose import diagnose
from derive.formula.ir import FormulaError
from derive.formula.program_judge import RTOL, all_close
from derive.formula.program_points import FIRST_SIZES, ProgramPoints
from derive.formula.program_snippet import Reading, ShapeError, key
from derive.spec import program_grammar as G

#: The name a returned value is bound to while it is judged (no program or snippet name).
RETURNED = "<returned>"
#: Names of the loss itself when the program does not name it (``loss = …``).
LOSS_NAMES = frozenset({"loss", "cost", "l", "j", "objective"})


@dataclass(frozen=True)
class Judged:
    """What is judged: the snippet's name, the program's symbol and its label, the line,
    whether the value was returned (unnamed), and how the target was chosen."""

    name: str
    target: Any
    label: str
    line: int
    returned: bool
    how: str


def judge(
    checker: ProgramPoints, formula: str, statements: list[G.Statement]
) -> CheckResult | None:
    """The verdict on a forward snippet; None when the snippet is not one (it assigns a
    gradient or a stage, or names no forward value), or when an array it returns may be
    the gradient and no forward reading settles it."""
    assigned = [st.target for st in statements if isinstance(st, G.Assign | G.Update | G.SetItem)]
    if any(checker.target(n) is not None for n in assigned):
        return None
    statements, returned = _returned(statements)
    try:
        reading = checker.reader.run(statements)
    except ShapeError:
        return None  # the backward reading reports it, with its line
    judged = _judged(checker, reading, returned, assigned)
    if judged is None:
        return None
    checker.expected_now = checker.expected()
    got = checker.user_values(reading, judged.name)
    want = [env[judged.target] for env in checker.points]
    if got is not None and not all(_same_shape(a, b) for a, b in zip(got, want)):
        return None  # not the forward value's shape: not a forward reading
    if got is not None and all_close(got, want):
        return _result(checker, "correct", judged, None, formula, reading)
    if got is None:
        raise FormulaError(
            f"line {judged.line}: the value cannot be evaluated at the checker's points "
            f"(compared with the program's {judged.label})"
        )
    said = diagnose(checker, statements, judged.name, judged.target, got, want)
    grads = [st.lhs for st in checker.sd.gradients.values()]
    first = checker.expected_now[0]
    # an array returned may be the gradient: read as the forward only when a forward
    # mistake explains it and it is no gradient either
    if judged.returned and any(_same_shape(got[0], first[g]) for g in grads):  # noqa: SIM102
        if said is None or any(all_close(got, [v[g] for v in checker.expected_now]) for g in grads):
            return None
    said = (
        said
        or f"the value differs from the program's {judged.label}: no usual forward slip explains it"
    )
    return _result(checker, "incorrect", judged, said, formula, reading)


def _same_shape(a: Any, b: Any) -> bool:
    return bool(np.shape(np.atleast_2d(a)) == np.shape(np.atleast_2d(b)))


def _returned(statements: list[G.Statement]) -> tuple[list[G.Statement], int | None]:
    """The statements with the last ``return VALUE`` (or ``return name``) bound to
    ``RETURNED``, and its line."""
    for k in range(len(statements) - 1, -1, -1):
        st = statements[k]
        if not isinstance(st, G.Return):
            continue
        value = st.value
        one = re.fullmatch(r"return\s+([A-Za-z_]\w*)\s*", st.text.strip())
        if value is None and one is not None:
            value = G.Name(one.group(1), st.line)
        if value is None:
            return statements, None
        out = list(statements)
        out[k] = G.Assign(RETURNED, value, st.line, st.text)
        return out, st.line
    return statements, None


def _judged(
    checker: ProgramPoints, reading: Reading, returned: int | None, assigned: list[str]
) -> Judged | None:
    """The forward value the snippet computes, and the program's value it must equal."""
    g = checker.sd.graph
    if returned is not None and RETURNED in reading.values:
        value = reading.values[RETURNED]
        if is_scalar(value):
            if g.loss is not None:
                return Judged(RETURNED, LOSS, "loss L", returned, True, "a scalar: the loss")
            if g.output is not None and is_scalar(g.output):
                return Judged(RETURNED, g.output, str(g.output), returned, True, "its output")
            return None
        if g.output is None or is_scalar(g.output) or g.output == LOSS:
            return None
        return Judged(
            RETURNED, g.output, str(g.output.name), returned, True, "the forward's output"
        )
    outs = {eq.out.name: eq.out for eq in g.forward_equations if hasattr(eq.out, "name")}
    for name in reversed(assigned):
        if name not in reading.values:
            continue
        found = checker.names.find(name)
        if found is not None and found[0] in outs:
            sym = outs[found[0]]
            return Judged(name, sym, found[0], reading.lines[name], False, "its name")
        if found is None and key(name) in LOSS_NAMES and g.loss is not None:
            return Judged(name, LOSS, "loss L", reading.lines[name], False, "its name")
    return None


def _result(
    checker: ProgramPoints,
    verdict: str,
    judged: Judged,
    said: str | None,
    formula: str,
    reading: Reading,
) -> CheckResult:
    """The answer: the forward value judged, how it was chosen, the program's own line."""
    spec = checker.sd.graph.spec
    if judged.target == LOSS:
        derived = f"L = {spec.loss.text}" if spec.loss is not None else "L"
    else:
        text = next((a.text for a in spec.equations if a.target == judged.label), None)
        derived = text if text is not None else judged.label
    what = (
        f"the value line {judged.line} returns ({judged.how})"
        if judged.returned
        else f"line {judged.line}'s {judged.name} ({judged.how})"
    )
    notes = [
        f"judged a forward value, not a gradient: {what}, "
        f"compared with the program's {judged.label}"
    ]
    notes += [n for n in reading.notes if n not in notes]
    sizes = ", ".join(
        f"{s}={FIRST_SIZES[0] + k}/{FIRST_SIZES[1] + k}"
        for k, s in enumerate(checker.sd.graph.sizes)
    )
    method = (
        f"numeric: the snippet and the program's forward at {len(checker.points)} random "
        f"points" + (f" ({sizes})" if sizes else "") + f", rtol {RTOL:g}"
    )
    label = f"{judged.label} (forward)"
    return CheckResult(verdict, label, derived, method, said, None, notes, formula)
