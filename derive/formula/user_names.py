"""A NumPy diagnosis in the user's own names: ``delta1`` where they wrote ``delta1``, not
derive's ``dZ1``; a name read by its spelling (``error`` as δ_2) as theirs, with derive's
in brackets (``error (dZ2)``). The diagnoses are made over derive's names (``show``
prints a delta ``dZ`` in NumPy); this puts the user's back, once, on the answer."""

from __future__ import annotations

import re
from collections.abc import Iterable

from derive.formula.answer import CheckResult

#: A delta in derive's NumPy spelling (``dZ2``, ``dZl``), not followed by more of a name.
_DZ = re.compile(r"(?<![\w.])dZ([0-9]+|l)(?![0-9A-Za-z_])")


def delta_prefix(formula: str) -> str | None:
    """How the formula spells a numbered delta (``delta``, ``delta_``), if it writes
    deltas so and never derive's ``dZ``."""
    if re.search(r"(?<![\w.])dZ_?[0-9l](?!\w)", formula):
        return None
    m = re.search(r"(?<![\w.])(delta_?)[0-9]+(?!\w)", formula)
    return m.group(1) if m else None


def _renamed(text: str | None, pairs: Iterable[tuple[re.Pattern[str], str]]) -> str | None:
    if not text:
        return text
    for pattern, new in pairs:
        text = pattern.sub(new, text)
    return text


def in_users_names(result: CheckResult, formula: str) -> CheckResult:
    """The result's diagnosis, shape message and notes with the formula's delta spelling."""
    prefix = delta_prefix(formula)
    if prefix is None:
        return result
    pairs = [(_DZ, prefix + r"\1")]
    result.diagnosis = _renamed(result.diagnosis, pairs)
    result.shape_error = _renamed(result.shape_error, pairs)
    result.notes[:] = [str(_renamed(n, pairs)) for n in result.notes]
    return result


def with_guessed_names(result: CheckResult, chosen: Iterable[tuple[str, str]]) -> CheckResult:
    """The diagnosis with each name read by its spelling (``(name, text)``: ``error`` read
    as ``dZ2``) said as the user wrote it, derive's name in brackets. Only a reading that is
    one name (not ``(-dZ2)``, ``A2 - Y``)."""
    pairs = [
        (re.compile(rf"(?<![\w.]){re.escape(text)}(?![0-9A-Za-z_])"), f"{name} ({text})")
        for name, text in chosen
        if re.fullmatch(r"[A-Za-z]+[0-9]+", text) and name != text
    ]
    result.diagnosis = _renamed(result.diagnosis, pairs)
    return result
