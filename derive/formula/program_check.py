"""``derive check`` on a forward program: a hand-derived backward pass, judged.

The snippet is read by ``program_snippet`` (the program grammar, the program's builder);
each name it assigns that is a gradient (``dX``, ``dgamma``) or a named cotangent
(``dXhat``, ``dvar``) is compared with the staged derivation at two random points of
different sizes. The first wrong one is explained by ``program_diagnose`` (its shape, a
factor, a chain-rule term left out, a Jacobian forgotten, one or two of the usual slips).
"""

from __future__ import annotations

from typing import Any

from derive.core.program import is_scalar
from derive.core.staged import StagedDerivation
from derive.formula.answer import CheckResult
from derive.formula.ir import FormulaError
from derive.formula.numpy_bools import refuse_boolean_arithmetic
from derive.formula.program_diagnose import RTOL
from derive.formula.program_loop_diagnose import explain as explain_loop
from derive.formula.program_points import FIRST_SIZES, ProgramPoints
from derive.formula.program_snippet import ShapeError
from derive.formula.program_steps import Steps
from derive.formula.sample_loops import check_sample_loops, over_time
from derive.formula.window_check import has_loops
from derive.render.text import text as show
from derive.spec import program_grammar as G


class ProgramChecker(ProgramPoints):
    """Checks NumPy snippets against one derived program (``derive check PROGRAM …``)."""

    def check(self, formula: str) -> CheckResult:
        """The verdict on a snippet: every gradient or stage it assigns, compared; the
        first wrong one (in the snippet's order) diagnosed."""
        self.returned_as = None
        if has_loops(formula) and Steps.of(self.sd) is None and not over_time(formula):
            return check_sample_loops(self, formula, self.derived)  # over samples, classes
        statements = self.returned_value(self.reader.parse(formula))
        refuse_boolean_arithmetic(statements)  # what NumPy would not run (``numpy_bools``)
        self.expected_now = self.expected()
        try:
            reading = self.reader.run(statements)
        except ShapeError as err:
            return self._shape_failure(formula, statements, err)
        if self.returned_as and is_scalar(reading.values.get(self.returned_as[1], 0)):
            raise FormulaError(
                f"line {self.returned_as[0]} returns a scalar, not the gradient "
                f"{self.returned_as[1]} (a loss?): the checker judges a backward pass"
            )
        checked = [(n, self.target(n)) for n in reading.order]
        checked = [(n, s) for n, s in checked if s is not None and n in reading.values]
        handed_back = [(n, s) for n, s in checked if n in reading.returned]
        helpers = [(n, s) for n, s in checked if handed_back and (n, s) not in handed_back]
        if handed_back:  # a function's own helper names (ddev, dmean) are not its answer
            checked = handed_back
        if not checked:
            raise FormulaError(
                "the snippet assigns no gradient of this program; name one of "
                + ", ".join(f"d{n}" for n in self.sd.gradients)
                + (
                    " or a stage: " + ", ".join(st.lhs.name for st in self.sd.cotangents)
                    if self.sd.cotangents
                    else ""
                )
            )
        notes = _one_reading_note(reading.notes)
        if self.returned_as:
            line, name = self.returned_as
            notes.append(f"read the value line {line} returns as {name}")
        for n, s in checked:
            shown = self.label(s)
            if n != shown and f"read {n} as {shown}" not in notes:
                notes.append(f"read {n} as {shown}")
        wrong = [(n, s) for n, s in checked if not self.same(reading, n, s)]
        labels = ", ".join(dict.fromkeys(self.label(s) for _, s in checked))
        if not wrong:
            first = checked[-1][1]
            return self._result("correct", labels, first, formula, None, None, notes)
        name, sym = wrong[0]
        for n, s in helpers:  # where the slip may be, if the helper means the stage
            if not self.same(reading, n, s):
                notes.append(
                    f"line {reading.lines[n]}'s {n} differs from the derivation's "
                    f"{self.label(s)}: if it means that stage, the slip is there or before"
                )
                break
        if len(wrong) > 1:
            rest = ", ".join(self.label(s) for _, s in wrong[1:])
            notes.append(f"also wrong: {rest} (line {reading.lines[name]}'s {name} comes first)")
        said = explain_loop(self, formula, reading, name, sym) if reading.defs else None
        if said is not None:  # a BPTT loop's own mistake, in time-step words
            return self._result("incorrect", labels, sym, formula, said, None, notes)
        shape, diagnosis = self.diagnosis.diagnose(statements, reading, name, sym)
        return self._result("incorrect", labels, sym, formula, diagnosis, shape, notes)

    def returned_value(self, statements: list[G.Statement]) -> list[G.Statement]:
        """``return np.sign(p - a) / m``, an unnamed value handed back, read as the
        program's one gradient (a loss's backward returns the gradient of its input);
        with several gradients it cannot tell which, and says so."""
        at = [k for k, st in enumerate(statements) if isinstance(st, G.Return) and st.value]
        if not at:
            return statements
        st = statements[at[-1]]
        assert isinstance(st, G.Return) and st.value is not None
        if len(self.sd.gradients) != 1:
            if any(
                isinstance(s, G.Assign | G.Update) and self.target(s.target) for s in statements
            ):
                return statements
            names = ", ".join(f"d{n}" for n in self.sd.gradients)
            raise FormulaError(
                f"line {st.line}: cannot tell which gradient the returned value is "
                f"(the program has {names}): assign it to one of them"
            )
        name = f"d{next(iter(self.sd.gradients))}"
        out = list(statements)
        out[at[-1]] = G.Assign(name, st.value, st.line, st.text)
        self.returned_as = (st.line, name)
        return out

    def _result(
        self,
        verdict: str,
        labels: str,
        sym: Any,
        formula: str,
        diagnosis: str | None,
        shape: str | None,
        notes: list[str],
    ) -> CheckResult:
        sizes = ", ".join(
            f"{s}={FIRST_SIZES[0] + k}/{FIRST_SIZES[1] + k}"
            for k, s in enumerate(self.sd.graph.sizes)
        )
        method = (
            f"numeric: the snippet and the derivation at {len(self.points)} random points"
            + (f" ({sizes})" if sizes else "")
            + f", rtol {RTOL:g}"
        )
        return CheckResult(
            verdict, labels, self.derived(sym), method, diagnosis, shape, notes, formula
        )

    def derived(self, sym: Any) -> str:
        """The derived formula of ``sym`` as ``derive show`` prints it (the closed form
        of a gradient where one was found, else its staged form)."""
        wrt = getattr(sym, "wrt", None)
        rhs = None
        if wrt is not None:
            closed = self.sd.compact.get(wrt.name)
            rhs = closed.rhs if closed is not None else self.sd.gradients[wrt.name].rhs
        else:
            rhs = next(st.rhs for st in self.sd.cotangents if st.lhs == sym)
        return f"{self.label(sym)} = {show(rhs)}"

    # ------------------------------------------------------------------ diagnose

    def _shape_failure(
        self, formula: str, statements: list[G.Statement], err: ShapeError
    ) -> CheckResult:
        fixed = self.diagnosis.search(statements, None, None)
        target = next(
            (
                s
                for st in statements
                if isinstance(st, G.Assign | G.Update)
                for s in [self.target(st.target)]
                if s is not None
            ),
            None,
        )
        if target is None:
            raise FormulaError(f"line {err.line}: {err}") from None
        return self._result(
            "incorrect", self.label(target), target, formula, fixed, f"line {err.line}: {err}", []
        )


def _one_reading_note(notes: list[str]) -> list[str]:
    """``read h2 as the program's h_2`` notes gathered into one line."""
    prefix, middle = "read ", " as the program's "
    pairs = [n[len(prefix) :].split(middle) for n in notes if n.startswith(prefix) and middle in n]
    rest = [n for n in notes if not (n.startswith(prefix) and middle in n)]
    if len(pairs) < 2:
        return list(notes)
    mine = ", ".join(p[0] for p in pairs)
    theirs = ", ".join(p[1] for p in pairs)
    return [f"read {mine} as the program's {theirs}", *rest]


def check_program(
    sd: StagedDerivation, formula: str, symbols: dict[str, str] | None = None
) -> CheckResult:
    """Check one NumPy snippet against a derived program."""
    return ProgramChecker(sd, symbols).check(formula)
