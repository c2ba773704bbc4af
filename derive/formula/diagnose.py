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
from derive.formula.ir import (
    IR,
    Amb,
    Bin,
    Cmp,
    Conv,
    Entry,
    Fn,
    FormulaError,
    Gt0,
    IntIndex,
    Mode,
    Neg,
    Num,
    Pow,
    Scalar,
    Squeeze,
    Sum,
    Sym,
    T,
    shifted,
)
from derive.formula.ir_walk import at, inside, nodes, replace, show
from derive.formula.quantity import Quantity

MAX_PAIRS = 600  # two mistakes at once: the candidates tried

_DELTA_WORDS = {"per_sample": "no 1/m in δ", "mean": "δ = ∂L/∂Z of the batch loss"}


def _samples(convention: str) -> str:
    return "columns" if convention == "column" else "rows"


def _hadamard_factors(node: IR) -> Iterator[IR]:
    """The factors of a chain of Hadamard products, left to right."""
    if isinstance(node, Bin) and node.op == "had":
        yield from _hadamard_factors(node.a)
        yield from _hadamard_factors(node.b)
    else:
        yield node


def _is(node: IR, op: str) -> bool:
    """Whether ``node`` is the binary operation ``op``."""
    return isinstance(node, Bin) and node.op == op


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
        m_scalar: IR = Scalar(str(self.d.program.batch))
        factors: list[tuple[str, IR]] = [
            ("a factor 1/m is missing", Bin("div", rhs, m_scalar)),
            ("a factor 1/m too many", Bin("mat", m_scalar, rhs)),
            ("a factor 1/2 is missing", Bin("div", rhs, Num(sympy.Integer(2)))),
            (
                "a factor 2 is missing (the 1/2 is not in this loss)",
                Bin("mat", Num(sympy.Integer(2)), rhs),
            ),
            ("the sign is wrong", Neg(rhs)),
            ("the whole right-hand side should be transposed", T(rhs)),
        ]
        yield from factors
        for path, node in nodes(rhs):
            if isinstance(node, Sym) and node.base != "Y":
                yield (f"a transpose is missing on {sh(node)}", replace(rhs, path, T(node)))
            if isinstance(node, T):
                yield (f"{sh(node.a)} should not be transposed", replace(rhs, path, node.a))
            if (
                isinstance(node, Bin)
                and node.op == "mat"
                and not isinstance(node.a, (Num, Scalar))
                and not _is(node.a, "div")
            ):
                a, b = node.a, node.b
                yield (
                    f"the product is in the wrong order: {sh(b)} {sh(a)}, not {sh(a)} {sh(b)}",
                    replace(rhs, path, Bin("mat", b, a)),
                )
                yield (
                    "a matrix product is written where the Hadamard product ⊙ belongs "
                    f"({sh(a)} ⊙ {sh(b)})",
                    replace(rhs, path, Bin("had", a, b)),
                )
            if isinstance(node, Bin) and node.op == "had":
                yield (
                    "a Hadamard product ⊙ is written where a matrix product belongs",
                    replace(rhs, path, Bin("mat", node.a, node.b)),
                )
                for side, other in ((node.a, node.b), (node.b, node.a)):
                    if isinstance(side, Fn) and side.order >= 1:
                        yield (
                            f"the factor {sh(side)} does not belong here",
                            replace(rhs, path, other),
                        )
            if isinstance(node, Squeeze):
                yield (
                    f"np.sum without keepdims=True drops the summed axis: {sh(node.a)} "
                    "has shape (n,), not (n, 1) — add keepdims=True",
                    replace(rhs, path, node.a),
                )
            if isinstance(node, Sum) and node.axis in (0, 1):
                axis = 1 - int(node.axis)
                yield (
                    f"the sum is over the wrong axis (axis={axis})",
                    replace(rhs, path, Sum(node.a, axis)),
                )
            if isinstance(node, Fn) and node.order == 0 and q.kind == "delta":
                yield (
                    f"{sh(node)} should be the derivative {sh(Fn(node.name, 1, node.arg))}",
                    replace(rhs, path, Fn(node.name, 1, node.arg)),
                )
        for path, node in nodes(rhs):  # a layer index off by one, f'(A) for f'(Z)
            if isinstance(node, Num) and node.value not in (0, 1):
                yield (
                    f"the factor {node.value} does not belong here",
                    replace(rhs, path, Num(sympy.Integer(1))),
                )
            if isinstance(node, Sym) and node.base in ("Z", "A") and node.index is not None:
                swap = Sym("A" if node.base == "Z" else "Z", node.index, node.lower)
                what = "the activation" if swap.base == "A" else "the pre-activation"
                yield (
                    f"{sh(node)} is written where {what} {sh(swap)} belongs",
                    replace(rhs, path, swap),
                )
            if (
                isinstance(node, Fn)
                and node.order >= 1
                and isinstance(node.arg, Sym)
                and node.arg.base == "A"
            ):
                at_z = Fn(node.name, node.order, Sym("Z", node.arg.index, node.arg.lower))
                yield (
                    f"{sh(node)} is written where {sh(at_z)} belongs: "
                    "the derivative is taken at the pre-activation Z, not at A",
                    replace(rhs, path, at_z),
                )
            if isinstance(node, Sym) and node.index is not None:
                for by in (-1, 1):
                    other = Sym(node.base, shifted(node.index, by), node.lower)
                    yield (
                        f"a layer index is off by one: {sh(node)} where {sh(other)} belongs",
                        replace(rhs, path, other),
                    )
        if q.kind == "delta":
            z = Sym("Z", q.idx, False)
            yield (
                f"the factor f'(Z) of the layer is missing (⊙ f'({sh(z)}))",
                Bin("had", rhs, Fn("generic", 1, z)),
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
            x = node.a if isinstance(node, (Gt0, Cmp)) else None
            if isinstance(x, Sym) and x.base in ("Z", "A") and x.index is not None:
                z = Sym("Z", x.index, x.lower)
                yield (
                    f"the mask ({sh(x)} > 0) is ReLU's derivative; this layer's activation "
                    f"is not ReLU: its derivative f'({sh(z)}) belongs here",
                    replace(rhs, path, Fn("generic", 1, z)),
                )

    def sample_sums(self, run: Run, rhs: IR, q: Quantity) -> Iterator[tuple[str, IR]]:
        """A bias gradient without its sum over samples (``db1 = dZ1 / m``)."""
        if q.kind != "grad" or q.base != "b":
            return
        sh = partial(show, python=run.python)
        for path, node in nodes(rhs):
            if isinstance(node, Sym) and node.base == "delta" and not inside(rhs, path, "sum"):
                summed: IR = Sum(node, None)
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
            if isinstance(node, Pow) and node.n == 2 and _is(node.a, "sub"):
                one, x = node.a.a, node.a.b  # type: ignore[union-attr]
                yield (
                    f"(1 − {sh(x)})² is written where 1 − {sh(x)}² belongs: the square is "
                    f"on {sh(x)} alone",
                    replace(rhs, path, Bin("sub", one, Pow(x, 2))),
                )
            if (
                isinstance(node, Bin)
                and node.op == "sub"
                and node.a == Num(sympy.Integer(1))
                and isinstance(node.b, (Sym, Fn))
                and not (path and isinstance(at(rhs, path[:-1]), Pow))
            ):
                yield (
                    f"the square is missing: 1 − {sh(node.b)}², not 1 − {sh(node.b)}",
                    replace(rhs, path, Bin("sub", node.a, Pow(node.b, 2))),
                )

    def weight_decay(self, run: Run, rhs: IR, q: Quantity) -> Iterator[tuple[str, IR]]:
        """The L2 term of a weight gradient: missing, or λ where λ/m belongs (and back)."""
        decay = self.network.loss.weight_decay
        if q.kind != "grad" or q.base not in ("W", "K") or not isinstance(decay, str):
            return
        lam: IR = Scalar(decay)
        m: IR = Scalar(str(self.d.program.batch))
        w: IR = Sym(q.base, q.idx, False)
        sh = partial(show, python=run.python)
        for coeff in (Bin("div", lam, m), lam):
            factor = f"λ/{sh(m)}" if coeff != lam else "λ"
            yield (
                f"the weight-decay term ({factor}) {sh(w)} is missing",
                Bin("add", rhs, Bin("mat", coeff, w)),
            )
        for path, node in nodes(rhs):
            if node == lam and not (path and _is(at(rhs, path[:-1]), "div")):
                yield (
                    f"the weight-decay factor is λ/{sh(m)}, not λ (the decay term of the loss "
                    f"is averaged over the {sh(m)} samples too)",
                    replace(rhs, path, Bin("div", lam, m)),
                )
            if node == Bin("div", lam, m):
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
                    node = Bin("had", node, f)
                yield (
                    "softmax's derivative is not elementwise: its Jacobian diag(a) − a aᵀ "
                    "acts on each sample, and with the cross-entropy it cancels (δ = A − Y); "
                    f"{' ⊙ '.join(sh(g) for g in gone)} does not belong here",
                    node,
                )

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
