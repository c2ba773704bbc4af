"""The network spec: frozen, validated records, read from TOML or built in Python.

Every check happens when a record is made, so a bad spec fails before any derivation,
with one message naming the key, the problem and (for TOML) the file and line.
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Union

from derive.spec.activations import ALL_NAMES, SOFTMAX, TABLE
from derive.spec.notation import Notation, NotationError, declared_quantity
from derive.spec.scalar_expr import ScalarExprError, parse_scalar

if TYPE_CHECKING:
    import sympy

Width = Union[int, str]  # noqa: UP007 - a runtime alias, also on Python 3.10
Scalar = Union[int, float, str]  # noqa: UP007

CONVENTIONS = ("column", "row")
DELTAS = ("per_sample", "mean")
LOSSES = (
    "squared_error",
    "cross_entropy",
    "binary_cross_entropy",
    "l1",
    "mae",
    "huber",
    "multiclass_hinge",
)
REDUCTIONS = {
    "squared_error": ("half_mean", "half_sum", "mean", "sum"),
    "cross_entropy": ("mean", "sum"),
    "binary_cross_entropy": ("mean", "sum"),
    "l1": ("mean", "sum"),
    "mae": ("mean",),
    "huber": ("mean", "sum"),
    "multiclass_hinge": ("mean", "sum"),
}
DEFAULT_REDUCTION = {
    "squared_error": "half_mean",
    "cross_entropy": "mean",
    "binary_cross_entropy": "mean",
    "l1": "mean",
    "mae": "mean",
    "huber": "mean",
    "multiclass_hinge": "mean",
}
_SYMBOL = re.compile(r"[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)?")
#: The longest symbol name (a name is printed in every formula it appears in).
MAX_NAME = 32
#: Names the derivation uses itself, as the user would write them.
_RESERVED = {
    "x",
    "l",
    "L",
    "W",
    "K",
    "b",
    "Z",
    "A",
    "X",
    "Y",
    "delta",
    "alpha",
    "lambda",
    "e",
    "pi",
}
#: Identifiers the exported module defines or imports itself (besides the patterns below).
_MODULE_NAMES = {
    "X",
    "Y",
    "L",
    "m",
    "lam",
    "sizes",
    "SHAPES",
    "PARAMETERS",
    "HYPERPARAMETERS",
    "intermediates",
    "forward",
    "loss",
    "gradients",
    "loss_and_gradients",
    "annotations",
    "numpy",
    "torch",
    "jax",
    "math",
    "scipy",
    "derive",
    "conv2d",
    "conv2d_back_input",
    "conv2d_back_kernel",
    "maxpool2d",
    "maxpool2d_back",
    "avgpool2d",
    "avgpool2d_back",
}
#: Layer symbols as the exported module names them: W1, dW1, delta2, Z3, …
_GENERATED = re.compile(r"d?(W|K|b|Z|A|delta)[0-9]*|d(Z|A|X|Y|L)")


def code_ident(name: str) -> str:
    """The identifier a symbol name becomes in exported code (``n_1`` -> ``n1``).

    Mirrors ``derive.export.code_name`` for the names a spec allows.
    """
    ident = name.replace("_", "")
    return {"lambda": "lam"}.get(ident, ident)


def name_clash(name: str) -> str | None:
    """Why ``name`` cannot be a user's symbol, or None: the ONE reserved-name rule.

    A user's names become SymPy symbols, LaTeX and identifiers of the exported module,
    so a name must not be one the derivation, Python or that module uses itself.
    """
    ident = code_ident(name)
    if name in _RESERVED:
        return f"{name!r} is a symbol the derivation uses itself"
    if keyword.iskeyword(name) or keyword.iskeyword(ident) or keyword.issoftkeyword(ident):
        return f"{name!r} is a Python keyword"
    if ident in _MODULE_NAMES or _GENERATED.fullmatch(ident):
        return f"the exported module defines {ident!r} itself"
    if hasattr(builtins, ident):
        return f"{ident!r} is a Python builtin the exported module may use"
    return None


def _short(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + "…" + text[-4:]


def check_name(value: object, key: str, *, allow: frozenset[str] = frozenset()) -> str:
    """A user's symbol name, or a SpecError naming the key and what is wrong with it."""
    if not isinstance(value, str):
        raise SpecError(f"expected a symbol name, got {type(value).__name__}", key=key)
    if len(value) > MAX_NAME:
        raise SpecError(
            f"the name {_short(value)} is {len(value)} characters long; the limit is {MAX_NAME}",
            key=key,
        )
    if not _SYMBOL.fullmatch(value):
        raise SpecError(
            f"{_short(value)} is not a valid symbol name (letters and digits, optionally one "
            f"_subscript, at most {MAX_NAME} characters, e.g. n_1, h, d2)",
            key=key,
        )
    clash = None if value in allow else name_clash(value)
    if clash:
        raise SpecError(f"the name {value!r} is reserved: {clash}; choose another", key=key)
    return value


