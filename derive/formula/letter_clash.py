"""A letter that names something in the network and, in other sources, the output: no
verdict while the two readings disagree.

``output_letters`` reads ``p`` as the output's probabilities (``∂L/∂o = p - y``) only
where the network has no ``p`` of its own. A network with dropout whose keep probability
is written ``p`` (CS231n's ``p``) has one: ``δ₃ = p - y`` is then read with the keep
probability and judged INCORRECT, though a reader of the softmax notes meant the output
(and ``δ₁ = (1/p) M₂ ⊙ δ₂ ⊙ f'(Z₁)`` means the keep probability). When the formula, read
with the letter as the output's, reads, fits the shapes and gets the other verdict, the
checker cannot tell which the formula meant, and says what to declare.
"""

from __future__ import annotations

from collections.abc import Callable

from derive.formula.answer import CheckResult
from derive.formula.ir import FormulaError
from derive.formula.output_letters import READINGS, _rewrite, letters_written


def letters_clash(
    text: str,
    result: CheckResult,
    activations: tuple[str, ...],
    declared: tuple[tuple[str, str], ...],
    depth: int,
    check: Callable[[tuple[object, ...], bool], CheckResult],
) -> None:
    """Raise "cannot tell" when a letter the network names (read so in ``result``) is,
    read as the output's (``output_letters``), a formula with the other verdict.
    ``check(rewrites, verdict_only)`` is one whole check."""
    names = {name for name, _ in declared}
    for letter in letters_written(text, activations):
        if letter in names:
            continue  # the user said what it is
        for reading in READINGS[letter]:
            try:
                other = check((_rewrite(reading),), True)
            except FormulaError:
                continue
            if other.shape_error or other.correct == result.correct:
                continue
            own, theirs = f"the network's own {letter}", f"{reading.base}_{depth}"
            right, wrong = (theirs, own) if other.correct else (own, theirs)
            raise FormulaError(
                f"cannot tell what '{letter}' stands for: the network has a {letter} of its "
                f"own (a dropout keep probability, a hyperparameter), and sources also write "
                f"'{letter}' for {reading.words}; read as {right} the formula is right, as "
                f"{wrong} it is wrong; declare it (--symbol {letter}={theirs})"
                " or write the output's letters (A_L, Z_L)"
            )
