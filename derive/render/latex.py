"""LaTeX and Markdown derivations for notes: a SymPy ``LatexPrinter`` subclass and a document.

The printer writes our nodes the way lecture notes do (``\\sigma'(Z_{1})``, ``W_{2}^{T}
\\delta_{2}``, ``\\frac{1}{m} \\delta_{1} X^{T}``) in the user's notation. ``document``
lays a derivation out step by step: setup with every symbol's shape, forward pass, loss,
output delta and recurrence with the chain-rule step, gradients in matrix and index form,
the update, and optionally the exported code rendered by latexify.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import sympy
from sympy.matrices.expressions import MatrixSymbol, OneMatrix, Transpose
from sympy.printing.latex import LatexPrinter

from derive.core.derivation import PRINTERS, StepKind
from derive.core.graph import Kind, Role, split_name
from derive.core.nodes import (
    ChannelBias,
    ConvBackKernel,
    Correlate,
    Elementwise,
    Softmax,
    is_tensor,
    tensor_coeff,
)
from derive.render.outline import outline
from derive.render.text import ACCENTS, generic_f, hadamard_fraction, is_word_index, named_value
from derive.spec.activations import TABLE
from derive.spec.notation import DELTA_SYMBOLS, HADAMARD, TRANSPOSE, Notation

if TYPE_CHECKING:
    from derive.core.derivation import Derivation, Step

FORMATS = ("tex", "md", "fragment")
FULL = r"\text{full}"
#: Greek names printed as their letter (``gamma`` -> ``\gamma``; ``lam`` too, for λ), and
#: a cotangent's ``dgamma`` as ``d\gamma``; ``pi``, ``iota``, ``omicron`` stay words.
_GREEK = {
    name: "\\" + name
    for name in [
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "zeta",
        "eta",
        "theta",
        "kappa",
        "lambda",
        "mu",
        "nu",
        "xi",
        "rho",
        "sigma",
        "tau",
        "upsilon",
        "phi",
        "chi",
        "psi",
        "omega",
    ]
}
_GREEK["lam"] = r"\lambda"
_GREEK.update({"d" + k: "d" + v for k, v in list(_GREEK.items()) if "d" + k not in _GREEK})


def _tex_index(idx: str) -> str:
    return idx.replace(" ", "")


#: Entrywise functions of a program as LaTeX writes them (``\\sqrt{…}``, ``\\exp(…)``).
_FUNCTIONS = {
    "sqrt": r"\sqrt{{{}}}",
    "exp": r"\exp\left({}\right)",
    "log": r"\log\left({}\right)",
    "abs": r"\left\lvert {} \right\rvert",
}


def _word_name(name: str) -> str | None:
    """A program's name whose part after ``_`` is a word: ``x_hat`` -> ``\\hat{x}``,
    ``sample_var`` -> ``\\mathit{sample\\_var}`` (one name, not ``sample`` with a subscript
    ``var``); None for an indexed name (``W_2``, ``h_t``, ``W_{hh}``)."""
    base, idx = split_name(name)
    if not is_word_index(idx):
        return None
    if idx in ACCENTS and len(base) == 1:
        return rf"\{idx}{{{_GREEK.get(base, base)}}}"
    return r"\mathit{" + name.replace("_", r"\_") + "}"


#: A scalar multiple or a sum of feature maps (SymPy's own Mul and Add).
_SCALED = (sympy.Add, sympy.Mul)


# SymPy ships no type information: LatexPrinter is Any to mypy, hence the ignore
class DeriveLatexPrinter(LatexPrinter):  # type: ignore[misc]
    """Our matrix expressions in LaTeX, in the user's notation."""

    printmethod = "_derive_latex"

    if TYPE_CHECKING:
        # SymPy ships no type information, so to mypy its printers are Any; these are the
        # signatures (as SymPy documents them) of the inherited methods this class calls.
        def _print(self, expr: object, **kwargs: object) -> str: ...
        def doprint(self, expr: object) -> str: ...

    def __init__(self, notation: Notation | None = None) -> None:
        super().__init__({"mul_symbol": None})
        self.notation = notation or Notation()

    # --- symbols
    def base_tex(self, base: str) -> str:
        """The LaTeX of a symbol's base name in this notation (``\\delta`` or ``dZ``)."""
        if base == "delta":
            return DELTA_SYMBOLS[self.notation.delta]
        return _GREEK.get(base, base)

    def indexed(self, base: str, idx: str, extra_sup: str = "") -> str:
        """``W`` + ``2`` -> ``W_{2}`` / ``W^{[2]}`` / ``W^{(2)}`` (``extra_sup``: e.g. T)."""
        b = self.base_tex(base)
        style = self.notation.index
        if not idx:
            return f"{b}^{{{extra_sup}}}" if extra_sup else b
        i = _tex_index(idx)
        if style == "subscript":
            out = f"{b}_{{{i}}}"
            return f"{out}^{{{extra_sup}}}" if extra_sup else out
        wrap = f"[{i}]" if style == "bracket" else f"({i})"
        return f"{b}^{{{wrap}{extra_sup}}}"

    def _print_MatrixSymbol(self, expr: MatrixSymbol) -> str:
        word = _word_name(expr.name)
        return word if word is not None else self.indexed(*split_name(expr.name))

    def _print_Symbol(self, expr: sympy.Symbol, style: str = "plain") -> str:
        word = _word_name(expr.name)
        if word is not None:
            return word
        base, idx = split_name(expr.name)
        b = _GREEK.get(base, base)
        return f"{b}_{{{_tex_index(idx)}}}" if idx else b

    def _print_Transpose(self, expr: Transpose) -> str:
        t = TRANSPOSE[self.notation.transpose]
        if isinstance(expr.arg, MatrixSymbol):
            return self.indexed(*split_name(expr.arg.name), extra_sup=t)
        return rf"\left({self._print(expr.arg)}\right)^{{{t}}}"

    # --- linear algebra
    def coefficient(self, coeff: Any) -> str:
        """A scalar factor in front of a product (``\\frac{1}{m}``, ``-``, nothing for 1)."""
        if coeff == 1:
            return ""
        if coeff == -1:
            return "-"
        sign = "-" if coeff.could_extract_minus_sign() else ""
        mag = -coeff if sign else coeff
        body = self._print(mag)
        if mag.is_Add:
            body = rf"\left({body}\right)"
        return f"{sign}{body} "

    def _factor(self, f: Any) -> str:
        code = self._print(f)
        if isinstance(f, sympy.MatAdd):
            return rf"\left({code}\right)"
        return code

    def _print_MatMul(self, expr: Any) -> str:
        coeff, factors = expr.as_coeff_matrices()
        return self.coefficient(coeff) + " ".join(self._factor(f) for f in factors)

    def _print_MatAdd(self, expr: Any) -> str:
        from derive.render.text import common_factor, join_signed

        coeff, terms = common_factor(expr)
        codes = [r"\mathbf{1}" if isinstance(t, OneMatrix) else self._print(t) for t in terms]
        body = join_signed(codes, " - ")
        return body if coeff == 1 else rf"{self.coefficient(coeff)}\left({body}\right)"

    def _print_OneMatrix(self, expr: Any) -> str:
        rows, cols = expr.shape
        t = TRANSPOSE[self.notation.transpose]
        if cols == 1:
            return rf"\mathbf{{1}}_{{{self._print(rows)}}}"
        if rows == 1:
            return rf"\mathbf{{1}}_{{{self._print(cols)}}}^{{{t}}}"
        return rf"\mathbf{{1}}_{{{self._print(rows)}}}\mathbf{{1}}_{{{self._print(cols)}}}^{{{t}}}"

    def _print_HadamardProduct(self, expr: Any) -> str:
        """``X ⊙ Y`` of matrices or feature maps; a sum or product factor is bracketed."""
        op = f" {HADAMARD[self.notation.hadamard]} "
        num, den = hadamard_fraction(expr)
        parts = []
        for a in [*num, *den]:
            code = self._print(a)
            if isinstance(a, (sympy.MatAdd, sympy.MatMul, sympy.HadamardProduct, *_SCALED)):
                code = rf"\left({code}\right)"
            parts.append(code)
        out = op.join(parts[: len(num)])
        for code in parts[len(num) :]:  # X ⊙ Y^∘⁻¹ reads X ⊘ Y (entrywise division)
            out += rf" \oslash {code}"
        return out

    _print_TensorHadamard = _print_HadamardProduct

    def hadamard_operand(self, expr: Any) -> str:
        """One side of a ``⊙`` written by hand (the chain-rule step): bracketed like a factor
        of a printed Hadamard product, so ``∂C/∂A ⊙ (1 − A^{∘2})`` keeps its parentheses."""
        code = self._print(expr)
        if isinstance(
            expr, (sympy.MatAdd, sympy.MatMul, sympy.HadamardProduct, sympy.Add, sympy.Mul)
        ):
            code = rf"\left({code}\right)"
        return code

    def _print_HadamardPower(self, expr: Any) -> str:
        base = self._print(expr.base)
        if not isinstance(expr.base, MatrixSymbol):
            base = rf"\left({base}\right)"
        elif "^" in base:  # X^{[2]}: a second superscript needs its own group
            base = f"{{{base}}}"
        return rf"{base}^{{\circ {self._print(expr.exp)}}}"

    # --- activations and losses
    def activation_name(self, name: str) -> str:
        """How an activation is written in this notation (``\\sigma``, a user's name)."""
        default = TABLE[name].tex if name in TABLE else _GREEK.get(name, name)
        return self.notation.activation_tex(name, default)

    def _print_ElementwiseOf(self, expr: Any) -> str:
        if expr.order == 0 and expr.name in _FUNCTIONS:
            return _FUNCTIONS[expr.name].format(self._print(expr.arg))
        primes = "'" * expr.order
        return rf"{self.activation_name(expr.name)}{primes}\left({self._print(expr.arg)}\right)"

    def _print_Softmax(self, expr: Softmax) -> str:
        return rf"\operatorname{{softmax}}\left({self._print(expr.arg)}\right)"

    def _print_FrobeniusSq(self, expr: Any) -> str:
        return rf"\left\lVert {self._print(expr.arg)} \right\rVert_F^2"

    def _print_CrossEntropy(self, expr: Any) -> str:
        y, a = self._print(expr.target), self._print(expr.probs)
        return rf"-\sum_{{j,i}} \left({y} \odot \log {a}\right)_{{ji}}"

    def _print_BinaryCrossEntropy(self, expr: Any) -> str:
        y, a = self._print(expr.target), self._print(expr.probs)
        return (
            rf"-\sum_{{j,i}} \left({y} \odot \log {a} + (\mathbf{{1}} - {y}) \odot "
            rf"\log(\mathbf{{1}} - {a})\right)_{{ji}}"
        )

    def _print_PartialOf(self, expr: Any) -> str:
        return rf"\frac{{\partial {self._print(expr.of)}}}{{\partial {self._print(expr.wrt)}}}"

    # --- issue 14 primitives (axis 0 reduces over the rows, axis 1 over the columns)
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

    # --- feature maps (the notation of CNN notes: ⋆ correlation, * convolution, rot180)
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

    def _print_Mul(self, expr: Any) -> str:
        if is_tensor(expr):
            coeff, rest = tensor_coeff(expr)
            body = self._print(rest)
            if isinstance(rest, sympy.Add):
                body = rf"\left({body}\right)"
            return self.coefficient(coeff) + body
        if expr.has(sympy.MatrixExpr):
            num, den = sympy.fraction(expr)
            if den.has(sympy.MatrixExpr):
                # g/‖X‖ (SymPy's _print_Pow sends x**-1 here too): a scalar node below
                return rf"\frac{{{self._print(num)}}}{{{self._print(den)}}}"
            coeff = sympy.Mul(*[f for f in expr.args if not f.has(sympy.MatrixExpr)])
            rest = [f for f in expr.args if f.has(sympy.MatrixExpr)]
            parts = []
            for r in rest:
                code = self._print(r)
                if r.is_Add:
                    code = rf"\left({code}\right)"
                parts.append(code)
            body = " ".join(parts)
            if body.startswith("-") and not coeff.could_extract_minus_sign():
                return "-" + self.coefficient(coeff) + body[1:]
            return self.coefficient(coeff) + body
        out: str = super()._print_Mul(expr)
        return out

    def _print_Add(self, expr: Any, order: Any = None) -> str:
        if is_tensor(expr):
            from derive.render.text import join_signed

            terms = sorted(
                expr.args,
                key=lambda t: (t.could_extract_minus_sign(), isinstance(t, ChannelBias)),
            )
            codes = [self._print(t) for t in terms]
            return join_signed([c.replace("- ", "-", 1) for c in codes], " - ")
        if not expr.has(sympy.MatrixExpr):
            # a size like w - q + 1 (not -q + w + 1): symbols first, subtracted terms
            # next, the number last, as the text output writes it
            from derive.render.text import join_signed, scalar_terms

            codes = [self._print(t) for t in scalar_terms(expr)]
            return join_signed([c.replace("- ", "-", 1) for c in codes], " - ")
        # the data term (the one with the targets Y) first, weight decay after it
        terms = sorted(
            expr.args, key=lambda t: not any(s.name == "Y" for s in t.atoms(MatrixSymbol))
        )
        out = self._print(terms[0])
        for t in terms[1:]:
            code = self._print(t)
            out += f" - {code[1:]}" if code.startswith("-") else f" + {code}"
        return out


