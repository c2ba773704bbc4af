"""A weight's gradient written with unit letters only (∂E/∂w_ij = o_i δ_j): which unit the
weight's first index names is a convention (w_kj joins j to k in Nielsen's and Bishop's
notes, w_ij joins i to j in Wikipedia's article), so a formula right in one and wrong in
the other gets no verdict; one wrong in both is wrong. Made-up formulas on the corpus's
Bishop network and Nielsen's; Wikipedia's own formula was judged INCORRECT."""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.formula.check import Checker
from derive.formula.parse import FormulaError

BISHOP = Path(__file__).parent / "corpus" / "specs" / "bishop_tanh.toml"


@pytest.fixture(scope="module")
def bishop() -> Checker:
    return Checker(BISHOP)


@pytest.mark.parametrize(
    ("spec", "formula"),
    [
        ("nielsen", r"\frac{\partial E}{\partial w_{ij}} = o_i \delta_j"),  # Wikipedia's
        (str(BISHOP), r"\frac{\partial E_n}{\partial w_{ij}} = a_i \delta_j"),
        (str(BISHOP), r"\frac{\partial E_n}{\partial w_{ij}} = \delta_j a_i"),
    ],
)
def test_right_only_with_the_other_index_order_is_refused(spec: str, formula: str) -> None:
    with pytest.raises(FormulaError, match="which unit a weight's first index names"):
        Checker(spec).check(formula, "latex")


def test_right_in_derives_order_stays_correct(bishop: Checker) -> None:
    result = bishop.check(r"\frac{\partial E_n}{\partial w_{ji}} = \delta_j a_i", "latex")
    assert result.verdict == "correct"


@pytest.mark.parametrize(
    "formula",
    [
        r"\frac{\partial E_n}{\partial w_{ij}} = 2 a_i \delta_j",
        r"\frac{\partial E_n}{\partial w_{ji}} = 2 \delta_j a_i",
    ],
)
def test_wrong_in_both_orders_is_incorrect(bishop: Checker, formula: str) -> None:
    assert bishop.check(formula, "latex").verdict == "incorrect"


def test_a_deltas_recursion_keeps_its_reading(bishop: Checker) -> None:
    # Bishop's (5.56): the sum over the next layer's deltas says w_kj joins j to k
    result = bishop.check(r"\delta_j = h'(a_j) \sum_k w_{kj} \delta_k", "latex")
    assert result.verdict == "correct"
