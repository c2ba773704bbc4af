"""What a formula copied from a page carries besides its maths (``latex_display``): the
equation environment, its number at the end, ``\\forall l``; and spellings TeX sets the same
as derive's (``W^T_{l+1}``, ``^{\\mathsf{T}}``, ``\\ast``, ``\\mathbf{1}_{z > 0}``,
``\\text{tanh}'``, a comma ending a row of ``cases``).

Every formula here is MADE UP: the layout around a formula derive reads (Nielsen's BP2,
Ng's dZ^[1], CS231n's ReLU mask), each judged as the same formula written plainly, on a
correct formula and on a wrong one (so a verdict that ignores the layout cannot pass).
"""

from __future__ import annotations

import re
from functools import cache

import pytest

from derive.formula.check import Checker, CheckResult
from derive.formula.parse import FormulaError

BP2 = r"\delta_1 = W_2^T \delta_2 \odot \sigma'(z_1)"
BP2_WRONG = r"\delta_1 = W_2 \delta_2 \odot \sigma'(z_1)"


@cache
def checker(name: str) -> Checker:
    return Checker(name)


def check(net: str, formula: str) -> CheckResult:
    return checker(net).check(formula, "latex")


@pytest.mark.parametrize(
    ("net", "laid_out", "plain"),
    [
        ("nielsen", BP2 + r" \qquad (2)", BP2),
        ("nielsen", BP2_WRONG + r" \qquad (2)", BP2_WRONG),
        ("nielsen", BP2 + r" \quad (BP2)", BP2),
        ("nielsen", BP2 + r" \hfill (5.55)", BP2),
        ("nielsen", BP2 + r" \quad \text{(3a)}.", BP2),
        ("nielsen", r"\begin{equation}" + BP2 + r"\label{eq:bp2}\end{equation}", BP2),
        ("nielsen", r"\begin{align*}" + BP2_WRONG + r"\nonumber\end{align*}", BP2_WRONG),
        ("nielsen", BP2 + r" \; \forall l", BP2),
        ("nielsen", r"\delta_1 = W^T_2 \delta_2 \odot \sigma'(z_1)", BP2),
        ("nielsen", r"\delta_1 = W^{\top}_{2} \delta_2 \odot \sigma'(z_1)", BP2),
        (
            "nielsen",
            r"\delta_l = W^T_{l+1} \delta_{l+1} \odot \sigma'(z_l)",
            r"\delta_l = W_{l+1}^T \delta_{l+1} \odot \sigma'(z_l)",
        ),
        (
            "nielsen",
            r"\delta_l = W^T_{l+1} \delta_{l+1} \odot \sigma(z_l)",
            r"\delta_l = W_{l+1}^T \delta_{l+1} \odot \sigma(z_l)",
        ),
        ("nielsen", r"\delta_1 = W_2^{\mathsf{T}} \delta_2 \odot \sigma'(z_1)", BP2),
        ("nielsen", r"\delta_1 = W_2^{\mathrm{T}} \delta_2 \odot \sigma'(z_1)", BP2),
        ("cs231n", r"dZ_1 = dA_1 \odot \mathbf{1}_{Z_1 > 0}", r"dZ_1 = dA_1 \odot (Z_1 > 0)"),
        (
            "cs231n",
            r"dZ_1 = dA_1 \odot \mathbb{1}_{\{Z_1 < 0\}}",
            r"dZ_1 = dA_1 \odot (Z_1 < 0)",
        ),
        ("cs231n", r"dZ_1 = dA_1 \ast (Z_1 > 0)", r"dZ_1 = dA_1 \odot (Z_1 > 0)"),
        (
            "cs231n",
            r"dZ_1 = \begin{cases} dA_1, & \text{if } Z_1 > 0 \\ 0, & \text{if } Z_1 \le 0 "
            r"\end{cases}",
            r"dZ_1 = dA_1 \odot (Z_1 > 0)",
        ),
        (
            "ng",
            r"dZ^{[1]} = W^{[2]T} dZ^{[2]} * \text{tanh}'(Z^{[1]})",
            r"dZ^{[1]} = W^{[2]T} dZ^{[2]} * (1 - \tanh^2(Z^{[1]}))",
        ),
        (
            "ng",
            r"dZ^{[1]} = W^{[2]T} dZ^{[2]} * \operatorname{tanh}'(A^{[1]})",
            r"dZ^{[1]} = W^{[2]T} dZ^{[2]} * \tanh'(A^{[1]})",
        ),
    ],
)
def test_read_as_the_plain_formula(net: str, laid_out: str, plain: str) -> None:
    ours, theirs = check(net, laid_out), check(net, plain)
    assert ours.verdict == theirs.verdict
    assert ours.diagnosis == theirs.diagnosis


