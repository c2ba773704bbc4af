"""The sums of ``latex.lark``: over samples, entries, classes, or every axis but one.

A ``\\sum`` is read by what it sums and what its subscript names (``Σ_i`` over per-sample
quantities, ``Σ_{i,j} δ_{ij}`` over entries, ``Σ_{k≠i}`` over the other classes,
``Σ_{n,i,j} (δ)_{n,:,i,j}`` over all but the channels); a mixin of ``LatexToIR``.
"""

from __future__ import annotations

import re
from typing import Any

from lark import Token, v_args

from derive.formula.ir import IR, FormulaError, ISum, Neg, Slice, Sum
from derive.formula.ir_walk import has_entries
from derive.formula.latex_lhs import SSum, has_sample
from derive.formula.latex_scripts import Over
from derive.formula.numbers import _CommonIR

#: ``Σ_{k≠i}``, ``Σ_{k \\neq i}``: a sum over one index that skips another
SKIP = re.compile(r"([a-z])\s*(?:\\neq?(?![A-Za-z])|≠)\s*([a-z])")


#: ``k \\in Downstream(j)``, ``l \\in outs(i)``: the units a unit feeds (its next dense layer;
#: Mitchell's Machine Learning §4.5.3); ``k \\in outputs`` (Mitchell's Table 4.2): the output
#: layer's units, the next layer's only in a network with one hidden layer.
DOWNSTREAM = re.compile(
    r"([a-z])\s*(?:\\in|∈)\s*(?:\\(?:text|mathrm|operatorname|mathit)\s*)?\{?\s*"
    r"(outputs|outs|downstream|Downstream|children)\s*\}?\s*(?:\(\s*[a-z]\s*\))?"
)


def _without_start(text: str, depth: int) -> str:
    """``k=1, k≠i`` (or ``k≠i, k=1``) as ``k≠i``: the start of the range a condition restricts
    (the range's end is the superscript, its start is where every index starts); and
    ``k ∈ Downstream(j)`` as ``k`` (``DOWNSTREAM``; ``k ∈ outputs`` in a network of
    ``depth`` 2, where the outputs are the hidden layer's next)."""
    downstream = DOWNSTREAM.fullmatch(text.strip())
    if downstream and downstream.group(2) == "outputs" and depth != 2:
        raise FormulaError(
            f"Σ_{{{downstream.group(1)} ∈ outputs}}: the output units are the next layer's "
            f"only in a network with one hidden layer, and this one has {max(depth - 1, 0)}; "
            "write the layers (δ^l_j = σ'(z^l_j) Σ_k w^{l+1}_{kj} δ^{l+1}_k)"
        )
    if downstream:
        return downstream.group(1)
    items = [item.strip() for item in text.split(",")]
    skips = [item for item in items if SKIP.fullmatch(item)]
    if len(items) != 2 or len(skips) != 1:
        return text
    letter = SKIP.fullmatch(skips[0]).group(1)  # type: ignore[union-attr]
    start = next(item for item in items if item is not skips[0])
    return skips[0] if re.fullmatch(rf"{letter}\s*=\s*[01]", start) else text


def _slice_sum(letters: tuple[str, ...], node: Slice) -> IR:
    """``Σ_{n,i,j} (δ)_{n,:,i,j}``: the sum over every axis but the channels, one per channel."""
    items = node.items
    kept = [k for k, item in enumerate(items) if item == ":"]
    summed = [item for item in items if item != ":"]
    if len(items) == 4 and kept == [1] and sorted(summed) == sorted(letters):
        return Sum(node.a, "channels")
    if len(items) == 2 and len(kept) == 1 and summed and summed[0] in letters:
        return Sum(node.a, 1 - kept[0])  # Σ_i (δ)_{:,i}: the columns added up (axis 1)
    raise FormulaError(
        "a slice under a sum: Σ_{n,i,j} (δ)_{n,:,i,j} (samples and positions summed, one sum "
        "per channel) is the form read here"
    )


@v_args(inline=True)
class Sums(_CommonIR):
    """The grammar's rules for a sum and its sub- and superscript (a mixin of ``LatexToIR``)."""

    def sum(self, _tok: Token, *rest: Any) -> Any:
        r"""``\sum`` with its index range: over samples, classes or entries."""
        body = rest[-1]
        if has_sample(body):  # Σ_i over per-sample quantities: read in per_sample
            return SSum(body)
        letters = next((r for r in rest[:-1] if isinstance(r, Over)), None)
        if letters is not None and has_entries(body):  # Σ_{i,j} δ_{ij} …: over entry indices
            return ISum(letters.letters, body, letters.unless)
        if letters is not None and letters.unless:
            raise FormulaError(
                "a sum that skips an index (Σ_{k≠i}) is read over entries written with "
                "their indices only (p_k, y_k)"
            )
        if isinstance(body, Slice):
            return _slice_sum(letters.letters if letters else (), body)
        if letters is not None and "".join(letters.letters) in ("rows", "cols"):
            return Sum(body, 0 if "".join(letters.letters) == "rows" else 1)  # Σ_{\text{rows}}
        return Sum(body, None)

    def sum_neg(self, tok: Token, *rest: Any) -> Any:
        r"""``\sum_{k≠i} -p_k y_k``: the sum of the negated body."""
        return self.sum(tok, *rest[:-1], Neg(rest[-1]))

    def sumsub(self, *items: Any) -> Over:
        """The subscript of a sum (its index)."""
        text = "".join(str(i) for i in items)
        text = _without_start(text, getattr(self, "depth", 0))  # Scripts' network depth
        skips = SKIP.fullmatch(text.strip())
        if skips:  # Σ_{k≠i}: over k, all but k = i (softmax's other classes)
            return Over((skips.group(1),), ((skips.group(1), skips.group(2)),))
        if re.search(r"\\neq?(?![A-Za-z])|≠", text):
            raise FormulaError(
                f"Σ_{{{text.strip()}}}: a sum that skips an index is read when it skips one "
                "letter (Σ_{k≠i}); a label's class (j ≠ y_i) is not read"
            )
        return Over(tuple(re.findall(r"[a-z]", text.split("=")[0])))

    def sumsup(self, *items: Any) -> None:
        """The superscript of a sum (its upper bound)."""
        return None
