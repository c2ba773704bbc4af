"""Readable Unicode text of a derivation (``derive show``): a SymPy StrPrinter subclass."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sympy
from sympy.matrices.expressions import MatAdd
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.pretty.pretty_symbology import greek_unicode
from sympy.printing.str import StrPrinter

from derive.core.derivation import PRINTERS
from derive.core.graph import Kind, split_name
from derive.core.nodes import ChannelBias, TensorElementwise, is_tensor, tensor_coeff
from derive.render.outline import outline
from derive.spec.activations import TABLE

if TYPE_CHECKING:
    from derive.core.derivation import Derivation

_SUB = str.maketrans("0123456789+-=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ")
_SUP = str.maketrans("0123456789+-=()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾")
#: Greek names printed as their letter (``epsilon`` -> ``ε``, ``gamma`` -> ``γ``), as SymPy's
#: pretty printer does; ``pi``, ``iota``, ``omicron`` stay words (easily a user's own name).
_GREEK: dict[str, str] = {
    str(k): str(v)
    for k, v in greek_unicode.items()
    if k.islower() and k not in ("pi", "iota", "omicron", "varsigma", "lamda")
}


def subscript(index: str) -> str:
    """``'l+1'`` -> ``'ₗ₊₁'`` where Unicode has every character, else ``'_{l+1}'``."""
    plain = index.replace(" ", "")
    out = plain.translate(_SUB)
    if any(ch == src for ch, src in zip(out, plain)):
        return f"_{{{plain}}}" if len(plain) > 1 else f"_{plain}"
    return out


#: Decorations a program's names spell as a suffix: ``x_hat`` is x̂.
ACCENTS = {"hat": "\u0302", "bar": "\u0304", "tilde": "\u0303"}


def is_word_index(idx: str) -> bool:
    """Whether a name's part after ``_`` is a word (``sample_var``, ``dnext_c_total``), not an
    index (``W_2``, ``h_t``, ``W_hh``, ``Z_{l+1}``): a word is printed as written."""
    return len(idx) > 2 and idx.replace("_", "").isalpha()


def symbol_text(name: str) -> str:
    """``delta_l`` -> ``δₗ``: a symbol's name as Unicode text."""
    base, idx = split_name(name)
    if is_word_index(idx):
        if idx in ACCENTS and len(base) == 1:
            return _GREEK.get(base, base) + ACCENTS[idx]
        return name  # sample_var, not sampleᵥₐᵣ
    if base not in _GREEK and base[:1] == "d" and base[1:] in _GREEK:
        base = "d" + _GREEK[base[1:]]  # a cotangent's name: dgamma -> dγ
    else:
        base = _GREEK.get(base, base)
    return base + (subscript(idx) if idx else "")


# SymPy ships no type information: StrPrinter is Any to mypy, hence the ignore
#: How a reduction's axis reads: axis 0 reduces over the rows, axis 1 over the columns.
_AXIS_TEXT = {0: "rows", 1: "cols"}


