"""NumPy's 1-d results judged as the vectors they are: ``np.sum(x, axis=1)`` against a row.

A snippet's reduction along axis 1 without ``keepdims=True`` is a 1-d array: NumPy has no
row or column of it. The program reader keeps it as the column of the sums (and refuses it
beside a matrix, where NumPy would broadcast it as a row: ``Builder.no_row_of_sums``); a
gradient that *is* such a result (``dgamma = np.sum(dout * x_hat, axis=1)`` in a layer norm
written on the transpose, whose ``gamma`` is ``(D,)``) has the entries of the program's
``1 × D`` row gradient, and is compared as that row.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from derive.spec import program_grammar as G

#: The reductions whose result without keepdims is 1-d.
_REDUCTIONS = ("sum", "mean", "max")


def one_d_names(statements: list[G.Statement]) -> set[str]:
    """The names whose last assignment is a reduction along axis 1 without keepdims (a
    1-d array), possibly negated or scaled by a number."""
    out: set[str] = set()
    for st in statements:
        if isinstance(st, G.Assign | G.Update | G.SetItem | G.Unpack):
            targets = st.targets if isinstance(st, G.Unpack) else (st.target,)
            out -= set(targets)
        if isinstance(st, G.Assign) and _is_one_d(st.expr):
            out.add(st.target)
    return out


def _is_one_d(e: G.Expr) -> bool:
    while True:
        if isinstance(e, G.Unary) and e.op == "-":
            e = e.x
        elif isinstance(e, G.Bin) and e.op in ("*", "/") and isinstance(e.right, G.Num):
            e = e.left
        elif isinstance(e, G.Bin) and e.op == "*" and isinstance(e.left, G.Num):
            e = e.right
        else:
            break
    return isinstance(e, G.Call) and e.fn in _REDUCTIONS and e.axis == 1 and not e.keepdims


def as_row(got: list[Any], want: list[Any]) -> list[Any] | None:
    """The snippet's column of sums as the row the program has (None: not that case)."""
    rows = []
    for g, w in zip(got, want, strict=True):
        g2, w2 = np.atleast_2d(np.asarray(g, float)), np.atleast_2d(np.asarray(w, float))
        if not (g2.shape[1] == 1 and w2.shape[0] == 1 and g2.shape[0] == w2.shape[1] > 1):
            return None
        rows.append(g2.T)
    return rows
