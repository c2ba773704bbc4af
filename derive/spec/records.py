"""The network spec: frozen, validated records, read from TOML or built in Python.

Every check happens when a record is made, so a bad spec fails before any derivation,
with one message naming the key, the problem and (for TOML) the file and line.

This module holds ``Network`` (and ``dense``, its builder); the records it is made of
live beside it and are re-exported here: single values and ``SpecError`` in ``values``,
the layers in ``layers``, the loss in ``loss``, and the checks of a whole network in
``network_checks``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from derive.spec.layers import (
    Activation,
    AnyLayer,
    AvgPool2d,
    Conv2d,
    Flatten,
    Layer,
    MaxPool2d,
    Pool2d,
    VectorLayer,
    feature_map_shapes,
)
from derive.spec.loss import DEFAULT_REDUCTION, LOSSES, REDUCTIONS, Loss
from derive.spec.network_checks import (
    activation_names,
    check_activation_names,
    check_activation_symbols,
    check_declared_symbols,
    check_names,
    check_order,
    check_output,
    name_unnamed_customs,
)
from derive.spec.notation import Notation
from derive.spec.values import (
    MAX_INT,
    MAX_NAME,
    MAX_TITLE,
    Scalar,
    SpecError,
    Width,
    _check_scalar,
    _check_width,
    _short,
    check_name,
    code_ident,
    name_clash,
)

__all__ = [
    "CONVENTIONS",
    "DEFAULT_REDUCTION",
    "DELTAS",
    "LOSSES",
    "MAX_INT",
    "MAX_NAME",
    "MAX_TITLE",
    "REDUCTIONS",
    "Activation",
    "AnyLayer",
    "AvgPool2d",
    "Conv2d",
    "Flatten",
    "Layer",
    "Loss",
    "MaxPool2d",
    "Network",
    "Pool2d",
    "Scalar",
    "SpecError",
    "VectorLayer",
    "Width",
    "_check_scalar",
    "_check_width",
    "_short",
    "activation_names",
    "check_activation_names",
    "check_declared_symbols",
    "check_name",
    "code_ident",
    "dense",
    "name_clash",
]

CONVENTIONS = ("column", "row")
DELTAS = ("per_sample", "mean")


@dataclass(frozen=True)
class Network:
    """A network: input, layers, loss, batch size, convention, delta definition.

    ``input_width`` is a width for a dense network, or ``(channels, height, width)`` for a
    convolutional one, whose layers are conv/pool layers, one ``Flatten`` and dense layers.
    """

    input_width: Width | tuple[Width, Width, Width]
    layers: tuple[AnyLayer, ...]
    loss: Loss = field(default_factory=Loss)
    batch: Width = "m"
    convention: str = "column"
    delta: str = "per_sample"
    name: str = "network"
    notation: Notation = field(default_factory=Notation)

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        if isinstance(self.input_width, list):
            object.__setattr__(self, "input_width", tuple(self.input_width))
        if isinstance(self.input_width, tuple):
            if len(self.input_width) != 3:
                raise SpecError(
                    "an image input is [channels, height, width], got "
                    f"{len(self.input_width)} sizes",
                    key="input",
                )
            for w in self.input_width:
                _check_width(w, "input")
        else:
            _check_width(self.input_width, "input")
        _check_width(self.batch, "batch", allow=frozenset({"m"}))
        if not isinstance(self.name, str) or len(self.name) > MAX_TITLE:
            raise SpecError(f"name must be a string of at most {MAX_TITLE} characters", key="name")
        if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs") for ch in self.name):
            raise SpecError(
                f"name {_short(self.name)} contains a control character or a line break",
                key="name",
            )
        if not isinstance(self.notation, Notation):
            raise SpecError("notation must be a derive.Notation", key="notation")
        if not self.layers:
            raise SpecError(
                "the network has no layers; add at least one [[layers]] entry", key="layers"
            )
        if not isinstance(self.convention, str) or self.convention not in CONVENTIONS:
            raise SpecError(
                f"unknown convention {_short(self.convention)}; use 'column' (samples are columns) "
                "or 'row' (samples are rows)",
                key="convention",
            )
        if not isinstance(self.delta, str) or self.delta not in DELTAS:
            raise SpecError(
                f"unknown delta definition {_short(self.delta)}; use 'per_sample' or 'mean'",
                key="delta",
            )
        for i, layer in enumerate(self.layers, start=1):  # layers that read their neighbours
            check = getattr(layer, "check_placement", None)
            if check is not None:
                check(self, i)
        check_order(self)
        self.image_shapes  # noqa: B018 - checks that every kernel and pool fits its input
        check_output(self)
        if isinstance(self.batch, str) and self.batch in self.size_names:
            raise SpecError(
                f"the batch size symbol {self.batch!r} is also used as a layer width",
                key="batch",
            )
        object.__setattr__(self, "layers", name_unnamed_customs(self))
        check_names(self)
        check_activation_symbols(self)
        check_activation_names(self, dict(self.notation.activations), "notation.activations")
        check_declared_symbols(self, dict(self.notation.symbols), "notation.symbols")

    def _inputs(self) -> tuple[Width, ...]:
        inp = self.input_width
        return inp if isinstance(inp, tuple) else (inp,)

    @property
    def is_conv(self) -> bool:
        """True for a network on images (conv/pool layers before a flatten)."""
        return isinstance(self.input_width, tuple)

    @property
    def image_shapes(self) -> list[tuple[Width | None, ...]]:
        """(channels, height, width) of the input and of each image layer's output.

        Concrete sizes are checked here, with the layer and the sizes in the message; a
        side that depends on a symbol is ``None``.
        """
        return feature_map_shapes(self.input_width, self.layers)

    @property
    def depth(self) -> int:
        """L, the number of layers: the last layer's number."""
        return len(self.layers)

    @property
    def dense_layers(self) -> tuple[Layer, ...]:
        """The dense layers alone, for what only they have (widths, a shared activation)."""
        return tuple(layer for layer in self.layers if isinstance(layer, Layer))

    @property
    def first_dense(self) -> int:
        """The number (from 1) of the first dense layer."""
        return next(i for i, layer in enumerate(self.layers, 1) if isinstance(layer, Layer))

    @property
    def widths(self) -> tuple[Width, ...]:
        """n_0, n_1, …, n_L of a dense network (of a CNN: the dense part after flatten)."""
        if isinstance(self.input_width, tuple):  # is_conv
            c, h, w = self.image_shapes[-1]
            # None when an image side is symbolic: the honest type is ``Width | None``, kept
            # ``Width`` until formula.networks (dense networks only) is typed for it (issue 12)
            flat: Any = None
            if isinstance(c, int) and isinstance(h, int) and isinstance(w, int):
                flat = c * h * w
            return (flat, *(layer.width for layer in self.dense_layers))
        return (self.input_width, *(layer.width for layer in self.dense_layers))

    @property
    def size_names(self) -> list[str]:
        """Every symbolic size the spec uses (widths, image sides, channels, kernels)."""
        out: list[str] = []
        sizes: list[Width] = list(self._inputs())
        for layer in self.layers:
            if isinstance(layer, Layer):
                sizes.append(layer.width)
            elif isinstance(layer, Conv2d):
                sizes += [layer.channels, layer.kernel]
        for v in sizes:
            if isinstance(v, str) and v not in out:
                out.append(v)
        return out

    def with_(self, **changes: Any) -> Network:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def concrete(self, sizes: Mapping[str, int] | None = None, default: int = 2) -> Network:
        """This network with every symbolic size (and the batch) made an integer."""
        sizes = dict(sizes or {})

        def pick(w: Width) -> int:
            return w if isinstance(w, int) else int(sizes.get(w, default))

        def layer_at(layer: AnyLayer) -> AnyLayer:
            if isinstance(layer, Layer):
                return replace(layer, width=pick(layer.width))
            if isinstance(layer, Conv2d):
                return replace(layer, channels=pick(layer.channels), kernel=pick(layer.kernel))
            return layer

        inp = self.input_width
        return replace(
            self,
            input_width=(pick(inp[0]), pick(inp[1]), pick(inp[2]))
            if isinstance(inp, tuple)
            else pick(inp),
            layers=tuple(layer_at(layer) for layer in self.layers),
            batch=pick(self.batch),
        )


def dense(
    widths: list[Width] | tuple[Width, ...],
    activations: list[str | Activation] | tuple[str | Activation, ...] | str,
    loss: Loss | str = "squared_error",
    **kwargs: Any,
) -> Network:
    """Build a network from widths ``[n_0, …, n_L]`` and one activation per layer.

    >>> dense([2, 3, 1], ["tanh", "sigmoid"], "binary_cross_entropy").depth
    2
    """
    if len(widths) < 2:
        raise SpecError("give the input width and at least one layer width", key="layers")
    n_layers = len(widths) - 1
    if isinstance(activations, (str, Activation)):
        activations = [activations] * n_layers
    if len(activations) != n_layers:
        raise SpecError(
            f"{n_layers} layers but {len(activations)} activations", key="layers.activation"
        )
    acts = [a if isinstance(a, Activation) else Activation(a) for a in activations]
    return Network(
        input_width=widths[0],
        layers=tuple(Layer(w, a) for w, a in zip(widths[1:], acts)),
        loss=loss if isinstance(loss, Loss) else Loss(loss),
        **kwargs,
    )
