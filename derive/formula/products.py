"""Products and their readings: written (⊙, juxtaposition) and ambiguous (·, ×, *).

Shapes compose like a matrix chain, so the readings of each span of operands are built
once from the readings of its parts (dynamic programming over spans).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from derive.core.nodes import (
    is_tensor,
)
from derive.formula.algebra import (
    MAX_READINGS,
    SLIDE_COST,
    ShapeMismatch,
    _had,
    _matmul,
    _matmul_or_hadamard,
    _reading_key,
    _surely_misfit,
)
from derive.formula.feature_maps import FeatureMaps
from derive.formula.ir import IR, Amb, Chain, FormulaError
from derive.formula.ir_products import _has_fn, _one_value


class Products(FeatureMaps):
    """Every reading of a product, within the check's budget."""

    def _binary(self, left: IR, right: IR, op: Any) -> Iterator[Any]:
        errors: list[FormulaError] = []
        found = False
        for a, b in itertools.product(self.readings(left), self.readings(right)):
            self.ctx.budget.spend()
            if errors and _surely_misfit(op, a, b):
                continue
            try:
                yield op(a, b)
                found = True
            except ShapeMismatch as err:
                errors.append(err)
        if not found and errors:
            raise errors[0]

    def _ambiguous(self, node: Amb) -> Iterator[Any]:
        """``a · b · c``: every bracketing, each product a matrix or a Hadamard product.

        Shapes compose like a matrix chain, so the readings of each span of operands are
        built once from the readings of its two parts (dynamic programming over spans):
        the work grows with the cube of the operands, not with the Catalan number of
        bracketings. Each span keeps at most ``MAX_READINGS`` distinct readings.
        """
        operands: list[IR] = []
        stack: list[IR] = [node]
        while stack:  # left to right, without recursion
            n = stack.pop()
            if isinstance(n, Amb):
                stack += [n.b, n.a]
            else:
                operands.append(n)
        errors: list[FormulaError] = []
        yield from self._spans(
            operands, lambda k, left, right: self._products(left, right, errors), errors
        )

    def _spans(
        self,
        operands: list[IR],
        combine: Callable[[int, Any, Any], Iterable[Any]],
        errors: list[FormulaError],
    ) -> Iterator[Any]:
        """The readings of a chain of operands by dynamic programming over spans: the
        readings of span (i, j) are ``combine(k, left, right)`` over every split k and the
        readings of (i, k) and (k, j); each span keeps at most ``MAX_READINGS``."""
        count = len(operands)
        spans: dict[tuple[int, int], list[Any]] = {
            (i, i + 1): list(dict.fromkeys(self.readings(o))) for i, o in enumerate(operands)
        }
        for length in range(2, count + 1):
            # right to left: the first shape error named is the innermost right-hand one,
            # as when the bracketings were enumerated one by one
            for i in reversed(range(count - length + 1)):
                j = i + length
                found: dict[Any, Any] = {}
                for k in range(i + 1, j):
                    for left in spans[(i, k)]:
                        for right in spans[(k, j)]:
                            for result in combine(k, left, right):
                                if len(found) < MAX_READINGS:
                                    found.setdefault(_reading_key(result), result)
                spans[(i, j)] = list(found.values())
        if not spans[(0, count)]:
            raise errors[0] if errors else FormulaError("no reading of the product fits")
        yield from spans[(0, count)]

    def _chain(self, node: Chain) -> Iterator[Any]:
        """``X ⊙ A B``: every bracketing of the operands, each operator as written (the
        same dynamic programming over spans as ``_ambiguous``)."""
        ops, operands = node.ops, list(node.items)
        errors: list[FormulaError] = []

        def combine(k: int, left: Any, right: Any) -> Iterator[Any]:
            op = _had if ops[k - 1] == "h" else _matmul
            a, b = operands[k - 1], operands[k]
            if op is _matmul and ((_has_fn(a) and _has_fn(b)) or _one_value(a, b)):
                op = _matmul_or_hadamard  # σ(z)(1 − σ(z)), a(1 − a), as for a plain product
            self.ctx.budget.spend()
            if errors and _surely_misfit(op, left, right):
                return
            try:
                yield op(left, right)
            except ShapeMismatch as err:
                errors.append(err)

        yield from self._spans(operands, combine, errors)

    def _products(self, left: Any, right: Any, errors: list[FormulaError]) -> Iterator[Any]:
        """Every product of two readings: sliding (maps), matrix, Hadamard."""
        if is_tensor(left) and is_tensor(right):
            # CNN notes write the sliding product of maps and kernels with *
            self.ctx.budget.spend(SLIDE_COST)
            try:
                yield from list(self.slide(left, right, None))
            except ShapeMismatch as err:
                errors.append(err)
        for op in (_matmul, _had):
            if op is _had and _one_by_one(left) and _one_by_one(right):
                continue  # two numbers (1×1): ⊙ is their matrix product, one reading not two
            self.ctx.budget.spend()
            if errors and _surely_misfit(op, left, right):
                continue
            try:
                yield op(left, right)
            except ShapeMismatch as err:
                errors.append(err)


def _one_by_one(x: Any) -> bool:
    """A 1×1 matrix (a layer of one unit, one sample): a number in every reading."""
    shape = getattr(x, "shape", None)
    return shape is not None and tuple(shape) == (1, 1)
