"""Mitchell's letters (Machine Learning, 1997, Table 4.2 and §4.5.3): a hidden unit's delta
``δ_h = o_h (1 - o_h) Σ_k w_kh δ_k``, h a hidden unit and k a unit it feeds
(``Σ_{k ∈ Downstream(h)}``). derive read ``_h`` as the hidden layer's name, and the formula
exited "the left side needs 0 entry indices, not 0". A letter that indexes a weight's
entries names a unit (``unit_letter_h``). The formulas are made-up minimal variants of
Mitchell's, on Nielsen's sigmoid network (two layers)."""

from __future__ import annotations

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


def test_a_sum_over_the_outputs_is_not_read_as_the_next_layer(nielsen: Checker) -> None:
    # Σ_{k ∈ outputs} is the next layer's units only for the last hidden layer
    with pytest.raises(FormulaError):
        nielsen.check(r"\delta_h = o_h (1-o_h) \sum_{k \in outputs} w_{kh} \delta_k", "latex")
