"""Finite differences on the exported code: the third truth, and public API.

``check_grads`` builds random parameters and data (kept away from kinks such as ReLU at
0), runs the exported module's gradients, and compares them with central differences of
its loss in float64, entry by entry or along random directions (like torch's fast
gradcheck). Each parameter gets a normwise relative error
``max|g - fd| / max(max|fd|, max|g|, 1e-3 max(1, |L|))``: relative for gradients of normal
size, absolute for vanishing ones, whose differences are rounding noise.

The pieces live beside it and are re-exported here: the points in ``fd_points``, the
stability and kink-crossing checks in ``fd_stability``, the memory and time estimates
in ``fd_resources``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from derive.core.derivation import Derivation, derive
from derive.export import to_module
from derive.oracles.fd_points import KINK_MARGIN, Point, _sizes, random_point
from derive.oracles.fd_resources import (
    MAX_GROUPS,
    MAX_MEMORY,
    ResourceError,
    Resources,
    check_resources,
    estimate,
    parse_memory,
    parse_sizes,
    size_overrides,
    with_sizes,
)
from derive.oracles.fd_stability import _crossing_check, stability_pass

DEFAULT_TOLERANCE = 1e-6
FLOOR = 1e-3


@dataclass
class GradCheckReport:
    """Per-parameter maximum relative error, and whether all are within the tolerance."""

    mode: str
    tolerance: float
    errors: dict[str, float]
    nonfinite: list[str] = field(default_factory=list)
    evaluations: int = 0
    #: Non-finite loss or gradients at large pre-activations, where the maths is finite.
    unstable: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """All within tolerance and nothing non-finite: the verdict the CLI's exit code reads."""
        return (
            not self.nonfinite
            and not self.unstable
            and all(e <= self.tolerance for e in self.errors.values())
        )

    def __str__(self) -> str:
        lines = [
            f"finite differences ({self.mode}, central, float64), tolerance {self.tolerance:g}"
        ]
        for name, err in self.errors.items():
            mark = "ok" if err <= self.tolerance else "FAIL"
            lines.append(f"  {name:>6}: max relative error {err:.2e}  {mark}")
        for item in self.nonfinite:
            lines.append(f"  non-finite values: {item}  FAIL")
        for item in self.unstable:
            lines.append(f"  large |z|: {item}  FAIL")
        lines.append("PASS" if self.passed else "FAIL")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """The report as plain data, for ``--json``."""
        return {
            "passed": self.passed,
            "mode": self.mode,
            "tolerance": self.tolerance,
            "errors": self.errors,
            "nonfinite": self.nonfinite,
            "unstable": self.unstable,
        }


def _loss_fn(module: Any, point: Point) -> Callable[[dict[str, np.ndarray]], float]:
    def loss(params: dict[str, np.ndarray]) -> float:
        return float(module.loss(point.X, point.Y, **params, **point.hyper))

    return loss


