"""Diagnosis: say exactly what is wrong with a formula that is not the derived one.

The formula is read under the other convention and delta definition first; then the
usual mistakes (a transpose, a factor, the order, ⊙ vs product, f', the CNN flip and
mode, pooling's routing, …) are undone one at a time, and the first one whose
correction makes the formula right is named.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import sympy

from derive.core.graph import Kind
from derive.core.nodes import Softmax
from derive.formula.equivalence import Equivalence, Run
from derive.formula.ir import at, inside, nodes, replace, show
from derive.formula.parse import IR, FormulaError
from derive.formula.quantity import Quantity

MAX_PAIRS = 600  # two mistakes at once: the candidates tried

_DELTA_WORDS = {"per_sample": "no 1/m in δ", "mean": "δ = ∂L/∂Z of the batch loss"}


def _samples(convention: str) -> str:
    return "columns" if convention == "column" else "rows"


def _hadamard_factors(node: IR) -> Iterator[IR]:
    """The factors of a chain of Hadamard products, left to right."""
    if node[0] == "had":
        yield from _hadamard_factors(node[1])
        yield from _hadamard_factors(node[2])
    else:
        yield node


class Diagnosis(Equivalence):
    """The usual mistakes, tried one at a time."""

    def diagnose(self, run: Run, q: Quantity, rhs: IR) -> tuple[str | None, list[str]]:
        """What is wrong: another convention or delta definition, else the first usual
        mistake whose correction makes the formula right."""
        net = self.sym_network
        if self._right_on(run, "convention", q, rhs):
            also = self._first_mutation(run, q, rhs)
            flip = self.other("convention").network.convention
            return (
                f"this is the {flip}-convention formula; in this {net.convention}-"
                f"convention network (samples are {_samples(net.convention)}) "
                f"{q.label(self.d)} is the derived formula below",
                [f"equivalently: {also}"] if also else [],
            )
        # a usual mistake within the spec's own delta definition comes first (a missing
        # 1/m in a mean-delta network is that); the other definition is said as well
        found = self._first_mutation(run, q, rhs)
        other_delta = self._right_on(run, "delta", q, rhs)
        flip = self.other("delta").network.delta.replace("_", "-")
        as_other = (
            f"this is {q.label(self.d)} with the {flip} delta definition; this network uses "
            f"the {net.delta.replace('_', '-')} one ({_DELTA_WORDS[net.delta]})"
        )
        if found is not None:
            return found, [f"equivalently: {as_other}"] if other_delta else []
        if other_delta:
            return as_other, []
        tight = run.budget.exhausted
        pair = self._first_pair(run, q, rhs)
        if pair is not None:
            return pair, []
        if run.budget.exhausted and not tight:
            return (
                "no single usual mistake explains the difference, nor any pair of them tried "
                "within the time one check may take",
                [],
            )
        if run.budget.exhausted:
            return (
                "no usual mistake found among those tried (the formula has too many readings "
                "to try them all; brackets would help)",
                [],
            )
        return (
            "no usual mistake, alone or two at once (transpose, factor, order, ⊙ vs "
            "product, f', layer index, convention, delta definition), explains the "
            "difference",
            [],
        )

    def _right_on(self, run: Run, what: str, q: Quantity, rhs: IR) -> bool:
        """Whether the formula is right in the network with the other ``what`` (the
        convention or the delta definition)."""
        try:
            ok, _ = self.matches(run, self.other(what), q, rhs, trials=2)
        except FormulaError:
            ok = False
        return ok

    def _first_mutation(self, run: Run, q: Quantity, rhs: IR) -> str | None:
        for description, candidate in self.mutations(run, rhs, q):
            try:
                ok, _ = self.matches(run, self.d, q, candidate, trials=2)
            except FormulaError:
                continue
            if ok:
                return description
        return None

    def _first_pair(self, run: Run, q: Quantity, rhs: IR) -> str | None:
        """Two of the usual mistakes at once (e.g. a missing transpose and a missing 1/m):
        each mistake in the formula, then each one in what undoing it leaves; at most
        ``MAX_PAIRS`` tries, so that a wrong formula stays fast to diagnose."""
        firsts = list(self.mutations(run, rhs, q))
        seconds: dict[int, list[tuple[str, IR]]] = {}
        tries = 0
        # by the sum of the two mistakes' ranks, so that a late kind of mistake (a layer
        # index) is paired with every early one (a factor) within the budget
        for rank in range(2 * len(firsts)):
            for i in range(min(rank + 1, len(firsts))):
                first, once = firsts[i]
                if i not in seconds:
                    seconds[i] = list(self.mutations(run, once, q))
                j = rank - i
                if j >= len(seconds[i]):
                    continue
                second, twice = seconds[i][j]
                tries += 1
                if tries > MAX_PAIRS or run.budget.exhausted:
                    return None
                try:
                    ok, _ = self.matches(run, self.d, q, twice, trials=2)
                except FormulaError:
                    continue
                if ok:
                    if first == second:
                        return f"{first}, twice"
                    return f"two mistakes: {first}; and {second}"
        return None

    def mutations(self, run: Run, rhs: IR, q: Quantity) -> Iterator[tuple[str, IR]]:
        """Each usual mistake undone once: (what the mistake is, the formula without it)."""
        sh = partial(show, python=run.python)
        m_scalar: IR = ("scalar", str(self.d.program.batch))
        factors = [
            ("a factor 1/m is missing", ("div", rhs, m_scalar)),
            ("a factor 1/m too many", ("mat", m_scalar, rhs)),
            ("a factor 1/2 is missing", ("div", rhs, ("num", sympy.Integer(2)))),
            (
                "a factor 2 is missing (the 1/2 is not in this loss)",
                ("mat", ("num", sympy.Integer(2)), rhs),
            ),
            ("the sign is wrong", ("neg", rhs)),
            ("the whole right-hand side should be transposed", ("T", rhs)),
        ]
        yield from factors
        for path, node in nodes(rhs):
            kind = node[0]
            if kind == "sym" and node[1] != "Y":
                yield (f"a transpose is missing on {sh(node)}", replace(rhs, path, ("T", node)))
            if kind == "T":
                yield (f"{sh(node[1])} should not be transposed", replace(rhs, path, node[1]))
            if kind == "mat" and node[1][0] not in ("num", "scalar", "div"):
                yield (
                    "the product is in the wrong order: "
                    f"{sh(node[2])} {sh(node[1])}, not {sh(node[1])} {sh(node[2])}",
                    replace(rhs, path, ("mat", node[2], node[1])),
                )
                yield (
                    "a matrix product is written where the Hadamard product ⊙ belongs "
                    f"({sh(node[1])} ⊙ {sh(node[2])})",
                    replace(rhs, path, ("had", node[1], node[2])),
                )
            if kind == "had":
                yield (
                    "a Hadamard product ⊙ is written where a matrix product belongs",
                    replace(rhs, path, ("mat", node[1], node[2])),
                )
                for side in (1, 2):
                    if node[side][0] == "fn" and node[side][2] >= 1:
                        yield (
                            f"the factor {sh(node[side])} does not belong here",
                            replace(rhs, path, node[3 - side]),
                        )
            if kind == "squeeze":
                yield (
                    f"np.sum without keepdims=True drops the summed axis: {sh(node[1])} "
                    "has shape (n,), not (n, 1) — add keepdims=True",
                    replace(rhs, path, node[1]),
                )
            if kind == "sum" and node[2] in (0, 1):
                yield (
                    f"the sum is over the wrong axis (axis={1 - node[2]})",
                    replace(rhs, path, ("sum", node[1], 1 - node[2])),
                )
            if kind == "fn" and node[2] == 0 and q.kind == "delta":
                yield (
                    f"{sh(node)} should be the derivative {sh(('fn', node[1], 1, node[3]))}",
                    replace(rhs, path, ("fn", node[1], 1, node[3])),
                )
        for path, node in nodes(rhs):  # a layer index off by one, f'(A) for f'(Z)
            kind = node[0]
            if kind == "num" and node[1] not in (0, 1):
                yield (
                    f"the factor {node[1]} does not belong here",
                    replace(rhs, path, ("num", sympy.Integer(1))),
                )
            if kind == "sym" and node[1] in ("Z", "A") and node[2] is not None:
                swap = ("sym", "A" if node[1] == "Z" else "Z", node[2], node[3])
                what = "the activation" if swap[1] == "A" else "the pre-activation"
                yield (
                    f"{sh(node)} is written where {what} {sh(swap)} belongs",
                    replace(rhs, path, swap),
                )
            if kind == "fn" and node[2] >= 1 and node[3][0] == "sym" and node[3][1] == "A":
                z = ("sym", "Z", node[3][2], node[3][3])
                yield (
                    f"{sh(node)} is written where {sh(('fn', node[1], node[2], z))} belongs: "
                    "the derivative is taken at the pre-activation Z, not at A",
                    replace(rhs, path, ("fn", node[1], node[2], z)),
                )
            if kind == "sym" and node[2] is not None and node[2][0] in ("int", "rel"):
                for by in (-1, 1):
                    idx = node[2]
                    moved = (
                        ("int", idx[1] + by) if idx[0] == "int" else ("rel", idx[1], idx[2] + by)
                    )
                    other = ("sym", node[1], moved, node[3])
                    yield (
                        f"a layer index is off by one: {sh(node)} where {sh(other)} belongs",
                        replace(rhs, path, other),
                    )
        if q.kind == "delta":
            z = ("sym", "Z", q.idx, False)
            yield (
                f"the factor f'(Z) of the layer is missing (⊙ f'({sh(z)}))",
                ("had", rhs, ("fn", "generic", 1, z)),
            )
        yield from self.masks(run, rhs)
        yield from self.sample_sums(run, rhs, q)
        yield from self.squares(run, rhs)
        yield from self.weight_decay(run, rhs, q)
        yield from self.softmax_factors(run, rhs, q)
        if self.network.is_conv:
            yield from self.conv_mutations(run, rhs)
            yield from self.index_mutations(run, rhs)

    def masks(self, run: Run, rhs: IR) -> Iterator[tuple[str, IR]]:
        """ReLU's mask ``(Z > 0)`` where another activation's derivative belongs."""
        sh = partial(show, python=run.python)
        for path, node in nodes(rhs):
            x = node[1] if node[0] in ("gt0", "cmp") else None
            if x is not None and x[0] == "sym" and x[1] in ("Z", "A") and x[2] is not None:
                z = ("sym", "Z", x[2], x[3])
                yield (
                    f"the mask ({sh(x)} > 0) is ReLU's derivative; this layer's activation "
                    f"is not ReLU: its derivative f'({sh(z)}) belongs here",
                    replace(rhs, path, ("fn", "generic", 1, z)),
                )

    def sample_sums(self, run: Run, rhs: IR, q: Quantity) -> Iterator[tuple[str, IR]]:
        """A bias gradient without its sum over samples (``db1 = dZ1 / m``)."""
        if q.kind != "grad" or q.base != "b":
            return
        sh = partial(show, python=run.python)
        for path, node in nodes(rhs):
            if node[0] == "sym" and node[1] == "delta" and not inside(rhs, path, "sum"):
                summed: IR = ("sum", node, None)
                code = (
                    f"np.sum({sh(node)}, axis={1 if self.d.program.column else 0}, keepdims=True)"
                    if run.python
                    else sh(summed)
                )
                yield (
                    f"the sum over samples is missing: {code}, not {sh(node)} (a bias gradient "
                    f"adds up the {_samples(self.sym_network.convention)} of the delta)",
                    replace(rhs, path, summed),
                )

    def squares(self, run: Run, rhs: IR) -> Iterator[tuple[str, IR]]:
        """``(1 − A)²`` for ``1 − A²`` (tanh'), and ``1 − A`` with its square missing."""
        sh = partial(show, python=run.python)
        for path, node in nodes(rhs):
            if node[0] == "pow" and node[2] == 2 and node[1][0] == "sub":
                one, x = node[1][1], node[1][2]
                yield (
                    f"(1 − {sh(x)})² is written where 1 − {sh(x)}² belongs: the square is "
                    f"on {sh(x)} alone",
                    replace(rhs, path, ("sub", one, ("pow", x, 2))),
                )
            if (
                node[0] == "sub"
                and node[1] == ("num", sympy.Integer(1))
                and node[2][0] in ("sym", "fn")
                and not (path and at(rhs, path[:-1])[0] == "pow")
            ):
                yield (
                    f"the square is missing: 1 − {sh(node[2])}², not 1 − {sh(node[2])}",
                    replace(rhs, path, ("sub", node[1], ("pow", node[2], 2))),
                )

    def weight_decay(self, run: Run, rhs: IR, q: Quantity) -> Iterator[tuple[str, IR]]:
        """The L2 term of a weight gradient: missing, or λ where λ/m belongs (and back)."""
        decay = self.network.loss.weight_decay
        if q.kind != "grad" or q.base not in ("W", "K") or not isinstance(decay, str):
            return
        lam: IR = ("scalar", decay)
        m: IR = ("scalar", str(self.d.program.batch))
        w: IR = ("sym", q.base, q.idx, False)
        sh = partial(show, python=run.python)
        for coeff in (("div", lam, m), lam):
            factor = f"λ/{sh(m)}" if coeff != lam else "λ"
            yield (
                f"the weight-decay term ({factor}) {sh(w)} is missing",
                ("add", rhs, ("mat", coeff, w)),
            )
        for path, node in nodes(rhs):
            if node == lam and not (path and at(rhs, path[:-1])[0] == "div"):
                yield (
                    f"the weight-decay factor is λ/{sh(m)}, not λ (the decay term of the loss "
                    f"is averaged over the {sh(m)} samples too)",
                    replace(rhs, path, ("div", lam, m)),
                )
            if node == ("div", lam, m):
                yield (
                    f"the weight-decay factor is λ, not λ/{sh(m)}",
                    replace(rhs, path, lam),
                )

    def softmax_factors(self, run: Run, rhs: IR, q: Quantity) -> Iterator[tuple[str, IR]]:
        """A softmax output's delta with an elementwise derivative (``⊙ A ⊙ (1 − A)``,
        ``⊙ softmax'(Z)``): softmax's Jacobian is not elementwise, and with the
        cross-entropy it cancels, leaving ``A − Y``; the factors are dropped."""
        prog = self.d.program
        out = prog.equation(prog.output).rhs
        if q.kind != "delta" or not isinstance(out, Softmax):
            return
        if q.layers(self.d) != [self.d.depth]:
            return
        factors = list(_hadamard_factors(rhs))
        if len(factors) < 2:
            return
        sh = partial(show, python=run.python)
        for drop in range(1, min(3, len(factors))):
            for i in range(len(factors) - drop + 1):
                kept = factors[:i] + factors[i + drop :]
                gone = factors[i : i + drop]
                node = kept[0]
                for f in kept[1:]:
                    node = ("had", node, f)
                yield (
                    "softmax's derivative is not elementwise: its Jacobian diag(a) − a aᵀ "
                    "acts on each sample, and with the cross-entropy it cancels (δ = A − Y); "
                    f"{' ⊙ '.join(sh(g) for g in gone)} does not belong here",
                    node,
                )

    def index_mutations(self, run: Run, rhs: IR) -> Iterator[tuple[str, IR]]:
        """Index forms: the offsets' sign (i+u: correlation, as the layer; i−u: flipped)."""
        sh = partial(show, python=run.python)
        entries = [(path, node) for path, node in nodes(rhs) if node[0] == "entry"]
        if not any(len(t) > 1 for _, node in entries for t in node[2]):
            return
        flipped = rhs
        shown = []
        for path, node in entries:
            if any(len(t) > 1 for t in node[2]):
                idx = tuple((t[0], *((-s, v) for s, v in t[1:])) for t in node[2])
                flipped = replace(flipped, path, ("entry", node[1], idx))
                shown.append(sh(node[1]))
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
                if node[0] in ("corr", "conv"):
                    kind = node[0]
                    swapped = "conv" if kind == "corr" else "corr"
                    yield (
                        "correlation and convolution are swapped: "
                        + (
                            "correlate2d does not flip the kernel, convolve2d does"
                            if kind == "corr"
                            else "convolve2d flips the kernel, correlate2d does not"
                        ),
                        replace(rhs, path, (swapped, node[1], node[2], node[3])),
                    )
        modes = {path for path, node in nodes(rhs) if node[0] == "mode"}
        for path, node in nodes(rhs):
            kind = node[0]
            if kind == "fn" and node[1] == "rot180":
                yield (
                    f"the kernel should not be rotated here: {sh(node[3])}, "
                    f"not rot180({sh(node[3])})",
                    replace(rhs, path, node[3]),
                )
            if kind == "sym" and node[1] == "K" and not inside(rhs, path, "rot180"):
                yield (
                    f"the kernel is not flipped: the full convolution uses "
                    f"rot180({sh(node)}), the kernel rotated by 180°",
                    replace(rhs, path, ("fn", "rot180", 0, node)),
                )
            if kind == "mode":
                other = "valid" if node[2] == "full" else "full"
                yield (
                    f"'{node[2]}' is written where the '{other}' mode is needed"
                    + (" (δ padded by k − 1, so every overlap counts)" if other == "full" else ""),
                    replace(rhs, path, ("mode", node[1], other)),
                )
            if kind in ("corr", "conv"):
                mode = node[3] or "valid"
                other = "valid" if mode == "full" else "full"
                yield (
                    f"'{mode}' is written where the '{other}' mode is needed",
                    replace(rhs, path, (kind, node[1], node[2], other)),
                )
                yield (
                    f"the operands are swapped: {sh(node[2])} and {sh(node[1])}",
                    replace(rhs, path, (kind, node[2], node[1], node[3])),
                )
            if (
                kind == "amb"
                and path[:-1] not in modes
                and not any(p == path[: len(p)] for p in modes)
            ):
                yield (
                    "the 'valid' correlation is written where the full one is needed "
                    "(δ padded by k − 1, so every overlap counts): (…)_full",
                    replace(rhs, path, ("mode", node, "full")),
                )
            if kind == "fn" and node[1] == "up" and self._pool_mode(node[3]) == "avg":
                k2 = self._pool_mode(node[3], size=True)
                yield (
                    f"average pooling spreads the delta evenly: each pixel of a window gets "
                    f"1/k² = 1/{k2} of it",
                    replace(rhs, path, ("div", node, ("num", sympy.Integer(k2)))),
                )
            if kind == "fn" and node[1] == "up":
                pooled = self._pool_input(node[3])
                if pooled is not None:
                    routed: IR = ("had", node, ("fn", "maxmask", 0, pooled))
                    spread = "the delta is spread evenly over each window (average pooling's rule)"
                    yield (
                        f"{spread}; max pooling routes it to each window's arg-max: "
                        f"up({sh(node[3])}) ⊙ 1_max({sh(pooled)})",
                        replace(rhs, path, routed),
                    )
                    parent = path[:-1]
                    if path and at(rhs, parent)[0] in ("mat", "div"):
                        yield (
                            f"{spread}; max pooling routes it (no 1/k²) to each window's arg-max: "
                            f"up({sh(node[3])}) ⊙ 1_max({sh(pooled)})",
                            replace(rhs, parent, routed),
                        )

    def _pool_mode(self, node: IR, size: bool = False) -> Any:
        """The pooling mode (or k²) of the layer whose delta ``node`` is, if numbered."""
        if node[0] != "sym" or node[1] != "delta" or node[2] is None or node[2][0] != "int":
            return None
        k = int(node[2][1])
        eq = next((e for e in self.d.program.equations if e.layer == k), None)
        if eq is None or eq.kind is not Kind.POOL:
            return None
        return int(eq.rhs.size) ** 2 if size else eq.rhs.mode

    def _pool_input(self, node: IR) -> IR | None:
        """``A_{l}`` for ``up(δ_{l+1})`` when layer l+1 is a max pooling layer."""
        if node[0] != "sym" or node[1] != "delta" or node[2] is None:
            return None
        idx = node[2]
        if idx[0] == "int":
            k = int(idx[1])
            eq = next((e for e in self.d.program.equations if e.layer == k), None)
            if eq is None or eq.kind is not Kind.POOL or eq.rhs.mode != "max":
                return None
            return ("sym", "A", ("int", k - 1), False) if k > 1 else ("sym", "X", None, False)
        return ("sym", "A", (idx[0], idx[1], idx[2] - 1), False)
