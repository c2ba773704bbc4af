"""The explicit oracle: every entry a SymPy scalar, ``sympy.diff`` entry by entry.

This is the second of the three truths. For small concrete widths, the loss is expanded
into one scalar expression over named entries (``W1_21``, ``X_12``, …), differentiated by
SymPy per parameter entry, and compared with the closed matrix form evaluated on the same
explicit matrices: exactly where the difference is a rational function (or involves only
symbolic activations), at random rational points in 50-digit arithmetic otherwise.

The evaluator is the core's one interpreter (``derive.core.interpret``) over a domain of
explicit SymPy matrices; its feature-map entries are its own textbook loops, written
independently of the vectorised ops the export and the checker use.

The interpreter's domain is in ``explicit_domain``, its feature-map loops in
``explicit_conv`` and its issue-14 evaluators in ``explicit_program`` (imported here, so
``EVAL`` holds every entry); the network is made explicit in ``explicit_network``; this
module compares.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy

from derive.core.derivation import Derivation, derive
from derive.core.graph import Kind
from derive.core.nodes import Pool
from derive.oracles import explicit_conv, explicit_program  # noqa: F401 - register their evaluators
from derive.oracles.explicit_conv import _window
from derive.oracles.explicit_domain import EVAL, EXPLICIT, SympyDomain, evaluate
from derive.oracles.explicit_network import (
    ExplicitNetwork,
    closed_form_gradients,
    entry_matrix,
    entry_tensor,
    explicit_network,
    oracle_gradients,
)

__all__ = [
    "EVAL",
    "EXACT_OPS",
    "EXPLICIT",
    "Comparison",
    "ExplicitNetwork",
    "SympyDomain",
    "check",
    "closed_form_gradients",
    "compare",
    "entry_matrix",
    "entry_tensor",
    "evaluate",
    "explicit_network",
    "oracle_gradients",
]

#: Above this many operations the exact comparison works at rational points, not by expand.
EXACT_OPS = 4000


def _is_symbolic_call(e: Any) -> bool:
    return isinstance(e, sympy.Function) and type(e).__module__ == "derive.spec.activations"


def _exact_ok(expr: Any) -> bool:
    funcs = [f for f in expr.atoms(sympy.Function) if not _is_symbolic_call(f)]
    return not funcs


@dataclass
class Comparison:
    """How the closed form compared with the oracle, per parameter."""

    method: str
    max_error: dict[str, float]
    mismatches: list[str]

    @property
    def ok(self) -> bool:
        """True when every entry agreed: the report's one verdict."""
        return not self.mismatches


def _random_point(symbols: set[Any], rng: random.Random) -> dict[Any, Any]:
    point = {}
    for s in sorted(symbols, key=str):
        num = rng.randint(-9, 9) or 1
        if getattr(s, "is_positive", False):  # a batch norm's ε: under a square root
            num = abs(num)
        point[s] = sympy.Rational(num, rng.randint(3, 11))
    return point


def _away_from_kinks(ex: ExplicitNetwork, point: dict[Any, Any]) -> bool:
    for eq in ex.derivation.program.equations:
        if eq.kind is Kind.AFFINE:
            z = ex.env[eq.out]
            entries = z.flat if isinstance(z, np.ndarray) else z.xreplace(point)
            if any(abs(float(v.xreplace(point))) < 1e-2 for v in entries):
                return False
        if isinstance(eq.rhs, Pool) and eq.rhs.mode == "max" and eq.rhs.size > 1:
            a = ex.env[eq.rhs.input]
            k, s = int(eq.rhs.size), int(eq.rhs.stride)
            h, w = (a.shape[2] - k) // s + 1, (a.shape[3] - k) // s + 1
            for n, c, i, j in np.ndindex(a.shape[0], a.shape[1], h, w):
                win = sorted(float(v.xreplace(point)) for v in _window(a, n, c, i, j, k, s))
                if 0 < win[-1] - win[-2] < 1e-2:  # a near tie: max has a kink
                    return False
    return True


