"""The rule table: one vector-Jacobian product per primitive, in matrix form.

Read it as a table of matrix-calculus identities. For a node ``y = node(x_1, …)`` and the
cotangent ``G = ∂L/∂y``, a rule returns ``(x_i, ∂L/∂x_i)`` for each input. ``ans`` is the
name of the node's value when the node is a whole equation (``A_l`` for ``softmax(Z_l)``),
so a rule can reuse it instead of recomputing the node.

Fused rules (softmax + cross-entropy, sigmoid + binary cross-entropy) are entries of the
same table, keyed by the pair (loss, producer): they map the loss cotangent straight to the
producer's input where the composition simplifies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import sympy
from sympy.matrices.expressions import (
    Determinant,
    HadamardPower,
    HadamardProduct,
    Identity,
    Inverse,
    MatAdd,
    MatMul,
    MatrixExpr,
    MatrixSymbol,
    OneMatrix,
    Trace,
    Transpose,
)

from derive.core.nodes import (
    ArgMaxAllMask,
    ArgMaxMask,
    BinaryCrossEntropy,
    Broadcast,
    ChannelBias,
    ChannelSum,
    Concat,
    ConvBackInput,
    ConvBackKernel,
    Correlate,
    CrossEntropy,
    Elementwise,
    ElementwiseOf,
    Flatten,
    FrobeniusSq,
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
    ScalarOfMatrices,
    Slice,
    Softmax,
    TensorElementwise,
    TensorExpr,
    TensorHadamard,
    TensorSymbol,
    Unflatten,
    Unpool,
    add,
    hadamard,
    is_tensor,
    linear,
    pad,
    scale,
    split_coeff,
    tensor_scale,
)

Contribution = tuple[Any, Any]
Rule = Callable[[Any, Any, Any], Iterable[Contribution]]


class MissingRule(NotImplementedError):
    """The reverse walk met a primitive with no entry in the rule table."""


RULES: dict[type, Rule] = {}
#: (loss node class, producer key) -> rule(loss node, g, producer input) -> cotangent.
FUSED: dict[tuple[type, str], Callable[[Any, Any, Any], Any]] = {}


def defvjp(*classes: type) -> Callable[[Rule], Rule]:
    """Register ``rule(node, g, ans)`` for each primitive class."""

    def register(rule: Rule) -> Rule:
        for cls in classes:
            RULES[cls] = rule
        return rule

    return register


def _mm(*factors: Any) -> MatrixExpr:
    """A matrix product, canonicalised (transposes of transposes cancel, scalars merge)."""
    return MatMul(*factors).doit(deep=False)


# --------------------------------------------------------------------------- linear algebra


@defvjp(MatAdd)
def _matadd(node: MatAdd, g: MatrixExpr, ans: Any) -> Iterable[Contribution]:
    # Z = X + Y:  X_bar = G,  Y_bar = G
    return [(arg, g) for arg in node.args]


@defvjp(MatMul)
def _matmul(node: MatMul, g: MatrixExpr, ans: Any) -> Iterable[Contribution]:
    # Z = c X_1 … X_k:  X_i_bar = c (X_1…X_{i-1})^T G (X_{i+1}…X_k)^T
    # A bias broadcast b 1^T is this rule with a constant ones factor: b_bar = G 1.
    # A scalar coefficient that is itself a value (s X with s = sum(x) in a program):
    # c_bar = Σ_ij (G ⊙ X_1…X_k)_ij, passed on into c by the scalar rule.
    coeff, factors = node.as_coeff_matrices()
    out: list[Contribution] = []
    for i, factor in enumerate(factors):
        left = [f.T for f in reversed(factors[:i])]
        right = [f.T for f in reversed(factors[i + 1 :])]
        out.append((factor, _mm(coeff, *left, g, *right)))
    if coeff.free_symbols and not is_tensor(g):
        rest = factors[0] if len(factors) == 1 else MatMul(*factors).doit(deep=False)
        out.append((coeff, ReduceAll(hadamard(g, rest), "sum")))
    return out


@defvjp(Transpose)
def _transpose(node: Transpose, g: MatrixExpr, ans: Any) -> Iterable[Contribution]:
    # Z = X^T:  X_bar = G^T
    return [(node.arg, g.T)]


@defvjp(HadamardProduct, TensorHadamard)
def _hadamard(node: Any, g: Any, ans: Any) -> Iterable[Contribution]:
    # Z = X ⊙ Y:  X_bar = G ⊙ Y,  Y_bar = G ⊙ X   (matrices or feature maps)
    args = node.args
    return [(a, hadamard(g, *(args[:i] + args[i + 1 :]))) for i, a in enumerate(args)]


# --------------------------------------------------------------------------- activations


#: f' written through f itself or its argument, for the functions of forward programs
#: (no activation has these names): √'(u) = 1/(2√u), log'(u) = 1/u, exp'(u) = exp(u).
_CLOSED_DERIVATIVES: dict[str, Callable[[Any, Any], Any]] = {
    "sqrt": lambda value, arg: scale(HadamardPower(value, -1), sympy.Rational(1, 2)),
    "log": lambda value, arg: HadamardPower(arg, -1),
    "exp": lambda value, arg: value,
}


@defvjp(Elementwise, TensorElementwise)
def _elementwise(node: Any, g: Any, ans: Any) -> Iterable[Contribution]:
    # A = f(Z):  Z_bar = G ⊙ f'(Z)   (a matrix or a feature map Z)
    closed = _CLOSED_DERIVATIVES.get(node.name) if isinstance(node, Elementwise) else None
    if closed is not None and node.order == 0:
        value = ans if ans is not None else node
        return [(node.arg, hadamard(g, closed(value, node.arg)))]
    return [(node.arg, hadamard(g, node.derivative()))]


@defvjp(Softmax)
def _softmax(node: Softmax, g: MatrixExpr, ans: Any) -> Iterable[Contribution]:
    # A = softmax(Z) per sample:  Z_bar = A ⊙ (G - 1 1^T (A ⊙ G))   (columns are samples)
    #                             Z_bar = A ⊙ (G - (A ⊙ G) 1 1^T)   (rows are samples)
    a = ans if ans is not None else node
    rows, cols = node.shape
    ag = hadamard(a, g)
    summed = _mm(OneMatrix(rows, rows), ag) if node.axis == 0 else _mm(ag, OneMatrix(cols, cols))
    return [(node.arg, hadamard(a, g - summed))]


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


# --------------------------------------------------------------------------- feature maps


@defvjp(Correlate)
def _correlate(node: Correlate, g: Any, ans: Any) -> Iterable[Contribution]:
    # Z = K ⋆ A (stride s, padding p):  A_bar = (G * rot180(K))_full,  K_bar = A ⋆ G
    k, a, s, p = node.args
    return [
        (a, linear(ConvBackInput, g, k, s, p, a)),
        (k, linear(partial(_kernel_grad, a), g, s, p, k.shape[2])),
    ]


def _kernel_grad(a: Any, g: Any, s: Any, p: Any, k: Any) -> ConvBackKernel:
    node: ConvBackKernel = ConvBackKernel(a, g, s, p, k)
    return node


@defvjp(ChannelBias)
def _channel_bias(node: ChannelBias, g: Any, ans: Any) -> Iterable[Contribution]:
    # Z = … + b (per channel):  b_bar = Σ_{n,i,j} G
    return [(node.bias, linear(ChannelSum, g))]


@defvjp(Pool)
def _pool(node: Pool, g: Any, ans: Any) -> Iterable[Contribution]:
    # A = pool(X):  X_bar = unpool(G): max routes G to each window's arg-max, avg spreads
    # G / k² over the window
    return [(node.input, linear(Unpool, g, node.input, node.mode, node.size, node.stride))]


@defvjp(Flatten)
def _flatten(node: Flatten, g: Any, ans: Any) -> Iterable[Contribution]:
    # A = flatten(X):  X_bar = unflatten(G)
    return [(node.input, linear(Unflatten, g, node.input, node.column))]


# --------------------------------------------------------------------------- scalars and losses


def _scalar_atoms(f: Any) -> list[Any]:
    """The scalar nodes of ``f`` in order of appearance: the maximal subexpressions that are
    not elementary arithmetic (a loss node, a trace, a scalar symbol such as a named
    intermediate, a hyperparameter or a width)."""
    out: list[Any] = []

    def visit(e: Any) -> None:
        if e.is_number:
            return
        if isinstance(e, _ELEMENTARY) and not isinstance(e, (ScalarOfMatrices, MatrixExpr)):
            for a in e.args:
                visit(a)
            return
        if e not in out:
            out.append(e)

    visit(f)
    return out


#: Scalar arithmetic the general scalar rule differentiates through (with sympy.diff).
_ELEMENTARY = (sympy.Add, sympy.Mul, sympy.Pow, sympy.Function, sympy.Max, sympy.Min)


def _linear_terms(node: Any, g: Any) -> Iterable[Contribution]:
    """Sums and scalar multiples of feature maps: each term (or the one varying factor)."""
    if isinstance(node, sympy.Add):
        return [(t, g) for t in node.args]
    consts = [f for f in node.args if not f.has(MatrixExpr, TensorExpr)]
    varying = [f for f in node.args if f.has(MatrixExpr, TensorExpr)]
    if len(varying) != 1:
        raise MissingRule(f"no derivative rule for a product of {len(varying)} tensors: {node}")
    return [(varying[0], sympy.Mul(*consts) * g)]


@defvjp(sympy.Add, sympy.Mul, sympy.Pow, sympy.Function, sympy.Max, sympy.Min)
def _scalar(node: Any, g: Any, ans: Any) -> Iterable[Contribution]:
    # L = f(u_1, …, u_k) for scalar nodes u_i (losses, norms, traces, named scalars):
    #   u_i_bar = g ∂f/∂u_i   (dummies for the u_i, sympy.diff, the u_i put back)
    if is_tensor(node):
        return _linear_terms(node, g)
    if isinstance(node, sympy.Add):
        # a sum passes g to each term as it is (no sympy.diff over every atom of a long
        # sum: a loss summed over T time steps would cost T² derivatives)
        return [(t, g) for t in node.args if not t.is_number]
    atoms = _scalar_atoms(node)
    dummies = {u: sympy.Dummy(f"u{i}", real=True) for i, u in enumerate(atoms)}
    back = {d: u for u, d in dummies.items()}
    body = node.xreplace(dummies)
    out = []
    for u, d in dummies.items():
        partial_ = sympy.diff(body, d)
        if partial_ == 0:
            continue
        out.append((u, partial_.xreplace(back) * g))
    return out


@defvjp(FrobeniusSq)
def _frobenius(node: FrobeniusSq, g: Any, ans: Any) -> Iterable[Contribution]:
    # L = ||E||_F^2:  E_bar = 2 g E
    if isinstance(node.arg, TensorExpr):
        return [(node.arg, tensor_scale(node.arg, 2 * g))]
    return [(node.arg, _mm(2 * g, node.arg))]


@defvjp(CrossEntropy)
def _cross_entropy(node: CrossEntropy, g: Any, ans: Any) -> Iterable[Contribution]:
    # L = -Σ Y ⊙ log A:  A_bar = -g Y ⊘ A
    return [(node.probs, _mm(-g, hadamard(node.target, HadamardPower(node.probs, -1))))]


@defvjp(BinaryCrossEntropy)
def _binary_cross_entropy(node: BinaryCrossEntropy, g: Any, ans: Any) -> Iterable[Contribution]:
    # L = -Σ Y ⊙ log A + (1-Y) ⊙ log(1-A):  A_bar = g (A - Y) ⊘ (A ⊙ (1 - A))
    a, y = node.probs, node.target
    denom = HadamardPower(hadamard(a, OneMatrix(*a.shape) - a), -1)
    return [(a, _mm(g, hadamard(a - y, denom)))]


def _fused_output_minus_target(node: Any, g: Any, z: MatrixExpr) -> MatrixExpr:
    # A = softmax(Z), L = -Σ Y ⊙ log A:  Z_bar = g (A - Y)   (each sample's y sums to 1)
    # A = σ(Z),       L = BCE(A, Y):     Z_bar = g (A - Y)
    return _mm(g, node.probs - node.target)


FUSED[(CrossEntropy, "softmax")] = _fused_output_minus_target
FUSED[(BinaryCrossEntropy, "sigmoid")] = _fused_output_minus_target

#: Leaves and constants: no inputs to pass a cotangent to.
CONSTANTS = (OneMatrix, Identity, OneHot, sympy.Number)
#: Named values: parameters, inputs and the outputs of equations (scalar ones are Symbols;
#: integer labels never get a cotangent).
LEAVES = (MatrixSymbol, TensorSymbol, sympy.Symbol, Labels)


def producer_key(rhs: Any) -> str | None:
    """The key a producer has in FUSED: ``softmax`` or an elementwise activation's name."""
    if isinstance(rhs, Softmax):
        return "softmax"
    if isinstance(rhs, ElementwiseOf) and rhs.order == 0:
        return rhs.name
    return None


def vjp(node: Any, g: Any, ans: Any = None) -> Iterable[Contribution]:
    """Look the node's rule up in the table; a missing rule fails loudly, naming it."""
    rule = RULES.get(type(node))
    if rule is None:
        for cls, r in RULES.items():
            if isinstance(node, cls):
                rule = r
                break
    if rule is None:
        raise MissingRule(
            f"no derivative rule for primitive {type(node).__name__} (in {node}); "
            "add one to derive/rules.py"
        )
    return rule(node, g, ans)
