"""The usual mistakes of CNN formulas, undone one at a time: the kernel's flip, the
sliding product's mode and orientation, correlation for convolution, pooling's routing,
the sign of index offsets."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import sympy

from derive.core.graph import Kind
from derive.formula.equivalence import Equivalence
from derive.formula.ir import IR, Amb, Bin, Conv, Entry, Fn, Mode, Num, Sym
from derive.formula.ir_walk import at, inside, nodes, replace, show
from derive.formula.layer_indices import IntIndex, shifted
from derive.formula.run import Run


def _is(node: IR, op: str) -> bool:
    """Whether ``node`` is the binary operation ``op``."""
    return isinstance(node, Bin) and node.op == op


class CnnMutations(Equivalence):
    """The CNN mistakes (``Mutations`` tries them in CNN networks)."""

    def index_mutations(self, run: Run, rhs: IR) -> Iterator[tuple[str, IR]]:
        """Index forms: the offsets' sign (i+u: correlation, as the layer; i−u: flipped)."""
        sh = partial(show, python=run.python)
        entries = [(path, node) for path, node in nodes(rhs) if isinstance(node, Entry)]
        if not any(len(t) > 1 for _, node in entries for t in node.indices):
            return
        flipped = rhs
        shown = []
        for path, node in entries:
            if any(len(t) > 1 for t in node.indices):
                idx = tuple((t[0], *((-s, v) for s, v in t[1:])) for t in node.indices)
                flipped = replace(flipped, path, Entry(node.a, idx))
                shown.append(sh(node.a))
        yield (
            f"the offsets in the indices of {', '.join(shown)} have the wrong sign "
            "(i+u where i−u belongs, or back): the kernel is flipped",
            flipped,
        )

    def conv_mutations(self, run: Run, rhs: IR) -> Iterator[tuple[str, IR]]:
        """The classic CNN mistakes: the flip, the mode, correlation vs convolution, pooling.

        SciPy names the two operations (correlate2d, convolve2d), so for Python formulas the
        swap is tried first; in LaTeX, * and ⋆ are the notes' one sliding product and the
        missing or extra flip is the mistake to name.
        """
        sh = partial(show, python=run.python)
        if run.python:
            for path, node in nodes(rhs):
                if isinstance(node, Conv):
                    yield (
                        "correlation and convolution are swapped: "
                        + (
                            "correlate2d does not flip the kernel, convolve2d does"
                            if node.op == "corr"
                            else "convolve2d flips the kernel, correlate2d does not"
                        ),
                        replace(
                            rhs,
                            path,
                            Conv(
                                "conv" if node.op == "corr" else "corr", node.a, node.b, node.mode
                            ),
                        ),
                    )
        modes = {path for path, node in nodes(rhs) if isinstance(node, Mode)}
        for path, node in nodes(rhs):
            if isinstance(node, Fn) and node.name == "rot180":
                yield (
                    f"the kernel should not be rotated here: {sh(node.arg)}, "
                    f"not rot180({sh(node.arg)})",
                    replace(rhs, path, node.arg),
                )
            if isinstance(node, Sym) and node.base == "K" and not inside(rhs, path, "rot180"):
                yield (
                    f"the kernel is not flipped: the full convolution uses "
                    f"rot180({sh(node)}), the kernel rotated by 180°",
                    replace(rhs, path, Fn("rot180", 0, node)),
                )
            if isinstance(node, Mode):
                other = "valid" if node.mode == "full" else "full"
                yield (
                    f"'{node.mode}' is written where the '{other}' mode is needed"
                    + (" (δ padded by k − 1, so every overlap counts)" if other == "full" else ""),
                    replace(rhs, path, Mode(node.a, other)),
                )
            if isinstance(node, Conv):
                mode = node.mode or "valid"
                other = "valid" if mode == "full" else "full"
                yield (
                    f"'{mode}' is written where the '{other}' mode is needed",
                    replace(rhs, path, Conv(node.op, node.a, node.b, other)),
                )
                yield (
                    f"the operands are swapped: {sh(node.b)} and {sh(node.a)}",
                    replace(rhs, path, Conv(node.op, node.b, node.a, node.mode)),
                )
            if (
                isinstance(node, Amb)
                and path[:-1] not in modes
                and not any(p == path[: len(p)] for p in modes)
            ):
                yield (
                    "the 'valid' correlation is written where the full one is needed "
                    "(δ padded by k − 1, so every overlap counts): (…)_full",
                    replace(rhs, path, Mode(node, "full")),
                )
            if isinstance(node, Fn) and node.name == "up" and self._pool_mode(node.arg) == "avg":
                k2 = self._pool_mode(node.arg, size=True)
                yield (
                    f"average pooling spreads the delta evenly: each pixel of a window gets "
                    f"1/k² = 1/{k2} of it",
                    replace(rhs, path, Bin("div", node, Num(sympy.Integer(k2)))),
                )
            if isinstance(node, Fn) and node.name == "up":
                pooled = self._pool_input(node.arg)
                if pooled is not None:
                    routed: IR = Bin("had", node, Fn("maxmask", 0, pooled))
                    spread = "the delta is spread evenly over each window (average pooling's rule)"
                    yield (
                        f"{spread}; max pooling routes it to each window's arg-max: "
                        f"up({sh(node.arg)}) ⊙ 1_max({sh(pooled)})",
                        replace(rhs, path, routed),
                    )
                    parent = path[:-1]
                    if path and (_is(at(rhs, parent), "mat") or _is(at(rhs, parent), "div")):
                        yield (
                            f"{spread}; max pooling routes it (no 1/k²) to each window's arg-max: "
                            f"up({sh(node.arg)}) ⊙ 1_max({sh(pooled)})",
                            replace(rhs, parent, routed),
                        )

    def _pool_mode(self, node: IR, size: bool = False) -> Any:
        """The pooling mode (or k²) of the layer whose delta ``node`` is, if numbered."""
        if (
            not isinstance(node, Sym)
            or node.base != "delta"
            or not isinstance(node.index, IntIndex)
        ):
            return None
        k = int(node.index.k)
        eq = next((e for e in self.d.program.equations if e.layer == k), None)
        if eq is None or eq.kind is not Kind.POOL:
            return None
        return int(eq.rhs.size) ** 2 if size else eq.rhs.mode

    def _pool_input(self, node: IR) -> IR | None:
        """``A_{l}`` for ``up(δ_{l+1})`` when layer l+1 is a max pooling layer."""
        if not isinstance(node, Sym) or node.base != "delta" or node.index is None:
            return None
        idx = node.index
        if isinstance(idx, IntIndex):
            k = int(idx.k)
            eq = next((e for e in self.d.program.equations if e.layer == k), None)
            if eq is None or eq.kind is not Kind.POOL or eq.rhs.mode != "max":
                return None
            return Sym("A", IntIndex(k - 1), False) if k > 1 else Sym("X", None, False)
        return Sym("A", shifted(idx, -1), False)