def latex(expr: Any, notation: Notation | None = None) -> str:
    """One expression in LaTeX."""
    return DeriveLatexPrinter(notation).doprint(expr)


def step_latex(step: Step, notation: Notation | None = None, align: bool = False) -> str:
    """``lhs = rhs`` of one step (``\\gets`` for updates); ``align`` puts ``&`` before it."""
    p = DeriveLatexPrinter(notation)
    eq = r"\gets" if step.kind is StepKind.UPDATE else "="
    return f"{p.doprint(step.lhs)} {'&' if align else ''}{eq} {p.doprint(step.rhs)}"


# --------------------------------------------------------------------------- index form


def _entry(p: DeriveLatexPrinter, sym: MatrixSymbol, i: str, j: str) -> str:
    """``delta_l`` entry (j, i) -> ``\\delta^{(l)}_{ji}``; ``X`` -> ``x_{ji}``."""
    base, idx = split_name(sym.name)
    low = {"delta": p.base_tex("delta"), "lambda": r"\lambda"}.get(base, base.lower())
    if p.notation.delta == "dZ" and base == "delta":
        low = "dz"
    if idx:
        wrap = f"[{_tex_index(idx)}]" if p.notation.index == "bracket" else f"({_tex_index(idx)})"
        return f"{low}^{{{wrap}}}_{{{i}{j}}}"
    return f"{low}_{{{i}{j}}}"


