"""The values a program's module computes once: repeated subexpressions, by structure.

``_Keys`` gives every subexpression a key under which ``A ⊙ B`` and ``B ⊙ A`` are one
value; ``_repeated`` finds the subexpressions met more than once across a function's
statements, so the module names each once (``_cheap`` ones, names and numbers, never).
"""

from __future__ import annotations

from typing import Any

import sympy
from sympy.matrices.expressions import OneMatrix

from derive.core.nodes import Broadcast, Elementwise, Labels, ScalarOfMatrices

#: Nodes that commute: their operands' order does not change the value.
_COMMUTATIVE = (sympy.MatAdd, sympy.HadamardProduct, sympy.Add, sympy.Mul)


class _Keys:
    """A key per subexpression under which ``A ⊙ B`` and ``B ⊙ A`` are one value."""

    def __init__(self) -> None:
        self.memo: dict[Any, Any] = {}
        self.ids: dict[tuple[Any, ...], tuple[str, int]] = {}

    def __call__(self, e: Any) -> Any:
        got = self.memo.get(e)
        if got is None:
            if not e.args or isinstance(e, (sympy.MatrixSymbol, sympy.Symbol)):
                got = e
            else:
                kids = [self(a) if isinstance(a, sympy.Basic) else a for a in e.args]
                if isinstance(e, _COMMUTATIVE) and not isinstance(e, sympy.MatMul):
                    kids = sorted(kids, key=hash)  # an identity, not an output: any order
                # a small tag per distinct structure: hashing a key costs nothing then
                # (a tuple, never equal to a leaf: the int 4 would equal Integer(4))
                got = self.ids.setdefault((type(e).__name__, *kids), ("#", len(self.ids)))
            self.memo[e] = got
        return got


def _cheap(e: Any) -> bool:
    """Values that cost nothing to write again (a name, a number, a transposed name)."""
    if isinstance(e, sympy.Transpose):
        e = e.arg
    return (
        not e.args
        or isinstance(
            e,
            (sympy.MatrixSymbol, sympy.Symbol, Labels, OneMatrix, sympy.Identity, sympy.ZeroMatrix),
        )
        or e.is_number
    )


def _size(e: Any) -> int:
    return sum(1 for _ in sympy.preorder_traversal(e))


def _repeated(exprs: list[Any], keys: _Keys) -> dict[Any, Any]:
    """Subexpressions met more than once across ``exprs`` (each counted once per distinct
    place: the parts of a repeated value are not counted again), by key."""
    seen: dict[Any, int] = {}
    first: dict[Any, Any] = {}

    def walk(e: Any) -> None:
        if not isinstance(e, sympy.Basic) or _cheap(e):
            return
        if isinstance(e, Broadcast):  # printed as its operand: the operand is the value
            walk(e.arg)
            return
        if isinstance(e, sympy.Lambda):
            return
        if not isinstance(e, (sympy.MatrixExpr, ScalarOfMatrices)):
            for a in e.args:  # a number times a matrix value, …: not an array itself
                walk(a)
            return
        k = keys(e)
        if k in seen:
            seen[k] += 1
            return
        seen[k] = 1
        first[k] = e
        for a in [e.arg] if isinstance(e, Elementwise) else e.args:
            walk(a)

    for e in exprs:
        walk(e)
    return {k: first[k] for k, n in seen.items() if n > 1}
