"""Chain-rule products of Jacobians over a forward program (issue 15's residual posts):
``∂L/∂x_4 = (∂L/∂x_5)(∂x_5/∂x_4)`` read as vector-Jacobian products from the gradient."""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.formula.ir import FormulaError
from derive.formula.program_check import ProgramChecker
from derive.formula.program_latex_check import check_latex
from derive.programs import derive_program

PROGRAMS = Path(__file__).resolve().parent / "corpus" / "specs" / "programs"


@pytest.fixture(scope="module")
def res() -> ProgramChecker:
    return ProgramChecker(derive_program(str(PROGRAMS / "residual_vxnuaj.toml")))


def J(a: str, b: str) -> str:
    return rf"\frac{{\partial {a}}}{{\partial {b}}}"


G5 = r"\frac{\partial L}{\partial x_5}"


@pytest.mark.parametrize(
    "formula",
    [
        rf"\frac{{\partial L}}{{\partial x_4}} = ({G5})({J('x_5', 'x_4')})",
        # denominator layout: the Jacobians on the left of the gradient
        rf"\frac{{\partial L}}{{\partial x_4}} = {J('x_5', 'x_4')} {G5}",
        # both paths from x_3 to x_5: through x_4, and the skip (the direct partial)
        rf"\frac{{\partial L}}{{\partial x_3}} = ({G5})({J('x_5', 'x_4')})({J('x_4', 'x_3')})"
        rf" + ({G5})({J('x_5', 'x_3')})",
        rf"\frac{{\partial L}}{{\partial x_2}} = (\frac{{\partial L}}{{\partial x_3}})"
        rf"({J('x_3', 'x_2')})",
    ],
)
def test_a_chain_from_the_gradient_is_right(res: ProgramChecker, formula: str) -> None:
    got = check_latex(res, formula)
    assert got.correct, str(got)
    assert any("vector-Jacobian" in n for n in got.notes)


def test_the_skip_path_left_out_is_named(res: ProgramChecker) -> None:
    got = check_latex(
        res,
        rf"\frac{{\partial L}}{{\partial x_3}} = ({G5})({J('x_5', 'x_4')})({J('x_4', 'x_3')})",
    )
    assert not got.correct
    assert "missing" in str(got.diagnosis) and "x₅" in str(got.diagnosis)


@pytest.mark.parametrize(
    ("formula", "said"),
    [
        # a chain that ends elsewhere than the left-hand side's name
        (rf"\frac{{\partial L}}{{\partial x_3}} = ({G5})({J('x_5', 'x_4')})", "cannot tell"),
        # the left-hand side a Jacobian of an expression
        (rf"{J('(x_5 + x_4)', 'x_4')} = 1", "written with Jacobians"),
        # one entry by its indices, of a name the program lacks
        (r"\frac{\partial L}{\partial S^{ij}} = A^{ij}", "no gradient of this program"),
    ],
)
def test_what_is_no_chain_is_refused(res: ProgramChecker, formula: str, said: str) -> None:
    with pytest.raises(FormulaError, match=said):
        check_latex(res, formula)


def test_a_jacobian_off_the_chain_is_the_product_of_matrices(res: ProgramChecker) -> None:
    """(∂L/∂x_5)(∂x_4/∂x_3): shapes fit, so it is what it says, and not dx_4."""
    formula = rf"\frac{{\partial L}}{{\partial x_3}} = ({G5})({J('x_4', 'x_3')})"
    assert not check_latex(res, formula).correct


def test_an_unread_last_side_gives_no_verdict(res: ProgramChecker) -> None:
    """Its middle side right, its stated result unread: not called correct."""
    formula = (
        rf"\frac{{\partial L}}{{\partial x_4}} = ({G5})({J('x_5', 'x_4')})"
        rf" = ({G5})(\frac{{\partial F_4(x_4)}}{{\partial x_4}})"
    )
    with pytest.raises(FormulaError, match="last side"):
        check_latex(res, formula)


@pytest.fixture(scope="module")
def block() -> ProgramChecker:
    return ProgramChecker(derive_program(str(PROGRAMS / "residual_interactiveprimer.toml")))


def test_an_equation_of_jacobians_is_read_as_linear_maps(block: ProgramChecker) -> None:
    right = check_latex(block, rf"{J('y', 'x')} = 1 + {J('F', 'x')}")
    assert right.correct, str(right)
    assert any("linear maps" in n for n in right.notes)
    skip_lost = check_latex(block, rf"{J('y', 'x')} = {J('F', 'x')}")
    assert not skip_lost.correct and "dy of dx is missing" in str(skip_lost.diagnosis)
    assert not check_latex(block, rf"{J('y', 'x')} = 1").correct
    assert not check_latex(block, rf"{J('y', 'x')} = 1 - {J('F', 'x')}").correct
    with pytest.raises(FormulaError, match="y_n, x_0 not among them"):
        check_latex(block, rf"{J('y_n', 'x_0')} = 1")


@pytest.fixture(scope="module")
def dropout() -> ProgramChecker:
    return ProgramChecker(derive_program(str(PROGRAMS / "dropout_se207481.toml")))


@pytest.mark.parametrize(
    "formula",
    [
        r"\frac{\partial b}{\partial a}=mask / (1-p),",
        r"\frac{\partial b}{\partial a}=\text{mask} / (1-p)",
        rf"{J('b', 'a')} = {J('b', 'c')} {J('c', 'a')} = \frac{{1}}{{1-p}} mask",
    ],
)
def test_an_entrywise_maps_derivative_written_entry_by_entry(
    dropout: ProgramChecker, formula: str
) -> None:
    """∂b/∂a = mask/(1-p) for b = a ⊙ mask/(1-p): da = db ⊙ mask/(1-p) (the shapes decide);
    `mask` is the program's name, not m·a·s·k."""
    got = check_latex(dropout, formula)
    assert got.correct, str(got)


def test_dropouts_mask_or_scale_left_out_is_wrong(dropout: ProgramChecker) -> None:
    no_mask = check_latex(dropout, rf"{J('b', 'a')} = \frac{{1}}{{1-p}}")
    assert not no_mask.correct and "a ⊙ mask" in str(no_mask.diagnosis)
    assert not check_latex(dropout, rf"{J('b', 'a')} = mask").correct


def test_a_side_of_another_shape_is_refused(dropout: ProgramChecker) -> None:
    with pytest.raises(FormulaError, match="cannot tell how"):
        check_latex(dropout, rf"{J('b', 'a')} = mask^T")
