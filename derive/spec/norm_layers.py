"""The layers courses teach after the MLP (issue 15): residual, batch/layer norm, dropout.

Records and TOML readers only; their builders are in ``derive.core.norm_blocks``. Each
record checks its own values; ``check_placement(network, i)`` checks what depends on the
layers around it (a skip's source and widths, a norm after feature maps), so a bad
combination fails with the layer's key before any derivation.

TOML:

- ``type = "residual"``: a dense layer plus a skip, ``Z_l = W_l A_{l-1} + b_l + A_j``
  (``skip_from = j``, the layer whose output is added, 0 the input) or, with
  ``projection = true``, ``+ P_l A_j`` (``P_l`` a parameter).
- ``type = "batchnorm"`` / ``"layernorm"``: normalise the previous layer's output (per
  feature over the batch / per sample over the features), scale by ``γ_l``, shift by
  ``β_l``, then apply ``activation`` (default identity). Between an affine map and its
  activation: give the dense layer before it ``activation = "identity"``.
- ``type = "dropout"``: ``A_l = A_{l-1} ⊙ M_l / p`` with the mask ``M_l`` an input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from derive.spec.activations import SOFTMAX
from derive.spec.reading import LAYER_TYPES, LayerType, _activation_from
from derive.spec.records import (
    Activation,
    AnyLayer,
    Conv2d,
    Flatten,
    Layer,
    Pool2d,
    Scalar,
    SpecError,
    VectorLayer,
    Width,
    _check_scalar,
    _check_width,
    _short,
)

if TYPE_CHECKING:
    from derive.spec.records import Network


def _width_before(network: Network, j: int) -> Width | None:
    """The width of ``A_j`` (0: the input), or None for a feature map."""
    if j == 0:
        return None if network.is_conv else network.input_width  # type: ignore[return-value]
    width: Width | None = None if network.is_conv else network.input_width  # type: ignore[assignment]
    for layer in network.layers[:j]:
        if isinstance(layer, Layer):
            width = layer.width
        elif isinstance(layer, (Conv2d, Pool2d)):
            width = None
        elif isinstance(layer, Flatten):
            width = network.widths[0]
    return width


@dataclass(frozen=True)
class Residual(Layer):
    """A dense layer whose pre-activation also receives ``A_j`` (or ``P_l A_j``)."""

    skip_from: int = 0
    projection: bool = False

    kind = "residual"
    generic_recurrence = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.skip_from, bool) or not isinstance(self.skip_from, int):
            raise SpecError(
                f"skip_from must be a layer number (0 for the input), got {_short(self.skip_from)}",
                key="skip_from",
            )
        if not isinstance(self.projection, bool):
            raise SpecError(
                f"projection must be true or false, got {_short(self.projection)}",
                key="projection",
            )
        if self.activation.name == SOFTMAX:
            raise SpecError("a residual layer cannot end in softmax", key="activation")

    def check_placement(self, network: Network, i: int) -> None:
        """The skip's source exists, is earlier, and fits this layer's width."""
        j = self.skip_from
        if not 0 <= j < i:
            raise SpecError(
                f"skip_from = {j}: layer {i} can only add the output of an earlier layer "
                f"(0 for the input, up to {i - 1})",
                key=f"layers[{i}].skip_from",
            )
        src = _width_before(network, j)
        if src is None:
            raise SpecError(
                f"skip_from = {j} is a feature map; a residual layer adds a vector per sample",
                key=f"layers[{i}].skip_from",
            )
        if src != self.width and not self.projection:
            raise SpecError(
                f"the skip from A_{j} (width {src}) to layer {i} (width {self.width}) "
                "changes the width: set projection = true (Z += P A_j) or skip from a layer "
                "of the same width",
                key=f"layers[{i}].skip_from",
            )


def _norm_activation(act: Activation) -> Activation:
    if isinstance(act, str):
        act = Activation(act)
    if not isinstance(act, Activation):
        raise SpecError(
            f"activation must be a name or an Activation, got {_short(act)}", "activation"
        )
    if act.name == SOFTMAX:
        raise SpecError("a normalisation layer cannot end in softmax", key="activation")
    return act


@dataclass(frozen=True)
class Norm(VectorLayer):
    """Batch or layer normalisation, ``γ ⊙ x̂ + β``, then ``activation``.

    ``over`` is ``batch`` (per feature, over the samples; training mode) or ``layer``
    (per sample, over the features); ``eps`` a number or a symbol name.
    """

    over: str = "batch"
    activation: Activation = field(default_factory=lambda: Activation("identity"))
    eps: Scalar = "epsilon"

    generic_recurrence = False

    def __post_init__(self) -> None:
        if self.over not in ("batch", "layer"):
            raise SpecError(
                f"normalisation over 'batch' or 'layer', got {_short(self.over)}", key="type"
            )
        object.__setattr__(self, "activation", _norm_activation(self.activation))
        _check_scalar(self.eps, "eps")
        if isinstance(self.eps, (int, float)) and not self.eps > 0:
            raise SpecError(
                f"eps keeps the variance away from 0: it must be > 0, got {self.eps}", key="eps"
            )

    @property
    def kind(self) -> str:  # type: ignore[override]
        """``batchnorm`` or ``layernorm``."""
        return f"{self.over}norm"

    def check_placement(self, network: Network, i: int) -> None:
        """After a dense layer (or another vector layer); never after feature maps."""
        prev = network.layers[i - 2] if i > 1 else None
        if prev is None:
            raise SpecError(
                f"a {self.kind} layer normalises the output of the layer before it: put a "
                "dense layer (activation = 'identity') first",
                key=f"layers[{i}].type",
            )
        if isinstance(prev, (Conv2d, Pool2d)):
            raise SpecError(
                f"{self.kind} after a {prev.kind} layer: spatial batch norm (per channel over "
                "samples and pixels) does not exist yet; normalise after flatten and a dense layer",
                key=f"layers[{i}].type",
            )


@dataclass(frozen=True)
class Dropout(VectorLayer):
    """Inverted dropout: ``A_l = A_{l-1} ⊙ M_l / p``, the 0/1 mask ``M_l`` given as an input
    (``p`` the keep probability, a number in (0, 1] or a symbol name)."""

    p: Scalar = "p"

    kind = "dropout"
    generic_recurrence = False

    def __post_init__(self) -> None:
        _check_scalar(self.p, "p")
        if isinstance(self.p, (int, float)) and not 0 < self.p <= 1:
            raise SpecError(f"p is the keep probability, in (0, 1]; got {self.p}", key="p")

    def check_placement(self, network: Network, i: int) -> None:
        """After a dense layer (or another vector layer)."""
        prev = network.layers[i - 2] if i > 1 else None
        if prev is None:
            raise SpecError(
                "a dropout layer drops units of the layer before it: put a dense layer first",
                key=f"layers[{i}].type",
            )
        if isinstance(prev, (Conv2d, Pool2d)):
            raise SpecError(
                f"dropout after a {prev.kind} layer: dropout on feature maps does not exist "
                "yet; put it after flatten and a dense layer",
                key=f"layers[{i}].type",
            )


def _residual(raw: Mapping[str, Any], key: str, i: int) -> AnyLayer:
    if "skip_from" not in raw:
        raise SpecError(
            "a residual layer needs skip_from, the layer whose output it adds (0: the input)",
            key="type",
        )
    width = _check_width(raw.get("width", f"n_{i}"), f"{key}.width")
    return Residual(
        width,
        _activation_from(raw.get("activation", "relu"), f"{key}.activation"),
        skip_from=raw["skip_from"],
        projection=raw.get("projection", False),
    )


def _norm(over: str) -> Any:
    def read(raw: Mapping[str, Any], key: str, i: int) -> AnyLayer:
        act = _activation_from(raw.get("activation", "identity"), f"{key}.activation")
        return Norm(over, act, raw.get("eps", "epsilon"))

    return read


LAYER_TYPES["residual"] = LayerType(
    frozenset({"type", "width", "activation", "skip_from", "projection"}), _residual
)
LAYER_TYPES["batchnorm"] = LayerType(frozenset({"type", "activation", "eps"}), _norm("batch"))
LAYER_TYPES["layernorm"] = LayerType(frozenset({"type", "activation", "eps"}), _norm("layer"))
LAYER_TYPES["dropout"] = LayerType(
    frozenset({"type", "p"}), lambda raw, key, i: Dropout(raw.get("p", "p"))
)
