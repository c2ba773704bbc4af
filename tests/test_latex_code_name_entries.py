"""Ng's code names with entry indices (``dZ_{hw}``, the C4W1 notes' db = Σ_h Σ_w dZ_{hw}):
read as the same entries as ``δ_{hw}`` or ``dZ^{[1]}_{hw}``. The formulas are made up on
the corpus's cnn_ng network (one conv layer, a batch of m, the mean loss)."""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.formula.check import Checker

CNN_NG = Path(__file__).parent / "corpus" / "specs" / "cnn_ng.toml"


@pytest.fixture(scope="module")
def checker() -> Checker:
    return Checker(CNN_NG)


@pytest.mark.parametrize("entries", [r"dZ_{hw}", r"dZ_{h,w}", r"\delta_{hw}", r"dZ^{[1]}_{hw}"])
def test_the_bias_gradient_over_the_maps_entries(checker: Checker, entries: str) -> None:
    right = checker.check(rf"db_1 = \frac{{1}}{{m}} \sum_h \sum_w {entries}", "latex")
    assert right.verdict == "correct"
    wrong = checker.check(rf"db_1 = \sum_h \sum_w {entries}", "latex")
    assert wrong.verdict == "incorrect"
    assert "1/m is missing" in (wrong.diagnosis or "")
