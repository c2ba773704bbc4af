"""Σ over a letter the terms of an index form do not index (Nielsen's Σ_x, over the
training inputs x, eq. 67 of ch. 3): the sum over the samples, as the same Σ in a matrix
formula is read; a per-sample left side keeps its samples, so there it is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.formula.check import Checker

XENT = str(Path(__file__).parent / "corpus" / "specs" / "nielsen_xent.toml")


@pytest.fixture(scope="module")
def nielsen() -> Checker:
    return Checker(XENT)


@pytest.mark.parametrize(
    ("formula", "verdict"),
    [
        (
            r"\frac{\partial C}{\partial w^L_{jk}} = \frac{1}{n} \sum_x a^{L-1}_k (a^L_j-y_j)",
            "correct",
        ),
        (r"\frac{\partial C}{\partial b^L_j} = \frac{1}{n} \sum_x (a^L_j - y_j)", "correct"),
        (
            r"\frac{\partial C}{\partial w^L_{jk}} = \frac{1}{n} \sum_x a^{L-1}_j (a^L_k-y_k)",
            "incorrect",
        ),
        (r"\frac{\partial C}{\partial w^L_{jk}} = \sum_x a^{L-1}_k (a^L_j-y_j)", "incorrect"),
        (r"\delta^L_j = \sum_x (a^L_j - y_j)", "incorrect"),
    ],
)
def test_a_sum_over_the_training_inputs(nielsen: Checker, formula: str, verdict: str) -> None:
    result = nielsen.check(formula)
    assert result.verdict == verdict
    if result.correct:
        assert any("Σ_x read as the sum over the samples" in n for n in result.notes)
