"""A backward function of a layer API (CS231n's ``layers.py``) read by what its names are.

``relu_backward(dout, cache)`` and ``affine_backward(dout, cache)`` (andersbll/nnet's
``Linear.bprop(output_grad)`` with ``self.last_input``) name their arrays by
their role in the layer, not by the network: ``x`` is the layer's input, ``dout`` the
gradient arriving at its output, ``dx`` the one it returns. Which quantity each is
follows from the kind of layer the snippet computes, and is fixed by that API (no
guess): a ReLU's input is Z and its output A (``dx = dout * (x > 0)`` is
δ_l = ∂L/∂A_l ⊙ (Z_l > 0)); an affine layer's input is A_(l-1) and its output Z_l
(``dx = dout.dot(w.T)`` is ∂L/∂A_(l-1) = δ_l W_lᵀ). The snippet is then checked at the
network's generic layer l, and the answer says how it was read.

On a network whose δ is per sample (``delta = "per_sample"``, a mean loss, a batch of N),
an affine layer's ``dout`` is read both ways real code passes it: as that δ (andersbll's
``output_grad``: the layer divides its parameters' gradients by N itself) and as the
gradient of the batch loss, δ/N (CS231n's ``dout``: the loss's 1/N is already in it, and
``dx`` is δ/N's too). A verdict is given only where both agree (``api_check``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from derive.formula.answer import CheckResult
from derive.formula.ir import FormulaError
from derive.formula.name_rewrites import Reading, rewrite

#: The gradient arriving at a layer's output: CS231n's ``dout``, andersbll/nnet's
#: ``output_grad`` (``Linear.bprop(self, output_grad)``).
_DOUT = re.compile(r"(?<![\w.])(?:dout|output_grad)(?!\w)")
_X_VS_ZERO = re.compile(r"(?<![\w.])x\s*(?:[<>]=?)\s*0(?![\w.])")
_AFFINE = re.compile(r"(?<![\w.])(?:self\.)?(?:w|dw|db|W|dW)(?!\w)")

#: name -> (what it is replaced by, the reading in words), per kind of layer.
RELU = {
    "dout": ("dA", "∂L/∂A_l (the gradient at the ReLU's output)"),
    "output_grad": ("dA", "∂L/∂A_l (the gradient at the ReLU's output)"),
    "x": ("Z", "Z_l (the ReLU's input)"),
    "dx": ("dZ", "δ_l = ∂L/∂Z_l (the gradient at the ReLU's input)"),
}
AFFINE = {
    "dout": ("dZ", "δ_l = ∂L/∂Z_l (the gradient at the affine output)"),
    "output_grad": ("dZ", "δ_l = ∂L/∂Z_l (the gradient at the affine output)"),
    "x": ("A_prev", "A_(l-1) (the layer's input)"),
    "last_input": ("A_prev", "A_(l-1) (the layer's input, kept by its forward pass)"),
    "X": ("A_prev", "A_(l-1) (the layer's input)"),
    "w": ("W", "W_l"),
    "dw": ("dW", "∂L/∂W_l"),
    "dx": ("dA_prev", "∂L/∂A_(l-1) (the gradient at the layer's input)"),
}


#: A layer API's gradient updated in place or entry by entry (``dx += …``, ``dx[i] = …``).
_UPDATED = re.compile(r"(?m)^[ \t]*(?:self\.)?(?:dx|dout|output_grad)[ \t]*(?:\[|[-+*/]=)")

#: A returned value (``return …``, or its placeholder ``returned_dz = …``, ``returns``).
_RETURNS = re.compile(r"(?m)^[ \t]*return\b|(?<![\w.])returned_\w+")

#: The affine layer's gradients read as the batch loss's (δ/N) on a per-sample-δ network.
SCALED = {
    "dout": ("(dZ/m)", "∂L/∂Z_l = δ_l/N (the gradient of the batch loss)", "dZ"),
    "output_grad": ("(dZ/m)", "∂L/∂Z_l = δ_l/N (the gradient of the batch loss)", "dZ"),
    "dx": ("(dA_prev/m)", "∂L/∂A_(l-1) of the batch loss (dA_(l-1)/N)", "dA_prev"),
}

Rewrites = tuple[tuple[re.Pattern[str], Callable[[Any], str]], ...]


def layer_api(
    formula: str, relu_only: bool = False, scaled: bool = False
) -> tuple[Rewrites, list[str]]:
    """The rewrites and the notes for a snippet in a layer API's names (none if it is not);
    ``relu_only``: a ReLU's only; ``scaled``: an affine layer's gradients as δ/N (SCALED)."""
    code = re.sub(r"#[^\n]*", "", formula)
    if not _DOUT.search(code):
        return (), []
    if _AFFINE.search(code) and not relu_only:
        kind, table = "an affine layer's backward function", AFFINE
    elif _X_VS_ZERO.search(code):
        kind, table = "a ReLU's backward function", RELU
    else:
        return (), []
    used = [n for n in table if re.search(rf"(?<![\w.])(?:self\.)?{n}(?!\w)", code)]
    if scaled and table is AFFINE:
        table = {**table, **{n: (text, words) for n, (text, words, _) in SCALED.items()}}
    rewrites = tuple(
        rewrite(n, Reading(table[n][0], table[n][1], lhs=SCALED[n][2], times="m"))
        if scaled and n in SCALED and table is not RELU
        else rewrite(n, Reading(table[n][0], table[n][1]))
        for n in used
    )
    words = ", ".join(f"`{n}` as {table[n][1]}" for n in used)
    return rewrites, [
        f"read as {kind} (a layer API's names, as CS231n's layers.py and andersbll/nnet "
        f"use them): {words}"
    ]


def _per_sample(network: Any) -> bool:
    """Whether the network's δ is N times the batch loss's ∂L/∂Z (a per-sample δ, a mean
    loss, a batch of N)."""
    return (
        getattr(network, "delta", "") == "per_sample"
        and getattr(network.loss, "reduction", "") in ("mean", "half_mean")
        and network.batch != 1
    )


def api_check(
    formula: str,
    network: Any,
    attempt: Callable[[Rewrites], CheckResult],
    relu_only: bool = False,
) -> CheckResult:
    """``attempt`` with the layer API's names read (none if the snippet uses none); an
    affine layer's backward on a per-sample-δ network read both ways its ``dout`` is
    passed, a verdict only where they agree, else "cannot tell" naming both."""
    api, notes = layer_api(formula, relu_only)
    if not api:
        return attempt(())
    result = attempt(api)
    result.notes[:0] = notes
    scaled_api, scaled_notes = layer_api(formula, relu_only, scaled=True)
    if not _per_sample(network) or scaled_notes == notes or _RETURNS.search(formula):
        return result  # a returned value's readings (``returns``) are the per-sample δ's
    declared = {n for n, _ in getattr(network.notation, "symbols", ())}
    name = "dout" if re.search(r"(?<![\w.])dout(?!\w)", formula) else "output_grad"
    if name in declared:  # --symbol dout=dZ_2: the user says which it is
        return result
    if _UPDATED.search(re.sub(r"#[^\n]*", "", formula)):
        raise FormulaError(
            "cannot tell: this network's δ is per sample (N × ∂L/∂Z of the batch loss), and a "
            f"layer's `{name}` is passed either way; a gradient updated in place (dx += …) is "
            f"not read both ways: if it is the per-sample δ, declare it (--symbol {name}=dZ_2)"
        )
    try:
        other = attempt(scaled_api)
    except FormulaError:
        return result
    other.notes[:0] = scaled_notes
    if other.correct != result.correct:
        right, wrong = (result, other) if result.correct else (other, result)
        raise FormulaError(
            "cannot tell: this network's δ is per sample (N × ∂L/∂Z of the batch loss), and "
            f"a layer's `{name}` is passed either way; read as "
            + ("δ_l" if right is result else "∂L/∂Z_l = δ_l/N")
            + " the formula is correct, as "
            + ("δ_l" if wrong is result else "∂L/∂Z_l = δ_l/N")
            + f" it is incorrect; if it is the per-sample δ, declare it (--symbol {name}=dZ_2)"
        )
    note = (
        f"read `{name}` both as δ_l and as ∂L/∂Z_l = δ_l/N (the gradient of the batch loss, "
        "as CS231n passes it): the same verdict"
    )
    chosen = result if result.correct or _one_mistake(result) or not _one_mistake(other) else other
    chosen.notes.append(note)
    return chosen


def _one_mistake(result: CheckResult) -> bool:
    """Whether the diagnosis names one mistake."""
    said = result.diagnosis or ""
    return bool(said) and not said.startswith(("two mistakes", "no usual mistake"))
