"""One interpreter of our expressions, over a value domain.

The checker evaluates formulas on NumPy arrays; the explicit oracle evaluates the same
programs on matrices of SymPy scalars (``sympy.diff`` then differentiates every entry).
The walk over the expression and the entries that only combine values (sums, products,
transposes, activations, the losses) are written once here, over a ``Domain``
(``value_domain``) that says how its values add, multiply and apply a function. Each
domain registers its own entries for the feature-map nodes: the oracle's convolution
loops stay written independently of the vectorised ops that the export and the checker
use — that independence is what makes it an oracle.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce
from typing import Any

import sympy
from sympy.matrices.expressions import (
    HadamardPower,
    HadamardProduct,
    Identity,
    MatAdd,
    MatMul,
    MatPow,
    MatrixSymbol,
    OneMatrix,
    Transpose,
    ZeroMatrix,
)

from derive.core.nodes import (
    BinaryCrossEntropy,
    CrossEntropy,
    Elementwise,
    FrobeniusSq,
    Softmax,
    TensorElementwise,
    TensorExpr,
    TensorHadamard,
    TensorSymbol,
)
from derive.core.value_domain import Domain, Entry, Env

__all__ = ["SHARED", "Domain", "Entry", "Env", "Interpreter", "Memo", "has_nodes", "shared"]


class Interpreter:
    """``evaluate(expr, env)``: look the node's class up in ``table``, else the domain's
    fallback. ``on`` registers an entry; the shared entries below serve every domain."""

    def __init__(self, domain: Domain) -> None:
        self.domain = domain
        self.table: dict[type, Entry] = {}
        for classes, entry in SHARED:
            for cls in classes:
                self.table[cls] = self._bind(entry)

    def _bind(self, entry: Callable[[Interpreter, Any, Env], Any]) -> Entry:
        return lambda e, env: entry(self, e, env)

    def on(self, *classes: type) -> Callable[[Entry], Entry]:
        """Register ``entry(expr, env)`` for node classes, in this interpreter only."""

        def register(fn: Entry) -> Entry:
            for cls in classes:
                self.table[cls] = fn
            return fn

        return register

    def evaluate(self, expr: Any, env: Env) -> Any:
        """The value of ``expr`` with every symbol looked up in ``env`` (a ``Memo`` env also
        keeps every sub-expression's value: a shared sub-expression is evaluated once)."""
        if expr in env:
            return env[expr]
        fn = self.table.get(type(expr))
        if fn is not None:
            value = fn(expr, env)
        elif isinstance(expr, SCALAR_FUNCTIONS) and has_nodes(expr):
            # log(ΣX), √(tr XᵀX), max(0, s): the arguments may hold our nodes
            value = self.domain.call(expr.func, [self.evaluate(a, env) for a in expr.args])
        else:
            value = self.domain.fallback(expr, env)
        if isinstance(env, Memo):
            env[expr] = value
        return value


class Memo(dict):  # type: ignore[type-arg]
    """An env that keeps the value of every sub-expression evaluated in it: a user's
    snippet inlined line by line shares sub-expressions, and a tree walk of it would
    take time exponential in its lines."""


#: Scalar functions of scalars the interpreter applies to evaluated arguments.
SCALAR_FUNCTIONS = (sympy.Function, sympy.Max, sympy.Min)


def has_nodes(e: Any) -> bool:
    """Whether a scalar expression holds matrix or feature-map nodes (``Σ X``, ``tr X``):
    plain scalars of symbols are the domain's fallback, as before."""
    return bool(e.has(sympy.MatrixExpr, TensorExpr))


# --------------------------------------------------------------------------- shared entries

SharedEntry = Callable[[Interpreter, Any, Env], Any]
SHARED: list[tuple[tuple[type, ...], SharedEntry]] = []


def shared(*classes: type) -> Callable[[SharedEntry], SharedEntry]:
    """Register an entry every interpreter has (written over its domain's operations)."""

    def register(fn: SharedEntry) -> SharedEntry:
        SHARED.append((classes, fn))
        return fn

    return register


@shared(MatrixSymbol, TensorSymbol)
def _symbol(it: Interpreter, e: Any, env: Env) -> Any:
    raise KeyError(f"no value for {e.name}")


@shared(OneMatrix)
def _ones(it: Interpreter, e: Any, env: Env) -> Any:
    d = it.domain
    return d.ones(d.dim(e.shape[0], env), d.dim(e.shape[1], env))


@shared(ZeroMatrix)
def _zeros(it: Interpreter, e: Any, env: Env) -> Any:
    d = it.domain
    return d.zeros(d.dim(e.shape[0], env), d.dim(e.shape[1], env))


@shared(Identity)
def _eye(it: Interpreter, e: Any, env: Env) -> Any:
    return it.domain.eye(it.domain.dim(e.shape[0], env))


@shared(MatAdd)
def _matadd(it: Interpreter, e: Any, env: Env) -> Any:
    return reduce(lambda x, y: x + y, [it.evaluate(a, env) for a in e.args])


@shared(MatMul)
def _matmul(it: Interpreter, e: Any, env: Env) -> Any:
    coeff, factors = e.as_coeff_matrices()
    out = reduce(it.domain.matmul, [it.evaluate(f, env) for f in factors])
    return it.evaluate(coeff, env) * out


@shared(MatPow)
def _matpow(it: Interpreter, e: Any, env: Env) -> Any:
    """``W²``: SymPy's form of ``W @ W`` (a user's formula may write it); a whole power."""
    n = e.exp
    if not (getattr(n, "is_Integer", False) and 1 <= int(n) <= MAX_POWER):
        return it.domain.fallback(e, env)
    base = it.evaluate(e.base, env)
    return reduce(it.domain.matmul, [base] * int(n))


#: The largest whole power of a matrix evaluated (``W @ W @ …`` a user may write).
MAX_POWER = 64


@shared(Transpose)
def _transpose(it: Interpreter, e: Any, env: Env) -> Any:
    return it.evaluate(e.arg, env).T


@shared(HadamardProduct, TensorHadamard)
def _hadamard(it: Interpreter, e: Any, env: Env) -> Any:
    return reduce(it.domain.hadamard, [it.evaluate(a, env) for a in e.args])


@shared(HadamardPower)
def _hadamard_power(it: Interpreter, e: Any, env: Env) -> Any:
    return it.domain.power(it.evaluate(e.base, env), it.evaluate(e.exp, env))


@shared(Elementwise, TensorElementwise)
def _elementwise(it: Interpreter, e: Any, env: Env) -> Any:
    return it.domain.apply(e, it.evaluate(e.arg, env), env)


@shared(Softmax)
def _softmax(it: Interpreter, e: Any, env: Env) -> Any:
    return it.domain.softmax(it.evaluate(e.arg, env), e.axis)


@shared(FrobeniusSq)
def _frob(it: Interpreter, e: Any, env: Env) -> Any:
    return it.domain.sum_squares(it.evaluate(e.arg, env))


@shared(CrossEntropy)
def _ce(it: Interpreter, e: Any, env: Env) -> Any:
    return it.domain.cross_entropy(it.evaluate(e.probs, env), it.evaluate(e.target, env))


@shared(BinaryCrossEntropy)
def _bce(it: Interpreter, e: Any, env: Env) -> Any:
    a, y = it.evaluate(e.probs, env), it.evaluate(e.target, env)
    return it.domain.binary_cross_entropy(a, y)


@shared(sympy.Add)
def _add(it: Interpreter, e: Any, env: Env) -> Any:
    return it.domain.add([it.evaluate(a, env) for a in e.args])


@shared(sympy.Mul)
def _mul(it: Interpreter, e: Any, env: Env) -> Any:
    return it.domain.mul([it.evaluate(a, env) for a in e.args])


@shared(sympy.Pow)
def _pow(it: Interpreter, e: Any, env: Env) -> Any:
    if not has_nodes(e):
        return it.domain.fallback(e, env)
    return it.evaluate(e.base, env) ** it.evaluate(e.exp, env)
