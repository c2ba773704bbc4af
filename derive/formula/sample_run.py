"""One run of loop code over samples or classes: the snippet on the program's values at
one of the checker's points (``sample_flow``'s runner), and the gradients it writes;
``fits``/``same`` compare one with the derivation's in its shape."""

from __future__ import annotations

from typing import Any

import numpy as np

from derive.formula.program_points import ProgramPoints
from derive.formula.sample_flow import FlowRunner
from derive.formula.window_lines import Block, LoopError

Values = dict[str, Any]


def sizes_at(c: ProgramPoints, i: int) -> dict[str, int]:
    """The program's sizes at point ``i`` (``N = 3``, ``D = 4``, …)."""
    point = c.points[i]
    return {name: int(point[sym]) for name, sym in c.sd.graph.sizes.items() if sym in point}


def names_at(c: ProgramPoints, point: dict[Any, Any]) -> Values:
    """The snippet's starting names: every value of the program at a point, by its name."""
    env: Values = {}
    for name, sym in c.names.values.items():
        if sym in point:
            value = point[sym]
            env[name] = int(value) if isinstance(value, (int, np.integer)) else value
    return env


def unallocated(body: list[Block]) -> set[str]:
    """The arrays the snippet writes entry by entry (``dLdZ[i, :] = …``) but never assigns
    whole: a copied loop whose allocation (``np.zeros_like(Z)``) is left out. A gradient
    among them starts as zeros of its shape (``run_at``; the notes say so)."""
    whole: set[str] = set()
    parts: set[str] = set()
    stack = list(body)
    while stack:
        b = stack.pop()
        stack.extend(b.body)
        t = b.tree
        if t.data not in ("chain", "augassign", "unpack"):
            continue
        targets = t.children[:-1] if t.data != "augassign" else t.children[:1]
        for target in targets:
            if target.data == "name":
                whole.add(str(target.children[0]))
            base = target
            while base.data == "index":
                base = base.children[0]
            if base is not target and base.data == "name":
                parts.add(str(base.children[0]))
    return parts - whole


def run_at(
    body: list[Block],
    c: ProgramPoints,
    point: dict[Any, Any],
    budget: list[int],
    seen: set[str] | None = None,
) -> Values:
    """The gradients the snippet writes at one point (by the snippet's names), in the
    order it first writes them; ``seen`` gathers the program's names it read."""
    env = names_at(c, point)
    for name in unallocated(body):
        wrt = getattr(c.target(name), "wrt", None)
        if wrt is not None and name not in env and wrt in point:
            env[name] = np.zeros(np.shape(point[wrt]))
    sizes = {n: v for n, v in env.items() if n in c.sd.graph.sizes}
    runner = FlowRunner(env, {}, sizes, budget, frozenset(env))
    with np.errstate(all="ignore"):
        try:
            runner.whole_run(body)
        except LoopError:
            raise
        except (TypeError, ValueError, IndexError, KeyError, ArithmeticError) as err:
            raise LoopError(f"the code fails on the program's values: {err}") from None
    if seen is not None:
        seen |= runner.read_given
    out: Values = {}
    for name in runner.written:
        if c.target(name) is not None and name not in out:
            out[name] = np.asarray(runner.env[name], dtype=float)
    return out


def fits(got: Any, want: Any) -> Any | None:
    """The snippet's array in the derivation's shape: as it is, or a vector of the same
    entries (NumPy's ``(C,)`` for a program's ``1 × C``); None when the shapes differ."""
    want = np.asarray(want, dtype=float)
    if got.shape == want.shape:
        return got
    vectors = sum(d > 1 for d in got.shape) <= 1 and sum(d > 1 for d in want.shape) <= 1
    if vectors and got.size == want.size:
        return got.reshape(want.shape)
    return None


def same(got: Any, want: Any) -> bool:
    """Equal to rounding, in the derivation's shape."""
    fit = fits(got, want)
    return fit is not None and bool(np.allclose(fit, want, rtol=1e-9, atol=1e-9))