class TextPrinter(StrPrinter):  # type: ignore[misc]
    """Prints matrix expressions the way notes write them: ``W₂ᵀ δ₂ ⊙ σ'(Z₁)``."""

    printmethod = "_derive_text"

    if TYPE_CHECKING:
        # SymPy ships no type information, so to mypy its printers are Any; these are the
        # signatures (as SymPy documents them) of the inherited methods this class calls.
        def _print(self, expr: object, **kwargs: object) -> str: ...
        def doprint(self, expr: object) -> str: ...
        def parenthesize(self, item: object, level: int, strict: bool = False) -> str: ...

    def _print_Symbol(self, expr: sympy.Symbol) -> str:
        return symbol_text(expr.name)

    def _print_MatrixSymbol(self, expr: Any) -> str:
        return symbol_text(expr.name)

    def _print_Transpose(self, expr: Any) -> str:
        inner = self._print(expr.arg)
        if not hasattr(expr.arg, "name"):
            inner = f"({inner})"
        return inner + "ᵀ"

    def _print_OneMatrix(self, expr: Any) -> str:
        rows, cols = expr.shape
        if cols == 1:
            return "1" + subscript(sympy.sstr(rows))
        if rows == 1:
            return "1" + subscript(sympy.sstr(cols)) + "ᵀ"
        return "1" + subscript(sympy.sstr(rows)) + " 1" + subscript(sympy.sstr(cols)) + "ᵀ"

    def coefficient(self, coeff: Any) -> str:
        """``-1`` -> ``-``; ``1/m`` -> ``(1/m) ``; ``alpha`` -> ``α ``."""
        if coeff == 1:
            return ""
        if coeff == -1:
            return "-"
        sign = "-" if coeff.could_extract_minus_sign() else ""
        mag = -coeff if sign else coeff
        body = self._print(mag)
        if sympy.fraction(mag)[1] != 1 or mag.is_Add:
            body = f"({body})"
        return f"{sign}{body} "

    def _print_MatMul(self, expr: Any) -> str:
        coeff, factors = expr.as_coeff_matrices()
        prec = PRECEDENCE["Mul"]
        parts = [self.parenthesize(f, prec, strict=False) for f in factors]
        return self.coefficient(coeff) + " ".join(parts)

    def _print_MatAdd(self, expr: Any) -> str:
        coeff, terms = common_factor(expr)
        body = join_signed(
            ["1" if isinstance(t, sympy.OneMatrix) else self._print(t) for t in terms]
        )
        return body if coeff == 1 else f"{self.coefficient(coeff)}({body})"

    def _print_HadamardProduct(self, expr: Any) -> str:
        num, den = hadamard_fraction(expr)
        out = " ⊙ ".join(self.parenthesize(a, PRECEDENCE["Mul"] + 1) for a in num)
        for d in den:  # X ⊙ Y^∘⁻¹ reads X ⊘ Y (entrywise division)
            out += " ⊘ " + self.parenthesize(d, PRECEDENCE["Mul"] + 1)
        return out

    _print_TensorHadamard = _print_HadamardProduct

    def _print_HadamardPower(self, expr: Any) -> str:
        """``A ⊙ A`` as ``A∘²`` (the Hadamard power), not ``A^∘(2)``."""
        base = self.parenthesize(expr.base, PRECEDENCE["Pow"])
        exp = self._print(expr.exp)
        sup = exp.translate(_SUP)
        if any(ch == src for ch, src in zip(sup, exp)):  # no superscript for some character
            return f"{base}^∘({exp})"
        return f"{base}∘{sup}"

    def _print_ElementwiseOf(self, expr: Any) -> str:
        name = TABLE[expr.name].text if expr.name in TABLE else _GREEK.get(expr.name, expr.name)
        return f"{name}{chr(39) * expr.order}({self._print(expr.arg)})"

    def _print_Softmax(self, expr: Any) -> str:
        return f"softmax({self._print(expr.arg)})"

    def _print_FrobeniusSq(self, expr: Any) -> str:
        return f"‖{self._print(expr.arg)}‖²"

    #: set while the terms of a loss with several terms print: a Σ then says where it ends
    _in_sum = False

    def _print_CrossEntropy(self, expr: Any) -> str:
        body = f"{self._print(expr.target)} ⊙ log {self._print(expr.probs)}"
        return f"−Σ [{body}]" if self._in_sum else f"−Σ {body}"

    def _print_BinaryCrossEntropy(self, expr: Any) -> str:
        y, a = self._print(expr.target), self._print(expr.probs)
        return f"−Σ [{y} ⊙ log {a} + (1 − {y}) ⊙ log(1 − {a})]"

    def _print_PartialOf(self, expr: Any) -> str:
        return f"∂{self._print(expr.of)}/∂{self._print(expr.wrt)}"

    # --- feature maps (CNN notes' notation: ⋆ correlation, * convolution, rot180)
    _print_TensorSymbol = _print_MatrixSymbol

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

    # --- issue 14 primitives (axis 0 reduces over the rows, axis 1 over the columns)
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

    def _print_Mul(self, expr: Any) -> str:
        if is_tensor(expr):
            coeff, rest = tensor_coeff(expr)
            body = self._print(rest)
            if isinstance(rest, sympy.Add):
                body = f"({body})"
            return self.coefficient(coeff) + body
        if expr.has(sympy.MatrixExpr):
            num, den = sympy.fraction(expr)
            if den.has(sympy.MatrixExpr):  # g/‖X‖: a scalar node in the denominator
                d = self._print(den)
                return f"{self.parenthesize(num, PRECEDENCE['Mul'])}/" + (
                    f"({d})" if den.is_Mul or den.is_Add else d
                )
            coeff = sympy.Mul(*[f for f in expr.args if not f.has(sympy.MatrixExpr)])
            rest = " ".join(
                f"({self._print(f)})" if f.is_Add else self._print(f)
                for f in expr.args
                if f.has(sympy.MatrixExpr)
            )
            if rest.startswith("−") and not coeff.could_extract_minus_sign():
                return "−" + self.coefficient(coeff) + rest[1:].lstrip()
            return self.coefficient(coeff) + rest
        num, den = sympy.fraction(expr)
        if den != 1:
            if num.could_extract_minus_sign():  # -q/2, not (-q)/2
                return "-" + self._print(sympy.Mul(-num, 1 / den, evaluate=True))
            n = self.parenthesize(num, PRECEDENCE["Mul"])
            d = self._print(den)
            if den.is_Mul or den.is_Add:
                d = f"({d})"
            return f"{n}/{d}"
        coeff, rest = expr.as_coeff_Mul()
        if coeff not in (1, -1) and coeff.is_Integer:
            sign = "-" if coeff < 0 else ""
            return f"{sign}{abs(coeff)}{self.parenthesize(rest, PRECEDENCE['Mul'])}"
        if coeff == 1 and rest.is_Mul:
            # c₁ (h/2 − 1)², not c₁*(h/2 - 1)**2: sizes read as notes write them
            return " ".join(self.parenthesize(f, PRECEDENCE["Mul"]) for f in rest.args)
        out: str = super()._print_Mul(expr)
        return out

    def _print_Pow(self, expr: Any, rational: bool = False) -> str:
        if expr.exp.is_Integer and 2 <= expr.exp <= 9 and not expr.base.is_Number:
            sup = str(expr.exp).translate(str.maketrans("23456789", "²³⁴⁵⁶⁷⁸⁹"))
            return self.parenthesize(expr.base, PRECEDENCE["Pow"], strict=True) + sup
        return str(super()._print_Pow(expr, rational))

    def _print_Add(self, expr: Any, order: Any = None) -> str:
        if is_tensor(expr):
            terms = sorted(expr.args, key=lambda t: (t.could_extract_minus_sign(), _is_bias(t)))
            return join_signed([self._print(t) for t in terms])
        if not expr.has(sympy.MatrixExpr):
            # a size like w − q + 1 (not -q + w + 1): symbols first, subtracted terms
            # next, the number last, with the minus sign of the rest of the output
            return join_signed([self._print(t) for t in scalar_terms(expr)])
        terms = sorted(expr.args, key=lambda t: not _is_data_term(t))
        saved, self._in_sum = self._in_sum, len(terms) > 1
        try:
            return join_signed([self._print(t) for t in terms])
        finally:
            self._in_sum = saved


