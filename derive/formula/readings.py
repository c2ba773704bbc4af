"""The other readings of a formula that is wrong as read (or names a layer the network
has not): the layers numbered otherwise, one sample, 1×1 layers. Each is one more ``Run``
of the same formula; ``Checker.check`` says which one it used, or that it cannot tell."""

from __future__ import annotations

from derive.formula.algebra import MAX_PRODUCTS, Budget
from derive.formula.answer import CheckResult, render_expected
from derive.formula.diagnose import Diagnosis
from derive.formula.equivalence import shape_of
from derive.formula.ir import Fn, IntIndex, Partial, Scalar, Sym
from derive.formula.ir_walk import has_entries, nodes, shift_layers
from derive.formula.numpy_sums import as_quantity_shape
from derive.formula.parse import FormulaError
from derive.formula.quantity import quantity_of
from derive.formula.resolve import Resolver, UnknownSymbol, unique
from derive.formula.run import Run

#: The most symbols and functions a formula of numbers may have to be tried as numbers
#: before as matrices (``_as_numbers``): each product of numbers has two readings.
MAX_NUMBER_FACTORS = 14

#: Every layer numbered one higher, the input as layer 1 (W^(3) the output weights of a
#: 2-layer network): tried only where a weight's number is past the network, since
#: otherwise it mostly disagrees with the numberings above on what is already readable.
EVERY = (
    "the input as layer 1 and every layer numbered one higher (W^(k+1), z^(k+1), a^(k+1) "
    "of layer k)"
)

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
        "the input as layer 1 (a_(k+1), z_(k+1), δ_(k+1) of layer k; W_k as derive's)",
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


