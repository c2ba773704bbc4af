"""``derive check`` on a forward program: a hand-derived backward pass, judged.

The snippet is read by ``program_snippet`` (the program grammar, the program's builder);
each name it assigns that is a gradient (``dX``, ``dgamma``) or a named cotangent
(``dXhat``, ``dvar``) is compared with the staged derivation at two random points of
different sizes. The first wrong one is explained by ``program_diagnose`` (its shape, a
factor, a chain-rule term left out, a Jacobian forgotten, one or two of the usual slips).
"""

from __future__ import annotations

import re
from typing import Any

from derive.core.program import is_scalar
from derive.core.staged import StagedDerivation
from derive.formula.answer import CheckResult
from derive.formula.forward_check import judge as judge_forward
from derive.formula.forward_diagnose import condition_slip
from derive.formula.ir import FormulaError
from derive.formula.numpy_bools import refuse_boolean_arithmetic
from derive.formula.one_d_values import as_row, one_d_names
from derive.formula.program_diagnose import NOTHING
from derive.formula.program_judge import RTOL, all_close
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

    #: The snippet's names that hold a 1-d reduction (set per check).
    one_d: set[str] = set()
    #: Set while a diagnosis tries repaired lines (``program_latex_diagnose``): only each
    #: try's verdict is read, so a wrong try is not itself diagnosed (a search per try made
    #: one wrong sum over time steps take seconds).
    verdict_only: bool = False

    def check(self, formula: str) -> CheckResult:
        """The verdict on a snippet: every gradient or stage it assigns, compared; the
        first wrong one (in the snippet's order) diagnosed."""
        self.returned_as = None
        if has_loops(formula) and Steps.of(self.sd) is None and not over_time(formula):
            return check_sample_loops(self, formula, self.derived)  # over samples, classes
        parsed = self.reader.parse(formula)
        forward = judge_forward(self, formula, parsed)  # a loss or a forward value
        if forward is not None:
            return forward
        statements = self.returned_value(parsed)
        refuse_boolean_arithmetic(statements)  # what NumPy would not run (``numpy_bools``)
        self.one_d = one_d_names(statements)
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
            up = self.sd.graph.upstream
            passed = not any(isinstance(s, G.Return) for s in parsed) and up is not None
            notes.append(
                f"read line {line}'s {up.name if up is not None else ''} (the upstream's own "
                f"variable, assigned last: the value passed back) as {name}"
                if passed
                else f"read the value line {line} returns as {name}"
            )
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
        if self.verdict_only:
            return self._result("incorrect", labels, sym, formula, None, None, notes)
        said = explain_loop(self, formula, reading, name, sym) if reading.defs else None
        if said is not None:  # a BPTT loop's own mistake, in time-step words
            return self._result("incorrect", labels, sym, formula, said, None, notes)
        shape, diagnosis = self.diagnosis.diagnose(statements, reading, name, sym)
        if diagnosis == NOTHING and shape is None:  # np.where(r <= d, …): an abs missing
            want = [v[sym] for v in self.expected_now]
            diagnosis = condition_slip(self, statements, name, want) or diagnosis
        return self._result("incorrect", labels, sym, formula, diagnosis, shape, notes)

    def same(self, reading: Any, name: str, sym: Any) -> bool:
        """Equal at every point; a 1-d reduction (``np.sum(x, axis=1)``) compared as the
        row it is where the program's value is a row (``one_d_values``)."""
        if super().same(reading, name, sym):
            return True
        if name not in self.one_d:
            return False
        got = self.user_values(reading, name)
        want = [v[sym] for v in self.expected_now]
        rows = as_row(got, want) if got is not None else None
        return rows is not None and all_close(rows, want)

    def returned_value(self, statements: list[G.Statement]) -> list[G.Statement]:
        """``return np.sign(p - a) / m``, an unnamed value handed back, read as the
        program's one gradient (a loss's backward returns the gradient of its input), or
        the one gradient the snippet does not assign itself; else it cannot tell which,
        and says so."""
        statements = [self._named_return(st) for st in self._passed_back(statements)]
        at = [k for k, st in enumerate(statements) if isinstance(st, G.Return) and st.value]
        if not at:
            return statements
        st = statements[at[-1]]
        assert isinstance(st, G.Return) and st.value is not None
        left = list(self.sd.gradients)
        if len(left) != 1:
            assigned = {
                self.target(s.target) for s in statements if isinstance(s, G.Assign | G.Update)
            } - {None}
            # a layer's backward stores dW, db (self.dW = …) and returns dx: the returned
            # value is the one gradient the snippet does not assign
            left = [n for n, g in self.sd.gradients.items() if g.lhs not in assigned]
            if assigned and len(left) != 1:
                return statements
            inputs = [n for n in self.sd.gradients if n in {x.name for x in self.sd.graph.inputs}]
            if not assigned and self.sd.graph.upstream is not None and len(inputs) == 1:
                left = inputs  # a layer's backward(dout) returns the gradient of its input
        if len(left) != 1:
            names = ", ".join(f"d{n}" for n in self.sd.gradients)
            raise FormulaError(
                f"line {st.line}: cannot tell which gradient the returned value is "
                f"(the program has {names}): assign it to one of them"
            )
        name = f"d{left[0]}"
        out = list(statements)
        out[at[-1]] = G.Assign(name, st.value, st.line, st.text)
        self.returned_as = (st.line, name)
        return out

    def _named_return(self, st: G.Statement) -> G.Statement:
        """``return grad``: a name that is no gradient of the program, handed back as a
        value (a gradient's own name, ``return dx``, is judged by that name)."""
        if not isinstance(st, G.Return) or st.value is not None:
            return st
        one = re.fullmatch(r"return\s+([A-Za-z_]\w*)", st.text.strip())
        if one is None or self.target(one.group(1)) is not None:
            return st
        return G.Return(st.line, st.text, G.Name(one.group(1), st.line))

    def _passed_back(self, statements: list[G.Statement]) -> list[G.Statement]:
        """``accum_grad = …`` last, with no ``return``: a layer's backward that passes the
        gradient back in the upstream's own variable (ML-From-Scratch's ``return
        accum_grad``) hands that value back."""
        up = self.sd.graph.upstream
        last = statements[-1] if statements else None
        if (
            up is None
            or not isinstance(last, G.Assign)
            or last.target != up.name
            or any(isinstance(s, G.Return) for s in statements)
        ):
            return statements
        value = G.Name(up.name, last.line)
        return [*statements, G.Return(last.line, f"return {up.name}", value)]

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
        fixed = None if self.verdict_only else self.diagnosis.search(statements, None, None)
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
