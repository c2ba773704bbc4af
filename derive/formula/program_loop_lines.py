"""A BPTT snippet's lines at the loop's current integers: shapes, allocations over time,
a step's cache, the step calls and every other line with its time slices named
(``program_loops`` reads the integers and names; ``program_loop_run`` walks the loops)."""

from __future__ import annotations

import re

from derive.formula.ir import FormulaError
from derive.formula.program_loop_text import (
    ALLOC_RE,
    ASSIGN_RE,
    CALL_RE,
    NAME_RE,
    TRANSPOSE_RE,
    balanced,
    split_top,
    unparen,
)
from derive.formula.program_loops import Unroller
from derive.formula.program_steps import StepCall
from derive.spec import program_grammar as G


class LineReader(Unroller):
    """Each line of the snippet made statements for the snippet reader."""

    def parse(self, n: int, text: str) -> G.Statement:
        try:
            return G.parse_statement(text, n)
        except G.EquationError as err:
            raise FormulaError(f"line {n}: {err.problem}", err.column or None) from None

    def emit(self, n: int, line: str) -> None:
        """One line of the snippet at the loop's current integers."""
        if not balanced(line):
            raise FormulaError(f"line {n}: its brackets do not pair up")
        if line.startswith("return"):
            parts = split_top(line.removeprefix("return").strip())
            parts = [k for p in parts for k in self.literals.get(p, [p])]
            given = self.given()
            for p in parts:
                if p in self.built and given is not None and self.layout.get(p, given) != given:
                    raise FormulaError(
                        f"line {n}: {p} is handed back with its time on axis "
                        f"{self.layout[p]}, where the given arrays have it on axis {given}"
                    )
            named = [
                ", ".join(f"{p}_{k}" for k in range(1, self.steps.T + 1)) if p in self.built else p
                for p in parts
            ]
            self.out.append(self.parse(n, "return " + ", ".join(named)))
            return
        m = ASSIGN_RE.match(line)
        if m is None:
            self.out.append(self.parse(n, self.subscripts(line, n)))
            return
        lhs, op, rhs = m["lhs"].strip(), m["op"], m["rhs"].strip()
        left, right = split_top(lhs), split_top(rhs)
        if len(left) > 1 and len(left) == len(right) and any(p[:1] in "([" for p in left):
            for a, b in zip(left, right, strict=True):  # (N, T, H), (D, _) = dh.shape, …
                self.emit(n, f"{a} = {b}")
            return
        if NAME_RE.match(lhs) and (
            lhs in self.ints or lhs in self.counters or (not op and self.mentions_int(rhs))
        ):
            v = self.integer(rhs, n)
            if v is not None:
                old = self.ints.get(lhs, 0)
                self.ints[lhs] = {"": v, "+": old + v, "-": old - v, "*": old * v}.get(op, v)
                return
        if not op and self.special(n, line, lhs, rhs):
            return
        if lhs[:1] in "([" or len(left) > 1:  # (D, _) = Wx.shape
            lhs = ", ".join(split_top(unparen(lhs)))
        lhs, rhs = self.subscripts(lhs, n), self.subscripts(rhs, n)
        self.bound(n, rhs)
        entry = self._entry(lhs)
        if entry is not None:
            if op and lhs not in self.filled:
                if self.built[entry] == "empty":
                    raise FormulaError(
                        f"line {n}: {lhs} {op}= … adds to an entry of np.empty (never set)"
                    )
                rhs = rhs if op == "+" else f"-({rhs})" if op == "-" else "0"
                op = ""
            self.filled.add(lhs)
        self.out.append(self.parse(n, f"{lhs} {op}= {rhs}"))
        for name in split_top(lhs):
            self.unbound.pop(name, None)

    def bound(self, n: int, rhs: str) -> None:
        """A line reading a name unpacked from a step's cache that the program lacks."""
        for word in re.findall(r"[A-Za-z_]\w*", rhs):
            if word in self.unbound:
                raise FormulaError(
                    f"line {n}: {word} is {self.unbound[word]}, which the program does not "
                    "name; name it in the program's [backward] cache"
                )

    def _entry(self, name: str) -> str | None:
        """The array over time whose step ``name`` is (``dx_3`` of ``dx``)."""
        base = name.rsplit("_", 1)[0] if "_" in name else ""
        return base if base in self.built and NAME_RE.match(name) else None

    def special(self, n: int, line: str, lhs: str, rhs: str) -> bool:
        """Shapes, allocations, transposes, a step's cache and the step calls."""
        targets = [t.strip() for t in split_top(unparen(lhs))]
        if rhs.startswith("{") and rhs.endswith("}") and NAME_RE.match(lhs):
            self.literal(n, lhs, rhs[1:-1])
            return True
        if rhs in self.containers and len(targets) > 1:  # (caches, x) = caches
            for name in targets:
                if name not in self.containers and not self._over_time(name) and name != "_":
                    raise FormulaError(
                        f"line {n}: cannot tell what {name} is in {lhs} = {rhs} (read: the "
                        "per-step caches and the arrays over time)"
                    )
            return True
        shape = re.match(r"^(\w+)\.shape$", rhs)
        if shape and self._over_time(shape.group(1)) and len(targets) == 3:
            self.shape(n, shape.group(1), targets)
            return True
        alloc = ALLOC_RE.match(rhs)
        if alloc and NAME_RE.match(lhs):
            args = split_top(alloc["args"])
            sizes = split_top(unparen(args[0])) if args and args[0] else []
            like = alloc["fn"].endswith("_like")
            if (like and self._over_time(args[0])) or (not like and len(sizes) == 3):
                self.built[lhs] = "empty" if alloc["fn"].startswith("empty") else "zeros"
                self.layout.pop(lhs, None)
                at = (
                    [self.time_axis(args[0])]
                    if like
                    else [i for i, z in enumerate(sizes) if self.integer(z, n) == self.steps.T]
                )
                if len(at) == 1 and at[0] is not None:  # np.zeros((N, T, D)): time on axis 1
                    self.layout[lhs] = at[0]
                return True
            if not like and len([s for s in sizes if s]) == 1:  # np.zeros(H): a zero start
                self.out.append(self.parse(n, f"{lhs} = 0"))
                return True
        t = TRANSPOSE_RE.match(rhs)
        if t and (t["x"] or t["y"]) == lhs and self._over_time(lhs):
            perm = [int(v) for v in re.findall(r"-?\d+", t["p"] or t["q"] or "")]
            old = self.time_axis(lhs)
            if sorted(perm) != [0, 1, 2]:
                raise FormulaError(f"line {n}: {rhs} is read only as a permutation of 3 axes")
            if old is not None:
                self.layout[lhs] = perm.index(old)
            return True
        ref = re.match(r"^(\w+)\[([^\[\]]+)\]$", rhs)
        if ref and ref.group(1) in self.containers:
            k = self.step_of(ref.group(2), n)
            if len(targets) == 1:
                self.refs[targets[0]] = k
                return True
            order = self.sd.graph.spec.cache
            if len(order) != len(targets):
                raise FormulaError(
                    f"line {n}: {len(targets)} names are unpacked from a step's cache; the "
                    f"program's [backward] cache lists {len(order)} (step 1's, in order)"
                )
            for j, name in enumerate(targets):
                if not NAME_RE.match(name):
                    raise FormulaError(f"line {n}: cannot unpack a step's cache into {name!r}")
                value = self.cached(k, j, n)
                if value in self.steps.values:
                    self.out.append(self.parse(n, f"{name} = {value}"))
                    self.unbound.pop(name, None)
                elif name != "_":  # an error only where a line reads it
                    self.unbound[name] = f"item {j} of step {k}'s cache ({value})"
            return True
        call = CALL_RE.match(rhs)
        if call:
            self.step_call(n, line, targets, call["fn"], split_top(call["args"]))
            return True
        return False

    def shape(self, n: int, name: str, targets: list[str]) -> None:
        """``N, T, H = dh.shape``: T is the program's step count, the others one step's."""
        axes = set(self.axes.values())
        axis = self.axes.get(name, next(iter(axes)) if len(axes) == 1 else None)
        if axis is None:
            raise FormulaError(f"line {n}: cannot tell which axis of {name} is time")
        if targets[axis] != "_":
            self.ints[targets[axis]] = self.steps.T
        rest = [t for i, t in enumerate(targets) if i != axis]
        one = f"{name}_1"
        if one not in self.steps.values and one not in self._upstreams():
            raise FormulaError(f"line {n}: cannot tell one step's shape of {name} (no {one})")
        if any(t != "_" for t in rest):
            self.out.append(self.parse(n, f"{', '.join(rest)} = {one}.shape"))

    def step_call(self, n: int, line: str, targets: list[str], fn: str, args: list[str]) -> None:
        """``dx_t, dprev_h, … = rnn_step_backward(g, cache[t])``: the program's own step."""
        if fn in self.steps.values:
            raise FormulaError(f"line {n}: {fn} is a name of the program, not a step's backward")
        last = args[-1]
        ref = re.match(r"^(\w+)\[([^\[\]]+)\]$", last)
        if ref and ref.group(1) in self.containers:
            k = self.step_of(ref.group(2), n)
        elif last in self.refs:
            k = self.refs[last]
        else:
            raise FormulaError(f"line {n}: cannot tell which step's cache {last!r} is")
        seeds: list[G.Expr] = []
        for a in args[:-1]:
            self.bound(n, a)
            try:
                seeds.append(G.parse_expression(self.subscripts(a, n), n))
            except G.EquationError as err:
                raise FormulaError(f"line {n}: {err.problem}") from None
        grads = self.steps.describe(k)
        count = len(self.steps.arguments(k))
        keys: list[tuple[str, int]] = []
        if len(targets) == 1 and count > 1 and targets[0] in self.dicts:  # a dict of them
            keys = self.keys_of(n, targets[0], k, fn)
        elif len(targets) != count:
            raise FormulaError(
                f"line {n}: {fn}() returns {count} gradients here ({grads}: the step's "
                f"inputs, carried states and parameters, in order); the line unpacks {len(targets)}"
            )
        hidden = tuple(f"{fn}_{k}_{j}" for j in range(count))
        expr: G.Expr = seeds[0] if seeds else G.Num(0, n)
        for s in seeds[1:]:
            expr = G.Bin("+", expr, s, n)
        note = (
            f"read {fn}(…) as the program's own step backward (at step k: the gradients of "
            f"{self.steps.describe(1).replace('_1', '_k').replace('_0', '_{k-1}')})"
        )
        self.calls += 1
        self.out.append(StepCall(hidden, expr, n, line, (), fn, k, tuple(seeds), (note,)))
        for key, j in keys:
            self.out.append(G.Assign(f"{targets[0]}__{key}", G.Name(hidden[j], n), n, line))
        for name, h in zip(targets if not keys else [], hidden, strict=False):
            name = self.subscripts(name, n)
            self.unbound.pop(name, None)
            if name == "_":
                continue
            if not NAME_RE.match(name):
                raise FormulaError(f"line {n}: cannot assign {fn}()'s result to {name}")
            if self._entry(name) is not None:
                self.filled.add(name)
            self.out.append(G.Assign(name, G.Name(h, n), n, line))

    def keys_of(self, n: int, name: str, k: int, fn: str) -> list[tuple[str, int]]:
        """The keys the snippet reads of a step call's dict (``gradients['dxt']``), each to
        the step argument whose gradient it names: ``d`` and a parameter (``dWax``), the
        input (``dxt``, ``dx``), a carried state's previous value (``da_prev``)."""
        args = [str(a.name) for a in self.steps.arguments(k)]
        found = []
        for key in self.keys.get(name, []):
            j = self.steps.key_of(key, k)
            if j is None:
                raise FormulaError(
                    f"line {n}: cannot tell which gradient {name}[{key!r}] of {fn}() is "
                    f"(its gradients are of {', '.join(args)}: read d<parameter>, "
                    "d<input>t, d<state>_prev)"
                )
            found.append((key, j))
        shown = ", ".join(f"{key} as d{args[j]}" for key, j in found)
        note = f"read {name}'s keys at step k: {shown}".replace(f"_{k}", "_k")
        self.notes.append(note.replace(f"_{k - 1}", "_{k-1}"))
        return found

    def literal(self, n: int, name: str, body: str) -> None:
        """``gradients = {"dx": dx, "da0": da0}``: each key a name of the snippet."""
        keys = []
        for item in split_top(body):
            m = re.fullmatch(r"(['\"])(\w+)\1\s*:\s*(.+)", item)
            if m is None:
                raise FormulaError(f"line {n}: cannot read the dict item {item!r}")
            key, value = m.group(2), self.subscripts(m.group(3).strip(), n)
            keys.append(key)
            if value != key:
                self.out.append(self.parse(n, f"{key} = {value}"))
        self.literals[name] = keys
