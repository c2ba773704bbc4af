"""The letters of a network with one hidden layer (``latex_hidden``): x → z → h → o or y,
unnumbered (Dive into Deep Learning, Rackauckas' SciML notes), and d2l's prod(·, ·).

The formulas here are MADE UP (minimal forms of those notations); the real ones are the
corpus entries d2l-dJ-dh, d2l-dJ-dz and sciml-l10-two-layer-* (benchmarks/corpus.py).
Each reading is compared with the same formula written in derive's numbered names: the
verdict must be the same, and the reading said in a note.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.formula.check import Checker, CheckResult
from derive.formula.parse import FormulaError

SPECS = Path(__file__).parent / "corpus" / "specs"
SCIML = SPECS / "sig_lin_half.toml"  # sigmoid hidden layer, linear output, batch 1
D2L = SPECS / "d2l_mlp.toml"  # φ hidden layer, o = W2 h, weight decay
NOTE = "the letters of a network with one hidden layer"


def check(spec: Path | str, formula: str) -> CheckResult:
    return Checker(spec).check(formula, "latex")


@pytest.mark.parametrize(
    ("letters", "numbered"),
    [
        # made up: the adjoint (bar) notation's h̄, z̄, W̄ with ȳ the output's
        (r"\overline{h} = W_2^T \overline{y}", r"dA_1 = W_2^T \delta_2"),
        (r"\overline{h} = W_2 \overline{y}", r"dA_1 = W_2 \delta_2"),
        (
            r"\overline{z} = \overline{h} .* \sigma'(z)",
            r"\frac{\partial L}{\partial Z_1} = dA_1 \odot \sigma'(Z_1)",
        ),
        (
            r"\overline{z} = \overline{h} .* \sigma(z)",
            r"\frac{\partial L}{\partial Z_1} = dA_1 \odot \sigma(Z_1)",
        ),
        (r"\overline{W_2} = \overline{y} h^T", r"dW_2 = \delta_2 A_1^T"),
        (r"\overline{W_2} = h \overline{y}^T", r"dW_2 = A_1 \delta_2^T"),
        (r"\overline{W_1} = \overline{z} x^T", r"dW_1 = \delta_1 X^T"),
        (r"\overline{b_1} = \overline{z}", r"db_1 = \delta_1"),
        (r"\overline{b_1} = -\overline{z}", r"db_1 = -\delta_1"),
    ],
)
def test_bar_letters_judged_as_the_numbered_formula(letters: str, numbered: str) -> None:
    ours, theirs = check(SCIML, letters), check(SCIML, numbered)
    assert ours.verdict == theirs.verdict
    assert ours.quantity == theirs.quantity
    assert any(NOTE in n for n in ours.notes)


def test_a_wrong_reading_is_named_as_in_derives_names() -> None:
    # made up: σ for σ' in the bar notation
    result = check(SCIML, r"\overline{z} = \overline{h} .* \sigma(z)")
    assert result.verdict == "incorrect"
    assert "derivative" in (result.diagnosis or "")


def test_z_read_as_the_output_where_the_shapes_say_so() -> None:
    # made up: z = W_2 h + b_2 is the output's pre-activation; as the hidden layer's Z_1 its
    # shapes do not fit, so the other reading of z is taken and said
    result = check(SCIML, r"\overline{z} = W_2 h + b_2 - y")
    numbered = check(SCIML, r"\delta_2 = W_2 A_1 + b_2 - y")
    assert result.verdict == numbered.verdict == "correct"
    assert any("output layer's pre-activation" in n for n in result.notes)


def test_y_written_as_a_value_too_is_not_read_as_the_output() -> None:
    # made up: ȳ beside y itself, which may be the targets: no reading
    with pytest.raises(FormulaError):
        check(SCIML, r"\overline{h} = W_2^T \overline{y} + 0 y")


def test_only_on_a_network_with_one_hidden_layer() -> None:
    # made up: seed has two hidden layers, so h names none of them
    with pytest.raises(FormulaError):
        check("seed", r"\overline{h} = W_3^T \overline{y}")


@pytest.mark.parametrize(
    ("formula", "verdict"),
    [
        # made up: d2l's chain with prod(·, ·) in the middle, the last side right or wrong
        (
            r"\frac{\partial J}{\partial h} = \textrm{prod}\left(\frac{\partial J}{\partial o}, "
            r"\frac{\partial o}{\partial h}\right) = {W^{(2)}}^\top \frac{\partial J}{\partial o}",
            "correct",
        ),
        (
            r"\frac{\partial J}{\partial h} = \textrm{prod}\left(\frac{\partial J}{\partial o}, "
            r"\frac{\partial o}{\partial h}\right) = -{W^{(2)}}^\top \frac{\partial J}{\partial o}",
            "incorrect",
        ),
        (
            r"\frac{\partial J}{\partial z} = \textrm{prod}\left(\frac{\partial J}{\partial h}, "
            r"\frac{\partial h}{\partial z}\right) = \frac{\partial J}{\partial h} \odot "
            r"\phi'(z)",
            "correct",
        ),
    ],
)
def test_prod_of_chain_rule_links(formula: str, verdict: str) -> None:
    assert check(D2L, formula).verdict == verdict


def test_prod_of_anything_else_is_refused() -> None:
    # made up: prod over two matrices is not a chain rule's product
    with pytest.raises(FormulaError, match="prod"):
        check(D2L, r"\frac{\partial J}{\partial W^{(2)}} = \textrm{prod}(o, h)")


def test_a_bare_function_letter_is_a_symbol() -> None:
    # made up: h^T and ∂J/∂h with nothing to apply h to; h'(z) stays a function
    assert check(
        D2L,
        r"\frac{\partial J}{\partial W^{(2)}} = \frac{\partial J}{\partial o} h^T "
        r"+ \lambda W^{(2)}",
    ).correct
    assert check("ng", r"\delta_1 = W_2^T \delta_2 \odot g'(Z_1)").correct


def test_h_dividing_is_a_width_not_the_hidden_layer() -> None:
    # made up: d2l's spec names its hidden width h; 1/h is no activation's reciprocal, so
    # the formula is not read in the hidden layer's letters
    with pytest.raises(FormulaError):
        check(
            D2L,
            r"\frac{\partial J}{\partial h} = \frac{1}{h} {W^{(2)}}^\top "
            r"\frac{\partial J}{\partial o}",
        )


@pytest.mark.parametrize(
    "formula",
    [
        r"\frac{\partial J}{\partial h} = W_2^T \delta_1",  # made up, in a Q&A page's form
        r"\frac{\partial J}{\partial W_2} = \delta_1 h^T",  # made up
    ],
)
def test_a_delta_beside_the_hidden_letters_is_not_placed_by_them(formula: str) -> None:
    # notes with x → z → h letters that also write δ number their deltas their own way
    # (δ_1 = ∂J/∂z_2, from the output): reading h as A_1 judged these INCORRECT (a layer
    # index off by one), wrong where δ_1 is the source's output delta
    with pytest.raises(FormulaError):
        check(SCIML, formula)


@pytest.mark.parametrize(
    "formula",
    [  # made up (review9): SciML's y = W_2 h + b_2 is the output's pre-activation
        r"\frac{\partial L}{\partial W_2} = h^T \frac{\partial L}{\partial y}",
        r"\frac{\partial L}{\partial h} = \frac{\partial L}{\partial y} W_2^T",
    ],
)
def test_dL_dy_on_an_output_with_an_activation_is_not_judged_one_way(formula: str) -> None:
    # cs231n's output is a softmax: ∂L/∂y read as ∂L/∂A_2 only made these INCORRECT,
    # although with y = W_2 h + b_2 (∂L/∂Z_2 = δ_2) they are the derived formulas
    as_z = formula.replace(r"\partial y}", r"\partial Z_2}").replace("h", "A_1")
    assert check("cs231n", as_z).correct  # the same formula with y as Z_2
    with pytest.raises(FormulaError, match="cannot tell whether y under a derivative"):
        check("cs231n", formula)


def test_dL_dy_on_an_identity_output_is_still_judged() -> None:
    # on SciML's own network (a linear output) A_2 = Z_2: the reading is not in doubt
    formula = r"\frac{\partial L}{\partial W_2} = \frac{\partial L}{\partial y} h^T"
    assert check(SCIML, formula).correct
