"""Check a hand-written formula against the derivation and say what is wrong with it.

The pipeline, one module a step, each read top to bottom:

- ``parse``: our lark grammars (``latex.lark``, ``python.lark``) -> the IR (``ir``);
- ``quantity``: what the left-hand side names;
- ``resolve``: the IR as SymPy over the network's symbols, every width a distinct symbol
  (``networks``), so shapes are checked; every shape-consistent reading;
- ``equivalence``: structural equality with the derived quantity, else random concrete
  widths and values;
- ``diagnose``: if wrong, the usual mistakes undone one at a time, the one that makes the
  formula right named;
- ``answer``: the right formula in the user's own notation.

One ``Run`` per call carries what a check learns; the ``Checker`` keeps only what is the
same for every check (the derivations).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from derive.formula.answer import detect_notation, render_expected
from derive.formula.diagnose import Diagnosis
from derive.formula.equivalence import Run
from derive.formula.ir import default_layers, has_entries, mentions
from derive.formula.networks import random_env, symbolic_network
from derive.formula.parse import IR, FormulaError, parse
from derive.formula.quantity import Quantity, quantity_of
from derive.formula.resolve import ShapeMismatch


@dataclass
class CheckResult:
    """The verdict on one formula."""

    verdict: str
    quantity: str
    expected: str
    method: str
    diagnosis: str | None = None
    shape_error: str | None = None
    notes: list[str] = field(default_factory=list)
    formula: str = ""

    @property
    def correct(self) -> bool:
        return self.verdict == "correct"

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "quantity": self.quantity,
            "expected": self.expected,
            "method": self.method,
            "diagnosis": self.diagnosis,
            "shape_error": self.shape_error,
            "notes": self.notes,
        }

    def __str__(self) -> str:
        lines = [f"{self.verdict.upper()}: {self.quantity}"]
        if self.shape_error:
            lines.append(f"  shapes do not fit: {self.shape_error}")
        if self.diagnosis:
            lines.append(f"  what is wrong: {self.diagnosis}")
        lines += [f"  note: {n}" for n in self.notes]
        lines.append(f"  derived: {self.expected}")
        lines.append(f"  checked: {self.method}")
        return "\n".join(lines)


class Checker(Diagnosis):
    """Checks formulas against one network; derivations are made once and reused."""

    def check(self, formula: str, syntax: str = "latex") -> CheckResult:
        """The verdict on ``LHS = RHS`` (or a chain of equal sides); a FormulaError if the
        formula cannot be read or judged."""
        run = Run(syntax)  # everything one check learns: nothing leaks into the next
        result = self._check(run, formula)
        if run.pair_used:
            after, extra = self._pair_layer
            result.notes.append(
                "this network has no two conv layers in a row: the formula in l was checked on "
                f"it with a second conv layer inserted after layer {after} ({extra.kernel}×"
                f"{extra.kernel}, stride 1, padding {extra.padding}), so layer numbers in shape "
                "messages are that network's"
            )
        return result

    def _check(self, run: Run, formula: str) -> CheckResult:
        parts = parse(formula, run.syntax)
        if any(has_entries(p) for p in parts):
            parts = [default_layers(p) for p in parts]
        q = quantity_of(parts[0])
        d = self.d
        layers = q.layers(d)
        conv = d.network.is_conv and (
            q.base == "K" or any(mentions(p, "K") or has_entries(p) for p in parts)
        )
        expected = render_expected(d, q, formula, run.syntax, parts[0], conv)
        label = q.label(d)
        for rhs in parts[1:]:
            if rhs[0] == "quantity" or (
                rhs[0] == "sym" and rhs[1] in ("delta", "dW", "db") and rhs == parts[0]
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
                continue
            result = self._check_part(run, q, rhs, label, expected)
            run.notes = result.notes
            if not result.correct:
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
                notes = []
                if run.readings > 1:
                    notes.append(
                        f"ambiguous: {run.readings} readings of its products (·, ×, * as a "
                        "matrix or an elementwise product) fit the shapes; one of them is the "
                        "derived formula"
                    )
                return CheckResult("correct", label, expected, method, notes=notes)
        except ShapeMismatch as err:
            shape_error = str(err)
            method = "shapes"
        diagnosis, notes = self.diagnose(run, q, rhs)
        return CheckResult("incorrect", label, expected, method, diagnosis, shape_error, notes)


def check(spec: Any, formula: str, syntax: str = "latex") -> CheckResult:
    """Check one formula against a spec (a name, a TOML path, a Network or a Derivation)."""
    return Checker(spec).check(formula, syntax)


__all__ = [
    "CheckResult",
    "Checker",
    "FormulaError",
    "check",
    "detect_notation",
    "random_env",
    "symbolic_network",
]
