"""Wrong verdicts found in round 7 (issue 13 §1: a checker that is sometimes wrong is worse
than none).

1. ``\\delta_3 = (p - y)/N`` on a network with dropout whose keep probability is written p:
   p was read as the keep probability, silently, and the formula judged INCORRECT, though
   on the same network without dropout p is read as the output's probabilities (correct).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.formula.check import Checker
from derive.formula.parse import FormulaError
from derive.spec import loads

CORPUS_SPECS = Path(__file__).parent / "corpus" / "specs"


@pytest.fixture(scope="module")
def dropout() -> Checker:
    # D -> H (relu) -> dropout (keep probability p) -> C (softmax), rows, delta = mean
    return Checker(str(CORPUS_SPECS / "dropout_mlp.toml"))


# ------------------------------------------- 1. p: the keep probability or the output's


@pytest.mark.parametrize(
    "formula", [r"\delta_3 = (p - y)/N", r"\delta_3 = \frac{1}{N}(p - y)", r"\delta_3 = (p-Y)/N"]
)
def test_p_of_the_network_and_of_the_output_is_no_verdict(dropout: Checker, formula: str) -> None:
    with pytest.raises(FormulaError, match="cannot tell what 'p' stands for") as err:
        dropout.check(formula)
    assert "--symbol p=A_3" in str(err.value)  # what to declare


def test_p_declared_is_judged() -> None:
    text = (CORPUS_SPECS / "dropout_mlp.toml").read_text()
    declared = Checker(loads(text + '\n[notation]\nsymbols = { p = "A_3" }\n', "d.toml"))
    assert declared.check(r"\delta_3 = (p - y)/N").correct


@pytest.mark.parametrize(
    ("formula", "correct"),
    [
        (r"\delta_1 = \frac{1}{p} (M_2 \odot \delta_2) \odot relu^\prime(Z_1)", True),
        (r"\delta_1 = p (M_2 \odot \delta_2) \odot relu^\prime(Z_1)", False),
        (r"\delta_3 = \frac{1}{N}(A_3 - Y)", True),
    ],
)
def test_p_as_the_keep_probability_still_judged(
    dropout: Checker, formula: str, correct: bool
) -> None:
    """Where reading p as the output's does not fit the shapes, p is the keep probability."""
    assert dropout.check(formula).correct is correct
