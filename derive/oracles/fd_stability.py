"""The checks around finite differences: float64 stability and kink crossings.

``stability_pass`` evaluates the exported code with one layer at a time scaled to large
pre-activations and reports every non-finite loss or gradient (where naive formulas
such as log(1 + e^z) overflow); ``_crossing_check`` tells whether a central-difference
step crosses a kink or changes a max-pool's winner, so the check draws another direction.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import sympy

from derive.core.derivation import Derivation
from derive.export import code_name
from derive.oracles.fd_points import CROWDED, Point, _kink_points, forward_only

#: Magnitudes of the pre-activations the stability pass tries (e^800 overflows float64).
LARGE_Z = (40.0, 800.0)


#: An activation value or slope beyond this at the tried |z| is not finite in float64 use.
REPRESENTABLE = 1e30


def _layer_of(name: str) -> int | None:
    m = re.fullmatch(r"[WKb](\d+)", name)
    return int(m.group(1)) if m else None


def _finite_maths(fn: sympy.Lambda, z: float, hyper: Mapping[str, float]) -> bool:
    """True when the activation and its slope at ±z are moderate numbers (the maths is
    finite there, so the code must be too); a custom e^x at 800 is not."""
    import mpmath

    (x,) = fn.variables
    values = {s: hyper.get(code_name(s.name), 0.5) for s in fn.expr.free_symbols - {x}}
    body = fn.expr.xreplace(values)
    with mpmath.workdps(30):  # arbitrary exponents: e^800 is a number here, not inf
        for e in (body, sympy.diff(body, x)):
            f = sympy.lambdify(x, e, "mpmath")  # our own expression, never a user's string
            for v in (z, -z):
                try:
                    num = f(mpmath.mpf(v))
                except (ValueError, ZeroDivisionError, TypeError):
                    return False
                if not mpmath.isfinite(num) or abs(num) > REPRESENTABLE:
                    return False
    return True


def stability_pass(d: Derivation, module: Any, point: Point) -> list[str]:
    """Evaluate loss and gradients with one layer at a time scaled to max|Z_l| = 40 and 800
    (and with Z_l's sign flipped).

    The random points of the gradient check keep |z| < 6, where any formula is finite;
    this pass looks where naive formulas overflow (log(1 + e^z), 0·log 0, e^z/(1 + e^z)²).
    The output layer and the first layer of each activation are tried, so the cost does
    not grow with depth; a layer whose activation itself is huge at |z| (a custom e^x) is
    skipped there. Returns a description of every non-finite result.
    """
    with np.errstate(all="ignore"):
        base = module.intermediates(point.X, **point.params, **forward_only(module, point.hyper))
    acts: dict[int, Any] = {}
    for eq in d.program.equations:
        m = re.fullmatch(r"A_(\d+)", eq.out.name)
        if m and hasattr(eq.rhs, "fn") and getattr(eq.rhs, "order", 1) == 0:
            acts[int(m.group(1))] = eq.rhs
    layers = sorted({n for n in map(_layer_of, module.PARAMETERS) if n is not None})
    probe: dict[str, int] = {}
    for layer in layers:
        act = acts.get(layer)
        probe.setdefault(f"{act.name}:{act.fn}" if act is not None else "", layer)
    chosen = sorted(set(probe.values()) | {layers[-1]})
    problems: list[str] = []
    for layer in chosen:
        z = base.get(f"Z{layer}")
        if z is None:
            continue
        peak = float(np.max(np.abs(z)))
        if not np.isfinite(peak) or peak == 0:
            continue
        for target, sign in itertools.product(LARGE_Z, (1, -1)):
            if layer in acts and not _finite_maths(acts[layer].fn, target, point.hyper):
                continue
            c = sign * target / peak  # −1 flips Z_l, so its largest entry is tried at ±target
            params = {k: v * c if _layer_of(k) == layer else v for k, v in point.params.items()}
            with np.errstate(all="ignore"):
                value, grads = module.loss_and_gradients(point.X, point.Y, **params, **point.hyper)
            bad = [] if np.isfinite(value) else ["loss"]
            bad += ["d" + k for k, g in grads.items() if not np.all(np.isfinite(g))]
            if bad:
                problems.append(f"{', '.join(bad)} non-finite at max|Z{layer}| = {target:g}")
                break
    return problems


def _pattern(d: Derivation, values: Mapping[str, Any], kinks: Mapping[int, Any]) -> list[Any]:
    """Which side of each kink every pre-activation is on, and each max-pool's winner."""
    from derive.core.convops import _windows
    from derive.core.nodes import Pool

    out: list[Any] = []
    for layer, where in kinks.items():
        z = values.get(f"Z{layer}")
        if z is not None:
            out += [z > k for k in where]
    for eq in d.program.equations:
        if isinstance(eq.rhs, Pool) and eq.rhs.mode == "max" and eq.rhs.size > 1:
            a = values.get(code_name(eq.rhs.input.name))
            if a is not None:
                k, s = int(eq.rhs.size), int(eq.rhs.stride)
                win = _windows(a, k, s)
                out.append(win.reshape(*win.shape[:4], -1).argmax(axis=-1))
    return out


def _crossing_check(
    d: Derivation, module: Any, point: Point
) -> Callable[[dict[str, np.ndarray], dict[str, np.ndarray]], bool] | None:
    """For a network with a crowded kinky layer (a large feature map), a predicate saying
    whether a central-difference step crosses a kink or changes a max-pool's winner; the
    check then draws another direction. None where points are kept off kinks already."""
    kinks = _kink_points(d)
    with np.errstate(all="ignore"):
        base = module.intermediates(point.X, **point.params, **forward_only(module, point.hyper))
    crowded = any(
        v.ndim == 4 and v.size // v.shape[1] > CROWDED for k, v in base.items() if k[0] in "ZA"
    )
    if not crowded or not (kinks or _has_maxpool(d)):
        return None
    ref = _pattern(d, base, kinks)

    def crosses(plus: dict[str, np.ndarray], minus: dict[str, np.ndarray]) -> bool:
        for params in (plus, minus):
            with np.errstate(all="ignore"):
                values = module.intermediates(
                    point.X, **params, **forward_only(module, point.hyper)
                )
            if any(not np.array_equal(a, b) for a, b in zip(ref, _pattern(d, values, kinks))):
                return True
        return False

    return crosses


def _has_maxpool(d: Derivation) -> bool:
    from derive.core.nodes import Pool

    return any(isinstance(eq.rhs, Pool) and eq.rhs.mode == "max" for eq in d.program.equations)
