"""LaTeX as people really write it (issue 13 §2): each notation is read, and read right.

Every reading is checked on a correct formula AND on a wrong variant of it (which must be
judged INCORRECT, not merely read), on the built-in examples: nielsen (sigmoid, column,
per-sample δ), ng (tanh hidden layer, bracket notation, mean gradients), cs231n (ReLU,
row convention, mean δ), seed (symbolic f). Each formula here could not be read before.
"""

from __future__ import annotations

from functools import cache

import pytest

from derive.cli import main
from derive.formula.check import Checker
from derive.formula.parse import FormulaError


@cache
def checker(name: str) -> Checker:
    return Checker(name)


# (network, a correct formula, the same formula with a real mistake)
PAIRS = [
    # 1. primes inside superscripts, transposes nested in superscripts, function powers
    (
        "ng",
        r"dZ^{[1]} = W^{[2]T} dZ^{[2]} * g^{[1]\prime}(Z^{[1]})",
        r"dZ^{[1]} = W^{[2]T} dZ^{[2]} * g^{[1]}(Z^{[1]})",
    ),
    (
        "ng",
        r"dZ^{[1]} = W^{[2]T} dZ^{[2]} * h^{[1]'}(Z^{[1]})",
        r"dZ^{[1]} = W^{[2]} dZ^{[2]} * h^{[1]'}(Z^{[1]})",
    ),
    (
        "ng",
        r"dZ^{[1]} = W^{[2]^{T}} dZ^{[2]} * g'^{[1]}(Z^{[1]})",
        r"dZ^{[1]} = dZ^{[2]} W^{[2]^{T}} * g'^{[1]}(Z^{[1]})",
    ),
    (
        "ng",
        r"dA^{[1]} = W^{[2]}{^T} dZ^{[2]}",
        r"dA^{[1]} = W^{[2]} dZ^{[2]}",
    ),
    (
        "ng",
        r"dW^{[2]} = \frac{1}{m} dZ^{[2]} A^{[1]'}",  # a prime on a matrix: its transpose
        r"dW^{[2]} = \frac{1}{m} A^{[1]'} dZ^{[2]}",
    ),
    (
        "ng",
        r"\delta_1 = (W_2^T \delta_2) \odot (1 - \tanh^{2}(Z_1))",
        r"\delta_1 = (W_2^T \delta_2) \odot (1 - \tanh^{2}(A_1))",
    ),
    (
        "ng",
        r"\delta_1 = (W_2^T \delta_2) \odot \operatorname{sech}^2(Z_1)",
        r"\delta_1 = (W_2^T \delta_2) \odot \operatorname{sech}(Z_1)",
    ),
    (
        "ng",
        r"\delta_1 = (W_2^T \delta_2) \odot \mathrm{sech}^{2}(Z_1)",
        r"\delta_1 = (W_2^T \delta_2) \odot \mathrm{sech}^{2}(Z_2)",
    ),
    (
        "nielsen",
        r"\delta^L = \Sigma'(z^L) \nabla_a C",  # Σ'(z) = diag(σ'(z)): a Hadamard product
        r"\delta^L = \Sigma'(a^L) \nabla_a C",
    ),
    (
        "nielsen",
        r"\delta_1 = (W_2^T \delta_2) \odot f_1'(z_1)",  # layer-indexed activations
        r"\delta_1 = (W_2 \delta_2) \odot f_1'(z_1)",
    ),
    # 2. \bullet and \cdot: Hadamard where the shapes say so
    (
        "nielsen",
        r"\delta_2 = (A_2 - Y) \bullet \sigma'(Z_2)",
        r"\delta_2 = (A_2 - Y) \bullet \sigma'(A_2)",
    ),
    (
        "nielsen",
        r"\delta_1 = (W_2^T \delta_2) \bullet \sigma'(Z_1)",
        r"\delta_1 = (W_2 \delta_2) \bullet \sigma'(Z_1)",
    ),
    # 3. decorations and the loss's names
    (
        "nielsen",
        r"\hat{\delta}_2 = (A_2 - Y) \odot \sigma'(Z_2)",
        r"\hat{\delta}_2 = (Y - A_2) \odot \sigma'(Z_2)",
    ),
    (
        "nielsen",
        r"\frac{\partial {\cal C}}{\partial W_2} = \delta_2 A_1^T",
        r"\frac{\partial {\cal C}}{\partial W_2} = A_1^T \delta_2",
    ),
    (
        "nielsen",
        r"\boldsymbol{\delta}_1 = (\mathbf{W}_2^T \boldsymbol{\delta}_2) "
        r"\odot \sigma'(\mathbf{z}_1)",
        r"\boldsymbol{\delta}_1 = (\mathbf{W}_2^T \boldsymbol{\delta}_2) "
        r"\odot \sigma'(\mathbf{z}_2)",
    ),
    (
        "nielsen",
        r"\vec{\delta}_1 = (W_2^T \vec{\delta}_2) \odot \sigma'(\vec{z}_1)",
        r"\vec{\delta}_1 = (W_2^T \vec{\delta}_2) \odot \sigma(\vec{z}_1)",
    ),
    (
        "nielsen",
        r"\bm{\delta}_1 = (\bm{W}_2^T \bm{\delta}_2) \odot \sigma'(\bm{z}_1)",
        r"\bm{\delta}_1 = (\bm{W}_2^T \bm{\delta}_1) \odot \sigma'(\bm{z}_1)",
    ),
    # 4. gradients on the right-hand side, chain-rule products
    (
        "nielsen",
        r"\delta^{L} = \nabla_{a^L} C \odot \sigma'(z^{L})",
        r"\delta^{L} = \nabla_{a^L} C \odot \sigma'(a^{L})",
    ),
    (
        "nielsen",
        r"\delta_2 = \frac{\partial C}{\partial a_2} \odot \sigma'(z_2)",
        r"\delta_2 = \frac{\partial C}{\partial a_2} \odot \sigma(z_2)",
    ),
    (
        "ng",  # ∂C/∂ŷ from the loss, though the derivation fuses it with σ' into δ_2 = A_2 − Y
        r"dZ^{[2]} = \frac{\partial C}{\partial \hat{y}} \odot \sigma'(Z^{[2]})",
        r"dZ^{[2]} = \frac{\partial C}{\partial \hat{y}} \odot \sigma'(A^{[2]})",
    ),
    (
        "ng",  # L is the whole (mean) loss: ∂L/∂Z_2 = (1/m) δ_2
        r"\frac{\partial L}{\partial Z_2} = \frac{\partial L}{\partial \hat{y}} \odot \sigma'(Z_2)",
        r"dZ^{[2]} = \frac{\partial L}{\partial \hat{y}} \odot \sigma'(Z^{[2]})",
    ),
    (
        "nielsen",
        r"\frac{\partial C}{\partial W_2} = \frac{\partial C}{\partial Z_2} A_1^T",
        r"\frac{\partial C}{\partial W_2} = \frac{\partial C}{\partial Z_2} A_1",
    ),
    (
        "ng",  # ∂L/∂Z of a per-sample network is (1/m) δ
        r"\frac{\partial L}{\partial W_2} = \frac{\partial L}{\partial Z_2} A_1^T",
        r"\frac{\partial L}{\partial W_2} = \frac{1}{m} \frac{\partial L}{\partial Z_2} A_1^T",
    ),
    (
        "nielsen",
        r"\frac{\partial L}{\partial W_1} = \frac{\partial L}{\partial Z_2} "
        r"\frac{\partial Z_2}{\partial A_1} \frac{\partial A_1}{\partial Z_1} "
        r"\frac{\partial Z_1}{\partial W_1} = \delta_1 X^T",
        r"\frac{\partial L}{\partial W_1} = \frac{\partial L}{\partial Z_2} "
        r"\frac{\partial Z_2}{\partial A_1} \frac{\partial A_1}{\partial Z_1} "
        r"\frac{\partial Z_1}{\partial W_1} = X^T \delta_1",
    ),
    # 5. ReLU, indicators, cases, update rules
    (
        "cs231n",
        r"\delta_1 = \delta_2 W_2^T \odot \mathbb{1}[Z_1 > 0]",
        r"\delta_1 = \delta_2 W_2 \odot \mathbb{1}[Z_1 > 0]",
    ),
    (
        "cs231n",
        r"\delta_1 = \delta_2 W_2^T \odot \mathbb{1}(Z_1 > 0)",
        r"\delta_1 = \delta_2 W_2^T \odot \mathbb{1}(Z_1 < 0)",
    ),
    (
        "cs231n",
        r"\delta_1 = (\delta_2 W_2^T) \odot [Z_1 > 0]",
        r"\delta_1 = (\delta_2 W_2^T) \odot [Z_2 > 0]",
    ),
    (
        "cs231n",
        r"\delta_1 = (\delta_2 W_2^T) \odot \mathbf{1}\{Z_1 \geq 0\}",
        r"\delta_1 = (\delta_2 W_2^T) \odot \mathbf{1}\{Z_1 \leq 0\}",
    ),
    ("cs231n", r"A_1 = \max(0, Z_1)", r"A_1 = \max(0, Z_2)"),
    (
        "cs231n",
        r"\delta_1 = \begin{cases} \delta_2 W_2^T & Z_1 > 0 \\ 0 & \text{otherwise}\end{cases}",
        r"\delta_1 = \begin{cases} \delta_2 W_2^T & Z_1 < 0 \\ 0 & \text{otherwise}\end{cases}",
    ),
    (
        "cs231n",
        r"\delta_1 = \begin{cases} \delta_2 W_2^T & \text{if } Z_1 > 0 \\ "
        r"0 & Z_1 \le 0 \end{cases}",
        r"\delta_1 = \begin{cases} 0 & \text{if } Z_1 > 0 \\ "
        r"\delta_2 W_2^T & Z_1 \le 0 \end{cases}",
    ),
    (
        "nielsen",
        r"W_2 \leftarrow W_2 - \alpha \delta_2 A_1^T",
        r"W_2 \leftarrow W_2 - \alpha A_1^T \delta_2",
    ),
    (
        "nielsen",
        r"W_2 := W_2 - \eta \delta_2 A_1^T",
        r"W_2 := W_2 + \eta \delta_2 A_1^T",
    ),
    (
        "ng",
        r"W^{[2]} \gets W^{[2]} - \alpha \frac{1}{m} dZ^{[2]} A^{[1]T}",
        r"W^{[2]} \gets W^{[2]} - \alpha dZ^{[2]} A^{[1]T}",
    ),
    # 6. index notation of dense layers, per-sample superscripts
    (
        "nielsen",
        r"\delta^{l}_{i} = \sum_{r} w^{l+1}_{ri} \delta^{l+1}_{r} \sigma'(z^{l}_{i})",
        r"\delta^{l}_{i} = \sum_{r} w^{l+1}_{ir} \delta^{l+1}_{r} \sigma'(z^{l}_{i})",
    ),
    (
        "nielsen",
        r"\frac{\partial C}{\partial w^{l}_{jk}} = a^{l-1}_{k} \delta^{l}_{j}",
        r"\frac{\partial C}{\partial w^{l}_{jk}} = a^{l-1}_{j} \delta^{l}_{k}",
    ),
    (
        "nielsen",
        r"\frac{\partial C}{\partial b^l_j} = \delta^l_j",
        r"\frac{\partial C}{\partial b^l_j} = \sum_k \delta^l_k",
    ),
    (
        "nielsen",
        r"\delta^L_j = \frac{\partial C}{\partial a^L_j} \sigma'(z^L_j)",
        r"\delta^L_j = \frac{\partial C}{\partial a^L_j} \sigma'(a^L_j)",
    ),
    (
        "cs231n",  # the row convention: W_2 is H×C, w_{jk} from hidden unit j to class k
        r"\delta^{1}_{j} = \sum_{k} w^{2}_{jk} \delta^{2}_{k} [z^{1}_{j} > 0]",
        r"\delta^{1}_{j} = \sum_{k} w^{2}_{kj} \delta^{2}_{k} [z^{1}_{j} > 0]",
    ),
    (
        "seed",
        r"\delta^{(l)}_i = \left( \sum_{j} W^{(l+1)}_{ji} \delta^{(l+1)}_j \right) f'(z^{(l)}_i)",
        r"\delta^{(l)}_i = \left( \sum_{j} W^{(l+1)}_{ij} \delta^{(l+1)}_j \right) f'(z^{(l)}_i)",
    ),
    (
        "ng",
        r"db^{[2]} = \frac{1}{m} \sum_{i=1}^{m} dZ^{[2](i)}",
        r"db^{[2]} = \sum_{i=1}^{m} dZ^{[2](i)}",
    ),
    (
        "ng",
        r"dW^{[2]} = \frac{1}{m} \sum_{i=1}^{m} dZ^{[2](i)} A^{[1](i)T}",
        r"dW^{[2]} = \frac{1}{m} \sum_{i=1}^{m} A^{[1](i)T} dZ^{[2](i)}",
    ),
    (
        "ng",
        r"\frac{\partial J}{\partial z_{2}^{(i)}} = \frac{1}{m} (a^{[2](i)} - y^{(i)})",
        r"\frac{\partial J}{\partial z_{2}^{(i)}} = (a^{[2](i)} - y^{(i)})",
    ),
    (
        "ng",  # two per-sample factors entry by entry: no sum needed
        r"\frac{\partial J}{\partial z_{1}^{(i)}} = W_2^T \frac{\partial J}{\partial z_{2}^{(i)}} "
        r"* (1 - a^{[1](i)2})",
        r"\frac{\partial J}{\partial z_{1}^{(i)}} = W_2^T \frac{\partial J}{\partial z_{2}^{(i)}} "
        r"* (1 - a^{[1](i)})^2",
    ),
    (
        "nielsen",
        r"\delta^{x,L-1} = ((w^L)^T \delta^{x,L}) \odot \sigma'(z^{x,L-1})",
        r"\delta^{x,L-1} = (\delta^{x,L} (w^L)^T) \odot \sigma'(z^{x,L-1})",
    ),
]