def index_form(step: Step, batch: Any, notation: Notation | None = None) -> str | None:
    """The gradient step entry by entry, derived from its matrix form.

    ``c P Q`` becomes ``c Σ_i P_{ji} Q_{ik}`` (transposes swap indices, ones vectors drop);
    returns None for a form it cannot index (it never guesses).
    """
    p = DeriveLatexPrinter(notation)
    wrt = step.lhs.wrt
    rows, cols = wrt.shape
    out_i, out_j = ("j", "k") if rows != 1 and cols != 1 else ("j", "")
    if rows == 1:
        out_i, out_j = "", "k"
    from derive.render.text import ordered_terms

    terms = ordered_terms(step.rhs) if isinstance(step.rhs, sympy.MatAdd) else [step.rhs]
    pieces = []
    for term in terms:
        coeff, factors = term.as_coeff_matrices() if isinstance(term, sympy.MatMul) else (1, [term])
        mats = [f for f in factors if not isinstance(f, OneMatrix)]
        ones = [f for f in factors if isinstance(f, OneMatrix)]

        def ent(f: Any, a: str, b: str) -> str | None:
            if isinstance(f, Transpose) and isinstance(f.arg, MatrixSymbol):
                return _entry(p, f.arg, b, a)
            if isinstance(f, MatrixSymbol):
                return _entry(p, f, a, b)
            return None

        sum_tex = rf"\sum_{{i=1}}^{{{p._print(batch)}}}"
        if len(mats) == 1 and not ones:
            body = ent(mats[0], out_i, out_j)
        elif len(mats) == 2 and not ones:
            left, right = ent(mats[0], out_i, "i"), ent(mats[1], "i", out_j)
            body = None if left is None or right is None else f"{sum_tex} {left} {right}"
        elif len(mats) == 1 and len(ones) == 1:
            # 1ᵀ M sums M's rows over samples; M 1 sums its columns
            left_ones = factors[0] is ones[0]
            body = ent(mats[0], "i", out_j) if left_ones else ent(mats[0], out_i, "i")
            body = None if body is None else f"{sum_tex} {body}"
        else:
            body = None
        if body is None:
            return None
        c = p.coefficient(sympy.sympify(coeff))  # safe: a SymPy number of ours
        pieces.append(f"{c}{body}")
    lhs = rf"\frac{{\partial L}}{{\partial {_entry(p, wrt, out_i, out_j)}}}"
    rhs = pieces[0]
    for piece in pieces[1:]:
        rhs += f" - {piece[1:]}" if piece.startswith("-") else f" + {piece}"
    return f"{lhs} = {rhs}"


