"""Why a snippet's gradient is wrong: the diagnoses of the program checker, tried in order.

``program_check`` finds the first wrong name; this module says what is wrong with it, each
explanation re-checked numerically at the checker's two random points: its shape or a
transpose, a constant or size factor, some of its own chain-rule terms left out (a sum over
time cut to one step), one term of one stage dropped (batch norm's missing path through
the variance), a stage's cotangent passed on unchanged (softmax's Jacobian forgotten), only
the diagonal of the Jacobian kept (the sums over the batch left out), and last one or two
of the usual slips in the snippet itself (``program_slips``). Values are compared as
``program_judge`` says.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from derive.core import numeric
from derive.core.nodes import Reduce, ReduceAll
from derive.core.program import cotangent_name, shape_of, shape_text
from derive.formula import program_factors as factors
from derive.formula.branch_factors import shared_and_one_branch
from derive.formula.ir import FormulaError
from derive.formula.program_jacobians import forgotten_upstream
from derive.formula.program_judge import Judge, all_close, close
from derive.formula.program_slips import mutations, reads
from derive.formula.program_snippet import OutOfBuilds, Reading, ShapeError
from derive.formula.step_slips import StepNames
from derive.render.text import text as show
from derive.spec import program_grammar as G

#: The most statements rebuilt while looking for one or two slips (each try reruns the
#: snippet): the bound on a diagnosis' time.
MAX_BUILDS = 3000
#: And at most this many fresh right-hand sides built (a count, not a clock: how far the
#: search for a named slip goes never depends on the machine's load; a verdict never
#: depends on it, only whether a slip is named on a long snippet).
SEARCH_BUILDS = 600
#: The most stages recomputed (at all points) while looking for a chain-rule term left out.
MAX_RECOMPUTED = 600
#: The most terms of one gradient whose subsets are tried (2^8 sums at most).
MAX_TERMS = 8
#: The most entries of a gradient whose Jacobian diagonal is computed (one derivation
#: evaluated per entry and point).
MAX_DIAGONAL = 64
NOTHING = "no single usual mistake explains it (nor two at once)"


class Diagnosis:
    """The diagnoses of one checker (its derivation, points and reader)."""

    def __init__(self, checker: Judge) -> None:
        self.c = checker
        self.sd = checker.sd

    def diagnose(
        self, statements: list[G.Statement], reading: Reading, name: str, sym: Any
    ) -> tuple[str | None, str | None]:
        """(shape message, what is wrong) for the assigned ``name`` judged against ``sym``."""
        got = self.c.user_values(reading, name)
        want = [v[sym] for v in self.c.expected_now]
        shape = None
        if got is not None:
            a, b = np.atleast_2d(got[0]), np.atleast_2d(want[0])
            if a.shape != b.shape:
                mine = shape_of(reading.values[name])
                theirs = shape_of(getattr(sym, "wrt", sym))
                shape = (
                    f"the snippet's {name} is {shape_text(mine)}; "
                    f"{self.c.label(sym)} is {shape_text(theirs)}"
                )
            if a.shape == b.shape[::-1] and all_close([np.atleast_2d(x).T for x in got], want):
                return shape, (
                    f"{name} is the transpose of {self.c.label(sym)} (in a product, "
                    "(A B)ᵀ = Bᵀ Aᵀ: swap the factors and their transposes)"
                )
            if shape is None:
                factor = self.factor(got, want)
                if factor is not None:
                    return None, f"{name} is {factor} the derived one"
                branch = shared_and_one_branch(
                    got, want, self.c.points, self.sd.graph
                ) or factors.branches(got, want, self.c.points, self.sd.graph)
                if branch is not None:
                    return None, f"{name}: {branch}"
        if got is not None:
            said = (
                self.some_terms(got, sym)
                or self.missing_term(got, sym)
                or self.passed_through(got, sym)
                or forgotten_upstream(self.c, got, sym)
                or self.diagonal_only(got, name, sym)
            )
            if said is not None:
                return shape, said
        return shape, self.search(statements, name, sym) or NOTHING

    # ------------------------------------------------------------------ a factor

    def factor(self, got: list[Any], want: list[Any]) -> str | None:
        """``-1 times``, ``2 times``, ``1/N times`` … when got = c·want at both points."""
        rs = factors.ratios(got, want)
        if rs is None:
            return None
        said = factors.words(rs, self.c.points, self.sd.graph.sizes, self.sd.graph.hyper)
        return None if said == "1 times" else said

    # ------------------------------------------------------------------ terms left out

    def some_terms(self, got: list[Any], sym: Any) -> str | None:
        """Only some of the quantity's own chain-rule terms (one per use of the value):
        the sum over time of a recurrent weight cut to its last step, a gradient that
        forgets one path. Subsets of up to ``MAX_TERMS`` terms are tried; of more, each
        term alone (the last step's term of a weight shared over 50 steps)."""
        terms = self.sd.terms.get(sym, [])
        if len(terms) <= 2:
            return None
        with np.errstate(all="ignore"):
            values = [[numeric.evaluate(t, v) for _, t in terms] for v in self.c.expected_now]
        n = len(terms)
        sizes = range(1, n - 1) if n <= MAX_TERMS else range(1, 2)  # more: one term kept
        for size in sizes:
            for keep in itertools.combinations(range(n), size):
                sums = [sum(vals[k] for k in keep) for vals in values]
                if all_close(got, sums):
                    missing = [terms[k] for k in range(n) if k not in keep]
                    listed = (
                        "; ".join(
                            f"{show(t)} (through {show(eq.out)} = {show(eq.rhs)})"
                            for eq, t in missing
                        )
                        if len(missing) <= 3
                        else "only " + " + ".join(show(terms[k][1]) for k in keep) + " is there"
                    )
                    shared = getattr(sym, "wrt", None) in self.sd.graph.parameters
                    why = (
                        "a parameter used at several steps sums the terms of all of them"
                        if shared
                        else "every use of a value adds a term to its gradient"
                    )
                    return (
                        f"{len(missing)} of the {len(terms)} terms of {self.c.label(sym)} are "
                        f"missing: {listed} ({why})"
                    )
        return None

    def missing_term(self, got: list[Any], sym: Any) -> str | None:
        """The derivation with one chain-rule term of one stage dropped, where that equals
        the user's (or a constant or size factor of it: a second slip on top). Bounded
        by ``MAX_RECOMPUTED`` stages recomputed (an LSTM of 50 steps has a thousand terms
        to try; a count, not a time, so the answer does not depend on the machine's load)."""
        self.c.recomputed = 0
        # the judged value's own terms first (a cell state's highway term left out), then
        # the stages it is computed from
        for stage, terms in sorted(self.sd.terms.items(), key=lambda st: st[0] != sym):
            if len(terms) < 2:
                continue
            for k, (eq, term) in enumerate(terms):
                if self.c.recomputed > MAX_RECOMPUTED:
                    return None
                values = self.c.dropped(sym, (stage, k), MAX_RECOMPUTED)
                if values is None:
                    continue  # the term does not reach sym (or the budget is spent)
                close = all_close(got, values)
                factor = None if close else self.factor(got, values)
                if not close and factor is None:
                    continue
                said = (  # printed only once found (a long program has a thousand terms)
                    f"the term {show(term)} of {self.c.label(stage)} is missing: the chain "
                    f"rule's term through {show(eq.out)} = {show(eq.rhs)} (every use of a "
                    "value adds a term to its gradient)"
                )
                return (
                    said if factor is None else f"{said}; and the rest is {factor} the derived one"
                )
        return None

    def passed_through(self, got: list[Any], sym: Any) -> str | None:
        """The cotangent of an equation's output handed on unchanged, as if its function
        were the identity (attention's dS = dP: softmax's Jacobian forgotten)."""
        outputs = {st.lhs for st in self.sd.cotangents}
        for eq, term in self.sd.terms.get(sym, []):
            cot = next((c for c in outputs if c.name == cotangent_name(eq.out.name)), None)
            if cot is None:
                continue
            values = [v[cot] for v in self.c.expected_now]
            with np.errstate(all="ignore"):
                through = [numeric.evaluate(term, v) for v in self.c.expected_now]
            if all_close(through, values):
                continue  # the equation passes it on unchanged itself (Xc = X − μ)
            if all_close(got, values):
                return (
                    f"{self.c.label(sym)} is {cot.name} passed on unchanged: the derivative of "
                    f"{show(eq.out)} = {show(eq.rhs)} (its Jacobian) is missing"
                )
        return None

    def diagonal_only(self, got: list[Any], name: str, sym: Any) -> str | None:
        """Each entry's own path only: the gradient is the Jacobian's diagonal times the
        upstream gradient (``dx_ij = ∂out_ij/∂x_ij · dout_ij``), the cross terms through
        the program's sums (batch norm's mean and variance) left out."""
        up, wrt = self.sd.graph.upstream, getattr(sym, "wrt", None)
        if up is None or wrt is None:
            return None
        for env, mine in zip(self.c.points, got, strict=True):
            shape = np.shape(env[up])
            if wrt not in env or np.shape(env[wrt]) != shape:
                return None
            if np.atleast_2d(mine).shape != shape:
                return None
            if int(np.prod(shape)) > MAX_DIAGONAL:
                return None
            diagonal = np.empty(shape)
            with np.errstate(all="ignore"):
                for idx in np.ndindex(*shape):
                    unit = np.zeros(shape)
                    unit[idx] = 1.0
                    diagonal[idx] = np.atleast_2d(self.c.values_at({**env, up: unit})[sym])[idx]
            if not close(mine, diagonal * env[up]):
                return None
        sums = [
            show(eq.out)
            for eq in self.sd.graph.forward_equations
            if eq.rhs.has(Reduce) or eq.rhs.has(ReduceAll)
        ]
        through = f" ({', '.join(sums)})" if sums else ""
        return (
            f"{name} keeps only the diagonal of the Jacobian (each entry's own path, "
            f"∂{show(self.sd.graph.output)}ᵢⱼ/∂{show(wrt)}ᵢⱼ · {show(up)}ᵢⱼ): the cross terms "
            f"through the sums{through} are missing (every entry of {show(wrt)} moves them)"
        )

    # ------------------------------------------------------------------ slips

    def search(self, statements: list[G.Statement], name: str | None, sym: Any) -> str | None:
        """One or two of the usual slips whose repair makes the snippet right: only in
        the lines the judged name reads, and within ``MAX_BUILDS`` statements rebuilt in
        all (each try runs the whole snippet), so a long snippet stays within a second."""
        lines = reads(statements, name)
        self.c.reader.budget = SEARCH_BUILDS
        try:
            return self._tries(statements, lines, name, sym)
        except OutOfBuilds:
            return None
        finally:
            self.c.reader.budget = None

    def _tries(
        self, statements: list[G.Statement], lines: set[int], name: str | None, sym: Any
    ) -> str | None:
        runs = max(1, MAX_BUILDS // max(1, len(statements)))
        lambdas, decays = self._lambdas()
        step = self._step()
        singles = list(mutations(statements, lines, lambdas, decays, step))
        for said, variant in singles[:runs]:
            if self._fixes(variant, name, sym):
                return said
        runs -= min(runs, len(singles))
        for said, variant in singles:
            for said2, both in mutations(variant, lines, lambdas, decays, step):
                if said2 == said:
                    continue
                if runs <= 0:
                    return None
                runs -= 1
                if self._fixes(both, name, sym):
                    return f"two mistakes: {said}; and {said2}"
        return None

    def _step(self) -> StepNames | None:
        """The names of a one-step program's values (an activation's backward pass: one
        equation ``out = f(x)``, no parameters, the gradient ``dout`` given), else None."""
        g = self.sd.graph
        eqs = g.forward_equations
        if g.upstream is None or g.parameters or len(g.inputs) != 1 or len(eqs) != 1:
            return None
        if eqs[0].out != g.output:
            return None
        return StepNames(g.inputs[0].name, g.output.name, g.upstream.name)

    def _lambdas(self) -> tuple[set[str], set[str]]:
        """The weight-decay strengths (``reg = "lambda"``) the program never uses (a term
        of the snippet that reads one is weight decay its loss does not have), and those
        it uses (their term's factor 2 may be missing)."""
        g = self.sd.graph
        strengths = {n: s for n, s in g.hyper.items() if str(s) in ("lambda", "λ")}
        used = {n for n, s in strengths.items() if any(eq.rhs.has(s) for eq in g.equations)}
        return set(strengths) - used, used

    def _fixes(self, statements: list[G.Statement], name: str | None, sym: Any) -> bool:
        try:
            reading = self.c.reader.run(statements)
        except (ShapeError, FormulaError):
            return False
        pairs = [(n, self.c.target(n)) for n in reading.order] if name is None else [(name, sym)]
        pairs = [(n, s) for n, s in pairs if s is not None and n in reading.values]
        return bool(pairs) and all(self.c.same(reading, n, s) for n, s in pairs)
