"""The statements of a BPTT snippet, its loops run at the program's T (``program_loops``
reads the names and integers; this walks the lines, the loops and the step calls)."""

from __future__ import annotations

import re

from derive.core.staged import StagedDerivation
from derive.formula.ir import FormulaError
from derive.formula.program_loop_lines import LineReader
from derive.formula.program_loop_text import (
    ASSIGN_RE,
    FOR_RE,
    IF_RE,
    LOOP_RE,
    MAX_TURNS,
    NAME_RE,
    STEP_FN,
    TRANSPOSE_RE,
    WHILE_RE,
    split_top,
)
from derive.formula.program_steps import MAX_STEPS, StepCall, Steps
from derive.spec import program_grammar as G

Lines = list[tuple[int, str]]


def unroll(lines: Lines, text: str, sd: StagedDerivation, flip: bool = False) -> list[G.Statement]:
    """The snippet's statements with every loop over time unrolled at the program's T
    (``flip``: each ``for`` loop run in the other order, the diagnosis' try)."""
    at = next(n for n, line in lines if LOOP_RE.match(line))
    steps = Steps.of(sd)
    if steps is None:
        raise FormulaError(
            f"line {at}: a loop over time is read against a program written out per step "
            "(x_1 … x_T, h_0 … h_T, one upstream dh_k per step); this program has no steps"
        )
    if steps.T > MAX_STEPS:
        raise FormulaError(
            f"line {at}: the program has T = {steps.T} steps; a loop is unrolled over "
            f"at most {MAX_STEPS} (write the program at a smaller T)"
        )
    raw = text.splitlines()
    indents = {n: len(raw[n - 1]) - len(raw[n - 1].lstrip()) for n, _ in lines}
    run = Run(sd, steps, indents)
    run.flip = flip
    run.text = text
    run.prescan(lines)
    run.block(lines)
    first = next((k for k, st in enumerate(run.out) if isinstance(st, StepCall)), None)
    if first is not None:
        st = run.out[first]
        assert isinstance(st, StepCall)
        run.out[first] = StepCall(
            st.targets,
            st.expr,
            st.line,
            st.text,
            (),
            st.fn,
            st.step,
            st.seeds,
            (*run.notes, *st.notes),
        )
    return run.out


