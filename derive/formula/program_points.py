"""The numbers a program's snippet is judged by: random points, the derived values.

A forward program's staged derivation is evaluated at two random points of different sizes
(so a factor N or a transpose shows); a snippet's names are evaluated at the same points and
compared. ``dropped`` recomputes the stages with one chain-rule term left out, for the
diagnosis (a term missing). The checker (``program_check.ProgramChecker``) builds on this.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy

from derive.core import numeric
from derive.core.interpret import Memo
from derive.core.program import cotangent_name, random_point
from derive.core.staged import StagedDerivation
from derive.formula.ir import FormulaError
from derive.formula.program_diagnose import Diagnosis
from derive.formula.program_judge import all_close
from derive.formula.program_snippet import Names, Reader, Reading, ShapeError, key
from derive.spec import program_grammar as G

#: The most values kept per point between readings of one snippet (then started afresh).
MAX_MEMO = 200_000
#: A layer API's attribute for the gradient of its input (NNFS's ``self.dinputs``).
STORED_INPUT_GRADIENTS = ("dinputs", "input_gradient", "grad_input")
#: What a loss's backward calls its predictions (NNFS's ``backward(self, dvalues, y_true)``).
PREDICTIONS = ("dvalues", "y_pred", "pred", "preds", "predictions", "y_hat", "yhat", "output")
#: Sizes of the two random points (distinct, so a factor N or a transpose shows).
FIRST_SIZES = (3, 5)


class ProgramPoints:
    """A derived program's values at the random points, and a snippet's values there."""

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
        #: The reading whose values were last evaluated, and the memos of that evaluation
        #: (each of its names is judged in turn: what they share is evaluated once).
        self._memo_of: tuple[Reading, list[dict[Any, Any]], list[Any]] | None = None

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
        # a layer API's stored input gradient (NNFS's ``self.dinputs``): with an upstream
        # given, the gradient of the layer's one input; for a loss, the gradient of its
        # predictions where they are the program's one gradient (a loss's input; never a
        # weight, whose layer's dinputs would be the data's gradient)
        grads = list(self.sd.gradients)
        inputs = {x.name for x in self.sd.graph.inputs}
        if self.sd.graph.upstream is not None:
            grads = [n for n in grads if n in inputs]
        elif not set(grads) <= set(PREDICTIONS):
            grads = []
        if len(grads) == 1:
            for spelled in STORED_INPUT_GRADIENTS:
                out.setdefault(spelled, self.sd.gradients[grads[0]].lhs)
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
                memos = self._memos(reading)
                return [numeric.evaluate(reading.values[name], memo) for memo in memos]
        except (ValueError, TypeError, ZeroDivisionError, FloatingPointError, KeyError):
            return None

    def _memos(self, reading: Reading) -> list[Any]:
        """One memo per point, kept while the points are the same: a step call's gradient
        is a name that stands for one value only (``program_steps.stand_ins``), so what
        one reading of the snippet evaluated holds for the next (a diagnosis reruns it
        once per slip tried); ``reading``'s own step gradients are evaluated first."""
        held = self._memo_of
        if held is None or held[1] is not self.expected_now or len(held[2][0]) > MAX_MEMO:
            held = (reading, self.expected_now, [Memo(env) for env in self.expected_now])
            self._memo_of = held
        for memo in held[2]:
            for sym, value in reading.defs.items():
                if sym not in memo:
                    memo[sym] = numeric.evaluate(value, memo)
        return held[2]

    # ------------------------------------------------------------------ check

    def same(self, reading: Reading, name: str, sym: Any) -> bool:
        """Whether the snippet's ``name`` equals ``sym`` at every point."""
        got = self.user_values(reading, name)
        want = [v[sym] for v in self.expected_now]
        return got is not None and all_close(got, want)

    def label(self, sym: Any) -> str:
        """``dgamma`` for a gradient, the stage's own name for a cotangent."""
        wrt = getattr(sym, "wrt", None)
        return cotangent_name(wrt.name) if wrt is not None else str(sym.name)