def compare(
    derivation: Derivation,
    sizes: Mapping[str, int] | None = None,
    *,
    points: int = 2,
    seed: int = 0,
    method: str = "auto",
    default: int = 2,
) -> Comparison:
    """Compare closed form and ``sympy.diff`` entry by entry; see the module docstring.

    Symbolic widths take ``sizes[name]``, else ``default``.
    """
    ex = explicit_network(derivation, sizes, default)
    oracle = oracle_gradients(ex)
    closed = closed_form_gradients(ex)
    diffs = {name: (closed[name] - oracle[name]) for name in oracle}
    rational = all(_exact_ok(v) for m in diffs.values() for v in m)
    small = sum(sympy.count_ops(v) for m in diffs.values() for v in m) <= EXACT_OPS
    # symbolic activations (an unknown f) have no values: those are always expanded
    symbolic = any(
        _is_symbolic_call(f) for m in diffs.values() for v in m for f in v.atoms(sympy.Function)
    )
    exact = method == "exact" or (method == "auto" and rational and (small or symbolic))
    mismatches: list[str] = []
    errors: dict[str, float] = {}
    if rational and not exact and method == "auto":
        # too large to expand, but free of transcendental functions: exact rational
        # arithmetic at random rational points decides it without rounding
        return _rational_points(oracle, closed, points, seed)
    if exact:
        for name, m in diffs.items():
            errors[name] = 0.0
            for idx, v in enumerate(m):
                if sympy.expand(sympy.cancel(v)) != 0:
                    mismatches.append(f"{name} entry {idx}: {v}")
                    errors[name] = float("inf")
        return Comparison("exact", errors, mismatches)
    rng = random.Random(seed)
    free: set[Any] = set()
    for m in [*oracle.values(), *closed.values()]:
        for v in m:
            free |= v.free_symbols
    for eq in ex.derivation.program.equations:  # a bias a batch norm cancels is in no gradient
        if eq.kind is Kind.AFFINE and isinstance(ex.env[eq.out], sympy.MatrixBase):
            free |= ex.env[eq.out].free_symbols
    for name in diffs:
        errors[name] = 0.0
    for _ in range(points):
        for _try in range(50):
            point = _random_point(free, rng)
            if _away_from_kinks(ex, point):
                break
        floats = {k: sympy.Float(v, 60) for k, v in point.items()}
        for name in diffs:
            for idx, (a, b) in enumerate(zip(closed[name], oracle[name])):
                va = sympy.N(a.xreplace(floats), 50)
                vb = sympy.N(b.xreplace(floats), 50)
                err = float(abs(va - vb) / max(1, abs(vb)))
                errors[name] = max(errors[name], err)
                if not err < 1e-30:
                    mismatches.append(f"{name} entry {idx}: closed {va} vs diff {vb}")
    return Comparison("rational points (50 digits)", errors, mismatches)


def _rational_points(
    oracle: dict[str, Any], closed: dict[str, Any], points: int, seed: int
) -> Comparison:
    rng = random.Random(seed)
    free: set[Any] = set()
    for m in [*oracle.values(), *closed.values()]:
        for v in m:
            free |= v.free_symbols
    errors = {name: 0.0 for name in oracle}
    mismatches: list[str] = []
    for _ in range(max(points, 2)):
        point = _random_point(free, rng)
        for name in oracle:
            for idx, (a, b) in enumerate(zip(closed[name], oracle[name])):
                if not _equal_at(a.xreplace(point), b.xreplace(point)):
                    errors[name] = float("inf")
                    mismatches.append(f"{name} entry {idx} differs at {point}")
    return Comparison("exact rational arithmetic at random rational points", errors, mismatches)


def _equal_at(a: Any, b: Any) -> bool:
    """Two numbers equal: exactly, or, where radicals keep SymPy from cancelling them (batch
    norm's √(var + ε) at rational points), to 60 digits."""
    diff = a - b
    if diff == 0:
        return True
    if diff.free_symbols:
        return False
    # maxn bounds evalf's working precision: a difference that is exactly 0 (batch norm of
    # two samples sends W_1's gradient to 0) would otherwise be refined without end
    scale = max(1, abs(sympy.N(b, 60, maxn=200)))
    return bool(abs(sympy.N(diff, 60, maxn=200)) < sympy.Float(10) ** -45 * scale)


def check(spec: Any, sizes: Mapping[str, int] | None = None, **kwargs: Any) -> Comparison:
    """Derive ``spec`` and compare with the explicit oracle."""
    d = spec if isinstance(spec, Derivation) else derive(spec)
    return compare(d, sizes, **kwargs)
