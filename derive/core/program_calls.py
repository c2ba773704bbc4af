"""Building a program's calls: functions, reductions, reshapes, slices, masks, picks.

``EquationBuilder`` extends ``program_values.ExprBuilder`` with every call of the
function list (``derive.spec.program_vocab``), each checked against its operands' shapes.
"""

from __future__ import annotations

from typing import Any

import sympy
from sympy.matrices.expressions import Determinant, Inverse, MatAdd, OneMatrix, Trace, ZeroMatrix

from derive.core import nodes as N
from derive.core.program_graph import (
    FILLS,
    MAX_LITERAL_SIZE,
    _is_size,
    from_end,
    is_scalar,
    shape_of,
    shape_text,
)
from derive.core.program_values import ExprBuilder


class EquationBuilder(ExprBuilder):
    """The builder of a program's equations: ``ExprBuilder`` and the calls."""

    def _call(self, node: Any) -> Any:
        if node.fn in FILLS:  # ones(x.shape): no x.shape on its own
            return self.ones(node.fn, node)
        if "." in node.fn:  # layer.backward(d): a sub-layer's method
            if self.layers is None:
                raise self.fail(
                    f"{node.fn}() calls a sub-layer: a program's equations name the "
                    "layer's value (declare it under [sublayers])",
                    node.line,
                    reading=True,
                )
            return self.layers(node.fn, [self.build(a) for a in node.args], node)
        return self.call(node.fn, [self.build(a) for a in node.args], node)

    def _shapeof(self, node: Any) -> Any:
        x = self.build(node.x)
        if is_scalar(x):
            raise self.fail("a scalar has no .shape", node.line)
        if node.axis is None:
            raise self.fail(
                "x.shape is read only to unpack it (N, D = x.shape)", node.line, reading=True
            )
        return x.shape[node.axis]

    def _sliceof(self, node: Any) -> Any:
        """``x[:, a:b]`` / ``x[a:b, :]``: bounds that are sizes (``H``, ``2*H``) or whole
        numbers, or those negated (``-H``: counted from the end, as NumPy reads it, so
        ``a[:, -H:]`` of a 4H-wide ``a`` is ``a[:, 3H:4H]``); one past the width, backwards
        or empty is refused with the line."""
        x = self.build(node.x)
        if is_scalar(x):
            raise self.fail("a slice of a scalar: only a matrix has rows and columns", node.line)
        bounds: list[Any] = []
        read: list[str] = []  # the negative bounds, as read from the end
        width = x.shape[node.axis]
        for b, default in ((node.start, sympy.Integer(0)), (node.stop, width)):
            if b is None:
                bounds.append(default)
                continue
            v = self.build(b)
            end = from_end(v, width, node.axis)
            if end is not None:
                read.append(f"{v} as {end}")
                v = end
            elif not (_is_size(v) or v == 0):
                raise self.fail(
                    "a slice's bounds are sizes (H, 2*H), whole numbers from 0 to "
                    f"{MAX_LITERAL_SIZE}, or those negated (counted from the end: -H)",
                    node.line,
                    reading=True,
                )
            bounds.append(v)
        try:
            return N.Slice(x, bounds[0], bounds[1], node.axis)
        except N.ShapeMismatch as err:
            if not read:
                raise
            raise self.fail(f"{err} (read {', '.join(read)}, from the end)", node.line) from None

    def _lookup(self, node: Any) -> Any:
        raise self.fail(
            f"{node.container}[{node.key!r}]: a program names its values; "
            "only a checked snippet takes them from a container",
            node.line,
        )

    def call(self, fn: str, args: list[Any], node: Any) -> Any:
        """A function call on built operands, its shapes checked."""
        x: Any = args[0] if args else None
        if getattr(node, "axis_from", None) is not None:
            raise self.fail(f"{fn}(): axis must be 0, 1 or None", node.line)
        if fn == "concat":  # np.hstack / np.vstack / np.concatenate
            return N.Concat(node.axis, *args)
        if fn == "dot":
            return self.matmul(x, args[1], node)
        if fn == "square":
            return self.power(x, sympy.Integer(2), node)
        if fn == "power":
            return self.power(x, args[1], node)
        if fn == "len":
            if isinstance(x, N.Labels):  # N = len(y): the number of labels
                return x.n
            if is_scalar(x):
                raise self.fail("len() of a scalar", node.line)
            return x.shape[0]
        if fn == "transpose":
            return x if is_scalar(x) else x.T
        if fn == "float":
            if not is_scalar(x):
                raise self.fail("float() of a matrix", node.line)
            return x
        if fn in FILLS:
            return self.ones(fn, node)
        if fn == "reshape":
            return self.reshape(x, args[1], args[2], node)
        if fn == "astype":
            return self.mask(x, ".astype()", node)
        if fn == "sign":  # sign(x) = 𝟙[x > 0] − 𝟙[x < 0]; its derivative is zero
            if is_scalar(x):
                return sympy.sign(x)
            return N.Indicator(x, ">", 0) - N.Indicator(x, "<", 0)
        if fn == "absolute":
            fn = "abs"
        if fn in ("sum", "mean", "max"):
            if is_scalar(x):
                raise self.fail(f"{fn}() of a scalar", node.line)
            if node.axis is None:
                return N.ReduceAll(x, fn)
            return N.Reduce(x, fn, node.axis)
        if fn == "maximum":
            zero, x = args
            if zero != 0:
                raise self.fail(
                    "maximum(0, x) is the only maximum supported", node.line, reading=True
                )
            fn = "relu"
        if fn in N.ELEMENTWISE_NAMES:  # a scalar argument gets the scalar function
            return N.elementwise(fn, x)
        if fn in ("softmax", "log_softmax"):
            axis = 1 if node.axis is None else node.axis
            return (N.Softmax if fn == "softmax" else N.LogSoftmax)(x, axis)
        if fn == "norm":
            return N.Norm(x)
        if fn in ("trace", "inv", "det", "logdet"):
            if is_scalar(x) or x.shape[0] != x.shape[1]:
                raise self.fail(
                    f"{fn}() needs a square matrix, got {shape_text(shape_of(x))}", node.line
                )
            return {"trace": Trace, "inv": Inverse, "det": Determinant, "logdet": N.LogDet}[fn](x)
        if fn == "where":
            cond, a, b = args
            cond = self.mask(cond, "where()'s condition", node)
            a, b = self.broadcast(a, b, node) if not (is_scalar(a) and is_scalar(b)) else (a, b)
            return N.where(cond, a, b)
        raise self.fail(f"unknown function {fn}()", node.line, reading=True)

    def reshape(self, x: Any, rows: Any, cols: Any, node: Any) -> Any:
        """``x.reshape(r, c)`` between vector shapes (NumPy's ``(D,)`` row read as 1×D):
        the same vector, or its transpose; any other reshape is not read."""
        if is_scalar(x):
            raise self.fail("reshape() of a scalar", node.line, reading=True)
        n, m = x.shape
        length = n * m
        r = length if rows == -1 else rows
        c = length if cols == -1 else cols
        if -1 in (rows, cols) and 1 not in (rows, cols):
            raise self.fail(
                "reshape() is read only to a row (1, -1) or a column (-1, 1)",
                node.line,
                reading=True,
            )
        if (r, c) == (n, m):
            return x
        if (r, c) == (m, n) and 1 in (n, m):
            return x.T
        raise self.fail(
            f"reshape() to ({r}, {c}) of a {shape_text(shape_of(x))} value: only a vector to a "
            "row or a column is read",
            node.line,
            reading=True,
        )

    def ones(self, fn: str, node: Any) -> Any:
        """``ones_like(x)`` / ``ones(x.shape)``: a one repeated to ``x``'s shape (zeros:
        a zero matrix, the start of an accumulation ``dW = np.zeros_like(W)``)."""
        fill = sympy.Integer(0 if fn.startswith("zeros") else 1)
        if fn in ("ones", "zeros") and len(node.args) == 2:  # ones((N, D)): NumPy's tuple
            rows, cols = (self.build(a) for a in node.args)
            if not all(_is_size(d) for d in (rows, cols)):
                raise self.fail(
                    f"{fn}((rows, cols)) takes two sizes: the program's sizes, or whole "
                    f"numbers from 1 to {MAX_LITERAL_SIZE}",
                    node.line,
                    reading=True,
                )
            return ZeroMatrix(rows, cols) if fn == "zeros" else N.Broadcast(fill, rows, cols)
        arg = node.args[0]
        if fn in ("ones", "zeros"):
            if type(arg).__name__ != "ShapeOf" or arg.axis is not None:
                raise self.fail(f"{fn}() is read as {fn}(x.shape)", node.line, reading=True)
            arg = arg.x
        x = self.build(arg)
        if is_scalar(x):
            return fill
        return ZeroMatrix(*x.shape) if fill == 0 else N.Broadcast(fill, *x.shape)

    def _compare(self, node: Any) -> Any:
        """``a op b`` as a 0/1 mask; ``!=`` is ``𝟙[a > b] + 𝟙[a < b]``, ``==`` one minus it."""
        a, b = self.build(node.left), self.build(node.right)
        if is_scalar(a) and is_scalar(b):
            raise self.fail("a comparison needs a matrix side", node.line)
        a, b = self.broadcast(a, b, node)
        if node.op not in ("==", "!="):
            return N.Indicator(a, node.op, b)
        differ = MatAdd(N.Indicator(a, ">", b), N.Indicator(a, "<", b))
        return differ if node.op == "!=" else OneMatrix(*differ.shape) - differ

    def _pick(self, node: Any) -> Any:
        s = self.build(node.matrix)
        y = self.env[node.labels]
        if not isinstance(y, N.Labels):
            raise self.fail(
                f"{node.labels} is not an integer label input ([labels]): S[range(N), y] "
                "picks each row's entry at its label",
                node.line,
                reading=True,
            )
        return N.Pick(s, y)
