"""Entry-wise formulas in index notation over a program (planckeon's attention notes):
each side evaluated entry by entry at the checker's points."""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.formula.ir import FormulaError
from derive.formula.program_check import ProgramChecker
from derive.formula.program_latex_check import check_latex
from derive.programs import derive_program

PROGRAMS = Path(__file__).resolve().parent / "corpus" / "specs" / "programs"


@pytest.fixture(scope="module")
def attn() -> ProgramChecker:
    return ProgramChecker(derive_program(str(PROGRAMS / "attention_planckeon.toml")))


def G(x: str) -> str:
    return rf"\frac{{\partial L}}{{\partial {x}}}"


DA_J = G("A^{ij'}")


@pytest.mark.parametrize(
    "formula",
    [
        # the softmax Jacobian written out, an explicit sum
        rf"{G('S^{ij}')} = A^{{ij}} \left( {G('A^{ij}')} - \sum_{{j'}} A^{{ij'}} {DA_J} \right)",
        # the same by Einstein's convention (k repeated, not on the left: summed)
        rf"{G('S^{ij}')} = A^{{ij}} ({G('A^{ij}')} - A^{{ik}} {G('A^{ik}')})",
        # a Kronecker delta and two sides
        rf"{G('V^{mn}')} = {G('O^{ib}')} A^{{im}} \delta^b_n = A^{{im}} {G('O^{in}')}",
    ],
)
def test_an_entrywise_formula_is_right(attn: ProgramChecker, formula: str) -> None:
    got = check_latex(attn, formula)
    assert got.correct, str(got)
    assert any("entry by entry" in n for n in got.notes)


@pytest.mark.parametrize(
    "formula",
    [
        # the softmax's Jacobian left out: dS = dA
        rf"{G('S^{ij}')} = {G('A^{ij}')}",
        # only the Jacobian's diagonal
        rf"{G('S^{ij}')} = A^{{ij}} (1 - A^{{ij}}) {G('A^{ij}')}",
        # the indices of A swapped (A dO, not Aᵀ dO)
        rf"{G('V^{mn}')} = A^{{mi}} {G('O^{in}')}",
    ],
)
def test_a_wrong_entrywise_formula_is_wrong(attn: ProgramChecker, formula: str) -> None:
    got = check_latex(attn, formula)
    assert not got.correct
    assert "entry by entry" in str(got.diagnosis)


@pytest.mark.parametrize(
    ("formula", "said"),
    [
        (rf"{G('V^{mn}')} = A^{{im}} {G('O^{ik}')}", "neither summed nor on the left"),
        (rf"{G('V^{mn}')} = Z^{{mn}}", "Z is not a name"),
        (rf"{G('V^{mn}')} = A^{{mn}} / 2", "cannot read"),
        (rf"{G('V^{mn}')} = A^{{mm}}", "two indices"),
    ],
)
def test_what_has_no_entrywise_meaning_is_refused(
    attn: ProgramChecker, formula: str, said: str
) -> None:
    with pytest.raises(FormulaError, match=said):
        check_latex(attn, formula)
