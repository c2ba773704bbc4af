"""A derivation's middle step with a tensor factor (``∂A/∂Z ∂Z/∂W`` after a gradient that
is no partial): that side has no matrix meaning, so it is not read; the formula is wrong
when another side is, and gets no verdict when the others are right."""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.formula.check import Checker, CheckResult
from derive.formula.parse import FormulaError

CALASANS = Path(__file__).parent / "corpus" / "specs" / "calasans_mlp.toml"
MIDDLE = r"(W^o)^T \delta^o \frac{\partial A^h}{\partial Z^h} \frac{\partial Z^h}{\partial W^h}"


def check(formula: str) -> CheckResult:
    return Checker(CALASANS).check(formula, "latex")


def test_the_readmes_formula_is_wrong_by_its_last_side() -> None:
    # filipecalasans/mlp, README.tex.md, 'Learning Equations Hidden Layer' (corpus:
    # calasans-readme-dw-h-sum): X where Xᵀ belongs
    # Its Σ δ^o w^o does not fit the shapes as derive reads it and no usual mistake
    # explains that: no verdict (a mismatch of orientation is no proof of a mistake),
    # never CORRECT for the skipped middle side.
    with pytest.raises(FormulaError, match="shapes do not fit"):
        check(
            r"\frac{\partial C}{\partial W^h} = (\sum{\delta^o w^{o}}) \frac{\partial A^h}"
            r"{\partial Z^h} \frac{\partial Z^h}{\partial W^h} = (\sum{\delta^o w^{o}}) \circ "
            r"\sigma'(Z^h) X"
        )


def test_a_wrong_side_is_diagnosed_beside_an_unread_one() -> None:
    result = check(
        rf"\frac{{\partial C}}{{\partial W^h}} = {MIDDLE} = ((W^o)^T \delta^o \circ \sigma'(Z^h)) X"
    )
    assert result.verdict == "incorrect"
    assert "transpose" in (result.diagnosis or "")


def test_right_sides_beside_an_unread_one_give_no_verdict() -> None:
    formula = (
        rf"\frac{{\partial C}}{{\partial W^h}} = {MIDDLE} = "
        r"((W^o)^T \delta^o \circ \sigma'(Z^h)) X^T"
    )
    with pytest.raises(FormulaError, match="other sides are right; this one is not judged"):
        check(formula)
    # the same formula without its middle step is right
    assert check(
        r"\frac{\partial C}{\partial W^h} = ((W^o)^T \delta^o \circ \sigma'(Z^h)) X^T"
    ).correct


def test_a_formula_whose_only_side_is_a_tensor_is_refused_as_before() -> None:
    with pytest.raises(FormulaError, match="no matrix meaning"):
        check(rf"\frac{{\partial C}}{{\partial W^h}} = {MIDDLE}")
