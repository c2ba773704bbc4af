"""Feature maps and the issue-14 primitives as array code: calls of the backend's conv/pool
helpers, reductions, broadcasts, masks, slices, norms, determinants, picks."""

from __future__ import annotations

from typing import Any

import sympy

from derive.core.nodes import ChannelBias, is_tensor, tensor_coeff
from derive.export.array_hooks import ArrayHooks, code_name


class FeatureMapNodes(ArrayHooks):
    """Feature maps: calls of the backend's helpers, whose source the module includes
    (a printer mixin)."""

    def _print_Correlate(self, e: Any) -> str:
        return self.helper("conv2d", e.input, e.kernel, e.stride, e.padding)

    def _print_ConvBackInput(self, e: Any) -> str:
        like = self._group(e.like)
        return self.helper(
            "conv2d_back_input",
            e.cot,
            e.kernel,
            e.stride,
            e.padding,
            f"{like}.shape[2]",
            f"{like}.shape[3]",
        )

    def _print_ConvBackKernel(self, e: Any) -> str:
        return self.helper("conv2d_back_kernel", e.input, e.cot, e.stride, e.padding, e.args[4])

    def _print_ChannelBias(self, e: Any) -> str:
        return f"{self._group(e.bias)}.reshape(1, -1, 1, 1)"

    def _print_ChannelSum(self, e: Any) -> str:
        return self.channel_sum(self._group(e.arg))

    def _print_Pool(self, e: Any) -> str:
        return self.helper(f"{e.mode}pool2d", e.input, e.size, e.stride)

    def _print_Unpool(self, e: Any) -> str:
        return self.helper(f"{e.mode}pool2d_back", e.cot, e.input, e.size, e.stride)

    def _print_Flatten(self, e: Any) -> str:
        a = self._group(e.input)
        return f"{a}.reshape({a}.shape[0], -1)" + (".T" if e.column else "")

    def _print_Unflatten(self, e: Any) -> str:
        g = self._group(e.arg)
        return f"{g}{'.T' if e.column else ''}.reshape({self._group(e.like)}.shape)"

    def _print_Mul(self, expr: Any) -> str:
        if not is_tensor(expr):
            return str(super()._print_Mul(expr))  # type: ignore[misc]
        coeff, rest = tensor_coeff(expr)
        return self.scaled(coeff, self._group(rest))

    def _print_Add(self, expr: Any, order: Any = None) -> str:
        if not is_tensor(expr):
            return str(super()._print_Add(expr, order))  # type: ignore[misc]
        from derive.render.text import join_signed

        terms = sorted(expr.args, key=lambda t: isinstance(t, ChannelBias))
        return join_signed([self._print(t) for t in terms], " - ")


class ProgramNodes(ArrayHooks):
    """The issue-14 primitives: reductions, broadcasts, masks, norms, determinants,
    indexing (a printer mixin)."""

    def _print_Reduce(self, e: Any) -> str:
        return self.reduce(e.op, self._print(e.arg), e.axis)

    def _print_ReduceAll(self, e: Any) -> str:
        return self.reduce_all(e.op, self._print(e.arg))

    def _mask(self, x: str, axis: int) -> str:
        """1 at the first maximum of ``x`` along ``axis``: arange == argmax, broadcast."""
        n = f"{x}.shape[{axis}]"
        idx = self.arange(n, x) + ("[:, None]" if axis == 0 else "[None, :]")
        return self.cast_like(f"({idx} == {self.argmax(x, axis)})", x)

    def _print_ArgMaxMask(self, e: Any) -> str:
        return self._mask(self._group(e.arg), e.axis)

    def _print_ArgMaxAllMask(self, e: Any) -> str:
        x = self._group(e.arg)
        idx = f"{self.arange(self.numel(x), x)}.reshape({x}.shape)"
        return self.cast_like(f"({idx} == {self.argmax(x, None)})", x)

    def _print_Broadcast(self, e: Any) -> str:
        rows, cols = (self._print(d) for d in e.shape)
        scalar = not isinstance(e.arg, sympy.MatrixExpr)
        return self.broadcast(self._group(e.arg), rows, cols, scalar)

    def _print_Slice(self, e: Any) -> str:
        span = f"{self._print(e.start)}:{self._print(e.stop)}"
        x = self._group(e.arg)
        return f"{x}[:, {span}]" if e.axis == 1 else f"{x}[{span}, :]"

    def _print_Concat(self, e: Any) -> str:
        return self.concat([self._print(p) for p in e.parts], e.axis)

    def _print_Indicator(self, e: Any) -> str:
        lhs, rhs = self._group(e.lhs), self._group(e.rhs)
        ref = lhs if isinstance(e.lhs, sympy.MatrixExpr) else rhs
        return self.cast_like(f"({lhs} {e.op} {rhs})", ref)

    def _print_LogSoftmax(self, e: Any) -> str:
        return self.log_softmax(self._print(e.arg), e.axis)

    def _print_Norm(self, e: Any) -> str:
        # the square root of the sum of squares (no hypot-style rescaling needed in float64)
        squares = f"{self.fn('square')}({self._print(e.arg)})"
        return f"{self.fn('sqrt')}({self.total(squares)})"

    def _print_Trace(self, e: Any) -> str:
        return f"{self.fn('trace')}({self._print(e.arg)})"

    def _print_Inverse(self, e: Any) -> str:
        return f"{self.linalg('inv')}({self._print(e.arg)})"

    def _print_LogDet(self, e: Any) -> str:
        # log|det X| from slogdet: finite where det itself under- or overflows
        return f"{self.linalg('slogdet')}({self._print(e.arg)})[1]"

    def _print_Determinant(self, e: Any) -> str:
        return f"{self.linalg('det')}({self._print(e.arg)})"

    def _print_Labels(self, e: Any) -> str:
        return code_name(e.name)

    def _print_Pick(self, e: Any) -> str:
        y = self._group(e.labels)
        index = f"{y}.reshape(-1, 1)" if e.axis == 1 else f"{y}.reshape(1, -1)"
        return self.gather(self._group(e.arg), index, e.axis)

    def _print_OneHot(self, e: Any) -> str:
        y = self._group(e.labels)
        k = self._print(e.shape[e.axis])
        if e.axis == 1:
            code = f"({self.arange(k, y)}[None, :] == {y}.reshape(-1, 1))"
        else:
            code = f"({self.arange(k, y)}[:, None] == {y}.reshape(1, -1))"
        if e.like is not None:
            return self.cast_like(code, self._group(e.like))
        return self.as_float(code)
