"""The staged derivation of a forward program: one named cotangent per assignment.

The reverse walk of the one rule table runs over the program's equations; its naming
hook binds the total cotangent of every assignment ``v`` to ``dv`` and records the line
``dv = …`` (each term one chain-rule step through a use of ``v``). The gradient of each
input and parameter follows, staged (in the named cotangents), and as one closed form in
the forward values where inlining the stages gives a smaller expression.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sympy
from sympy.matrices.expressions import MatrixSymbol

from derive.core import numeric
from derive.core.backward import reverse_walk
from derive.core.compact import compact, numeric_check, too_big
from derive.core.derivation import Step, StepKind, partial
from derive.core.graph import LOSS, Equation, Kind
from derive.core.nodes import Elementwise
from derive.core.nodes import add as _add_matrices
from derive.core.program import (
    ProgramGraph,
    build_program,
    cotangent_name,
    is_scalar,
    sample_point,
)
from derive.spec.activations import TABLE


def add(terms: list[Any]) -> Any:
    """The sum of cotangent terms: scalars by SymPy's ``Add``, matrices by ``nodes.add``."""
    if all(is_scalar(t) for t in terms):
        return sympy.Add(*terms)
    return _add_matrices(terms)


S = TypeVar("S", bound="StagedDerivation")


def cotangent_symbol(out: Any) -> Any:
    """The named cotangent ``dv`` of a value ``v``, shaped like it."""
    name = cotangent_name(out.name)
    return sympy.Symbol(name, real=True) if is_scalar(out) else MatrixSymbol(name, *out.shape)


def _renamed(sym: Any, name: str) -> Any:
    """``sym`` under another name (the total of a given gradient and the ones through
    later equations: ``dnext_c_total``)."""
    return sympy.Symbol(name, real=True) if is_scalar(sym) else MatrixSymbol(name, *sym.shape)


def size(expr: Any) -> int:
    """How many operations an expression has: what "a simpler form" is measured by."""
    return int(sympy.count_ops(expr, visual=False))


@dataclass
class StagedDerivation:
    """Everything derived for a program; ``steps`` lists the lines in reading order."""

    graph: ProgramGraph
    forward: list[Step]
    loss: Step | None
    cotangents: list[Step]
    gradients: dict[str, Step]
    compact: dict[str, Step | None]
    #: Each cotangent's and gradient's terms, with the equation each comes through.
    terms: dict[Any, list[tuple[Equation, Any]]]
    #: What derives a recurrent layer's back-propagation through time at a symbolic
    #: step t (``derive.core.bptt.Recurrence``, printed after the unrolled derivation):
    #: called on first use, as checking a snippet never needs it (two more derivations).
    recurrence_of: Callable[[], Any] | None = field(default=None, repr=False, compare=False)
    _recurrence: Any = field(default=None, repr=False, compare=False)

    @property
    def recurrence(self) -> Any:
        """The generic-T recurrence (None: not a recurrent model), derived on first use."""
        if self._recurrence is None and self.recurrence_of is not None:
            self._recurrence, self.recurrence_of = self.recurrence_of(), None
        return self._recurrence

    @recurrence.setter
    def recurrence(self, value: Any) -> None:
        """Set the generic-t recurrence (derived elsewhere): no longer derived on first use."""
        self._recurrence, self.recurrence_of = value, None

    @property
    def name(self) -> str:
        """The program's name."""
        return str(self.graph.spec.name)

    @property
    def steps(self) -> list[Step]:
        """Forward, loss, each named cotangent (last assignment first), the gradients."""
        out = [*self.forward]
        if self.loss is not None:
            out.append(self.loss)
        out += self.cotangents
        out += self.gradients.values()
        return out

    def grad(self, name: str) -> Step:
        """The staged gradient of an input or a parameter (``X``, ``dX`` or ``gamma``)."""
        key = name[1:] if name not in self.gradients and name.startswith("d") else name
        if key not in self.gradients:
            raise KeyError(
                f"no input or parameter {name!r}: the gradients are of {', '.join(self.gradients)}"
            )
        return self.gradients[key]

    def cotangent(self, name: str) -> Step:
        """The named cotangent of an intermediate (``Xhat`` or ``dXhat``)."""
        for st in self.cotangents:
            if st.lhs.name in (name, cotangent_name(name)):
                return st
        raise KeyError(
            f"no intermediate {name!r}: the staged cotangents are "
            f"{', '.join(st.lhs.name for st in self.cotangents)}"
        )

    def closed_form(self, name: str) -> Any:
        """The gradient with every named cotangent inlined (in the forward values)."""
        return inline(self.grad(name).rhs, self.cotangents)

    def __repr__(self) -> str:
        g = self.graph
        return f"<StagedDerivation of {self.name!r}: {len(g.forward_equations)} equations>"


def inline(expr: Any, cotangents: list[Step], bounded: bool = False) -> Any:
    """Replace each named cotangent by its definition, latest stage first; with
    ``bounded``, None as soon as the formula outgrows ``too_big`` (a stage used twice
    doubles when inlined, so a long chain would grow without end)."""
    defs = {st.lhs: st.rhs for st in cotangents}
    for _ in range(len(defs) + 1):
        free = expr.free_symbols if hasattr(expr, "free_symbols") else set()
        hit = {s: defs[s] for s in free if s in defs}
        if not hit:
            return expr
        expr = expr.xreplace(hit)
        if bounded and too_big(expr):
            return None
    return expr


