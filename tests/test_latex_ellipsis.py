"""An ellipsis in a product of layers (σ'(z_1) w_2 σ'(z_2) … σ'(z_4) ∂C/∂a_4, Nielsen
ch. 5): filled in by the period of the factors before it, each one layer on, up to the
factor after it; refused when no period reaches it."""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.formula.check import Checker
from derive.formula.ir import FormulaError, Sym
from derive.formula.latex_ellipsis import filled
from derive.formula.layer_indices import IntIndex
from derive.spec import Activation, dense

CHAIN4 = str(Path(__file__).parent / "corpus" / "specs" / "nielsen_chain4.toml")


def _s(base: str, k: int) -> Sym:
    return Sym(base, IntIndex(k))


def test_the_period_the_written_factors_bear_out_is_continued() -> None:
    before = [_s("Z", 1), _s("W", 2), _s("Z", 2)]
    assert filled(before, _s("Z", 4)) == [
        _s("Z", 1),
        _s("W", 2),
        _s("Z", 2),
        _s("W", 3),
        _s("Z", 3),
        _s("W", 4),
        _s("Z", 4),
    ]
    assert filled([_s("Z", 1)], _s("Z", 3)) == [_s("Z", 1), _s("Z", 2), _s("Z", 3)]


def test_no_period_reaching_the_factor_after_is_refused() -> None:
    with pytest.raises(FormulaError, match="ellipsis"):
        filled([_s("Z", 1), _s("W", 2), _s("Z", 2)], _s("W", 1))


@pytest.mark.parametrize(
    ("dots", "last", "verdict"),
    [
        ("...", 4, "correct"),
        (r"\cdots", 4, "correct"),
        (r"\ldots", 3, "incorrect"),  # the run stops one layer early: w_4 σ'(z_4) missing
    ],
)
def test_nielsens_chain_of_four_neurons(dots: str, last: int, verdict: str) -> None:
    formula = (
        rf"\partial C/\partial b_1 = \sigma'(z_1)w_2\sigma'(z_2){dots}\sigma'(z_{last})"
        r"\frac{\partial C}{\partial a_4}"
    )
    assert Checker(CHAIN4).check(formula).verdict == verdict


def test_matrices_with_the_diagonal_form() -> None:
    """Nielsen's δ^l = Σ'(z^l) (w^{l+1})^T … (w^L)^T δ^L at concrete layers, one sample."""
    net = dense([3, 4, 4, 4, 2], [Activation("sigmoid")] * 4, "squared_error", batch=1)
    checker = Checker(net)
    right = r"\delta_1 = \Sigma'(z_1) (w_2)^T \cdots \Sigma'(z_3) (w_4)^T \delta_4"
    assert checker.check(right).correct
    short = r"\delta_1 = \Sigma'(z_1) (w_2)^T \cdots \Sigma'(z_2) (w_4)^T \delta_4"
    try:  # w_3 Σ'(z_3) missing: the run stops short (wrong, or not judged: never right)
        assert not checker.check(short).correct
    except FormulaError as err:
        assert "cannot judge" in str(err)


def test_a_generic_run_from_l_to_L_is_refused() -> None:
    with pytest.raises(FormulaError, match="ellipsis"):
        Checker("nielsen").check(
            r"\delta^l = \Sigma'(z^l) (w^{l+1})^T \ldots \Sigma'(z^{L-1}) (w^L)^T \Sigma'(z^L)"
            r" \nabla_a C"
        )
