"""The network checker on the issue-15 layers: their parameters and stages read, and a
classic mistake per layer diagnosed (the spec's layer as ``derive/spec/norm_layers.py``
defines it: ``Z_r = W_r A_{r-1} + b_r + A_j`` or ``+ P_r A_j``; batch norm's γ, β per
feature; inverted dropout ``A_k = A_{k-1} ⊙ M_k / p``)."""

from __future__ import annotations

import pytest

from derive import derive
from derive.formula.check import Checker
from derive.spec.reading import loads

DROPOUT = """
name = "dropout_mlp"
convention = "column"
delta = "per_sample"
input = "n_0"
batch = "m"

[[layers]]
width = "n_1"
activation = "relu"

[[layers]]
type = "dropout"
p = "p"

[[layers]]
width = "n_3"
activation = "identity"

[loss]
name = "squared_error"
reduction = "half_mean"
"""

#: A projection skip from a hidden layer: A_2 (n_2 wide) added into Z_3 (n_3) as P_3 A_2.
PROJECTED = """
name = "projected"
convention = "{convention}"
delta = "per_sample"
input = "n_0"
batch = "m"

[[layers]]
width = "n_1"
activation = "tanh"

[[layers]]
width = "n_2"
activation = "tanh"

[[layers]]
type = "residual"
width = "n_3"
skip_from = 2
projection = true
activation = "identity"

[loss]
name = "squared_error"
reduction = "half_mean"
"""


def check(spec, formula: str, syntax: str):
    d = derive(spec) if isinstance(spec, str) and "\n" not in spec else derive(loads(spec))
    return Checker(d).check(formula, syntax)


@pytest.mark.parametrize(
    "formula,syntax",
    [
        (
            r"\frac{\partial L}{\partial \gamma_{2}} = "
            r"\sum_{\text{rows}} (\delta_{2} \odot Xhat_{2})",
            "latex",
        ),
        ("dgamma2 = np.sum(delta2 * Xhat2, axis=0, keepdims=True)", "python"),
        (r"\frac{\partial L}{\partial \beta_{2}} = \sum_{\text{rows}} \delta_{2}", "latex"),
        ("dbeta2 = delta2.sum(axis=0, keepdims=True)", "python"),
    ],
)
def test_batch_norm_gradients_read(formula: str, syntax: str) -> None:
    assert check("bn_mlp", formula, syntax).correct


@pytest.mark.parametrize(
    "formula,syntax,said",
    [
        (
            r"\frac{\partial L}{\partial \gamma_{2}} = "
            r"\sum_{\text{cols}} (\delta_{2} \odot Xhat_{2})",
            "latex",
            "summed over the wrong axis: over the units, not the samples",
        ),
        (
            "dgamma2 = np.sum(delta2 * Xhat2, axis=1, keepdims=True)",
            "python",
            "the sum is over the wrong axis (axis=0, not axis=1",
        ),
    ],
)
def test_dgamma_summed_over_the_units_is_named(formula: str, syntax: str, said: str) -> None:
    """bn_mlp has samples on rows: γ_2's gradient sums δ_2 ⊙ x̂_2 over the rows."""
    result = check("bn_mlp", formula, syntax)
    assert not result.correct
    assert said in (result.diagnosis or "")


@pytest.mark.parametrize(
    "formula,syntax,term",
    [
        (r"\delta_{1} = (W_{2}^{T} \delta_{2}) \odot \operatorname{relu}'(Z_{1})", "latex", "δ_2"),
        ("delta1 = (W2.T @ delta2) * (Z1 > 0)", "python", "delta2"),  # the user's name
    ],
)
def test_a_missing_identity_skip_term_is_named(formula: str, syntax: str, term: str) -> None:
    """resnet_mlp adds A_1 into Z_2: δ_1 = (W_2ᵀ δ_2 + δ_2) ⊙ relu'(Z_1)."""
    result = check("resnet_mlp", formula, syntax)
    assert not result.correct
    assert f"the residual connection's term {term} is missing" in (result.diagnosis or "")
    assert check("resnet_mlp", "delta1 = (W2.T @ delta2 + delta2) * (Z1 > 0)", "python").correct


@pytest.mark.parametrize(
    "convention,formula,right",
    [
        (
            "column",
            r"\delta_{2} = (W_{3}^{T} \delta_{3}) \odot \tanh'(Z_{2})",
            r"\delta_{2} = (W_{3}^{T} \delta_{3} + P_{3}^{T} \delta_{3}) \odot \tanh'(Z_{2})",
        ),
        (
            "row",
            r"\delta_{2} = (\delta_{3} W_{3}^{T}) \odot \tanh'(Z_{2})",
            r"\delta_{2} = (\delta_{3} W_{3}^{T} + \delta_{3} P_{3}^{T}) \odot \tanh'(Z_{2})",
        ),
    ],
)
def test_a_missing_projected_skip_term_is_named(convention: str, formula: str, right: str) -> None:
    spec = PROJECTED.format(convention=convention)
    assert check(spec, right, "latex").correct
    result = check(spec, formula, "latex")
    assert not result.correct
    term = "P_3ᵀ δ_3" if convention == "column" else "δ_3 P_3ᵀ"
    said = result.diagnosis or ""
    assert "the residual connection's term" in said and f"{term}" in said, result


@pytest.mark.parametrize(
    "formula,syntax",
    [
        (r"\delta_{1} = (M_{2} \odot \delta_{2}) \odot \operatorname{relu}'(Z_{1})", "latex"),
        ("delta1 = (M2 * delta2) * (Z1 > 0)", "python"),
    ],
)
def test_dropout_without_its_1_over_p_is_named(formula: str, syntax: str) -> None:
    result = check(DROPOUT, formula, syntax)
    assert not result.correct
    assert "inverted dropout's 1/p is missing" in (result.diagnosis or "")
    assert check(DROPOUT, "delta1 = (M2 * delta2) * (Z1 > 0) / p", "python").correct
