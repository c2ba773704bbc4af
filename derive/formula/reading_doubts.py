"""Readings of a NumPy formula that fit and still give no verdict: a name with letters
in doubt (``a1`` as the activation or the pre-activation) and a formula without layer
numbers right only at the last layer. ``name_readings.guessed_check`` calls both on the
reading it picked."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from derive.formula.answer import CheckResult
from derive.formula.ir import FormulaError
from derive.formula.letter_readings import LettersUnsure
from derive.formula.name_rewrites import UNNUMBERED, Reading, rewrite

#: Lower-case a and z names with a layer number (``a1``, ``dz2``): the letters the
#: sources disagree on (``letter_readings``).
_LETTER = re.compile(r"(?<![\w.])(d?)([az])(_?[0-9]+)(?!\w)")


def _swap(m: re.Match[str]) -> str:
    return m.group(1) + ("z" if m.group(2) == "a" else "a") + m.group(3)


def letters_sure(
    formula: str,
    words: str,
    first: str,
    rewrites: list[Any],
    attempt: Callable[[tuple[Any, ...], bool], CheckResult],
) -> None:
    """A formula right only in a guessed reading of a name and only with z = W a + b is no
    verdict when, with a as the pre-activation (Saito, Goodfellow), it is wrong: two
    guesses at once (``da1 = np.dot(dy, W2.T)`` is ∂L/∂A_1 in Ng's letters, but Saito's
    da1 is the gradient before the sigmoid)."""
    code = re.sub(r"#[^\n]*", "", formula)
    if not _LETTER.search(code):
        return
    swap = (_LETTER, _swap)
    try:
        other = attempt((swap, *rewrites), False)
    except FormulaError:
        return  # not readable with the letters swapped: the reading stands
    if other.correct or other.shape_error:
        return
    raise LettersUnsure(
        f"cannot tell: read with {words} the formula is right with z = W a + b and "
        "a = f(z) (Ng, Nielsen), and wrong with a as the pre-activation and z as the "
        "activation (Goodfellow et al., Bishop, Saito's Deep Learning from Scratch); "
        f"declare the names, e.g. --symbol {first}=dZ_2 --symbol a1=Z_1"
    )


#: The note of a formula read with its names without a layer number as layer l's.
_GENERIC = "layer l's (checked for every layer l)"
#: How a snippet writes an activation or its derivative (``s * (1 - s)``: σ's).
_WRITTEN = {
    "sigmoid": re.compile(r"sigmoid|expit|exp\(\s*-|\(\s*1(?:\.0*)?\s*-\s*\w+\s*\)"),
    "tanh": re.compile(r"tanh|\*\*\s*2|square|power"),
    "softmax": re.compile(r"softmax"),
}


def _names_last(formula: str, activations: tuple[str, ...]) -> bool:
    """Whether the snippet writes the output layer's activation, which no hidden layer
    has (Ng's sigmoid_backward in a ReLU network with a sigmoid output)."""
    if len(activations) < 2 or activations[-1] in activations[:-1]:
        return False
    written = _WRITTEN.get(activations[-1])
    code = re.sub(r"#[^\n]*", "", formula)
    return written is not None and written.search(code) is not None


#: The diagnosis of a derivative that is not the layer's activation's.
_NOT_FPRIME = "is not the derivative of the layer's activation"


def generic_right_at_the_last(
    formula: str,
    result: CheckResult,
    depth: int,
    attempt: Callable[[tuple[Any, ...], bool], CheckResult],
    activations: tuple[str, ...],
) -> None:
    """A formula without layer numbers judged wrong as derive's layer l (a hidden layer)
    but right as the last layer's is no verdict: Ng's and SkalskiP's
    ``dZ = dA * s * (1 - s)`` is the sigmoid output layer's backward in a network whose
    hidden layers are ReLU."""
    if result.correct or depth < 2 or not any(_GENERIC in n for n in result.notes):
        return
    last = rewrite(UNNUMBERED, Reading(str(depth), f"layer {depth}'s"))
    said = result.diagnosis or result.shape_error or "not the derived formula"
    try:
        other = attempt((last,), False)
    except FormulaError as err:
        if (
            "differentiates the loss" in str(err)
            and _NOT_FPRIME in said
            and _names_last(formula, activations)
        ):
            # the output's own backward (Ng's sigmoid_backward) where derive forms δ_L
            # with the loss: which activation the snippet is for, it does not say
            raise FormulaError(
                "cannot tell which layer this formula is: as a hidden layer's (derive's "
                f"layer l) it is incorrect ({said}); it may be the output layer's backward "
                f"(layer {depth}), whose δ derive forms with the loss, not from ∂L/∂A: write "
                "the layer numbers, or the output layer's δ (dZ2 = A2 - Y)"
            ) from None
        return
    if other.correct:
        raise FormulaError(
            "cannot tell which layer this formula is: with the names without a layer number "
            f"as layer l's (a hidden layer) it is incorrect ({said}), as the last layer's "
            f"(layer {depth}) it is correct; write the layer numbers (dZ2 = …)"
        )
