"""Diagnosis: say exactly what is wrong with a formula that is not the derived one.

The formula is read under the other convention and delta definition first; then the
usual mistakes (a transpose, a factor, the order, ⊙ vs product, f', the CNN flip and
mode, pooling's routing, …) are undone one at a time, and the first one whose
correction makes the formula right is named.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from derive.formula.dense_mutations import _samples
from derive.formula.ir import IR, Dim, FormulaError, Num, Sym
from derive.formula.ir_walk import has_entries, nodes, show
from derive.formula.layer_indices import Index, IntIndex, RelIndex
from derive.formula.mutations import Mutations
from derive.formula.quantity import Quantity
from derive.formula.run import Run

MAX_PAIRS = 600  # two mistakes at once: the candidates tried
MAX_SCALE_PAIRS = 200  # of which a factor or sign of the whole with another mistake first
#: the pairs tried times the formula's nodes: a candidate costs about its size to resolve
#: and evaluate, so a long formula (batch norm's δ, 55 nodes: 163 pairs) tries fewer than a
#: textbook δ (7 nodes: all 600), and no diagnosis takes seconds. (At 6000 the index form
#: of a softmax derivation, 26 nodes, stopped short of its sign-and-index pair.)
PAIR_NODES = 9000

#: The single mistakes said before "the other convention's formula" (one slip in the
#: spec's own convention).
_WITHIN_CONVENTION = ("the sum is over the wrong axis", "summed over the wrong axis")

_DELTA_WORDS = {"per_sample": "no 1/m in δ", "mean": "δ = ∂L/∂Z of the batch loss"}


class Diagnosis(Mutations):
    """The usual mistakes, tried one at a time."""

    def diagnose(self, run: Run, q: Quantity, rhs: IR) -> tuple[str | None, list[str]]:
        """What is wrong: another convention or delta definition, else the first usual
        mistake whose correction makes the formula right."""
        net = self.sym_network
        if q.kind == "grad" and isinstance(rhs, Sym) and (rhs.base, rhs.index) == (q.base, q.idx):
            return (  # W ← W − α W: the parameter where its gradient belongs
                f"the gradient is missing: this is the parameter {show(rhs, run.python)} itself, "
                f"where {q.label(self.d)} belongs",
                [],
            )
        if self._right_on(run, "convention", q, rhs):
            also = self._first_mutation(run, q, rhs)
            flip = self.other("convention").network.convention
            as_flip = (
                f"this is the {flip}-convention formula; in this {net.convention}-"
                f"convention network (samples are {_samples(net.convention)}) "
                f"{q.label(self.d)} is the derived formula below"
            )
            if also and also.startswith(_WITHIN_CONVENTION):
                # a sum over the wrong axis is one slip within the spec's own convention
                # (a product in the other order is the other convention's formula)
                return also, [f"equivalently: {as_flip}"]
            if also and any(isinstance(n, Dim) for _, n in nodes(rhs)):
                # len(Y), Y.shape[0]: a size read by its axis counts the samples in one
                # convention only; agreeing in the other is the size's accident there
                return also, [f"equivalently: {as_flip}"]
            if also and "wrong order" in also and self._column_notation(run):
                # Ng's W^{[l]}, dz^{[l]} are column-convention notation: no row formula
                return also, [f"equivalently: {as_flip}"]
            return as_flip, [f"equivalently: {also}"] if also else []
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
        other_q = self._other_quantity(run, q, rhs)
        if other_q is not None:
            return other_q, []
        tight = run.budget.exhausted
        pair, cut = self._first_pair(run, q, rhs) if run.pairs else (None, False)
        if pair is not None:
            return pair, []
        if (run.budget.exhausted or cut) and not tight:
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

    def _column_notation(self, run: Run) -> bool:
        """Whether the formula is in Ng's bracket notation (W^{[l]}) on a column-convention
        network: his course writes every formula with samples as columns, so a product in
        the other order is a slip in it, not the row convention's formula."""
        return run.notation.index == "bracket" and self.network.convention == "column"

    def _right_on(self, run: Run, what: str, q: Quantity, rhs: IR) -> bool:
        """Whether the formula is right in the network with the other ``what`` (the
        convention or the delta definition)."""
        try:
            ok, _ = self.matches(run, self.other(what), q, rhs, trials=2)
        except FormulaError:
            ok = False
        return ok

    def _other_quantity(self, run: Run, q: Quantity, rhs: IR) -> str | None:
        """The right-hand side of another quantity (``∂C/∂A_1`` written for ``∂C/∂b_2``,
        ``δ_1`` for ``δ_2``): the left-hand side names the wrong one. A zero says
        nothing of which (it is every quantity that vanishes: a bias before batch norm)."""
        if has_entries(rhs) or self.network.is_conv or (isinstance(rhs, Num) and rhs.value == 0):
            return None
        if q.generic:
            indices: list[Index] = [RelIndex("l", off) for off in (-1, 0, 1)]
        else:
            indices = [IntIndex(k) for k in range(1, self.d.depth + 1)]
        kinds = [("delta", "delta"), ("grad", "W"), ("grad", "b"), ("cot", "A")]
        for idx in indices:
            for kind, base in kinds:
                other = Quantity(kind, base, idx)
                if (kind, base, idx) == (q.kind, q.base, q.idx):
                    continue
                try:
                    other.layers(self.d)
                    ok, _ = self.matches(run, self.d, other, rhs, trials=2)
                except FormulaError:
                    continue
                if ok:
                    what = (
                        "the left-hand side's layer index is off"
                        if base == q.base
                        else "the left-hand side names another quantity"
                    )
                    label = other.label(self.d)
                    return f"this is the formula of {label}, not of {q.label(self.d)}: {what}"
        return None

    def _first_mutation(self, run: Run, q: Quantity, rhs: IR) -> str | None:
        for description, candidate in self.mutations(run, rhs, q):
            try:
                ok, _ = self.matches(run, self.d, q, candidate, trials=2)
            except FormulaError:
                continue
            if ok:
                return description
        return None

    def _first_pair(self, run: Run, q: Quantity, rhs: IR) -> tuple[str | None, bool]:
        """Two of the usual mistakes at once (e.g. a missing transpose and a missing 1/m):
        each mistake in the formula, then each one in what undoing it leaves; at most
        ``MAX_PAIRS`` tries, so that a wrong formula stays fast to diagnose. The pairs of
        the earliest mistakes first, then a factor or sign of the whole with each other
        mistake (the commonest second one, which the ranks reach late), then the rest.
        Also whether the search was cut short (by the budget or the number of pairs)."""
        firsts = list(self.mutations(run, rhs, q))
        scales = len(self.scale_mutations(rhs))
        ranked = self._ranked_pairs(run, q, firsts, scales)
        most = min(MAX_PAIRS, PAIR_NODES // sum(1 for _ in nodes(rhs)))
        stage = most * MAX_SCALE_PAIRS // MAX_PAIRS
        order = itertools.chain(
            itertools.islice(ranked, stage),
            itertools.islice(self._scale_pairs(firsts[scales:]), stage),
            ranked,
        )
        tried = 0
        for first, second, twice in order:
            if run.budget.exhausted or tried == most:
                return None, True
            tried += 1
            try:
                ok, _ = self.matches(run, self.d, q, twice, trials=2)
            except FormulaError:
                continue
            if ok:
                found = (
                    f"{first}, twice" if first == second else f"two mistakes: {first}; and {second}"
                )
                return found, False
        return None, False

    def _scale_pairs(self, firsts: list[tuple[str, IR]]) -> Iterator[tuple[str, str, IR]]:
        """Each mistake with a factor, the sign or a transpose of the whole."""
        for first, once in firsts:
            for second, twice in self.scale_mutations(once):
                yield first, second, twice

    def _ranked_pairs(
        self, run: Run, q: Quantity, firsts: list[tuple[str, IR]], scales: int
    ) -> Iterator[tuple[str, str, IR]]:
        """The pairs by the sum of the two mistakes' ranks, so that a late kind of mistake
        (a layer index) is paired with every early one (a factor); those of a mistake with
        a scale (``_scale_pairs``) left out."""
        seconds: dict[int, list[tuple[str, IR]]] = {}
        for rank in range(2 * len(firsts)):
            for i in range(min(rank + 1, len(firsts))):
                first, once = firsts[i]
                if i not in seconds:
                    seconds[i] = list(self.mutations(run, once, q))
                j = rank - i
                if j < len(seconds[i]) and not (i >= scales > j):
                    yield first, *seconds[i][j]
