"""A layer's local derivative as a step of the chain rule (``∂a/∂z = a(1 − a)``, Mazur's
∂out/∂net = out(1 − out)): the layer's activation derivative, entry by entry; and a number
on the right of such a rule (``f'(z) = 1``, the identity's) is every entry's value. The
formulas are made up on the corpus's sig_lin_half network (a sigmoid hidden layer, a
linear output)."""

from __future__ import annotations

from pathlib import Path

import pytest

from derive import load
from derive.formula.check import Checker
from derive.formula.local_rules import NOTE
from derive.formula.parse import FormulaError

SIG_LIN = Path(__file__).parent / "corpus" / "specs" / "sig_lin_half.toml"


@pytest.fixture(scope="module")
def checker() -> Checker:
    return Checker(SIG_LIN)


@pytest.mark.parametrize(
    "formula",
    [
        r"\frac{\partial A_1}{\partial Z_1} = A_1 (1 - A_1)",
        r"\frac{\partial a_1}{\partial z_1} = \sigma(z_1)(1-\sigma(z_1))",
        r"\frac{\partial a}{\partial z} = a(1-a)",  # no layer: the sigmoid layer's
        r"\frac{\partial a_2}{\partial z_2} = 1",  # the linear output's
    ],
)
def test_a_local_derivative_is_the_layers_activation_derivative(
    checker: Checker, formula: str
) -> None:
    result = checker.check(formula, "latex")
    assert result.verdict == "correct"
    assert NOTE in result.notes


@pytest.mark.parametrize(
    "formula",
    [
        r"\frac{\partial a_1}{\partial z_1} = a_1(1+a_1)",
        r"\frac{\partial a_1}{\partial z_1} = 2 a_1(1-a_1)",  # a factor 2 too many
    ],
)
def test_a_wrong_local_derivative_is_incorrect(checker: Checker, formula: str) -> None:
    result = checker.check(formula, "latex")
    assert result.verdict == "incorrect"
    assert "not the derivative of sigmoid" in (result.diagnosis or "")


def test_the_activation_written_as_a_function_of_z_is_refused(checker: Checker) -> None:
    # a_1(z_1) is no product: read as one, the formula would be judged wrong
    with pytest.raises(FormulaError, match="as a function of its pre-activation"):
        checker.check(r"\frac{\partial a_1}{\partial z_1} = a_1(z_1) (1-a_1(z_1))", "latex")


@pytest.mark.parametrize(
    ("spec", "formula"),
    [
        (SIG_LIN, r"\frac{\partial a}{\partial z} = a - a^2"),  # sigmoid'
        (SIG_LIN.parent / "independentcode_xor.toml", r"\frac{\partial a}{\partial z} = 1 - a^2"),
    ],
)
def test_a_square_beside_an_unnumbered_local_derivative_is_refused(
    spec: Path, formula: str
) -> None:
    # a^2 reads as layer 2's a (a superscript numbers layers): a right sigmoid' or tanh'
    # was judged INCORRECT at every layer
    with pytest.raises(FormulaError, match="not a square"):
        Checker(spec).check(formula, "latex")


@pytest.mark.parametrize(
    "formula",
    [
        r"f'(z) = \sigma(z^2)(1-\sigma(z^2))",  # σ(z²): wrong, was judged right at layer 2
        r"\sigma'(z) = e^{-z^2}/(1+e^{-z})^2",  # e^{-z²}: wrong, was judged right
    ],
)
def test_a_numbered_argument_beside_an_unnumbered_rule_is_refused(formula: str) -> None:
    # nielsen: two sigmoid layers, so z^2 read as layer 2's z made these right
    with pytest.raises(FormulaError, match="not a square"):
        Checker(load("nielsen")).check(formula, "latex")


def test_a_layer_the_network_has_not_is_refused(checker: Checker) -> None:
    with pytest.raises(FormulaError, match="none of this network's"):
        checker.check(r"\frac{\partial a_0}{\partial z_0} = a_0 (1-a_0)", "latex")


@pytest.mark.parametrize(("number", "verdict"), [("1", "correct"), ("2", "incorrect")])
def test_a_number_as_an_activation_derivative(checker: Checker, number: str, verdict: str) -> None:
    # f'(z) = 1 is the linear layer's derivative: it was judged INCORRECT (a number
    # against a matrix of ones: shapes differ)
    assert checker.check(f"f'(z) = {number}", "latex").verdict == verdict
