"""derive: backpropagation derived symbolically, printed, checked and exported."""

from __future__ import annotations

from derive.api import Derivation, derive
from derive.core.derivation import Step
from derive.spec import (
    Activation,
    AvgPool2d,
    Conv2d,
    Flatten,
    Layer,
    Loss,
    MaxPool2d,
    Network,
    Pool2d,
    SpecError,
    dense,
    load,
    loads,
)

__all__ = [
    "Activation",
    "AvgPool2d",
    "Conv2d",
    "Derivation",
    "Flatten",
    "Layer",
    "Loss",
    "MaxPool2d",
    "Network",
    "Pool2d",
    "SpecError",
    "Step",
    "dense",
    "derive",
    "load",
    "loads",
]
__version__ = "0.1.0"
