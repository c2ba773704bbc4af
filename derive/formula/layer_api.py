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
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

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


def layer_api(
    formula: str,
) -> tuple[tuple[tuple[re.Pattern[str], Callable[[Any], str]], ...], list[str]]:
    """The rewrites and the notes for a snippet in a layer API's names (none if it is not)."""
    code = re.sub(r"#[^\n]*", "", formula)
    if not _DOUT.search(code):
        return (), []
    if _AFFINE.search(code):
        kind, table = "an affine layer's backward function", AFFINE
    elif _X_VS_ZERO.search(code):
        kind, table = "a ReLU's backward function", RELU
    else:
        return (), []
    used = [n for n in table if re.search(rf"(?<![\w.])(?:self\.)?{n}(?!\w)", code)]
    rewrites = tuple(rewrite(n, Reading(table[n][0], table[n][1])) for n in used)
    words = ", ".join(f"`{n}` as {table[n][1]}" for n in used)
    return rewrites, [
        f"read as {kind} (a layer API's names, as CS231n's layers.py and andersbll/nnet "
        f"use them): {words}"
    ]
