"""The networks a formula is checked on, and the random values of the numeric trials.

Every width is a distinct symbol, so that shapes tell operands apart; the numeric trials
give the symbols random distinct sizes and the parameters random values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from functools import cached_property
from typing import Any

import numpy as np
import sympy
from sympy.matrices.expressions import MatrixSymbol

from derive.core import numeric
from derive.core.derivation import Derivation, derive
from derive.formula.resolve import cotangent_symbol
from derive.render.text import text
from derive.spec import Conv2d, Layer, Network, Residual, SpecError

TRIALS = 3


def symbolic_network(net: Network, keep_ones: bool = False) -> Network:
    """The same network with every width a distinct symbol (concrete widths get n_k).

    A CNN keeps its image sizes and channels (the conv arithmetic needs numbers); its
    dense widths become symbols. A concrete batch size stays as it is: a network of one
    sample (``batch = 1``) has per-sample formulas (``∂C/∂b = δ``, no sum over samples).
    """
    if net.is_conv:
        used = set(net.size_names)
        layers: list[Any] = []  # the image layers kept, dense widths made symbols
        for k, layer in enumerate(net.layers, start=1):
            if isinstance(layer, Layer) and isinstance(layer.width, int):
                name = f"n_{k}"
                while name in used:
                    name = "n" + name
                used.add(name)
                layer = Layer(name, layer.activation)
            layers.append(layer)
        return net.with_(layers=tuple(layers))
    used = {w for w in (*net.widths, net.batch) if isinstance(w, str)}
    widths: list[int | str] = []
    for k, w in enumerate(net.widths):
        if isinstance(w, int) and not (keep_ones and w == 1):
            name = f"n_{k}"
            while name in used:
                name = "n" + name
            used.add(name)
            widths.append(name)
        else:
            widths.append(w)
    # each dense layer (a residual one too) gets its width symbol; the layers between
    # them (batch/layer norm, dropout) are kept; an identity skip reuses its source's width
    new_widths = iter(widths[1:])
    layers = []
    current = widths[0]
    outputs = [current]
    for layer in net.layers:
        if isinstance(layer, Layer):
            current = next(new_widths)
            if isinstance(layer, Residual) and not layer.projection:
                current = outputs[layer.skip_from]
            layer = replace(layer, width=current)
        layers.append(layer)
        outputs.append(current)
    return net.with_(input_width=widths[0], layers=tuple(layers))


def concrete_widths(net: Network, sym: Network) -> dict[str, Any]:
    """The width each symbol of ``symbolic_network(net)`` stands for (``n_2`` -> 4)."""
    out: dict[str, Any] = {}
    if not net.is_conv:
        out[str(sym.input_width)] = net.input_width
    for mine, theirs in zip(sym.layers, net.layers):
        if isinstance(mine, Layer) and isinstance(theirs, Layer):
            out[str(mine.width)] = theirs.width
    return out


def flip(net: Network, what: str) -> Network:
    """The network with the other convention or the other delta definition."""
    if what == "convention":
        return net.with_(convention="row" if net.convention == "column" else "column")
    return net.with_(delta="mean" if net.delta == "per_sample" else "per_sample")


def random_env(
    d: Derivation, rng: np.random.Generator, fixed: Mapping[str, int] | None = None
) -> dict[Any, Any]:
    """Random distinct widths, parameters, data, and every derived value, for one trial.

    ``fixed``: width symbols (by name) held at the user's own concrete widths (a ``1/3``
    written for a layer of 3 units); the other widths are drawn distinct from them.
    """
    prog = d.program
    env: dict[Any, Any] = {}
    fixed = dict(fixed or {})
    symbols = [
        w for w in (*prog.widths, prog.batch) if isinstance(w, sympy.Symbol) and str(w) not in fixed
    ]
    from derive.spec.sizes import fitting_sizes  # one rule for verify and the checker

    # distinct from each other and from a concrete batch, so shapes tell operands apart
    taken = {prog.batch, *fixed.values()}
    free = [v for v in range(2, 10 + len(fixed)) if v not in taken]
    sizes = rng.choice(free, size=len(symbols), replace=False)
    proposal = {str(s): int(v) for s, v in zip(symbols, sizes)} | fixed
    fitted = fitting_sizes(d.network, proposal, fixed)
    sized = (*prog.widths, prog.batch)
    env.update({w: fitted[str(w)] for w in sized if isinstance(w, sympy.Symbol)})

    def dims(sym: Any) -> tuple[int, ...]:
        return tuple(s if isinstance(s, int) else int(s.xreplace(env)) for s in sym.shape)

    for p in prog.params:
        env[p] = rng.normal(0.0, 0.6, size=dims(p))
    x, y = prog.inputs[:2]
    env[x] = rng.normal(size=dims(x))
    yshape = dims(y)
    if d.network.loss.name == "cross_entropy":
        axis = 0 if prog.column else 1
        if len(yshape) != 2:
            axis = 1
        raw = rng.uniform(0.1, 1.0, size=yshape)
        env[y] = raw / raw.sum(axis=axis, keepdims=True)
    elif d.network.loss.name == "binary_cross_entropy":
        env[y] = rng.uniform(0.05, 0.95, size=yshape)
    else:
        env[y] = rng.normal(size=yshape)
    for inp in prog.inputs[2:]:  # the generic layer's seed delta
        env[inp] = rng.normal(size=dims(inp))
    for eq in prog.equations:
        for s in eq.rhs.free_symbols:
            if isinstance(s, sympy.Symbol) and s not in env and not isinstance(s, MatrixSymbol):
                env[s] = float(rng.uniform(0.1, 0.6))
    for eq in prog.equations[:-1]:
        env[eq.out] = numeric.evaluate(eq.rhs, env)
    for k in range(d.depth, 0, -1):
        env[d.deltas[k].lhs] = numeric.evaluate(d.deltas[k].rhs, env)
    for k, st in d.cotangents.items():
        env[cotangent_symbol(k, st.lhs.shape)] = numeric.evaluate(st.rhs, env)
    return env


class Networks:
    """The derivations a check compares with, made once per network and reused: the
    network's own (every width a symbol), its flips (diagnosis), a CNN's stand-in pair,
    and the random values of the numeric trials."""

    def __init__(self, spec: Any, keep_ones: bool = False) -> None:
        # a Network is taken as it is: deriving it here (every width a number) would only
        # be thrown away, the checks use the symbolic one (``d``)
        base = (
            spec
            if isinstance(spec, Network)
            else spec.network
            if isinstance(spec, Derivation)
            else derive(spec).network
        )
        self.network = base
        self.sym_network = symbolic_network(base, keep_ones)

    @cached_property
    def width_names(self) -> dict[str, str]:
        """Each width the checker made a symbol (``n₂``, as a message prints it) and the
        number the user wrote for it: a message says ``1×m``, not ``n₂×m``."""
        pairs: list[tuple[Any, Any]] = list(
            zip(getattr(self.network, "widths", ()), self.sym_network.widths)
        )
        pairs += [
            (getattr(a, "width", None), getattr(b, "width", None))
            for a, b in zip(self.network.layers, self.sym_network.layers)
        ]
        return {
            text(sympy.Symbol(made)): str(given)
            for given, made in pairs
            if isinstance(given, int) and isinstance(made, str)
        }

    def as_written(self, message: str) -> str:
        """``message`` with the checker's width symbols replaced by the user's numbers; but
        where that makes two shapes the message tells apart equal (``A₁ is 1×1, Y is 1×1``
        in a network of one-unit layers), the symbols stay and their numbers are added."""
        written = message
        used: list[str] = []
        for made, given in self.width_names.items():
            pattern = rf"(?<!\w){re.escape(made)}(?!\w)"
            if re.search(pattern, written):
                used.append(f"{made} = {given}")
            written = re.sub(pattern, given, written)
        shape = r"is ([^\s,;:()]+×[^\s,;:()]+)"
        if len(set(re.findall(shape, written))) < len(set(re.findall(shape, message))):
            return (
                f"{message} ({', '.join(used)} in your network: equal there, but the sizes of "
                "different layers)"
            )
        return written

    @cached_property
    def d(self) -> Derivation:
        """The derivation of the network with symbolic widths."""
        return derive(self.sym_network)

    @cached_property
    def pair(self) -> Derivation | None:
        """For a generic conv formula on a CNN without two conv layers in a row: the same
        network with a second conv layer (stride 1) after its first: unpadded with the same
        kernel if the later layers still fit, else 3×3 'same', else 1×1."""
        net = self.sym_network
        if not net.is_conv:
            return None
        layers = list(net.layers)
        for i, layer in enumerate(layers):
            if isinstance(layer, Conv2d):
                if i + 1 < len(layers) and isinstance(layers[i + 1], Conv2d):
                    return None
                k = layer.kernel if isinstance(layer.kernel, int) else 3
                channels = layer.channels if isinstance(layer.channels, int) else 2
                for kernel, padding in ((k, "valid"), (3, "same"), (1, "valid")):
                    extra = Conv2d(channels + 1, kernel, 1, padding, layer.activation)
                    try:
                        inserted = net.with_(layers=(*layers[: i + 1], extra, *layers[i + 1 :]))
                    except SpecError:
                        continue
                    self._pair_layer = (i + 1, extra)
                    return derive(inserted)
        return None

    @cached_property
    def sizes(self) -> dict[Any, Any]:
        """The width symbols that stand for concrete widths, to their values (n_1 -> 2)."""
        concrete = concrete_widths(self.network, self.sym_network)
        return {
            w: sympy.Integer(concrete[str(w)])
            for w in self.d.program.widths
            if isinstance(w, sympy.Symbol) and isinstance(concrete.get(str(w)), int)
        }

    def other(self, what: str) -> Derivation:
        """The derivation in the other convention or delta definition (cached)."""
        key = f"_other_{what}"
        if key not in self.__dict__:
            self.__dict__[key] = derive(flip(self.sym_network, what))
        return self.__dict__[key]  # type: ignore[no-any-return]

    def envs(
        self, d: Derivation, n: int = TRIALS, fixed: Mapping[str, int] | None = None
    ) -> list[dict[Any, Any]]:
        """Random values for every symbol of ``d`` at random widths (cached per derivation);
        the widths named in ``fixed`` at the values given (the user's own)."""
        key = ("envs", id(d), n, tuple(sorted((fixed or {}).items())))
        cache = self.__dict__.setdefault("_env_cache", {})
        if key not in cache:
            rngs = [np.random.default_rng(1000 + i) for i in range(n)]
            cache[key] = [random_env(d, r, fixed) for r in rngs]
        return cache[key]  # type: ignore[no-any-return]

    def written_sizes(self, d: Derivation, numbers: set[int]) -> dict[str, int]:
        """The width symbols of ``d`` whose concrete width (the user's network's) is one of
        the written ``numbers`` (a ``1/3`` for a layer of 3 units may stand for 1/n₂), by
        name. Widths of 1 are left out: a 1 is in every formula, and one unit makes wrong
        formulas coincide (a transpose, a sum over the rows)."""
        concrete = concrete_widths(self.network, self.sym_network)
        out: dict[str, int] = {}
        for w in d.program.widths:
            value = concrete.get(str(w))
            if isinstance(w, sympy.Symbol) and isinstance(value, int) and 2 <= value in numbers:
                out[str(w)] = value
        return out