def hadamard_fraction(expr: Any) -> tuple[list[Any], list[Any]]:
    """The factors of a Hadamard product split into numerators and the bases of its
    ``Y^∘⁻¹`` factors (none when every factor is a reciprocal: nothing to divide)."""
    num = [a for a in expr.args if not _reciprocal(a)]
    if not num:
        return list(expr.args), []
    return num, [a.base for a in expr.args if _reciprocal(a)]


def _reciprocal(a: Any) -> bool:
    return isinstance(a, sympy.HadamardPower) and a.exp == -1


def _is_bias(term: Any) -> bool:
    return isinstance(term, ChannelBias)


def is_negative(term: Any) -> bool:
    """Whether a term of a sum prints with a minus sign."""
    if isinstance(term, sympy.MatMul):
        return bool(term.as_coeff_matrices()[0].could_extract_minus_sign())
    return bool(term.could_extract_minus_sign())


def _is_lone_symbol(term: Any) -> bool:
    if isinstance(term, sympy.MatMul):
        factors = term.as_coeff_matrices()[1]
        return len(factors) == 1 and isinstance(factors[0], sympy.MatrixSymbol)
    return isinstance(term, sympy.MatrixSymbol)


def named_value(label: str, value: Any, show: Any, eq: str = "=") -> str:
    """``s=2``, but ``s`` alone where the value is the symbol ``s`` itself (not ``p=p``)."""
    if isinstance(value, sympy.Symbol) and value.name == label:
        return label
    return f"{label}{eq}{show(value)}"


