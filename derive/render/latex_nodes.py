"""LaTeX of the nodes beyond the layer builders', mixed into ``DeriveLatexPrinter``.

``ProgramNodesLatex`` prints the primitives of user-written programs (issue 14: axis 0
reduces over the rows, axis 1 over the columns); ``FeatureMapsLatex`` the feature-map
nodes in the notation of CNN notes (⋆ correlation, * convolution, rot180).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sympy
from sympy.matrices.expressions import MatrixSymbol, Transpose

from derive.core.graph import split_name
from derive.render.text import named_value
from derive.spec.notation import HADAMARD, TRANSPOSE, Notation

FULL = r"\text{full}"


class ProgramNodesLatex:
    """The issue-14 primitives in LaTeX (reductions, broadcasts, slices, masks, …)."""

    if TYPE_CHECKING:
        # What the printer this is mixed into provides (``DeriveLatexPrinter``; SymPy's
        # LatexPrinter ships no type information).
        notation: Notation

        def _print(self, expr: object, **kwargs: object) -> str: ...
        def _print_Symbol(self, expr: sympy.Symbol, style: str = "plain") -> str: ...
        def indexed(self, base: str, idx: str, extra_sup: str = "") -> str: ...

    def _operand_tex(self, e: Any) -> str:
        code = self._print(e)
        if isinstance(e, (MatrixSymbol, sympy.Symbol)):
            return code
        return rf"\left({code}\right)"

    def _print_Reduce(self, e: Any) -> str:
        where = r"\text{rows}" if e.axis == 0 else r"\text{cols}"
        op = {"sum": r"\sum", "mean": r"\operatorname*{mean}", "max": r"\max"}[e.op]
        return rf"{op}_{{{where}}} {self._operand_tex(e.arg)}"

    def _print_ReduceAll(self, e: Any) -> str:
        op = {"sum": r"\sum", "mean": r"\operatorname{mean}", "max": r"\max"}[e.op]
        return rf"{op} {self._operand_tex(e.arg)}"

    def _print_ArgMaxMask(self, e: Any) -> str:
        where = r"\text{rows}" if e.axis == 0 else r"\text{cols}"
        return rf"\mathbb{{1}}_{{\arg\max_{{{where}}}}}\left({self._print(e.arg)}\right)"

    def _print_ArgMaxAllMask(self, e: Any) -> str:
        return rf"\mathbb{{1}}_{{\arg\max}}\left({self._print(e.arg)}\right)"

    def _print_Broadcast(self, e: Any) -> str:
        # broadcasting as courses write it (the document says so once)
        inner = self._print(e.arg)
        return rf"\left({inner}\right)" if isinstance(e.arg, (sympy.MatAdd, sympy.Add)) else inner

    def _print_Slice(self, e: Any) -> str:
        x = self._print(e.arg)
        x = x if isinstance(e.arg, sympy.MatrixSymbol) else rf"\left({x}\right)"
        span = f"{self._print(e.start)}:{self._print(e.stop)}"
        return rf"{x}_{{:,\,{span}}}" if e.axis == 1 else rf"{x}_{{{span},\,:}}"

    def _print_Concat(self, e: Any) -> str:
        sep = " & " if e.axis == 1 else r" \\ "
        body = sep.join(self._print(p) for p in e.parts)
        return rf"\begin{{bmatrix}} {body} \end{{bmatrix}}"

    def _print_Indicator(self, e: Any) -> str:
        op = {">": ">", ">=": r"\geq", "<": "<", "<=": r"\leq"}[e.op]
        return rf"\mathbb{{1}}\left[{self._print(e.lhs)} {op} {self._print(e.rhs)}\right]"

    def _print_LogSoftmax(self, e: Any) -> str:
        return rf"\log \operatorname{{softmax}}\left({self._print(e.arg)}\right)"

    def _print_Norm(self, e: Any) -> str:
        return rf"\left\lVert {self._print(e.arg)} \right\rVert_F"

    def _print_Trace(self, e: Any) -> str:
        return rf"\operatorname{{tr}}\left({self._print(e.arg)}\right)"

    def _print_Inverse(self, e: Any) -> str:
        if isinstance(e.arg, Transpose) and isinstance(e.arg.arg, MatrixSymbol):
            t = TRANSPOSE[self.notation.transpose]  # (Xᵀ)⁻¹ = X^{-T}
            return self.indexed(*split_name(e.arg.arg.name), extra_sup=f"-{t}")
        return rf"{self._operand_tex(e.arg)}^{{-1}}"

    def _print_LogDet(self, e: Any) -> str:
        return rf"\log\left|\det {self._operand_tex(e.arg)}\right|"

    def _print_Determinant(self, e: Any) -> str:
        return rf"\det {self._operand_tex(e.arg)}"

    def _print_Labels(self, e: Any) -> str:
        return self._print_Symbol(sympy.Symbol(e.name))

    def _print_Pick(self, e: Any) -> str:
        s, y = self._operand_tex(e.arg), self._print(e.labels)
        if "_" in y:  # y_{1}_i is a double subscript: {y_{1}}_i
            y = f"{{{y}}}"
        return rf"{s}_{{i, {y}_i}}" if e.axis == 1 else rf"{s}_{{{y}_j, j}}"

    def _print_OneHot(self, e: Any) -> str:
        return rf"\operatorname{{onehot}}\left({self._print(e.labels)}\right)"


class FeatureMapsLatex:
    """The feature-map nodes in LaTeX, as CNN notes write them."""

    if TYPE_CHECKING:
        # What the printer this is mixed into provides (``DeriveLatexPrinter``; SymPy's
        # LatexPrinter ships no type information).
        notation: Notation

        def _print(self, expr: object, **kwargs: object) -> str: ...
        def _print_Symbol(self, expr: sympy.Symbol, style: str = "plain") -> str: ...
        def indexed(self, base: str, idx: str, extra_sup: str = "") -> str: ...

    def _print_TensorSymbol(self, expr: Any) -> str:
        return self.indexed(*split_name(expr.name))

    def conv_options(self, e: Any, extra: str = "") -> str:
        """``_{s=2, p=1}`` where stride or padding differ from 1 and 0."""
        opts = [extra] if extra else []
        if e.stride != 1:
            opts.append(named_value("s", e.stride, self._print))
        if e.padding != 0:
            opts.append(named_value("p", e.padding, self._print))
        return "_{" + r",\,".join(opts) + "}" if opts else ""

    def operand(self, e: Any) -> str:
        """An operand of a sliding product, bracketed unless it is a name."""
        code = self._print(e)
        return code if hasattr(e, "name") else rf"\left({code}\right)"

    def _print_Correlate(self, e: Any) -> str:
        star = r"\star" + self.conv_options(e)
        return f"{self.operand(e.kernel)} {star} {self.operand(e.input)}"

    def _print_ConvBackInput(self, e: Any) -> str:
        inner = (
            rf"{self.operand(e.cot)} * \operatorname{{rot180}}\left({self._print(e.kernel)}\right)"
        )
        options = self.conv_options(e, FULL)
        return rf"\left({inner}\right){options}"

    def _print_ConvBackKernel(self, e: Any) -> str:
        star = r"\star" + self.conv_options(e)
        return f"{self.operand(e.input)} {star} {self.operand(e.cot)}"

    def _print_ChannelBias(self, e: Any) -> str:
        return self._print(e.bias)

    def _print_ChannelSum(self, e: Any) -> str:
        return rf"\sum_{{n,i,j}} \left({self._print(e.arg)}\right)_{{n,:,i,j}}"

    def window(self, e: Any) -> str:
        """A pooling window as a subscript ``_{k\\times k}`` (with its stride)."""
        k = self._print(e.size)
        extra = "" if e.stride == e.size else rf",\,s={self._print(e.stride)}"
        return rf"_{{{k}\times {k}{extra}}}"

    def _print_Pool(self, e: Any) -> str:
        return rf"\operatorname{{{e.mode}pool}}{self.window(e)}\left({self._print(e.input)}\right)"

    def _print_Unpool(self, e: Any) -> str:
        up = rf"\operatorname{{up}}{self.window(e)}\left({self._print(e.cot)}\right)"
        if e.mode == "max":
            op = HADAMARD[self.notation.hadamard]
            return rf"{up} {op} \mathbb{{1}}_{{\max}}\left({self._print(e.input)}\right)"
        return rf"\frac{{1}}{{{self._print(e.size**2)}}} {up}"

    def _print_Flatten(self, e: Any) -> str:
        return rf"\operatorname{{flatten}}\left({self._print(e.input)}\right)"

    def _print_Unflatten(self, e: Any) -> str:
        return rf"\operatorname{{unflatten}}\left({self._print(e.arg)}\right)"
