"""``derive check`` on a forward program: a hand-derived backward pass, judged and diagnosed.

The snippet is read by ``program_snippet`` (the program grammar, the program's builder);
each name it assigns that is a gradient (``dX``, ``dgamma``) or a named cotangent
(``dXhat``, ``dvar``) is compared with the staged derivation at two random points of
different sizes. A wrong one is explained, in this order, by its shape, by a constant or
size factor, by a chain-rule term left out (the derivation re-evaluated with one term of
one stage dropped: batch norm's classic missing path through the variance), or by one or
two of the usual slips in the snippet itself (an axis, a transpose, a product's order, a
Hadamard for a matrix product, a sign, an extra term), each re-checked numerically.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import numpy as np
import sympy

from derive.core import numeric
from derive.core.interpret import Memo
from derive.core.program import cotangent_name, random_point, shape_of, shape_text
from derive.core.staged import StagedDerivation
from derive.formula.answer import CheckResult
from derive.formula.ir import FormulaError
from derive.formula.program_slips import mutations, reads
from derive.formula.program_snippet import (
    Names,
    OutOfTime,
    Reader,
    Reading,
    ShapeError,
    key,
)
from derive.render.text import text as show
from derive.spec import program_grammar as G

#: Sizes of the two random points (distinct, so a factor N or a transpose shows).
FIRST_SIZES = (3, 5)
RTOL = 1e-7
#: The most statements rebuilt while looking for one or two slips (each try reruns the
#: snippet): the bound on a diagnosis' time.
MAX_BUILDS = 3000
#: And at most this long (a verdict never depends on it: only how far the search for a
#: named slip goes on a long snippet; the answer then says none was found).
SEARCH_SECONDS = 0.6
#: The most terms of one gradient whose subsets are tried (2^8 sums at most).
MAX_TERMS = 8


def _close(a: Any, b: Any) -> bool:
    a, b = np.atleast_2d(np.asarray(a, float)), np.atleast_2d(np.asarray(b, float))
    if a.shape != b.shape:
        return False
    scale = max(1.0, float(np.max(np.abs(b))) if b.size else 1.0)
    return bool(np.allclose(a, b, rtol=RTOL, atol=1e-9 * scale))


class ProgramChecker:
    """Checks NumPy snippets against one derived program (``derive check PROGRAM …``)."""

    def __init__(self, sd: StagedDerivation, symbols: dict[str, str] | None = None) -> None:
        self.sd = sd
        self.names = Names.of(sd)
        self.reader = Reader(sd, self.names)
        for name, text in (symbols or {}).items():
            self.names.declared[name] = self._declared(name, text)
        self.points = [self._point(i) for i in range(len(FIRST_SIZES))]
        self.targets = self._targets()

    # ------------------------------------------------------------------ setup

    def _declared(self, name: str, text: str) -> Any:
        """``--symbol ivar=1/sqrt(var + eps)``: the user's name as a program expression."""
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

    def _target(self, name: str) -> Any | None:
        if name in self.targets:
            return self.targets[name]
        hits = {v for n, v in self.targets.items() if key(n) == key(name)}
        return hits.pop() if len(hits) == 1 else None

    # ------------------------------------------------------------------ values

    def expected(self, drop: tuple[Any, int] | None = None) -> list[dict[Any, Any]]:
        """Every cotangent and gradient at each point (with ``drop``: one chain-rule term
        of one stage left out, as a student who missed that path would have it)."""
        out = []
        for env in self.points:
            values = dict(env)
            stages = [*self.sd.cotangents, *self.sd.gradients.values()]
            for st in stages:
                terms = self.sd.terms.get(st.lhs, [])
                if drop is not None and drop[0] == st.lhs and len(terms) > 1:
                    kept = [t for k, (_, t) in enumerate(terms) if k != drop[1]]
                    values[st.lhs] = sum(numeric.evaluate(t, values) for t in kept)
                else:
                    values[st.lhs] = numeric.evaluate(st.rhs, values)
            out.append(values)
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
        statements = self.reader.parse(formula)
        self.expected_now = self.expected()
        try:
            reading = self.reader.run(statements)
        except ShapeError as err:
            return self._shape_failure(formula, statements, err)
        checked = [(n, self._target(n)) for n in reading.order]
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
        for n, s in checked:
            shown = self._label(s)
            if n != shown and f"read {n} as {shown}" not in notes:
                notes.append(f"read {n} as {shown}")
        wrong = [(n, s) for n, s in checked if not self._same(reading, n, s)]
        labels = ", ".join(dict.fromkeys(self._label(s) for _, s in checked))
        if not wrong:
            first = checked[-1][1]
            return self._result("correct", labels, first, formula, None, None, notes)
        name, sym = wrong[0]
        for n, s in helpers:  # where the slip may be, if the helper means the stage
            if not self._same(reading, n, s):
                notes.append(
                    f"line {reading.lines[n]}'s {n} differs from the derivation's "
                    f"{self._label(s)}: if it means that stage, the slip is there or before"
                )
                break
        if len(wrong) > 1:
            rest = ", ".join(self._label(s) for _, s in wrong[1:])
            notes.append(f"also wrong: {rest} (line {reading.lines[name]}'s {name} comes first)")
        shape, diagnosis = self.diagnose(statements, reading, name, sym)
        return self._result("incorrect", labels, sym, formula, diagnosis, shape, notes)

    def _same(self, reading: Reading, name: str, sym: Any) -> bool:
        got = self.user_values(reading, name)
        want = [v[sym] for v in self.expected_now]
        return got is not None and all(_close(a, b) for a, b in zip(got, want, strict=True))

    def _label(self, sym: Any) -> str:
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
        return f"{self._label(sym)} = {show(rhs)}"

    # ------------------------------------------------------------------ diagnose

    def _shape_failure(
        self, formula: str, statements: list[G.Statement], err: ShapeError
    ) -> CheckResult:
        fixed = self._search(statements, None, None)
        target = next(
            (
                s
                for st in statements
                if isinstance(st, G.Assign | G.Update)
                for s in [self._target(st.target)]
                if s is not None
            ),
            None,
        )
        if target is None:
            raise FormulaError(f"line {err.line}: {err}") from None
        return self._result(
            "incorrect", self._label(target), target, formula, fixed, f"line {err.line}: {err}", []
        )

    def diagnose(
        self, statements: list[G.Statement], reading: Reading, name: str, sym: Any
    ) -> tuple[str | None, str | None]:
        """(shape message, what is wrong) for the assigned ``name`` judged against ``sym``."""
        got = self.user_values(reading, name)
        want = [v[sym] for v in self.expected_now]
        shape = None
        if got is not None:
            a, b = np.atleast_2d(got[0]), np.atleast_2d(want[0])
            if a.shape != b.shape:
                mine = shape_of(reading.values[name])
                theirs = shape_of(getattr(sym, "wrt", sym))
                shape = (
                    f"the snippet's {name} is {shape_text(mine)}; "
                    f"{self._label(sym)} is {shape_text(theirs)}"
                )
            if a.shape == b.shape[::-1] and all(
                _close(np.atleast_2d(x).T, y) for x, y in zip(got, want, strict=True)
            ):
                return shape, (
                    f"{name} is the transpose of {self._label(sym)} (in a product, "
                    "(A B)ᵀ = Bᵀ Aᵀ: swap the factors and their transposes)"
                )
            if shape is None:
                factor = self._factor(got, want)
                if factor is not None:
                    return None, f"{name} is {factor} the derived one"
        missing = self._missing_term(got, sym)
        if missing is not None:
            return shape, missing
        return shape, self._search(statements, name, sym) or (
            "no single usual mistake explains it (nor two at once)"
        )

    def _factor(self, got: list[Any], want: list[Any]) -> str | None:
        """``-1 times``, ``2 times``, ``1/N times`` … when got = c·want at both points."""
        ratios = []
        for a, b in zip(got, want, strict=True):
            a, b = np.atleast_2d(a).astype(float), np.atleast_2d(b).astype(float)
            if a.shape != b.shape:
                return None
            mask = np.abs(b) > 1e-9 * max(1.0, float(np.max(np.abs(b))))
            if not mask.any() or not np.allclose(a[~mask], 0, atol=1e-9):
                return None
            r = a[mask] / b[mask]
            if not np.allclose(r, r[0], rtol=1e-7):
                return None
            ratios.append(float(r[0]))
        if all(abs(r + 1) < 1e-9 for r in ratios):
            return "−1 times (the sign is wrong)"
        if all(abs(r - ratios[0]) < 1e-9 * abs(ratios[0]) for r in ratios):
            return f"{sympy.nsimplify(ratios[0], rational=True)} times"
        for name, sym in self.sd.graph.sizes.items():
            dims = [env.get(sym) for env in self.points]
            for power, words in (
                (1, f"{name} times (a factor 1/{name} is missing)"),
                (-1, f"1/{name} times (a factor 1/{name} too many)"),
            ):
                if all(
                    d and abs(r - float(d) ** power) < 1e-9 * abs(r)
                    for r, d in zip(ratios, dims, strict=True)
                ):
                    return words
        sizes = list(self.sd.graph.sizes.items())
        for (a, sa), (b, sb) in itertools.permutations(sizes, 2):  # / n where / m belongs
            if all(
                abs(r - float(env[sa]) / float(env[sb])) < 1e-9 * abs(r)
                for r, env in zip(ratios, self.points, strict=True)
            ):
                return f"{a}/{b} times (divided by {b} where {a} belongs)"
        return None

    def _missing_term(self, got: list[Any] | None, sym: Any) -> str | None:
        """The derivation with one chain-rule term dropped, where that equals the user's
        (or a constant or size factor of it: a second slip on top)."""
        if got is None:
            return None
        kept = self._some_terms(got, sym)
        if kept is not None:
            return kept
        for stage, terms in self.sd.terms.items():
            if len(terms) < 2:
                continue
            for k, (eq, term) in enumerate(terms):
                values = [v[sym] for v in self.expected(drop=(stage, k))]
                said = (
                    f"the term {show(term)} of {self._label(stage)} is missing: the chain "
                    f"rule's term through {show(eq.out)} = {show(eq.rhs)} (every use of a "
                    "value adds a term to its gradient)"
                )
                if all(_close(a, b) for a, b in zip(got, values, strict=True)):
                    return said
                factor = self._factor(got, values)
                if factor is not None:
                    return f"{said}; and the rest is {factor} the derived one"
        return self._passed_through(got, sym)

    def _passed_through(self, got: list[Any], sym: Any) -> str | None:
        """The cotangent of an equation's output handed on unchanged, as if its function
        were the identity (attention's dS = dP: softmax's Jacobian forgotten)."""
        outputs = {st.lhs for st in self.sd.cotangents}
        for eq, term in self.sd.terms.get(sym, []):
            cot = next((c for c in outputs if c.name == cotangent_name(eq.out.name)), None)
            if cot is None:
                continue
            values = [v[cot] for v in self.expected_now]
            with np.errstate(all="ignore"):
                through = [numeric.evaluate(term, v) for v in self.expected_now]
            if all(_close(a, b) for a, b in zip(through, values, strict=True)):
                continue  # the equation passes it on unchanged itself (Xc = X − μ)
            if all(_close(a, b) for a, b in zip(got, values, strict=True)):
                return (
                    f"{self._label(sym)} is {cot.name} passed on unchanged: the derivative of "
                    f"{show(eq.out)} = {show(eq.rhs)} (its Jacobian) is missing"
                )
        return None

    def _some_terms(self, got: list[Any], sym: Any) -> str | None:
        """Only some of the quantity's own chain-rule terms (one per use of the value):
        the sum over time of a recurrent weight cut to its last step, a gradient that
        forgets one path. Subsets of up to ``MAX_TERMS`` terms are tried."""
        terms = self.sd.terms.get(sym, [])
        if not 2 < len(terms) <= MAX_TERMS:
            return None
        with np.errstate(all="ignore"):
            values = [[numeric.evaluate(t, v) for _, t in terms] for v in self.expected_now]
        for size in range(1, len(terms) - 1):
            for keep in itertools.combinations(range(len(terms)), size):
                sums = [sum(vals[k] for k in keep) for vals in values]
                if all(_close(a, b) for a, b in zip(got, sums, strict=True)):
                    missing = [terms[k] for k in range(len(terms)) if k not in keep]
                    listed = "; ".join(
                        f"{show(t)} (through {show(eq.out)} = {show(eq.rhs)})" for eq, t in missing
                    )
                    shared = getattr(sym, "wrt", None) in self.sd.graph.parameters
                    why = (
                        "a parameter used at several steps sums the terms of all of them"
                        if shared
                        else "every use of a value adds a term to its gradient"
                    )
                    return (
                        f"{len(missing)} of the {len(terms)} terms of {self._label(sym)} are "
                        f"missing: {listed} ({why})"
                    )
        return None

    def _search(self, statements: list[G.Statement], name: str | None, sym: Any) -> str | None:
        """One or two of the usual slips whose repair makes the snippet right: only in
        the lines the judged name reads, and within ``MAX_BUILDS`` statements rebuilt in
        all (each try runs the whole snippet), so a long snippet stays within a second."""
        lines = reads(statements, name)
        self.reader.deadline = time.perf_counter() + SEARCH_SECONDS
        try:
            return self._tries(statements, lines, name, sym)
        except OutOfTime:
            return None
        finally:
            self.reader.deadline = None

    def _tries(
        self, statements: list[G.Statement], lines: set[int], name: str | None, sym: Any
    ) -> str | None:
        runs = max(1, MAX_BUILDS // max(1, len(statements)))
        singles = list(mutations(statements, lines))
        for said, variant in singles[:runs]:
            if self._fixes(variant, name, sym):
                return said
        runs -= min(runs, len(singles))
        for said, variant in singles:
            for said2, both in mutations(variant, lines):
                if said2 == said:
                    continue
                if runs <= 0:
                    return None
                runs -= 1
                if self._fixes(both, name, sym):
                    return f"{said}; and {said2}"
        return None

    def _fixes(self, statements: list[G.Statement], name: str | None, sym: Any) -> bool:
        try:
            reading = self.reader.run(statements)
        except (ShapeError, FormulaError):
            return False
        pairs = [(n, self._target(n)) for n in reading.order] if name is None else [(name, sym)]
        pairs = [(n, s) for n, s in pairs if s is not None and n in reading.values]
        return bool(pairs) and all(self._same(reading, n, s) for n, s in pairs)


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
