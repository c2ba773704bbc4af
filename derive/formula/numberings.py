"""The common other numberings of layers a formula may use (δ numbered from the input,
the input as layer 1, UFLDL's weights, from 0), each tried as one more ``Run``, and which
of them the shapes rule out: a right-hand side that reads but cannot have the left-hand
side's shape in a numbering is not written in it (``OtherReadings`` decides from these)."""

from __future__ import annotations

import re

from derive.formula.answer import CheckResult
from derive.formula.diagnose import Diagnosis
from derive.formula.equivalence import shape_of
from derive.formula.ir import Partial, Sym
from derive.formula.ir_walk import has_entries, nodes, shift_layers
from derive.formula.layer_indices import IntIndex
from derive.formula.numpy_sums import as_quantity_shape
from derive.formula.parse import FormulaError
from derive.formula.quantity import quantity_of
from derive.formula.resolve import Resolver, unique
from derive.formula.run import Run

#: Every layer numbered one higher, the input as layer 1 (W^(3) the output weights of a
#: 2-layer network): tried only where a weight's number is past the network, since
#: otherwise it mostly disagrees with the numberings above on what is already readable.
EVERY = (
    "the input as layer 1 and every layer numbered one higher (W^(k+1), z^(k+1), a^(k+1) "
    "of layer k)"
)

#: The input as layer 1, the weights as derive's (Ng's Machine Learning course: a^(1) = x,
#: Θ^(1) maps layer 1 to 2, so Θ^(l) is derive's W_l and a^(l+1) its A_l).
INPUT_FIRST = "the input as layer 1 (a_(k+1), z_(k+1), δ_(k+1) of layer k; W_k as derive's)"

#: The weights numbered from the layer they feed out of: UFLDL's W^(l) maps l to l+1.
UFLDL = (
    "the weights numbered from the layer they feed out of (W^(k) maps layer k to k+1, as in UFLDL)"
)

#: The common other numberings of layers, tried when a formula is not right as written:
#: (symbols renumbered, by how much, in words).
NUMBERINGS: list[tuple[frozenset[str], int, str]] = [
    (frozenset({"delta"}), -1, "the deltas numbered from the input (δ_(k+1) of layer k)"),
    (
        frozenset({"delta", "Z", "A"}),
        -1,
        INPUT_FIRST,
    ),
    (
        frozenset({"delta", "Z", "A", "W", "b", "dW", "db", "dA", "K", "dK"}),
        1,
        "the layers numbered from 0",
    ),
    (frozenset({"delta", "Z", "A", "W", "b", "dW", "db", "dA"}), -1, EVERY),
    (frozenset({"W", "b", "dW", "db"}), 1, UFLDL),
]

#: The numberings of notes, not of code: tried for LaTeX formulas only.
LATEX_ONLY = (EVERY, UFLDL)


#: Ng's Θ^(l) (Machine Learning course, ex4): its numbering is the course's own, the input
#: as layer 1 and Θ^(l) from layer l to l+1 (UFLDL's, for the generic l).
_THETA = re.compile(r"\\Theta(?![A-Za-z])")
THETA_NOTE = (
    "Θ^(l) read as in Ng's Machine Learning course, which numbers the input as layer 1 "
    "(Θ^(l) maps layer l to l+1)"
)


