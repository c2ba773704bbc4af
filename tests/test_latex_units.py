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


# ------------------------- a delta's recursion in Wikipedia's order of a weight's indices
# Made-up minimal formulas in the form of Wikipedia's backpropagation article
# (δ_j = φ'(net_j) Σ_ℓ w_jℓ δ_ℓ, w_jℓ joining unit j to unit ℓ): the delta summed on the
# right is the next layer's in every source, so only the order w_jk = j -> k makes the
# recursion run backward; read so, with a note. It exited "no delta_0" (k placed at l-1).


@pytest.mark.parametrize(
    "formula",
    [
        r"\delta_j = \varphi'(z_j)\sum_k w_{jk}\delta_k",
        r"\delta_j = \varphi'(z_j) \sum_k \delta_k w_{jk}",
        r"\delta_j = \left(\sum_k w_{jk}\delta_k\right) \varphi'(z_j)",
    ],
)
def test_a_deltas_recursion_in_wikipedias_order_is_read(formula: str) -> None:
    result = Checker("seed").check(formula, "latex")
    assert result.verdict == "correct", str(result)
    assert any("Wikipedia" in n for n in result.notes), result.notes
    assert any("k in layer l+1" in n for n in result.notes), result.notes


@pytest.mark.parametrize(
    "formula",
    [
        r"\delta_j = 2 \varphi'(z_j)\sum_k w_{jk}\delta_k",  # made up: a stray factor 2
        r"\delta_j = \varphi(z_j)\sum_k w_{jk}\delta_k",  # made up: φ for φ'
    ],
)
def test_a_wrong_recursion_in_wikipedias_order_is_incorrect(formula: str) -> None:
    assert Checker("seed").check(formula, "latex").verdict == "incorrect"


def test_derives_order_of_a_recursion_has_no_wikipedia_note() -> None:
    result = Checker("seed").check(r"\delta_j = f'(z_j)\sum_k w_{kj}\delta_k", "latex")
    assert result.verdict == "correct"
    assert not any("Wikipedia" in n for n in result.notes), result.notes


# ----------------------------------------------- the input indexed by a unit letter
# Made-up minimal formulas in Bishop's letters (PRML §5.3: ∂E_n/∂w_ji = δ_j z_i, with
# z_i = x_i for the first layer): x_i's unit is an input, in layer 0, so the formula is
# layer 1's. Both were judged INCORRECT (x_i read at the generic layer l, with zeros
# beyond X's rows).


@pytest.mark.parametrize(
    "formula",
    [
        r"\frac{\partial E_n}{\partial w_{ji}} = \delta_j x_i",
        r"\frac{\partial E_n}{\partial w_{kj}} = x_j \delta_k",
    ],
)
def test_the_input_by_a_unit_letter_is_the_first_layer(bishop: Checker, formula: str) -> None:
    result = bishop.check(formula, "latex")
    assert result.verdict == "correct", str(result)
    assert any("the formula is layer 1's" in n for n in result.notes), result.notes


def test_the_input_places_wikipedias_order_of_a_weights_indices(bishop: Checker) -> None:
    # w_ij with x_i: in derive's order i would be the weight's output unit, an input unit
    # of a layer after the input; only Wikipedia's order (w_ij joins i to j) places it. In
    # Bishop's letters (no φ) that is also Nielsen's order with the weight transposed: no
    # verdict
    with pytest.raises(FormulaError, match="cannot tell which unit a weight's first index"):
        bishop.check(r"\frac{\partial E_n}{\partial w_{ij}} = x_i \delta_j", "latex")


def test_mitchells_input_from_unit_i_into_unit_j_is_refused(bishop: Checker) -> None:
    # Mitchell (1997) Table 4.2: Δw_ji = η δ_j x_ji, x_ji the input from unit i into unit j:
    # read as X's entries it was judged INCORRECT
    with pytest.raises(FormulaError, match="Mitchell"):
        bishop.check(r"\frac{\partial E}{\partial w_{ji}} = \delta_j x_{ji}", "latex")


# ------------------------------------- Wikipedia's own letters: Σ_ℓ over units, net_j
# Wikipedia's backpropagation article writes δ_j = (Σ_ℓ w_jℓ δ_ℓ) φ'(net_j) (ℓ the units
# of the next layer, net_j a unit's net input, o_j = φ(net_j) its output; Mitchell writes
# net_j too): ℓ summed is a unit letter, not the layer. Made-up minimal variants on
# Nielsen's sigmoid network; every one was an error ("W needs a layer index", "unexpected
# 'e'").


@pytest.mark.parametrize(
    "formula",
    [
        r"\delta_j = (\sum_\ell w_{j\ell}\delta_\ell)\varphi'(net_j)",
        r"\delta_j = (\sum_\ell w_{j\ell}\delta_\ell)\varphi(net_j)(1-\varphi(net_j))",
        r"\delta_j = (\sum_\ell w_{j\ell}\delta_\ell) o_j (1 - o_j)",
        r"\delta_j = \varphi'(\text{net}_j)\sum_k w_{kj}\delta_k",
    ],
)
def test_wikipedias_letters_are_read(formula: str) -> None:
    result = Checker("nielsen").check(formula, "latex")
    assert result.verdict == "correct", str(result)
    assert any("unit letters read as layers" in n for n in result.notes), result.notes


