"""The rule table itself: ``RULES``, ``FUSED`` and ``defvjp``, which fills them.

A rule maps a node, the cotangent ``G`` of its value and ``ans`` (the name of its value)
to ``(input, cotangent)`` contributions. ``rules`` and the modules beside it
(``rules_program``, ``rules_conv``) register their rules here; ``rules.vjp`` looks them up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sympy.matrices.expressions import MatMul, MatrixExpr

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
