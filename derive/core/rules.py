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
    HadamardPower,
    HadamardProduct,
    MatAdd,
    MatMul,
    MatrixExpr,
    MatrixSymbol,
    OneMatrix,
    Transpose,
)

from derive.core.nodes import (
    BinaryCrossEntropy,
    ChannelBias,
    ChannelSum,
    ConvBackInput,
    ConvBackKernel,
    Correlate,
    CrossEntropy,
    Elementwise,
    ElementwiseOf,
    Flatten,
    FrobeniusSq,
    Pool,
    Softmax,
    TensorElementwise,
    TensorExpr,
    TensorHadamard,
    TensorSymbol,
    Unflatten,
    Unpool,
    hadamard,
    linear,
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
    coeff, factors = node.as_coeff_matrices()
    out = []
    for i, factor in enumerate(factors):
        left = [f.T for f in reversed(factors[:i])]
        right = [f.T for f in reversed(factors[i + 1 :])]
        out.append((factor, _mm(coeff, *left, g, *right)))
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


@defvjp(Elementwise, TensorElementwise)
def _elementwise(node: Any, g: Any, ans: Any) -> Iterable[Contribution]:
    # A = f(Z):  Z_bar = G ⊙ f'(Z)   (a matrix or a feature map Z)
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


@defvjp(sympy.Add)
def _add(node: sympy.Add, g: Any, ans: Any) -> Iterable[Contribution]:
    # L = C + R:  C_bar = g,  R_bar = g
    return [(t, g) for t in node.args]


@defvjp(sympy.Mul)
def _mul(node: sympy.Mul, g: Any, ans: Any) -> Iterable[Contribution]:
    # L = c C with c free of matrices:  C_bar = c g
    consts = [f for f in node.args if not f.has(MatrixExpr, TensorExpr)]
    varying = [f for f in node.args if f.has(MatrixExpr, TensorExpr)]
    if len(varying) != 1:
        raise MissingRule(
            f"no derivative rule for a product of {len(varying)} matrix scalars: {node}"
        )
    return [(varying[0], sympy.Mul(*consts) * g)]


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
CONSTANTS = (OneMatrix, sympy.Number)
#: Named values: parameters, inputs and the outputs of equations.
LEAVES = (MatrixSymbol, TensorSymbol)


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
