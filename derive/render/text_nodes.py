"""Text of the nodes beyond the layer builders', mixed into ``TextPrinter``.

``FeatureMapsText`` prints the feature-map nodes in CNN notes' notation (⋆ correlation,
* convolution, rot180); ``ProgramNodesText`` the primitives of user-written programs
(issue 14: axis 0 reduces over the rows, axis 1 over the columns).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sympy
from sympy.matrices.expressions import MatAdd

from derive.render.text_names import symbol_text
from derive.render.text_terms import named_value

#: How a reduction's axis reads: axis 0 reduces over the rows, axis 1 over the columns.
_AXIS_TEXT = {0: "rows", 1: "cols"}


class FeatureMapsText:
    """The feature-map nodes as text, as CNN notes write them."""

    if TYPE_CHECKING:
        # What the printer this is mixed into provides (``TextPrinter``; SymPy's
        # StrPrinter ships no type information).
        def _print(self, expr: object, **kwargs: object) -> str: ...

    def conv_options(self, e: Any) -> str:
        """``[s=2, p=1]`` where stride or padding differ from 1 and 0."""
        opts = []
        if e.stride != 1:
            opts.append(named_value("s", e.stride, self._print))
        if e.padding != 0:
            opts.append(named_value("p", e.padding, self._print))
        return f"[{', '.join(opts)}]" if opts else ""

    def operand(self, e: Any) -> str:
        """An operand of a sliding product, bracketed unless it is a name."""
        code = self._print(e)
        return code if hasattr(e, "name") else f"({code})"

    def _print_Correlate(self, e: Any) -> str:
        return f"{self.operand(e.kernel)} ⋆{self.conv_options(e)} {self.operand(e.input)}"

    def _print_ConvBackInput(self, e: Any) -> str:
        g, k = self.operand(e.cot), self._print(e.kernel)
        return f"({g} * rot180({k}))_full{self.conv_options(e)}"

    def _print_ConvBackKernel(self, e: Any) -> str:
        return f"{self.operand(e.input)} ⋆{self.conv_options(e)} {self.operand(e.cot)}"

    def _print_ChannelBias(self, e: Any) -> str:
        return self._print(e.bias)

    def _print_ChannelSum(self, e: Any) -> str:
        return f"Σₙᵢⱼ {self.operand(e.arg)}"

    def window(self, e: Any) -> str:
        """A pooling window as ``k×k`` (with its stride when it differs)."""
        k = self._print(e.size)
        return f"{k}×{k}" + ("" if e.stride == e.size else f", s={self._print(e.stride)}")

    def _print_Pool(self, e: Any) -> str:
        return f"{e.mode}pool[{self.window(e)}]({self._print(e.input)})"

    def _print_Unpool(self, e: Any) -> str:
        g = self._print(e.cot)
        if e.mode == "max":
            return f"up[{self.window(e)}]({g}) ⊙ argmax-mask({self._print(e.input)})"
        k2 = self._print(e.size**2)
        return f"(1/{k2}) up[{self.window(e)}]({g})"

    def _print_Flatten(self, e: Any) -> str:
        return f"flatten({self._print(e.input)})"

    def _print_Unflatten(self, e: Any) -> str:
        return f"unflatten({self._print(e.arg)})"

    def _print_Rot180(self, e: Any) -> str:
        return f"rot180({self._print(e.arg)})"

    def _print_Slide(self, e: Any) -> str:
        mode = "_full" if e.orient == "bwd" and e.pad != 0 else ""
        return f"({self.operand(e.p)} ⋆ {self.operand(e.q)}){mode}"

    def _print_UpSample(self, e: Any) -> str:
        return f"up({self._print(e.arg)})"

    def _print_MaxMask(self, e: Any) -> str:
        return f"1_max({self._print(e.arg)})"


class ProgramNodesText:
    """The issue-14 primitives as text (reductions, broadcasts, slices, masks, …)."""

    if TYPE_CHECKING:
        # What the printer this is mixed into provides (``TextPrinter``; SymPy's
        # StrPrinter ships no type information).
        def _print(self, expr: object, **kwargs: object) -> str: ...
        def operand(self, e: Any) -> str: ...

    def _print_Reduce(self, e: Any) -> str:
        name = {"sum": "Σ", "mean": "mean", "max": "max"}[e.op]
        return f"{name}_{_AXIS_TEXT[e.axis]}({self._print(e.arg)})"

    def _print_ReduceAll(self, e: Any) -> str:
        name = {"sum": "Σ", "mean": "mean", "max": "max"}[e.op]
        return f"{name}({self._print(e.arg)})"

    def _print_ArgMaxMask(self, e: Any) -> str:
        return f"argmax-mask_{_AXIS_TEXT[e.axis]}({self._print(e.arg)})"

    def _print_ArgMaxAllMask(self, e: Any) -> str:
        return f"argmax-mask({self._print(e.arg)})"

    def _print_Broadcast(self, e: Any) -> str:
        # NumPy's broadcasting, as courses write it: the row (column, scalar) itself; the
        # document says once that it is repeated, and the backward pass shows the sum.
        inner = self._print(e.arg)
        return f"({inner})" if isinstance(e.arg, (MatAdd, sympy.Add)) else inner

    def _print_Slice(self, e: Any) -> str:
        x = self._print(e.arg)
        x = x if isinstance(e.arg, sympy.MatrixSymbol) else f"({x})"
        span = f"{self._print(e.start)}:{self._print(e.stop)}"
        return f"{x}[:, {span}]" if e.axis == 1 else f"{x}[{span}, :]"

    def _print_Concat(self, e: Any) -> str:
        sep = " | " if e.axis == 1 else "; "
        return "[" + sep.join(self._print(p) for p in e.parts) + "]"

    def _print_Indicator(self, e: Any) -> str:
        op = {">=": "≥", "<=": "≤"}.get(e.op, e.op)
        return f"𝟙[{self._print(e.lhs)} {op} {self._print(e.rhs)}]"

    def _print_LogSoftmax(self, e: Any) -> str:
        return f"log softmax({self._print(e.arg)})"

    def _print_Norm(self, e: Any) -> str:
        return f"‖{self._print(e.arg)}‖"

    def _print_Trace(self, e: Any) -> str:
        return f"tr({self._print(e.arg)})"

    def _print_Inverse(self, e: Any) -> str:
        if isinstance(e.arg, sympy.Transpose) and hasattr(e.arg.arg, "name"):
            return f"{self._print(e.arg.arg)}⁻ᵀ"  # (Xᵀ)⁻¹ = X⁻ᵀ
        return f"{self.operand(e.arg)}⁻¹"

    def _print_LogDet(self, e: Any) -> str:
        return f"log |det({self._print(e.arg)})|"

    def _print_Determinant(self, e: Any) -> str:
        return f"det({self._print(e.arg)})"

    def _print_Labels(self, e: Any) -> str:
        return symbol_text(e.name)

    def _print_Pick(self, e: Any) -> str:
        s, y = self.operand(e.arg), self._print(e.labels)
        return f"{s}[i, {y}ᵢ]" if e.axis == 1 else f"{s}[{y}ⱼ, j]"

    def _print_OneHot(self, e: Any) -> str:
        return f"onehot({self._print(e.labels)})"
