"""Spellings of derive's maths that sources use (``latex_spellings``, ``latex_numpy``,
``latex_leibniz``, ``latex_display``): sgn(x), \\vec{1}, m^{-1}, \\nabla_aC, np.power(x, k),
x ** k, \\text{axis}=1, dσ/dz evaluated at a point, an equation's label before it, 1_{z > 0}.

Every formula here is MADE UP, judged as the same formula in the spelling derive read
before, right and wrong alike (so a reading that changes the maths cannot pass)."""

from __future__ import annotations

from functools import cache

import pytest

from derive.formula.check import Checker, CheckResult

NG_RIGHT = r"dZ^{[1]} = W^{[2]T} dZ^{[2]} * (1 - (A^{[1]})^2)"
NG_WRONG = r"dZ^{[1]} = W^{[2]T} dZ^{[2]} * (1 - (A^{[1]})^3)"
BP1 = r"\delta^L = (a^L - y) \odot \sigma'(z^L)"


@cache
def checker(name: str) -> Checker:
    return Checker(name)


def check(net: str, formula: str) -> CheckResult:
    return checker(net).check(formula, "latex")


@pytest.mark.parametrize(
    ("net", "spelt", "plain"),
    [
        ("cs231n", r"dZ_1 = dA_1 \odot \operatorname{sgn}(A_1)", r"dZ_1 = dA_1 \odot (A_1 > 0)"),
        (
            "cs231n",
            r"dZ_1 = dA_1 \odot \text{sign}(Z_1)",
            r"dZ_1 = dA_1 \odot \operatorname{abs}'(Z_1)",
        ),
        ("cs231n", r"db_1 = \vec{1}^T dZ_1", r"db_1 = \mathbf{1}^T dZ_1"),
        ("cs231n", r"db_1 = \vec{1} dZ_1", r"db_1 = \mathbf{1} dZ_1"),
        ("ng", r"dW^{[1]} = m^{-1} dZ^{[1]} X^T", r"dW^{[1]} = \frac{1}{m} dZ^{[1]} X^T"),
        ("ng", r"dW^{[1]} = m^{-1} X dZ^{[1]T}", r"dW^{[1]} = \frac{1}{m} X dZ^{[1]T}"),
        ("nielsen", r"\delta^L=\nabla_aC\odot\sigma'(z^L)", BP1),
        (
            "nielsen",
            r"\delta^L=\nabla_aC\odot\sigma(z^L)",
            r"\delta^L = \nabla_a C \odot \sigma(z^L)",
        ),
        ("ng", r"dZ^{[1]} = W^{[2]T} dZ^{[2]} * (1 - np.power(A1, 2))", NG_RIGHT),
        ("ng", r"dZ^{[1]} = W^{[2]T} dZ^{[2]} * (1 - \text{np.power}(A^{[1]}, 3))", NG_WRONG),
        ("ng", r"dZ^{[1]} = W^{[2]T} dZ^{[2]} * (1 - A^{[1]} ** 2)", NG_RIGHT),
        ("ng", r"dZ^{[1]} = W^{[2]T} dZ^{[2]} * (1 - A^{[1]} ** 3)", NG_WRONG),
        (
            "ng",
            r"db^{[1]} = \frac{1}{m}\text{np.sum}(dZ^{[1]}, \text{axis}=1, "
            r"\text{keepdims}=\text{True})",
            r"db^{[1]} = \frac{1}{m} np.sum(dZ^{[1]}, axis=1, keepdims=True)",
        ),
        (
            "ng",
            r"db^{[1]} = \frac{1}{m}\text{np.sum}(dZ^{[1]}, \text{axis}=0, "
            r"\text{keepdims}=\text{True})",
            r"db^{[1]} = \frac{1}{m} np.sum(dZ^{[1]}, axis=0, keepdims=True)",
        ),
        ("nielsen", r"\delta^L = (a^L - y) \odot \frac{d\sigma}{dz}(z^L)", BP1),
        (
            "nielsen",
            r"\delta^L = (a^L - y) \odot \frac{d\sigma}{dz}(a^L)",
            r"\delta^L = (a^L - y) \odot \sigma'(a^L)",
        ),
        ("nielsen", r"\delta^L = (a^L - y) \odot \left.\frac{d\sigma}{dz}\right|_{z = z^L}", BP1),
        ("nielsen", r"(BP1) \quad " + BP1, BP1),
        (
            "nielsen",
            r"(1) \quad \delta^L = (a^L - y) \odot \sigma(z^L)",
            r"\delta^L = (a^L - y) \odot \sigma(z^L)",
        ),
        ("nielsen", r"\text{BP1: } " + BP1, BP1),
        ("nielsen", BP1 + r" \text{.}", BP1),
        ("cs231n", r"dZ_1 = dA_1 \odot 1_{Z_1 > 0}", r"dZ_1 = dA_1 \odot (Z_1 > 0)"),
        (
            "ng",
            r"\frac{\partial{\cal J}}{\partial W^{[1]}} = \frac{1}{m} X^T dZ^{[1]}",
            r"\frac{\partial J}{\partial W^{[1]}} = \frac{1}{m} X^T dZ^{[1]}",
        ),
        (
            "ng",
            r"{\rm d}W^{[1]} = \frac{1}{m} {\rm d}Z^{[1]} X^T",
            r"dW^{[1]} = \frac{1}{m} dZ^{[1]} X^T",
        ),
        ("cs231n", r"dZ_1 = dA_1 \odot 1_{\{Z_1 \le 0\}}", r"dZ_1 = dA_1 \odot (Z_1 \le 0)"),
    ],
)
def test_read_as_derives_spelling(net: str, spelt: str, plain: str) -> None:
    ours, theirs = check(net, spelt), check(net, plain)
    assert (ours.verdict, ours.diagnosis) == (theirs.verdict, theirs.diagnosis)


def test_a_matrix_inverse_is_not_a_reciprocal() -> None:
    # made up: W^{-1} is no batch size's reciprocal; it is not rewritten (and not read)
    from derive.formula.latex_spellings import SPELLING_REWRITES

    text = r"dW = W^{-1} m^{-1}"
    for pattern, repl in SPELLING_REWRITES:
        text = pattern.sub(repl, text)
    assert text == r"dW = W^{-1} \frac{1}{m}"
