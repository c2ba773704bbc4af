"""Letters many sources use for a network's values where derive writes z and a: ``o`` for
an output, ``f`` for the scores (CS231n) and ``p`` for the probabilities
(``∂L/∂o_i = p_i - y_i``, the softmax's gradient on its scores). None is derive's, and
``o`` means two things in real sources: the output layer's scores before the softmax
(Dive into Deep Learning's o = W h + b, ŷ = softmax(o); the softmax notes of Q&A
threads), or the output of a unit, its activation (Wikipedia's o_j = φ(net_j),
∂E/∂w_ij = o_i δ_j). Each reading is tried against the network: the verdict stands when
every reading that reads and fits the shapes agrees (and says which it used), else
"cannot tell", naming the readings."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass

from derive.formula.answer import CheckResult
from derive.formula.ir import FormulaError
from derive.formula.unit_letter_h import unit_h


@dataclass(frozen=True)
class LetterReading:
    """One meaning of a letter: the LaTeX derive reads for it, and the words of the note."""

    letter: str
    latex: str  # what the letter is rewritten to (its scripts follow it: o_i -> z^{[L]}_i)
    base: str  # the quantity it names (two letters never name the same one)
    words: str


#: The readings of each letter, the commonest first.
READINGS: dict[str, tuple[LetterReading, ...]] = {
    "o": (
        LetterReading(
            "o",
            "Z^{[L]}",
            "Z",
            "the output layer's pre-activation Z_L (the scores before the output's "
            "activation: o = W h + b, ŷ = softmax(o), as Dive into Deep Learning writes it)",
        ),
        LetterReading(
            "o",
            "A",  # a capital: the a <-> z swap of ``letter_readings`` is for letters written
            "A",
            "a unit's output, its activation A (o_j = φ(net_j), as Wikipedia's "
            "backpropagation article writes it)",
        ),
    ),
    "net": (
        LetterReading(
            "net",
            "Z",
            "Z",
            "a unit's net input, its pre-activation Z (net_j = Σ_i w_ji o_i, as Wikipedia's "
            "backpropagation article and Mitchell's Machine Learning write it)",
        ),
    ),
    "f": (
        LetterReading(
            "f",
            "Z^{[L]}",
            "Z",
            "the scores Z_L (f = W x, the class scores of CS231n's notes)",
        ),
    ),
    "p": (
        LetterReading(
            "p",
            "A^{[L]}",
            "A",
            "the output's probabilities A_L (p = softmax(o), or σ(z) for one output)",
        ),
    ),
}

#: ``p`` is the probabilities only where the output activation gives them.
_PROBABILITIES = ("softmax", "sigmoid")

#: At most this many readings are checked for one formula (each is a whole check).
MAX_TRIES = 4


def _letter(c: str) -> re.Pattern[str]:
    """The letter standing alone (not inside a command or a word, such as \\odot, exp)."""
    return re.compile(rf"(?<![\\A-Za-z]){c}(?![A-Za-z])")


def _in_script(text: str, at: int) -> bool:
    """Whether position ``at`` is a sub- or superscript's (``W^o``: o names the output
    layer there, ``latex_layers``; ``x_p``: an index)."""
    before = text[:at].rstrip()
    return before.endswith(("^", "_")) or bool(re.search(r"[\^_]\s*\{[^{}]*$", before))


#: ``f`` applied (``f(z)``, ``f'(z)``, ``f_2'(z)``, ``f^{[2]}``): the activation function.
_APPLIED = re.compile(
    r"(?<![\\A-Za-z])f\s*(?:_\s*(?:\{[^{}]*\}|[0-9A-Za-z]))?\s*(?:'|\^|\(|\\left|\\prime)"
)


def letters_written(text: str, activations: tuple[str, ...]) -> list[str]:
    """The letters of ``READINGS`` the formula writes as symbols of its own (not ``f``
    where the formula applies it as a function anywhere)."""
    found = []
    for c in READINGS:
        if c == "p" and (not activations or activations[-1] not in _PROBABILITIES):
            continue
        if c == "f" and _APPLIED.search(text):
            continue
        if any(not _in_script(text, m.start()) for m in _letter(c).finditer(text)):
            found.append(c)
    return found


def _rewrite(reading: LetterReading) -> tuple[re.Pattern[str], Callable[[re.Match[str]], str]]:
    """The letter replaced by its reading wherever it stands as a symbol (a rewrite for
    ``parse``, applied after the others: ``\\mathbf{o}`` is already ``o``)."""

    def replace(m: re.Match[str]) -> str:
        return m.group(0) if _in_script(m.string, m.start()) else reading.latex

    return _letter(reading.letter), replace


@dataclass
class _Tried:
    readings: tuple[LetterReading, ...]
    result: CheckResult


def _said(tried: _Tried) -> str:
    return "; ".join(f"'{r.letter}' as {r.words}" for r in tried.readings)


def letters_check(
    text: str,
    activations: tuple[str, ...],
    check: Callable[[tuple[object, ...], bool], CheckResult],
) -> CheckResult | None:
    """The verdict with the formula's own letters read (None: it writes none of them, or
    no reading of them reads). ``check(rewrites, verdict_only)`` is one whole check."""
    letters = letters_written(text, activations)
    unit = unit_h(text)  # Mitchell's δ_h: h a unit letter, not the hidden layer
    if not letters and unit is None:
        return None
    first = (unit[0],) if unit is not None else ()
    said = [unit[1]] if unit is not None else []
    combos = [
        combo
        for combo in itertools.product(*(READINGS[c] for c in letters))
        if len({r.base for r in combo}) == len(combo)  # two letters, two quantities
    ][:MAX_TRIES]
    tried: list[_Tried] = []
    refusals: list[FormulaError] = []
    for combo in combos:
        try:
            result = check(first + tuple(_rewrite(r) for r in combo), True)
        except FormulaError as err:
            if str(err).startswith("cannot"):  # read, but its verdict is not sure
                raise
            if not str(err).startswith(("unknown", "unexpected")):
                refusals.append(err)  # read, and refused (the loss of one sample, …)
            continue
        if result.shape_error == "shapes do not fit":
            continue
        tried.append(_Tried(combo, result))
    if not tried:
        if refusals and len(refusals) == len(combos):  # every reading read and refused
            raise refusals[0]
        return None
    verdicts = {t.result.verdict for t in tried}
    if len(verdicts) > 1:
        right = next(t for t in tried if t.result.correct)
        wrong = next(t for t in tried if not t.result.correct)
        raise FormulaError(
            f"cannot tell what the letters stand for: with {_said(right)} the formula is "
            f"right, and with {_said(wrong)} it is wrong; write it in derive's letters "
            "(z and a, with the layer: z^{[L]}_i, a_i)"
        )
    chosen = tried[0].readings
    result = check(first + tuple(_rewrite(r) for r in chosen), False)
    result.notes[:0] = said + [f"'{r.letter}' read as {r.words}" for r in chosen]
    if len(tried) > 1:
        result.notes.append(f"the other reading ({_said(tried[1])}) gives the same verdict")
    return result
