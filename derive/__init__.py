"""derive: backpropagation derived symbolically, printed, checked and exported.

The names below are loaded on first use (PEP 562 ``__getattr__``), so that a command
that needs only part of the package (``derive check``) does not import the rest: the
printers, the exporters and the oracles each cost import time at every start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names as mypy and readers see them
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

#: Where each public name lives.
_HOMES = {
    "Derivation": "derive.api",
    "derive": "derive.api",
    "Step": "derive.core.derivation",
    **{
        name: "derive.spec"
        for name in (
            "Activation",
            "AvgPool2d",
            "Conv2d",
            "Flatten",
            "Layer",
            "Loss",
            "MaxPool2d",
            "Network",
            "Pool2d",
            "SpecError",
            "dense",
            "load",
            "loads",
        )
    },
}

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


def __getattr__(name: str) -> Any:
    """A public name, imported from its module the first time it is asked for."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'derive' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
