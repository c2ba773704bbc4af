"""Formulas whose shapes do not fit: the data stored the other way, or no verdict.

Code keeps its labels (one-hot ``Y``) or its input ``X`` with samples as rows while its
activations have samples as columns (adeveloperdiary's ``dZ = A - Y.T``), or the other
way round. A formula that writes such a matrix transposed and does not fit the shapes as
the network stores it is read with that matrix stored transposed (the shapes decide: as
written it cannot be anyone's formula); the note says so. A formula whose shapes do not
fit and that no usual mistake explains gets no verdict: a mismatch of orientation the
checker cannot see (how the source stores its arrays) is not proof of a mistake.
Only code stores arrays: in LaTeX, ``Y^T`` is the spec's Y transposed, so a LaTeX formula
that needs Y the other way is refused (no verdict), not read as right.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from derive.formula.answer import CheckResult
from derive.formula.ir import FormulaError, Sym, T
from derive.formula.ir_walk import map_children, nodes

if TYPE_CHECKING:
    from derive.formula.run import Run

#: The data matrices a source may store the other way, and their names in a note.
DATA = {"Y": "the labels Y", "X": "the input X"}
#: How a diagnosis says that no usual mistake explains the difference (``diagnose``).
UNEXPLAINED = ("no usual mistake", "no single usual mistake")


def _flipped(node: Any, base: str) -> Any:
    """``node`` with the data matrix ``base`` read as stored transposed: Bᵀ -> B, B -> Bᵀ."""
    if isinstance(node, T) and isinstance(node.a, Sym) and node.a.base == base:
        return node.a
    if isinstance(node, Sym) and node.base == base:
        return T(node)
    return map_children(node, lambda c: _flipped(c, base))


def written_transposed(parts: list[Any]) -> list[str]:
    """The data matrices the formula writes transposed (``Y.T``, ``Y^T``)."""
    return [
        base
        for base in DATA
        if any(
            isinstance(n, T) and isinstance(n.a, Sym) and n.a.base == base
            for p in parts
            for _, n in nodes(p)
        )
    ]


def stored_transposed(checker: Any, run: Run, result: CheckResult) -> CheckResult | None:
    """The verdict with a data matrix the formula writes transposed read as stored the
    other way, when as written the shapes do not fit and that reading makes the formula
    right; None otherwise (the formula as read keeps its verdict)."""
    if (
        result.shape_error is None
        or checker.network.is_conv
        or run.syntax != "python"  # maths has no storage: Yᵀ is the spec's Y transposed
        or not _writes_a_transpose(run)
    ):
        return None
    found = right_stored_other_way(checker, run, written_transposed(run.parts))
    if found is None:
        return None
    base, again = found
    again.notes.append(
        f"read with {DATA[base]} stored with samples as {other_orientation(checker)} (the "
        f"transpose of this network's {base}), as the shapes require: as the network stores "
        f"{base}, {result.shape_error}"
    )
    again.formula = result.formula
    return again


def right_stored_other_way(
    checker: Any, run: Run, bases: list[str]
) -> tuple[str, CheckResult] | None:
    """The first data matrix of ``bases`` (X, Y) that, read as stored the other way, makes
    the formula right, with that verdict; None if none does."""
    for base in bases:
        parts = [_flipped(p, base) for p in run.parts]
        try:
            again = checker._check(run.again(parts=parts, verdict_only=True, reading=base))
        except FormulaError:
            continue
        if again.correct and again.shape_error is None:
            return base, again
    return None


def other_orientation(checker: Any) -> str:
    """Where the samples are in the data stored the other way: rows for a column network."""
    return "rows" if checker.network.convention == "column" else "columns"


def unexplained(result: CheckResult) -> bool:
    """Whether the verdict is INCORRECT only because the shapes do not fit, with no usual
    mistake named."""
    said = result.diagnosis or ""
    return (
        not result.correct
        and result.shape_error is not None
        and (not said or any(words in said for words in UNEXPLAINED))
    )


def refuse_unexplained(run: Run, result: CheckResult) -> None:
    """No verdict on a formula whose shapes do not fit and that no usual mistake
    explains: one line naming the shapes, and the data stored the other way if the
    formula names it."""
    if run.verdict_only or run.guess or not unexplained(result):
        return
    named = [b for b in DATA if any(isinstance(n, Sym) and n.base == b for _, n in _all(run))]
    hint = ""
    if named:
        which = " or ".join(DATA[b] for b in named)
        hint = (
            f"; if your source stores {which} with samples along the other axis, the checker "
            "reads it so where the formula writes it transposed (Y.T) and the shapes require it"
        )
    raise FormulaError(
        f"cannot judge this formula: its shapes do not fit ({result.shape_error}) and no "
        "usual mistake explains it, so it may be a mistake or arrays stored in another "
        f"orientation than the spec's{hint}"
    )


#: A transpose as the user writes it (``Y.T``, ``np.transpose(Y)``, ``Y^T``, ``Y^\top``).
_TRANSPOSE = re.compile(r"\.T\b|transpose|\^\s*\{?\s*(?:T\b|\\top|\\intercal|\\mathsf)")
#: One-hot labels subtracted by index (``x[range(N), y] -= 1``): the reader's own Yᵀ when
#: they are on the other axis, integer labels that no storage order explains; or built by
#: the snippet (``np.eye(C)[y]``: samples on rows whatever the network's storage, so its
#: ``.T`` is a layout NumPy fixes, not the source's storage of Y).
_ONE_HOT_INDEX = re.compile(r"(?:np\.)?a?range\(|(?<![\w.])(?:np\.)?(?:eye|identity)\s*\(")


def _writes_a_transpose(run: Run) -> bool:
    """Whether the transposes of the data come from the user's text (not from the reader:
    class indices on the wrong axis are read as Yᵀ and are a mistake, not a storage)."""
    text = run.formula
    return bool(_TRANSPOSE.search(text)) and not _ONE_HOT_INDEX.search(text)


def _all(run: Run) -> list[tuple[Any, Any]]:
    return [pair for p in run.parts for pair in nodes(p)]
