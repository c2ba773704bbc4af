"""The time steps of an unrolled recurrent program, and one step's own backward pass.

A program written out over T steps names each step's values with the step's index
(``x_2``, ``h_2``, ``c_2``, ``dh_2``; the initial state ``h_0``). A loop of a BPTT snippet
calls the step backward by name (``rnn_step_backward(dnext_h, cache[t])``): that call is
read as the program's own step derivation, the reverse walk of the rule table over the
equations of that one step (each output named with its index), seeded with the
cotangents the call passes for the carried states. The step's own correctness is not
judged here (a one-step program checks it); the loop around it is.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sympy.matrices.expressions import MatrixSymbol, ZeroMatrix

from derive.core.backward import reverse_walk
from derive.core.graph import Equation
from derive.core.program import is_scalar
from derive.core.staged import StagedDerivation, add
from derive.formula.ir import FormulaError
from derive.spec import program_grammar as G

#: The most time steps a snippet's loop is unrolled over (the program's own T).
MAX_STEPS = 6

_INDEXED = re.compile(r"^(?P<base>[A-Za-z]\w*?)_(?P<k>\d+)$")


def indexed(name: str) -> tuple[str, int] | None:
    """``h_2`` as ``("h", 2)`` (None: not a step's name)."""
    m = _INDEXED.match(name)
    return (m["base"], int(m["k"])) if m else None


@dataclass(frozen=True)
class StepCall(G.Unpack):
    """``a, b, … = rnn_step_backward(g_h, …, cache[k])``: the program's step ``step``
    backward, seeded with ``seeds`` (one per carried state), its gradients bound to the
    hidden names ``targets`` (the snippet's own names are assigned from them after)."""

    fn: str = ""
    step: int = 0
    seeds: tuple[G.Expr, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass
class Steps:
    """What the loop reader needs of a program unrolled over ``T`` steps."""

    T: int
    #: The names written with a step index (``x``, ``h``, ``dh``, ``dx``…).
    bases: set[str]
    #: Each step's equations, in program order.
    equations: dict[int, list[Equation]]
    #: The per-step inputs (``x``), in the program's order.
    inputs: list[str]
    #: The states step k takes from step k−1 (``h``, ``c``): the last computed first, the
    #: order a step forward returns them (next_h, next_c) and its backward takes theirs.
    carried: list[str]
    params: list[Any]
    values: dict[str, Any] = field(repr=False, default_factory=dict)

    @classmethod
    def of(cls, sd: StagedDerivation) -> Steps | None:
        """The steps of ``sd``'s program (None: no input is written per step)."""
        g = sd.graph
        names = [*g.values, *(f"d{n}" for n in sd.gradients)]
        if g.upstream is not None:
            names.append(g.upstream.name)
        names += [u.name for u in g.more_upstream.values()]
        found = [p for p in map(indexed, names) if p is not None]
        inputs: list[str] = []
        T = 0
        for sym in g.inputs:
            hit = indexed(str(sym.name))
            if hit is not None and hit[1] >= 1:
                T = max(T, hit[1])
                if hit[0] not in inputs:
                    inputs.append(hit[0])
        if T == 0:
            return None
        by_step: dict[int, list[Equation]] = {}
        for eq in g.equations:
            hit = indexed(str(getattr(eq.out, "name", "")))
            if hit is not None:
                by_step.setdefault(hit[1], []).append(eq)
        carried: list[tuple[int, str]] = []
        last = by_step.get(T, [])
        for place, eq in enumerate(last):
            base = indexed(str(eq.out.name))
            assert base is not None
            before = g.values.get(f"{base[0]}_{T - 1}")
            if before is not None and any(before in e.rhs.free_symbols for e in last):
                carried.append((place, base[0]))
        order = [b for _, b in sorted(carried, reverse=True)]
        return cls(T, {b for b, _ in found}, by_step, inputs, order, list(g.parameters), g.values)

    def arguments(self, k: int) -> list[Any]:
        """Step k's forward arguments: its inputs, the carried states it starts from, the
        parameters (CS231n's ``rnn_step_forward(x, prev_h, Wx, Wh, b)``)."""
        names = [f"{b}_{k}" for b in self.inputs] + [f"{b}_{k - 1}" for b in self.carried]
        missing = [n for n in names if n not in self.values]
        if missing:
            raise FormulaError(f"the program has no {', '.join(missing)} (step {k}'s arguments)")
        return [self.values[n] for n in names] + self.params

    def backward(self, k: int, seeds: list[Any], line: int, fn: str) -> list[Any]:
        """Step k's gradients of its arguments, given the cotangents of its carried
        states (the step's own derivation: the reverse walk over its equations)."""
        if len(seeds) != len(self.carried):
            states = ", ".join(f"{b}_{k}" for b in self.carried)
            raise FormulaError(
                f"line {line}: {fn}() is given {len(seeds)} gradient(s) before the cache; "
                f"the program's step carries {len(self.carried)} ({states})"
            )
        given: dict[Any, Any] = {}
        for base, seed in zip(self.carried, seeds, strict=True):
            out = self.values[f"{base}_{k}"]
            if is_scalar(seed):
                if seed != 0:
                    raise FormulaError(f"line {line}: {fn}() is given a scalar for d{base}")
                continue  # a zero start: nothing comes back through this state
            if tuple(seed.shape) != tuple(out.shape):
                raise FormulaError(
                    f"line {line}: {fn}() is given a {seed.shape[0]}×{seed.shape[1]} "
                    f"gradient for {base}_{k}, which is {out.shape[0]}×{out.shape[1]}"
                )
            given[out] = seed
        args = self.arguments(k)
        eqs = self.equations.get(k, [])
        # the walk collects at named values only: the step's own intermediates too
        acc = reverse_walk(eqs, given, [*args, *(e.out for e in eqs)]) if given else {}
        return [add(acc[a]) if acc.get(a) else ZeroMatrix(*a.shape) for a in args]

    def key_of(self, key: str, k: int) -> int | None:
        """Which of step k's arguments a dict key of its gradients names (Ng's
        ``dxt``, ``da_prev``, ``dWax``; None: none)."""
        if not key.startswith("d"):
            return None
        rest = key[1:]
        places = len(self.inputs) + len(self.carried)
        for j, p in enumerate(self.params):
            if rest == str(p.name):
                return places + j
        for j, base in enumerate(self.inputs):
            if rest in (base, f"{base}t", f"{base}_t"):
                return j
        for j, base in enumerate(self.carried):
            if rest in (f"{base}_prev", f"{base}prev", f"prev_{base}"):
                return len(self.inputs) + j
        return None

    def describe(self, k: int) -> str:
        """``x_2, h_1, Wx, Wh, b``: what step k's backward returns the gradients of."""
        return ", ".join(str(a.name) for a in self.arguments(k))


#: The steps of the last programs whose loops were read, each with its step backward
#: passes by (step, seeds): a diagnosis reruns the snippet once per slip tried, and most
#: reruns pass the same seeds (the program is held, so its id is not reused).
_RECENT: list[tuple[StagedDerivation, Steps, dict[Any, list[Any]]]] = []
MAX_RECENT = 4
MAX_PASSES = 512


#: What walking one step's backward costs a diagnosis' budget, in builds of a line (an
#: LSTM step's walk takes about as long as 25 lines built).
STEP_BUILDS = 25


def bind_step(
    sd: StagedDerivation,
    call: StepCall,
    seeds: list[Any],
    charge: Callable[[int], None] | None = None,
) -> list[Any]:
    """The values of a step call's hidden names: step ``call.step``'s gradients (a walk
    not made before is charged to ``charge``)."""
    found = next((r for r in _RECENT if r[0] is sd), None)
    if found is None:
        steps = Steps.of(sd)
        assert steps is not None  # the call was made by unrolling a loop over its steps
        found = (sd, steps, {})
        _RECENT.insert(0, found)
        del _RECENT[MAX_RECENT:]
    _, steps, passes = found
    key = (call.step, tuple(seeds))
    if key not in passes:
        if len(passes) >= MAX_PASSES:
            passes.clear()
        if charge is not None:
            charge(STEP_BUILDS)
        passes[key] = steps.backward(call.step, seeds, call.line, call.fn)
    return passes[key]


#: Each step call's gradient by its value, to the name standing for it: a name is never
#: given to two values (a number that only grows), so the values at the random points
#: can be kept from one reading of a snippet to the next (a diagnosis reruns it per slip).
_NAMED: dict[Any, Any] = {}
_NUMBER = itertools.count(1)
MAX_NAMED = 20000


def stand_ins(names: tuple[str, ...], values: list[Any], defs: dict[Any, Any]) -> dict[str, Any]:
    """Each gradient of a step call as a name of its own (``defs`` keeps its value): the
    next step's gradients read it by name, so nothing is repeated in their trees."""
    out: dict[str, Any] = {}
    for name, value in zip(names, values, strict=True):
        if isinstance(value, ZeroMatrix) or is_scalar(value):
            out[name] = value
            continue
        sym = _NAMED.get(value)
        if sym is None:
            if len(_NAMED) >= MAX_NAMED:
                _NAMED.clear()  # only new names follow: none is reused for another value
            sym = _NAMED[value] = MatrixSymbol(f"{name}#{next(_NUMBER)}", *value.shape)
        defs[sym] = value
        out[name] = sym
    return out
