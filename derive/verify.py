"""Finite differences on the exported code: the third truth, and public API.

``check_grads`` builds random parameters and data (kept away from kinks such as ReLU at
0), runs the exported module's gradients, and compares them with central differences of
its loss in float64, entry by entry or along random directions (like torch's fast
gradcheck). Each parameter gets a normwise relative error
``max|g - fd| / max(max|fd|, max|g|, 1e-3 max(1, |L|))``: relative for gradients of normal
size, absolute for vanishing ones, whose differences are rounding noise.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy

from derive.activations import TABLE
from derive.derivation import Derivation, derive
from derive.export import code_name, to_module

DEFAULT_TOLERANCE = 1e-6
KINK_MARGIN = 1e-3
SATURATION = 6.0
FLOOR = 1e-3


@dataclass
class Point:
    """Inputs for one gradient check: X, Y, parameters and hyperparameters by code name."""

    X: np.ndarray
    Y: np.ndarray
    params: dict[str, np.ndarray]
    hyper: dict[str, float] = field(default_factory=dict)


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
        return {
            "passed": self.passed,
            "mode": self.mode,
            "tolerance": self.tolerance,
            "errors": self.errors,
            "nonfinite": self.nonfinite,
            "unstable": self.unstable,
        }


def _sizes(
    d: Derivation, sizes: Mapping[str, int] | None, default: int, batch: int
) -> dict[str, int]:
    """Every symbolic size: the user's where given, else the default, moved where a conv or
    pooling layer would not fit (``derive.sizes.fitting_sizes``)."""
    from derive.sizes import fitting_sizes

    out: dict[str, int] = {}
    prog = d.program
    given = dict(sizes or {})
    names = [str(w) for w in prog.widths if not w.is_Integer]
    for name in [*names, *d.network.size_names]:
        out[name] = int(given.get(name, default))
    if not prog.batch.is_Integer:
        out[str(prog.batch)] = int(given.get(str(prog.batch), batch))
    return fitting_sizes(d.network, out, fixed=set(given))


def _kinks(d: Derivation) -> bool:
    acts = [getattr(layer, "activation", None) for layer in d.network.layers]
    return any(
        a is not None and (a.name in TABLE and TABLE[a.name].kinks or a.name == "custom")
        for a in acts
    )


def _no_ties(d: Derivation, values: dict[str, Any]) -> bool:
    """Max pooling is a kink too: each window's largest entry must lead by a margin.

    Exactly equal entries are allowed: they are the same expression (a border of padding
    where Z is the bias alone, zeros after a ReLU), so every routing gives one gradient.
    """
    from derive.convops import _windows
    from derive.nodes import Pool

    for eq in d.program.equations:
        if isinstance(eq.rhs, Pool) and eq.rhs.mode == "max" and eq.rhs.size > 1:
            a = values["X" if eq.rhs.input.name == "X" else code_name(eq.rhs.input.name)]
            k, s = int(eq.rhs.size), int(eq.rhs.stride)
            win = np.sort(_windows(a, k, s).reshape(*a.shape[:2], -1, k * k), axis=-1)
            gap = win[..., -1] - win[..., -2]
            if np.any((gap > 0) & (gap <= KINK_MARGIN)):
                return False
    return True


def random_point(
    d: Derivation,
    module: Any,
    rng: np.random.Generator,
    sizes: Mapping[str, int] | None = None,
    default: int = 3,
    batch: int = 4,
) -> Point:
    """Random parameters and data of the right shapes, every Z away from kinks and saturation.

    Weights are drawn from N(0, σ²) with σ = min(0.8, 1.5/√fan_in), biases with σ = 0.8,
    all shrunk while any pre-activation exceeds
    ``SATURATION`` in magnitude (a saturated sigmoid makes ``log(1 - A)`` lose digits).
    """
    bound = _sizes(d, sizes, default, batch)
    prog = d.program
    symbols = {code_name(s.name): s for s in [*prog.inputs, *prog.params]}
    size_values = {sympy.Symbol(k, integer=True, positive=True): v for k, v in bound.items()}

    def shape(spec: tuple[Any, ...], name: str = "") -> tuple[int, ...]:
        if name in symbols:  # sizes computed from others (a flattened C×h×w) included
            dims = symbols[name].shape
            return tuple(s if isinstance(s, int) else int(s.xreplace(size_values)) for s in dims)
        return tuple(s if isinstance(s, int) else bound[s] for s in spec)

    loss = d.network.loss.name
    column = d.program.column
    scale = 1.0
    for _attempt in range(200):
        params = {}
        for name in module.PARAMETERS:
            size = shape(module.SHAPES[name], name)
            fan_in = (size[1] if column else size[0]) if name.startswith("W") else 1
            if name.startswith("K"):
                fan_in = size[1] * size[2] * size[3]
            params[name] = rng.normal(0.0, scale * min(0.8, 1.5 / np.sqrt(fan_in)), size=size)
        x = rng.normal(0.0, 1.0, size=shape(module.SHAPES["X"], "X"))
        yshape = shape(module.SHAPES["Y"], "Y")
        if loss == "cross_entropy":
            classes = yshape[0] if d.program.column else yshape[1]
            samples = yshape[1] if d.program.column else yshape[0]
            onehot = np.eye(classes)[rng.integers(0, classes, size=samples)]
            y = onehot.T if d.program.column else onehot
        elif loss == "binary_cross_entropy":
            y = rng.uniform(0.05, 0.95, size=yshape)
        else:
            y = rng.normal(0.0, 1.0, size=yshape)
        hyper = {h: float(rng.uniform(0.05, 0.5)) for h in module.HYPERPARAMETERS}
        point = Point(x, y, params, hyper)
        with np.errstate(all="ignore"):
            values = module.intermediates(x, **params, **hyper)
        zs = [v for k, v in values.items() if k.startswith("Z")]
        # Saturated units (|z| large) make the loss itself ill-conditioned in float64.
        conditioned = all(np.all(np.abs(z) < SATURATION) for z in zs)
        margin = KINK_MARGIN if d.network.is_conv else KINK_MARGIN * 10
        off_kinks = not _kinks(d) or all(np.min(np.abs(z)) > margin for z in zs)
        if conditioned and off_kinks and _no_ties(d, {**values, "X": x}):
            return point
        if not conditioned:
            scale *= 0.9
    raise RuntimeError("could not draw a point away from the activations' kinks")


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
    (x,) = fn.variables
    values = {s: hyper.get(code_name(s.name), 0.5) for s in fn.expr.free_symbols - {x}}
    body = fn.expr.xreplace(values)
    for e in (body, sympy.diff(body, x)):
        for v in (z, -z):
            num = e.xreplace({x: sympy.Float(v)}).evalf(30)  # our own expression
            if not num.is_number or not num.is_finite or abs(complex(num)) > REPRESENTABLE:
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
        base = module.intermediates(point.X, **point.params, **point.hyper)
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
) -> tuple[dict[str, float], int]:
    """Normwise relative errors of ``gradients`` against central differences of ``loss``."""
    rng = rng or np.random.default_rng(0)
    # Central differences carry an absolute rounding noise of about 1e-16 |L| / eps; a
    # gradient smaller than FLOOR |L| is therefore compared absolutely, not relatively.
    floor = FLOOR * max(1.0, abs(loss(params)))
    errors: dict[str, float] = {}
    evaluations = 0
    total = sum(p.size for p in params.values()) if mode == "entries" else len(params) * directions
    done = 0
    for name, value in params.items():
        g = np.asarray(gradients[name], dtype=np.float64)
        if mode == "entries":
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
        else:
            worst = 0.0
            for _ in range(directions):
                v = rng.normal(size=value.shape)
                v /= np.linalg.norm(v)
                fd_dir = (
                    loss({**params, name: value + eps * v})
                    - loss({**params, name: value - eps * v})
                ) / (2 * eps)
                an = float(np.sum(g * v))
                evaluations += 2
                worst = max(worst, abs(an - fd_dir) / max(abs(an), abs(fd_dir), floor))
                done += 1
                if progress:
                    progress(done, total)
            errors[name] = worst
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
) -> GradCheckReport:
    """Check the exported gradients of ``spec`` against central finite differences.

    ``mode``: ``entries`` (every parameter entry), ``directions`` (random directions per
    parameter, like a fast gradcheck) or ``auto`` (entries up to 2,000 parameters).
    ``stability``: also evaluate at large pre-activations (``stability_pass``).
    """
    d = spec if isinstance(spec, Derivation) else derive(spec)
    module = module or to_module(d)
    rng = np.random.default_rng(seed)
    point = random_point(d, module, rng, sizes)
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
    )
    bad = [k for k, e in errors.items() if not np.isfinite(e)]
    unstable = stability_pass(d, module, point) if stability else []
    return GradCheckReport(mode, tolerance, errors, bad, evals, unstable)


__all__ = [
    "GradCheckReport",
    "Point",
    "check_grads",
    "finite_differences",
    "random_point",
    "stability_pass",
]