class Numberings(Diagnosis):
    """The other numberings of a formula's layers, each checked as one more run."""

    def _theta_numbering(
        self, run: Run, right: list[tuple[str, CheckResult]]
    ) -> CheckResult | None:
        """The verdict in Ng's Machine Learning numbering where the formula writes his Θ
        and that numbering (and no other kind) makes it right; None otherwise."""
        if run.python or not _THETA.search(run.formula):
            return None
        ours = [(w, r) for w, r in right if w in (INPUT_FIRST, UFLDL)]
        if not ours:
            return None
        words, result = ours[0]
        result.notes.append(f"{THETA_NOTE}: read with {words}")
        return result

    def _check(self, run: Run) -> CheckResult:
        """The verdict on the run's formula as read (``Checker``)."""
        raise NotImplementedError

    def _verdict(self, run: Run, guess: bool = False) -> CheckResult | None:
        """The verdict on another reading, without a diagnosis; None if it cannot be read."""
        try:
            return self._check(run.again(network=self.network, verdict_only=True, guess=guess))
        except FormulaError:
            return None

    def _renumbered(self, run: Run) -> list[tuple[str, CheckResult | None]]:
        """The verdict (None: unreadable) under each common other numbering of layers."""
        out: list[tuple[str, CheckResult | None]] = []
        for bases, by, words in NUMBERINGS:
            if words in LATEX_ONLY and run.python:
                continue  # code indexes its lists as written (self.weights[-l])
            if words == UFLDL and run.notation.index == "bracket":
                continue  # Ng's W^{[l]} is layer l's own weight, never UFLDL's
            if words == EVERY and not self._weights_past(run):
                continue
            relative = "delta" not in bases  # the weights alone: W_l is W_(l+1) too
            shifted = [shift_layers(p, by, bases, relative) for p in run.parts]
            if shifted != run.parts:
                renumbered = run.again(parts=shifted, reading=words)
                out.append((words, self._verdict(renumbered, guess=True)))
        return out

    def _weights_past(self, run: Run) -> bool:
        """Whether the formula names a weight or bias past the network's last layer."""
        return any(
            isinstance(n, Sym)
            and n.base in ("W", "b", "dW", "db")
            and isinstance(n.index, IntIndex)
            and n.index.k > self.d.depth
            for p in run.parts
            for _, n in nodes(p)
        )

    def _read_by_shapes(
        self, run: Run, renumbered: list[tuple[str, CheckResult | None]]
    ) -> CheckResult | None:
        """A formula whose shapes do not fit as derive numbers the layers (``X^T δ_2`` for
        ∂L/∂W_1: W_1's gradient cannot have δ_2's width), right in every other common
        numbering whose shapes do fit (Britz's and Welch's deltas numbered from the input):
        that numbering is the one its author used, read with a note. None if the shapes
        fit as written, or no other numbering fits, or those that fit disagree."""
        if not self._rules_out(run):
            return None
        fitting = self._fitting(
            run, [(w, r) for w, r in renumbered if r is not None], both_ways=True
        )
        if not fitting or not all(r.correct for _, r in fitting):
            return None
        words, result = fitting[0]
        label = quantity_of(run.parts[0]).label(self.d)
        result.notes.append(
            f"read with {words}: as derive numbers the layers (δ_k = ∂L/∂Z_k, Z_k = W_k "
            f"A_(k-1) + b_k), the right-hand side does not have {label}'s shape"
        )
        return result

    def _fitting(
        self,
        run: Run,
        readable: list[tuple[str, CheckResult]],
        both_ways: bool = False,
    ) -> list[tuple[str, CheckResult]]:
        """The numberings (of ``readable``) whose right-hand sides can have the left-hand
        side's shape: one whose factors multiply but give another shape is not the one the
        author meant (a mistake inside a product keeps it: its shapes may be the mistake).
        ``both_ways``: a numbering whose product itself does not fit is dropped too (it
        cannot be the reading the verdict comes from)."""
        kept = []
        for words, result in readable:
            renumbered = self._renumbering(run, words)
            if renumbered is None:
                continue
            if self._rules_out(renumbered):
                continue
            if both_ways and result.shape_error:
                continue
            kept.append((words, result))
        return kept

    def _renumbering(self, run: Run, words: str) -> Run | None:
        """The run of the formula in the numbering named ``words``."""
        for bases, by, said in NUMBERINGS:
            if said == words:
                relative = "delta" not in bases
                parts = [shift_layers(p, by, bases, relative) for p in run.parts]
                return run.again(parts=parts, reading=words)
        return None

    def _rules_out(self, run: Run) -> bool:
        """Whether the run's right-hand sides read, each product fitting, but none of their
        readings has the left-hand side's shape at some layer (``∂L/∂W_1 = X^T δ_2``).
        False when the shapes fit, or when a product inside does not (that may be the
        formula's mistake, not its numbering), or for index forms (no shapes to compare)."""
        parts = run.parts
        if any(has_entries(p) for p in parts):
            return False
        try:
            q = quantity_of(parts[0])
            layers = q.layers(self.d)
        except FormulaError:
            return False
        d = self.d
        for rhs in parts[1:]:
            if isinstance(rhs, Partial):
                continue
            for k in layers:
                try:
                    expected = q.expected(d, k)
                    ctx = self._context(run, d, k)
                    readings = unique(Resolver(ctx).readings(rhs))
                    readings = [
                        as_quantity_shape(r, expected, d.program.column, ctx) for r in readings
                    ]
                except FormulaError:
                    return False
                if not any(shape_of(r) == shape_of(expected) for r in readings):
                    return True
        return False
