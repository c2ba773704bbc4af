"""The operations loop code over windows may use, as the runner (``window_loops``) calls
them: NumPy's own functions, operators and comparisons, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from derive.formula.window_lines import LoopError


def whole(v: Any) -> Any:
    """A size computed with ``/`` (Python 2's integer division in old course code): its
    integer value if it is whole."""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def as_int(v: Any) -> Any:
    """An index: an integer value (a float index is refused, as NumPy does)."""
    if isinstance(v, (range, np.ndarray)) or v is None:
        return v
    if isinstance(v, (int, np.integer)):
        return int(v)
    raise LoopError(f"an index must be an integer, got {v!r}")


def apply(op: str, old: Any, value: Any) -> Any:
    """``old op value`` for ``+=`` and the like."""
    return BINARY[{"+": "add", "-": "sub", "*": "hadamard", "/": "div"}[op]](old, value)


BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "hadamard": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "matmul": lambda a, b: a @ b,
    "power": lambda a, b: a**b,
    "floordiv": lambda a, b: a // b,
}
COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}
NUMPY: dict[str, Callable[..., Any]] = {
    "sum": np.sum,
    "multiply": np.multiply,
    "dot": np.dot,
    "max": np.max,
    "mean": np.mean,
    "ones": np.ones,
    "zeros": np.zeros,
    "zeros_like": np.zeros_like,
    "pad": np.pad,
    "argmax": np.argmax,
    "unravel_index": np.unravel_index,
}
METHODS: dict[str, Callable[..., Any]] = {
    "reshape": lambda a, *shape, **kw: np.reshape(a, shape[0] if len(shape) == 1 else shape),
    "sum": lambda a, *args, **kw: np.sum(a, *args, **kw),
    "max": lambda a, *args, **kw: np.max(a, *args, **kw),
}
