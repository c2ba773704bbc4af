"""The operations forward programs are built with (issue 14), over the nodes.

NumPy's broadcasting rule for entrywise operands (``fit``), division and powers as
Hadamard powers, the entrywise functions by name (``elementwise``), ``where`` as a sum
of masked terms, and the padding and block replacement of slices.
"""

from __future__ import annotations

import functools
from typing import Any

import sympy
from sympy.core.sympify import _sympify
from sympy.matrices.expressions import HadamardPower, OneMatrix, ZeroMatrix

from derive.core.block_nodes import Concat, Slice, add, hadamard, scale
from derive.core.layer_nodes import Elementwise
from derive.core.node_checks import ShapeMismatch, _dims, _is_matrix, _require_same, _same, _width
from derive.core.reduce_nodes import Broadcast


def pad(g: Any, start: Any, stop: Any, width: Any, axis: int) -> Any:
    """``g`` embedded at ``start:stop`` of a zero matrix ``width`` wide along ``axis``:
    the transpose of a slice."""
    parts = []
    for lo, hi in ((sympy.Integer(0), start), (stop, width)):
        w = _width(hi - lo)
        if w != 0:
            shape = list(g.shape)
            shape[axis] = w
            parts.append(ZeroMatrix(*shape))
    if len(parts) == 2:
        return Concat(axis, parts[0], g, parts[1])
    if not parts:
        return g
    return Concat(axis, *([parts[0], g] if start != 0 else [g, parts[0]]))


def replace_block(old: Any, start: Any, stop: Any, axis: int, new: Any) -> Any:
    """``old`` with its block ``start:stop`` along ``axis`` replaced by ``new`` (NumPy's
    ``A[:, a:b] = v`` as a value): the blocks around it kept, ``new`` broadcast to the
    block's shape."""
    block = Slice(old, start, stop, axis)
    new = Broadcast(new, *block.shape)  # a mismatch raises ShapeMismatch naming both
    width = old.shape[axis]
    parts = []
    if _width(start) != 0:
        parts.append(Slice(old, 0, start, axis))
    parts.append(new)
    if _width(width - stop) != 0:
        parts.append(Slice(old, stop, width, axis))
    return Concat(axis, *parts)


def broadcast_to(x: Any, rows: Any, cols: Any) -> Any:
    """``x`` repeated to rows×cols (``x`` itself when it has that shape already)."""
    return Broadcast(x, rows, cols)


def fit(x: Any, y: Any, op: str) -> tuple[Any, Any]:
    """Two operands of an entrywise ``op`` at one shape: a row, column or scalar side is
    broadcast to the other's shape (NumPy's rule); shapes that do not fit raise
    ShapeMismatch naming both."""
    if not _is_matrix(x) and not _is_matrix(y):
        return x, y
    if not _is_matrix(x):
        return Broadcast(x, *y.shape), y
    if not _is_matrix(y):
        return x, Broadcast(y, *x.shape)
    (a, b), (c, d) = x.shape, y.shape
    rows = c if a == 1 else a
    cols = d if b == 1 else b
    for (p, q), (r, s) in [((a, b), (rows, cols)), ((c, d), (rows, cols))]:
        if not ((p == 1 or _same(p, r)) and (q == 1 or _same(q, s))):
            raise ShapeMismatch(f"{_dims(x.shape)} and {_dims(y.shape)} do not fit for {op}")
    return Broadcast(x, rows, cols), Broadcast(y, rows, cols)


def divide(x: Any, y: Any) -> Any:
    """``x ⊘ y`` entry by entry, as ``x ⊙ y^{∘-1}`` (a row, column or scalar side
    broadcast); a scalar divisor stays a scalar factor."""
    if not _is_matrix(y):
        return scale(x, 1 / y) if _is_matrix(x) else x / y
    x, y = fit(x, y, "⊘")
    return hadamard(x, HadamardPower(y, -1))


def power(x: Any, p: Any) -> Any:
    """``x^{∘p}`` entry by entry (SymPy's HadamardPower; p a number or scalar symbol)."""
    if not _is_matrix(x):
        return x**p
    return HadamardPower(x, _sympify(p))  # safe: a number or one of our scalars


@functools.cache
def _elementwise_bodies() -> dict[str, sympy.Expr]:
    from derive.spec.scalar_expr import X, sigmoid

    return {
        "sqrt": sympy.sqrt(X),
        "exp": sympy.exp(X),
        "log": sympy.log(X),
        "abs": sympy.Abs(X),
        "relu": sympy.Max(0, X),
        "tanh": sympy.tanh(X),
        "sigmoid": sigmoid(X),
    }


#: The entrywise functions ``elementwise`` builds: name -> body in x (relu = maximum(0, x)).
ELEMENTWISE_NAMES = ("sqrt", "exp", "log", "abs", "relu", "maximum0", "tanh", "sigmoid")


def elementwise(name: str, arg: Any) -> Any:
    """``f(arg)`` entry by entry for f in ELEMENTWISE_NAMES, as an ``Elementwise`` node (its
    derivative comes from the Lambda, as for activations). ``maximum0`` is ``relu``."""
    from derive.spec.scalar_expr import X

    key = "relu" if name == "maximum0" else name
    bodies = _elementwise_bodies()
    if key not in bodies:
        raise ValueError(f"unknown function {name!r}: one of {', '.join(ELEMENTWISE_NAMES)}")
    if not _is_matrix(arg):
        return bodies[key].xreplace({X: arg})
    return Elementwise(key, sympy.Lambda(X, bodies[key]), arg)


def where(ind: Any, a: Any, b: Any) -> Any:
    """``ind ⊙ a + (1 − ind) ⊙ b`` for a 0/1 ``Indicator`` (a or b may be scalars; a zero
    branch is dropped, a constant one is a scalar factor)."""
    shape = tuple(ind.shape)
    terms = []
    for mask, v in ((ind, a), (OneMatrix(*shape) - ind, b)):
        if not _is_matrix(v):
            if v != 0:
                terms.append(scale(mask, v))
            continue
        _require_same(tuple(v.shape), shape, "where")
        terms.append(hadamard(mask, v))
    return add(terms) if terms else ZeroMatrix(*shape)
