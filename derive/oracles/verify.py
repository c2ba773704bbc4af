"""Finite differences on the exported code: the third truth, and public API.

``check_grads`` builds random parameters and data (kept away from kinks such as ReLU at
0), runs the exported module's gradients, and compares them with central differences of
its loss in float64, entry by entry or along random directions (like torch's fast
gradcheck). Each parameter gets a normwise relative error
``max|g - fd| / max(max|fd|, max|g|, 1e-3 max(1, |L|))``: relative for gradients of normal
size, absolute for vanishing ones, whose differences are rounding noise.
"""

from __future__ import annotations

import inspect
import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy

from derive.core.derivation import Derivation, derive
from derive.core.graph import Kind, Role
from derive.export import code_name, to_module
from derive.spec.activations import TABLE

DEFAULT_TOLERANCE = 1e-6
KINK_MARGIN = 1e-3
SATURATION = 6.0
FLOOR = 1e-3
#: Random directions go over at most this many groups of parameters (linear in depth).
MAX_GROUPS = 24


@dataclass
class Point:
    """Inputs for one gradient check: X, Y, parameters and hyperparameters by code name."""

    X: np.ndarray
    Y: np.ndarray
    params: dict[str, np.ndarray]
    hyper: dict[str, Any] = field(default_factory=dict)


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


# --------------------------------------------------------------------------- resources

#: Default memory limit of verify (``--max-memory``).
MAX_MEMORY = 4 * 2**30
#: Longest run verify starts without being asked for smaller sizes.
MAX_SECONDS = 3600.0
#: A conservative rate of NumPy on one core (flop/s), and the cost of one printed statement.
RATE = 1e9
STATEMENT = 5e-6


class ResourceError(ValueError):
    """verify would need more memory or time than allowed: a user error, with what to pass."""


@dataclass
class Resources:
    """What one ``check_grads`` run needs, estimated from the shapes before anything runs."""

    memory: float
    seconds: float
    evaluations: int
    parameters: int
    largest: str
    shrink: dict[str, int]


def size_overrides(network: Any) -> dict[str, int]:
    """The concrete sizes ``--sizes`` may change: ``n_l`` (dense widths, n_0 the input),
    ``c``/``h``/``w`` (an image input), ``m`` (the batch)."""
    out: dict[str, int] = {}
    if isinstance(network.input_width, tuple):
        for name, v in zip(("c", "h", "w"), network.input_width):
            if isinstance(v, int):
                out[name] = v
    elif isinstance(network.input_width, int):
        out["n_0"] = network.input_width
    for i, layer in enumerate(network.layers, start=1):
        if hasattr(layer, "width") and isinstance(layer.width, int):
            out[f"n_{i}"] = layer.width
    if isinstance(network.batch, int):
        out["m"] = network.batch
    return out


def with_sizes(network: Any, sizes: Mapping[str, int]) -> tuple[Any, dict[str, int]]:
    """``network`` with the concrete sizes named in ``sizes`` replaced, and the rest of
    ``sizes`` (symbolic sizes) to pass on. An unknown name is a ``SpecError``."""
    from dataclasses import replace

    from derive.spec import SpecError

    fixed = size_overrides(network)
    symbolic = set(network.size_names) | (
        {network.batch} if isinstance(network.batch, str) else set()
    )
    unknown = [k for k in sizes if k not in fixed and k not in symbolic]
    if unknown:
        known = ", ".join([*symbolic, *fixed]) or "none"
        raise SpecError(f"unknown size {', '.join(unknown)} in --sizes; known: {known}")
    for k, v in sizes.items():
        if int(v) < 1:
            raise SpecError(f"size {k}={v} in --sizes must be a positive integer")
    inp = network.input_width
    if isinstance(inp, tuple):
        inp = tuple(int(sizes.get(n, v)) if n in fixed else v for n, v in zip("chw", inp))
    elif "n_0" in sizes and "n_0" in fixed:
        inp = int(sizes["n_0"])
    layers = tuple(
        replace(layer, width=int(sizes[f"n_{i}"]))
        if f"n_{i}" in fixed and f"n_{i}" in sizes
        else layer
        for i, layer in enumerate(network.layers, start=1)
    )
    batch = int(sizes["m"]) if "m" in fixed and "m" in sizes else network.batch
    changed = replace(network, input_width=inp, layers=layers, batch=batch)
    return changed, {k: int(v) for k, v in sizes.items() if k not in fixed}


def parse_sizes(text: str | None) -> dict[str, int]:
    """``--sizes n_1=100,h=32``: names and positive integers (digits only, bounded)."""
    from derive.spec import SpecError

    out: dict[str, int] = {}
    for item in filter(None, re.split(r"[,\s]+", text or "")):
        m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)=([0-9]{1,9})", item)
        if not m:
            raise SpecError(f"--sizes: {item!r} is not NAME=INTEGER (e.g. n_1=100)")
        out[m.group(1)] = int(m.group(2))
    return out