@pytest.mark.parametrize(
    "formula",
    [
        # made up: f(z) where f'(z) belongs
        r"\delta_j = (\sum_\ell w_{j\ell}\delta_\ell)\varphi(net_j)",
        # made up: the derivative of the output (φ'(o_j), f' of the activation)
        r"\delta_j = (\sum_\ell w_{j\ell}\delta_\ell)\varphi(o_j)(1-\varphi(o_j))",
        # made up: the delta of the unit itself summed
        r"\delta_j = (\sum_\ell w_{j\ell}\delta_j)\varphi'(net_j)",
    ],
)
def test_wrong_formulas_in_wikipedias_letters_are_not_correct(formula: str) -> None:
    try:
        result = Checker("nielsen").check(formula, "latex")
    except FormulaError:
        return  # no verdict is never a wrong one
    assert result.verdict == "incorrect", str(result)


def test_a_summed_l_is_the_layer_where_the_formula_numbers_layers() -> None:
    # l summed and written as a layer elsewhere (δ^l_j): not read as a unit letter
    result = Checker("nielsen").check(
        r"\delta^l_j = \sigma'(z^l_j) \sum_k w^{l+1}_{kj} \delta^{l+1}_k", "latex"
    )
    assert result.verdict == "correct"
    assert not any("ℓ (or l) summed" in n for n in result.notes), result.notes


# ------------------------------------------------ the target indexed by a unit letter
# Made-up minimal output deltas in unit letters (Nielsen's δ^L_j = (a^L_j - y_j) σ'(z^L_j)
# without its L): y_k is the target's entry, so k is a unit of the output layer and the
# formula is layer L's. The right ones were judged INCORRECT (read at the generic l).


@pytest.mark.parametrize(
    ("spec", "formula"),
    [
        (str(BISHOP), r"\delta_k = a_k - y_k"),  # identity output, half the squared error
        ("nielsen", r"\delta_k = (a_k - y_k)\sigma'(z_k)"),
    ],
)
def test_the_target_by_a_unit_letter_is_the_output_layer(spec: str, formula: str) -> None:
    result = Checker(spec).check(formula, "latex")
    assert result.verdict == "correct", str(result)
    assert any("the formula is layer L's" in n for n in result.notes), result.notes


@pytest.mark.parametrize(
    ("formula", "said"),
    [(r"\delta_k = y_k - a_k", "sign"), (r"\delta_k = 2(a_k - y_k)", "factor")],
)
def test_a_wrong_output_delta_in_unit_letters_is_named(
    bishop: Checker, formula: str, said: str
) -> None:
    result = bishop.check(formula, "latex")
    assert result.verdict == "incorrect"
    assert said in str(result.diagnosis), result.diagnosis


@pytest.mark.parametrize(
    "text",
    [
        r"\delta_j = f^\prime(z_j)\sum_k w_{jk}\delta_k",  # made up: Nielsen's letters
        r"\delta_j = o_j(1-o_j)\sum_k w_{jk}\delta_k",  # made up
    ],
)
def test_wikipedia_order_without_wikipedia_letters_is_not_judged(text: str) -> None:
    # w_jk beside a summed δ_k is right in Wikipedia's order and a transposed weight in
    # Nielsen's: without Wikipedia's own letters (φ, a summed ℓ) no verdict
    with pytest.raises(FormulaError, match="cannot tell which unit a weight's first index"):
        Checker("nielsen").check(text)


@pytest.mark.parametrize(
    "formula",
    [  # made up (review9), Haykin's letters: y_j the output of any neuron j, δ_j = ∂E/∂v_j
        r"\frac{\partial E}{\partial w_{ji}} = \delta_j y_i",
        r"\delta_j = y_j (1 - y_j) \sum_k w_{kj} \delta_k",
    ],
)
def test_y_on_a_unit_below_the_output_is_not_read_as_the_target(formula: str) -> None:
    # y_i read as an entry of the target made both INCORRECT; written with a the unit's
    # output they are right, so y there gets no verdict
    one = Checker(Path(__file__).parent / "specs" / "one_sample.toml")  # sigmoid, 1 sample
    assert one.check(formula.replace("y_", "a_"), "latex").correct
    with pytest.raises(FormulaError, match="cannot tell what y_"):
        one.check(formula, "latex")


def test_y_on_the_output_units_is_still_the_target() -> None:
    one = Checker(Path(__file__).parent / "specs" / "one_sample.toml")
    assert one.check(r"\delta_k = (a_k - y_k) a_k (1 - a_k)", "latex").correct
    assert not one.check(r"\frac{\partial E}{\partial w_{kj}} = (a_k - y_k) a_j", "latex").correct
