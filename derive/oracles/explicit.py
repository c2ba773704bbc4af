"""The explicit oracle: every entry a SymPy scalar, ``sympy.diff`` entry by entry.

This is the second of the three truths. For small concrete widths, the loss is expanded
into one scalar expression over named entries (``W1_21``, ``X_12``, …), differentiated by
SymPy per parameter entry, and compared with the closed matrix form evaluated on the same
explicit matrices: exactly where the difference is a rational function (or involves only
symbolic activations), at random rational points in 50-digit arithmetic otherwise.

The evaluator is the core's one interpreter (``derive.core.interpret``) over a domain of
explicit SymPy matrices; its feature-map entries are its own textbook loops, written
independently of the vectorised ops the export and the checker use.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy
from sympy.matrices.expressions import Determinant, Inverse, MatrixSymbol, Trace

from derive.core.derivation import Derivation, derive
from derive.core.graph import Kind, split_name
from derive.core.interpret import Domain, Env, Interpreter
from derive.core.nodes import (
    ArgMaxAllMask,
    ArgMaxMask,
    Broadcast,
    ChannelBias,
    ChannelSum,
    Concat,
    ConvBackInput,
    ConvBackKernel,
    Correlate,
    ElementwiseOf,
    Flatten,
    Indicator,
    Labels,
    LogDet,
    LogSoftmax,
    Norm,
    OneHot,
    Pick,
    Pool,
    Reduce,
    ReduceAll,
    Slice,
    TensorSymbol,
    Unflatten,
    Unpool,
)

#: Above this many operations the exact comparison works at rational points, not by expand.
EXACT_OPS = 4000


def _params(env: Env) -> dict[Any, Any]:
    return {k: v for k, v in env.items() if isinstance(k, sympy.Symbol)}


class SympyDomain(Domain):
    """Matrices of SymPy scalars (feature maps: object arrays of them): every entry is an
    expression in the parameters' entries, for ``sympy.diff``."""

    name = "explicit"

    def fallback(self, expr: Any, env: Env) -> Any:
        """A scalar expression of plain symbols, with their values substituted."""
        if isinstance(expr, sympy.Expr) and not expr.has(sympy.MatrixExpr):
            return expr.xreplace(
                {k: v for k, v in env.items() if not isinstance(v, sympy.MatrixBase)}
            )
        return super().fallback(expr, env)

    def dim(self, d: Any, env: Env) -> int:
        """A size with the width symbols in ``env`` substituted."""
        expr = d if isinstance(d, sympy.Basic) else sympy.Integer(d)
        return int(expr.xreplace(env))

    def ones(self, rows: int, cols: int) -> Any:
        """The all-ones matrix."""
        return sympy.ones(rows, cols)

    def zeros(self, rows: int, cols: int) -> Any:
        """The zero matrix."""
        return sympy.zeros(rows, cols)

    def eye(self, n: int) -> Any:
        """The identity matrix."""
        return sympy.eye(n)

    def matmul(self, a: Any, b: Any) -> Any:
        """SymPy's matrix product."""
        return a * b

    def hadamard(self, a: Any, b: Any) -> Any:
        """Entry by entry (``multiply_elementwise`` for SymPy matrices)."""
        return a.multiply_elementwise(b) if isinstance(a, sympy.MatrixBase) else a * b

    def power(self, a: Any, p: Any) -> Any:
        """Every entry to the power ``p``."""
        return a.applyfunc(lambda v: v**p)

    def apply(self, node: ElementwiseOf, value: Any, env: Env) -> Any:
        """The scalar formula at every entry, hyperparameters substituted."""
        f = node.scalar()
        params = _params(env)
        if isinstance(value, np.ndarray):
            return _map(lambda v: f(v).xreplace(params), value)
        return value.applyfunc(lambda v: f(v).xreplace(params))

    def softmax(self, z: Any, axis: int) -> Any:
        """``exp(z_i) / Σ_j exp(z_j)`` per sample, as written."""
        ex = z.applyfunc(sympy.exp)
        if axis == 0:
            sums = [sum(ex[:, j]) for j in range(ex.cols)]
            return sympy.Matrix(ex.rows, ex.cols, lambda i, j: ex[i, j] / sums[j])
        sums = [sum(ex[i, :]) for i in range(ex.rows)]
        return sympy.Matrix(ex.rows, ex.cols, lambda i, j: ex[i, j] / sums[i])

    def sum_squares(self, v: Any) -> Any:
        """``Σ v²`` over every entry (of a matrix or a feature map)."""
        entries = v.flat if isinstance(v, np.ndarray) else v
        return sum(x**2 for x in entries)

    def cross_entropy(self, a: Any, y: Any) -> Any:
        """``-Σ y log a``."""
        return -sum(yv * sympy.log(av) for yv, av in zip(y, a))

    def binary_cross_entropy(self, a: Any, y: Any) -> Any:
        """``-Σ y log a + (1 - y) log(1 - a)``."""
        return -sum(yv * sympy.log(av) + (1 - yv) * sympy.log(1 - av) for yv, av in zip(y, a))

    def add(self, values: list[Any]) -> Any:
        """A SymPy sum, or feature maps added entry by entry."""
        if any(isinstance(v, np.ndarray) for v in values):
            return _tensor_sum(values)
        return sympy.Add(*values)

    def mul(self, values: list[Any]) -> Any:
        """A SymPy product, or a scalar times a feature map."""
        if any(isinstance(v, np.ndarray) for v in values):
            scalar = sympy.Mul(*[v for v in values if not isinstance(v, np.ndarray)])
            (tensor,) = [v for v in values if isinstance(v, np.ndarray)]
            return _map(lambda v: scalar * v, tensor)
        return sympy.Mul(*values)


