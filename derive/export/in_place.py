"""Statements that build a value in one array: ``Z = W @ A; Z += b`` and
``δ = Wᵀ @ δ'; δ *= f'(Z)``, one allocation per statement instead of one per operation,
where the first operand is an array the statement makes itself."""

from __future__ import annotations

import re
from typing import Any

import sympy
from sympy.matrices.expressions import OneMatrix

from derive.core.nodes import (
    ConvBackInput,
    Elementwise,
    TensorElementwise,
    TensorHadamard,
    Unpool,
)


def _fresh(e: Any, printer: Any) -> bool:
    """Whether the code for ``e`` makes a new array (safe to update in place): a product of
    matrices, a sum, or a helper call — never a named array or a view of one (a bias
    ``b 1ᵀ`` prints as ``b`` itself, a transpose as ``X.T``)."""
    if isinstance(e, sympy.MatMul):
        _, factors = e.as_coeff_matrices()
        made = len(factors) >= 2 and not any(isinstance(f, OneMatrix) for f in factors)
    else:
        made = isinstance(e, (sympy.MatAdd, Unpool, ConvBackInput))
    return made and not re.fullmatch(r"[\w.]+", printer.doprint(e))


def _factors(e: Any) -> list[Any]:
    """The factors of a (nested) Hadamard product, in order."""
    if isinstance(e, (sympy.HadamardProduct, TensorHadamard)):
        return [f for a in e.args for f in _factors(a)]
    return [e]


def in_place(printer: Any, lhs: str, rhs: Any) -> list[str] | None:
    """NumPy statements that build ``rhs`` in one array, or None to print it as one line.

    ``Z = W @ A + b`` becomes ``Z = W @ A; Z += b`` and ``δ = (Wᵀ δ') ⊙ f'(Z)`` becomes
    ``δ = Wᵀ @ δ'; δ *= f'(Z)`` (a ReLU mask as the boolean ``Z > 0``): one allocation
    per statement instead of one per operation (measured in benchmarks/gradients.py).
    """
    if isinstance(rhs, (sympy.HadamardProduct, TensorHadamard)):
        factors = _factors(rhs)
        base = next((f for f in factors if _fresh(f, printer)), None)
        if base is None:
            return None
        out = [f"    {lhs} = {printer.doprint(base)}"]
        for f in factors:
            if f is base:
                continue
            if (
                isinstance(f, (Elementwise, TensorElementwise))
                and f.name == "relu"
                and f.order == 1
            ):
                out.append(f"    {lhs} *= {printer._group(f.arg)} > 0")
            else:
                out.append(f"    {lhs} *= {printer._group(f)}")
        return out
    if isinstance(rhs, sympy.MatAdd):
        from derive.render.text import ordered_terms

        terms = ordered_terms(rhs)
        if not _fresh(terms[0], printer) or isinstance(terms[0], sympy.MatAdd):
            return None
        out = [f"    {lhs} = {printer.doprint(terms[0])}"]
        for t in terms[1:]:
            code = printer.doprint(t)
            if code.startswith("-"):
                out.append(f"    {lhs} -= {printer._group(-t)}")
            else:
                out.append(f"    {lhs} += {printer._group(t)}")
        return out
    return None
