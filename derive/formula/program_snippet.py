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
from dataclasses import dataclass, field, replace
from typing import Any

import sympy
from sympy.matrices.expressions import MatAdd

from derive.core import nodes as N
from derive.core.compact import too_big
from derive.core.program import (
    ProgramError,
    ProgramReadError,
    _Builder,
    from_end,
    is_scalar,
    mask_names,
)
from derive.core.staged import StagedDerivation
from derive.formula import program_branches as branches
from derive.formula.ir import FormulaError
from derive.formula.program_slips import rebuild
from derive.spec import program_grammar as G

#: The longest snippet read (lines), a bound on every walk over it.
MAX_LINES = 200
#: The most built right-hand sides kept between runs of one snippet.
MAX_BUILT = 5000
#: The largest value a line may build, its earlier lines inlined (a line that doubles the
#: one before would otherwise grow without end).
MAX_NODES = 5000


class OutOfBuilds(Exception):
    """A diagnosis' search for slips used up its builds (the verdict does not depend on it)."""


def key(name: str) -> str:
    """A name compared loosely: ``x_hat``, ``xHat`` and ``Xhat`` are one key."""
    return name.replace("_", "").lower()


def logical_lines(text: str) -> list[tuple[int, str]]:
    """The snippet's statements with their first line number: comments dropped, lines
    joined inside brackets and after a backslash, ``;`` splitting a line."""
    out: list[tuple[int, str]] = []
    buf, start, depth, quote = "", 0, 0, ""
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise FormulaError(f"the snippet has {len(lines)} lines; the limit is {MAX_LINES}")
    for number, line in enumerate(lines, start=1):
        if not buf:
            start = number
        i = 0
        while i < len(line):
            ch = line[i]
            if quote:
                quote = "" if ch == quote else quote
            elif ch in "'\"":
                quote = ch
            elif ch == "#":
                break
            elif ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth = max(depth - 1, 0)
            elif ch == ";" and depth == 0:
                if buf.strip():
                    out.append((start, buf.strip()))
                buf, start = "", number
                i += 1
                continue
            buf += ch
            i += 1
        quote = ""
        if buf.rstrip().endswith("\\"):
            buf = buf.rstrip()[:-1] + " "
        elif depth > 0:
            buf += " "
        elif buf.strip():
            out.append((start, buf.strip()))
            buf = ""
    if buf.strip():
        out.append((start, buf.strip()))
    return out


@dataclass
class Names:
    """What a name in the snippet can stand for: the program's values (inputs, parameters,
    hyperparameters, sizes, intermediates, the upstream gradient and the named
    cotangents), and the user's declarations."""

    values: dict[str, Any]
    declared: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, sd: StagedDerivation) -> Names:
        """The names of a derived program: its values, sizes, upstream and cotangents."""
        g = sd.graph
        values: dict[str, Any] = dict(g.values)
        values.update(g.sizes)
        if g.upstream is not None:
            values[g.upstream.name] = g.upstream
        for up in g.more_upstream.values():
            values[up.name] = up
        for st in sd.cotangents:
            values[st.lhs.name] = st.lhs
        return cls(values)

    def find(self, name: str) -> tuple[str, Any] | None:
        """The program's name and value for ``name``: exact, declared, or the one value
        whose loose key matches (None: no value, or several)."""
        if name in self.declared:
            return name, self.declared[name]
        if name in self.values:
            return name, self.values[name]
        hits = [(n, v) for n, v in self.values.items() if key(n) == key(name)]
        return hits[0] if len(hits) == 1 else None


@dataclass
class Reading:
    """A snippet's values: each assigned name's expression (its last assignment), the line
    of that assignment, the readings of names that were not exact, and the names a
    ``return`` hands back (what the snippet computes; the rest are its own helpers)."""

    values: dict[str, Any]
    lines: dict[str, int]
    notes: list[str]
    order: list[str]
    returned: frozenset[str] = frozenset()


