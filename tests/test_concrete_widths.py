"""A number in a formula that is one of the network's concrete widths.

The checker compares formulas at symbolic widths (``n_2``), but a layer norm over 3
concrete units, or an L1/MAE/Huber loss averaged over every entry of a concrete output
width, is derived with that width as a number: derive prints ``\\frac{1}{3}``. Its own
printed formula (and a user's ``1/3``) must check CORRECT, checked at the network's own
widths, and a number that is no width's must stay what it is: a mistake.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derive import derive
from derive.formula.check import Checker
from derive.formula.parse import FormulaError
from derive.spec.reading import loads

sys.path.insert(0, str(Path(__file__).parent))
from test_round_trip import (  # noqa: E402
    answers,
    assert_reads_back,
    exported_statements,
    numpy_answers,
    printed_latex,
)


def entry_mean_net(loss: str, width: int, convention: str = "column", hidden: int = 4):
    """A two-layer network whose loss (MAE) is a mean over every entry of a concrete
    width (L1's mean is over the samples alone)."""
    return loads(
        "\n".join(
            [
                'name = "entry_mean"',
                f'convention = "{convention}"',
                "input = 2",
                'batch = "m"',
                "[[layers]]",
                f"width = {hidden}",
                'activation = "tanh"',
                "[[layers]]",
                f"width = {width}",
                'activation = "identity"',
                "[loss]",
                f'name = "{loss}"',
                'reduction = "mean"',
            ]
        ),
        source="test",
    )


def layernorm_net(width: int, convention: str = "column"):
    """A dense layer of ``width`` concrete units, then a layer norm, then the output."""
    return loads(
        "\n".join(
            [
                'name = "ln"',
                f'convention = "{convention}"',
                "input = 2",
                'batch = "m"',
                "[[layers]]",
                f"width = {width}",
                'activation = "relu"',
                "[[layers]]",
                'type = "layernorm"',
                'activation = "tanh"',
                'eps = "epsilon"',
                "[[layers]]",
                "width = 2",
                'activation = "identity"',
                "[loss]",
                'name = "squared_error"',
            ]
        ),
        source="test",
    )


ABS = r"abs'\left(A_{2} - Y\right)"


@pytest.mark.parametrize("loss", ["mae"])
def test_a_mean_over_every_entry_of_a_concrete_width_reads_back(loss: str) -> None:
    """derive prints δ₂ = (1/3) abs'(A₂ − Y): that formula, LaTeX and NumPy, is CORRECT."""
    d = derive(entry_mean_net(loss, 3))
    checker = Checker(d)
    printed = printed_latex(d, d.network.notation)
    assert any(r"\frac{1}{3}" in f for f in printed)
    assert_reads_back(checker, printed, "latex")
    assert_reads_back(checker, answers(checker, printed, "latex"), "latex")
    code = exported_statements(d) + numpy_answers(checker, printed)
    assert_reads_back(checker, code, "python")
    result = checker.check(r"\delta_{2} = \frac{1}{3} " + ABS)
    assert result.correct
    assert any("width of this network" in n and "= 3" in n for n in result.notes)
    assert checker.check("delta2 = np.sign(A2 - Y) / 3", "python").correct


@pytest.mark.parametrize(
    "formula,syntax",
    [
        (r"\delta_{2} = \frac{1}{4} " + ABS, "latex"),  # 4 is the hidden width, not 1/n₂
        (r"\delta_{2} = \frac{1}{5} " + ABS, "latex"),  # no width is 5
        (r"\delta_{2} = " + ABS, "latex"),  # the 1/3 left out
        (r"\delta_{2} = \frac{1}{3} \left(A_{2} - Y\right)", "latex"),  # 1/3, but no abs'
        (r"\delta_{2} = 3 " + ABS, "latex"),  # 3 instead of 1/3
        ("delta2 = np.sign(A2 - Y) / 2", "python"),  # 2 is the input width
        ("delta2 = np.sign(A2 - Y) / (3 * m)", "python"),
    ],
)
def test_a_number_read_as_a_width_never_makes_a_mistake_correct(formula, syntax) -> None:
    checker = Checker(entry_mean_net("mae", 3))
    assert not checker.check(formula, syntax).correct


@pytest.mark.parametrize("convention", ["column", "row"])
@pytest.mark.parametrize("width", [2, 3])
def test_a_layer_norm_over_concrete_units_reads_back(width: int, convention: str) -> None:
    """The layer norm's means over 3 units print as 1/3: derive's own output is CORRECT."""
    d = derive(layernorm_net(width, convention))
    checker = Checker(d)
    printed = printed_latex(d, d.network.notation)
    assert any(rf"\frac{{1}}{{{width}}}" in f or rf"{{{width} m}}" in f for f in printed)
    assert_reads_back(checker, printed, "latex")
    code = exported_statements(d) + numpy_answers(checker, printed)
    assert_reads_back(checker, code, "python")


def test_a_layer_norm_stage_with_a_wrong_number_is_incorrect() -> None:
    """dA₁ = (1/3) dμ₂ + dXc₂ over 3 units reads back; with 1/2 or without dμ₂ it is wrong."""
    d = derive(layernorm_net(3))
    checker = Checker(d)
    delta1 = next(f for f in printed_latex(d, d.network.notation) if f.startswith(r"\delta_{1}"))
    assert checker.check(delta1).correct
    assert r"\frac{1}{3}" in delta1
    assert not checker.check(delta1.replace(r"\frac{1}{3}", r"\frac{1}{2}", 1)).correct
    assert not checker.check(delta1.replace(r"\frac{1}{3}", r"\frac{1}{4}", 1)).correct


def test_a_layer_norm_over_one_unit_is_never_judged_wrong() -> None:
    """Over one unit the layer norm outputs β alone, so δ before it is 0; the export drops
    the terms that vanish. What it prints is CORRECT, or refused with a clear error
    (``np.zeros``), never INCORRECT."""
    d = derive(layernorm_net(1))
    checker = Checker(d)
    statements = exported_statements(d)
    assert statements
    for f in statements:
        try:
            result = checker.check(f, "python")
        except FormulaError as err:
            assert "zeros" in str(err), f
            continue
        assert result.correct, f"{f}\n -> {result}"


def test_the_one_unit_layer_norm_form_of_a_deeper_network_reads() -> None:
    """A one-unit layer between two: the export's ``(δ γ)/σ − γ δ/σ`` (the terms over one
    unit that vanish, dropped) is CORRECT; a wrong factor is not."""
    net = loads(
        "\n".join(
            [
                'name = "ln1"',
                'convention = "row"',
                'delta = "mean"',
                "input = 3",
                'batch = "m"',
                "[[layers]]",
                "width = 1",
                'activation = "tanh"',
                "[[layers]]",
                "width = 1",
                'activation = "relu"',
                "[[layers]]",
                'type = "layernorm"',
                'activation = "tanh"',
                'eps = "epsilon"',
                "[[layers]]",
                'type = "residual"',
                "width = 2",
                "skip_from = 0",
                "projection = true",
                'activation = "sigmoid"',
                "[loss]",
                'name = "binary_cross_entropy"',
            ]
        ),
        source="test",
    )
    checker = Checker(net)
    g = "numpy.broadcast_to(gamma3, (m, 1))"
    right = f"delta2 = (delta3 * {g}) * sigma3**-1 - ({g} * sigma3**-1 * delta3)"
    assert checker.check(right, "python").correct
    assert not checker.check(f"delta2 = (delta3 * {g}) * sigma3**-1", "python").correct


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    width=st.integers(2, 5),
    wrong=st.integers(2, 9),
    convention=st.sampled_from(["column", "row"]),
)
def test_only_the_right_widths_reciprocal_is_correct(width, wrong, convention) -> None:
    """``1/k`` is CORRECT exactly when k is the output width (the hidden width, 6, and
    the input width, 2, are widths too, but not the ones averaged over)."""
    checker = Checker(entry_mean_net("mae", width, convention, hidden=6))
    formula = rf"\delta_{{2}} = \frac{{1}}{{{wrong}}} " + ABS
    assert checker.check(formula).correct == (wrong == width)
    code = f"delta2 = np.sign(A2 - Y) / {wrong}"
    assert checker.check(code, "python").correct == (wrong == width)
