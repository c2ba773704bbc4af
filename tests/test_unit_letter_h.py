"""Mitchell's letters (Machine Learning, 1997, Table 4.2 and §4.5.3): a hidden unit's delta
``δ_h = o_h (1 - o_h) Σ_k w_kh δ_k``, h a hidden unit and k a unit it feeds
(``Σ_{k ∈ Downstream(h)}``). derive read ``_h`` as the hidden layer's name, and the formula
exited "the left side needs 0 entry indices, not 0". A letter that indexes a weight's
entries names a unit (``unit_letter_h``). The formulas are made-up minimal variants of
Mitchell's, on Nielsen's sigmoid network (two layers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.formula.check import Checker
from derive.formula.parse import FormulaError


@pytest.fixture(scope="module")
def nielsen() -> Checker:
    return Checker("nielsen")


@pytest.mark.parametrize(
    "formula",
    [
        r"\delta_h = o_h (1-o_h) \sum_k w_{kh} \delta_k",
        r"\delta_h = f'(z_h) \sum_k w_{kh} \delta_k",
        r"\delta_h = o_h (1-o_h) \sum_{k \in Downstream(h)} \delta_k w_{kh}",
        r"\frac{\partial E}{\partial w_{hi}} = \delta_h x_i",
    ],
)
def test_h_indexing_a_weight_is_a_unit_letter(nielsen: Checker, formula: str) -> None:
    result = nielsen.check(formula, "latex")
    assert result.verdict == "correct", str(result)
    assert any("h read as a unit letter" in n for n in result.notes), result.notes


@pytest.mark.parametrize(
    "formula",
    [
        r"\delta_h = 2 o_h (1-o_h) \sum_k w_{kh} \delta_k",  # a stray factor 2
        r"\delta_h = o_h \sum_k w_{kh} \delta_k",  # the derivative's (1 - o_h) missing
    ],
)
def test_a_wrong_formula_with_h_as_a_unit_is_incorrect(nielsen: Checker, formula: str) -> None:
    assert nielsen.check(formula, "latex").verdict == "incorrect"


def test_h_as_the_hidden_layer_keeps_its_reading(nielsen: Checker) -> None:
    result = nielsen.check(r"\delta^h = (W^o)^T \delta^o \odot \sigma'(Z^h)", "latex")
    assert result.verdict == "correct"
    assert any("'h' read as the hidden layer" in n for n in result.notes), result.notes


def test_a_sum_over_the_outputs_is_the_next_layer_with_one_hidden_layer(nielsen: Checker) -> None:
    # Mitchell's Table 4.2 itself: Σ_{k ∈ outputs}, his network's one hidden layer feeding
    # the outputs (it was an error: "W needs a layer index")
    formula = r"\delta_h = o_h (1-o_h) \sum_{k \in outputs} w_{kh} \delta_k"
    assert nielsen.check(formula, "latex").verdict == "correct"
    wrong = r"\delta_h = 2 o_h (1-o_h) \sum_{k \in outputs} w_{kh} \delta_k"
    assert nielsen.check(wrong, "latex").verdict == "incorrect"


def test_a_sum_over_the_outputs_is_refused_with_two_hidden_layers() -> None:
    # the output units are not the first hidden layer's next: no reading of it
    relu3 = Checker(str(Path(__file__).parent / "corpus" / "specs" / "ng_relu3.toml"))
    with pytest.raises(FormulaError, match="only in a network with one hidden layer"):
        relu3.check(r"\delta_h = o_h (1-o_h) \sum_{k \in outputs} w_{kh} \delta_k", "latex")


def test_an_entry_form_missing_an_index_says_which_symbol() -> None:
    # made up: δ_1 with no entry index beside entries: it said "needs 0 entry indices, not 0"
    with pytest.raises(FormulaError, match=r"the left side \(delta_1\) takes 1 entry indices"):
        Checker("nielsen").check(r"\delta_1 = \sum_k w_{kj}^{2} \delta^2_k \sigma'(z^1_j)", "latex")