@pytest.mark.parametrize(("network", "right", "wrong"), PAIRS)
def test_a_notation_is_read_and_judged_right(network: str, right: str, wrong: str) -> None:
    result = checker(network).check(right)
    assert result.correct, str(result)
    mistaken = checker(network).check(wrong)
    assert mistaken.verdict == "incorrect", str(mistaken)


def test_bullet_is_the_hadamard_product_where_only_it_fits() -> None:
    """(W_2ᵀ δ_2) • σ'(Z_1): n₁×m by n₁×m, the matrix product does not fit."""
    result = checker("nielsen").check(r"\delta_1 = (W_2^T \delta_2) \bullet \sigma'(Z_1)")
    assert result.correct and result.method == "symbolic", str(result)


def test_gradient_on_the_right_is_the_derived_cotangent() -> None:
    """∂C/∂a^L is dA of the output layer, as derived: δ_L = ∂C/∂a^L ⊙ σ'(z^L) with the
    cotangent written out must agree with the explicit (A_2 − Y)."""
    c = checker("nielsen")
    assert c.check(
        r"\delta_2 = \nabla_a C \odot \sigma'(z_2) = (A_2 - Y) \odot \sigma'(Z_2)"
    ).correct


def test_an_update_rule_with_the_gradient_named() -> None:
    c = checker("ng")
    assert c.check(r"W^{[2]} := W^{[2]} - \alpha dW^{[2]}").correct
    assert c.check(r"W_2 \gets W_2 - \alpha \frac{\partial L}{\partial W_2}").correct


