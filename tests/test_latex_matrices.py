"""Matrices written entry by entry on a network with one convolution (pikazlou's notebook:
X * W + b = Y, a 3×3 input, a 2×2 filter), compared entry by entry with the derivation.
The corpus entries (pikazlou-conv-*) run through the benchmark; the variants here are made
up from them (one entry moved, the filter flipped, indices from 0)."""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.formula.check import Checker, CheckResult
from derive.formula.parse import FormulaError

SPECS = Path(__file__).parent / "corpus" / "specs"


def check(formula: str, spec: str = "cnn_3x3.toml") -> CheckResult:
    return Checker(SPECS / spec).check(formula, "latex")


def vm(*rows: str) -> str:
    return "\\begin{vmatrix}" + "\\\\".join(rows) + "\\end{vmatrix}"


DW = vm(r"\frac{\partial L}{\partial w_{11}} & \frac{\partial L}{\partial w_{12}}",
        r"\frac{\partial L}{\partial w_{21}} & \frac{\partial L}{\partial w_{22}}")  # fmt: skip
DY = vm(r"\frac{\partial L}{\partial y_{11}} & \frac{\partial L}{\partial y_{12}}",
        r"\frac{\partial L}{\partial y_{21}} & \frac{\partial L}{\partial y_{22}}")  # fmt: skip
X = vm("x_{11} & x_{12} & x_{13}", "x_{21} & x_{22} & x_{23}", "x_{31} & x_{32} & x_{33}")


def patches(second: str = "x_{12} & x_{13}") -> str:
    """pikazlou's dL/dW as the input's patches weighted by dL/dy_ij (corpus
    pikazlou-conv-dW-patches); ``second``: the second patch's first row."""
    dy = [rf"\frac{{\partial L}}{{\partial y_{{{ij}}}}}" for ij in ("11", "12", "21", "22")]
    return (
        f"{DW} = {dy[0]} {vm('x_{11} & x_{12}', 'x_{21} & x_{22}')}"
        f" + {dy[1]} {vm(second, 'x_{22} & x_{23}')}"
        f" + {dy[2]} {vm('x_{21} & x_{22}', 'x_{31} & x_{32}')}"
        f" + {dy[3]} {vm('x_{22} & x_{23}', 'x_{32} & x_{33}')}"
    )


def test_the_filters_gradient_as_weighted_patches_is_correct() -> None:
    result = check(patches())
    assert result.verdict == "correct"
    assert result.quantity == "∂L/∂K_1"
    assert any("entry by entry" in n for n in result.notes)


def test_a_patch_taken_one_column_off_is_incorrect_and_the_entry_is_named() -> None:
    # made up: the second patch starts one column early (x_{11} & x_{12})
    result = check(patches(second="x_{11} & x_{12}"))
    assert result.verdict == "incorrect"
    assert "entry (1, 1)" in (result.diagnosis or "")


def test_the_filters_gradient_as_the_input_correlated_with_dy_is_correct() -> None:
    # the corpus entry's own "right" form of pikazlou-conv-dW-lhs, written entry by entry
    assert check(f"{DW} = {X} * {DY}").verdict == "correct"


def test_a_transposed_left_side_is_incorrect() -> None:
    transposed = vm(
        r"\frac{\partial L}{\partial w_{11}} & \frac{\partial L}{\partial w_{21}}",
        r"\frac{\partial L}{\partial w_{12}} & \frac{\partial L}{\partial w_{22}}",
    )
    assert check(f"{transposed} = {X} * {DY}").verdict == "incorrect"


def test_the_bias_gradient_as_dy_correlated_with_ones() -> None:
    assert check(rf"\frac{{\partial L}}{{\partial b}} = {DY} * {vm('1 & 1', '1 & 1')}").correct
    # made up: one entry of the ones left out
    wrong = check(rf"\frac{{\partial L}}{{\partial b}} = {DY} * {vm('1 & 1', '1 & 0')}")
    assert wrong.verdict == "incorrect"


def test_entries_counted_from_zero() -> None:
    dw = vm(r"\frac{\partial L}{\partial w_{00}} & \frac{\partial L}{\partial w_{01}}",
            r"\frac{\partial L}{\partial w_{10}} & \frac{\partial L}{\partial w_{11}}")  # fmt: skip
    dy = vm(r"\frac{\partial L}{\partial y_{00}} & \frac{\partial L}{\partial y_{01}}",
            r"\frac{\partial L}{\partial y_{10}} & \frac{\partial L}{\partial y_{11}}")  # fmt: skip
    x = vm("x_{00} & x_{01} & x_{02}", "x_{10} & x_{11} & x_{12}", "x_{20} & x_{21} & x_{22}")
    result = check(f"{dw} = {x} * {dy}")
    assert result.verdict == "correct"
    assert "entries counted from 0" in result.notes


@pytest.mark.parametrize(
    ("formula", "why"),
    [
        # the filter itself on the left (corpus pikazlou-conv-dW-lhs): no gradient named
        (f"{vm('w_{11} & w_{12}', 'w_{21} & w_{22}')} = {X} * {DY}", "one gradient's entries"),
        # the input's gradient: derive does not derive it for the data
        (vm(r"\frac{\partial L}{\partial x_{11}}") + " = " + DY, "is not derived"),
        # an entry beyond the 3×3 input
        (f"{DW} = {vm('x_{11} & x_{14}', 'x_{21} & x_{22}')}", "outside"),
        # a product of two matrices that is no convolution
        (f"{DW} = {DY} {DY}", "product of two matrices"),
    ],
)
def test_what_is_not_read_is_refused_with_the_reason(formula: str, why: str) -> None:
    with pytest.raises(FormulaError, match="a matrix written entry by entry") as err:
        check(formula)
    assert why in str(err.value)


def test_a_dense_network_keeps_its_message_with_a_caret() -> None:
    matrix = r"\texttt{matrix\_c} =\begin{bmatrix}y_1 & y_2 \\ y_3 & y_4\end{bmatrix}"
    with pytest.raises(FormulaError, match=r"entry by entry \(\\begin\{bmatrix\}\) is not read:"):
        check(matrix, "softmax_xent_1.toml")


def test_an_index_form_whose_implicit_axes_do_not_fit_is_refused_not_a_crash() -> None:
    # made up on the same network: an index form without layers (K, δ) whose symbols'
    # sample and channel axes differ raised a bare IndexError out of the index evaluator
    with pytest.raises(FormulaError):
        check(r"\frac{\partial L}{\partial K_{mn}} = \sum_i \sum_j \delta_{ij} x_{i+m,j+n}")
