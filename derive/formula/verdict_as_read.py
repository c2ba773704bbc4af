"""The verdict on a formula as read: each right-hand side against the derived quantity
its left-hand side names (a gradient written on the right compared as one), with the
mistake diagnosed where it is wrong and nothing else tried. ``check.Checker`` tries the
other readings (``readings``) around it.
"""

from __future__ import annotations

from derive.formula.answer import CheckResult, render_expected
from derive.formula.correct_notes import correct_notes
from derive.formula.derivative_rules import check_rule, rule_argument
from derive.formula.ir import IR, FormulaError, Partial, Sym
from derive.formula.ir_walk import default_layers, has_entries, mentions
from derive.formula.numpy_sums import SummedEverything, summed_where_the_array_belongs
from derive.formula.one_sample import one_sample_check
from derive.formula.quantity import Quantity, quantity_of, refuse_latex_loss
from derive.formula.readings import OtherReadings
from derive.formula.resolve import ShapeMismatch
from derive.formula.run import Run


class AsRead(OtherReadings):
    """A checker's verdict on one run's formula as read."""

    def _check(self, run: Run) -> CheckResult:
        """The verdict on the run's formula as read, with a diagnosis unless ``verdict_only``."""
        formula, parts = run.formula, run.parts
        if rule_argument(parts[0]) is not None:  # f'(x) = …: an activation's derivative
            return check_rule(self, run)
        if any(has_entries(p) for p in parts):
            parts = [default_layers(p) for p in parts]
        q = quantity_of(parts[0])
        d = self.d
        refuse_latex_loss(q, run.syntax, d)
        if q.one_sample and d.program.batch != 1:  # L_i, E_n: on one sample (``one_sample``)
            return one_sample_check(self, run, q)
        layers = q.layers(d)
        conv = d.network.is_conv and (
            q.base == "K" or any(mentions(p, "K") or has_entries(p) for p in parts)
        )
        expected = render_expected(
            d, q, formula, run.syntax, parts[0], conv, self.sizes, run.notation
        )
        label = q.label(d)
        chained = False  # a side before is the chain rule written out (∂z_2/∂W_2 ∂J/∂z_2)
        for rhs in parts[1:]:
            if isinstance(rhs, Partial) or (
                isinstance(rhs, Sym) and rhs.base in ("delta", "dW", "db") and rhs == parts[0]
            ):
                other = quantity_of(rhs)
                same = all(
                    self._numeric_equal(d, other.expected(d, k), q.expected(d, k), 1)
                    for k in layers
                )
                if not same:
                    return CheckResult(
                        "incorrect",
                        label,
                        expected,
                        "numeric",
                        f"{other.label(d)} is not {label}",
                        formula=formula,
                    )
                chained = True
                continue
            result = self._check_part(run, q, rhs, label, expected)
            run.notes = result.notes
            if not result.correct:
                _refuse_own_numbering(result, chained)
                result.formula = formula
                return result
        return CheckResult("correct", label, expected, run.method, formula=formula, notes=run.notes)

    def _check_part(self, run: Run, q: Quantity, rhs: IR, label: str, expected: str) -> CheckResult:
        d = self.d
        shape_error = None
        try:
            ok, method = self.matches(run, d, q, rhs)
            run.method = method
            if ok:
                notes = correct_notes(run, rhs)  # what a right formula is told too
                return CheckResult("correct", label, expected, method, notes=notes)
        except SummedEverything as err:  # np.sum(db) without axis: the mistake is named
            said = self.as_written(str(err))
            return CheckResult("incorrect", label, expected, "shapes", err.diagnosis, said)
        except ShapeMismatch as err:
            shape_error = self.as_written(str(err))  # the widths the user wrote
            method = "shapes"
        if shape_error and self.all_numbers and not run.verdict_only:
            as_numbers = self._as_numbers(run, shape_error)  # a chain of scalar neurons
            if as_numbers is not None:
                return as_numbers
        if run.verdict_only:
            return CheckResult("incorrect", label, expected, method, None, shape_error)
        summed = None if shape_error else summed_where_the_array_belongs(self, run, q, rhs)
        if summed is not None:
            return CheckResult("incorrect", label, expected, method, summed)
        diagnosis, notes = self.diagnose(run, q, rhs)
        return CheckResult("incorrect", label, expected, method, diagnosis, shape_error, notes)


def _refuse_own_numbering(result: CheckResult, chained: bool) -> None:
    """A chain rule written out before a side wrong only by a layer index (``∂J/∂W_2 =
    ∂z_2/∂W_2 ∂J/∂z_2 = hᵀ δ_1``, a page numbering its deltas from the output): the
    formula itself puts its δ_1 where ∂J/∂z_2 stands, so the numbering is the author's,
    not a mistake derive can name; no verdict."""
    said = result.diagnosis or ""
    if chained and said.startswith("a layer index is off by one"):
        raise FormulaError(
            f"cannot judge the layer numbering: {said}, but the chain rule written before "
            "it says what the formula's own numbering is (pages that number δ from the "
            "output write δ_1 for ∂J/∂z_2); write it in derive's numbering"
        )
