"""The rules of the primitives of user-written forward programs (issue 14).

Reductions and broadcasts (each the other's transpose), slices and concatenations,
entrywise powers, masks and log-softmax, norms, traces, inverses and determinants, and
the one-hot pick; each a row of the one table (``rule_table.RULES``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sympy.matrices.expressions import (
    Determinant,
    HadamardPower,
    Identity,
    Inverse,
    MatrixExpr,
    MatrixSymbol,
    OneMatrix,
    Trace,
)

from derive.core.nodes import (
    ArgMaxAllMask,
    ArgMaxMask,
    Broadcast,
    Concat,
    Indicator,
    LogDet,
    LogSoftmax,
    Norm,
    OneHot,
    Pick,
    Reduce,
    ReduceAll,
    Slice,
    Softmax,
    add,
    hadamard,
    pad,
    scale,
    split_coeff,
)
from derive.core.rule_table import Contribution, _mm, defvjp

# --------------------------------------------------------------------------- reductions, broadcasts


def _bcast(g: Any, rows: Any, cols: Any) -> Any:
    """``G`` repeated to rows×cols, its scalar factor kept outside the node."""
    c, body = split_coeff(g)
    return scale(Broadcast(body, rows, cols), c)


def _sum_over(g: Any, axes: Iterable[int]) -> Any:
    """``G`` summed over ``axes`` (the transpose of a broadcast), scalar factor outside."""
    c, body = split_coeff(g)
    for axis in axes:
        body = Reduce(body, "sum", axis)
    return scale(body, c)


@defvjp(Reduce)
def _reduce(node: Reduce, g: Any, ans: Any) -> Iterable[Contribution]:
    # Z = Σ_axis X:    X_bar = broadcast(G)           (the transpose of a sum is a broadcast)
    # Z = mean_axis X: X_bar = broadcast(G) / N       (… divided by the N entries averaged)
    # Z = max_axis X:  X_bar = argmax-mask(X) ⊙ broadcast(G)   (G routed to the maximum)
    x = node.arg
    spread = _bcast(g, *x.shape)
    if node.op == "sum":
        return [(x, spread)]
    if node.op == "mean":
        return [(x, scale(spread, 1 / node.size))]
    return [(x, hadamard(ArgMaxMask(x, node.axis), spread))]


@defvjp(ReduceAll)
def _reduce_all(node: ReduceAll, g: Any, ans: Any) -> Iterable[Contribution]:
    # L = Σ X:    X_bar = g 1          L = mean X: X_bar = g 1 / (m n)
    # L = max X:  X_bar = g argmax-mask(X)
    x = node.arg
    rows, cols = x.shape
    if node.op == "sum":
        return [(x, scale(OneMatrix(rows, cols), g))]
    if node.op == "mean":
        return [(x, scale(OneMatrix(rows, cols), g / (rows * cols)))]
    return [(x, scale(ArgMaxAllMask(x), g))]


@defvjp(Broadcast)
def _broadcast(node: Broadcast, g: Any, ans: Any) -> Iterable[Contribution]:
    # Z = broadcast(b):  b_bar = Σ G over the repeated axes   (the transpose of a broadcast
    # is a sum; a scalar b gets the sum of every entry)
    if not isinstance(node.arg, MatrixExpr):
        c, body = split_coeff(g)
        return [(node.arg, c * ReduceAll(body, "sum"))]
    return [(node.arg, _sum_over(g, node.axes))]


@defvjp(Slice)
def _slice(node: Slice, g: Any, ans: Any) -> Iterable[Contribution]:
    # Z = X[:, i:j]:  X_bar = [0 | G | 0]   (G embedded at columns i:j of zeros; rows alike)
    x = node.arg
    return [(x, pad(g, node.start, node.stop, x.shape[node.axis], node.axis))]


@defvjp(Concat)
def _concat(node: Concat, g: Any, ans: Any) -> Iterable[Contribution]:
    # Z = [X_1 | … | X_k]:  X_i_bar = G[:, o_i : o_i + w_i]   (each part its block of G)
    a = node.axis
    return [
        (part, Slice(g, start, start + part.shape[a], a))
        for part, start in zip(node.parts, node.offsets, strict=True)
    ]


# --------------------------------------------------------------------------- entrywise


@defvjp(HadamardPower)
def _hadamard_power(node: HadamardPower, g: Any, ans: Any) -> Iterable[Contribution]:
    # Z = X^{∘p}:  X_bar = p G ⊙ X^{∘(p-1)}   (the exponent is a constant)
    x, p = node.base, node.exp
    if p - 1 == 0:
        return [(x, scale(g, p))]
    lower = x if p - 1 == 1 else HadamardPower(x, p - 1)
    return [(x, scale(hadamard(g, lower), p))]


@defvjp(Indicator)
def _indicator(node: Indicator, g: Any, ans: Any) -> Iterable[Contribution]:
    # Z = 1[X > Y]: piecewise constant, so X_bar = Y_bar = 0 (nothing to pass on)
    return []


@defvjp(LogSoftmax)
def _log_softmax(node: LogSoftmax, g: Any, ans: Any) -> Iterable[Contribution]:
    # A = log softmax(Z) per sample:  Z_bar = G − softmax(Z) ⊙ broadcast(Σ_axis G)
    z = node.arg
    summed = _bcast(_sum_over(g, [node.axis]), *z.shape)
    return [(z, add([g, scale(hadamard(Softmax(z, node.axis), summed), -1)]))]


# --------------------------------------------------------------------------- norms, determinants


@defvjp(Norm)
def _norm(node: Norm, g: Any, ans: Any) -> Iterable[Contribution]:
    # L = ||X||_F:  X_bar = g X / ||X||_F
    n = ans if ans is not None else node
    return [(node.arg, scale(node.arg, g / n))]


@defvjp(Trace)
def _trace(node: Trace, g: Any, ans: Any) -> Iterable[Contribution]:
    # L = tr X:  X_bar = g I
    return [(node.arg, scale(Identity(node.arg.shape[0]), g))]


@defvjp(Inverse)
def _inverse(node: Inverse, g: Any, ans: Any) -> Iterable[Contribution]:
    # Y = X^{-1}:  X_bar = −Yᵀ G Yᵀ
    y = ans if ans is not None else node
    return [(node.arg, _mm(-1, y.T, g, y.T))]


@defvjp(LogDet)
def _logdet(node: LogDet, g: Any, ans: Any) -> Iterable[Contribution]:
    # L = log det X:  X_bar = g X^{-T}
    return [(node.arg, scale(Inverse(node.arg).T, g))]


@defvjp(Determinant)
def _det(node: Determinant, g: Any, ans: Any) -> Iterable[Contribution]:
    # L = det X:  X_bar = g det(X) X^{-T}
    d = ans if ans is not None else node
    return [(node.arg, scale(Inverse(node.arg).T, g * d))]


# --------------------------------------------------------------------------- indexing


@defvjp(Pick)
def _pick(node: Pick, g: Any, ans: Any) -> Iterable[Contribution]:
    # z = S[range(N), y]:  S_bar = onehot(y) ⊙ broadcast(G)   (each sample's G at its label)
    s = node.arg
    names = sorted(s.atoms(MatrixSymbol), key=str)  # a name in S: the code's number type
    mask = OneHot(node.labels, s.shape, node.axis, like=names[0] if names else None)
    return [(s, hadamard(mask, _bcast(g, *s.shape)))]
