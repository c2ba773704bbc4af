"""The loss of a network spec: its name, how samples are reduced, weight decay.

``LOSSES`` lists the losses, ``REDUCTIONS`` the reductions each allows and
``DEFAULT_REDUCTION`` the one it gets when none is given.
"""

from __future__ import annotations

from dataclasses import dataclass

from derive.spec.values import Scalar, SpecError, _check_scalar, _short

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
