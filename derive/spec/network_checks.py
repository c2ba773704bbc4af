"""The checks of a whole network spec, run by ``Network`` when one is made.

Each needs more than one field: the order of the layers (image layers, one flatten,
dense layers), the output activation the loss needs, distinct names in SymPy and in
exported code, one printed symbol per activation function, and the notation's renamings
and declared symbols (each must name something the network has).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Protocol

from derive.spec.activations import SOFTMAX, TABLE
from derive.spec.layers import Activation, AnyLayer, Conv2d, Flatten, Layer, Pool2d, VectorLayer
from derive.spec.loss import Loss
from derive.spec.notation import NotationError, declared_quantity
from derive.spec.values import SpecError, Width, _short, code_ident


class NetworkFields(Protocol):
    """What these checks read of a ``records.Network``. ``Network`` runs them when it is
    made, so they name its fields by this protocol rather than import it (the modules of
    a package import each other one way only)."""

    @property
    def input_width(self) -> Width | tuple[Width, Width, Width]:
        """A width, or (channels, height, width) of an image input."""

    @property
    def layers(self) -> tuple[AnyLayer, ...]:
        """The layers, in order."""

    @property
    def loss(self) -> Loss:
        """The loss record."""

    @property
    def batch(self) -> Width:
        """The batch size (a symbol or a number)."""

    @property
    def depth(self) -> int:
        """The number of layers."""

    @property
    def dense_layers(self) -> tuple[Layer, ...]:
        """The dense layers alone."""

    @property
    def size_names(self) -> list[str]:
        """Every symbolic size the spec uses."""


def check_order(network: NetworkFields) -> None:
    """Image layers, then one Flatten, then dense layers (a dense net: dense only)."""
    image = isinstance(network.input_width, tuple)
    seen_flatten = False
    for i, layer in enumerate(network.layers, start=1):
        key = f"layers[{i}]"
        if isinstance(layer, (Conv2d, Pool2d)):
            if not image:
                raise SpecError(
                    f"{layer.kind} needs an image input: set input = [channels, height, width]",
                    key=key,
                )
            if seen_flatten:
                raise SpecError(f"{layer.kind} comes after flatten; move it before", key=key)
        elif isinstance(layer, Flatten):
            if not image:
                raise SpecError("flatten needs an image input", key=key)
            if seen_flatten:
                raise SpecError("a second flatten layer", key=key)
            seen_flatten = True
        elif isinstance(layer, Layer):
            if image and not seen_flatten:
                raise SpecError(
                    "a dense layer follows feature maps: add a flatten layer before it",
                    key=key,
                )
        elif isinstance(layer, VectorLayer):
            if i == 1 or not isinstance(network.layers[i - 2], (Layer, VectorLayer)):
                raise SpecError(f"a {layer.kind} layer follows a dense layer", key=key)
        else:
            raise SpecError(f"not a layer: {_short(layer)}", key=key)
    if image and not isinstance(network.layers[-1], Layer):
        raise SpecError(
            "a convolutional network ends with dense layers: add flatten and a dense output layer",
            key=f"layers[{len(network.layers)}]",
        )


def check_output(network: NetworkFields) -> None:
    """Softmax only on the output layer, and the output activation the loss needs."""
    last = len(network.layers)
    for i, layer in enumerate(network.layers, start=1):
        if isinstance(layer, Layer) and layer.activation.name == SOFTMAX and i != last:
            raise SpecError(
                f"softmax is only allowed on the output layer, not on hidden layer {i}",
                key=f"layers[{i}].activation",
            )
    out = network.dense_layers[-1].activation.name  # the last layer (check_order)
    if network.loss.name == "cross_entropy" and out != SOFTMAX:
        raise SpecError(
            f"cross_entropy is the softmax cross-entropy: the output layer must use softmax, "
            f"not {out}",
            key="loss.name",
        )
    if network.loss.name == "binary_cross_entropy" and out != "sigmoid":
        raise SpecError(
            f"binary_cross_entropy is the sigmoid binary cross-entropy: the output layer "
            f"must use sigmoid, not {out}",
            key="loss.name",
        )


def name_unnamed_customs(network: NetworkFields) -> tuple[AnyLayer, ...]:
    """The layers with different custom formulas given no symbol printing as f, g, h, …,
    never all as f.

    A symbol the user chose is kept (and two different functions under one chosen
    symbol stay an error, below); only unnamed ones are named, in layer order.
    """
    acts = [getattr(layer, "activation", None) for layer in network.layers]
    unnamed = list(
        dict.fromkeys(a for a in acts if a is not None and a.name == "custom" and not a.symbol)
    )
    if len(unnamed) < 2:
        return network.layers
    taken = {a.symbol for a in acts if a is not None and a.symbol} | set(network.size_names)
    free = (n for n in "fghpqruvkst" if n not in taken)
    names = {a: next(free, None) for a in unnamed}
    if None in names.values():
        return network.layers  # out of letters: the check below asks the user for symbols
    layers: list[AnyLayer] = []
    for layer in network.layers:
        if isinstance(layer, (Layer, Conv2d)) and layer.activation in names:
            act = layer.activation
            layer = replace(layer, activation=replace(act, symbol=names[act]))
        layers.append(layer)
    return tuple(layers)


def check_activation_symbols(network: NetworkFields) -> None:
    """One printed name, one function: a custom or symbolic activation may not share
    its symbol with a different activation, or ``f'(Z₁)`` and ``f'(Z₂)`` would read as
    the same function (and one ``activation-name`` would rename both)."""
    printed: dict[str, tuple[Activation, int]] = {}
    for i, layer in enumerate(network.layers, start=1):
        act = getattr(layer, "activation", None)
        if act is None or act.name == SOFTMAX:
            continue
        shown = TABLE[act.name].text if act.name in TABLE else (act.symbol or "f")
        other, j = printed.setdefault(shown, (act, i))
        if other != act and not (act.name in TABLE and other.name in TABLE):
            raise SpecError(
                f"{shown!r} already names the activation of layer {j}, a different "
                f"function; give this one its own symbol",
                key=f"layers[{i}].activation",
            )


def check_names(network: NetworkFields) -> None:
    """Sizes and parameters are distinct symbols, and distinct in exported code."""
    sizes = [*network.size_names, *([network.batch] if isinstance(network.batch, str) else [])]
    inp = network.input_width
    named: list[tuple[object, str]] = [
        (v, "input") for v in (inp if isinstance(inp, tuple) else (inp,))
    ]
    named.append((network.batch, "batch"))
    for i, layer in enumerate(network.layers, start=1):
        for attr in ("width", "channels", "kernel"):
            named.append((getattr(layer, attr, None), f"layers[{i}].{attr}"))
    scalars: list[tuple[str, str]] = []
    for i, layer in enumerate(network.layers, start=1):
        act = getattr(layer, "activation", None)
        for k, v in act.params if act else ():
            if isinstance(v, str):
                scalars.append((v, f"layers[{i}].activation.{k}"))
    if isinstance(network.loss.weight_decay, str):
        scalars.append((network.loss.weight_decay, "loss.weight_decay"))
    for i, layer in enumerate(network.layers, start=1):
        act = getattr(layer, "activation", None)
        symbol = act.symbol if act else None
        if symbol and (symbol in sizes or symbol in {n for n, _ in scalars}):
            raise SpecError(
                f"the activation symbol {symbol!r} is also a size or a parameter; rename it",
                key=f"layers[{i}].activation.symbol",
            )
    for name, key in scalars:
        if name in sizes:
            raise SpecError(
                f"{name!r} is a size (a width or the batch) and cannot also be a parameter",
                key=key,
            )
    seen: dict[str, str] = {}
    for name, key in [*((n, k) for n, k in named if isinstance(n, str)), *scalars]:
        other = seen.setdefault(code_ident(name), name)
        if other != name:
            raise SpecError(
                f"the names {other!r} and {name!r} are both {code_ident(name)!r} in exported "
                "code; rename one",
                key=key,
            )


def activation_names(network: NetworkFields) -> list[str]:
    """The names a notation may rename: table activations by name, custom and symbolic
    ones by their symbol, and ``f`` when hidden layers differ (the generic layer's f)."""
    names: list[str] = []
    hidden: set[str] = set()
    for i, layer in enumerate(network.layers, start=1):
        act = getattr(layer, "activation", None)
        if act is None or act.name == SOFTMAX:
            continue
        name = act.name if act.name in TABLE else (act.symbol or "f")
        if name not in names:
            names.append(name)
        if i < len(network.layers):
            hidden.add(name)
    if len(hidden) > 1 and "f" not in names:
        names.append("f")
    return names


def check_activation_names(network: NetworkFields, names: Mapping[str, str], key: str) -> None:
    """Refuse a notation for an activation the network does not use (a typo, not a no-op)."""
    used = activation_names(network)
    for name in names:
        if name not in used:
            raise SpecError(
                f"the network uses no activation {_short(name)}; it uses "
                f"{', '.join(used) or 'none that can be renamed'}",
                key=f"{key}.{name}" if isinstance(name, str) and len(name) < 40 else key,
            )


def check_declared_symbols(network: NetworkFields, symbols: Mapping[str, str], key: str) -> None:
    """Refuse a declared symbol whose quantity this network has not (``Z_5`` in a 2-layer
    network, ``W_2`` of a pooling layer): a typo, never a silent no-op."""
    depth = network.depth
    for name, value in symbols.items():
        where = f"{key} {name}" if key.startswith("--") else f"{key}.{name}"
        try:
            q = declared_quantity(name, value, where)
        except NotationError as err:
            raise SpecError(err.problem, key=err.key) from None
        if q.layer is None:
            continue
        k = depth if q.layer == "L" else int(q.layer)
        layer = network.layers[k - 1] if 1 <= k <= depth else None
        base = q.base.removeprefix("d") if q.base in ("dW", "db", "dK") else q.base
        if base == "A" and k == 0:
            continue
        exists = layer is not None and (
            (base == "W" and isinstance(layer, Layer))
            or (base == "K" and isinstance(layer, Conv2d))
            or (base == "b" and isinstance(layer, (Layer, Conv2d)))
            or base in ("Z", "A", "delta")
            or (base == "dA" and k < depth)
        )
        if not exists:
            raise SpecError(
                f"{name} = {_short(value)}: this {depth}-layer network has no such quantity "
                f"(layers 1 to {depth})",
                key=where,
            )
