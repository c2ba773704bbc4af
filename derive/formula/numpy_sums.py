"""``np.sum(x)`` without axis where ``x`` itself belongs: named as that mistake.

``lambd * np.sum(W1) / m`` added to a weight gradient adds one number (every entry of W1
summed) to every entry, where the weight-decay term is ``lambd * W1 / m``. NumPy runs it
(the number broadcasts), so only the value is wrong; the generic search for the usual
mistakes does not try it, and would spend its whole time budget before giving up.
"""

from __future__ import annotations

from typing import Any

from derive.formula.ir import IR, FormulaError, Squeeze, Sum
from derive.formula.ir_walk import nodes, replace, show
from derive.formula.quantity import Quantity
from derive.formula.run import Run


def summed_where_the_array_belongs(eq: Any, run: Run, q: Quantity, rhs: IR) -> str | None:
    """The diagnosis when dropping one ``np.sum(…)`` without axis makes ``rhs`` right."""
    for path, node in nodes(rhs):
        if not (isinstance(node, Squeeze) and isinstance(node.a, Sum) and node.a.axis == "all"):
            continue
        try:
            ok, _ = eq.matches(run, eq.d, q, replace(rhs, path, node.a.a))
        except FormulaError:
            continue
        if ok:
            inner = show(node.a.a, python=True)
            return (
                f"np.sum({inner}) adds up every entry into one number, which NumPy adds to "
                f"every entry; {inner} itself belongs here (a weight-decay term is λ·W, "
                "not λ·ΣW)"
            )
    return None
