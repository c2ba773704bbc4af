"""The layers of a network spec: activations, dense, convolutional, pooling and flatten.

Each is a frozen record checked when it is made. ``VectorLayer`` is the base of the layer
types other modules register (normalisation, dropout, sequence layers);
``image_shapes`` works out, and checks, the feature-map sizes of a conv/pool stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Union

from derive.spec.activations import ALL_NAMES, SOFTMAX, TABLE
from derive.spec.scalar_expr import ScalarExprError, parse_scalar
from derive.spec.values import (
    Scalar,
    SpecError,
    Width,
    _check_scalar,
    _check_width,
    _short,
    check_name,
)

if TYPE_CHECKING:
    import sympy


@dataclass(frozen=True)
class Activation:
    """An activation: a table name, ``softmax``, a ``custom`` formula or a ``symbolic`` f.

    ``symbol`` is the name printed for it (``f``, ``g``, ``\\sigma``-like names come from
    the table); ``params`` holds slope/alpha values (numbers or symbol names).
    """

    name: str
    params: tuple[tuple[str, Scalar], ...] = ()
    expr: str | None = None
    symbol: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or self.name not in ALL_NAMES:
            raise SpecError(
                f"unknown activation {_short(self.name)}; known: {', '.join(ALL_NAMES)}",
                key="activation",
            )
        allowed = TABLE[self.name].params if self.name in TABLE else ()
        for k, v in self.params:
            if self.name != "custom" and k not in allowed:
                raise SpecError(
                    f"activation {self.name!r} takes no parameter {k!r}"
                    + (f" (it takes {', '.join(allowed)})" if allowed else ""),
                    key=f"activation.{k}",
                )
            _check_scalar(v, f"activation.{k}")
        if self.name == "custom":
            if self.expr is None or self.expr == "":
                raise SpecError(
                    'a custom activation needs expr, a formula in x, e.g. "x / (1 + abs(x))"',
                    key="activation.expr",
                )
            if not isinstance(self.expr, str):
                raise SpecError(
                    f"expr must be a string (a formula in x), got {type(self.expr).__name__}",
                    key="activation.expr",
                )
            try:
                parse_scalar(self.expr, {k: _param_symbol(v) for k, v in self.params})
            except ScalarExprError as err:
                raise SpecError(str(err), key="activation.expr") from None
        elif self.expr is not None:
            raise SpecError("expr is only allowed with name = 'custom'", key="activation.expr")
        if self.name == "symbolic" and not self.symbol:
            object.__setattr__(self, "symbol", "f")
        if self.symbol is not None:
            check_name(self.symbol, "activation.symbol")

    @property
    def label(self) -> str:
        """Short readable name, e.g. ``leaky_relu(slope=0.1)``."""
        inner = ", ".join(f"{k}={v}" for k, v in self.params)
        if self.name == "custom":
            return f"{self.symbol or 'f'}(x) = {self.expr}"
        if self.name == "symbolic":
            return f"{self.symbol} (symbolic)"
        return f"{self.name}({inner})" if inner else self.name


def _param_symbol(value: Scalar) -> sympy.Expr:
    import sympy

    if isinstance(value, str):
        return sympy.Symbol(value, real=True)
    if isinstance(value, float):
        return sympy.nsimplify(value, rational=True)
    return sympy.Integer(value)


@dataclass(frozen=True)
class Layer:
    """A dense layer: its width (output size) and activation."""

    width: Width
    activation: Activation = field(default_factory=lambda: Activation("sigmoid"))

    def __post_init__(self) -> None:
        _check_width(self.width, "width")
        if isinstance(self.activation, str):
            object.__setattr__(self, "activation", Activation(self.activation))
        if not isinstance(self.activation, Activation):
            raise SpecError(
                f"activation must be a name or an Activation, got {_short(self.activation)}",
                key="activation",
            )


def _check_int(value: object, key: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SpecError(f"must be an integer >= {minimum}, got {_short(value)}", key=key)
    return value


@dataclass(frozen=True)
class Conv2d:
    """A 2-D convolutional layer (cross-correlation, channels summed) and its activation.

    ``kernel`` is the side of a square kernel; ``padding`` is ``"valid"`` (none),
    ``"same"`` (stride 1, odd kernel: output as large as the input) or an integer.
    """

    channels: Width
    kernel: Width = 3
    stride: int = 1
    padding: str | int = "valid"
    activation: Activation = field(default_factory=lambda: Activation("relu"))

    def __post_init__(self) -> None:
        _check_width(self.channels, "channels")
        _check_width(self.kernel, "kernel")
        _check_int(self.stride, "stride")
        if isinstance(self.activation, str):
            object.__setattr__(self, "activation", Activation(self.activation))
        if not isinstance(self.activation, Activation):
            raise SpecError(
                f"activation must be a name or an Activation, got {_short(self.activation)}",
                key="activation",
            )
        if self.activation.name == SOFTMAX:
            raise SpecError("softmax is not allowed after a conv2d layer", key="activation")
        if isinstance(self.padding, str):
            if self.padding not in ("valid", "same"):
                raise SpecError(
                    f"padding must be 'valid', 'same' or an integer, got {_short(self.padding)}",
                    key="padding",
                )
            if self.padding == "same":
                if self.stride != 1:
                    raise SpecError(
                        f"padding 'same' needs stride 1 (got stride {self.stride}); "
                        "give an integer padding instead",
                        key="padding",
                    )
                if isinstance(self.kernel, int) and self.kernel % 2 == 0:
                    raise SpecError(
                        f"padding 'same' needs an odd kernel size, got {self.kernel}",
                        key="padding",
                    )
        else:
            _check_int(self.padding, "padding", minimum=0)

    @property
    def pad(self) -> Width:
        """The padding as a number of pixels per side (``same``: ``(k - 1) / 2``)."""
        if self.padding == "valid":
            return 0
        if self.padding == "same":
            return (
                (self.kernel - 1) // 2 if isinstance(self.kernel, int) else f"({self.kernel}-1)/2"
            )
        return int(self.padding)

    kind = "conv2d"


@dataclass(frozen=True)
class Pool2d:
    """Max or average pooling over ``size`` x ``size`` windows (stride defaults to size)."""

    size: int = 2
    stride: int | None = None
    mode: str = "max"

    def __post_init__(self) -> None:
        _check_int(self.size, "size")
        if self.stride is None:
            object.__setattr__(self, "stride", self.size)
        _check_int(self.stride, "stride")
        if not isinstance(self.mode, str) or self.mode not in ("max", "avg"):
            raise SpecError(
                f"pooling mode must be 'max' or 'avg', got {_short(self.mode)}", key="mode"
            )

    @property
    def kind(self) -> str:
        """The layer's name in messages (``maxpool2d``, ``avgpool2d``)."""
        return f"{self.mode}pool2d"