class Run(LineReader):
    """The walk over the snippet's lines."""

    def prescan(self, lines: Lines) -> None:
        """The per-step lists the step calls index (``cache``) and each array's time axis
        as allocated (the one index over time in ``dh[:, t, :]``, through a transpose)."""
        refs: dict[str, str] = {}
        for _, line in lines:
            header = WHILE_RE.match(line) or FOR_RE.match(line)
            if header:
                self.counters |= set(
                    re.findall(r"[A-Za-z_]\w*", header.group(header.lastindex or 1))
                )
        for _, line in lines:
            m = ASSIGN_RE.match(line)
            if m and NAME_RE.match(m["lhs"]) and re.match(r"^\w+\[[^\[\]]+\]$", m["rhs"]):
                refs[m["lhs"]] = m["rhs"].split("[")[0]
        for _, line in lines:
            single = re.match(rf"^(\w+)\s*=\s*{STEP_FN}\(", line)
            if single:
                self.dicts.add(single.group(1))
            for call in re.finditer(rf"{STEP_FN}\((.*)\)", line):
                last = split_top(call.group(1))[-1]
                name = last.split("[")[0].strip()
                if "[" in last:
                    self.containers.add(name)
                elif name in refs:
                    self.containers.add(refs[name])
        for _, line in lines:
            for look in re.finditer(r"\b(\w+)\[\s*(['\"])(\w+)\2\s*\]", line):
                if look.group(1) in self.dicts:
                    seen = self.keys.setdefault(look.group(1), [])
                    if look.group(3) not in seen:
                        seen.append(look.group(3))
        perms: dict[str, list[int]] = {}
        for _, line in lines:
            m = ASSIGN_RE.match(line)
            t = TRANSPOSE_RE.match(m["rhs"]) if m else None
            if m and t:
                name, p = (t["x"], t["p"]) if t["x"] else (t["y"], t["q"])
                perm = [int(v) for v in re.findall(r"-?\d+", p)]
                old = perms.get(name, [0, 1, 2])
                if len(perm) == 3 and sorted(perm) == [0, 1, 2]:
                    perms[name] = [old[v] for v in perm]
                continue
            for s in re.finditer(r"\b([A-Za-z_]\w*)\[([^\[\]]*)\]", line):
                name, parts = s.group(1), split_top(s.group(2))
                timed = [i for i, p in enumerate(parts) if p not in (":", "...")]
                if len(timed) == 1 and self._over_time(name) and name not in self.axes:
                    self.axes[name] = perms.get(name, [0, 1, 2])[timed[0]]

    # ------------------------------------------------------------------ blocks

    def block(self, items: Lines) -> None:
        """Run the lines in order; a loop's body once per turn, an ``if`` on its branch."""
        i = 0
        while i < len(items):
            n, line = items[i]
            j = i + 1
            while j < len(items) and self.indents[items[j][0]] > self.indents[n]:
                j += 1
            body = items[i + 1 : j]
            if (LOOP_RE.match(line) or IF_RE.match(line)) and not body:
                raise FormulaError(f"line {n}: {line} has no indented body")
            m = FOR_RE.match(line)
            w = WHILE_RE.match(line)
            c = IF_RE.match(line)
            if m:
                for v in self.turns(m["iter"], n, line):
                    self.ints[m["var"]] = v
                    self.block(body)
            elif w:
                turns = 0
                while self.condition(w["cond"], n):
                    turns += 1
                    if turns > MAX_TURNS:
                        raise FormulaError(f"line {n}: the loop runs over {MAX_TURNS} times")
                    self.block(body)
                self.notes.append(
                    f"unrolled line {n}'s while loop at the program's T = {self.steps.T}: "
                    f"{turns} turns, until {w['cond'].strip()} is false"
                )
            elif c:
                j = self.branch(items, i, j)
            elif body:
                raise FormulaError(f"line {body[0][0]}: unexpected indent")
            else:
                self.emit(n, line)
            i = j

    def branch(self, items: Lines, i: int, j: int) -> int:
        """An ``if … elif … else`` chain on the loop's integers: its one branch run."""
        ind = self.indents[items[i][0]]
        chosen = None
        while True:
            n, line = items[i]
            body = items[i + 1 : j]
            c = IF_RE.match(line)
            taken = line == "else:" or (c is not None and self.condition(c["cond"], n))
            if chosen is None and taken:
                chosen = body
            if j >= len(items) or self.indents[items[j][0]] != ind:
                break
            if not re.match(r"^(elif\b|else:)", items[j][1]):
                break
            i, j = j, j + 1
            while j < len(items) and self.indents[items[j][0]] > ind:
                j += 1
        if chosen:
            self.block(chosen)
        return j

    def turns(self, it: str, line: int, text: str) -> list[int]:
        """The values of ``for t in reversed(range(T))``, ``range(T-1, -1, -1)``, ``xrange(…)``."""
        it = it.strip()
        back = re.match(r"^reversed\((.*)\)$", it)
        inner = back.group(1).strip() if back else it
        inner = re.sub(r"^list\((.*)\)$", r"\1", inner)
        r = re.match(r"^x?range\((.*)\)$", inner)
        if not r:
            raise FormulaError(
                f"line {line}: cannot tell the steps of {text!r}: read are range(…), "
                "reversed(range(…)), xrange(…) over the loop's integers"
            )
        args = [self.integer(a, line) for a in split_top(r.group(1))]
        if any(a is None for a in args) or not 1 <= len(args) <= 3:
            raise FormulaError(f"line {line}: cannot tell the bounds of {inner}")
        bounds = [a for a in args if a is not None]
        if len(bounds) == 3 and bounds[2] == 0:
            raise FormulaError(f"line {line}: {inner} steps by 0 (NumPy: ValueError)")
        turns = range(*bounds)
        if len(turns) > MAX_TURNS:
            raise FormulaError(f"line {line}: the loop runs {len(turns)} times (over {MAX_TURNS})")
        values = list(turns)
        values = values[::-1] if bool(back) != self.flip else values
        shown = ", ".join(map(str, values))
        self.notes.append(
            f"unrolled line {line}'s loop at the program's T = {self.steps.T}: {shown}"
        )
        return values