#: The explicit interpreter: the shared entries plus its own feature-map loops below.
EXPLICIT = Interpreter(SympyDomain())
EVAL = EXPLICIT.table
evaluate = EXPLICIT.evaluate
_on = EXPLICIT.on


def _dim(d: Any, env: Env) -> int:
    return EXPLICIT.domain.dim(d, env)


# --------------------------------------------------------------------------- feature maps
#
# Tensors are NumPy arrays of SymPy scalars (dtype object). Each node is evaluated by its
# textbook definition, index by index, with plain loops: slow, obvious and independent of
# the vectorised code that the export uses.


def _map(fn: Callable[[Any], Any], t: np.ndarray) -> np.ndarray:
    out = np.empty(t.shape, dtype=object)
    for idx in np.ndindex(t.shape):
        out[idx] = fn(t[idx])
    return out


def _tensor_sum(vals: list[np.ndarray]) -> np.ndarray:
    out = vals[0]
    for v in vals[1:]:
        out = out + v
    return out


def _at(a: np.ndarray, n: int, c: int, y: int, x: int) -> Any:
    """A[n, c, y, x], zero outside the image (the padding)."""
    if 0 <= y < a.shape[2] and 0 <= x < a.shape[3]:
        return a[n, c, y, x]
    return sympy.Integer(0)


@_on(Correlate)
def _correlate(e: Correlate, env: Env) -> Any:
    k, a = evaluate(e.kernel, env), evaluate(e.input, env)
    s, p = int(e.stride), int(e.padding)
    kk = k.shape[2]
    h = (a.shape[2] + 2 * p - kk) // s + 1
    w = (a.shape[3] + 2 * p - kk) // s + 1
    out = np.empty((a.shape[0], k.shape[0], h, w), dtype=object)
    for n, o, i, j in np.ndindex(out.shape):
        out[n, o, i, j] = sympy.Add(
            *[
                k[o, c, u, v] * _at(a, n, c, s * i + u - p, s * j + v - p)
                for c, u, v in itertools.product(range(k.shape[1]), range(kk), range(kk))
            ]
        )
    return out


