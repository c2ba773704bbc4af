"""NumPy's sum inside LaTeX, as Ng's slides write the bias gradient
(db^{[2]} = 1/m np.sum(dZ^{[2]}, axis=1, keepdims=True)): read as NumPy has it, a sum
along the axis written; and Octave's elementwise power .^. Made-up variants on the ng
example (samples are columns)."""

from __future__ import annotations

import pytest

from derive.formula.check import Checker
from derive.formula.latex_numpy import NUMPY_NOTE
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
