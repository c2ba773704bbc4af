"""What a kind of value must provide to the one interpreter (``interpret``): a ``Domain``
says how its values add, multiply, transpose and apply a function; ``Env`` maps symbols
to values."""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce
from typing import Any

import sympy

from derive.core.nodes import ElementwiseOf

Env = dict[Any, Any]
Entry = Callable[[Any, Env], Any]


class Domain:
    """The operations of one kind of value (NumPy arrays, or SymPy scalars).

    Every method is what the interpreter's shared entries need; a domain overrides those
    whose spelling differs from the Python operators (``@``, ``*``, ``+``).
    """

    name = "values"

    def fallback(self, expr: Any, env: Env) -> Any:
        """The value of an expression no entry knows (a scalar of plain symbols)."""
        raise NotImplementedError(f"{self.name} evaluation of {type(expr).__name__} is not defined")

    def dim(self, d: Any, env: Env) -> int:
        """A size as an int (a number, or a width symbol bound in ``env``)."""
        if isinstance(d, (int, sympy.Integer)):
            return int(d)
        if d in env:
            return int(env[d])
        # a size expression (4 H, the stop of a slice 2 H): its symbols bound in env
        return int(d.xreplace({s: sympy.Integer(int(env[s])) for s in d.free_symbols}))

    def ones(self, rows: int, cols: int) -> Any:
        """The all-ones matrix."""
        raise NotImplementedError

    def zeros(self, rows: int, cols: int) -> Any:
        """The zero matrix."""
        raise NotImplementedError

    def eye(self, n: int) -> Any:
        """The identity matrix."""
        raise NotImplementedError

    def matmul(self, a: Any, b: Any) -> Any:
        """The matrix product."""
        return a @ b

    def hadamard(self, a: Any, b: Any) -> Any:
        """The entrywise product."""
        return a * b

    def power(self, a: Any, p: Any) -> Any:
        """Every entry to the power ``p``."""
        return a**p

    def apply(self, node: ElementwiseOf, value: Any, env: Env) -> Any:
        """``f^{(k)}`` of ``node`` applied to every entry of ``value``."""
        raise NotImplementedError

    def softmax(self, z: Any, axis: int) -> Any:
        """The softmax of ``z`` along ``axis``."""
        raise NotImplementedError

    def sum_squares(self, v: Any) -> Any:
        """``Σ v²`` over every entry."""
        raise NotImplementedError

    def cross_entropy(self, a: Any, y: Any) -> Any:
        """``-Σ y log a``."""
        raise NotImplementedError

    def binary_cross_entropy(self, a: Any, y: Any) -> Any:
        """``-Σ y log a + (1 - y) log(1 - a)``."""
        raise NotImplementedError

    def call(self, func: Any, values: list[Any]) -> Any:
        """A scalar function (``log``, ``exp``, ``sqrt`` …, SymPy's class) of scalar values."""
        return func(*values)

    def add(self, values: list[Any]) -> Any:
        """The sum of scalars or tensors."""
        return reduce(lambda x, y: x + y, values)

    def mul(self, values: list[Any]) -> Any:
        """The product of scalars, or a scalar and one tensor."""
        return reduce(lambda x, y: x * y, values)
