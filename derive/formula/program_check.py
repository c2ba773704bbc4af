"""``derive check`` on a forward program: a hand-derived backward pass, judged.

The snippet is read by ``program_snippet`` (the program grammar, the program's builder);
each name it assigns that is a gradient (``dX``, ``dgamma``) or a named cotangent
(``dXhat``, ``dvar``) is compared with the staged derivation at two random points of
different sizes. The first wrong one is explained by ``program_diagnose`` (its shape, a
factor, a chain-rule term left out, a Jacobian forgotten, one or two of the usual slips).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy

from derive.core import numeric
from derive.core.interpret import Memo
from derive.core.program import cotangent_name, is_scalar, random_point
from derive.core.staged import StagedDerivation
from derive.formula.answer import CheckResult
from derive.formula.ir import FormulaError
from derive.formula.numpy_bools import refuse_boolean_arithmetic
from derive.formula.program_diagnose import RTOL, Diagnosis, all_close
from derive.formula.program_snippet import Names, Reader, Reading, ShapeError, key
from derive.render.text import text as show
from derive.spec import program_grammar as G

#: Sizes of the two random points (distinct, so a factor N or a transpose shows).
FIRST_SIZES = (3, 5)


class ProgramChecker:
    """Checks NumPy snippets against one derived program (``derive check PROGRAM …``)."""

    def __init__(self, sd: StagedDerivation, symbols: dict[str, str] | None = None) -> None:
        self.sd = sd
        self.names = Names.of(sd)
        self.reader = Reader(sd, self.names)
        self.targets = self._targets()
        for name, text in (symbols or {}).items():
            self.names.declared[name] = self._declared(name, text)
        self.points = [self._point(i) for i in range(len(FIRST_SIZES))]
        self.expected_now: list[dict[Any, Any]] = []
        #: Which stages each stage's right-hand side (and its terms) reads.
        self.reads: dict[Any, frozenset[Any]] = {}
        #: Each stage's place in that order, and the stages each judged value needs.
        self.place: dict[Any, int] = {}
        self.needs: dict[Any, frozenset[Any]] = {}
        #: Stages recomputed by ``dropped`` (the diagnosis' bound on its search).
        self.recomputed = 0
        self.diagnosis = Diagnosis(self)
        #: (line, gradient) of a returned unnamed value read as the program's one gradient
        self.returned_as: tuple[int, str] | None = None

    # ------------------------------------------------------------------ setup

    def _declared(self, name: str, text: str) -> Any:
        """``--symbol ivar=1/sqrt(var + eps)``: the user's name as a program expression
        (never one of the program's own names: ``dout=X*0`` would change what is judged)."""
        if name in self.names.values or name in self.targets:
            what = "a name" if name in self.names.values else "a gradient"
            raise FormulaError(
                f"--symbol {name}={text}: {name} is {what} of the program itself; "
                "declare only the snippet's own names"
            )
        try:
            expr = G.parse_expression(text)
            return self.reader.run([G.Assign(name, expr, 0, text)]).values[name]
        except (G.EquationError, FormulaError, ShapeError) as err:
            raise FormulaError(f"--symbol {name}={text}: {err}") from None

    def _point(self, i: int) -> dict[Any, Any]:
        g = self.sd.graph
        dims = {s: FIRST_SIZES[i] + k for k, s in enumerate(g.sizes.values())}
        for lab in g.labels:
            for d in (lab.n, lab.classes):
                if isinstance(d, sympy.Symbol) and d not in dims:
                    dims[d] = FIRST_SIZES[i]
        env = random_point(g, dims, np.random.default_rng(i))
        for eq in g.equations:
            env[eq.out] = numeric.evaluate(eq.rhs, env)
        return env

    def _targets(self) -> dict[str, Any]:
        """Each name a snippet may assign, to the symbol whose value it must equal."""
        out: dict[str, Any] = {}
        for name, st in self.sd.gradients.items():
            for spelled in (f"d{name}", f"grad_{name}", f"{name}_grad", f"dL_d{name}"):
                out[spelled] = st.lhs
        for st in self.sd.cotangents:
            out[st.lhs.name] = st.lhs
        return out

    def target(self, name: str) -> Any | None:
        """The symbol the snippet's ``name`` must equal (None: not a gradient or stage)."""
        if name in self.targets:
            return self.targets[name]
        hits = {v for n, v in self.targets.items() if key(n) == key(name)}
        return hits.pop() if len(hits) == 1 else None

    # ------------------------------------------------------------------ values

    def expected(self, drop: tuple[Any, int] | None = None) -> list[dict[Any, Any]]:
        """Every cotangent and gradient at each point (with ``drop``: one chain-rule term
        of one stage left out, as a student who missed that path would have it)."""
        return [self.values_at(env, drop) for env in self.points]

    def values_at(self, env: dict[Any, Any], drop: tuple[Any, int] | None = None) -> dict[Any, Any]:
        """Every cotangent and gradient at one point (``env``: the forward's values)."""
        # a Memo: the stages share sub-expressions (each step's f'(Z_t) is read by several
        # gradients); each is evaluated once, and only the named values are handed back
        values = Memo(env)
        order = [*self.sd.cotangents, *self.sd.gradients.values()]
        for st in order:
            terms = self.sd.terms.get(st.lhs, [])
            if drop is not None and drop[0] == st.lhs and len(terms) > 1:
                kept = [t for k, (_, t) in enumerate(terms) if k != drop[1]]
                values[st.lhs] = sum(numeric.evaluate(t, values) for t in kept)
            else:
                values[st.lhs] = numeric.evaluate(st.rhs, values)
        return {**env, **{st.lhs: values[st.lhs] for st in order}}

    def dropped(
        self, sym: Any, drop: tuple[Any, int], limit: int | None = None
    ) -> list[Any] | None:
        """``sym`` at each point with one chain-rule term of one stage left out: the
        values of ``expected(drop)[i][sym]``, recomputing only the stages between the
        dropped one and ``sym`` (an LSTM of 50 steps has ~1300 stages: recomputing all
        of them per term tried took minutes). None: the stage does not reach ``sym``, or
        more than ``limit`` stages were recomputed in all (``recomputed``)."""
        order = [*self.sd.cotangents, *self.sd.gradients.values()]
        if not self.reads:
            lhs = {st.lhs for st in order}
            for i, st in enumerate(order):
                parts = [st.rhs, *(t for _, t in self.sd.terms.get(st.lhs, []))]
                self.reads[st.lhs] = frozenset().union(*(p.free_symbols for p in parts)) & lhs
                self.place[st.lhs] = i
        if sym not in self.needs:
            found, todo = {sym}, [sym]
            while todo:  # the stages sym is computed from
                for dep in self.reads.get(todo.pop(), frozenset()) - found:
                    found.add(dep)
                    todo.append(dep)
            self.needs[sym] = frozenset(found)
        needed = self.needs[sym]
        stage, k = drop
        start = self.place.get(stage)
        terms = self.sd.terms.get(stage, [])
        if stage not in needed or start is None or len(terms) < 2:
            return None  # sym does not read that stage: the derived values, unchanged
        out = []
        for base in self.expected_now:
            values = Memo(base)  # the named values only: none of them changes here
            values[stage] = sum(
                numeric.evaluate(t, values) for j, (_, t) in enumerate(terms) if j != k
            )
            changed = {stage}
            for st in order[start + 1 :]:
                if st.lhs in needed and self.reads[st.lhs] & changed:
                    values[st.lhs] = numeric.evaluate(st.rhs, values)
                    changed.add(st.lhs)
                    self.recomputed += 1
                    if limit is not None and self.recomputed > limit:
                        return None  # out of budget: the caller stops
            out.append(values[sym])
        return out

    def user_values(self, reading: Reading, name: str) -> list[Any] | None:
        """The snippet's ``name`` at each point (None: it does not evaluate there)."""
        try:
            with np.errstate(all="ignore"):
                return [
                    numeric.evaluate(reading.values[name], Memo(env)) for env in self.expected_now
                ]
        except (ValueError, TypeError, ZeroDivisionError, FloatingPointError, KeyError):
            return None

    # ------------------------------------------------------------------ check

    def check(self, formula: str) -> CheckResult:
        """The verdict on a snippet: every gradient or stage it assigns, compared; the
        first wrong one (in the snippet's order) diagnosed."""
        self.returned_as = None
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

    def same(self, reading: Reading, name: str, sym: Any) -> bool:
        """Whether the snippet's ``name`` equals ``sym`` at every point."""
        got = self.user_values(reading, name)
        want = [v[sym] for v in self.expected_now]
        return got is not None and all_close(got, want)

    def label(self, sym: Any) -> str:
        """``dgamma`` for a gradient, the stage's own name for a cotangent."""
        wrt = getattr(sym, "wrt", None)
        return cotangent_name(wrt.name) if wrt is not None else str(sym.name)

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