# --------------------------------------------------------------------------- the document


def _shape_tex(p: DeriveLatexPrinter, sym: Any) -> str:
    dims = [p._print(d) if d.is_Atom else rf"\left({p._print(d)}\right)" for d in sym.shape]
    return r" \times ".join(dims)


#: LaTeX's special characters in text mode and how to typeset each as itself.
_TEX_TEXT = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "#": r"\#",
    "$": r"\$",
    "%": r"\%",
    "&": r"\&",
    "_": r"\_",
}


def _escape(text: str, fmt: str = "tex") -> str:
    """User text (a spec name) as literal text: every special character escaped, so a
    name like ``\\input{/etc/hostname}`` is printed, never run; control characters and
    line breaks become spaces. Markdown escapes its own punctuation instead."""
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    if fmt == "md":
        return re.sub(r"([\\`*_{}\[\]()<>#+\-.!|$~^&%])", r"\\\1", text)
    return "".join(_TEX_TEXT.get(ch, ch) for ch in text)


#: The longest right side (LaTeX source characters) kept on one line of a display.
LONG = 200


def top_level_terms(tex: str) -> list[str]:
    """``a + b - c`` -> ``["a", "+ b", "- c"]``: split at the signs outside every brace and
    ``\\left … \\right`` pair."""
    terms: list[str] = []
    depth, start, i = 0, 0, 0
    while i < len(tex):
        if tex.startswith("\\left", i):
            depth, i = depth + 1, i + 5
            continue
        if tex.startswith("\\right", i):
            depth, i = depth - 1, i + 6
            continue
        ch = tex[i]
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth == 0 and tex.startswith((" + ", " - "), i) and i > start:
            terms.append(tex[start:i].strip())
            start = i + 1
        i += 1
    terms.append(tex[start:].strip())
    return terms


def _outer_parens(tex: str) -> tuple[str, str] | None:
    """``c \\left(x\\right)`` -> ``("c ", "x")`` when the parentheses close at the end."""
    if not tex.endswith(r"\right)"):
        return None
    depth = 0
    i = 0
    while i < len(tex):
        if tex.startswith(r"\left(", i):
            if depth == 0:
                inner = tex[i + 6 : -7]
                closes_at_end = i + 6 + len(inner) + 7 == len(tex)
                balanced = top_level_terms(inner) and _balanced(inner)
                return (tex[:i], inner) if closes_at_end and balanced else None
            depth += 1
            i += 6
            continue
        if tex.startswith(r"\right", i):
            depth -= 1
            i += 6
            continue
        depth += {"{": 1, "}": -1}.get(tex[i], 0)
        i += 1
    return None


def _balanced(tex: str) -> bool:
    """Every ``\\left`` closed by a ``\\right`` in order, every brace closed."""
    depth = 0
    for i in range(len(tex)):
        if tex.startswith(r"\left", i) or tex[i] == "{":
            depth += 1
        elif tex.startswith(r"\right", i) or tex[i] == "}":
            depth -= 1
        if depth < 0:
            return False
    return depth == 0


def _broken(lhs: str, rhs: str) -> list[tuple[str, str]]:
    """One display row, or a long one as several: ``= a`` then ``\\quad + b``, …"""
    if len(rhs) <= LONG or not rhs.startswith("= "):
        return [(lhs, rhs)]
    body, opening, closing = rhs[2:], "", ""
    terms = top_level_terms(body)
    outer = _outer_parens(body) if len(terms) == 1 else None
    if outer is not None:  # c (a + b): break inside, with parentheses that span lines
        prefix, inner = outer
        terms = top_level_terms(inner)
        opening, closing = prefix + r"\Bigl(", r" \Bigr)"
    if len(terms) == 1:
        return [(lhs, rhs)]
    terms[-1] += closing
    rows, current = [], "= " + opening + terms[0]
    for term in terms[1:]:
        if len(current) + len(term) > LONG:
            rows.append(current)
            current = "\\quad " + term
        else:
            current += " " + term
    rows.append(current)
    return [(lhs, rows[0]), *(("", r) for r in rows[1:])]


