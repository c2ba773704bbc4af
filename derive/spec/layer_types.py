"""The layer types of a TOML network spec: what ``type = "…"`` in ``[[layers]]`` means.

``LAYER_TYPES`` maps each type to its allowed keys and to the function that turns its
table into a record; the built-in types (dense, conv2d, pooling, flatten) are here, and
other modules register theirs (``norm_layers``, ``sequence_layers``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from derive.spec.layers import Activation, AnyLayer, Conv2d, Flatten, Layer, Pool2d
from derive.spec.values import SpecError, _check_width, _short


#: A layer type of the TOML spec: its allowed keys and how its table becomes a record
#: (``read(raw, key, i)``; ``key`` is ``layers[i]`` for messages, ``i`` its number).
@dataclass(frozen=True)
class LayerType:
    """What ``type = "…"`` in a ``[[layers]]`` table means."""

    keys: frozenset[str]
    read: Callable[[Mapping[str, Any], str, int], AnyLayer]


def _dense(raw: Mapping[str, Any], key: str, i: int) -> AnyLayer:
    width = _check_width(raw.get("width", f"n_{i}"), f"{key}.width")
    return Layer(width, _activation_from(raw.get("activation", "sigmoid"), f"{key}.activation"))


def _conv2d(raw: Mapping[str, Any], key: str, i: int) -> AnyLayer:
    if "channels" not in raw:
        raise SpecError("a conv2d layer needs channels (its number of filters)", key="channels")
    return Conv2d(
        channels=raw["channels"],
        kernel=raw.get("kernel", 3),
        stride=raw.get("stride", 1),
        padding=raw.get("padding", "valid"),
        activation=_activation_from(raw.get("activation", "relu"), f"{key}.activation"),
    )


#: Every layer type the TOML spec knows; a new layer type adds its entry here.
LAYER_TYPES: dict[str, LayerType] = {
    "dense": LayerType(frozenset({"type", "width", "activation"}), _dense),
    "conv2d": LayerType(
        frozenset({"type", "channels", "kernel", "stride", "padding", "activation"}), _conv2d
    ),
    "maxpool2d": LayerType(
        frozenset({"type", "size", "stride"}),
        lambda raw, key, i: Pool2d(raw.get("size", 2), raw.get("stride"), "max"),
    ),
    "avgpool2d": LayerType(
        frozenset({"type", "size", "stride"}),
        lambda raw, key, i: Pool2d(raw.get("size", 2), raw.get("stride"), "avg"),
    ),
    "flatten": LayerType(frozenset({"type"}), lambda raw, key, i: Flatten()),
}
_ACT_KEYS = {"name", "expr", "symbol", "slope", "alpha"}


def _activation_from(value: object, key: str) -> Activation:
    if isinstance(value, str):
        return Activation(value)
    if isinstance(value, Mapping):
        unknown = set(value) - _ACT_KEYS
        if unknown:
            raise SpecError(
                f"unknown key(s) {', '.join(sorted(unknown))} in activation "
                f"(allowed: {', '.join(sorted(_ACT_KEYS))})",
                key=key,
            )
        if "name" not in value:
            raise SpecError("an activation table needs a name", key=key)
        params = tuple((k, value[k]) for k in ("slope", "alpha") if k in value)
        return Activation(
            name=value["name"],
            params=params,
            expr=value.get("expr"),
            symbol=value.get("symbol"),
        )
    raise SpecError(f"activation must be a name or a table, got {_short(value)}", key=key)
