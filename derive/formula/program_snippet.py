"""A NumPy snippet read against a forward program: its statements, its names, its values.

A student's batch-norm backward is a few lines of NumPy: values unpacked from a cache,
staged cotangents, in-place updates, a ``return``. Each logical line is parsed by the
program grammar (``statement``), never evaluated; every name is resolved to the program's
own value of that name (exactly, or as a reading the answer states: ``x_hat`` read as
``Xhat``), to a name the user declared (``--symbol ivar=1/sqrt(var + eps)``), or to an
earlier line of the snippet. The result is one SymPy expression per assigned name, built
by the program's own builder (so its shapes are checked the same way).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import sympy

from derive.core.compact import too_big
from derive.core.program import (
    ProgramError,
    ProgramReadError,
    _Builder,
    is_scalar,
    mask_names,
)
from derive.core.staged import StagedDerivation
from derive.formula import framework_calls as frameworks
from derive.formula import program_branches as branches
from derive.formula import program_dicts as dicts
from derive.formula import program_lambdas as lambdas
from derive.formula import program_loop_run as loop_run
from derive.formula import program_loop_text as loops
from derive.formula import program_sublayers as sublayers
from derive.formula.ir import FormulaError
from derive.formula.program_bindings import Bindings, own_shapes
from derive.formula.program_lines import (
    MAX_BUILT,
    MAX_NODES,
    Names,
    OutOfBuilds,
    Reading,
    ShapeError,
    _Unknown,
    key,
    logical_lines,
)
from derive.formula.program_slips import rebuild
from derive.formula.program_steps import StepCall, bind_step, stand_ins
from derive.formula.program_sublayers import LayerCalls
from derive.spec import program_grammar as G

#: A function's header (``def _backward(self, dx_out: mx.array) -> mx.array:``), its body
#: being the snippet; its parameters are names like any other (the program's own).
_HEADER = re.compile(r"def\s+[A-Za-z_]\w*\s*\(.*\)\s*(->.*)?:$")

__all__ = ["Names", "OutOfBuilds", "Reader", "Reading", "ShapeError", "key", "logical_lines"]


class Reader(Bindings):
    """Runs the statements of a snippet in order, over the program's builder."""

    def __init__(self, sd: StagedDerivation, names: Names) -> None:
        self.sd = sd
        self.names = names
        #: A diagnosis' budget of fresh builds (right-hand sides not built before), None
        #: when reading the snippet: a count, not a clock, so the answer never depends on
        #: the machine's load.
        self.budget: int | None = None
        #: Built right-hand sides by (expression, the values of the names it reads): a
        #: diagnosis reruns the snippet once per slip tried, and most lines are unchanged.
        self.built: dict[Any, Any] = {}
        #: How the snippet's ``if self.layer:`` branches were read (``program_sublayers``).
        self.branch_notes: list[str] = []

    def charge(self, builds: int) -> None:
        """A diagnosis' rerun spends ``builds`` of its budget (a step's backward walked)."""
        if self.budget is not None:
            if self.budget < builds:
                raise OutOfBuilds
            self.budget -= builds

    def parse(self, text: str) -> list[G.Statement]:
        """The snippet's statements, each logical line parsed by the program grammar."""
        out: list[G.Statement] = []
        self.branch_notes = []
        lines = logical_lines(text)
        if lines and _HEADER.match(lines[0][1]):  # def backward(self, dout): its body is read
            lines = lines[1:]
        lines = lambdas.inline(lines, self.branch_notes)  # S = lambda x: x.sum(axis=0)
        known = lambda name: self.names.find(name) is not None  # noqa: E731
        layers = frameworks.layer_reads(self.sd.graph.spec)
        lines = [
            (n, frameworks.as_numpy(line, known, self.branch_notes, layers)) for n, line in lines
        ]
        if loops.has_loop(lines):  # a BPTT loop over time: unrolled at the program's T
            return loop_run.unroll(lines, text, self.sd)
        lines = dicts.named_values(lines, known, self.branch_notes)  # gradients = {"dW": dW}
        if any(line.startswith("if ") for _, line in lines):  # if mode == 'train': …
            raw = text.splitlines()
            indents = {n: len(raw[n - 1]) - len(raw[n - 1].lstrip()) for n, _ in lines}
            spec = self.sd.graph.spec
            lines = sublayers.resolve(lines, indents, spec, self.branch_notes)
            lines = branches.resolve(lines, indents, spec.mode, getattr(spec, "mode_at", ""))
        for number, line in lines:
            try:
                out.append(G.parse_statement(line, number))
            except G.EquationError as err:
                raise FormulaError(f"line {number}: {err.problem}", err.column or None) from None
        if not out:
            raise FormulaError("no statement to check: write e.g. dX = ...")
        return out

    def run(self, statements: list[G.Statement]) -> Reading:
        """Each statement built over the program's builder, in order, as NumPy runs it."""
        b = _Builder(self.sd.graph.spec)
        b.masks = mask_names(self.sd.graph)
        b.numpy_1d = True
        calls = LayerCalls(self.sd.graph)  # self.softmax.backward(d)
        b.layers = calls
        env: dict[str, Any] = {}
        defs: dict[Any, Any] = {}  # a step call's gradients, each named once (its tree
        # repeats the gradients passed in: unnamed, an unrolled LSTM grows exponentially)
        notes: list[str] = []
        lines: dict[str, int] = {}
        order: list[str] = []
        # NumPy's aliasing: after ``dx = dxmu`` both names are one array, so a later
        # ``dxmu += …`` changes dx too (each name maps to the set of names sharing its array).
        shared: dict[str, set[str]] = {}

        def rebind(target: str, same_as: str | None = None) -> None:
            group = shared.pop(target, None)
            if group is not None:
                group.discard(target)
            if same_as is not None and not is_scalar(env.get(same_as)):
                group = shared.setdefault(same_as, {same_as})
                group.add(target)
                shared[target] = group

        def resolve(expr: G.Expr, line: int) -> None:
            for node in G.walk(expr):
                if isinstance(node, G.Name) and node.id not in env:
                    env[node.id] = self.value_of(node.id, line, notes)
                elif isinstance(node, G.Pick) and node.labels not in env:  # S[range(N), y]
                    env[node.labels] = self.value_of(node.labels, line, notes)
            for name, value in env.items():
                if isinstance(value, _Unknown) and any(
                    isinstance(n, G.Name) and n.id == name for n in G.walk(expr)
                ):
                    raise FormulaError(
                        f"line {line}: unknown name {name!r} ({value.where}); "
                        f"{self.known()}; declare it with --symbol {name}=EXPR"
                    )

        def build(expr: G.Expr, line: int, text: str) -> Any:
            expr = self.named_parts(expr, env, line, notes)
            expr = own_shapes(expr, env, line, lambda e: build(e, line, text), notes)
            resolve(expr, line)
            reads = tuple(sorted({n.id for n in G.names(expr)}))
            one_d = tuple(n for n in reads if n in b.one_d)  # NumPy's 1-d names read
            key = (expr, line, reads, tuple(env.get(n) for n in reads), one_d)
            if key in self.built:
                return self.built[key]
            if self.budget is not None:
                if self.budget <= 0:
                    raise OutOfBuilds
                self.budget -= 1
            b.env = {k: v for k, v in env.items() if not isinstance(v, _Unknown)}
            b.where = ""  # the answer says the line itself
            try:
                value = b.build(expr)
                if too_big(value, MAX_NODES):
                    raise FormulaError(
                        f"line {line}: put together with the lines before it, this value has "
                        f"over {MAX_NODES} operations; check a shorter snippet"
                    )
                if len(self.built) < MAX_BUILT:
                    self.built[key] = value
                return value
            except ProgramReadError as err:  # a construct not read: no verdict
                raise FormulaError(f"line {line}: {str(err).split(': ', 1)[-1]}") from None
            except ProgramError as err:
                raise ShapeError(str(err).split(": ", 1)[-1], line) from None

        # What each name was given by its own last line: an intermediate is judged by that
        # (the author's dxmu, before dx's in-place update changed the shared array); a name
        # the snippet returns is judged by its final value, as NumPy hands it back.
        own: dict[str, Any] = {}
        returned: set[str] = set()
        for st in statements:
            if isinstance(st, StepCall):  # a step's backward called in a loop over time
                seeds = [build(e, st.line, st.text) for e in st.seeds]
                grads = bind_step(self.sd, st, seeds, self.charge)
                env.update(stand_ins(st.targets, grads, defs))
                notes.extend(n for n in st.notes if n not in notes)
                continue
            if isinstance(st, G.Return):
                returned.update(re.findall(r"[A-Za-z_]\w*", st.text.removeprefix("return")))
                continue
            if isinstance(st, G.Unpack):
                for name in st.targets:
                    rebind(name)
                self.unpack(st, env, notes, build)
                continue
            target = st.target
            if isinstance(st, G.SetItem):
                if target not in env:
                    env[target] = self.value_of(target, st.line, notes)
                env[target] = self.set_item(st, env[target], build)
                if not is_scalar(env[target]):  # in place: every alias sees the update
                    for other in shared.get(target, set()) - {target}:
                        env[other] = env[target]
            elif isinstance(st, G.Assign) and isinstance(st.expr, G.Lookup):
                rebind(target)
                env[target] = self.looked_up(st.expr, target, st.line, notes)
            elif isinstance(st, G.Update):
                if target not in env:
                    env[target] = self.value_of(target, st.line, notes)
                expr = G.Bin(st.op, G.Name(target, st.line), st.expr, st.line)
                env[target] = build(expr, st.line, st.text)
                if not is_scalar(env[target]):  # in place: every alias sees the update
                    for other in shared.get(target, set()) - {target}:
                        env[other] = env[target]
            else:
                value = build(st.expr, st.line, st.text)
                alias = st.expr.id if isinstance(st.expr, G.Name) else None
                rebind(target, alias if alias != target else None)
                env[target] = value
            b.env = {k: v for k, v in env.items() if not isinstance(v, _Unknown)}  # a cached
            # build leaves the builder's names as another line had them
            if isinstance(st, G.Assign | G.Update) and b.is_one_d(
                G.Bin(st.op, G.Name(target, st.line), st.expr, st.line)
                if isinstance(st, G.Update)
                else st.expr
            ):
                b.one_d.add(target)
            else:
                b.one_d.discard(target)
            own[target] = env[target]
            lines[target] = st.line
            if target in order:
                order.remove(target)
            order.append(target)
        notes += self.branch_notes + calls.describe(statements)
        final = {n: env[n] if n in returned else own[n] for n in order}
        values = {n: v for n, v in final.items() if not isinstance(v, _Unknown)}
        return Reading(values, lines, notes, order, frozenset(returned), defs)

    def named_parts(self, expr: G.Expr, env: dict[str, Any], line: int, notes: list[str]) -> G.Expr:
        """``expr`` with each ``cache['z']`` inside it read as the program's value (bound
        in ``env`` under its own spelling) and each named axis (``axis=cache['axis']``,
        ``axis=axis``) made the number the program's constant of that name holds."""
        while True:  # one part at a time, each rebuild keeps the others' identity
            node = next(
                (
                    n
                    for n in G.walk(expr)
                    if isinstance(n, G.Lookup) or (isinstance(n, G.Call) and n.axis_from)
                ),
                None,
            )
            if isinstance(node, G.Lookup):
                spelled = f"{node.container}[{node.key!r}]"
                if spelled not in env:
                    env[spelled] = self.looked_up(node, node.key, line, notes)
                expr = rebuild(expr, node, G.Name(spelled, node.line, node.column))
            elif isinstance(node, G.Call):
                expr = rebuild(expr, node, self.named_axis(node, env, line, notes))
            else:
                return expr

    def named_axis(self, call: G.Call, env: dict[str, Any], line: int, notes: list[str]) -> G.Call:
        """``sum(x, axis=cache['axis'])`` with the axis the program's constant gives."""
        named = call.axis_from
        assert named is not None
        if isinstance(named, G.Lookup):
            spelled = f"{named.container}[{named.key!r}]"
            value = self.looked_up(named, named.key, line, notes)
        else:
            spelled = named.id
            value = env[named.id] if named.id in env else self.value_of(named.id, line, notes)
        number = value if isinstance(value, sympy.Integer) else None
        if number is None or int(number) not in (-2, -1, 0, 1):
            raise FormulaError(
                f"line {line}: {call.fn}(): axis={spelled} is not a program constant 0 or 1 "
                "(name it in the program's [hyperparameters], e.g. axis = 0)"
            )
        axis: G.Axis = 0 if int(number) % 2 == 0 else 1
        return replace(call, axis=axis, axis_from=None)