def test_an_equation_number_is_not_a_factor() -> None:
    # made up: "(2)" read as a factor made BP2 "wrong, a factor 1/2 is missing"
    result = check("nielsen", BP2 + r" \qquad (2)")
    assert result.correct
    assert any("equation's number" in n for n in result.notes)


def test_a_bracketed_factor_inside_the_formula_stays_a_factor() -> None:
    # made up: (2) before the end is a factor, and twice BP2 is wrong
    assert not check("nielsen", r"\delta_1 = (2) W_2^T \delta_2 \odot \sigma'(z_1)").correct


def test_a_superscript_before_an_entry_subscript_is_left_alone() -> None:
    # made up: δ^l_j is entry j of layer l (Nielsen's), not a transpose moved
    result = check("nielsen", r"\frac{\partial C}{\partial b^l_j} = \delta^l_j")
    assert result.correct


def test_a_range_after_the_formula_is_not_dropped() -> None:
    # made up: "l = L-1, …, 1" restricts the formula; it is not read as nothing
    with pytest.raises(FormulaError):
        check("nielsen", BP2 + r", \quad l = L-1, \dots, 1")


@pytest.mark.parametrize(
    ("laid_out", "plain"),
    [
        # made up: the layers a generic formula holds at, written after it
        (BP2.replace("_1", "^l").replace("_2", "^{l+1}") + r", \quad l = L-1, \dots, 1", None),
        (
            r"\delta^l = (W^{l+1})^T \delta^{l+1} \odot \sigma(z^l) \quad \text{for } "
            r"l = 1, \ldots, L-1.",
            None,
        ),
        (
            r"\frac{\partial C}{\partial W^l} = \delta^l (a^{l-1})^T \quad \text{for all } "
            r"l = 1, \dots, L",
            None,
        ),
        (r"\frac{\partial C}{\partial W^l} = a^{l-1} (\delta^l)^T, \quad l = L, \dots, 1", None),
    ],
)
def test_the_range_derive_checks_is_read(laid_out: str, plain: str | None) -> None:
    plain = plain or re.split(r",? \\quad", laid_out)[0]
    ours, theirs = check("nielsen", laid_out), check("nielsen", plain)
    assert (ours.verdict, ours.diagnosis) == (theirs.verdict, theirs.diagnosis)
    assert any("generic l" in n for n in ours.notes)


@pytest.mark.parametrize(
    "formula",
    [
        # made up: ranges derive does not check a generic l over: refused, not dropped
        r"\delta^l = (W^{l+1})^T \delta^{l+1} \odot \sigma'(z^l), \quad l = L-1, \dots, 2",
        r"\delta^l = (W^{l+1})^T \delta^{l+1} \odot \sigma'(z^l), \quad l = 1, \dots, L",
        r"\frac{\partial C}{\partial W^l} = \delta^l (a^{l-1})^T, \quad l = 1, \dots, L-1",
    ],
)
def test_another_range_is_refused(formula: str) -> None:
    with pytest.raises(FormulaError):
        check("nielsen", formula)
