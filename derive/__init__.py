"""derive: backpropagation derived symbolically, printed, checked and exported."""

from __future__ import annotations

from derive.derivation import Derivation, Step, derive
from derive.spec import Activation, Layer, Loss, Network, SpecError, dense, load, loads

__all__ = [
    "Activation",
    "Derivation",
    "Layer",
    "Loss",
    "Network",
    "SpecError",
    "Step",
    "dense",
    "derive",
    "load",
    "loads",
]
__version__ = "0.1.0"
