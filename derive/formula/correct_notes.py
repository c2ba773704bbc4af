"""What a formula judged right is told besides: the readings its verdict rests on.

A number read as a width of the network, a NumPy sum without ``keepdims`` that happens to
keep the parameter's shape, a derivative written at the activation that equals the one at
the pre-activation only for ReLU, products that several readings fit: each is right here,
and each is worth knowing before the formula is used elsewhere.
"""

from __future__ import annotations

from derive.formula.ir import Fn, Squeeze, Sym
from derive.formula.ir_walk import nodes, show
from derive.formula.parse import IR
from derive.formula.run import Run


def correct_notes(run: Run, rhs: IR) -> list[str]:
    """The notes of a right formula, in the order the answer prints them."""
    notes = list(run.size_notes)  # a number read as a width of the network
    if any(isinstance(n, Squeeze) and n.a.axis != "all" for _, n in nodes(rhs)):
        notes.append(
            "np.sum without keepdims=True has NumPy's shape (n,), which broadcasts "
            "as a row (1, n): here that is the parameter's own shape (or n = 1), so "
            "the update keeps it; keepdims=True makes the shape explicit"
        )
    notes += derivative_at_a_notes(rhs, run.python)
    if run.readings > 1:
        notes.append(
            f"ambiguous: {run.readings} readings of its products (·, ×, * as a "
            "matrix or an elementwise product, or an unbracketed ⊙ binding either "
            "way) fit the shapes; one of them is the derived formula"
        )
    return notes


def derivative_at_a_notes(rhs: IR, python: bool) -> list[str]:
    """A derivative written at the activation A in a formula judged right: equal here only
    because the activation is ReLU's (A > 0 exactly where Z > 0), which a student should
    know is not the rule (``tanh'(A)`` would be wrong)."""
    at_a = [
        n
        for _, n in nodes(rhs)
        if isinstance(n, Fn) and n.order >= 1 and isinstance(n.arg, Sym) and n.arg.base == "A"
    ]
    return [
        f"{show(n, python)} equals the derivative at the pre-activation here only because ReLU "
        "is positive exactly where its input is (A > 0 ⇔ Z > 0); in general f' is taken at Z"
        for n in at_a[:1]
    ]
