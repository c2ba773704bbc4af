"""The random points finite differences are taken at, kept off kinks and ties.

``random_point`` draws parameters and data for a network (sizes made concrete), keeps
pre-activations ``KINK_MARGIN`` away from the kinks of ReLU-like activations and the
ties of max pooling, nudging the point until no entry is crowded near one.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy

from derive.core.derivation import Derivation
from derive.core.graph import Kind, Role
from derive.export import code_name
from derive.spec.activations import TABLE

KINK_MARGIN = 1e-3
SATURATION = 6.0


@dataclass
class Point:
    """Inputs for one gradient check: X, Y, parameters and hyperparameters by code name."""

    X: np.ndarray
    Y: np.ndarray
    params: dict[str, np.ndarray]
    hyper: dict[str, Any] = field(default_factory=dict)


def _sizes(
    d: Derivation, sizes: Mapping[str, int] | None, default: int, batch: int
) -> dict[str, int]:
    """Every symbolic size: the user's where given, else the default, moved where a conv or
    pooling layer would not fit (``derive.spec.sizes.fitting_sizes``)."""
    from derive.spec.sizes import fitting_sizes

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
    from derive.core.convops import _windows
    from derive.core.nodes import Pool

    for eq in d.program.equations:
        if isinstance(eq.rhs, Pool) and eq.rhs.mode == "max" and eq.rhs.size > 1:
            a = values["X" if eq.rhs.input.name == "X" else code_name(eq.rhs.input.name)]
            k, s = int(eq.rhs.size), int(eq.rhs.stride)
            win = np.sort(_windows(a, k, s).reshape(*a.shape[:2], -1, k * k), axis=-1)
            gap = win[..., -1] - win[..., -2]
            if gap.size > CROWDED:
                # a large map always has near-ties; a central difference (step 1e-6)
                # changes the routing only within ~eps: allow a few within KINK_MARGIN/100
                near = (gap > 0) & (gap <= KINK_MARGIN / 100)
                if np.count_nonzero(near) > NEAR_SHARE * gap.size:
                    return False
            elif np.any((gap > 0) & (gap <= KINK_MARGIN)):
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
    roles = {code_name(p.symbol.name): p.role for p in prog.parameters}
    pre_activations = [code_name(eq.out.name) for eq in prog.equations if eq.kind is Kind.AFFINE]
    scale = 1.0
    for _attempt in range(200):
        params = {}
        for name in module.PARAMETERS:
            size = shape(module.SHAPES[name], name)
            fan_in = 1  # a bias
            if roles[name] is Role.WEIGHT:
                fan_in = size[1] if column else size[0]
            elif roles[name] is Role.KERNEL:
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
        hyper: dict[str, Any] = {h: float(rng.uniform(0.05, 0.5)) for h in module.HYPERPARAMETERS}
        for h in hyper:
            if h in module.SHAPES:  # a dropout mask: 0/1 entries
                hyper[h] = rng.integers(0, 2, size=shape(module.SHAPES[h], h)).astype(float)
        point = Point(x, y, params, hyper)
        with np.errstate(all="ignore"):
            values = module.intermediates(x, **params, **forward_only(module, hyper))
        zs = [values[k] for k in pre_activations]
        # Saturated units (|z| large) make the loss itself ill-conditioned in float64.
        conditioned = all(np.all(np.abs(z) < SATURATION) for z in zs)
        margin = KINK_MARGIN if d.network.is_conv else KINK_MARGIN * 10
        off_kinks = not _kinks(d) or all(np.min(np.abs(z)) > margin for z in zs)
        if conditioned and off_kinks and _no_ties(d, {**values, "X": x}):
            return point
        if conditioned and not off_kinks and _attempt >= NUDGE_AFTER:
            # A wide layer almost always has some entry near a kink: redrawing the whole
            # point would never end. Move the few units that have one instead.
            nudged = _nudge_off_kinks(d, module, point, margin)
            if nudged is not None and _no_ties(d, {**nudged, "X": x}):
                return point
        if not conditioned:
            scale *= 0.9
    raise RuntimeError("could not draw a point away from the activations' kinks")


def forward_only(module: Any, hyper: dict[str, float]) -> dict[str, float]:
    """The hyperparameters the module's forward pass takes (a slope, not the λ of the loss)."""
    takes = inspect.signature(module.intermediates).parameters
    return {k: v for k, v in hyper.items() if k in takes}