@pytest.mark.parametrize(
    ("network", "formula", "message"),
    [
        # a lone derivative of a matrix by a matrix, or a chain that does not chain
        (
            "nielsen",
            r"\frac{\partial L}{\partial W_2} = \frac{\partial Z_2}{\partial W_2}",
            "matrix meaning",
        ),
        (
            "nielsen",
            r"\frac{\partial L}{\partial W_2} = "
            r"\frac{\partial L}{\partial Z_1} \frac{\partial Z_2}{\partial W_2}",
            "matrix meaning",
        ),
        # an outer product per sample, not under its sum over samples
        ("ng", r"dW^{[2]} = \frac{1}{m} dZ^{[2](i)} A^{[1](i)T}", "under its sum"),
        # an accumulator (Ng's Δ), not a formula of the quantity
        ("nielsen", r"\Delta_2 = \Delta_2 + \delta_2 A_1^T", "accumulation"),
        # an update without its learning rate
        ("nielsen", r"W_2 := W_2 - \delta_2 A_1^T", "learning rate"),
        # cases whose conditions are not opposite
        (
            "cs231n",
            r"\delta_1 = \begin{cases} \delta_2 W_2^T & Z_1 > 0 \\ 0 & Z_1 > 1 \end{cases}",
            "opposite",
        ),
        # an activation of one layer applied to another layer's Z
        ("ng", r"dZ^{[1]} = W^{[2]T} dZ^{[2]} * g^{[1]'}(Z^{[2]})", "another"),
        # ∂C/∂z without a layer
        ("nielsen", r"\delta_1 = \frac{\partial C}{\partial z} \odot \sigma'(Z_1)", "which layer"),
    ],
)
def test_what_cannot_be_read_is_said(network: str, formula: str, message: str) -> None:
    with pytest.raises(FormulaError, match=message):
        checker(network).check(formula)


def test_a_chain_rule_without_matrix_meaning_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    formula = r"\frac{\partial L}{\partial W_2} = \frac{\partial Z_2}{\partial W_2}"
    assert main(["check", "nielsen", formula]) == 2
    err = capsys.readouterr().err
    assert err.startswith("derive: error:") and "matrix meaning" in err
    assert "Traceback" not in err
