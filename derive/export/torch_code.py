"""The PyTorch printer, in its own module: importing SymPy's TorchPrinter imports torch."""

from __future__ import annotations

from typing import Any

import sympy
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.pytorch import TorchPrinter

from derive.core.nodes import is_tensor
from derive.export.printers import ArrayNodes


# SymPy ships no type information: TorchPrinter is Any to mypy, hence the ignore
class TorchCode(ArrayNodes, TorchPrinter):  # type: ignore[misc]
    """PyTorch: SymPy's TorchPrinter taught our primitives; plain tensor ops (CUDA-safe)."""

    _module = "torch"
    _convops = "derive.export.convops_torch"

    def channel_sum(self, code: str) -> str:
        """The sum over samples and pixels, one number per channel (a conv bias gradient)."""
        return f"{code}.sum(dim=(0, 2, 3))"

    #: Max-pool outputs whose arg-max indices the forward pass keeps (name -> index name):
    #: the backward routes through them instead of pooling again (set by ``to_source``).
    pool_index: dict[Any, str] = {}

    def _print_Unpool(self, e: Any) -> str:
        out = next(
            (
                sym
                for sym, rhs in getattr(self, "producers", {}).items()
                if sym in self.pool_index and rhs.input == e.input and rhs.mode == e.mode
            ),
            None,
        )
        if out is None:
            return str(super()._print_Unpool(e))
        index = self.pool_index[out]
        return self.helper("maxpool2d_back_index", e.cot, e.input, index, e.size, e.stride)

    def __init__(self) -> None:
        TorchPrinter.__init__(self, {"fully_qualified_modules": True})

    def concat(self, codes: list[str], axis: int) -> str:
        """Matrices joined along an axis (``Concat``): torch.cat."""
        return f"{self._module_format('torch.cat')}(({', '.join(codes)},), dim={axis})"

    def reduce(self, op: str, code: str, axis: int) -> str:
        """``sum``/``mean``/``max`` over one dim, kept (``amax``: the values, no indices)."""
        name = "amax" if op == "max" else op
        return f"{self.fn(name)}({code}, dim={axis}, keepdim=True)"

    def reduce_all(self, op: str, code: str) -> str:
        """``sum``/``mean``/``max`` of every entry."""
        return f"{self.fn('amax' if op == 'max' else op)}({code})"

    def arange(self, n: str, like: str) -> str:
        """``0, 1, …, n−1`` on the device of ``like``."""
        return f"{self.fn('arange')}({n}, device={like}.device)"

    def numel(self, code: str) -> str:
        """The number of entries of a tensor."""
        return f"{code}.numel()"

    def argmax(self, code: str, axis: int | None) -> str:
        """The index of the first maximum (over one dim, kept; or of the flattened tensor)."""
        if axis is None:
            return f"{self.fn('argmax')}({code})"
        return f"{self.fn('argmax')}({code}, dim={axis}, keepdim=True)"

    def broadcast(self, code: str, rows: str, cols: str, scalar: bool) -> str:
        """A row, column or scalar repeated to rows×cols (a view, as NumPy's broadcast_to)."""
        if scalar:
            return f"{self.fn('as_tensor')}({code}).expand({rows}, {cols})"
        return f"{code}.expand({rows}, {cols})"

    def as_float(self, code: str) -> str:
        """A boolean mask as numbers of torch's default float type."""
        return f"{code}.to({self.fn('get_default_dtype')}())"

    def gather(self, s: str, index: str, axis: int) -> str:
        """``S`` at one index per row (dim 1) or per column (dim 0), the dim kept."""
        return f"{self.fn('gather')}({s}, {axis}, {index})"

    def reduce_sum(self, code: str, axis: int) -> str:
        """A sum over one axis that keeps it (the bias gradient ``δ 1``)."""
        return f"{self.fn('sum')}({code}, dim={axis}, keepdim=True)"

    def cast_like(self, code: str, ref: str) -> str:
        """A boolean mask as numbers of the reference array's dtype (and device)."""
        return f"{code}.to({ref}.dtype)"

    def scalar_like(self, code: str, ref: str) -> str:
        # torch.where makes Python numbers float32: give them the input's dtype and device
        """A Python number as a tensor like the reference (same dtype and device)."""
        return f"{ref}.new_tensor({code})"

    def softmax(self, code: str, axis: int) -> str:
        """The backend's softmax over one axis."""
        return f"{self.fn('softmax')}({code}, dim={axis})"

    def log_softmax(self, code: str, axis: int) -> str:
        """The backend's log-softmax over one axis (finite where softmax underflows)."""
        return f"{self.fn('log_softmax')}({code}, dim={axis})"

    def sigmoid(self, code: str) -> str:
        """The backend's overflow-free sigmoid."""
        return f"{self.fn('sigmoid')}({code})"

    def softplus(self, code: str) -> str:
        """The backend's overflow-free softplus, log(1 + e^x)."""
        return f"{self._module_format('torch.nn.functional.softplus')}({code})"

    def maximum(self, a: str, b: str) -> str:
        """The entrywise maximum of two operands."""
        if a in ("0", "0.0"):
            return f"{self.fn('clamp_min')}({b}, 0)"
        return f"{self.fn('maximum')}({a}, {b})"

    def extremum(self, kind: str, args: list[str], scalar: list[bool]) -> str:
        # torch.maximum/minimum take two tensors: numbers (and hyperparameters) clamp
        """torch.clamp_min/clamp_max where one operand is a number."""
        arrays = [a for a, s in zip(args, scalar) if not s]
        numbers = [a for a, s in zip(args, scalar) if s]
        if not arrays:
            return f"{kind}({', '.join(numbers)})"
        out = arrays[-1]
        for a in reversed(arrays[:-1]):
            out = f"{self.fn('maximum' if kind == 'max' else 'minimum')}({a}, {out})"
        for n in numbers:
            out = f"{self.fn('clamp_min' if kind == 'max' else 'clamp_max')}({out}, {n})"
        return out

    def pow_fallback(self, expr: Any, rational: bool) -> str:
        """SymPy's own power printing (the PyTorch printer takes no ``rational``)."""
        return str(TorchPrinter._print_Pow(self, expr))

    def _print_Function(self, expr: Any) -> str:
        if isinstance(expr, sympy.erf):
            return f"{self.fn('erf')}({self._print(expr.args[0])})"
        return str(super()._print_Function(expr))

    def _print_Mul(self, expr: Any) -> str:
        if is_tensor(expr):
            return ArrayNodes._print_Mul(self, expr)
        return str(NumPyPrinter._print_Mul(self, expr))

    def _print_Relational(self, expr: Any) -> str:
        op = {">": ">", "<": "<", ">=": ">=", "<=": "<="}[expr.rel_op]
        return f"({self._print(expr.lhs)} {op} {self._print(expr.rhs)})"