#: Whole-point redraws before verify nudges units off kinks instead.
NUDGE_AFTER = 8


#: Rounds of nudging (each one forward pass); and the share of entries that may stay near
#: a kink when a unit cannot be cleared (a 4096² feature map of one channel): a central
#: difference crosses such an entry only if it lies within ~eps of the kink.
NUDGE_ROUNDS = 12


NEAR_SHARE = 1e-4


#: Entries per unit beyond which no bias shift can clear them all (a large feature map);
#: such a unit is left as drawn (a central difference crosses a kink only within ~eps).
CROWDED = 10_000


def _kink_points(d: Derivation) -> dict[int, tuple[float, ...]]:
    """Layer number -> the kinks of its activation (a custom formula: 0, as before)."""
    out: dict[int, tuple[float, ...]] = {}
    for i, layer in enumerate(d.network.layers, start=1):
        a = getattr(layer, "activation", None)
        if a is None:
            continue
        if a.name in TABLE and TABLE[a.name].kinks:
            out[i] = TABLE[a.name].kinks
        elif a.name == "custom":
            out[i] = (0.0,)
    return out


def _nudge_off_kinks(
    d: Derivation, module: Any, point: Point, margin: float
) -> dict[str, Any] | None:
    """Shift biases, per unit (per channel of a conv layer), so that no pre-activation lies
    within ``margin`` of a kink; vectorised per layer, one forward pass per round. Changes
    ``point.params`` in place; returns the forward values, or None when it cannot."""
    kinks = _kink_points(d)
    steps = margin * np.array([0.0, *(s * k for k in range(2, 130, 2) for s in (1, -1))])
    values: dict[str, Any] = {}
    for _round in range(NUDGE_ROUNDS):
        with np.errstate(all="ignore"):
            values = module.intermediates(
                point.X, **point.params, **forward_only(module, point.hyper)
            )
        clean, tolerable = True, True
        for layer, where in kinks.items():
            z, b = values.get(f"Z{layer}"), point.params.get(f"b{layer}")
            if z is None or b is None:
                continue
            # units along the bias's axis: rows (column), columns (row), channels (conv)
            if z.ndim == 4:
                units = z.transpose(1, 0, 2, 3).reshape(z.shape[1], -1)
            else:
                units = z if b.shape[1] == 1 else z.T
            if units.shape[1] > CROWDED:
                continue  # no shift clears a crowded unit: FD steps rarely reach a kink
            near = _near(units, where, margin)
            if not near.any():
                continue
            clean = False
            bad = np.flatnonzero(near.any(axis=1))
            sub = units[bad]
            best = np.zeros(len(bad))
            best_count = near[bad].sum(axis=1)
            for step in steps[1:]:
                count = _near(sub + step, where, margin).sum(axis=1)
                better = count < best_count
                best[better], best_count[better] = step, count[better]
                if not best_count.any():
                    break
            if best_count.sum() > NEAR_SHARE * units.size:
                tolerable = False
            shift = np.zeros(units.shape[0])
            shift[bad] = best
            point.params[f"b{layer}"] = b + shift.reshape(b.shape)
        if clean:
            return values
        if _round == NUDGE_ROUNDS - 1 and tolerable:
            return values
    return None


def _near(units: Any, kinks: tuple[float, ...], margin: float) -> Any:
    return np.logical_or.reduce([np.abs(units - k) <= margin for k in kinks])
