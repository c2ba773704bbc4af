"""A derived quantity assigned (``δ^l := …``, ``dW ← …``, as algorithm boxes write the
backward pass): its formula, judged as the equation ``δ^l = …``; a parameter assigned
(``W ← W − α G``) stays an update rule.

The formulas are MADE UP (Nielsen's BP2 and Ng's dW^[2] with := and ←), each judged as the
same formula written with =, right and wrong.
"""

from __future__ import annotations

from functools import cache

import pytest

from derive.formula.check import Checker, CheckResult
from derive.formula.parse import FormulaError


@cache
def checker(name: str) -> Checker:
    return Checker(name)


def check(net: str, formula: str) -> CheckResult:
    return checker(net).check(formula, "latex")


@pytest.mark.parametrize("arrow", [":=", r"\leftarrow", r"\gets", r"\coloneqq"])
@pytest.mark.parametrize(
    ("net", "lhs", "rhs"),
    [
        ("nielsen", r"\delta^{l}", r"(W^{l+1})^{T} \delta^{l+1} \odot \sigma'(z^{l})"),
        ("nielsen", r"\delta^{l}", r"(W^{l+1})^{T} \delta^{l+1} \odot \sigma(z^{l})"),
        ("nielsen", r"\frac{\partial C}{\partial W^l}", r"\delta^l (a^{l-1})^T"),
        ("nielsen", r"\frac{\partial C}{\partial W^l}", r"a^{l-1} (\delta^l)^T"),
        ("ng", r"dW^{[2]}", r"\frac{1}{m} dZ^{[2]} A^{[1]T}"),
        ("ng", r"db^{[2]}", r"dZ^{[2]}"),
    ],
)
def test_an_assigned_gradient_is_its_equation(net: str, lhs: str, rhs: str, arrow: str) -> None:
    ours, theirs = check(net, f"{lhs} {arrow} {rhs}"), check(net, f"{lhs} = {rhs}")
    assert (ours.verdict, ours.diagnosis) == (theirs.verdict, theirs.diagnosis)


def test_a_parameter_assigned_is_still_an_update() -> None:
    # made up: W ← W − α dW checks dW as the gradient; W ← α dW is no update rule
    assert check("ng", r"W^{[2]} := W^{[2]} - \alpha dW^{[2]}").correct
    with pytest.raises(FormulaError, match="update rule"):
        check("ng", r"W^{[2]} := \alpha dW^{[2]}")
