"""The rule table: one vector-Jacobian product per primitive, in matrix form.

Read it as a table of matrix-calculus identities. For a node ``y = node(x_1, …)`` and the
cotangent ``G = ∂L/∂y``, a rule returns ``(x_i, ∂L/∂x_i)`` for each input. ``ans`` is the
name of the node's value when the node is a whole equation (``A_l`` for ``softmax(Z_l)``),
so a rule can reuse it instead of recomputing the node.

Fused rules (softmax + cross-entropy, sigmoid + binary cross-entropy) are entries of the
same table, keyed by the pair (loss, producer): they map the loss cotangent straight to the
producer's input where the composition simplifies.

The table and ``defvjp`` are in ``rule_table``; the rules of the issue-14 primitives are in
``rules_program`` and those of feature maps in ``rules_conv`` (imported here, so ``RULES``
holds every rule); this module holds the linear algebra, activations, scalars and losses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import sympy
from sympy.matrices.expressions import (
    HadamardPower,
    HadamardProduct,
    Identity,
    MatAdd,
    MatMul,
    MatrixExpr,
    MatrixSymbol,
    OneMatrix,
    Transpose,
)

from derive.core import rules_conv, rules_program  # noqa: F401 - register their rules
from derive.core.nodes import (
    BinaryCrossEntropy,
    CrossEntropy,
    Elementwise,
    ElementwiseOf,
    FrobeniusSq,
    Labels,
    OneHot,
    ReduceAll,
    ScalarOfMatrices,
    Softmax,
    TensorElementwise,
    TensorExpr,
    TensorHadamard,
    TensorSymbol,
    hadamard,
    is_tensor,
    scale,
    tensor_scale,
)
from derive.core.rule_table import FUSED, RULES, Contribution, MissingRule, Rule, _mm, defvjp

__all__ = [
    "CONSTANTS",
    "FUSED",
    "LEAVES",
    "RULES",
    "Contribution",
    "MissingRule",
    "Rule",
    "defvjp",
    "producer_key",
    "vjp",
]


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
