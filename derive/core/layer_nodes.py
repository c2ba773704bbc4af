"""The nodes of the layer builders SymPy lacks: activations, softmax and the scalar losses.

Each is a small SymPy node, so equations stay ordinary SymPy expressions that every
printer and the rule table can dispatch on by class. ``ROLES`` says what a node is.
"""

from __future__ import annotations

import functools
from typing import Any

import sympy
from sympy.core.symbol import Str
from sympy.core.sympify import _sympify
from sympy.matrices.expressions import MatrixExpr, OneMatrix, ZeroMatrix


@functools.lru_cache(maxsize=512)
def _scalar_derivative(fn: sympy.Lambda, order: int) -> Any:
    """The ``order``-th derivative of an activation's body (an unrolled RNN asks for
    tanh' once per step: SymPy's diff of the same Lambda, once)."""
    (x,) = fn.variables
    out = sympy.diff(fn.expr, x, order)
    # relu' = H(x) with H(0) = 0, as the exported code computes it ((Z > 0)); SymPy's default
    # H(0) = 1/2 would make relu'(A) differ from relu'(Z) where A = 0, though A > 0 ⇔ Z > 0
    return out.replace(
        lambda e: isinstance(e, sympy.Heaviside) and e.args[1:] == (sympy.S.Half,),
        lambda e: sympy.Heaviside(e.args[0], 0),
    )


class ElementwiseOf:
    """``f^{(k)}(Z)``: the k-th derivative of a scalar function applied entry by entry.

    Args are ``(name, Lambda(x, body), Z, k)``; the name is the activation's name in the
    table (or a user's symbol) so printers can write ``\\sigma'(Z_1)``. The one body of
    ``Elementwise`` (Z a matrix) and ``TensorElementwise`` (Z a feature map): printers,
    rules and evaluators registered for this class serve both.
    """

    args: tuple[Any, ...]

    def __new__(cls, name: Any, fn: sympy.Lambda, arg: Any, order: int = 0) -> Any:
        name = Str(name) if isinstance(name, str) else name
        arg = _sympify(arg)  # safe: arg is one of our SymPy expressions, never text
        return super().__new__(cls, name, fn, arg, sympy.Integer(order))  # type: ignore[call-arg]

    @property
    def name(self) -> str:
        """The activation's name in the table (or the user's symbol)."""
        return str(self.args[0])

    def _sympystr(self, printer: Any) -> str:
        """``str()`` reads ``tanh'(Z_1)``, not the constructor with its Lambda."""
        return f"{self.name}{chr(39) * int(self.args[3])}({printer._print(self.arg)})"

    @property
    def fn(self) -> sympy.Lambda:
        """The scalar function, as a SymPy Lambda of one variable."""
        return self.args[1]

    @property
    def arg(self) -> Any:
        """The argument the node applies to."""
        return self.args[2]

    @property
    def order(self) -> int:
        """Which derivative of the function (0: the function itself)."""
        return int(self.args[3])

    def scalar(self) -> sympy.Lambda:
        """The scalar function this node applies (the order-th derivative)."""
        (x,) = self.fn.variables
        return sympy.Lambda(x, _scalar_derivative(self.fn, self.order))

    def next_derivative(self) -> Any:
        """The constant ``f^{(k+1)}`` when it is one, else the node of ``f^{(k+1)}(Z)``."""
        (x,) = self.fn.variables
        d = _scalar_derivative(self.fn, self.order + 1)
        if x not in d.free_symbols and not d.has(sympy.Function):
            return d
        return type(self)(self.args[0], self.fn, self.arg, self.order + 1)

    def derivative(self) -> Any:
        """``f^{(k+1)}(Z)``, or the constant when that derivative is one (``G ⊙ c`` is
        ``c G``, so a feature map of a constant is never needed)."""
        return self.next_derivative()


class Elementwise(ElementwiseOf, MatrixExpr):  # type: ignore[misc]
    """``f^{(k)}(Z)`` on a matrix Z."""

    role = "primitive"

    @property
    def shape(self) -> tuple[Any, Any]:
        """The node's shape, from its operands."""
        return tuple(self.arg.shape)

    def derivative(self) -> MatrixExpr:
        """``f^{(k+1)}(Z)``, or ``c 1`` when that derivative is a constant c."""
        d = self.next_derivative()
        if isinstance(d, Elementwise):
            return d
        return d * OneMatrix(*self.shape) if d != 0 else ZeroMatrix(*self.shape)

    def _eval_transpose(self) -> MatrixExpr:
        return Elementwise(self.args[0], self.fn, self.arg.T, self.order)


class Softmax(MatrixExpr):  # type: ignore[misc]
    """Softmax over ``axis`` (0: each column is a sample; 1: each row is a sample)."""

    role = "primitive"

    def __new__(cls, arg: MatrixExpr, axis: int) -> Any:
        return super().__new__(cls, _sympify(arg), sympy.Integer(axis))  # safe: a SymPy expression

    @property
    def arg(self) -> MatrixExpr:
        """The argument the node applies to."""
        return self.args[0]

    @property
    def axis(self) -> int:
        """The axis the softmax normalises over (0: columns are samples, 1: rows)."""
        return int(self.args[1])

    @property
    def shape(self) -> tuple[Any, Any]:
        """The node's shape, from its operands."""
        return tuple(self.arg.shape)


#: What a node is, for the coverage test (tests/test_node_coverage.py) and for readers:
#: "primitive" appears in forward programs (a rule in rules.RULES, evaluators, printers);
#: "backward" is made by a rule and appears only in gradients (linear in its cotangent,
#: never differentiated: evaluators and printers); "leaf" is a named value; "reading" is
#: the checker's reading of a user's formula (the NumPy evaluator and the text printer).
ROLES = ("primitive", "backward", "leaf", "reading")


class ScalarOfMatrices(sympy.Expr):  # type: ignore[misc]
    """Base of scalar-valued nodes over matrices (the losses)."""

    is_commutative = True
    is_real = True


class FrobeniusSq(ScalarOfMatrices):
    """``||E||_F^2``, the sum of squared entries."""

    role = "primitive"

    @property
    def arg(self) -> MatrixExpr:
        """The argument the node applies to."""
        return self.args[0]


class ProbsVersusTargets(ScalarOfMatrices):
    """Base of the losses of probabilities A against targets Y (args ``(A, Y)``)."""

    @property
    def probs(self) -> MatrixExpr:
        """The predicted probabilities (the output activation)."""
        return self.args[0]

    @property
    def target(self) -> MatrixExpr:
        """The targets Y."""
        return self.args[1]


class CrossEntropy(ProbsVersusTargets):
    """``-sum(Y ⊙ log A)`` over all entries: the cross-entropy of probabilities A."""

    role = "primitive"


class BinaryCrossEntropy(ProbsVersusTargets):
    """``-sum(Y ⊙ log A + (1 - Y) ⊙ log(1 - A))`` over all entries."""

    role = "primitive"