class SpecError(ValueError):
    """A spec the user wrote that cannot be derived; the message says where and why."""

    def __init__(self, message: str, *, key: str = "", source: str = "", line: int | None = None):
        self.key = key
        self.source = source
        self.line = line
        self.problem = message
        where = source
        if line is not None:
            where = f"{source}:{line}" if source else f"line {line}"
        parts = [p for p in (where, key) if p]
        super().__init__(f"{': '.join(parts)}: {message}" if parts else message)


def _check_width(value: object, key: str, allow: frozenset[str] = frozenset()) -> Width:
    if isinstance(value, bool):
        raise SpecError(
            f"width must be a positive integer or a symbol name, got {_short(value)}", key=key
        )
    if isinstance(value, int):
        if value < 1:
            raise SpecError(f"width must be a positive integer, got {value}", key=key)
        return value
    if isinstance(value, str):
        if len(value) <= MAX_NAME and not _SYMBOL.fullmatch(value):
            raise SpecError(
                f"width {_short(value)} is neither a positive integer nor a valid symbol name "
                f"(letters and digits, optionally one _subscript, at most {MAX_NAME} "
                "characters, e.g. n_1, h, d2)",
                key=key,
            )
        return check_name(value, key, allow=allow)
    raise SpecError(
        f"width must be a positive integer or a symbol name, got {type(value).__name__}", key=key
    )


def _check_scalar(value: object, key: str) -> Scalar:
    if isinstance(value, bool):
        raise SpecError(f"expected a number or a symbol name, got {_short(value)}", key=key)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SpecError(
                f"expected a finite number or a symbol name, got {_short(value)}", key=key
            )
        return value
    if isinstance(value, int):
        if abs(value) > MAX_INT:
            raise SpecError(f"the number {_short(value)} is too large (limit 1e15)", key=key)
        return value
    if isinstance(value, str):
        allow = frozenset({"lambda"}) if key.endswith("weight_decay") else frozenset()
        return check_name(value, key, allow=allow)
    raise SpecError(
        f"expected a number or a symbol name, got {type(value).__name__} {_short(value)}", key=key
    )


#: The longest spec name (a title).
MAX_TITLE = 200
#: The largest integer parameter (slope, alpha, weight decay) a spec may give.
MAX_INT = 10**15


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