@_on(ConvBackInput)
def _conv_back_input(e: ConvBackInput, env: Env) -> Any:
    # literally: dilate G by s, pad by k - 1, correlate with rot180(K), crop p
    g, k = evaluate(e.cot, env), evaluate(e.kernel, env)
    s, p = int(e.stride), int(e.padding)
    like = evaluate(e.like, env)
    kk = k.shape[2]
    dh, dw = (g.shape[2] - 1) * s + 1, (g.shape[3] - 1) * s + 1
    dil = np.full((g.shape[0], g.shape[1], dh, dw), sympy.Integer(0), dtype=object)
    dil[:, :, ::s, ::s] = g
    out = np.empty(like.shape, dtype=object)
    for n, c, y, x in np.ndindex(out.shape):
        out[n, c, y, x] = sympy.Add(
            *[
                _at(dil, n, o, y + p + u - (kk - 1), x + p + v - (kk - 1))
                * k[o, c, kk - 1 - u, kk - 1 - v]
                for o, u, v in itertools.product(range(k.shape[0]), range(kk), range(kk))
            ]
        )
    return out


@_on(ConvBackKernel)
def _conv_back_kernel(e: ConvBackKernel, env: Env) -> Any:
    a, g = evaluate(e.input, env), evaluate(e.cot, env)
    s, p, kk = int(e.stride), int(e.padding), int(e.args[4])
    out = np.empty((g.shape[1], a.shape[1], kk, kk), dtype=object)
    for o, c, u, v in np.ndindex(out.shape):
        out[o, c, u, v] = sympy.Add(
            *[
                g[n, o, i, j] * _at(a, n, c, s * i + u - p, s * j + v - p)
                for n, i, j in np.ndindex(g.shape[0], g.shape[2], g.shape[3])
            ]
        )
    return out


@_on(ChannelBias)
def _channel_bias(e: ChannelBias, env: Env) -> Any:
    b = evaluate(e.bias, env)
    shape = tuple(_dim(d, env) for d in e.shape)
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(shape):
        out[idx] = b[idx[1]]
    return out


@_on(ChannelSum)
def _channel_sum(e: ChannelSum, env: Env) -> Any:
    g = evaluate(e.arg, env)
    out = np.empty((g.shape[1],), dtype=object)
    for o in range(g.shape[1]):
        out[o] = sympy.Add(*g[:, o].flat)
    return out


def _window(a: np.ndarray, n: int, c: int, i: int, j: int, k: int, s: int) -> list[Any]:
    return [a[n, c, s * i + u, s * j + v] for u in range(k) for v in range(k)]


