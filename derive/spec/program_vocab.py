"""The words a forward program's equations may use: functions, methods and keywords.

Data, not code: the fixed function list with each function's arity and axis rule, the
methods read as functions or as no-ops, and the names that are never the user's. The
readers (``program_calls``, ``program_builder``) and the spec's name checks
(``program_records``) consult these tables, and error messages list them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

AxisRule = Literal["none", "optional", "required"]


@dataclass(frozen=True)
class Function:
    """A function an equation may call: its argument count and whether it takes ``axis``."""

    arity: int
    axis: AxisRule = "none"
    what: str = ""


#: The fixed function list (NumPy names; ``np.``/``np.linalg.`` prefixes are accepted).
FUNCTIONS: dict[str, Function] = {
    "sum": Function(1, "optional", "the sum of the entries (over an axis)"),
    "mean": Function(1, "optional", "the mean of the entries (over an axis)"),
    "max": Function(1, "optional", "the largest entry (over an axis)"),
    "sqrt": Function(1),
    "exp": Function(1),
    "log": Function(1),
    "abs": Function(1),
    "absolute": Function(1, what="abs(x)"),
    "sign": Function(1, what="the sign of each entry, -1, 0 or 1"),
    "tanh": Function(1),
    "sigmoid": Function(1),
    "relu": Function(1),
    "maximum": Function(2, what="maximum(0, x) only"),
    "where": Function(3, what="where(mask, x, y), the mask a comparison a > b"),
    "softmax": Function(1, "required"),
    "log_softmax": Function(1, "required"),
    "norm": Function(1, what="the Frobenius norm (the 2-norm of a vector)"),
    "trace": Function(1),
    "inv": Function(1),
    "det": Function(1),
    "logdet": Function(1),
    "dot": Function(2, what="the matrix product dot(a, b)"),
    "square": Function(1),
    "transpose": Function(1),
    "ones_like": Function(1, what="an array of ones shaped like its argument"),
    "zeros_like": Function(1, what="an array of zeros shaped like its argument"),
    "divide": Function(2, what="divide(a, b), a / b; with out=o, where=m: where(m, a / b, o)"),
    "ones": Function(1, what="ones(x.shape)"),
    "zeros": Function(1, what="zeros(x.shape)"),
    "float": Function(1, what="a number as it is"),
    "power": Function(2, what="power(x, p), x ** p"),
    "len": Function(1, what="the number of rows"),
}
#: Methods ``X.sum(axis=0)`` read as the function of the same name.
METHODS = ("sum", "mean", "max")
#: Methods that leave their array as it is (a copy) or transpose it.
SAME_METHODS = ("copy", "transpose")
#: Methods that turn a 0/1 mask into numbers (read only on a mask).
CASTS = ("astype", "float", "double")
#: Words an equation uses that are not the user's names.
KEYWORDS = frozenset({"range", "np", "numpy", "None", "True", "False", "T", "axis", "keepdims"})
#: Functions that join matrices, read as ``Call("concat", parts, axis)``: NumPy's default
#: axis of each (``concatenate`` stacks rows unless told ``axis=1``).
JOINS: dict[str, int] = {"hstack": 1, "vstack": 0, "concatenate": 0}
#: A sub-layer's methods a snippet calls: ``self.layer.backward(d)``, read as the call
#: ``layer.backward`` (``derive.formula.program_sublayers``).
LAYER_METHODS = ("backward", "forward")