class _Doc:
    """Collects paragraphs and display math, then writes tex, md or a fragment."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.parts: list[str] = []

    def heading(self, text: str) -> None:
        if self.fmt == "md":
            self.parts.append(f"## {text}")
        else:
            self.parts.append(rf"\subsection*{{{text}}}")

    def para(self, text: str) -> None:
        """Prose with inline math written as ``$...$`` in both formats."""
        self.parts.append(text)

    def display(self, lines: list[tuple[str, str]]) -> None:
        """Aligned equations: (left side, ``= right side``) pairs; a right side too long
        for the page continues on the next lines, one top-level term a line."""
        lines = [row for lhs, rhs in lines for row in _broken(lhs, rhs)]
        body = " \\\\\n".join(f"{lhs} &{rhs}" for lhs, rhs in lines)
        if self.fmt == "md":
            self.parts.append(f"$$\n\\begin{{aligned}}\n{body}\n\\end{{aligned}}\n$$")
        else:
            self.parts.append(f"\\begin{{align*}}\n{body}\n\\end{{align*}}")

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        if self.fmt == "md":
            out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            out += ["| " + " | ".join(r) + " |" for r in rows]
            self.parts.append("\n".join(out))
        else:
            spec = "l" * len(header)
            out = [
                rf"\begin{{center}}\begin{{tabular}}{{{spec}}}",
                " & ".join(header) + r" \\",
                r"\hline",
            ]
            out += [" & ".join(r) + r" \\" for r in rows]
            out.append(r"\end{tabular}\end{center}")
            self.parts.append("\n".join(out))

    def raw(self, text: str) -> None:
        self.parts.append(text)


PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[margin=2.2cm]{geometry}
\usepackage{amsmath,amssymb}
%(packages)s\allowdisplaybreaks
\begin{document}
"""


