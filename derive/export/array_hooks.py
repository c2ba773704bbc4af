"""What every printer mixin shares: the backend hooks (the few places where NumPy, JAX and
PyTorch differ), the printing of numbers, grouping of operands, and ``code_name``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import sympy
from sympy.printing.precedence import PRECEDENCE

from derive.core.graph import split_name


class ExportError(ValueError):
    """The derivation cannot be exported (e.g. a symbolic activation has no numeric form)."""


def code_name(name: str) -> str:
    """``W_1`` -> ``W1``, ``delta_{l+1}`` -> ``delta_l1``; ``lambda`` -> ``lam``."""
    base, idx = split_name(name)
    ident = base + re.sub(r"[^0-9A-Za-z]", "", idx)
    return {"lambda": "lam"}.get(ident, ident)


class ArrayHooks:
    """The hooks a backend printer may override, and the helpers the node mixins share.

    Mixed (through ``printers.ArrayNodes``) into SymPy's own printer for one library.
    """

    _module: str
    _dtype_ref: str | None = None
    #: The module with this backend's conv/pool helpers (same names as derive.core.convops).
    _convops = "derive.core.convops"

    if TYPE_CHECKING:
        # What the SymPy printer this is mixed into provides, with the signatures SymPy
        # documents (SymPy ships no type information). Its ``super()._print_X`` calls reach
        # that printer through the MRO, which mypy cannot see: hence their ignores.
        def _module_format(self, fqn: str, register: bool = True) -> str: ...
        def parenthesize(self, item: object, level: int, strict: bool = False) -> str: ...

    # --- hooks a backend may override
    def fn(self, name: str) -> str:
        """A function of the backend's array module, fully qualified (``numpy.exp``)."""
        return self._module_format(f"{self._module}.{name}")

    def reduce_sum(self, code: str, axis: int) -> str:
        """A sum over one axis that keeps it (the bias gradient ``δ 1``)."""
        return f"{self.fn('sum')}({code}, axis={axis}, keepdims=True)"

    def total(self, code: str) -> str:
        """The sum of every entry."""
        return f"{self.fn('sum')}({code})"

    def cast_like(self, code: str, ref: str) -> str:
        """A boolean mask as numbers of the reference array's dtype (and device)."""
        return f"{code}.astype({ref}.dtype)"

    def softmax(self, code: str, axis: int) -> str:
        """The backend's softmax over one axis."""
        return f"_softmax({code}, {axis})"

    def scalar_like(self, code: str, ref: str) -> str:
        """A scalar branch of where(): NumPy and JAX broadcast Python numbers as they are."""
        return code

    def sigmoid(self, code: str) -> str:
        """The backend's overflow-free sigmoid."""
        return f"_sigmoid({code})"

    def softplus(self, code: str) -> str:
        """The backend's overflow-free softplus, log(1 + e^x)."""
        return f"{self.fn('logaddexp')}(0, {code})"

    def log_softmax(self, code: str, axis: int) -> str:
        """The backend's log-softmax over one axis (finite where softmax underflows)."""
        return f"_log_softmax({code}, {axis})"

    def maximum(self, a: str, b: str) -> str:
        """The entrywise maximum of two operands."""
        return f"{self.fn('maximum')}({a}, {b})"

    def channel_sum(self, code: str) -> str:
        """The sum over samples and pixels, one number per channel (a conv bias gradient)."""
        return f"{code}.sum(axis=(0, 2, 3))"

    def reduce(self, op: str, code: str, axis: int) -> str:
        """``sum``/``mean``/``max`` over one axis, the axis kept (``Reduce``)."""
        return f"{self.fn(op)}({code}, axis={axis}, keepdims=True)"

    def reduce_all(self, op: str, code: str) -> str:
        """``sum``/``mean``/``max`` of every entry (``ReduceAll``)."""
        return f"{self.fn(op)}({code})"

    def arange(self, n: str, like: str) -> str:
        """``0, 1, …, n−1`` (on the device of ``like`` where that matters)."""
        return f"{self.fn('arange')}({n})"

    def numel(self, code: str) -> str:
        """The number of entries of an array."""
        return f"{code}.size"

    def argmax(self, code: str, axis: int | None) -> str:
        """The index of the first maximum (over one axis, kept; or of the flattened array)."""
        if axis is None:
            return f"{self.fn('argmax')}({code})"
        return f"{self.fn('argmax')}({code}, axis={axis}, keepdims=True)"

    def broadcast(self, code: str, rows: str, cols: str, scalar: bool) -> str:
        """A row, column or scalar repeated to rows×cols."""
        if scalar:
            return f"{self.fn('full')}(({rows}, {cols}), {code})"
        return f"{self.fn('broadcast_to')}({code}, ({rows}, {cols}))"

    def concat(self, codes: list[str], axis: int) -> str:
        """Matrices joined along an axis (``Concat``)."""
        return f"{self.fn('concatenate')}(({', '.join(codes)},), axis={axis})"

    def as_float(self, code: str) -> str:
        """A boolean mask with no reference array as numbers of the default float type."""
        return f"{code}.astype(float)"

    def gather(self, s: str, index: str, axis: int) -> str:
        """``S`` at one index per row (axis 1) or per column (axis 0), the axis kept."""
        return f"{self.fn('take_along_axis')}({s}, {index}, axis={axis})"

    def linalg(self, name: str) -> str:
        """A function of the backend's linear-algebra module (``numpy.linalg.inv``)."""
        return self._module_format(f"{self._module}.linalg.{name}")

    def extremum(self, kind: str, args: list[str], scalar: list[bool]) -> str:
        """``max``/``min`` of several arrays and numbers (NumPy and JAX broadcast numbers)."""
        op = self.maximum if kind == "max" else self.minimum
        out = args[-1]
        for a in reversed(args[:-1]):
            out = op(a, out)
        return out

    def minimum(self, a: str, b: str) -> str:
        """The entrywise minimum of two operands."""
        return f"{self.fn('minimum')}({a}, {b})"

    def scaled(self, coeff: Any, code: str) -> str:
        """``c * code``; (1/m) M is written M / m: one pass, and it reads as the formula."""
        if coeff == -1:
            return f"-{code}"
        num, den = sympy.fraction(coeff)
        if num == 1:
            return f"{code} / {self.parenthesize(den, PRECEDENCE['Mul'] + 1)}"
        return f"{self.parenthesize(coeff, PRECEDENCE['Mul'])} * {code}"

    def _print(self, expr: Any, **kwargs: Any) -> str:
        if (
            isinstance(expr, sympy.Expr)
            and not isinstance(expr, sympy.MatrixExpr)
            and expr.is_number
            and not expr.is_Rational
            and expr.is_real
        ):
            # log(2), π, √2 as Python floats: a NumPy float64 scalar would promote float32
            return repr(float(expr))
        return str(super()._print(expr, **kwargs))  # type: ignore[misc]

    # --- operands grouped, helpers recorded
    def helper(self, name: str, *args: Any) -> str:
        """A call of a conv/pool helper, recorded so the module includes its source."""
        if not hasattr(self, "helpers"):
            self.helpers: list[str] = []
        if name not in self.helpers:
            self.helpers.append(name)
        return f"{name}({', '.join(self._group(a) if not isinstance(a, str) else a for a in args)})"

    def _group(self, e: Any) -> str:
        code = self._print(e)
        return code if re.fullmatch(r"[\w.]+", code) or wrapped(code) else f"({code})"


def binds_looser_than_matmul(code: str) -> bool:
    """Whether ``code`` as an operand of ``@`` needs brackets: an operator outside brackets
    that binds as loosely as ``@`` or looser (``+ - * / @``, comparisons; not ``**``, not
    a leading unary minus): ``W2.T @ delta2 @ 1 - A1**2`` is not the product with 1 − A1²."""
    depth = 0
    for i, ch in enumerate(code):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth or i == 0:
            continue
        if ch == "*" and (code[i - 1] == "*" or code[i + 1 : i + 2] == "*"):
            continue  # a power
        if ch == "-" and code[i - 1] in "eE" and code[i - 2 : i - 1].isdigit():
            continue  # 1e-05
        if ch in "+-*/@<>=&|%":
            return True
    return False


def wrapped(code: str) -> bool:
    """True when ``code`` is one group: ``(A2 - Y)`` or a call ``numpy.sum(M, axis=1)``."""
    call = re.match(r"^[\w.]+(?=\()", code)
    if call:
        code = code[call.end() :]
    if not (code.startswith("(") and code.endswith(")")):
        return False
    depth = 0
    for i, ch in enumerate(code):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and i < len(code) - 1:
            return False
    return True