def _uses(graph: ProgramGraph) -> dict[Any, list[Equation]]:
    """Each name's readers: the equations whose right-hand side reads it, in program
    order, in one pass. (Asked per value, a scan of every equation was quadratic in an
    unrolled T, and its cache of each right side's names, keyed by the SymPy tree, made
    a second derivation of the same program compare equal trees deeply: an LSTM at
    T = 50 derived in 0.9 s the first time and 2.5 s the next.)"""
    readers: dict[Any, list[Equation]] = {}
    for eq in graph.equations:
        for name in eq.rhs.free_symbols:
            readers.setdefault(name, []).append(eq)
    return readers


def _through(eq: Equation, g: Any, value: Any) -> Any:
    """One chain-rule step: the cotangent ``value`` receives through the equation ``eq``
    whose output's cotangent is ``g`` (the walk of the rule table over that one equation).
    An activation's derivative is written through its output where the program names it
    (``p = sigmoid(z)``: ``σ'(z) = p ⊙ (1 − p)``), as textbooks write it."""
    acc = reverse_walk([eq], {eq.out: g}, {value})
    if not acc.get(value):
        return None
    term = add(acc[value])
    rhs = eq.rhs
    if isinstance(rhs, Elementwise) and rhs.order == 0 and rhs.arg == value:
        form = TABLE[rhs.name].output_form if rhs.name in TABLE else None
        if form is not None and not is_scalar(eq.out):
            term = term.replace(
                lambda e: isinstance(e, Elementwise) and e.order == 1 and e.arg == value,
                lambda e: form(eq.out),
            )
    return term


def _tidy(expr: Any) -> Any:
    """Scalars pulled to the front of products, identities and double transposes gone."""
    try:
        return expr.doit()
    except (TypeError, ValueError, AttributeError):
        return expr


def _closed_form(
    graph: ProgramGraph, staged: Step, closed: Any, cotangents: list[Step]
) -> Step | None:
    """The gradient as one formula in the forward values: SymPy's algebra on an entry
    (``compact``, checked against the inlined stages at a random point), else the stages
    inlined; None when even that is more than twice as long as the stages."""
    if too_big(closed):  # inlining doubles a stage used twice: no short form there
        return None
    stages = size(staged.rhs) + sum(size(c.rhs) for c in cotangents)
    if graph.auto:
        closed = inline(closed, [Step(StepKind.FORWARD, k, v) for k, v in graph.auto.items()])
    closed = _tidy(closed)
    point = sample_point(graph)
    for eq in graph.equations:
        point[eq.out] = numeric.evaluate(eq.rhs, point)
    found = compact(closed, graph.forward_equations, numeric_check(closed, point, numeric.evaluate))
    if found is not None and size(found) <= size(closed):
        closed = found
    if size(closed) <= 2 * stages:
        return Step(StepKind.GRADIENT, staged.lhs, closed)
    return None


def derive_graph(graph: ProgramGraph, cls: type[S] = StagedDerivation) -> S:  # type: ignore[assignment]
    """Name every assignment's cotangent, last assignment first, then the gradients
    (``cls``: the record to fill, a subclass that adds printed forms)."""
    forward = [Step(StepKind.FORWARD, eq.out, eq.rhs) for eq in graph.forward_equations]
    loss = None
    named: dict[Any, Any] = {}
    if graph.loss is not None:
        loss = Step(StepKind.LOSS, LOSS, graph.loss)
        named[LOSS] = sympy.Integer(1)
    # each output's given gradient (dout, dnext_c); an output that later equations read
    # too (h_1 of an unrolled step) gets the terms through them as well, the first one included
    given = dict(graph.more_upstream)
    if graph.loss is None:
        given = {graph.output: graph.upstream, **given}
    cotangents: list[Step] = []
    terms: dict[Any, list[tuple[Equation, Any]]] = {}
    readers = _uses(graph)

    def collect(value: Any) -> list[tuple[Equation, Any]]:
        out = []
        for eq in readers.get(value, []):
            if eq.out not in named:
                continue
            term = _through(eq, named[eq.out], value)
            if term is not None:
                out.append((eq, term))
        return out

    for eq in reversed(graph.forward_equations):
        if eq.out in named:
            continue  # the given upstream gradient
        parts = collect(eq.out)
        sym = cotangent_symbol(eq.out)
        if eq.out in given:  # an output with its own given gradient, maybe read further on
            up = given[eq.out]
            if not parts:
                named[eq.out] = up
                continue
            parts = [(Equation(eq.out, up, Kind.MAP), up), *parts]
            sym = _renamed(sym, f"{up.name}_total")
        if not parts:
            continue  # nothing downstream depends on it
        terms[sym] = parts
        cotangents.append(Step(StepKind.COTANGENT, sym, add([t for _, t in parts])))
        named[eq.out] = sym
    gradients: dict[str, Step] = {}
    compact: dict[str, Step | None] = {}
    for sym in graph.wrt:
        parts = collect(sym)
        if not parts:
            continue
        staged = Step(StepKind.GRADIENT, partial(LOSS, sym), add([t for _, t in parts]))
        terms[staged.lhs] = parts
        gradients[sym.name] = staged
        closed = inline(staged.rhs, cotangents, bounded=True)
        if closed is None:
            compact[sym.name] = None  # no short closed form: inlining keeps growing
            continue
        if closed == staged.rhs:
            continue  # no stage to inline: the staged form is the closed form
        compact[sym.name] = _closed_form(graph, staged, closed, cotangents)
    return cls(graph, forward, loss, cotangents, gradients, compact, terms)


def derive_program(spec: Any) -> StagedDerivation:
    """Build and derive a read program (``derive.spec.program.ProgramSpec``)."""
    return derive_graph(build_program(spec))