def document(
    d: Derivation,
    fmt: str = "tex",
    notation: Notation | None = None,
    code: str | None = None,
) -> str:
    """The derivation as a standalone LaTeX document, a Markdown page or a LaTeX fragment.

    ``code``, the exported module's source (as the formulas say, ``fast=False``), adds a
    last section that renders its ``_backprop`` for reading.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    nt = notation or d.network.notation
    p = DeriveLatexPrinter(nt)
    doc = _Doc(fmt)
    out_form = nt.output_form

    def tex(expr: Any) -> str:
        return p.doprint(d.through_output(expr) if out_form else expr)

    def factor(expr: Any) -> str:
        return p.hadamard_operand(d.through_output(expr) if out_form else expr)

    net, prog = d.network, d.program
    column = prog.column
    m = p._print(prog.batch)
    n_layers = d.depth
    cost = "C" if d.per_sample else "L"

    # 1. setup
    doc.heading("1. Setup")
    samples = "columns" if column else "rows"
    z, w, b = (p.indexed(k, "l") for k in ("Z", "W", "b"))
    a_prev = p.indexed("A", "l-1")
    t = TRANSPOSE[nt.transpose]
    conv_eq = (
        rf"${z} = {w} {a_prev} + {b} \mathbf{{1}}_{{{m}}}^{{{t}}}$"
        if column
        else rf"${z} = {a_prev} {w} + \mathbf{{1}}_{{{m}}} {b}$"
    )
    doc.para(
        f"The network has {n_layers} layer{'s' if n_layers > 1 else ''}; a batch of "
        f"${m}$ samples is stored as {samples} (the {net.convention} convention, {conv_eq}), "
        f"with ${p.indexed('A', '0')} = X$."
    )
    rows = []
    for par in prog.parameters:
        meaning = _MEANING[par.role, len(par.symbol.shape) == 2].format(par.layer)
        rows.append([f"${p.doprint(par.symbol)}$", f"${_shape_tex(p, par.symbol)}$", meaning])
    for sym, meaning in zip(prog.inputs, ("inputs", "targets")):
        rows.append([f"${p.doprint(sym)}$", f"${_shape_tex(p, sym)}$", meaning])
    kinds = {
        Kind.AFFINE: "pre-activation",
        Kind.POOL: "pooled maps",
        Kind.FLATTEN: "flattened maps",
        Kind.STAGE: "intermediate",
    }
    for eq in prog.forward_equations:
        rows.append(
            [
                f"${p.doprint(eq.out)}$",
                f"${_shape_tex(p, eq.out)}$",
                kinds.get(eq.kind, "activation"),
            ]
        )
    doc.table(["symbol", "shape", "meaning"], rows)
    if net.is_conv:
        _conv_setup(doc, p)
    delta_sym = p.indexed("delta", "l")
    if d.per_sample:
        doc.para(
            rf"The loss is $L = s\,C$ with $C = \sum_{{i=1}}^{{{m}}} C_i$ the sum of the "
            rf"per-sample losses (here $s = {p._print(prog.scale)}$). The delta is per sample: "
            rf"${delta_sym} = \frac{{\partial C}}{{\partial {p.indexed('Z', 'l')}}}$ stacks "
            rf"the errors $\partial C_i / \partial z_l$ of the samples, with no batch factor."
        )
    else:
        doc.para(
            rf"The delta is the derivative of the whole batch loss: "
            rf"${delta_sym} = \frac{{\partial L}}{{\partial {p.indexed('Z', 'l')}}}$."
        )

    sections = outline(d)

    # 2. forward
    doc.heading("2. Forward pass")
    doc.display([(p.doprint(st.lhs), f"= {p.doprint(st.rhs)}") for st in sections.forward])

    # 3. loss
    doc.heading("3. Loss")
    doc.display([("L", f"= {p.doprint(sections.loss.rhs)}")])

    # 4. output delta
    doc.heading("4. Output delta")
    out_delta = sections.output_delta
    a_eq = prog.equation(prog.output)
    z_out = prog.named[f"Z_{n_layers}"]
    first = rf"\frac{{\partial {cost}}}{{\partial {p.doprint(z_out)}}}"
    steps = [(p.doprint(out_delta.lhs), f"= {first}")]
    if n_layers not in d.cotangents:
        doc.para(
            "The output activation and the loss are differentiated together: the "
            + (
                "softmax Jacobian and the derivative of the logarithm cancel (each target "
                "sums to 1),"
                if isinstance(a_eq.rhs, Softmax)
                else "sigmoid's derivative cancels the denominator of the cross-entropy's,"
            )
            + " so the error is the difference between output and target."
        )
    else:
        da = d.cotangents[n_layers]
        if isinstance(a_eq.rhs, Elementwise):
            fprime = a_eq.rhs.derivative()
            if isinstance(fprime, OneMatrix):
                steps.append(("", f"= {p.doprint(da.lhs)}"))
            else:
                steps.append(
                    ("", f"= {p.doprint(da.lhs)} {HADAMARD[nt.hadamard]} {factor(fprime)}")
                )
        else:
            doc.para(
                "The softmax Jacobian is applied to each sample's column of "
                rf"${p.doprint(da.lhs)} = {tex(da.rhs)}$."
            )
        if not isinstance(a_eq.rhs, Softmax) and len(tex(da.rhs)) > LONG:
            doc.para("The loss gives")
            doc.display([(p.doprint(da.lhs), f"= {tex(da.rhs)}")])
            doc.para("so")
        elif not isinstance(a_eq.rhs, Softmax):
            doc.para(rf"The loss gives ${p.doprint(da.lhs)} = {tex(da.rhs)}$, so")
    steps.append(("", f"= {tex(out_delta.rhs)}"))
    doc.display(steps)

    # 5. recurrence
    doc.heading("5. The delta recurrence")
    g = d.generic
    if g is None and d.generic_conv is None and n_layers == 1:
        doc.para("With a single layer there is no hidden layer and no recurrence.")
    elif g is None and d.generic_conv is None:
        # residual, normalisation or dropout layers: each layer's delta is its own formula
        doc.para(
            "The layers differ (a skip, a normalisation or a dropout), so there is no "
            "one-line recurrence; each layer's delta, from the output down:"
        )
        each: list[tuple[str, str]] = []
        for st in sections.deltas:
            rhs = st.rhs
            stages = sections.stages.get(st.layer + 1, [])
            each += [(p.doprint(stage.lhs), f"= {tex(stage.rhs)}") for stage in stages]
            if stages and st.layer in d.cotangents:  # δ below a norm: via its input's cotangent
                rhs = rhs.xreplace({d.cotangents[st.layer].rhs: stages[-1].lhs})
            each.append((p.doprint(st.lhs), f"= {tex(rhs)}"))
        doc.display(each)
    if g is not None:
        gp = g.program
        z_l, a_l = gp.named["Z_l"], gp.named["A_l"]
        z_next = gp.equation(gp.named["Z_{l+1}"])
        doc.para(
            rf"For a hidden {'dense ' if net.is_conv else ''}layer $l$"
            + (
                " (its activation written $f$: the layers' differ)"
                if generic_f(d, g.delta.rhs)
                else ""
            )
            + ", "
            rf"${p.doprint(z_next.out)} = {p.doprint(z_next.rhs)}$ "
            rf"depends on ${p.doprint(a_l)}$, so "
            rf"${p.doprint(g.cotangent_a.lhs)} = {tex(g.cotangent_a.rhs)}$, and"
        )
        fprime = gp.equation(a_l).rhs.derivative()
        rec = [
            (p.doprint(g.delta.lhs), rf"= \frac{{\partial {cost}}}{{\partial {p.doprint(z_l)}}}"),
            ("", f"= {p.doprint(g.cotangent_a.lhs)} {HADAMARD[nt.hadamard]} {factor(fprime)}"),
            ("", f"= {tex(g.delta.rhs)}"),
        ]
        doc.display(rec)
    if d.generic_conv is not None:
        _conv_recurrence(doc, p, d, cost, tex)
    if n_layers > 1 and (g is not None or d.generic_conv is not None):
        which = "layer's" if net.is_conv else "hidden layer's"
        doc.para(f"Each {which} instance, from the output down:")
        doc.display([(p.doprint(st.lhs), f"= {tex(st.rhs)}") for st in sections.deltas])

    # 6. gradients
    doc.heading("6. Gradients")
    if d.generic_conv is not None:
        gc = d.generic_conv
        doc.para(f"For any convolutional layer $l$ (with ${p.indexed('A', '0')} = X$):")
        doc.display([(p.doprint(s.lhs), f"= {tex(s.rhs)}") for s in (gc.grad_w, gc.grad_b)])
        doc.para("Entry by entry (entries of $A$ outside the image, in the padding, are 0):")
        doc.display(conv_index_form(p, gc))
    if g is not None:
        doc.para(
            f"For any {'dense ' if net.is_conv else ''}layer $l$"
            + ("" if net.is_conv else f" (with ${p.indexed('A', '0')} = X$)")
            + ":"
        )
        doc.display([(p.doprint(s.lhs), f"= {tex(s.rhs)}") for s in (g.grad_w, g.grad_b)])
        idx_steps: tuple[Step, ...] = (g.grad_w, g.grad_b)
    else:
        dense_no = net.first_dense
        idx_steps = tuple(st for st in sections.gradients if st.layer == dense_no)
    index_lines = [index_form(s, prog.batch, nt) for s in idx_steps]
    if all(index_lines):
        doc.para("Entry by entry:")
        doc.display(
            [
                (line.split(" = ", 1)[0], "= " + line.split(" = ", 1)[1])
                for line in index_lines
                if line
            ]
        )
    doc.para("Layer by layer:")
    doc.display([(p.doprint(st.lhs), f"= {tex(st.rhs)}") for st in sections.gradients])

    # 7. update
    doc.heading("7. Gradient descent")
    doc.para(r"With learning rate $\alpha$:")
    doc.display([(p.doprint(s.lhs), rf"\gets {p.doprint(s.rhs)}") for s in sections.updates])

    if code is not None:
        doc.heading("8. The exported code")
        doc.para(
            "The NumPy module that `derive export` writes, rendered for reading by latexify "
            "($\\odot$: elementwise product; juxtaposition: matrix product; "
            "$\\mathbb{1}(\\cdot)$: 1 where the condition holds, else 0; "
            "$\\sum_{\\text{axis } k}$: the sum along axis $k$; "
            "$\\operatorname{size}_k(X)$: the size of $X$ along axis $k$):"
        )
        doc.raw(code_latex(code, fmt))

    title = f"Backpropagation for {_escape(net.name, fmt)}"
    body = "\n\n".join(doc.parts)
    if fmt == "md":
        return f"# {title}\n\n{body}\n"
    if fmt == "fragment":
        return body + "\n"
    packages = "\\usepackage{algpseudocode}\n" if code is not None else ""
    return (
        PREAMBLE % {"packages": packages}
        + rf"\section*{{{title}}}"
        + "\n\n"
        + body
        + "\n\n\\end{document}\n"
    )


def _conv_setup(doc: _Doc, p: DeriveLatexPrinter) -> None:
    """What the CNN symbols mean: ⋆, *, rot180, and the delta of a layer without Z."""
    doc.para(
        r"Feature maps are tensors of shape samples $\times$ channels $\times$ height "
        r"$\times$ width, kernels $K$ are filters $\times$ channels $\times\, k \times k$. "
        r"$K \star A$ is the cross-correlation with the channels summed, "
        r"$(K \star A)_{n,o,i,j} = \sum_{c,u,v} K_{o,c,u,v}\, A_{n,c,si+u-p,\,sj+v-p}$ "
        r"(stride $s$, zero padding $p$, written as subscripts where they are not 1 and 0); "
        r"$*$ is the convolution, a correlation with the kernel rotated by 180 degrees "
        r"($\operatorname{rot180}$), and $(\cdot)_{\text{full}}$ pads by $k-1$ so every "
        r"overlap counts. A pooling or flatten layer has no pre-activation: its "
        rf"${p.indexed('delta', 'l')}$ is the derivative with respect to its output "
        rf"${p.indexed('A', 'l')}$."
    )


def _conv_recurrence(doc: _Doc, p: DeriveLatexPrinter, d: Derivation, cost: str, tex: Any) -> None:
    """The conv-to-conv recurrence with its chain-rule step, and what pooling does."""
    gc = d.generic_conv
    assert gc is not None
    gp = gc.program
    z_l, a_l = gp.named["Z_l"], gp.named["A_l"]
    z_next = gp.equation(gp.named["Z_{l+1}"])
    corr = next((a for a in z_next.rhs.args if isinstance(a, Correlate)), None)
    doc.para(
        "Between two convolutional layers"
        + (" ($f$ the activation of layer $l$)" if generic_f(d, gc.delta.rhs) else "")
        + rf", ${p.doprint(z_next.out)} = "
        rf"{p.doprint(z_next.rhs)}$ depends on ${p.doprint(a_l)}$ through every kernel "
        "position that covers a pixel; summing those contributions is the full convolution "
        rf"with the flipped kernel: ${p.doprint(gc.cotangent_a.lhs)} = "
        rf"{tex(gc.cotangent_a.rhs)}$, and"
    )
    fprime = gp.equation(a_l).rhs.derivative()
    if p.notation.output_form:
        fprime = d.through_output(fprime)
    doc.display(
        [
            (p.doprint(gc.delta.lhs), rf"= \frac{{\partial {cost}}}{{\partial {p.doprint(z_l)}}}"),
            (
                "",
                f"= {p.doprint(gc.cotangent_a.lhs)} {HADAMARD[p.notation.hadamard]} "
                + p.hadamard_operand(
                    d.through_output(fprime) if p.notation.output_form else fprime
                ),
            ),
            ("", f"= {tex(gc.delta.rhs)}"),
        ]
    )
    if corr is not None and (corr.stride != 1 or corr.padding != 0):
        doc.para(
            rf"With stride ${named_value('s', corr.stride, p._print, ' = ')}$ the delta is first "
            r"dilated ($s-1$ zeros between neighbouring entries); with padding "
            rf"${named_value('p', corr.padding, p._print, ' = ')}$ "
            "the full convolution is cropped by $p$ on every side."
        )
    pools = {eq.rhs.mode for eq in d.program.equations if eq.kind is Kind.POOL}
    if "max" in pools:
        doc.para(
            r"Through max pooling the delta is routed to the arg-max of each window: "
            r"$\operatorname{up}$ copies each entry to its window and the mask "
            r"$\mathbb{1}_{\max}(A)$ is 1 at the position of each window's maximum, 0 elsewhere "
            "(where windows overlap, the routed values add up)."
        )
    if "avg" in pools:
        doc.para(
            r"Through average pooling the delta is spread evenly: each of the $k^2$ pixels "
            r"of a window receives $1/k^2$ of it."
        )


def conv_index_form(p: DeriveLatexPrinter, gc: Any) -> list[tuple[str, str]]:
    """The conv gradients and the input delta entry by entry, read off the nodes."""
    kgrad = gc.grad_w.rhs
    # with weight decay the gradient is c (A ⋆ δ) + (λ/m) K: the decay term is entry-wise
    terms = list(kgrad.args) if isinstance(kgrad, sympy.Add) else [kgrad]
    main = next(t for t in terms if t.has(ConvBackKernel))
    coeff, node = tensor_coeff(main)
    s, pad = node.stride, node.padding
    a, delta = node.input, node.cot

    def ent(sym: Any, idx: str) -> str:
        base, i = split_name(sym.name)
        low = {"delta": p.base_tex("delta")}.get(base, base.lower())
        style = p.notation.index
        sup = f"[{i}]" if style == "bracket" else f"({i})" if style == "paren" else ""
        if style == "subscript":
            return f"{low}^{{({_tex_index(i)})}}_{{{idx}}}" if i else f"{low}_{{{idx}}}"
        return f"{low}^{{{sup}}}_{{{idx}}}"

    def shift(var: str, off: str) -> str:
        base = var if s == 1 else f"{p._print(s)}{var}"
        return f"{base}+{off}" + (f"-{p._print(pad)}" if pad != 0 else "")

    decay = ""
    for t in terms:
        if t is not main:
            dc, dk = tensor_coeff(t)
            sign = "-" if dc.could_extract_minus_sign() else "+"
            dc = -dc if sign == "-" else dc
            decay += f" {sign} {p.coefficient(dc)}{ent(dk, 'o,c,u,v')}"
    c = p.coefficient(coeff)
    a_idx = f"n,c,{shift('i', 'u')},{shift('j', 'v')}"
    k_sym = gc.grad_w.lhs.wrt
    lines = [
        (
            rf"\frac{{\partial L}}{{\partial {ent(k_sym, 'o,c,u,v')}}}",
            rf"= {c}\sum_{{n,i,j}} {ent(delta, 'n,o,i,j')}\, {ent(a, a_idx)}{decay}",
        ),
        (
            rf"\frac{{\partial L}}{{\partial {ent(gc.grad_b.lhs.wrt, 'o')}}}",
            rf"= {c}\sum_{{n,i,j}} {ent(delta, 'n,o,i,j')}",
        ),
    ]
    if s == 1 and pad == 0:
        cot = gc.cotangent_a
        nxt = cot.rhs.cot if hasattr(cot.rhs, "cot") else None
        kern = cot.rhs.kernel if hasattr(cot.rhs, "kernel") else None
        if nxt is not None and kern is not None:
            lines.append(
                (
                    rf"\frac{{\partial {p._print(cot.lhs.of)}}}"
                    rf"{{\partial {ent(cot.lhs.wrt, 'n,c,i,j')}}}",
                    rf"= \sum_{{o,u,v}} {ent(nxt, 'n,o,i-u,j-v')}\, {ent(kern, 'o,c,u,v')}",
                )
            )
    return lines


#: What a parameter is, in the setup table: by its role and whether it is a matrix.
_MEANING = {
    (Role.WEIGHT, True): "weights of layer {}",
    (Role.BIAS, True): "bias of layer {}",
    (Role.KERNEL, False): "kernels of layer {}",
    (Role.BIAS, False): "bias of layer {} (one per filter)",
    (Role.GAIN, True): "scale (gamma) of the normalisation, layer {}",
    (Role.SHIFT, True): "shift (beta) of the normalisation, layer {}",
    (Role.PROJECTION, True): "projection of the skip into layer {}",
}


# --------------------------------------------------------------------------- code via latexify


def code_latex(source: str, fmt: str = "tex") -> str:
    """The exported ``_backprop`` rendered for reading (see ``derive.render.code_view``)."""
    from derive.render.code_view import code_latex as render

    return render(source, fmt)


PRINTERS["latex"] = step_latex
