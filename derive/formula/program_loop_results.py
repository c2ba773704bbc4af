"""What a BPTT snippet's step calls give and what it hands back: a step's backward called
by name (its tuple or its dict of gradients), the entries of an array over time, a returned
dict's keys, the names a ``return`` hands back (``program_loop_lines`` reads the rest)."""

from __future__ import annotations

import re

from derive.formula.ir import FormulaError
from derive.formula.program_loop_text import NAME_RE, split_top
from derive.formula.program_loops import Unroller
from derive.formula.program_steps import StepCall
from derive.spec import program_grammar as G


class ResultReader(Unroller):
    """The step calls and the results of one snippet's unrolling."""

    def parse(self, n: int, text: str) -> G.Statement:
        """One rewritten line as a statement of the program grammar (line ``n``)."""
        try:
            return G.parse_statement(text, n)
        except G.EquationError as err:
            raise FormulaError(f"line {n}: {err.problem}", err.column or None) from None

    def handed_back(self, n: int, parts: list[str]) -> None:
        """``return dx, dh0, …``: an array over time as its steps (each in the layout of
        the given arrays, each set: a step np.zeros left is zeros), every name assigned."""
        parts = [k for p in parts for k in self.literals.get(p, [p])]
        given = self.given()
        assigned = self.assigned()
        named: list[str] = []
        for p in parts:
            if p not in self.built:
                if len(parts) > 1 and not NAME_RE.match(p):
                    raise FormulaError(f"line {n}: returns {p!r}: assign it to a name first")
                if NAME_RE.match(p) and p not in assigned and p not in self.steps.values:
                    raise FormulaError(f"line {n}: returns {p}, which no line assigns")
                named.append(p)
                continue
            if given is not None and self.layout.get(p, given) != given:
                raise FormulaError(
                    f"line {n}: {p} is handed back with its time on axis "
                    f"{self.layout[p]}, where the given arrays have it on axis {given}"
                )
            for k in range(1, self.steps.T + 1):
                step = f"{p}_{k}"
                if step not in self.filled:
                    if self.built[p] == "empty":
                        raise FormulaError(f"line {n}: {p}[…{k - 1}…] is never set (np.empty)")
                    like = step[1:] if step[1:] in self.steps.values else None
                    if like is None:
                        raise FormulaError(f"line {n}: {p}[…{k - 1}…] is never set")
                    self.out.append(self.parse(n, f"{step} = np.zeros_like({like})"))
                named.append(step)
        self.out.append(self.parse(n, "return " + ", ".join(named)))

    def assigned(self) -> set[str]:
        """The names the statements so far assign."""
        out: set[str] = set(self.ints)
        for st in self.out:
            if isinstance(st, G.Unpack):
                out.update(st.targets)
            elif not isinstance(st, G.Return):
                out.add(st.target)
        return out

    def _entry(self, name: str) -> str | None:
        """The array over time whose step ``name`` is (``dx_3`` of ``dx``)."""
        base = name.rsplit("_", 1)[0] if "_" in name else ""
        return base if base in self.built and NAME_RE.match(name) else None

    def step_call(self, n: int, line: str, targets: list[str], fn: str, args: list[str]) -> None:
        """``dx_t, dprev_h, … = rnn_step_backward(g, cache[t])``: the program's own step."""
        if fn in self.steps.values:
            raise FormulaError(f"line {n}: {fn} is a name of the program, not a step's backward")
        self.own_step(n, fn)
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

    def own_step(self, n: int, fn: str) -> None:
        """Refuse a step function that is not the program's step: one the snippet defines
        (its definition is not read), or one of another cell than the program's (a step
        carrying h alone is an RNN's, h and c an LSTM's; a GRU's or an unnamed kind's
        cannot be told)."""
        if re.search(rf"^\s*def\s+{re.escape(fn)}\s*\(", self.text, re.MULTILINE):
            raise FormulaError(
                f"line {n}: the snippet defines {fn}() itself, and its definition is not "
                "read: only a step backward named as the program's own (rnn_step_backward, "
                "lstm_step_backward) is read as the program's step"
            )
        carried = len(self.steps.carried)
        kinds = {"rnn": 1, "lstm": 2}
        kind = next((k for k in ("lstm", "rnn", "gru") if k in fn.lower()), None)
        if kind is None or kinds.get(kind) != carried:
            own = {
                1: "rnn_step_backward (its step carries one state)",
                2: "lstm_step_backward (its step carries h and c)",
            }
            raise FormulaError(
                f"line {n}: cannot tell that {fn}() is this program's step backward: "
                + ({"rnn": "it names an RNN cell, ", "lstm": "it names an LSTM cell, "}).get(
                    kind or "", "it names a GRU cell, " if kind else "its name names no cell, "
                )
                + f"the program's step is read as {own.get(carried, 'no known cell')}"
            )

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

    def bound(self, n: int, rhs: str) -> None:
        """A line reading a name unpacked from a step's cache that the program lacks."""
        for word in re.findall(r"[A-Za-z_]\w*", rhs):
            if word in self.unbound:
                raise FormulaError(
                    f"line {n}: {word} is {self.unbound[word]}, which the program does not "
                    "name; name it in the program's [backward] cache"
                )
