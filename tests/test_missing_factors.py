"""A derivative factor written in one term and missing in another (issue 13 §3, "f'
missing"), and the readings memo that keeps such diagnoses fast.

The formulas below are made up: the multiclass hinge's δ_2 and ∂L/∂A_2 of the built-in
``svm`` network as the derivation prints them (LaTeX, NumPy), with ``relu'(M)`` (NumPy:
the mask ``(M > 0)``) taken off one of the two terms that carry it (the mutation grid's
"f' missing", tests/diagnosis_grid.py).
"""

from __future__ import annotations

import functools

import pytest

from derive import derive
from derive.formula.check import Checker
from derive.formula.ir_walk import nodes
from derive.formula.missing_factors import missing_derivatives
from derive.formula.parse import parse
from derive.formula.resolve import Resolver
from derive.formula.symbols import Context

M_LATEX = r"\mathbf{1} + A_{2} - \sum_{\text{cols}} \left(A_{2} \odot Y\right)"
RELU_P = rf"\operatorname{{relu}}'\left({M_LATEX}\right)"
M_NUMPY = "(1 + A2 - np.broadcast_to(np.sum(A2 * Y, axis=1, keepdims=True), (N, C)))"
MASK = f"(({M_NUMPY} > 0).astype({M_NUMPY}.dtype))"

#: (syntax, formula): the factor dropped from one term
DROPPED = [
    (  # from the Σ_cols term
        "latex",
        rf"\delta_{{2}} = \frac{{1}}{{N}} \left(\left(\mathbf{{1}} - Y\right) \odot {RELU_P} "
        r"- \sum_{\text{cols}} \left(\mathbf{1} - Y\right) \odot Y\right)",
    ),
    (  # from (1 − Y), which the printer spreads over the sum: −S ⊙ Y + 1 − Y
        "latex",
        rf"\delta_{{2}} = \frac{{1}}{{N}} \left(-\sum_{{\text{{cols}}}} \left(\left(\mathbf{{1}} "
        rf"- Y\right) \odot {RELU_P}\right) \odot Y + \mathbf{{1}} - Y\right)",
    ),
    (
        "python",
        f"delta2 = (-(np.broadcast_to(np.sum((1 - Y) * {MASK}, axis=1, keepdims=True), (N, C)) "
        "* Y) + 1 - Y) / N",
    ),
    (
        "python",
        f"dA2 = (1 - Y) / N + (-1/N) * (np.broadcast_to(np.sum((1 - Y) * {MASK}, axis=1, "
        "keepdims=True), (N, C)) * Y)",
    ),
]


@functools.cache
def svm() -> Checker:
    return Checker(derive("svm").network)


@pytest.mark.parametrize(("syntax", "formula"), DROPPED)
def test_a_derivative_factor_missing_from_one_term_is_named(syntax: str, formula: str) -> None:
    result = svm().check(formula, syntax)
    assert result.verdict == "incorrect"
    said = result.diagnosis or ""
    assert said.startswith("the derivative factor"), said
    assert "is missing on" in said and "1 − Y" in said
    assert ("relu'(" in said) if syntax == "latex" else ("> 0)" in said)


def test_the_factor_where_it_belongs_is_still_correct() -> None:
    right = (
        rf"\delta_{{2}} = \frac{{1}}{{N}} \left(\left(\mathbf{{1}} - Y\right) \odot {RELU_P} "
        rf"- \sum_{{\text{{cols}}}} \left(\left(\mathbf{{1}} - Y\right) \odot {RELU_P}\right) "
        r"\odot Y\right)"
    )
    assert svm().check(right).verdict == "correct"


def test_the_candidates_put_the_factor_on_a_run_of_terms_and_never_inside_it() -> None:
    rhs = parse(DROPPED[1][1])[1]
    found = list(missing_derivatives(rhs, python=False))
    assert any("missing on (1 − Y)" in what for what, _ in found)  # a run of two terms
    for _, candidate in found:  # the factor is never put inside itself
        for _, node in nodes(candidate):
            assert not (hasattr(node, "arg") and "relu" in str(node.arg))


def test_a_formula_without_a_derivative_factor_has_no_such_candidate() -> None:
    assert not list(missing_derivatives(parse(r"\delta_2 = W_3^T \delta_3")[1], python=False))


def test_the_readings_memo_gives_the_readings_resolved_afresh() -> None:
    """Each node is resolved once per context; what the memo returns is what resolving it
    again without the memo gives, and the second time costs one unit of the budget."""
    d = svm().d
    rhs = parse(DROPPED[0][1])[1]
    memo: dict = {}
    kept = Context(d, None, memo=memo)
    first = Resolver(kept).readings(rhs)
    assert memo  # every node resolved is kept
    left = kept.budget.left
    again = Resolver(kept).readings(rhs)
    assert kept.budget.left == left - 1
    fresh = Resolver(Context(d, None)).readings(rhs)
    assert again == first == fresh