class OtherReadings(Diagnosis):
    """The readings a formula may have meant, each checked as one more run."""

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

    def _other_numbering(self, run: Run, missing: UnknownSymbol) -> CheckResult:
        """A symbol this network has not (``delta3`` in a 2-layer network): the formula
        numbers its layers otherwise. If every common numbering that reads it makes it
        right, that is the verdict (said in a note); if they disagree, the checker cannot
        judge it (an error); if none makes it right, the missing symbol is the error."""
        readable = [(w, r) for w, r in self._renumbered(run) if r is not None]
        readable = self._fitting(run, readable)
        right = [(w, r) for w, r in readable if r.correct]
        if not right:
            found = self._off_the_network(run, missing)
            if found is None:
                raise missing
            return found
        if len(right) < len(readable):
            raise FormulaError(
                f"{missing}; the formula is right with {right[0][0]} and wrong with "
                f"{next(w for w, r in readable if not r.correct)}: write it in derive's "
                "numbering (δ_k = ∂L/∂Z_k, Z_k = W_k A_(k-1) + b_k)"
            )
        words, result = right[0]
        gone = str(missing).split(" in this")[0].removeprefix("no ")
        if run.syntax == "latex":
            gone = gone.replace("delta_", "δ_")
        result.notes.append(f"read with {words}: as written, {gone} is not in this network")
        return result

    def _off_the_network(self, run: Run, missing: UnknownSymbol) -> CheckResult | None:
        """A symbol this network has not (``δ_3`` in a 2-layer network) that a usual
        mistake explains (a layer index off by one): that is the diagnosis."""
        parts = run.parts
        if len(parts) != 2 or any(has_entries(p) for p in parts):
            return None
        single = self.variant("one_sample")
        if single is not None and any(r and r.correct for _, r in single._renumbered(run)):
            return None  # right for one sample numbered otherwise (Britz's ∂L/∂b_2 = δ_3)
        q = quantity_of(parts[0])
        run = run.again()
        try:
            q.layers(self.d)
            found = self._first_mutation(run, q, parts[1]) or self._first_pair(run, q, parts[1])
        except FormulaError:
            return None
        if found is None:
            return None
        d = self.d
        expected = render_expected(
            d, q, run.formula, run.syntax, parts[0], False, self.sizes, run.notation
        )
        gone = str(missing).split(" in this")[0].removeprefix("no ")
        if run.syntax == "latex":
            gone = gone.replace("delta_", "δ_")
        return CheckResult(
            "incorrect",
            q.label(d),
            expected,
            "numeric",
            found,
            notes=[f"as written, {gone} is not in this network"],
            formula=run.formula,
        )

    def _unsure(self, run: Run, result: CheckResult) -> CheckResult:
        """A formula wrong as read, checked under the readings it may have meant.

        Right for the user's own network when its one-unit layers are 1×1 (products of
        1×1 factors are numbers): correct. Right with the layers numbered otherwise (for
        the batch, or for one sample): the checker cannot tell that from a mistake, so it
        says so (an error, not a guess). Right for one sample as numbered is a mistake it
        names (a missing 1/m or sum over samples).
        """
        ones = self.variant("ones")
        if ones is not None:
            again = ones._verdict(run)
            if again is not None and again.correct:
                again.notes.append(
                    "correct for this network's one-unit layers (1×1 products are numbers)"
                )
                return again
        named = result.diagnosis and "no usual mistake" not in result.diagnosis
        renumbered = self._renumbered(run)
        by_shapes = self._read_by_shapes(run, renumbered)
        if by_shapes is not None:
            return by_shapes
        right = [w for w, r in renumbered if r and r.correct]
        if right:
            raise FormulaError(
                "cannot judge the layer numbering: as derive numbers the layers (δ_k = "
                "∂L/∂Z_k, Z_k = W_k A_(k-1) + b_k) this formula is wrong"
                + (f" ({result.diagnosis})" if named else "")
                + f", and with {right[0]} it is right; write it in derive's numbering"
            )
        batch = {"m", str(self.d.program.batch)}
        written_m = any(
            isinstance(n, Scalar) and n.name in batch for p in run.parts for _, n in nodes(p)
        )
        single = None if written_m else self.variant("one_sample")  # 1/m: a batch formula
        if single is not None:
            as_is = single._verdict(run)
            if as_is is not None and as_is.correct:  # a per-sample textbook formula
                m = self.d.program.batch
                result.diagnosis = (
                    f"{result.diagnosis} (the formula is right for one sample; for a batch of "
                    f"{m} it is the derived formula below)"
                    if named
                    else f"correct for one sample; for a batch of {m} it is the derived "
                    "formula below"
                )
                return result
            # renumbered and per sample: two guesses, no verdict
            alike = [w for w, r in single._renumbered(run) if r and r.correct]
            if alike:
                raise FormulaError(
                    f"cannot judge the layer numbering: the formula is right for one sample "
                    f"with {alike[0]}, and wrong as derive numbers the layers for a batch of "
                    f"{self.d.program.batch}; write it in derive's numbering"
                )
        return result

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

    @property
    def all_numbers(self) -> bool:
        """Whether every width and the batch are 1 (a chain of scalar neurons, one sample):
        every quantity is a number, so a product whose matrix shapes do not fit is one of
        numbers, and the formula's mistake is looked for among numbers (``_as_numbers``)."""
        net = self.network
        return not net.is_conv and net.batch == 1 and all(w == 1 for w in net.widths)

    def _as_numbers(self, run: Run, shape_error: str) -> CheckResult | None:
        """A formula whose shapes do not fit, in a network of numbers (``all_numbers``):
        its verdict and mistake with the layers as the numbers they are (single mistakes
        only: a product of numbers has many readings); None where it cannot be read so."""
        ones = self.variant("ones")
        factors = sum(1 for p in run.parts[1:] for _, n in nodes(p) if isinstance(n, (Sym, Fn)))
        if ones is None or factors > MAX_NUMBER_FACTORS:
            return None  # a long product of numbers has too many readings to try them twice
        try:
            budget = Budget(MAX_PRODUCTS // 4)
            scalar = ones._check(run.again(network=self.network, pairs=False, budget=budget))
        except FormulaError:
            return None
        if scalar.correct:
            scalar.notes.append(
                "correct for this network's one-unit layers (1×1 products are numbers)"
            )
            return scalar
        if not scalar.diagnosis or "usual mistake" in scalar.diagnosis:
            return None
        scalar.notes.append(
            "diagnosed with this network's one-unit layers as numbers (1×1); as matrices of "
            f"any width the shapes do not fit: {shape_error}"
        )
        return scalar

    def variant(self, what: str) -> OtherReadings | None:
        """The checker of a variant of this network (made once): ``ones`` keeps its
        one-unit widths at 1, ``one_sample`` has a batch of 1."""
        key = f"_variant_{what}"
        if key not in self.__dict__:
            net = self.network
            made: OtherReadings | None = None
            if what == "ones" and not net.is_conv and 1 in net.widths:
                made = type(self)(net, keep_ones=True)
            elif what == "one_sample" and net.batch != 1:
                made = type(self)(net.with_(batch=1))
            self.__dict__[key] = made
        return self.__dict__[key]  # type: ignore[no-any-return]