def scalar_terms(expr: Any) -> list[Any]:
    """Terms of a scalar sum (a size) as people write them: ``w − q + 1``, ``1 − q``.

    Symbols first, subtracted terms next, the number last; a sum never starts with a
    minus sign when some term is positive.
    """
    terms = sorted(expr.args, key=lambda t: (t.is_Number, bool(t.could_extract_minus_sign())))
    if terms[0].could_extract_minus_sign():
        positive = [t for t in terms if not t.could_extract_minus_sign()]
        if positive:
            terms.remove(positive[0])
            terms.insert(0, positive[0])
    return terms


def join_signed(codes: list[str], minus: str = " − ") -> str:
    """``["A", "-Y"]`` -> ``"A − Y"``: the printed terms of a sum, signs written once."""
    out = codes[0]
    for code in codes[1:]:
        out += minus + code[1:] if code.startswith("-") else " + " + code
    return out


def ordered_terms(expr: Any) -> list[Any]:
    """Terms of a sum as people write them: ``A - Y``, ``W - α G``, ``(1/m) δ Xᵀ + (λ/m) W``.

    Positive terms first; among them, a lone scaled symbol (a weight-decay term) last,
    unless every term is one.
    """
    return sorted(expr.args, key=lambda t: (is_negative(t), _is_lone_symbol(t)))


def common_factor(expr: Any) -> tuple[Any, list[Any]]:
    """``2 A - 2 Y`` -> ``(2, [A, -Y])``: a numeric factor every term shares, taken out.

    Only a whole number or fraction other than 1 is taken out (``2 (A − Y)``, as notes
    write the derivative of a summed square); otherwise ``(1, ordered_terms(expr))``.
    """
    terms = ordered_terms(expr)
    coeffs = [t.as_coeff_mmul()[0] if isinstance(t, sympy.MatMul) else sympy.S.One for t in terms]
    if not all(c.is_Rational for c in coeffs):  # before abs(): a Σ(…) coefficient has no sign
        return sympy.S.One, terms
    mags = {abs(c) for c in coeffs}
    if len(mags) != 1:
        return sympy.S.One, terms
    (mag,) = mags
    if mag == 1:
        return sympy.S.One, terms
    return mag, [scale_term(t, 1 / mag) for t in terms]


def scale_term(term: Any, c: Any) -> Any:
    """``c`` times one term of a matrix sum, with the coefficient folded in."""
    coeff, factors = term.as_coeff_matrices()
    return sympy.MatMul(coeff * c, *factors).doit(deep=False)


def _is_data_term(term: Any) -> bool:
    return any(s.name == "Y" for s in term.atoms(sympy.MatrixSymbol))


_PRINTER = TextPrinter()


def text(expr: Any) -> str:
    """One expression as Unicode text."""
    return _PRINTER.doprint(expr)


def _shape(expr: Any) -> str:
    return "×".join(text(d) if d.is_Atom else f"({text(d)})" for d in expr.shape)


def generic_f(d: Derivation, rhs: Any) -> bool:
    """Whether a generic recurrence writes ``f'`` for "layer l's activation" (the hidden
    layers' activations differ) rather than for an activation the user named ``f``."""
    from derive.core.nodes import Elementwise

    names = {
        a.name
        for a in sympy.preorder_traversal(rhs)
        if isinstance(a, (Elementwise, TensorElementwise))
    }
    if "f" not in names:
        return False
    return not any(
        (act := getattr(layer, "activation", None)) is not None
        and act.name in ("custom", "symbolic")
        and (act.symbol or "f") == "f"
        for layer in d.network.layers
    )