def parse_memory(text: str) -> float:
    """``--max-memory 4GiB`` / ``512MB`` / bytes."""
    from derive.spec import SpecError

    m = re.fullmatch(r"\s*([0-9]{1,6}(?:\.[0-9]{1,3})?)\s*([KMGT]i?B?|B)?\s*", text, re.I)
    if not m:
        raise SpecError(f"--max-memory: {text!r} is not a size such as 4GiB or 512MB")
    unit = (m.group(2) or "B").upper().rstrip("B").replace("I", "")
    return float(m.group(1)) * {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}[unit]


def _bytes(n: float) -> str:
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.0f} B"


def _duration(t: float) -> str:
    return f"{t / 3600:.1f} h" if t >= 3600 else f"{t / 60:.1f} min" if t >= 60 else f"{t:.0f} s"


def estimate(
    d: Derivation, bound: Mapping[str, int], mode: str = "auto", directions: int = 6
) -> Resources:
    """Memory and time of a gradient check at the sizes ``bound``, from the shapes alone."""
    from derive.core.nodes import Correlate

    prog = d.program

    def numel(sym: Any) -> int:
        n = 1
        for dim in sym.shape:
            n *= int(dim) if dim.is_Integer else int(dim.xreplace(values))
        return n

    values = {
        s: bound[str(s)]
        for x in (*(eq.out for eq in prog.forward_equations), *prog.params, *prog.inputs)
        for dim in x.shape
        for s in getattr(dim, "free_symbols", ())
        if str(s) in bound
    }
    m = int(prog.batch) if prog.batch.is_Integer else bound[str(prog.batch)]
    sizes = {eq.out.name: numel(eq.out) for eq in prog.forward_equations}
    params = {p.name: numel(p) for p in prog.params}
    n_params = sum(params.values())
    inputs = sum(numel(x) for x in prog.inputs)
    windows = 0
    flops = 10.0 * sum(sizes.values())
    for eq in prog.forward_equations:
        if isinstance(eq.rhs, Correlate):
            k = numel(eq.rhs.kernel)
            c_out = int(eq.rhs.kernel.shape[0].xreplace(values))
            windows = max(windows, sizes[eq.out.name] // max(c_out, 1) * (k // max(c_out, 1)))
            flops += 2.0 * sizes[eq.out.name] * (k // max(c_out, 1))
    for p in prog.parameters:
        if p.role is Role.WEIGHT:
            flops += 2.0 * params[p.symbol.name] * m
    memory = 8.0 * (3 * sum(sizes.values()) + 4 * n_params + inputs + 2 * windows)
    if mode == "auto":
        mode = "entries" if n_params <= 2000 else "directions"
    evals = 2 * n_params if mode == "entries" else 2 * min(len(params), MAX_GROUPS) * directions
    evals += 4 * 2 * len(LARGE_Z) * 3 + 3  # the stability pass, the point, the gradients
    seconds = evals * (flops / RATE + STATEMENT * len(prog.equations))
    arrays = {**sizes, **params}
    big = max(arrays, key=lambda k: arrays[k])
    sym = next(x for x in (*(eq.out for eq in prog.equations), *prog.params) if x.name == big)
    shape = "×".join(
        str(int(dim) if dim.is_Integer else int(dim.xreplace(values))) for dim in sym.shape
    )
    layer = re.findall(r"\d+", big)
    largest = f"{big} ({shape}{', layer ' + layer[0] if layer else ''})"
    return Resources(memory, seconds, evals, n_params, largest, _shrink(d.network, bound))


def _shrink(network: Any, bound: Mapping[str, int]) -> dict[str, int]:
    """Sizes to suggest: every size over a few hundred (image sides over 64), made small."""
    out: dict[str, int] = {}
    current = {**size_overrides(network), **bound}
    for name, v in current.items():
        side = name in ("h", "w") or (
            isinstance(network.input_width, tuple) and name in network.input_width[1:]
        )
        limit = 32 if side else 100
        if v > (64 if side else 256):
            out[name] = limit
    return out


def check_resources(res: Resources, max_memory: float = MAX_MEMORY) -> None:
    """Refuse (``ResourceError``) a run over the memory limit or over ``MAX_SECONDS``."""
    hint = ",".join(f"{k}={v}" for k, v in res.shrink.items())
    advice = f"; pass --sizes {hint} to verify at smaller sizes" if hint else ""
    if res.memory > max_memory:
        raise ResourceError(
            f"verify would need {_bytes(res.memory)}, the largest array being {res.largest} "
            f"(limit {_bytes(max_memory)}, --max-memory){advice}"
        )
    if res.seconds > MAX_SECONDS:
        raise ResourceError(
            f"verify would take about {_duration(res.seconds)} ({res.evaluations} loss "
            f"evaluations on {res.parameters} parameters){advice or '; drop --exhaustive'}"
        )


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
    "GradCheckReport",
    "ResourceError",
    "Resources",
    "estimate",
    "Point",
    "check_grads",
    "finite_differences",
    "random_point",
    "stability_pass",
]
