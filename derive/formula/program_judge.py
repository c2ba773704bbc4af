"""What the program checker's judgement rests on: two values are equal within ``RTOL``
at every random point (``close``, ``all_close``), and what a diagnosis asks of the checker
(``Judge``). Apart from ``program_diagnose`` because the checkers of forwards, loops and
LaTeX compare values the same way without diagnosing anything.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from derive.core.staged import StagedDerivation
from derive.formula.program_snippet import Reader, Reading

RTOL = 1e-7


def close(a: Any, b: Any) -> bool:
    """Equal within the checker's tolerance (and of the same shape)."""
    a, b = np.atleast_2d(np.asarray(a, float)), np.atleast_2d(np.asarray(b, float))
    if a.shape != b.shape:
        return False
    scale = max(1.0, float(np.max(np.abs(b))) if b.size else 1.0)
    return bool(np.allclose(a, b, rtol=RTOL, atol=1e-9 * scale))


def all_close(got: list[Any], want: list[Any]) -> bool:
    """``close`` at every point."""
    return all(close(a, b) for a, b in zip(got, want, strict=True))


class Judge(Protocol):
    """What a diagnosis asks of the checker (``program_check.ProgramChecker``)."""

    sd: StagedDerivation
    reader: Reader
    points: list[dict[Any, Any]]
    expected_now: list[dict[Any, Any]]
    recomputed: int

    def expected(self, drop: tuple[Any, int] | None = None) -> list[dict[Any, Any]]:
        """Every cotangent and gradient at each point (``drop``: one term left out)."""

    def values_at(self, env: dict[Any, Any], drop: tuple[Any, int] | None = None) -> dict[Any, Any]:
        """Every cotangent and gradient at one point."""

    def dropped(
        self, sym: Any, drop: tuple[Any, int], limit: int | None = None
    ) -> list[Any] | None:
        """``sym`` at each point with one term of one stage left out (None: unchanged,
        or over ``limit`` stages recomputed)."""

    def user_values(self, reading: Reading, name: str) -> list[Any] | None:
        """The snippet's ``name`` at each point."""

    def same(self, reading: Reading, name: str, sym: Any) -> bool:
        """Whether the snippet's ``name`` equals ``sym`` at every point."""

    def label(self, sym: Any) -> str:
        """How the answer names ``sym``."""

    def target(self, name: str) -> Any | None:
        """The symbol the snippet's ``name`` must equal."""