def MaxPool2d(size: int = 2, stride: int | None = None) -> Pool2d:  # noqa: N802 - a layer name
    """Max pooling: the delta goes to the arg-max position of each window."""
    return Pool2d(size, stride, "max")


def AvgPool2d(size: int = 2, stride: int | None = None) -> Pool2d:  # noqa: N802 - a layer name
    """Average pooling: the delta is spread evenly over each window."""
    return Pool2d(size, stride, "avg")


@dataclass(frozen=True)
class Flatten:
    """Feature maps (m, C, H, W) -> one vector per sample (C H W entries, channel-major)."""

    kind = "flatten"


class VectorLayer:
    """Base of a layer that maps the previous layer's activations to as many activations,
    one vector per sample (a normalisation, a dropout, a toy layer of the docs): it may
    stand between dense layers, and a network's widths skip it. ``kind`` is its TOML
    ``type``."""

    kind = "vector"


AnyLayer = Union[Layer, Conv2d, Pool2d, Flatten, VectorLayer]  # noqa: UP007


def _conv_out(
    size: Width | None,
    kernel: Width,
    stride: int,
    pad: int | None,
    what: str,
    key: str,
    kernel_key: str = "kernel",
) -> int | None:
    """One output side of a conv or pool: ``(size + 2 pad - kernel) / stride + 1``.

    Concrete sizes are checked (the kernel fits, the stride divides the rest); symbolic
    sizes give a symbolic side, assumed to fit.
    """
    if not (isinstance(size, int) and isinstance(kernel, int) and isinstance(pad, int)):
        return None
    span = size + 2 * pad
    if kernel > span:
        raise SpecError(
            f"the {kernel}x{kernel} {what} is larger than its {size}x{size} input"
            + (f" (padded to {span}x{span})" if pad else ""),
            key=f"{key}.{kernel_key}",
        )
    if (span - kernel) % stride:
        raise SpecError(
            f"stride {stride} does not fit the {what}: input {size}"
            + (f" + 2x{pad} padding" if pad else "")
            + f" - window {kernel} = {span - kernel} is not a multiple of {stride}; "
            "change the stride, the padding or the input size",
            key=f"{key}.stride",
        )
    return (span - kernel) // stride + 1


def feature_map_shapes(
    input_width: Width | tuple[Width, Width, Width], layers: tuple[AnyLayer, ...]
) -> list[tuple[Width | None, ...]]:
    """(channels, height, width) of the input and of each image layer's output (empty for
    a dense network). Concrete sizes are checked here, with the layer and the sizes in
    the message; a side that depends on a symbol is ``None``.
    """
    if not isinstance(input_width, tuple):
        return []
    c: Width | None
    h: Width | None
    w: Width | None
    c, h, w = input_width
    shapes: list[tuple[Width | None, ...]] = [(c, h, w)]
    for i, layer in enumerate(layers, start=1):
        key = f"layers[{i}]"
        if isinstance(layer, Conv2d):
            what = "kernel of conv2d layer " + str(i)
            pad = layer.pad if isinstance(layer.pad, int) else None
            h = _conv_out(h, layer.kernel, layer.stride, pad, what, key) if h else None
            w = _conv_out(w, layer.kernel, layer.stride, pad, what, key) if w else None
            c = layer.channels
        elif isinstance(layer, Pool2d):
            what = f"{layer.mode} pooling window of layer {i}"
            st = layer.stride or 1
            h = _conv_out(h, layer.size, st, 0, what, key, "size") if h else None
            w = _conv_out(w, layer.size, st, 0, what, key, "size") if w else None
        else:
            break
        shapes.append((c, h, w))
    return shapes
