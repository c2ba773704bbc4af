"""The reverse walk: visit the equations backwards and add up cotangents.

This is autodidax's ``backward_pass`` over our forward program: each equation's
accumulated cotangent is pushed through its right-hand side with the rule table. The
caller's ``name`` hook sees every equation's total cotangent first and may bind it to a
name (``delta_l`` for ``Z_l``): upstream rules then receive the short name, not the
expression, which is why the result of the walk *is* the delta recurrence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import sympy

from derive.core.graph import Equation
from derive.core.nodes import add
from derive.core.rules import CONSTANTS, FUSED, LEAVES, producer_key, vjp

NameHook = Callable[[Equation, Any], Any]


def _total(terms: list[Any]) -> Any:
    if isinstance(terms[0], sympy.Basic) and not terms[0].is_Matrix:
        return sympy.Add(*terms)
    return add(terms)


def reverse_walk(
    equations: list[Equation],
    seeds: dict[Any, Any],
    active: Iterable[Any],
    name: NameHook | None = None,
) -> dict[Any, list[Any]]:
    """Cotangents of the leaves in ``active`` (the parameters), as lists of contributions.

    ``seeds`` gives the starting cotangents (``{L: 1}``; for the generic layer also
    ``{Z_{l+1}: delta_{l+1}}``). Only symbols in ``active`` collect cotangents.
    """
    active = set(active)
    defs = {eq.out: eq for eq in equations}
    uses: dict[Any, int] = defaultdict(int)
    for eq in equations:
        for sym in eq.rhs.atoms(*LEAVES):
            uses[sym] += 1
    acc: dict[Any, list[Any]] = defaultdict(list)
    for sym, g in seeds.items():
        acc[sym].append(g)

    def push(node: Any, g: Any, ans: Any) -> None:
        if node in active:
            acc[node].append(g)
            return
        if isinstance(node, (*LEAVES, *CONSTANTS)) or not (
            node.free_symbols & active if hasattr(node, "free_symbols") else True
        ):
            return
        fused = _fused(node, g)
        if fused is not None:
            push(*fused, None)
            return
        for child, cot in vjp(node, g, ans):
            push(child, cot, None)

    def _fused(node: Any, g: Any) -> tuple[Any, Any] | None:
        probs = getattr(node, "probs", None)
        if probs is None or probs not in defs or uses[probs] != 1:
            return None
        producer = defs[probs].rhs
        rule = FUSED.get((type(node), producer_key(producer) or ""))
        if rule is None:
            return None
        return producer.arg, rule(node, g, producer.arg)

    for eq in reversed(equations):
        terms = acc.pop(eq.out, None)
        if not terms:
            continue
        g = _total(terms)
        if name is not None:
            g = name(eq, g)
        push(eq.rhs, g, eq.out)
    return {k: v for k, v in acc.items() if k not in defs}
