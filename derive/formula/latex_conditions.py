"""The conditions of ``latex.lark``: ReLU's ``\\max(0, z)``, masks, indicators, cases.

``z > 0`` is ReLU's mask; another comparison with a number is a 0/1 mask; a cases
environment is one value where its condition holds and another where the opposite one
does. A mixin of ``LatexToIR``.
"""

from __future__ import annotations

from typing import Any

from lark import Token, v_args

from derive.formula.ir import IR, Cmp, Fn, FormulaError, Gt0, Neg, Num, Where
from derive.formula.numbers import _CommonIR


def _comparison(a: IR, op: str, b: IR) -> IR:
    """``z > 0``: ReLU's mask; ``z ≥ c``, ``z ≤ c``, …: a 0/1 mask (``a ≥ 0`` holds where a
    ReLU output is 0, so it is no ReLU mask: ``python_calls.comparison``)."""
    if isinstance(b, Num):
        c = b.value
    elif isinstance(b, Neg) and isinstance(b.a, Num):
        c = -b.a.value
    else:
        raise FormulaError(f"the right side of {op} must be a number")
    if op == ">" and c == 0:
        return Gt0(a)
    return Cmp(a, op, c)


def _opposite(cond: Any) -> IR:
    if isinstance(cond, Gt0):
        return Cmp(cond.a, "<=", 0)
    flip = {">": "<=", ">=": "<", "<": ">=", "<=": ">"}[cond.op]
    return _comparison(cond.a, flip, Num(cond.c))


@v_args(inline=True)
class Conditions(_CommonIR):
    """The grammar's rules for comparisons, indicators and cases (a mixin of ``LatexToIR``)."""

    def max2(self, _tok: Token, a: IR, b: IR) -> IR:
        """``\\max(0, z)``: ReLU."""
        if a == Num(0) or b == Num(0):
            return Fn("relu", 0, b if a == Num(0) else a)
        raise FormulaError("\\max(x, y) is read as ReLU, \\max(0, z); here neither side is 0")

    def cmp(self, a: IR, op: Token, b: IR) -> IR:
        """A comparison (``z > 0``): an indicator."""
        word = {"\\gt": ">", "\\lt": "<", "\\geq": ">=", "\\ge": ">=", "\\geqslant": ">="}
        word |= {"\\leq": "<=", "\\le": "<=", "\\leqslant": "<="}
        return _comparison(a, word.get(str(op), str(op)), b)

    def cmpgroup(self, node: IR) -> IR:
        """A bracketed comparison."""
        return node

    def indicator(self, _tok: Token, node: IR) -> IR:
        r"""``\mathbb{1}[…]``, ``\mathbb{1}(…)`` and Iverson brackets."""
        return node

    def cases(self, _tok: Token, p: IR, cond: Gt0 | Cmp, q: IR, other: Any = None) -> IR:
        """``\\begin{cases} p & z > 0 \\\\ q & \\text{otherwise}\\end{cases}``: p where the
        condition holds, else q; a second condition, if written, must be the first's opposite."""
        if isinstance(other, Token):  # \\text{otherwise}
            other = None
        if other is not None and other != _opposite(cond):
            raise FormulaError(
                "the conditions of a cases environment must be opposite (z > 0 and z ≤ 0)"
            )
        return Where(cond, p, q)
