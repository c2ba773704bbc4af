"""Maths typed in Unicode, ``\\ell`` layers and a network's own σ (issue 13, §2).

Tutorials and forum posts write ``∂L/∂W₂[i][j] = ∂L/∂z₂[i] · a₁[j]`` rather than LaTeX;
blog posts write ``\\delta^{(\\ell)}`` and name their activation σ without meaning the
logistic function. The formulas below are made up in those styles (the held-out corpus,
tests/corpus/heldout_*.toml, has the real ones and is measured, not tested here); the
verdicts come from the maths of each network.
"""

from __future__ import annotations

import re

import pytest

from derive import Activation, dense
from derive.api import derive
from derive.formula.check import Checker
from derive.formula.detect import detect_syntax

# one example, column vectors, ReLU hidden layer, sigmoid output, ½‖a − y‖²
RELU_SIG = dense([3, 4, 2], [Activation("relu"), Activation("sigmoid")], "squared_error", batch=1)
# three layers of one symbolic activation named sigma (σ), not the logistic function
SIGMA = dense(
    [3, 4, 5, 2],
    [Activation("symbolic", symbol="sigma")] * 3,
    "squared_error",
    batch=1,
)


@pytest.mark.parametrize(
    "formula",
    [
        "∂L/∂z₂ = (ŷ − y) · ŷ · (1 − ŷ)",
        "∂L/∂a₁[j] = Σᵢ W₂[i][j] · ∂L/∂z₂[i]",
        "∂L/∂z₁[j] = ∂L/∂a₁[j] · ReLU'(z₁[j])",
        "∂L/∂W₂[i][j] = ∂L/∂z₂[i] · a₁[j]",
        "∂L/∂W₁[j][k] = ∂L/∂z₁[j] · x[k]",
        "∂L/∂W₂ = δ₂ a₁ᵀ",
        "δ₁ = (W₂ᵀ δ₂) ⊙ ReLU′(z₁)",
    ],
)
def test_unicode_maths_is_read_and_right(formula: str) -> None:
    assert detect_syntax(formula) == ("latex", True)
    result = Checker(RELU_SIG).check(formula, "latex")
    assert result.correct, (formula, result.diagnosis)


@pytest.mark.parametrize(
    "formula,named",
    [
        ("δ₁ = (W₂ δ₂) ⊙ ReLU′(z₁)", "transpose"),
        ("∂L/∂W₂ = a₁ δ₂ᵀ", "transposed"),
        ("∂L/∂W₂[i][j] = ∂L/∂z₂[j] · a₁[i]", "row-convention"),
    ],
)
def test_unicode_maths_mistakes_are_named(formula: str, named: str) -> None:
    result = Checker(RELU_SIG).check(formula, "latex")
    assert not result.correct
    assert named in (result.diagnosis or "") + " ".join(result.notes), result.diagnosis


def test_ng_layer_brackets_in_plain_text() -> None:
    """``dZ[l]`` in Unicode text is Ng's layer superscript, not an entry."""
    assert Checker(RELU_SIG).check("dW[2] = dZ[2] · A[1]ᵀ", "latex").correct


@pytest.mark.parametrize(
    "formula,correct",
    [
        (r"\delta^{(\ell)} = ((W^{(\ell+1)})^T \delta^{(\ell+1)}) \odot \sigma'(z^{(\ell)})", True),
        (
            r"\delta_i^{(\ell)} = \sigma'\!\left(z_i^{(\ell)}\right) "
            r"\sum_{k=1}^{d_{\ell+1}} w^{(\ell+1)}_{k,i}\, \delta_k^{(\ell+1)}",
            True,
        ),
        (r"\delta^{(L)} = (\vec a^{(L)} - y^{*}) \odot \sigma'(\vec z^{(L)})", True),
        (r"\delta_i^{(L)} = \big(a_i^{(L)} - y_i^*\big)\, \sigma'\!\left(z_i^{(L)}\right)", True),
        # σ(1 − σ) is the logistic function's slope, not this network's σ'
        (r"\delta_2 = (W_3^T \delta_3) \odot \sigma(z_2)(1-\sigma(z_2))", False),
        (r"\delta^{(\ell)} = (W^{(\ell+1)} \delta^{(\ell+1)}) \odot \sigma'(z^{(\ell)})", False),
    ],
)
def test_a_networks_own_sigma_and_ell(formula: str, correct: bool) -> None:
    result = Checker(SIGMA).check(formula, "latex")
    assert result.correct is correct, (formula, result.diagnosis)


def test_sigma_is_still_the_logistic_function_on_a_sigmoid_network() -> None:
    net = dense([3, 4, 2], [Activation("sigmoid")] * 2, "squared_error", batch=1)
    checker = Checker(net)
    assert checker.check(r"\delta_1 = (W_2^T \delta_2) \odot \sigma(z_1)(1-\sigma(z_1))").correct


