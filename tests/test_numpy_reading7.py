"""NumPy reading, round 7: names and returned values read as real code writes them.

Each test fails on the code before this round (said per test)."""

from __future__ import annotations

import pytest

from derive.formula.check import Checker
from derive.formula.guesses import readings, tokens
from derive.formula.parse import FormulaError
from derive.spec.reading import loads

# Trask's Grokking Deep Learning, ch. 6: rows are samples, a ReLU hidden layer.
GROKKING = """
name = "grokking_case"
convention = "row"
delta = "per_sample"
input = 3
batch = 1
[[layers]]
width = 4
activation = "relu"
[[layers]]
width = 1
activation = "identity"
[loss]
name = "squared_error"
reduction = "half_sum"
"""

# Ng's Machine Learning course, ex4: sigmoid layers, the logistic (cross-entropy) cost.
NG_ML = """
name = "ng_ml_case"
convention = "column"
delta = "per_sample"
input = 4
batch = "m"
[[layers]]
width = 3
activation = "sigmoid"
[[layers]]
width = 2
activation = "sigmoid"
[loss]
name = "binary_cross_entropy"
reduction = "mean"
"""


@pytest.fixture(scope="module")
def grokking() -> Checker:
    return Checker(loads(GROKKING, "grokking_case.toml"))


@pytest.fixture(scope="module")
def ng_ml() -> Checker:
    return Checker(loads(NG_ML, "ng_ml_case.toml"))


def test_a_two_between_letters_is_to() -> None:
    # before: relu2deriv -> relu, 2deriv (the split consumed the 2), so the derivative word
    # was lost and Trask's relu2deriv was read as relu itself
    assert tokens("relu2deriv") == ["relu", "to", "deriv"]
    assert tokens("h2o") == ["h", "to", "o"]  # hidden to output, not layer 2
    assert tokens("w1x2") == ["w", "1", "x", "2"]
    assert tokens("layer_1_delta") == ["layer", "1", "delta"]


@pytest.mark.parametrize("given", ["A1", "Z1"])
def test_relu2deriv_is_relus_derivative_at_z_or_a(grokking: Checker, given: str) -> None:
    # before: read as relu(x) and judged INCORRECT (a wrong verdict on Trask's own code)
    result = grokking.check(f"dZ1 = dZ2.dot(W2.T) * relu2deriv({given})", "python")
    assert result.correct
    assert any("relu2deriv" in n and "the same at Z and at A" in n for n in result.notes)


def test_relu2deriv_does_not_make_a_wrong_formula_right(grokking: Checker) -> None:
    result = grokking.check("dZ1 = dZ2.dot(W2.T) * relu2deriv(A1) * A1", "python")
    assert result.verdict == "incorrect"


def test_ngs_d_is_a_delta(ng_ml: Checker) -> None:
    # before: d and d3 were read as scalars ("the left-hand side must name a quantity")
    assert readings("d", 2)[0] == "a delta"
    result = ng_ml.check("d = (a - y)", "python")
    assert result.correct and any("read `d` as δ_2" in n for n in result.notes)
    assert ng_ml.check("d3 = A2 - Y", "python").correct  # numbered from the input
    assert ng_ml.check("d2 = W2.T @ d3 * A1 * (1 - A1)", "python").correct
    wrong = ng_ml.check("d3 = (A2 - Y) * A2 * (1 - A2)", "python")
    assert wrong.verdict == "incorrect" and any("read `d3` as δ_2" in n for n in wrong.notes)


def test_a_capital_d_stays_a_size(ng_ml: Checker) -> None:
    # D is a dimension in CS231n's code (N, D): not read as Ng's delta
    with pytest.raises(FormulaError, match="unknown symbol 'D'"):
        ng_ml.check("dZ2 = (A2 - Y) * D", "python")
