"""The other readings of a formula that is wrong as read (or names a layer the network
has not): the layers numbered otherwise, one sample, 1×1 layers. Each is one more ``Run``
of the same formula; ``Checker.check`` says which one it used, or that it cannot tell.
The network's variants (1×1 layers, one sample) are made in ``network_variants``."""

from __future__ import annotations

import re
from typing import Any

from derive.formula.answer import CheckResult, render_expected
from derive.formula.ir import Scalar
from derive.formula.ir_walk import has_entries, nodes
from derive.formula.latex_ir import OTIMES_NOTE
from derive.formula.letter_readings import letters_swapped, refusal
from derive.formula.network_variants import Variants
from derive.formula.parse import FormulaError
from derive.formula.quantity import quantity_of
from derive.formula.resolve import UnknownSymbol
from derive.formula.run import Run
from derive.formula.side_by_side import (
    JUXTAPOSED_NOTE,
    JUXTAPOSED_REFUSAL,
    juxtaposed_had,
    juxtaposed_readings,
)


class OtherReadings(Variants):
    """The readings a formula may have meant, each checked as one more run."""

    def _other_numbering(self, run: Run, missing: UnknownSymbol) -> CheckResult:
        """A symbol this network has not (``delta3`` in a 2-layer network): the formula
        numbers its layers otherwise. If every common numbering that reads it makes it
        right, that is the verdict (said in a note); if they disagree, the checker cannot
        judge it (an error); if none makes it right, the missing symbol is the error."""
        readable = [(w, r) for w, r in self._renumbered(run) if r is not None]
        readable = self._fitting(run, readable)
        right = [(w, r) for w, r in readable if r.correct]
        if not right:
            found = (
                self._off_the_network(run, missing)
                or self._wrong_in_every(run, readable, missing)
                or self._as_hadamard(run, missing)
            )
            if found is None:
                raise missing
            return found
        theta = self._theta_numbering(run, right)
        if len(right) < len(readable) and theta is not None:
            return theta
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

    def _wrong_in_every(
        self, run: Run, readable: list[tuple[str, CheckResult]], missing: UnknownSymbol
    ) -> CheckResult | None:
        """A symbol this network has not (Britz's first ``δ_3 = y − ŷ``), wrong in every
        common numbering that reads it, each product fitting, and for one sample and with
        1×1 layers too: wrong whichever numbering was meant; the first one's diagnosis."""
        if not readable or any(r.correct or r.shape_error for _, r in readable):
            return None
        for what in ("one_sample", "ones"):
            other = self.variant(what)
            if other is not None and any(r and r.correct for _, r in other._renumbered(run)):
                return None
        words = readable[0][0]
        renumbered = self._renumbering(run, words)
        if renumbered is None:
            return None
        try:
            result = self._check(renumbered)
        except FormulaError:
            return None
        if result.correct:
            return None
        gone = str(missing).split(" in this")[0].removeprefix("no ")
        if run.syntax == "latex":
            gone = gone.replace("delta_", "δ_")
        result.notes.append(
            f"read with {words} (as written, {gone} is not in this network): wrong in every "
            "common numbering of the layers that reads it"
        )
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
            found = self._first_mutation(run, q, parts[1]) or self._first_pair(run, q, parts[1])[0]
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
        alternative = getattr(run.parts, "alternative", None)
        if alternative is not None and alternative.kind == "otimes":
            if result.shape_error is None or "⊙" not in result.shape_error:
                alternative = None  # ⊗ read as ⊙ fits: its verdict, by the usual readings
            else:
                return self._outer(run, alternative)
        if alternative is not None:  # the whole formula read another way (latex_layers)
            taken, other = None, alternative
            while taken is None and other is not None:  # each in turn (``latex_units``)
                taken, other = self._alternative(run, other), other.also
            if taken is not None:
                return taken
        if result.shape_error is not None:
            side_by_side = self._as_hadamard(run)
            if side_by_side is not None:
                return side_by_side
            self._some_mix_right(run)
        ones = self.variant("ones")
        if ones is not None:
            again = ones._verdict(run)
            if again is not None and again.correct:
                again.notes.append(
                    "correct for this network's one-unit layers (1×1 products are numbers)"
                )
                return again
        named = result.diagnosis and "no usual mistake" not in result.diagnosis
        swapped = None if named else letters_swapped(list(run.parts))
        if swapped is not None:  # a and z the other way round (Goodfellow, Bishop, Saito)
            again = self._verdict(run.again(parts=swapped, reading="a and z swapped"))
            if again is not None and again.correct:
                raise refusal(result.diagnosis)
        renumbered = self._renumbered(run)
        by_shapes = self._read_by_shapes(run, renumbered)
        if by_shapes is not None:
            return by_shapes
        theta = self._theta_numbering(run, [(w, r) for w, r in renumbered if r and r.correct])
        if theta is not None:
            return theta
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
        if ones is not None:  # wrong in every reading: said where one mistake explains it
            fewer = self._one_mistake_as_numbers(run, result.diagnosis)
            if fewer is not None:
                return fewer
        return result

    def _as_hadamard(self, run: Run, missing: UnknownSymbol | None = None) -> CheckResult | None:
        """A formula whose products do not fit, with its juxtapositions read as ⊙ (Welch's
        δ^(3) = −(y − ŷ) f'(z^(3)), "scalar multiplication" of two columns): taken only where
        that reading fits and is right (in this numbering, or ``missing``'s other ones), so
        a formula that needs a transpose is never made right by it."""
        parts = [run.parts[0], *(juxtaposed_had(p) for p in run.parts[1:])]
        if parts == list(run.parts):
            return None
        again = run.again(parts=parts, reading=JUXTAPOSED_NOTE)
        try:
            result = (
                self._check(again) if missing is None else self._other_numbering(again, missing)
            )
        except FormulaError:
            return None
        if not result.correct or result.shape_error is not None:
            return None
        layer = re.fullmatch(r"δ_(\d+)|∂L/∂Z_(\d+)", result.quantity)
        k = int(layer.group(1) or layer.group(2)) if layer else 0
        if not 1 <= k < len(self.network.widths) or self.network.widths[k] != 1:
            # arrays side by side whose only fitting product is ⊙, right as ⊙: a matrix
            # product that does not fit (a slip) or ⊙ left unwritten (Ng's notes drop the
            # *): the text cannot tell which
            raise FormulaError(JUXTAPOSED_REFUSAL)
        result.notes.append(JUXTAPOSED_NOTE)
        return result

    def _some_mix_right(self, run: Run) -> None:
        """Products side by side that do not fit as written: where some mix of matrix
        products and ⊙ fits and is right (``W_2ᵀ δ_2 f'(Z_1)`` with the last one ⊙), the
        text cannot tell a slip from an unwritten ⊙ (Welch's issue 3 calls it a slip, Ng's
        notes drop the *): refused."""
        if len(run.parts) != 2:
            return
        mixes = juxtaposed_readings(run.parts[1])[1:]
        if not mixes or len(mixes) > 7:  # three products side by side at most
            return
        for rhs in mixes:
            again = self._verdict(run.again(parts=[run.parts[0], rhs], reading=JUXTAPOSED_NOTE))
            if again is not None and again.correct and again.shape_error is None:
                raise FormulaError(JUXTAPOSED_REFUSAL)

    def _outer(self, run: Run, alternative: Any) -> CheckResult:
        """⊗ whose factors have different shapes: the outer product of one sample's vectors
        (a bᵀ of columns, aᵀ b of rows) where it fits; anything else is refused."""
        net = self.network
        parts = alternative.parts if net.convention == "column" else alternative.row_parts
        if net.batch != 1 or net.is_conv or parts is None:
            raise FormulaError(alternative.refusal)
        try:
            result = self._check(run.again(parts=list(parts), reading=alternative.note))
        except FormulaError:
            raise FormulaError(alternative.refusal) from None
        if result.shape_error is not None:
            raise FormulaError(alternative.refusal)
        notes = getattr(run.parts, "notes", [])
        notes[:] = [n for n in notes if n != OTIMES_NOTE]  # not ⊙ after all
        result.notes.append(alternative.note)
        return result

    def _alternative(self, run: Run, alternative: Any) -> CheckResult | None:
        """The formula, wrong as read, in its other reading (``latex_layers.Alternative``):
        where the shapes rule out the literal reading and fit the other, the other's verdict
        (with its diagnosis and note); a verdict that differs otherwise is refused."""
        other = run.again(parts=list(alternative.parts), reading=alternative.note)
        if self._rules_out(run) and not self._rules_out(other):
            try:
                result = self._check(other)
            except FormulaError:
                return None
            if result.shape_error is None:
                result.notes.append(alternative.note)
                return result
        again = self._verdict(other)
        if again is not None and again.correct:
            raise FormulaError(alternative.refusal)
        return None