@dataclass(frozen=True)
class Loss:
    """The loss: ``name``, how samples are reduced, and optional L2 weight decay.

    ``delta`` is Huber's threshold, ``margin`` the hinge's Δ (both 1 unless given).
    """

    name: str = "squared_error"
    reduction: str | None = None
    weight_decay: Scalar | None = None
    delta: Scalar | None = None
    margin: Scalar | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or self.name not in LOSSES:
            raise SpecError(
                f"unknown loss {_short(self.name)}; known: {', '.join(LOSSES)}", key="loss.name"
            )
        if self.reduction is None:
            object.__setattr__(self, "reduction", DEFAULT_REDUCTION[self.name])
        if not isinstance(self.reduction, str) or self.reduction not in REDUCTIONS[self.name]:
            raise SpecError(
                f"reduction {_short(self.reduction)} does not apply to {self.name}; "
                f"use one of {', '.join(REDUCTIONS[self.name])}",
                key="loss.reduction",
            )
        if self.weight_decay is not None:
            _check_scalar(self.weight_decay, "loss.weight_decay")
        for key, owner in (("delta", "huber"), ("margin", "multiclass_hinge")):
            if getattr(self, key) is not None:
                if self.name != owner:
                    raise SpecError(f"{key} is a parameter of the {owner} loss", key=f"loss.{key}")
                value = _check_scalar(getattr(self, key), f"loss.{key}")
                if isinstance(value, (int, float)) and not value > 0:
                    raise SpecError(f"{key} must be > 0, got {value}", key=f"loss.{key}")

    @property
    def is_mean(self) -> bool:
        """Whether the batch factor is 1/m (mean reductions) rather than 1 (sums)."""
        return self.reduction in ("mean", "half_mean")


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
        self._check_order()
        self.image_shapes  # noqa: B018 - checks that every kernel and pool fits its input
        last = len(self.layers)
        for i, layer in enumerate(self.layers, start=1):
            if isinstance(layer, Layer) and layer.activation.name == SOFTMAX and i != last:
                raise SpecError(
                    f"softmax is only allowed on the output layer, not on hidden layer {i}",
                    key=f"layers[{i}].activation",
                )
        out = self.dense_layers[-1].activation.name  # the last layer (_check_order)
        if self.loss.name == "cross_entropy" and out != SOFTMAX:
            raise SpecError(
                f"cross_entropy is the softmax cross-entropy: the output layer must use softmax, "
                f"not {out}",
                key="loss.name",
            )
        if self.loss.name == "binary_cross_entropy" and out != "sigmoid":
            raise SpecError(
                f"binary_cross_entropy is the sigmoid binary cross-entropy: the output layer "
                f"must use sigmoid, not {out}",
                key="loss.name",
            )
        if isinstance(self.batch, str) and self.batch in self.size_names:
            raise SpecError(
                f"the batch size symbol {self.batch!r} is also used as a layer width",
                key="batch",
            )
        self._name_unnamed_customs()
        self._check_names()
        self._check_activation_symbols()
        check_activation_names(self, dict(self.notation.activations), "notation.activations")
        check_declared_symbols(self, dict(self.notation.symbols), "notation.symbols")

    def _name_unnamed_customs(self) -> None:
        """Different custom formulas given no symbol print as f, g, h, …, never all as f.

        A symbol the user chose is kept (and two different functions under one chosen
        symbol stay an error, below); only unnamed ones are named, in layer order.
        """
        acts = [getattr(layer, "activation", None) for layer in self.layers]
        unnamed = list(
            dict.fromkeys(a for a in acts if a is not None and a.name == "custom" and not a.symbol)
        )
        if len(unnamed) < 2:
            return
        taken = {a.symbol for a in acts if a is not None and a.symbol} | set(self.size_names)
        free = (n for n in "fghpqruvkst" if n not in taken)
        names = {a: next(free, None) for a in unnamed}
        if None in names.values():
            return  # out of letters: the check below asks the user for symbols
        layers: list[AnyLayer] = []
        for layer in self.layers:
            if isinstance(layer, (Layer, Conv2d)) and layer.activation in names:
                act = layer.activation
                layer = replace(layer, activation=replace(act, symbol=names[act]))
            layers.append(layer)
        object.__setattr__(self, "layers", tuple(layers))

    def _check_activation_symbols(self) -> None:
        """One printed name, one function: a custom or symbolic activation may not share
        its symbol with a different activation, or ``f'(Z₁)`` and ``f'(Z₂)`` would read as
        the same function (and one ``activation-name`` would rename both)."""
        printed: dict[str, tuple[Activation, int]] = {}
        for i, layer in enumerate(self.layers, start=1):
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

    def _check_names(self) -> None:
        """Sizes and parameters are distinct symbols, and distinct in exported code."""
        sizes = [*self.size_names, *([self.batch] if isinstance(self.batch, str) else [])]
        named: list[tuple[object, str]] = [(v, "input") for v in self._inputs()]
        named.append((self.batch, "batch"))
        for i, layer in enumerate(self.layers, start=1):
            for attr in ("width", "channels", "kernel"):
                named.append((getattr(layer, attr, None), f"layers[{i}].{attr}"))
        scalars: list[tuple[str, str]] = []
        for i, layer in enumerate(self.layers, start=1):
            act = getattr(layer, "activation", None)
            for k, v in act.params if act else ():
                if isinstance(v, str):
                    scalars.append((v, f"layers[{i}].activation.{k}"))
        if isinstance(self.loss.weight_decay, str):
            scalars.append((self.loss.weight_decay, "loss.weight_decay"))
        for i, layer in enumerate(self.layers, start=1):
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

    def _inputs(self) -> tuple[Width, ...]:
        inp = self.input_width
        return inp if isinstance(inp, tuple) else (inp,)

    def _check_order(self) -> None:
        """Image layers, then one Flatten, then dense layers (a dense net: dense only)."""
        image = isinstance(self.input_width, tuple)
        seen_flatten = False
        for i, layer in enumerate(self.layers, start=1):
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
                if i == 1 or not isinstance(self.layers[i - 2], (Layer, VectorLayer)):
                    raise SpecError(f"a {layer.kind} layer follows a dense layer", key=key)
            else:
                raise SpecError(f"not a layer: {_short(layer)}", key=key)
        if image and not isinstance(self.layers[-1], Layer):
            raise SpecError(
                "a convolutional network ends with dense layers: add flatten and a dense "
                "output layer",
                key=f"layers[{len(self.layers)}]",
            )

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
        if not isinstance(self.input_width, tuple):
            return []
        c: Width | None
        h: Width | None
        w: Width | None
        c, h, w = self.input_width
        shapes: list[tuple[Width | None, ...]] = [(c, h, w)]
        for i, layer in enumerate(self.layers, start=1):
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


def activation_names(network: Network) -> list[str]:
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


def check_activation_names(network: Network, names: Mapping[str, str], key: str) -> None:
    """Refuse a notation for an activation the network does not use (a typo, not a no-op)."""
    used = activation_names(network)
    for name in names:
        if name not in used:
            raise SpecError(
                f"the network uses no activation {_short(name)}; it uses "
                f"{', '.join(used) or 'none that can be renamed'}",
                key=f"{key}.{name}" if isinstance(name, str) and len(name) < 40 else key,
            )


def check_declared_symbols(network: Network, symbols: Mapping[str, str], key: str) -> None:
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