def render(d: Derivation, through_output: bool = False) -> str:
    """The whole derivation, section by section, as plain Unicode text.

    ``through_output`` writes activation derivatives through the output where the
    textbooks do (``σ'(Z₁)`` as ``A₁ ⊙ (1 − A₁)``).
    """

    def text(expr: Any) -> str:
        return _PRINTER.doprint(d.through_output(expr) if through_output else expr)

    net = d.network
    lines: list[str] = []
    lines.append(
        f"{net.name}: {d.depth} layer(s), {net.convention} convention "
        f"({'samples are columns' if net.convention == 'column' else 'samples are rows'})"
    )
    batch = text(d.program.batch)
    if net.is_conv:
        sizes = ", ".join(
            f"{text(eq.out)} {_shape(eq.out)}"
            for eq in d.program.equations
            if eq.kind in (Kind.ACTIVATION, Kind.POOL, Kind.FLATTEN)
        )
        lines.append(f"sizes: X {_shape(d.program.inputs[0])}, {sizes}")
    else:
        widths = ", ".join(
            f"n{subscript(str(i))}"
            + ("" if text(w) == f"n{subscript(str(i))}" else f" = {text(w)}")
            for i, w in enumerate(d.program.widths)
        )
        lines.append(f"widths: {widths}; batch m" + ("" if batch == "m" else f" = {batch}"))
    if d.per_sample:
        lines.append("delta: per sample, δₗ = ∂C/∂Zₗ with C = Σᵢ Cᵢ (no batch factor)")
    else:
        lines.append("delta: mean, δₗ = ∂L/∂Zₗ of the batch loss")
    if net.is_conv:
        lines.append(
            "feature maps are m×C×H×W; ⋆ is cross-correlation (channels summed), "
            "* convolution; a pooling or flatten layer has no Z: its δₗ is ∂/∂Aₗ"
        )
    lines.append("")
    lines.append("shapes:")
    for p in d.program.params:
        lines.append(f"  {text(p)}: {_shape(p)}")
    for sym in d.program.inputs:
        lines.append(f"  {text(sym)}: {_shape(sym)}")
    doc = outline(d)
    lines.append("")
    lines.append("forward:")
    for step in doc.forward:
        lines.append(f"  {text(step.lhs)} = {text(step.rhs)}")
    lines.append("")
    lines.append("loss:")
    lines.append(f"  L = {text(doc.loss.rhs)}")
    lines.append("")
    lines.append("backward:")
    out = doc.output_delta
    lines.append(f"  {'output delta:':<16}{text(out.lhs)} = {text(out.rhs)}")
    notes = {"dense": "; f its activation", "conv": "; f the activation of layer l"}
    wheres = {"dense": "hidden layer l", "conv": "conv layers l, l+1"}
    for kind, gl in doc.recurrences:
        g = gl.delta
        note = notes[kind] if generic_f(d, g.rhs) else ""
        lines.append(
            f"  {'recurrence:':<16}{text(g.lhs)} = {text(g.rhs)}    ({wheres[kind]}{note})"
        )
    for st in doc.deltas:
        for stage in doc.stages.get(st.layer + 1, []):  # the normalisation above, staged
            lines.append(
                f"  {f'layer {st.layer + 1} stage:':<16}{text(stage.lhs)} = {text(stage.rhs)}"
            )
        lines.append(f"  {f'layer {st.layer}:':<16}{text(st.lhs)} = {text(st.rhs)}")
    lines.append("")
    lines.append("gradients:")
    both = len(doc.recurrences) == 2
    for kind, gl in doc.recurrences:
        for st in (gl.grad_w, gl.grad_b):
            where = f"{kind + ' ' if both else ''}layer l"
            lines.append(f"  {text(st.lhs)} = {text(st.rhs)}    ({where})")
    for st in doc.gradients:
        lines.append(f"  {text(st.lhs)} = {text(st.rhs)}")
    lines.append("")
    lines.append("update (learning rate α):")
    for st in doc.updates:
        lines.append(f"  {text(st.lhs)} ← {text(st.rhs)}")
    return "\n".join(lines) + "\n"


PRINTERS["text"] = text