class _Unknown:
    """A name unpacked from a container that the program does not have: an error only
    when a line uses it."""

    def __init__(self, where: str) -> None:
        self.where = where


class Reader:
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

    def parse(self, text: str) -> list[G.Statement]:
        """The snippet's statements, each logical line parsed by the program grammar."""
        out: list[G.Statement] = []
        lines = logical_lines(text)
        if any(line.startswith("if ") for _, line in lines):  # if mode == 'train': …
            raw = text.splitlines()
            indents = {n: len(raw[n - 1]) - len(raw[n - 1].lstrip()) for n, _ in lines}
            spec = self.sd.graph.spec
            lines = branches.resolve(lines, indents, spec.mode, getattr(spec, "mode_at", ""))
        for number, line in lines:
            loop = re.match(r"(for|while)\b", line)
            if loop:  # a BPTT loop over time: not unrolled yet
                raise FormulaError(
                    f"line {number}: a loop ({loop.group(1)} …:) is not read yet; check one "
                    "step's backward, or write the steps out with each step's own names "
                    "(dh_2 = …, dh_1 = …)"
                )
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
        env: dict[str, Any] = {}
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
            resolve(expr, line)
            reads = tuple(sorted({n.id for n in G.names(expr)}))
            key = (expr, line, reads, tuple(env.get(n) for n in reads))
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
            own[target] = env[target]
            lines[target] = st.line
            if target in order:
                order.remove(target)
            order.append(target)
        final = {n: env[n] if n in returned else own[n] for n in order}
        values = {n: v for n, v in final.items() if not isinstance(v, _Unknown)}
        return Reading(values, lines, notes, order, frozenset(returned))

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

    def set_item(self, st: G.SetItem, old: Any, build: Any) -> Any:
        """``A[A > 0] = 1`` as ``where(A > 0, 1, A)``; ``A[range(N), y] op= v`` as ``A`` with
        each row's label entry replaced (or updated) by ``v``: NumPy's in-place semantics."""
        name = G.Name(st.target, st.line)
        value = st.expr if st.op is None else G.Bin(st.op, name, st.expr, st.line)
        if isinstance(st.index, G.Compare):
            where = G.Call("where", (st.index, value, name), None, st.line)
            return build(where, st.line, st.text)
        if isinstance(st.index, G.SliceOf):  # A[:, a:b] op= v: that block replaced
            if is_scalar(old):
                raise FormulaError(f"line {st.line}: {st.target} is not a matrix to slice")
            block = st.expr if st.op is None else G.Bin(st.op, st.index, st.expr, st.line)
            new = build(block, st.line, st.text)
            idx = st.index
            lo = 0 if idx.start is None else build(idx.start, st.line, st.text)
            hi = old.shape[idx.axis] if idx.stop is None else build(idx.stop, st.line, st.text)
            try:  # NumPy's a[:, -H:] counts from the end
                lo, hi = (from_end(v, old.shape[idx.axis], idx.axis) or v for v in (lo, hi))
                return N.replace_block(old, lo, hi, idx.axis, new)
            except N.ShapeMismatch as err:
                raise FormulaError(f"line {st.line}: {err}") from None
        assert isinstance(st.index, G.Pick)
        if is_scalar(old):
            raise FormulaError(f"line {st.line}: {st.target} is not a matrix to index")
        labels = self.names.find(st.index.labels)
        if labels is None or not isinstance(labels[1], N.Labels):
            raise FormulaError(f"line {st.line}: {st.index.labels!r} are not the program's labels")
        hot = N.OneHot(labels[1], tuple(old.shape))
        pick = G.Pick(name, st.index.labels, st.index.length, st.line)
        entry = st.expr if st.op is None else G.Bin(st.op, pick, st.expr, st.line)
        # each row's entry at its label moves by (new − old): A + onehot ⊙ (new − old)
        change = build(G.Bin("-", entry, pick, st.line), st.line, st.text)
        try:
            fitted = N.fit(change, hot, "'[]='")[0]
        except N.ShapeMismatch as err:  # one line, not a traceback (``-row_sum.T`` of a
            # 1-d sum: the reader has no 1-d arrays, and its row does not fit N entries)
            raise FormulaError(
                f"line {st.line}: the value set at {st.target}'s label entries does not fit them "
                f"({err}); write it as a column, one entry per row (keepdims=True, no .T)"
            ) from None
        # an unevaluated sum: SymPy's canonical MatAdd re-evaluates both sides deeply
        return MatAdd(old, N.hadamard(hot, fitted))

    def known(self) -> str:
        """The program's names, for an error message (the first 20)."""
        shown = ", ".join(list(self.names.values)[:20])
        return f"the program's names are {shown}"

    def value_of(self, name: str, line: int, notes: list[str]) -> Any:
        """The program's value of ``name`` (a loose reading noted), or an unknown-name error."""
        found = self.names.find(name)
        if found is None:
            raise FormulaError(
                f"line {line}: unknown name {name!r}; {self.known()}; "
                f"declare it with --symbol {name}=EXPR"
            )
        real, value = found
        if real != name and name not in self.names.declared:
            note = f"read {name} as the program's {real}"
            if note not in notes:
                notes.append(note)
        return value

    def looked_up(self, lookup: G.Lookup, target: str, line: int, notes: list[str]) -> Any:
        """``x = cache['key']``: the program's value the forward's cache dict names for
        the key (``[backward] cache``), else named by the key, else by the target."""
        named = dict(self.sd.graph.spec.cache_keys).get(lookup.key)
        for name in (named, lookup.key, target) if named else (lookup.key, target):
            found = self.names.find(name)
            if found is not None:
                real, value = found
                note = f"read {lookup.container}[{lookup.key!r}] as {real}"
                if real != lookup.key and note not in notes:
                    notes.append(note)
                return value
        return _Unknown(f"taken from {lookup.container}[{lookup.key!r}] on line {line}")

    def unpack(self, st: G.Unpack, env: dict[str, Any], notes: list[str], build: Any) -> None:
        """``N, D = x.shape`` binds sizes; ``a, b = cache`` binds each name to the
        program's value of that name, or by place where the program names its forward's
        cache (an unknown one is an error only where it is used)."""
        if isinstance(st.expr, G.ShapeOf) and st.expr.axis is None:
            x = build(st.expr.x, st.line, st.text)
            if len(st.targets) != 2 or not hasattr(x, "shape"):
                raise FormulaError(f"line {st.line}: {st.text}: a 2-D shape unpacks to two names")
            for name, size in zip(st.targets, x.shape, strict=True):
                env[name] = size
            return
        if st.values:  # a, b = u, v: every value built before any name is bound
            built = [build(v, st.line, st.text) for v in st.values]
            env.update(zip(st.targets, built, strict=True))
            return
        where = f"unpacked on line {st.line}"
        order = self.sd.graph.spec.cache
        by_place = isinstance(st.expr, G.Name) and len(order) == len(st.targets) > 1
        for k, name in enumerate(st.targets):
            if name == "_":
                continue
            if by_place and order[k] != name:  # the forward's cache, in its order
                found = self.names.find(order[k])
                if found is not None:
                    env[name] = found[1]
                    notes.append(f"read {name} as the program's {found[0]} (the cache's #{k + 1})")
                else:
                    env[name] = _Unknown(f"{where}, the forward's {order[k]}")
                continue
            found = self.names.find(name)
            if found is None:
                env[name] = _Unknown(where)
                continue
            real, env[name] = found
            if real != name:
                notes.append(f"read {name} as the program's {real}")


class ShapeError(ValueError):
    """A line of the snippet whose shapes do not fit (a verdict, not an unreadable line)."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line