def test_a_symbolic_sigma_prints_as_the_letter() -> None:
    tex = derive(SIGMA).to_latex()
    assert r"\sigma'\left(Z_{2}\right)" in tex
    assert "sigma'" not in tex.replace(r"\sigma'", "")


def test_a_symbolic_sigma_prints_as_the_letter_in_text() -> None:
    text = derive(SIGMA).text()
    assert "σ'(Z₂)" in text and "sigma" not in text


# CS231n's two-layer net on a batch, rows are samples, mean softmax cross-entropy, dZ2 = ∂L/∂Z2
ROWS = dense([3, 4, 2], ["relu", "softmax"], "cross_entropy", convention="row", delta="mean")


@pytest.mark.parametrize(
    "formula,correct",
    [
        # a notebook's LaTeX with its code's names: W2, a1, dZ2, \partial{loss}
        (r"\frac{\partial{loss}}{\partial{\mathit{W2}}} = \mathit{a1}^\mathsf{T} dZ2", True),
        (r"\frac{\partial \text{cost}}{\partial b2} = \mathbf{1}^T dZ2", True),
        (r"\frac{\partial L}{\partial W2} = dZ2 A1^T", False),
    ],
)
def test_code_names_inside_latex(formula: str, correct: bool) -> None:
    result = Checker(ROWS).check(formula, "latex")
    assert result.correct is correct, (formula, result.diagnosis)


@pytest.mark.parametrize(
    "text",
    [r"x^2 + e^{2} + \frac{1}{2}", r"\sum_{i=1}^{m} a_i", r"\lVert x \rVert_{L2}", "W_{12}", "Wx2"],
)
def test_plain_rewrites_leave_ordinary_latex_alone(text: str) -> None:
    """Only a lone letter with one digit after it (W2, dZ2) is a code name."""
    from derive.formula.source_text import normalize_latex

    assert normalize_latex(text) == text


def test_derived_sqrt_and_abs_read_back() -> None:
    """Huber's and the norms' printed \\sqrt{…} and \\lvert…\\rvert are read (round trip)."""
    net = dense([2, 3], ["identity"], "huber")
    d = derive(net)
    checker = Checker(net)
    from derive.render.latex import step_latex

    for step in d.steps:
        tex = step_latex(step)
        judged = tex.startswith((r"\delta", r"\frac{\partial"))
        if judged and (r"\lvert" in tex or r"\sqrt" in tex):
            assert checker.check(tex).correct, tex
    assert any(r"\lvert" in step_latex(s) for s in d.steps)


@pytest.mark.parametrize("name", ["seed", "nielsen", "ng", "cs231n"])
def test_the_text_printers_gradients_read_back(name: str) -> None:
    """Every concrete-layer ∂L/∂W and ∂L/∂b line ``derive show`` prints (the bias's ``δ 1ₘ``
    with the printer's own ``1ₘ``, once refused as "needs 0 entry indices, not 0") checks
    CORRECT when pasted back."""
    from derive.render.text import render
    from derive.spec.reading import example_text, loads

    d = derive(loads(example_text(name), source=name))
    lines = [
        line.strip() for line in render(d).splitlines() if re.match(r"\s*∂L/∂[Wb][₀-₉]+ = ", line)
    ]
    assert any("1ₘ" in line or "1_" in line for line in lines), lines
    checker = Checker(d)
    for line in lines:
        result = checker.check(line, "latex")
        assert result.correct, (line, result.diagnosis)


@pytest.mark.parametrize(
    "formula,syntax,correct",
    [
        # made up: Greek letters with plain digits, in code and in typed maths (ng: tanh)
        ("δ1 = np.dot(W2.T, δ2) * (1 - A1**2)", "python", True),
        ("δ1 = np.dot(W2, δ2) * (1 - A1**2)", "python", False),
        ("δ1 = (W2ᵀ δ2) ⊙ (1 - A1²)", "latex", True),
        ("δ1 = (W2 δ2) ⊙ (1 - A1²)", "latex", False),
    ],
)
def test_greek_letters_with_plain_digits(formula: str, syntax: str, correct: bool) -> None:
    assert Checker("ng").check(formula, syntax).correct is correct


@pytest.mark.parametrize(
    "formula",
    [
        "δᴸ = ∇ₐC ⊙ σ′(zᴸ)",  # made up in Nielsen's BP1, typed in Unicode: capital ᴸ
        "δᴸⱼ = ∂C/∂aᴸⱼ σ′(zᴸⱼ)",  # with the unit's subscript ⱼ
    ],
)
def test_unicode_capital_l(formula: str) -> None:
    assert Checker("nielsen").check(formula, "latex").verdict == "correct"
