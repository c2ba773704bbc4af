"""A BPTT snippet's loops over time, unrolled at the program's own T (issue 15).

CS231n's ``rnn_backward``, ``lstm_backward`` and their kin loop over the steps in reverse,
index three-axis arrays by the step (``dh[:, t, :]``, ``x[:, t, :]``, ``da[:, :, t]``), call
the step backward by name with the step's cache (``rnn_step_backward(dh[:, t, :] +
dprev_h, cache[t])``) and accumulate the weights' gradients (``dWx += dWx_t``). The
program they are checked against is written out over a small concrete T (``x_1 … x_T``,
``h_0 … h_T``, one upstream ``dh_k`` per step), so the loop is unrolled: the loop variable
and the sizes the snippet reads from shapes become numbers, each step's slice becomes the
program's name of that step (index t of the time axis is step t+1, as ``h_0`` is the
initial state), and the step call becomes the program's own step derivation
(``program_steps``). The result is ordinary statements for the snippet reader; nothing is
evaluated but small integer expressions of the loop (``T-1-t``, ``len(cache)``), walked
from Python's own parse tree.
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass, field

from derive.core.staged import StagedDerivation
from derive.formula.ir import FormulaError
from derive.formula.program_loop_text import matching, split_top
from derive.formula.program_steps import Steps, indexed
from derive.spec import program_grammar as G


@dataclass
class Unroller:
    """One snippet's unrolling: the integer names, the arrays over time, the statements."""

    sd: StagedDerivation
    steps: Steps
    indents: dict[int, int]
    ints: dict[str, int] = field(default_factory=dict)
    #: Names bound to one step's cache (``step_cache = cache[t]``): that step (0-based).
    refs: dict[str, int] = field(default_factory=dict)
    #: The per-step lists (``cache``, ``caches``): what a step call's last argument indexes.
    containers: set[str] = field(default_factory=set)
    #: Arrays over time the snippet allocates (``dx = np.zeros((N, T, D))``): how.
    built: dict[str, str] = field(default_factory=dict)
    #: Their entries assigned so far (``dx_3``).
    filled: set[str] = field(default_factory=set)
    #: Each array's time axis as allocated (``dh`` (N, T, H): 1).
    axes: dict[str, int] = field(default_factory=dict)
    out: list[G.Statement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    calls: int = 0
    #: Names a step call's dict of gradients is bound to (``gradients = rnn_cell_backward(…)``).
    dicts: set[str] = field(default_factory=set)
    #: The keys the snippet reads of each such dict, in order of first use.
    keys: dict[str, list[str]] = field(default_factory=dict)
    #: Dicts the snippet writes (``gradients = {"dx": dx, …}``): their keys.
    literals: dict[str, list[str]] = field(default_factory=dict)
    #: Names a loop header reads (``while batch >= 0``): integers where a number is given.
    counters: set[str] = field(default_factory=set)
    #: The snippet's text (a step function it defines itself is not the program's step).
    text: str = ""
    #: Each ``for`` loop run in the other order (a diagnosis' try).
    flip: bool = False
    #: Where each array's time axis is now (after the transposes read so far).
    layout: dict[str, int] = field(default_factory=dict)
    #: Names unpacked from a step's cache that the program does not name: where from.
    unbound: dict[str, str] = field(default_factory=dict)
    #: Names that hold a program value as the turn stands (``prev_h = h0``: h_0).
    alias: dict[str, str] = field(default_factory=dict)

    # ------------------------------------------------------------------ integers

    def integer(self, text: str, line: int) -> int | None:
        """A small integer expression of the loop (None: not one)."""
        try:
            tree = _parse(text)
        except SyntaxError:
            return None
        return self._int(tree.body, line)

    def _int(self, node: ast.AST, line: int) -> int | None:
        if isinstance(node, ast.Constant) and type(node.value) is int and abs(node.value) < 10**4:
            return node.value
        if isinstance(node, ast.Name):
            return self.ints.get(node.id)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            v = self._int(node.operand, line)
            return None if v is None else (-v if isinstance(node.op, ast.USub) else v)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult):
            a, b = self._int(node.left, line), self._int(node.right, line)
            if a is None or b is None:
                return None
            v = (
                a + b
                if isinstance(node.op, ast.Add)
                else a - b
                if isinstance(node.op, ast.Sub)
                else a * b
            )
            return v if abs(v) < 10**4 else None
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "len"
            and len(node.args) == 1
            and isinstance(node.args[0], ast.Name)
            and self._over_time(node.args[0].id)
        ):
            return self.steps.T
        return None

    def _over_time(self, name: str) -> bool:
        return name in self.containers or name in self.built or self._sequence(name)

    def _sequence(self, name: str) -> bool:
        return name in self.steps.bases and name not in self.steps.values

    def mentions_int(self, text: str) -> bool:
        """Whether ``text`` reads a loop integer (``T - 1``, ``t``) or a length."""
        words = set(re.findall(r"[A-Za-z_]\w*", text))
        return bool(words & set(self.ints)) or "len(" in text

    def condition(self, text: str, line: int) -> bool:
        """``t == 0``, ``batch >= 0``: an integer comparison of the loop."""
        try:
            tree = _parse(text).body
        except SyntaxError:
            tree = None
        if isinstance(tree, ast.Compare) and len(tree.ops) == 1:
            a, b = self._int(tree.left, line), self._int(tree.comparators[0], line)
            if a is not None and b is not None:
                op = tree.ops[0]
                table = {ast.Eq: a == b, ast.NotEq: a != b, ast.Lt: a < b, ast.LtE: a <= b}
                table.update({ast.Gt: a > b, ast.GtE: a >= b})
                if type(op) in table:
                    return table[type(op)]
        raise FormulaError(
            f"line {line}: cannot tell {text.strip()!r} at each step: only comparisons of "
            "the loop's integers are read (t == 0, batch >= 0)"
        )

    def step_of(self, text: str, line: int) -> int:
        """A time index as the program's step (0-based t is step t+1; negative counts
        from the end, as NumPy does)."""
        k = self.integer(text, line)
        T = self.steps.T
        if k is None:
            raise FormulaError(
                f"line {line}: cannot tell which time step {text.strip()!r} is "
                f"(the loop's integers are {', '.join(self.ints) or 'none'})"
            )
        if not -T <= k < T:
            raise FormulaError(
                f"line {line}: time index {text.strip()} = {k} is outside the program's "
                f"T = {T} steps"
            )
        return k % T + 1

    # ------------------------------------------------------------------ names over time

    def subscripts(self, text: str, line: int) -> str:
        """Each step's slice named as the program names it: ``dh[:, t, :]`` at t = 2 is
        ``dh_3``, ``cache[0][3]`` the fourth name of step 1's cache."""
        out, i = "", 0
        for m in re.finditer(r"\b([A-Za-z_]\w*)\s*\[", text):
            if m.start() < i:
                continue
            name, open_at = m.group(1), m.end() - 1
            close = matching(text, open_at)
            if close is None:
                break
            inner = text[open_at + 1 : close]
            new, end = self._subscript(name, inner, text, close, line)
            if new is None:
                continue
            out += text[i : m.start()] + new
            i = end
        return out + text[i:]

    def _subscript(
        self, name: str, inner: str, text: str, close: int, line: int
    ) -> tuple[str | None, int]:
        parts = split_top(inner)
        key = re.fullmatch(r"\s*(['\"])(\w+)\1\s*", inner)
        if name in self.dicts and key:  # gradients['dxt'] of a step call's dict
            return f"{name}__{key.group(2)}", close + 1
        if name in self.containers:  # cache[k][j]: a name of step k's cache
            after = re.match(r"\s*\[([^\[\]]+)\]", text[close + 1 :])
            if after is None:
                return None, close + 1
            k = self.step_of(inner, line)
            j = self.integer(after.group(1), line)
            return self.cached(k, j, line), close + 1 + after.end()
        if not self._over_time(name):
            return None, close + 1
        timed = [p for p in parts if p not in (":", "...")]
        if len(timed) != 1:
            raise FormulaError(
                f"line {line}: {name}[{inner}] is not one time step of {name} "
                "(read: one index over time, the other axes ':')"
            )
        axis, now = parts.index(timed[0]), self.time_axis(name)
        if now is not None and axis != now:
            raise FormulaError(
                f"line {line}: {name}[{inner}] indexes axis {axis} of {name}, whose time "
                f"axis is {now} here: cannot tell which step it is"
            )
        k = self.step_of(timed[0], line)
        spelled = f"{name}_{k}"
        if self._sequence(name) and spelled not in self.steps.values:
            known = spelled if name in self.built else None
            if (
                known is None
                and not any(spelled == f"d{g}" for g in self.sd.gradients)
                and spelled not in self._upstreams()
            ):
                raise FormulaError(f"line {line}: the program has no {spelled} ({name}[{inner}])")
        note = (
            f"read {name}[{inner}] as {spelled} "
            f"(time index {k - 1} is step {k}; step 0 is the initial state)"
        )
        if not any(n.startswith(f"read {name}[{inner}] ") for n in self.notes):
            self.notes.append(note)
        return spelled, close + 1

    def time_axis(self, name: str) -> int | None:
        """Where ``name``'s time axis is now (None: not known)."""
        return self.layout.get(name, self.axes.get(name) if name not in self.built else None)

    def given(self) -> int | None:
        """The time axis of the arrays the program gives (dh, x, da), as the snippet
        indexes them; a snippet that indexes them on different axes is refused."""
        found = {
            a
            for n, a in self.axes.items()
            if f"{n}_1" in self.steps.values or f"{n}_1" in self._upstreams()
        }
        if len(found) > 1:
            raise FormulaError(
                "cannot tell which axis is time: the snippet indexes the given arrays over "
                f"time on axes {sorted(found)}"
            )
        return found.pop() if found else None

    def _upstreams(self) -> set[str]:
        g = self.sd.graph
        ups = {u.name for u in g.more_upstream.values()}
        if g.upstream is not None:
            ups.add(g.upstream.name)
        return ups

    def cached(self, k: int, j: int | None, line: int) -> str:
        """The ``j``-th name of step ``k``'s cache (``[backward] cache`` lists step 1's)."""
        order = self.sd.graph.spec.cache
        if j is None or not 0 <= j < len(order):
            raise FormulaError(
                f"line {line}: cannot tell what item {j} of a step's cache is: the program "
                f"lists {len(order)} ([backward] cache = [...], step 1's names in order)"
            )
        return shifted(order[j], k - 1)

    def seed_text(self, text: str, line: int) -> str:
        """A right-hand side with each time slice named (``dh[:, t, :] + dprev_h``)."""
        return self.subscripts(text, line)


def _parse(text: str) -> ast.Expression:
    """Python's own parse of a loop's small integer expression (walked, never run)."""
    with warnings.catch_warnings():  # "1, 0for": a SyntaxWarning before the SyntaxError
        warnings.simplefilter("ignore")
        return ast.parse(text.strip(), mode="eval")


def shifted(name: str, by: int) -> str:
    """Step 1's name ``x_1``/``h_0`` moved ``by`` steps later (``x_3``, ``h_2``)."""
    hit = indexed(name)
    return f"{hit[0]}_{hit[1] + by}" if hit else name
