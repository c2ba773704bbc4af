"""The explicit oracle's issue-14 primitives, each by its definition, entry by entry.

Plain loops, no vectorised NumPy: a sum is a sum of entries, a max is SymPy's Max, the
arg-max mask a product of Heaviside steps (the comparison points are kept off ties), an
inverse SymPy's exact one. Importing this module registers them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy
from sympy.matrices.expressions import Determinant, Inverse, Trace

from derive.core.interpret import Env
from derive.core.nodes import (
    ArgMaxAllMask,
    ArgMaxMask,
    Broadcast,
    Concat,
    Indicator,
    Labels,
    LogDet,
    LogSoftmax,
    Norm,
    OneHot,
    Pick,
    Reduce,
    ReduceAll,
    Slice,
)
from derive.oracles.explicit_domain import _dim, _on, evaluate


def _entries(m: Any) -> list[Any]:
    return [m[i, j] for i in range(m.rows) for j in range(m.cols)]


def _line(m: Any, axis: int, k: int) -> list[Any]:
    """The k-th column (axis 0: reduced down the rows) or row (axis 1) of ``m``."""
    if axis == 0:
        return [m[i, k] for i in range(m.rows)]
    return [m[k, j] for j in range(m.cols)]


def _reduce_line(op: str, values: list[Any]) -> Any:
    if op == "sum":
        return sympy.Add(*values)
    if op == "mean":
        return sympy.Add(*values) / len(values)
    return sympy.Max(*values)


@_on(Reduce)
def _reduce(e: Reduce, env: Env) -> Any:
    x = evaluate(e.arg, env)
    if e.axis == 0:
        return sympy.Matrix(1, x.cols, lambda _, j: _reduce_line(e.op, _line(x, 0, j)))
    return sympy.Matrix(x.rows, 1, lambda i, _: _reduce_line(e.op, _line(x, 1, i)))


def _first_max(values: list[Any], p: int) -> Any:
    """1 where values[p] is the first maximum: above every earlier entry, not below a later."""
    steps = [
        sympy.Heaviside(values[p] - values[q], 0 if q < p else 1)
        for q in range(len(values))
        if q != p
    ]
    return sympy.Mul(*steps)


@_on(ArgMaxMask)
def _argmax_mask(e: ArgMaxMask, env: Env) -> Any:
    x = evaluate(e.arg, env)
    out = sympy.zeros(x.rows, x.cols)
    for i in range(x.rows):
        for j in range(x.cols):
            k, p = (j, i) if e.axis == 0 else (i, j)
            out[i, j] = _first_max(_line(x, e.axis, k), p)
    return sympy.ImmutableMatrix(out)


@_on(ArgMaxAllMask)
def _argmax_all_mask(e: ArgMaxAllMask, env: Env) -> Any:
    x = evaluate(e.arg, env)
    flat = _entries(x)
    return sympy.ImmutableMatrix(
        x.rows, x.cols, lambda i, j: _first_max(flat, int(i) * x.cols + int(j))
    )


@_on(Broadcast)
def _broadcast(e: Broadcast, env: Env) -> Any:
    rows, cols = (_dim(d, env) for d in e.shape)
    v = evaluate(e.arg, env)
    if not isinstance(v, sympy.MatrixBase):
        return sympy.ImmutableMatrix(rows, cols, lambda i, j: v)
    return sympy.ImmutableMatrix(
        rows, cols, lambda i, j: v[i if v.rows > 1 else 0, j if v.cols > 1 else 0]
    )


@_on(Slice)
def _slice(e: Slice, env: Env) -> Any:
    # entry (i, j) of x[:, a:b] is x[i, a + j]; of x[a:b, :] it is x[a + i, j]
    x = evaluate(e.arg, env)
    lo = _dim(e.start, env)
    rows, cols = (_dim(d, env) for d in e.shape)
    if e.axis == 1:
        return sympy.ImmutableMatrix(rows, cols, lambda i, j: x[i, lo + j])
    return sympy.ImmutableMatrix(rows, cols, lambda i, j: x[lo + i, j])


@_on(Concat)
def _concat(e: Concat, env: Env) -> Any:
    # entry by entry: the part whose block holds the index, at the index less its offset
    parts = [evaluate(p, env) for p in e.parts]
    rows, cols = (_dim(d, env) for d in e.shape)
    owner: list[tuple[Any, int]] = []
    for p in parts:
        owner += [(p, k) for k in range(p.cols if e.axis == 1 else p.rows)]
    if e.axis == 1:
        return sympy.ImmutableMatrix(rows, cols, lambda i, j: owner[j][0][i, owner[j][1]])
    return sympy.ImmutableMatrix(rows, cols, lambda i, j: owner[i][0][owner[i][1], j])


@_on(ReduceAll)
def _reduce_all(e: ReduceAll, env: Env) -> Any:
    return _reduce_line(e.op, _entries(evaluate(e.arg, env)))


def _compare(op: str, a: Any, b: Any) -> Any:
    holds = {">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[op]
    return sympy.Piecewise((1, holds), (0, True))


@_on(Indicator)
def _indicator(e: Indicator, env: Env) -> Any:
    lhs, rhs = evaluate(e.lhs, env), evaluate(e.rhs, env)
    ref = lhs if isinstance(lhs, sympy.MatrixBase) else rhs

    def at(v: Any, i: int, j: int) -> Any:
        return v[i, j] if isinstance(v, sympy.MatrixBase) else v

    return sympy.ImmutableMatrix(
        ref.rows, ref.cols, lambda i, j: _compare(e.op, at(lhs, i, j), at(rhs, i, j))
    )


@_on(LogSoftmax)
def _log_softmax(e: LogSoftmax, env: Env) -> Any:
    z = evaluate(e.arg, env)

    def at(i: int, j: int) -> Any:
        k = j if e.axis == 0 else i
        return z[i, j] - sympy.log(sympy.Add(*[sympy.exp(v) for v in _line(z, e.axis, k)]))

    return sympy.ImmutableMatrix(z.rows, z.cols, at)


@_on(Norm)
def _norm(e: Norm, env: Env) -> Any:
    return sympy.sqrt(sympy.Add(*[v**2 for v in _entries(evaluate(e.arg, env))]))


@_on(Trace)
def _trace(e: Trace, env: Env) -> Any:
    x = evaluate(e.arg, env)
    return sympy.Add(*[x[i, i] for i in range(x.rows)])


@_on(Inverse)
def _inverse(e: Inverse, env: Env) -> Any:
    return sympy.ImmutableMatrix(sympy.Matrix(evaluate(e.arg, env)).inv(method="ADJ"))


@_on(Determinant)
def _det(e: Determinant, env: Env) -> Any:
    return sympy.Matrix(evaluate(e.arg, env)).det(method="berkowitz")


@_on(LogDet)
def _logdet(e: LogDet, env: Env) -> Any:
    return sympy.log(sympy.Abs(sympy.Matrix(evaluate(e.arg, env)).det(method="berkowitz")))


@_on(Labels)
def _labels(e: Labels, env: Env) -> Any:
    raise KeyError(f"no value for {e.name}")


def _label_list(e: Any, env: Env) -> list[int]:
    return [int(v) for v in np.asarray(evaluate(e, env)).reshape(-1)]


@_on(Pick)
def _pick(e: Pick, env: Env) -> Any:
    s, y = evaluate(e.arg, env), _label_list(e.labels, env)
    if e.axis == 1:
        return sympy.ImmutableMatrix(s.rows, 1, lambda i, _: s[i, y[i]])
    return sympy.ImmutableMatrix(1, s.cols, lambda _, j: s[y[j], j])


@_on(OneHot)
def _one_hot(e: OneHot, env: Env) -> Any:
    rows, cols = (_dim(d, env) for d in e.shape)
    y = _label_list(e.labels, env)
    if e.axis == 1:
        return sympy.ImmutableMatrix(rows, cols, lambda i, j: int(y[i] == j))
    return sympy.ImmutableMatrix(rows, cols, lambda i, j: int(y[j] == i))
