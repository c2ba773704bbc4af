"""``np.sum(x)`` without axis where ``x`` itself belongs: named as that mistake.

``lambd * np.sum(W1) / m`` added to a weight gradient adds one number (every entry of W1
summed) to every entry, where the weight-decay term is ``lambd * W1 / m``. NumPy runs it
(the number broadcasts), so only the value is wrong; the generic search for the usual
mistakes does not try it, and would spend its whole time budget before giving up.
"""

from __future__ import annotations

from typing import Any

from sympy.matrices.expressions import OneMatrix, Trace, ZeroMatrix

from derive.core.nodes import is_tensor
from derive.formula.algebra import _scalar, shape_text
from derive.formula.ir import IR, FormulaError, Squeeze, Sum
from derive.formula.ir_walk import nodes, replace, show
from derive.formula.quantity import Quantity
from derive.formula.resolve import ShapeMismatch
from derive.formula.run import Run
from derive.formula.symbols import Context


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


class SummedEverything(ShapeMismatch):
    """``np.sum(x)`` without axis where a matrix is needed: the mistake it names."""

    def __init__(self, message: str, diagnosis: str) -> None:
        super().__init__(message)
        self.diagnosis = diagnosis


def as_quantity_shape(reading: Any, want: Any, column: bool, ctx: Context) -> Any:
    """A number from ``np.sum(x)`` without axis, read as the quantity's shape: NumPy
    broadcasts it, so where the quantity is 1×1 (one unit's bias) it is that 1×1 matrix;
    where it is larger, summing every entry is the mistake, said as such."""
    shape = getattr(want, "shape", None)
    if reading == 0 and shape is not None and not is_tensor(want):
        return ZeroMatrix(*shape)  # ∂L/∂b_1 = 0 (a bias before batch norm): the zero matrix
    if not _scalar(reading) or not reading.has(Trace):
        return reading
    if shape is None or is_tensor(want):
        return reading
    if all(n == 1 or (ctx.width_one_broadcast and ctx.concrete.get(str(n)) == 1) for n in shape):
        return reading * OneMatrix(*shape)  # one unit: the number is its 1×1 gradient
    axis = 1 if column else 0
    raise SummedEverything(
        f"np.sum without axis adds up every entry into one number, where a "
        f"{shape_text(want)} matrix is needed",
        "np.sum without axis sums every entry; the bias gradient sums over the samples only "
        f"(axis={axis}, keepdims=True)",
    )
