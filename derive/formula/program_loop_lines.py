"""A BPTT snippet's lines at the loop's current integers: shapes, allocations over time,
a step's cache, the step calls and every other line with its time slices named
(``program_loops`` reads the integers and names; ``program_loop_run`` walks the loops)."""

from __future__ import annotations

import re

from derive.formula.ir import FormulaError
from derive.formula.program_loop_results import ResultReader
from derive.formula.program_loop_text import (
    ALLOC_RE,
    ASSIGN_RE,
    CALL_RE,
    NAME_RE,
    STEP_FN,
    TRANSPOSE_RE,
    balanced,
    split_top,
    unparen,
)
from derive.formula.program_loops import shifted
from derive.formula.program_steps import indexed
from derive.spec import program_grammar as G


class LineReader(ResultReader):
    """Each line of the snippet made statements for the snippet reader."""

    def emit(self, n: int, line: str) -> None:
        """One line of the snippet at the loop's current integers."""
        if not balanced(line):
            raise FormulaError(f"line {n}: its brackets do not pair up")
        if line.startswith("return"):
            self.handed_back(n, split_top(line.removeprefix("return").strip()))
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
        lhs, rhs = self.subscripts(lhs, n), self.numbers(self.subscripts(rhs, n))
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
            self.alias.pop(name, None)
        held = self.value_of(rhs.strip())
        if not op and NAME_RE.match(lhs) and held is not None:
            self.alias[lhs] = held

    def numbers(self, rhs: str) -> str:
        """The loop's integers a value reads (``db_t / T``, T from ``dh.shape``) as their
        numbers at this turn: they are no names of the program."""
        known = [k for k in self.ints if k not in self.steps.values]
        if not known:
            return rhs
        pattern = r"(?<![\w.'\"])(" + "|".join(map(re.escape, known)) + r")\b(?!\s*[\[(=])"
        return re.sub(pattern, lambda m: str(self.ints[m.group(1)]), rhs)

    def special(self, n: int, line: str, lhs: str, rhs: str) -> bool:
        """Shapes, allocations, transposes, a step's cache and the step calls."""
        targets = [t.strip() for t in split_top(unparen(lhs))]
        if rhs.startswith("{") and rhs.endswith("}") and NAME_RE.match(lhs):
            self.literal(n, lhs, rhs[1:-1])
            return True
        passed = rf"{STEP_FN}\(.*\b{re.escape(lhs)}\s*\)"
        if NAME_RE.match(lhs) and len(split_top(unparen(rhs))) > 1 and re.search(passed, self.text):
            k = self.built_step(split_top(unparen(rhs)), n)
            if k is not None:
                self.refs[lhs] = k
                return True
            raise FormulaError(  # step_cache = (xt, prev_h, Wh, Wx, b, next_h)
                f"line {n}: a step's cache built by the snippet ({lhs} = {rhs}) is not read: "
                "its entries are the step function's own convention; the step backward is "
                "read with the program's own cache of that step (cache[t])"
            )
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
            if len(sizes) > 1 and sizes[-1] == "":  # (H,): a one-element tuple
                sizes.pop()
            like = alloc["fn"].endswith("_like")
            for size in sizes if not like else []:
                if re.fullmatch(r"\w+\.shape", size):  # np.zeros(da0.shape)
                    continue
                try:
                    G.parse_expression(size, n)
                except G.EquationError:
                    raise FormulaError(f"line {n}: cannot read the size {size!r}") from None
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
            if not like and len(sizes) == 1:  # np.zeros(H): a zero start
                self.out.append(self.parse(n, f"{lhs} = 0"))
                return True
        t = TRANSPOSE_RE.match(rhs)
        if t and (t["x"] or t["y"]) == lhs and self._over_time(lhs):
            written = split_top(unparen(t["p"] or t["q"] or ""))
            perm = [int(v) for v in written if re.fullmatch(r"\d", v)]
            perm = perm if len(perm) == len(written) else []
            old = self.time_axis(lhs)
            if sorted(perm) != [0, 1, 2]:
                raise FormulaError(f"line {n}: {rhs} is read only as a permutation of 3 axes")
            if old is not None:
                self.layout[lhs] = perm.index(old)
            return True
        keyed = re.match(r"^(\w+)\[\s*(['\"])\w+\2\s*\]$", rhs)
        if keyed and keyed.group(1) in self.containers and len(targets) == 3:
            self.shape(n, self._sized_as(n, line, targets), targets)  # N, T, D = cache['dims']
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

    def value_of(self, text: str) -> str | None:
        """The program value a name holds at this turn (``x_3``, ``h0`` as h_0, an alias
        set earlier), or None."""
        text = self.alias.get(text, text)
        if not NAME_RE.match(text):
            return None
        if text in self.steps.values:
            return text
        m = re.fullmatch(r"([A-Za-z]+)(\d+)", text)
        if m and f"{m[1]}_{m[2]}" in self.steps.values:
            return f"{m[1]}_{m[2]}"
        return None

    def built_step(self, items: list[str], n: int) -> int | None:
        """The step whose cache a tuple the snippet builds is (lightaime's ``step_cache =
        (xt, prev_h, Wh, Wx, b, next_h)``): the one k at which every item holds the
        program's cache entry of step k, in the order the program's [backward] cache
        lists (its step forward's). None when the program lists no cache or no step fits:
        an item in another place would be read as another value by the step backward."""
        order = self.sd.graph.spec.cache
        held = [self.value_of(self.subscripts(item.strip(), n)) for item in items]
        if not order or len(order) != len(held) or None in held:
            return None
        fits = [
            k
            for k in range(1, self.steps.T + 1)
            if all(h == shifted(o, k - 1) for h, o in zip(held, order, strict=True))
        ]
        if len(fits) != 1:
            return None
        self.notes.append(
            f"read line {n}'s tuple as step {fits[0]}'s cache: its items are the program's "
            f"[backward] cache of that step, in order ({', '.join(h for h in held if h)})"
        )
        return fits[0]

    def _sized_as(self, n: int, line: str, targets: list[str]) -> str:
        """The array over time a keyed entry of the caches unpacked into three sizes is the
        shape of (``N, T, D = cache['dims']``, stored by the forward as ``x.shape``): the
        one input whose step shape the program writes with the other two names, T the
        time axis (CS231n's N, T, D). Any other entry of the caches is refused."""
        spec = self.sd.graph.spec
        rest = [t for t in targets if t != "T"]
        hits = {
            hit[0]
            for name, shape in spec.inputs.items()
            if (hit := indexed(name)) is not None
            and hit[1] == 1
            and [str(d) for d in shape] == rest
        }
        if targets.count("T") != 1 or len(hits) != 1:
            raise FormulaError(
                f"line {n}: cannot tell what {line.strip()} holds: an entry of the caches by "
                "key is read only as the shape (N, T, D) of an input over time, its sizes "
                "named as the program names them"
            )
        base = next(iter(hits))
        self.notes.append(
            f"read {line.strip()} as {base}.shape: the program writes each step of {base} "
            f"as {', '.join(rest)}, and T is the time axis"
        )
        return base

    def shape(self, n: int, name: str, targets: list[str]) -> None:
        """``N, T, H = dh.shape``: T is the program's step count, the others one step's."""
        axes = set(self.axes.values())
        axis = self.axes.get(name, next(iter(axes)) if len(axes) == 1 else None)
        if axis is None and targets.count("T") == 1:  # N, T, D = x.shape: CS231n's T
            axis = targets.index("T")
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