def finite_differences(
    gradients: Mapping[str, np.ndarray],
    loss: Callable[[dict[str, np.ndarray]], float],
    params: dict[str, np.ndarray],
    *,
    mode: str = "entries",
    directions: int = 6,
    eps: float = 1e-6,
    rng: np.random.Generator | None = None,
    progress: Callable[[int, int], None] | None = None,
    crosses: Callable[[dict[str, np.ndarray], dict[str, np.ndarray]], bool] | None = None,
) -> tuple[dict[str, float], int]:
    """Normwise relative errors of ``gradients`` against central differences of ``loss``.

    ``crosses(plus, minus)``: True when a step crosses a kink; that direction is redrawn
    (up to 20 times) in ``directions`` mode."""
    rng = rng or np.random.default_rng(0)
    # Central differences carry an absolute rounding noise of about 1e-16 |L| / eps; a
    # gradient smaller than FLOOR |L| is therefore compared absolutely, not relatively.
    floor = FLOOR * max(1.0, abs(loss(params)))
    errors: dict[str, float] = {}
    evaluations = 0
    total = sum(p.size for p in params.values())
    done = 0
    for name, value in params.items() if mode == "entries" else ():
        g = np.asarray(gradients[name], dtype=np.float64)
        fd = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            plus = {**params, name: value.copy()}
            minus = {**params, name: value.copy()}
            plus[name][idx] += eps
            minus[name][idx] -= eps
            fd[idx] = (loss(plus) - loss(minus)) / (2 * eps)
            evaluations += 2
            done += 1
            if progress:
                progress(done, total)
        scale = max(float(np.max(np.abs(fd))), float(np.max(np.abs(g))), floor)
        errors[name] = float(np.max(np.abs(g - fd))) / scale
    if mode != "entries":
        # One random direction over a group of parameters costs two loss evaluations, and a
        # loss evaluation grows with depth: a bounded number of groups keeps the check
        # linear in the network's size (each parameter reports its group's error).
        names = list(params)
        groups = [list(c) for c in np.array_split(np.array(names), min(len(names), MAX_GROUPS))]
        total = len(groups) * directions
        for group in groups:
            worst = 0.0
            for _ in range(directions):
                for _try in range(20):
                    vs = {n: rng.normal(size=params[n].shape) for n in group}
                    norm = np.sqrt(sum(float(np.sum(v * v)) for v in vs.values()))
                    plus = {**params, **{n: params[n] + eps * v / norm for n, v in vs.items()}}
                    minus = {**params, **{n: params[n] - eps * v / norm for n, v in vs.items()}}
                    if crosses is None or not crosses(plus, minus):
                        break
                fd_dir = (loss(plus) - loss(minus)) / (2 * eps)
                an = sum(float(np.sum(np.asarray(gradients[n]) * v)) for n, v in vs.items()) / norm
                evaluations += 2
                worst = max(worst, abs(an - fd_dir) / max(abs(an), abs(fd_dir), floor))
                done += 1
                if progress:
                    progress(done, total)
            errors.update({str(n): worst for n in group})
    return errors, evaluations


def check_grads(
    spec: Any,
    *,
    seed: int = 0,
    sizes: Mapping[str, int] | None = None,
    mode: str = "auto",
    directions: int = 6,
    eps: float = 1e-6,
    tolerance: float = DEFAULT_TOLERANCE,
    module: Any = None,
    progress: Callable[[int, int], None] | None = None,
    stability: bool = True,
    max_memory: float = MAX_MEMORY,
    notify: Callable[[Resources], None] | None = None,
) -> GradCheckReport:
    """Check the exported gradients of ``spec`` against central finite differences.

    ``mode``: ``entries`` (every parameter entry), ``directions`` (random directions per
    parameter, like a fast gradcheck) or ``auto`` (entries up to 2,000 parameters).
    ``stability``: also evaluate at large pre-activations (``stability_pass``).
    The memory and time are estimated first (``estimate``): over ``max_memory`` bytes or
    ``MAX_SECONDS`` the check refuses with ``ResourceError``; ``notify`` sees the estimate.
    """
    d = spec if isinstance(spec, Derivation) else derive(spec)
    bound = _sizes(d, sizes, 3, 4)
    res = estimate(d, bound, mode, directions)
    check_resources(res, max_memory)  # before any array is made
    if notify:
        notify(res)
    module = module or to_module(d)
    rng = np.random.default_rng(seed)
    point = random_point(d, module, rng, bound)
    n_params = sum(p.size for p in point.params.values())
    if mode == "auto":
        mode = "entries" if n_params <= 2000 else "directions"
    with np.errstate(all="ignore"):
        value, grads = module.loss_and_gradients(point.X, point.Y, **point.params, **point.hyper)
    nonfinite = [] if np.isfinite(value) else ["loss"]
    nonfinite += [k for k, g in grads.items() if not np.all(np.isfinite(g))]
    if nonfinite:
        return GradCheckReport(mode, tolerance, {}, nonfinite)
    errors, evals = finite_differences(
        grads,
        _loss_fn(module, point),
        point.params,
        mode=mode,
        directions=directions,
        eps=eps,
        rng=rng,
        progress=progress,
        crosses=_crossing_check(d, module, point) if mode == "directions" else None,
    )
    bad = [k for k, e in errors.items() if not np.isfinite(e)]
    unstable = stability_pass(d, module, point) if stability else []
    return GradCheckReport(mode, tolerance, errors, bad, evals, unstable)


__all__ = [
    "KINK_MARGIN",
    "MAX_GROUPS",
    "MAX_MEMORY",
    "GradCheckReport",
    "Point",
    "ResourceError",
    "Resources",
    "check_grads",
    "estimate",
    "finite_differences",
    "parse_memory",
    "parse_sizes",
    "random_point",
    "size_overrides",
    "stability_pass",
    "with_sizes",
]
