"""NumPy's sum inside LaTeX, as Ng's slides write the bias gradient
(db^{[2]} = 1/m np.sum(dZ^{[2]}, axis=1, keepdims=True)): read as NumPy has it, a sum
along the axis written; and Octave's elementwise power .^. Made-up variants on the ng
example (samples are columns)."""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.formula.check import Checker
from derive.formula.latex_numpy import NUMPY_NOTE, TERNARY_NOTE
from derive.formula.parse import FormulaError


@pytest.fixture(scope="module")
def ng() -> Checker:
    return Checker("ng")


@pytest.mark.parametrize(
    "call",
    [
        "np.sum(dZ^{[2]}, axis = 1, keepdims = True)",
        "np.sum(dZ^{[2]}, keepdims=True, axis=1)",
        r"\text{np.sum}(dZ^{[2]}, axis=1, keepdims=True)",
    ],
)
def test_the_slides_bias_gradient_is_correct(ng: Checker, call: str) -> None:
    result = ng.check(rf"db^{{[2]}} = \frac{{1}}{{m}} {call}", "latex")
    assert result.verdict == "correct"
    assert NUMPY_NOTE in result.notes


def test_the_wrong_axis_is_named(ng: Checker) -> None:
    result = ng.check(
        r"db^{[2]} = \frac{1}{m} np.sum(dZ^{[2]}, axis = 0, keepdims = True)", "latex"
    )
    assert result.verdict == "incorrect"
    assert "wrong axis" in (result.diagnosis or "")


def test_without_keepdims_it_is_not_read(ng: Checker) -> None:
    # a 1-D array, which a formula of matrices cannot say (Ng's shape bug in code)
    with pytest.raises(FormulaError):
        ng.check(r"db^{[2]} = \frac{1}{m} np.sum(dZ^{[2]}, axis = 1)", "latex")


@pytest.mark.parametrize(("power", "verdict"), [("2", "correct"), ("3", "incorrect")])
def test_octaves_elementwise_power(ng: Checker, power: str, verdict: str) -> None:
    # made up after Ng's Machine Learning course (Octave): tanh' as 1 - a.^2
    formula = rf"dZ^{{[1]}} = W^{{[2]T}} dZ^{{[2]}} .* (1 - A^{{[1]}}.^{power})"
    assert ng.check(formula, "latex").verdict == verdict


RELU2 = Path(__file__).parent / "corpus" / "specs" / "relu2_sse.toml"


@pytest.mark.parametrize(
    ("formula", "verdict"),
    [
        # made up after the ai-by-hand issue's plain text (corpus aibyhand-issue9-dz2-a3)
        ("∂L/∂Z2=∂L/∂A2  if Z2>0 else 0", "correct"),
        ("∂L/∂Z2=∂L/∂A2  if Z2<0 else 0", "incorrect"),
        (
            r"\frac{\partial L}{\partial Z_2} = \frac{\partial L}{\partial A_2} if Z_2 > 0 else 0",
            "correct",
        ),
    ],
)
def test_pythons_conditional_expression(formula: str, verdict: str) -> None:
    result = Checker(RELU2).check(formula, "latex")
    assert result.verdict == verdict
    assert TERNARY_NOTE in result.notes


def test_a_cases_environment_with_else_is_left_to_cases() -> None:
    cases = (
        r"\frac{\partial L}{\partial Z_2} = \frac{\partial L}{\partial A_2} \odot "
        r"\begin{cases} 1 & \text{ if } Z_2 > 0 \\ 0 & \text{ else } \end{cases}"
    )
    assert Checker(RELU2).check(cases, "latex").verdict == "correct"
