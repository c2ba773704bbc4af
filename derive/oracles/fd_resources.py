"""The resources ``verify`` needs: memory and time, estimated before it runs.

``estimate`` predicts the memory and the seconds of a gradient check at the sizes given
(``--sizes``, ``with_sizes``); ``check_resources`` refuses a run beyond ``--max-memory``
or ``MAX_SECONDS`` with a ``ResourceError`` that says which sizes to pass.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from derive.core.derivation import Derivation
from derive.core.graph import Role
from derive.oracles.fd_stability import LARGE_Z

#: Random directions go over at most this many groups of parameters (linear in depth).
MAX_GROUPS = 24

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
