"""Every entry of the rule table, checked against sympy.diff on explicit small matrices.

For a primitive ``y = node(x_1, …)`` and a cotangent ``G``, the VJP for ``x_i`` must equal
the gradient of ``Σ G ⊙ y`` by every entry of ``x_i`` (``g y`` for scalar nodes).
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import sympy
from sympy.matrices.expressions import MatrixSymbol, OneMatrix

from derive.core.backward import reverse_walk
from derive.core.graph import Equation
from derive.core.nodes import (
    BinaryCrossEntropy,
    Broadcast,
    ChannelBias,
    Concat,
    Correlate,
    CrossEntropy,
    Elementwise,
    Flatten,
    FrobeniusSq,
    Indicator,
    Labels,
    LogDet,
    LogSoftmax,
    Norm,
    Pick,
    Pool,
    Reduce,
    ReduceAll,
    Slice,
    Softmax,
    TensorElementwise,
    TensorExpr,
    TensorHadamard,
    TensorSymbol,
)
from derive.core.rules import FUSED, RULES, vjp
from derive.oracles.explicit import entry_matrix, entry_tensor, evaluate
from derive.spec.activations import TABLE
from derive.spec.scalar_expr import X as XVAR

A = MatrixSymbol("A", 2, 3)
B = MatrixSymbol("B", 2, 3)
C = MatrixSymbol("C", 3, 2)
D = MatrixSymbol("D", 2, 2)
bcol = MatrixSymbol("b", 2, 1)
Y = MatrixSymbol("Y", 2, 3)
# feature maps (samples, channels, height, width) and kernels (filters, channels, k, k)
T = TensorSymbol("T", 1, 2, 4, 4)
U = TensorSymbol("U", 1, 2, 4, 4)
T5 = TensorSymbol("V", 2, 1, 5, 5)
K = TensorSymbol("K", 2, 2, 2, 2)
K3 = TensorSymbol("J", 2, 1, 3, 3)
bvec = TensorSymbol("c", 2)
rrow = MatrixSymbol("r", 1, 3)
labels = Labels("y", 2, 3)
SYMBOLS = {A, B, C, D, bcol, rrow, Y, T, U, T5, K, K3, bvec, labels}
#: The class of each sample (a row of A) for the one-hot indexing case.
LABEL_VALUES = [2, 0]


def act(name: str, arg):
    kind = TABLE[name]
    return Elementwise(name, sympy.Lambda(XVAR, kind.body(kind.defaults)), arg)


CASES = {
    "MatAdd": (A + B, [A, B]),
    "MatMul": (2 * D * A * C, [D, A, C]),
    "MatMul-bias": (bcol * OneMatrix(1, 3), [bcol]),
    "Transpose": (sympy.Transpose(C), [C]),
    "HadamardProduct": (sympy.HadamardProduct(A, B), [A, B]),
    "HadamardProduct-square": (sympy.HadamardProduct(A, A), [A]),
    "Elementwise-sigmoid": (act("sigmoid", A), [A]),
    "Elementwise-gelu": (act("gelu", A), [A]),
    "Softmax-columns": (Softmax(A, 0), [A]),
    "Softmax-rows": (Softmax(A, 1), [A]),
    "Add": (FrobeniusSq(A) + FrobeniusSq(B), [A, B]),
    "Mul": (sympy.Rational(3, 2) * FrobeniusSq(A), [A]),
    "FrobeniusSq": (FrobeniusSq(A - B), [A, B]),
    "CrossEntropy": (CrossEntropy(A, Y), [A]),
    "BinaryCrossEntropy": (BinaryCrossEntropy(A, Y), [A]),
    "Correlate": (Correlate(K, T), [K, T]),
    "Correlate-stride-padding": (Correlate(K3, T5, 2, 1), [K3, T5]),
    "ChannelBias": (ChannelBias(bvec, (1, 2, 3, 3)), [bvec]),
    "TensorElementwise-tanh": (
        TensorElementwise("tanh", sympy.Lambda(XVAR, sympy.tanh(XVAR)), T),
        [T],
    ),
    "TensorHadamard": (TensorHadamard(T, U), [T, U]),
    "Pool-max": (Pool(T, "max", 2, 2), [T]),
    "Pool-max-overlapping": (Pool(T, "max", 2, 1), [T]),
    "Pool-avg": (Pool(T, "avg", 2, 2), [T]),
    "Pool-avg-stride": (Pool(T5, "avg", 3, 2), [T5]),
    "Flatten-columns": (Flatten(T, True), [T]),
    "Flatten-rows": (Flatten(T5, False), [T5]),
    # issue 14: reductions, broadcasts, entrywise, norms, determinants, indexing
    "Reduce-sum-rows": (Reduce(A, "sum", 0), [A]),
    "Reduce-mean-cols": (Reduce(A, "mean", 1), [A]),
    "Reduce-max-rows": (Reduce(A, "max", 0), [A]),
    "Reduce-max-cols": (Reduce(A, "max", 1), [A]),
    "ReduceAll-sum": (ReduceAll(A, "sum"), [A]),
    "ReduceAll-mean": (ReduceAll(A, "mean"), [A]),
    "ReduceAll-max": (ReduceAll(A, "max"), [A]),
    "Broadcast-row": (Broadcast(rrow, 2, 3), [rrow]),
    "Slice-columns": (Slice(A, 1, 3, 1), [A]),
    "Slice-rows": (Slice(C, 0, 2, 0), [C]),
    "Concat-columns": (Concat(1, A, D, bcol), [A, D, bcol]),
    "Concat-rows": (Concat(0, A, B), [A, B]),
    "Broadcast-column": (Broadcast(bcol, 2, 3), [bcol]),
    "HadamardPower": (sympy.HadamardPower(A, 3), [A]),
    "HadamardPower-reciprocal": (sympy.HadamardPower(A, -1), [A]),
    "Indicator": (Indicator(A, ">", B), []),
    "LogSoftmax-columns": (LogSoftmax(A, 0), [A]),
    "LogSoftmax-rows": (LogSoftmax(A, 1), [A]),
    "Norm": (Norm(A - B), [A, B]),
    "Trace": (sympy.Trace(C * A), [C, A]),
    "Inverse": (sympy.Inverse(D), [D]),
    "LogDet": (LogDet(D * D.T), [D]),
    "Determinant": (sympy.Determinant(D), [D]),
    "Pick": (Pick(A, labels), [A]),
    "Pow": (FrobeniusSq(A) ** sympy.Rational(3, 2) / ReduceAll(B), [A, B]),
    "Function": (sympy.log(FrobeniusSq(A)) * sympy.exp(ReduceAll(B, "mean")), [A, B]),
    "Max": (sympy.Max(FrobeniusSq(A), 2 * FrobeniusSq(B)), [A, B]),
    "Min": (sympy.Min(FrobeniusSq(A), 2 * FrobeniusSq(B)), [A, B]),
}


def _covers(case: str) -> str:
    return case.split("-")[0]


def test_every_rule_has_a_case() -> None:
    assert {cls.__name__ for cls in RULES} == {_covers(c) for c in CASES}


def _point(symbols, rng):
    # probabilities in (0, 1) so log A and log(1 - A) are defined; distinct values so
    # max pooling has no ties
    return {s: sympy.Float(rng.uniform(0.05, 0.95), 40) for s in symbols}


def _entries(sym):
    if isinstance(sym, Labels):
        return np.array(LABEL_VALUES)
    if isinstance(sym, TensorSymbol):
        return entry_tensor(sym, tuple(int(d) for d in sym.shape))
    return entry_matrix(sym, *sym.shape)


def _flat(value):
    return list(value.flat) if isinstance(value, np.ndarray) else list(value)


@pytest.mark.parametrize("case", sorted(CASES))
def test_rule_matches_sympy_diff(case: str) -> None:
    node, inputs = CASES[case]
    env = {s: _entries(s) for s in SYMBOLS}
    value = evaluate(node, env)
    if node.is_Matrix or isinstance(node, TensorExpr):
        G = (MatrixSymbol if node.is_Matrix else TensorSymbol)("G", *node.shape)
        env[G] = _entries(G)
        scalar = sum(g * v for g, v in zip(_flat(env[G]), _flat(value)))
    else:
        G = sympy.Symbol("g")
        scalar = G * value
    # the node's own rule first, then the walk through any sub-expressions it returns (an
    # indicator has none: its derivative is zero)
    assert vjp(node, G, None) or not inputs
    out = sympy.Symbol("out") if not hasattr(node, "shape") else G.func("out", *node.shape)
    env[out] = value  # rules may reuse the node's value by name (softmax does)
    contributions = reverse_walk([Equation(out, node, "test")], {out: G}, inputs)
    assert set(contributions) == set(inputs)
    rng = random.Random(case)
    for x in inputs:
        got = sum(
            (evaluate(c, env) for c in contributions[x][1:]), evaluate(contributions[x][0], env)
        )
        got = _flat(got)
        want = [sympy.diff(scalar, e) for e in _flat(env[x])]
        assert len(got) == len(want)
        free = set().union(*(v.free_symbols for v in [*got, *want]))
        point = _point(free, rng)
        for g_entry, w_entry in zip(got, want):
            assert abs(sympy.N(g_entry.xreplace(point) - w_entry.xreplace(point), 30)) < 1e-25


@pytest.mark.parametrize("axis", [0, 1])
def test_fused_softmax_cross_entropy_equals_the_composition(axis: int) -> None:
    Z = MatrixSymbol("Z", 2, 3)
    env = {Z: entry_matrix(Z, 2, 3)}
    y = sympy.Matrix(entry_matrix(Y, 2, 3))
    if axis == 0:  # each sample (column) of Y sums to 1
        for j in range(3):
            y[1, j] = 1 - y[0, j]
    else:  # each row sums to 1
        for i in range(2):
            y[i, 2] = 1 - y[i, 0] - y[i, 1]
    env[Y] = sympy.ImmutableMatrix(y)
    probs = Softmax(Z, axis)
    env[A] = evaluate(probs, env)
    g = sympy.Symbol("g")
    loss = g * evaluate(CrossEntropy(A, Y), env)
    fused = evaluate(FUSED[(CrossEntropy, "softmax")](CrossEntropy(A, Y), g, Z), env)
    want = env[Z].applyfunc(lambda e: sympy.diff(loss, e))
    point = _point(set().union(*(v.free_symbols for v in [*fused, *want])), random.Random(axis))
    for f_entry, w_entry in zip(fused, want):
        assert abs(sympy.N(f_entry.xreplace(point) - w_entry.xreplace(point), 30)) < 1e-25


def test_fused_sigmoid_binary_cross_entropy_equals_the_composition() -> None:
    Z = MatrixSymbol("Z", 2, 3)
    env = {Z: entry_matrix(Z, 2, 3), Y: entry_matrix(Y, 2, 3)}
    env[A] = evaluate(act("sigmoid", Z), env)
    g = sympy.Symbol("g")
    loss = g * evaluate(BinaryCrossEntropy(A, Y), env)
    fused = evaluate(FUSED[(BinaryCrossEntropy, "sigmoid")](BinaryCrossEntropy(A, Y), g, Z), env)
    want = env[Z].applyfunc(lambda e: sympy.diff(loss, e))
    for f_entry, w_entry in zip(fused, want):
        assert sympy.simplify(f_entry - w_entry) == 0
