"""A NumPy formula whose shapes do not fit, right with the data stored the other way:
no verdict, even where a usual mistake would make it fit.

``stored_transposed`` reads ``Y.T`` as the labels stored with samples as rows where the
formula writes the transpose. ``(A2.T - Y).T`` writes Y plainly inside a transposed
difference: on a column network whose source keeps Y with samples as rows it is exactly
``A2 - Y``, but as the network stores Y the shapes do not fit, and the diagnosis found
two mistakes that make it fit ("(A2ᵀ − Y) should not be transposed; and A2 should not be
transposed"): INCORRECT, though the formula is right for that source. A formula that
does not fit as the spec stores the data, and that reading the data stored the other way
makes right, is not judged either way when no single usual mistake explains it: the
checker cannot see how the source stores its arrays, and says so. (One mistake that
explains it, Ng's ``np.dot(dZ1, X)`` missing its transpose, is said as the diagnosis.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from derive.formula.answer import CheckResult
from derive.formula.ir import FormulaError, Sym
from derive.formula.ir_walk import nodes
from derive.formula.stored_transposed import (
    _ONE_HOT_INDEX,
    DATA,
    other_orientation,
    right_stored_other_way,
)

if TYPE_CHECKING:
    from derive.formula.run import Run


def refuse_if_right_stored_other_way(checker: Any, run: Run, result: CheckResult) -> None:
    """A FormulaError ("cannot judge …") when ``result`` is INCORRECT with shapes that do
    not fit, and the formula with a data matrix it names read as stored transposed is
    right."""
    if (
        result.correct
        or result.shape_error is None
        or run.syntax != "python"  # maths has no storage (``stored_transposed``)
        or run.verdict_only
        or run.guess
        or checker.network.is_conv
        or _ONE_HOT_INDEX.search(run.formula)  # x[y, range(N)]: the reader's Yᵀ, a mistake
        or _one_mistake(result)  # np.dot(dZ1, X): "a transpose is missing on X", as said
    ):
        return
    named = [
        b
        for b in DATA
        if any(isinstance(n, Sym) and n.base == b for p in run.parts for _, n in nodes(p))
    ]
    found = right_stored_other_way(checker, run, named)
    if found is not None:
        base = found[0]
        raise FormulaError(
            f"cannot judge this formula: as the network stores {base} its shapes do not "
            f"fit ({result.shape_error}), and with {DATA[base]} stored with samples as "
            f"{other_orientation(checker)} (as much code keeps them) it is right; which your "
            f"source does the checker cannot see: check it on a spec that stores {base} as "
            "your source does"
        )


def _one_mistake(result: CheckResult) -> bool:
    """Whether one usual mistake explains the formula (Ng's ``np.dot(dZ1, X)``: a
    transpose is missing on X, as the spec stores X): that is said, as on a source that
    stores X as the spec does. Refused are the formulas only two mistakes at once, or
    none, explain, where the other storage is the simpler reading."""
    said = result.diagnosis or ""
    return bool(said) and not said.startswith("two mistakes") and "no usual" not in said