@_on(Pool)
def _pool(e: Pool, env: Env) -> Any:
    a = evaluate(e.input, env)
    k, s = int(e.size), int(e.stride)
    shape = (a.shape[0], a.shape[1], (a.shape[2] - k) // s + 1, (a.shape[3] - k) // s + 1)
    out = np.empty(shape, dtype=object)
    for n, c, i, j in np.ndindex(shape):
        win = _window(a, n, c, i, j, k, s)
        out[n, c, i, j] = sympy.Max(*win) if e.mode == "max" else sympy.Add(*win) / (k * k)
    return out


@_on(Unpool)
def _unpool(e: Unpool, env: Env) -> Any:
    # max: the arg-max indicator of each window, Π_{q≠p} H(a_p - a_q); avg: 1/k² each
    g, a = evaluate(e.cot, env), evaluate(e.input, env)
    k, s = int(e.size), int(e.stride)
    out = np.full(a.shape, sympy.Integer(0), dtype=object)
    for n, c, i, j in np.ndindex(g.shape):
        cells = [(s * i + u, s * j + v) for u in range(k) for v in range(k)]
        for y, x in cells:
            if e.mode == "avg":
                share = g[n, c, i, j] / (k * k)
            else:
                mine = a[n, c, y, x]
                share = g[n, c, i, j] * sympy.Mul(
                    *[sympy.Heaviside(mine - a[n, c, q, r]) for q, r in cells if (q, r) != (y, x)]
                )
            out[n, c, y, x] = out[n, c, y, x] + share
    return out


@_on(Flatten)
def _flatten(e: Flatten, env: Env) -> Any:
    a = evaluate(e.input, env)
    rows = [list(a[n].flat) for n in range(a.shape[0])]
    flat = sympy.ImmutableMatrix(rows)
    return flat.T if e.column else flat


@_on(Unflatten)
def _unflatten(e: Unflatten, env: Env) -> Any:
    g = evaluate(e.arg, env)
    g = g.T if e.column else g
    like = evaluate(e.like, env)
    out = np.empty(like.shape, dtype=object)
    for n in range(like.shape[0]):
        for q, idx in enumerate(np.ndindex(like.shape[1:])):
            out[(n,) + idx] = g[n, q]
    return out


@_on(sympy.Pow)
def _pow(e: Any, env: Env) -> Any:
    return evaluate(e.base, env) ** evaluate(e.exp, env)


# --------------------------------------------------------------------------- issue 14 primitives
#
# Each by its definition, entry by entry with plain loops (no vectorised NumPy): a sum is
# a sum of entries, a max is SymPy's Max, the arg-max mask a product of Heaviside steps
# (the comparison points are kept off ties), an inverse SymPy's exact one.


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


# --------------------------------------------------------------------------- the oracle


def entry_matrix(sym: MatrixSymbol, rows: int, cols: int) -> sympy.ImmutableMatrix:
    """``W_1`` (2×3) -> [[W1_11, W1_12, W1_13], [W1_21, …]] with real scalar entries."""
    base, idx = split_name(sym.name)
    return sympy.ImmutableMatrix(
        rows, cols, lambda i, j: sympy.Symbol(f"{base}{idx}_{i + 1}{j + 1}", real=True)
    )


def entry_tensor(sym: TensorSymbol, shape: tuple[int, ...]) -> np.ndarray:
    """``K_1`` (2×1×2×2) -> an object array of real symbols ``K1_1,1,1,1`` …"""
    base, idx = split_name(sym.name)
    out = np.empty(shape, dtype=object)
    for pos in np.ndindex(shape):
        out[pos] = sympy.Symbol(f"{base}{idx}_" + ",".join(str(i + 1) for i in pos), real=True)
    return out


@dataclass
class ExplicitNetwork:
    """A derivation with every symbol bound to an explicit matrix of scalar entries."""

    derivation: Derivation
    sizes: dict[Any, int]
    env: Env = field(default_factory=dict)

    @property
    def params(self) -> list[MatrixSymbol]:
        """The parameters in the order of the program, so gradients line up with it."""
        return self.derivation.program.params


def explicit_network(
    derivation: Derivation, sizes: Mapping[str, int] | None = None, default: int = 2
) -> ExplicitNetwork:
    """Bind every parameter, X, Y and each forward value to explicit matrices.

    Symbolic widths take ``sizes[name]`` or ``default``. For softmax cross-entropy, each
    sample's target sums to 1 (the last class is 1 minus the others), as the fused rule
    assumes of one-hot or probability targets.
    """
    prog = derivation.program
    sizes = dict(sizes or {})
    widths = [*prog.widths, prog.batch]
    concrete: dict[Any, int] = {}
    for w in widths:
        if isinstance(w, sympy.Symbol):
            concrete[w] = int(sizes.get(w.name, default))
    ex = ExplicitNetwork(derivation, concrete)
    env: Env = dict(concrete)
    for sym in [*prog.params, *prog.inputs]:
        dims = tuple(_dim(d, concrete) for d in sym.shape)
        env[sym] = entry_matrix(sym, *dims) if len(dims) == 2 else entry_tensor(sym, dims)
    if prog.network.loss.name == "cross_entropy":
        y = prog.inputs[1]
        mat = sympy.Matrix(env[y])
        if prog.column:
            for j in range(mat.cols):
                mat[mat.rows - 1, j] = 1 - sum(mat[i, j] for i in range(mat.rows - 1))
        else:
            for i in range(mat.rows):
                mat[i, mat.cols - 1] = 1 - sum(mat[i, j] for j in range(mat.cols - 1))
        env[y] = sympy.ImmutableMatrix(mat)
    for eq in prog.equations:
        env[eq.out] = evaluate(eq.rhs, env)
    ex.env = env
    return ex


def oracle_gradients(ex: ExplicitNetwork) -> dict[str, sympy.Matrix]:
    """``sympy.diff`` of the expanded scalar loss by every parameter entry."""
    from derive.core.graph import LOSS

    loss = ex.env[LOSS]
    out = {}
    for p in ex.params:
        entries = ex.env[p]
        if isinstance(entries, np.ndarray):  # a kernel or conv bias: its entries in order
            out[p.name] = sympy.Matrix([sympy.diff(loss, w) for w in entries.flat])
        else:
            out[p.name] = entries.applyfunc(lambda w: sympy.diff(loss, w))
    return out


def closed_form_gradients(ex: ExplicitNetwork) -> dict[str, sympy.Matrix]:
    """The derived closed forms (deltas, then gradients) evaluated on the explicit matrices."""
    d = ex.derivation
    env = dict(ex.env)
    for k in range(d.depth, 0, -1):
        st = d.deltas[k]
        env[st.lhs] = evaluate(st.rhs, env)
    out = {}
    for p in ex.params:
        value = evaluate(d.gradients[p.name].rhs, env)
        out[p.name] = sympy.Matrix(list(value.flat)) if isinstance(value, np.ndarray) else value
    return out


def _is_symbolic_call(e: Any) -> bool:
    return isinstance(e, sympy.Function) and type(e).__module__ == "derive.spec.activations"


def _exact_ok(expr: Any) -> bool:
    funcs = [f for f in expr.atoms(sympy.Function) if not _is_symbolic_call(f)]
    return not funcs


@dataclass
class Comparison:
    """How the closed form compared with the oracle, per parameter."""

    method: str
    max_error: dict[str, float]
    mismatches: list[str]

    @property
    def ok(self) -> bool:
        """True when every entry agreed: the report's one verdict."""
        return not self.mismatches


def _random_point(symbols: set[Any], rng: random.Random) -> dict[Any, Any]:
    point = {}
    for s in sorted(symbols, key=str):
        num = rng.randint(-9, 9) or 1
        if getattr(s, "is_positive", False):  # a batch norm's ε: under a square root
            num = abs(num)
        point[s] = sympy.Rational(num, rng.randint(3, 11))
    return point


def _away_from_kinks(ex: ExplicitNetwork, point: dict[Any, Any]) -> bool:
    for eq in ex.derivation.program.equations:
        if eq.kind is Kind.AFFINE:
            z = ex.env[eq.out]
            entries = z.flat if isinstance(z, np.ndarray) else z.xreplace(point)
            if any(abs(float(v.xreplace(point))) < 1e-2 for v in entries):
                return False
        if isinstance(eq.rhs, Pool) and eq.rhs.mode == "max" and eq.rhs.size > 1:
            a = ex.env[eq.rhs.input]
            k, s = int(eq.rhs.size), int(eq.rhs.stride)
            h, w = (a.shape[2] - k) // s + 1, (a.shape[3] - k) // s + 1
            for n, c, i, j in np.ndindex(a.shape[0], a.shape[1], h, w):
                win = sorted(float(v.xreplace(point)) for v in _window(a, n, c, i, j, k, s))
                if 0 < win[-1] - win[-2] < 1e-2:  # a near tie: max has a kink
                    return False
    return True


def compare(
    derivation: Derivation,
    sizes: Mapping[str, int] | None = None,
    *,
    points: int = 2,
    seed: int = 0,
    method: str = "auto",
    default: int = 2,
) -> Comparison:
    """Compare closed form and ``sympy.diff`` entry by entry; see the module docstring.

    Symbolic widths take ``sizes[name]``, else ``default``.
    """
    ex = explicit_network(derivation, sizes, default)
    oracle = oracle_gradients(ex)
    closed = closed_form_gradients(ex)
    diffs = {name: (closed[name] - oracle[name]) for name in oracle}
    rational = all(_exact_ok(v) for m in diffs.values() for v in m)
    small = sum(sympy.count_ops(v) for m in diffs.values() for v in m) <= EXACT_OPS
    # symbolic activations (an unknown f) have no values: those are always expanded
    symbolic = any(
        _is_symbolic_call(f) for m in diffs.values() for v in m for f in v.atoms(sympy.Function)
    )
    exact = method == "exact" or (method == "auto" and rational and (small or symbolic))
    mismatches: list[str] = []
    errors: dict[str, float] = {}
    if rational and not exact and method == "auto":
        # too large to expand, but free of transcendental functions: exact rational
        # arithmetic at random rational points decides it without rounding
        return _rational_points(oracle, closed, points, seed)
    if exact:
        for name, m in diffs.items():
            errors[name] = 0.0
            for idx, v in enumerate(m):
                if sympy.expand(sympy.cancel(v)) != 0:
                    mismatches.append(f"{name} entry {idx}: {v}")
                    errors[name] = float("inf")
        return Comparison("exact", errors, mismatches)
    rng = random.Random(seed)
    free: set[Any] = set()
    for m in [*oracle.values(), *closed.values()]:
        for v in m:
            free |= v.free_symbols
    for eq in ex.derivation.program.equations:  # a bias a batch norm cancels is in no gradient
        if eq.kind is Kind.AFFINE and isinstance(ex.env[eq.out], sympy.MatrixBase):
            free |= ex.env[eq.out].free_symbols
    for name in diffs:
        errors[name] = 0.0
    for _ in range(points):
        for _try in range(50):
            point = _random_point(free, rng)
            if _away_from_kinks(ex, point):
                break
        floats = {k: sympy.Float(v, 60) for k, v in point.items()}
        for name in diffs:
            for idx, (a, b) in enumerate(zip(closed[name], oracle[name])):
                va = sympy.N(a.xreplace(floats), 50)
                vb = sympy.N(b.xreplace(floats), 50)
                err = float(abs(va - vb) / max(1, abs(vb)))
                errors[name] = max(errors[name], err)
                if not err < 1e-30:
                    mismatches.append(f"{name} entry {idx}: closed {va} vs diff {vb}")
    return Comparison("rational points (50 digits)", errors, mismatches)


def _rational_points(
    oracle: dict[str, Any], closed: dict[str, Any], points: int, seed: int
) -> Comparison:
    rng = random.Random(seed)
    free: set[Any] = set()
    for m in [*oracle.values(), *closed.values()]:
        for v in m:
            free |= v.free_symbols
    errors = {name: 0.0 for name in oracle}
    mismatches: list[str] = []
    for _ in range(max(points, 2)):
        point = _random_point(free, rng)
        for name in oracle:
            for idx, (a, b) in enumerate(zip(closed[name], oracle[name])):
                if not _equal_at(a.xreplace(point), b.xreplace(point)):
                    errors[name] = float("inf")
                    mismatches.append(f"{name} entry {idx} differs at {point}")
    return Comparison("exact rational arithmetic at random rational points", errors, mismatches)


def _equal_at(a: Any, b: Any) -> bool:
    """Two numbers equal: exactly, or, where radicals keep SymPy from cancelling them (batch
    norm's √(var + ε) at rational points), to 60 digits."""
    diff = a - b
    if diff == 0:
        return True
    if diff.free_symbols:
        return False
    # maxn bounds evalf's working precision: a difference that is exactly 0 (batch norm of
    # two samples sends W_1's gradient to 0) would otherwise be refined without end
    scale = max(1, abs(sympy.N(b, 60, maxn=200)))
    return bool(abs(sympy.N(diff, 60, maxn=200)) < sympy.Float(10) ** -45 * scale)


def check(spec: Any, sizes: Mapping[str, int] | None = None, **kwargs: Any) -> Comparison:
    """Derive ``spec`` and compare with the explicit oracle."""
    d = spec if isinstance(spec, Derivation) else derive(spec)
    return compare(d, sizes, **kwargs)
