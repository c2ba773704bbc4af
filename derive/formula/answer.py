"""The answer: the verdict (``CheckResult``) and the derived formula in the user's own
syntax and notation.

LaTeX in the notation read off the formula (index style, transpose, ⊙ or ∘, δ or dZ),
NumPy as the exported module writes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sympy

from derive.core.derivation import Derivation
from derive.formula.ir import IR, Sym
from derive.formula.layer_indices import RelIndex, index_text
from derive.formula.quantity import Quantity
from derive.formula.resolve import UnknownSymbol
from derive.spec.notation import Notation


@dataclass
class CheckResult:
    """The verdict on one formula."""

    verdict: str
    quantity: str
    expected: str
    method: str
    diagnosis: str | None = None
    shape_error: str | None = None
    notes: list[str] = field(default_factory=list)
    formula: str = ""

    @property
    def correct(self) -> bool:
        """Whether the verdict is CORRECT."""
        return self.verdict == "correct"

    def as_dict(self) -> dict[str, Any]:
        """The result as plain data (``derive check --json``)."""
        return {
            "verdict": self.verdict,
            "quantity": self.quantity,
            "expected": self.expected,
            "method": self.method,
            "diagnosis": self.diagnosis,
            "shape_error": self.shape_error,
            "notes": self.notes,
        }

    def __str__(self) -> str:
        lines = [f"{self.verdict.upper()}: {self.quantity}"]
        if self.shape_error:
            lines.append(f"  shapes do not fit: {self.shape_error}")
        if self.diagnosis:
            lines.append(f"  what is wrong: {self.diagnosis}")
        lines += [f"  note: {n}" for n in self.notes]
        lines.append(f"  derived: {self.expected}")
        lines.append(f"  checked: {self.method}")
        return "\n".join(lines)


def render_expected(
    d: Derivation,
    q: Quantity,
    formula: str,
    syntax: str,
    lhs_ir: IR,
    conv: bool = False,
    sizes: dict[Any, Any] | None = None,
    notation: Notation | None = None,
) -> str:
    """The derived formula for the quantity, in the user's syntax and notation.

    ``sizes`` gives the symbols the checker stands in for the network's concrete widths
    their values back (``n_1`` -> 2), so that the answer is in the user's own network;
    ``notation`` is the user's (read off ``formula`` if not given).
    """
    ks = q.layers(d)
    generic = q.generic
    g = d.generic_conv if conv or d.generic is None else d.generic
    if generic and g is not None and q.kind != "fwd":
        st = {
            "delta": g.delta,
            "grad": g.grad_w if q.base in ("W", "K") else g.grad_b,
            "cot": g.cotangent_a,
        }[q.kind]
        lhs_expr, rhs_expr = st.lhs, st.rhs
        if q.wrt_loss == "L" and d.per_sample and q.kind == "delta":
            from derive.core.nodes import scale

            rhs_expr = scale(rhs_expr, d.program.scale)
    else:
        k = q.layer_value(ks[0])
        for k0 in ks:  # the first layer the quantity exists at (a CNN's l: its kind)
            try:
                rhs_expr = q.expected(d, k0)
            except (UnknownSymbol, KeyError):
                continue
            k = q.layer_value(k0)
            break
        else:
            rhs_expr = q.expected(d, ks[0])
        lhs_expr = {
            "delta": d.deltas[k].lhs if q.kind == "delta" else None,
            "grad": d.gradients[f"{q.base}_{k}"].lhs if q.kind == "grad" else None,
            "cot": d.cotangents[k].lhs if q.kind == "cot" and k in d.cotangents else None,
            "fwd": (
                sympy.Symbol(q.base)  # the loss L, its weight-decay term R
                if q.is_loss
                else next(
                    (e.out for e in d.program.equations if e.out.name == f"{q.base}_{k}"), None
                )
            )
            if q.kind == "fwd"
            else None,
        }[q.kind]
    if syntax == "python":  # σ'(Z) as A ⊙ (1 − A): matched before the sizes stand in
        rhs_expr = d.through_output(rhs_expr)
    if sizes:
        rhs_expr = rhs_expr.xreplace(sizes)
        lhs_expr = lhs_expr.xreplace(sizes) if lhs_expr is not None else None
    if syntax == "python":
        return _python_text(lhs_expr, rhs_expr, formula)
    from derive.render.latex import DeriveLatexPrinter

    p = DeriveLatexPrinter(notation or detect_notation(formula))
    lhs = p.doprint(lhs_expr) if lhs_expr is not None else q.label(d)
    if isinstance(lhs_ir, Sym) and lhs_ir.base in ("dW", "db", "dA") and lhs_ir.index:
        index = lhs_ir.index
        if generic and isinstance(index, RelIndex) and index.offset:
            # dA_{l-1}: the statement (in l) for the layer written, W_lᵀ δ_l
            rhs_expr = _shifted(rhs_expr, index.offset)
        lhs = p.indexed(lhs_ir.base, index_text(index))
    elif q.wrt_loss == "L" and q.kind == "delta":
        z = p.doprint(lhs_expr).replace(p.base_tex("delta"), "Z")
        lhs = rf"\frac{{\partial L}}{{\partial {z}}}"
    return f"{lhs} = {p.doprint(rhs_expr)}"


_LAYER_NAME = re.compile(r"(.+)_(?:l|\{l([+-][0-9]+)\})")


def _shifted(expr: Any, by: int) -> Any:
    """A generic layer's expression (``W_{l+1}ᵀ δ_{l+1}``) ``by`` layers on (by −1:
    ``W_lᵀ δ_l``): each matrix and width named in l renamed."""
    import sympy

    def name(old: str) -> str | None:
        m = _LAYER_NAME.fullmatch(old)
        if m is None:
            return None
        k = int(m.group(2) or 0) + by
        return f"{m.group(1)}_l" if k == 0 else f"{m.group(1)}_{{l{k:+d}}}"

    def size(dim: Any) -> Any:
        new = name(dim.name) if isinstance(dim, sympy.Symbol) else None
        return dim if new is None else sympy.Symbol(new, **dim.assumptions0)

    swaps: dict[Any, Any] = {}
    for sym in expr.atoms(sympy.Symbol):
        new_size = size(sym)
        if new_size is not sym:
            swaps[sym] = new_size
    for mat in expr.atoms(sympy.MatrixSymbol):
        new = name(mat.name)
        if new is not None:
            swaps[mat] = type(mat)(new, size(mat.rows), size(mat.cols))
    return expr.xreplace(swaps)


def detect_notation(formula: str) -> Notation:
    """The user's notation, read off their formula."""
    index = (
        "bracket"
        if re.search(r"\^\{?\[", formula)
        else ("paren" if re.search(r"\^\{\(", formula) else "subscript")
    )
    transpose = "top" if "\\top" in formula else ("intercal" if "\\intercal" in formula else "T")
    # ∘ as the product, not in a power X^{∘2} (the norm layers' stages)
    powers = re.sub(r"\^\s*\{\s*\\circ[^{}]*\}", "", formula)
    hadamard = "circ" if "\\circ" in powers else "odot"
    delta = "dZ" if re.search(r"\bdZ", formula) else "delta"
    return Notation(index=index, transpose=transpose, hadamard=hadamard, delta=delta)


def _python_text(lhs: Any, rhs: Any, formula: str) -> str:
    from derive.export.printers import ExportError, NumPyCode, code_name
    from derive.render.text import text

    try:
        code = NumPyCode().doprint(rhs).replace("numpy.", "np.")
    except ExportError:  # a symbolic activation f has no NumPy form: say it in plain text
        code = text(rhs)
    name = (
        code_name(lhs.name)
        if hasattr(lhs, "name")
        else ("d" + code_name(lhs.wrt.name) if hasattr(lhs, "wrt") else "?")
    )
    if re.search(r"\bdZ", formula):
        code = re.sub(r"\bdelta(\w*)", r"dZ\1", code)
        name = re.sub(r"^delta", "dZ", name)
    return f"{name} = {code}"
