"""The operations loop code over windows may use, as the runner (``window_loops``) calls
them: NumPy's own functions, operators and comparisons, nothing else."""

from __future__ import annotations

import math
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


#: The largest array (entries) and integer a run may make: the layer's arrays are small,
#: so anything beyond is the code's own size, refused before it is allocated.
MAX_ENTRIES = 1_000_000
MAX_INT = 10**18


def small(value: Any) -> Any:
    """``value``, if it is within the bounds of a run."""
    if isinstance(value, np.ndarray) and value.size > MAX_ENTRIES:
        raise LoopError(f"an array of {value.size} entries: more than a run may make")
    if isinstance(value, int) and abs(value) > MAX_INT:
        raise LoopError("a number beyond 10^18: more than a run may make")
    return value


def _power(a: Any, b: Any) -> Any:
    """``a ** b`` with an exponent within bounds (no integer grows without end)."""
    if not isinstance(b, (int, float, np.integer, np.floating)) or abs(b) > 64:
        raise LoopError("a power with an exponent beyond 64 (or an array exponent)")
    return a**b


def _sized(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``np.zeros``/``np.ones`` with the requested shape checked before it is allocated."""

    def make(shape: Any, *args: Any, **kw: Any) -> Any:
        dims = [shape] if isinstance(shape, (int, np.integer)) else list(shape)
        if not all(isinstance(d, (int, np.integer)) and d >= 0 for d in dims):
            raise LoopError("an array's shape must be whole numbers")
        if math.prod(int(d) for d in dims) > MAX_ENTRIES:
            raise LoopError("an array larger than a run may make")
        return fn(shape, *args, **kw)

    return make


def _pad(a: Any, widths: Any, *args: Any, **kw: Any) -> Any:
    """``np.pad`` with widths within bounds (the layer's padding is a few pixels)."""
    if np.max(np.abs(np.asarray(widths, dtype=float))) > 64:
        raise LoopError("a padding beyond 64 pixels")
    return np.pad(a, widths, *args, **kw)


def _elementwise(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """An elementwise operator, its broadcast shape checked before anything is allocated."""

    def run(a: Any, b: Any) -> Any:
        sizes = (a.size if isinstance(a, np.ndarray) else 1) * (
            b.size if isinstance(b, np.ndarray) else 1
        )
        if sizes > MAX_ENTRIES:  # the broadcast shape is at most this large
            shape = np.broadcast_shapes(np.shape(a), np.shape(b))
            if math.prod(shape) > MAX_ENTRIES:
                raise LoopError("an array larger than a run may make")
        return small(fn(a, b))

    return run


def _products(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A product of arrays (dot, outer, tensordot): its operands' sizes bounded first."""

    def run(a: Any, b: Any, *args: Any, **kw: Any) -> Any:
        if float(np.size(a)) * float(np.size(b)) > 10 * MAX_ENTRIES:
            raise LoopError("a product larger than a run may make")
        return small(fn(a, b, *args, **kw))

    return run


def _filled(a: Any) -> Any:
    """``a``, refused when empty: NumPy's mean of an empty slice is NaN (with a warning),
    which no gradient is; said as NumPy's refusal of the window, not as a NaN later."""
    if np.size(a) == 0:
        raise ValueError("the mean of an empty slice (NumPy gives NaN)")
    return a


def apply(op: str, old: Any, value: Any) -> Any:
    """``old op value`` for ``+=`` and the like."""
    return BINARY[{"+": "add", "-": "sub", "*": "hadamard", "/": "div"}[op]](old, value)


BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "add": _elementwise(lambda a, b: a + b),
    "sub": _elementwise(lambda a, b: a - b),
    "hadamard": _elementwise(lambda a, b: a * b),
    "div": _elementwise(lambda a, b: a / b),
    "matmul": _products(lambda a, b: a @ b),
    "power": _elementwise(_power),
    "floordiv": _elementwise(lambda a, b: a // b),
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
    "multiply": _elementwise(np.multiply),
    "dot": _products(np.dot),
    "max": np.max,
    "mean": lambda a, *args, **kw: np.mean(_filled(a), *args, **kw),
    "ones": _sized(np.ones),
    "zeros": _sized(np.zeros),
    "zeros_like": np.zeros_like,
    "ones_like": np.ones_like,
    "pad": _pad,
    "argmax": np.argmax,
    "unravel_index": np.unravel_index,
    "tensordot": _products(np.tensordot),
    "rot90": np.rot90,
    "flip": np.flip,
    "transpose": np.transpose,
    "outer": _products(np.outer),
    "maximum": _elementwise(np.maximum),
}
METHODS: dict[str, Callable[..., Any]] = {
    "reshape": lambda a, *shape, **kw: np.reshape(a, shape[0] if len(shape) == 1 else shape),
    "sum": lambda a, *args, **kw: np.sum(a, *args, **kw),
    "max": lambda a, *args, **kw: np.max(a, *args, **kw),
    "dot": _products(np.dot),  # X[i].dot(W)
    "copy": lambda a: np.array(a, copy=True),
    "transpose": lambda a, *axes: np.transpose(a, axes or None),
}
