"""Building a program's expressions from the typed AST: names, numbers and operators.

``ExprBuilder`` turns one equation's AST (``derive.spec.program_grammar``) into our nodes,
checking shapes as it goes (a mismatch names the file, the line, the equation and both
shapes) and making NumPy's broadcasting explicit; its subclass
``program_calls.EquationBuilder`` reads the calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy
from sympy.matrices.expressions import HadamardPower, MatMul, MatrixSymbol, OneMatrix

from derive.core import nodes as N
from derive.core.program_graph import (
    MAX_EXPONENT,
    ProgramError,
    ProgramReadError,
    _is_mask,
    _short_number,
    flat_add,
    is_scalar,
    matrix_shape,
    shape_text,
    size_symbol,
)
from derive.spec import program_grammar as G


class ExprBuilder:
    """Builds node expressions from the typed AST, one equation at a time: names,
    numbers and operators here, calls in ``program_calls.EquationBuilder``."""

    def __init__(self, spec: Any) -> None:
        self.spec = spec
        self.env: dict[str, Any] = {}
        self.sizes: dict[str, sympy.Expr] = {}
        self.where = ""
        #: A checked snippet's NumPy (``Reader``): a reduction without keepdims is 1-d
        self.numpy_1d = False
        #: A checked snippet's names that hold such a 1-d array (``m = x.mean(axis=1)``,
        #: ``c = s[range(N), y]``), kept by the reader line by line
        self.one_d: set[str] = set()
        #: Names whose value is a 0/1 mask (``mse_mask = l1 < delta``): ``~`` reads them
        self.masks: set[Any] = set()
        #: A checked snippet's sub-layer calls (``self.softmax.backward(d)``), read by
        #: the checker (``formula.program_sublayers``): (fn, args, node) -> value
        self.layers: Callable[[str, list[Any], Any], Any] | None = None

    # ------------------------------------------------------------------ errors

    def fail(self, problem: str, line: int | None, *, reading: bool = False) -> ProgramError:
        """The error for ``problem`` at ``line`` (a reading error when ``reading``)."""
        kind = ProgramReadError if reading else ProgramError
        return kind(
            f"{self.where}: {problem}" if self.where else problem,
            source=self.spec.source,
            line=line,
        )

    # ------------------------------------------------------------------ values

    def declare(self, name: str, shape: tuple[int | str, ...]) -> MatrixSymbol:
        """A declared input or parameter as a MatrixSymbol (its sizes recorded)."""
        rows, cols = matrix_shape(shape)
        for s in shape:
            if isinstance(s, str):
                base = s.split("*", 1)[-1]  # "4*H" declares the size H
                self.sizes[base] = size_symbol(base)
        sym = MatrixSymbol(name, rows, cols)
        self.env[name] = sym
        return sym

    def build(self, node: Any) -> Any:
        """One AST node as our nodes; a shape mismatch names the line."""
        method: Callable[[Any], Any] = getattr(self, f"_{type(node).__name__.lower()}")
        try:
            return method(node)
        except N.ShapeMismatch as err:
            raise self.fail(str(err), getattr(node, "line", None)) from None

    def _num(self, node: Any) -> Any:
        return sympy.sympify(node.value)  # safe: a SymPy number our parser built

    def _name(self, node: Any) -> Any:
        if node.id not in self.env and node.id in self.sizes:
            return self.sizes[node.id]  # a size as a number: Q Kᵀ / sqrt(d)
        return self.env[node.id]

    def _unary(self, node: Any) -> Any:
        x = self.build(node.x)
        if node.op == "~":  # NumPy's logical not of a boolean mask
            return OneMatrix(*x.shape) - self.mask(x, "~", node)
        return -x if is_scalar(x) else N.scale(x, sympy.Integer(-1))

    def _transpose(self, node: Any) -> Any:
        x = self.build(node.x)
        return x if is_scalar(x) else x.T

    def _bin(self, node: Any) -> Any:
        a, b = self.build(node.left), self.build(node.right)
        op = node.op
        if op == "@":
            return self.matmul(a, b, node)
        if op in ("**", "^"):
            return self.power(a, b, node)
        if is_scalar(a) and is_scalar(b):
            return {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[op]
        if op == "*" and (is_scalar(a) or is_scalar(b)):
            s, m = (a, b) if is_scalar(a) else (b, a)
            return N.scale(m, s)
        if op == "/" and is_scalar(b):
            return N.scale(a, 1 / b)
        if self.numpy_1d:
            self.no_row_of_sums(node, a, b)
        a, b = self.broadcast(a, b, node)
        if op == "+":
            return flat_add([a, b])
        if op == "-":
            return flat_add([a, N.scale(b, sympy.Integer(-1))])
        if op == "*":
            return N.hadamard(a, b)
        return N.divide(a, b)

    def no_row_of_sums(self, node: Any, a: Any, b: Any) -> None:
        """A checked snippet's 1-d array (``np.sum(x, axis=1)`` without ``keepdims=True``,
        a pick ``x[range(N), y]`` or ``np.choose(y, x.T)``, a name holding one) beside a
        matrix: NumPy broadcasts it as a row, not down the rows (Ng's classic bug, CS231n's
        ``scores - scores[range(N), y]``; on a square x it runs and is wrong), so it is not
        read as the column. Two 1-d arrays alike (``m[range(N), y] = -np.sum(m, axis=1)``),
        or one beside a scalar, are NumPy's too."""
        left, right = self.is_one_d(node.left), self.is_one_d(node.right)
        if left == right or is_scalar(b if left else a):
            return
        side = node.left if left else node.right
        while isinstance(side, G.Unary | G.Transpose | G.Bin):  # down to a 1-d part
            if isinstance(side, G.Unary | G.Transpose):
                side = side.x
            else:
                side = side.left if self.is_one_d(side.left) else side.right
        if isinstance(side, G.Call):
            what, fix = f"{side.fn}(…, axis=1) without keepdims=True", "add keepdims=True"
        elif isinstance(side, G.Name):
            what = f"{side.id} (a 1-d array: a reduction without keepdims=True or a pick)"
            fix = f"use {side.id}[:, np.newaxis] or keep the axis"
        else:
            what, fix = "the pick x[range(N), y]", "add [:, np.newaxis]"
        raise self.fail(
            f"{what} is a 1-d array, which NumPy broadcasts as a row beside a matrix, not as "
            f"a column: {fix}",
            node.line,
        )

    def is_one_d(self, e: Any) -> bool:
        """Whether a snippet's expression is a NumPy 1-d array of the rows' values: a
        reduction along axis 1 without keepdims, a pick, a name holding one, scaled or
        negated, transposed, or two of them combined."""
        while True:
            if (isinstance(e, G.Unary) and e.op == "-") or isinstance(e, G.Transpose):
                e = e.x  # NumPy's .T of a 1-d array is that array
            elif isinstance(e, G.Bin) and e.op in ("*", "/") and self._scalar_node(e.right):
                e = e.left
            elif isinstance(e, G.Bin) and e.op == "*" and self._scalar_node(e.left):
                e = e.right
            else:
                break
        if isinstance(e, G.Pick) or (isinstance(e, G.Name) and e.id in self.one_d):
            return True
        if isinstance(e, G.Bin) and e.op in ("+", "-", "*", "/"):
            return self.is_one_d(e.left) and self.is_one_d(e.right)
        return (
            isinstance(e, G.Call)
            and e.fn in ("sum", "mean", "max")
            and e.axis == 1
            and not e.keepdims
        )

    def _scalar_node(self, e: Any) -> bool:
        """A number, or a name (a size, a hyperparameter; negated or ``.T``) whose value
        is a scalar: only names are built, so a long expression is not built again."""
        while isinstance(e, G.Unary | G.Transpose):
            e = e.x
        if isinstance(e, G.Num):
            return True
        if not isinstance(e, G.Name):
            return False
        try:
            return is_scalar(self.build(e))
        except (KeyError, ProgramError):
            return False

    def matmul(self, a: Any, b: Any, node: Any) -> Any:
        """``a @ b``, its inner sizes checked."""
        if is_scalar(a) or is_scalar(b):
            raise self.fail("@ needs two matrices; use * for a scalar", node.line)
        if a.shape[1] != b.shape[0]:
            raise self.fail(
                f"{shape_text(a.shape)} @ {shape_text(b.shape)} do not fit: "
                f"{a.shape[1]} columns against {b.shape[0]} rows",
                node.line,
            )
        return MatMul(a, b).doit(deep=False)

    def power(self, a: Any, b: Any, node: Any) -> Any:
        """``a ** b``: a scalar power, or a Hadamard power of a matrix."""
        if not is_scalar(b):
            raise self.fail("an exponent must be a number or a hyperparameter", node.line)
        if is_scalar(a):
            if a.is_Number and b.is_Number and abs(b) > MAX_EXPONENT and abs(a) != 1:
                raise self.fail(
                    f"a number to a power beyond ±{MAX_EXPONENT} (…**{_short_number(b)})",
                    node.line,
                    reading=True,
                )
            return a**b
        return HadamardPower(a, b)

    def broadcast(self, a: Any, b: Any, node: Any) -> tuple[Any, Any]:
        """NumPy's broadcasting of two operands, made explicit (``Broadcast`` nodes)."""
        return N.fit(a, b, f"'{getattr(node, 'op', None) or getattr(node, 'fn', '')}'")

    def mask(self, x: Any, what: str, node: Any) -> Any:
        """``x`` if it is a 0/1 mask (made of comparisons), else a reading error: NumPy's
        ``~`` and ``astype`` mean something else on numbers."""
        if is_scalar(x) or not _is_mask(x, self.masks):
            raise self.fail(
                f"{what} is read only on a mask (a comparison such as x > 0)",
                node.line,
                reading=True,
            )
        return x
