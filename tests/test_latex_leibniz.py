"""An activation's derivative in Leibniz's notation (dσ/dz, ∂σ(z)/∂z, d/dx tanh(x)) read
as σ'(z): a rule on its own, or a factor of a delta. Made-up formulas on Nielsen's
sigmoid network; ∂f/∂w (a network's function by a weight) and dE/dz are not read so."""

from __future__ import annotations

import pytest

from derive.formula.check import Checker
from derive.formula.latex_leibniz import LEIBNIZ_NOTE, LEIBNIZ_REWRITES
from derive.formula.parse import FormulaError


@pytest.fixture(scope="module")
def nielsen() -> Checker:
    return Checker("nielsen")


def rewrite(text: str) -> str:
    for pattern, repl in LEIBNIZ_REWRITES:
        text = pattern.sub(repl, text)
    return text


@pytest.mark.parametrize(
    ("formula", "verdict"),
    [
        (r"\frac{d\sigma}{dz} = \sigma(z)(1-\sigma(z))", "correct"),
        (r"\frac{\partial \sigma(z)}{\partial z} = \sigma(z)(1-\sigma(z))", "correct"),
        (r"\frac{d}{dx}\sigma(x) = \sigma(x)(1-\sigma(x))", "correct"),
        (r"\frac{d\sigma(x)}{dx} = \sigma(x)(1+\sigma(x))", "incorrect"),
        (r"\delta^l = ((w^{l+1})^T \delta^{l+1}) \odot \frac{d\sigma}{dz^l}", "correct"),
        (r"\delta^l = 2 ((w^{l+1})^T \delta^{l+1}) \odot \frac{d\sigma}{dz^l}", "incorrect"),
        (
            r"\frac{\partial C}{\partial z^L} = \frac{\partial C}{\partial a^L} \odot "
            r"\frac{d \sigma(z^L)}{d z^L}",
            "correct",
        ),
    ],
)
def test_leibniz_derivatives_of_the_activation(
    nielsen: Checker, formula: str, verdict: str
) -> None:
    result = nielsen.check(formula, "latex")
    assert result.verdict == verdict
    assert LEIBNIZ_NOTE in result.notes


@pytest.mark.parametrize(
    "text",
    [
        r"\frac{\partial \sigma(y)}{\partial z}",  # applied to another variable
        r"\frac{\partial f}{\partial w_l}",  # a network's function by a weight (Vedaldi)
        r"\frac{dE}{dz}",
        r"\frac{\partial L}{\partial z}",
    ],
)
def test_other_fractions_are_left_as_written(text: str) -> None:
    assert rewrite(text) == text


def test_a_function_applied_to_another_variable_is_not_a_rule(nielsen: Checker) -> None:
    with pytest.raises(FormulaError):
        nielsen.check(r"\frac{\partial \sigma(y)}{\partial z} = \sigma(z)(1-\sigma(z))", "latex")


@pytest.mark.parametrize(
    ("link", "plain"),
    [
        # made up: ∂a/∂z multiplied entry by entry, judged as f'(z) written out
        (
            r"\delta^{l} = (W^{l+1})^{T} \delta^{l+1} \odot \frac{\partial a^l}{\partial z^l}",
            r"\delta^{l} = (W^{l+1})^{T} \delta^{l+1} \odot \sigma'(z^l)",
        ),
        (
            r"\delta^{l} = (W^{l+1})^{T} \delta^{l+1} \odot \frac{\partial a^{l+1}}{\partial "
            r"z^{l+1}}",
            r"\delta^{l} = (W^{l+1})^{T} \delta^{l+1} \odot \sigma'(z^{l+1})",
        ),
        (
            r"\delta^{l} = \frac{\partial a^l}{\partial z^l} \odot (W^{l+1})^{T} \delta^{l+1}",
            r"\delta^{l} = \sigma'(z^l) \odot (W^{l+1})^{T} \delta^{l+1}",
        ),
        (
            r"\delta^{L} = (a^L - y) \odot \frac{\partial a^L}{\partial z^L}",
            r"\delta^{L} = (a^L - y) \odot \sigma'(z^L)",
        ),
    ],
)
def test_a_link_multiplied_entry_by_entry(nielsen: Checker, link: str, plain: str) -> None:
    ours, theirs = nielsen.check(link, "latex"), nielsen.check(plain, "latex")
    assert (ours.verdict, ours.diagnosis) == (theirs.verdict, theirs.diagnosis)
    assert any("∂a/∂z" in n for n in ours.notes)


def test_a_link_of_a_softmax_is_no_elementwise_derivative() -> None:
    # made up: the softmax's ∂a/∂z is a full Jacobian; ⊙ with it is refused
    with pytest.raises(FormulaError, match="not elementwise"):
        Checker("cs231n").check(
            r"dZ_2 = (A_2 - Y) \odot \frac{\partial A_2}{\partial Z_2}", "latex"
        )


def test_a_link_in_a_chain_still_telescopes(nielsen: Checker) -> None:
    # made up: ∂C/∂a ⊙ ∂a/∂z is the chain rule, ∂C/∂z, as before
    result = nielsen.check(
        r"\delta^{L} = \frac{\partial C}{\partial a^L} \odot \frac{\partial a^L}{\partial z^L}",
        "latex",
    )
    assert result.correct
    assert not any("∂a/∂z" in n for n in result.notes)
