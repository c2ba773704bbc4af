"""Sums over another index between time-step bounds in LaTeX over a program
(``\\sum_{i=t}^T (W_{hh}^\\top)^{T-i} W_{qh}^\\top ∂L/∂o_{T+t-i}``): written out at each
step t = k with i running over its bounds, the power ``T-i`` a matrix product, the power 0
the identity (``program_latex_steps``, ``program_latex_write``).

The program is d2l's linear RNN (tests/corpus/specs/programs/rnn_d2l.toml, T = 3); the
formulas here are made up (variants of d2l's closed form, which the layer corpus checks as
the book writes it through ``benchmarks/corpus.py --layers``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.formula.ir import FormulaError
from derive.formula.program_check import ProgramChecker
from derive.formula.program_latex import read_side
from derive.formula.program_latex_check import check_latex
from derive.formula.program_latex_steps import Step
from derive.programs import derive_program

PROGRAM = Path(__file__).resolve().parent / "corpus" / "specs" / "programs" / "rnn_d2l.toml"
DH = r"\frac{\partial L}{\partial h_t} = "


@pytest.fixture(scope="module")
def d2l() -> ProgramChecker:
    return ProgramChecker(derive_program(str(PROGRAM)))


def test_an_index_expression_is_read_over_its_letters() -> None:
    tree = read_side(r"\frac{\partial L}{\partial o_{T+t-i}}")
    assert tree == ("name", "do", None, Step("t", 0, (("T", 1), ("i", -1))))


@pytest.mark.parametrize(
    "rhs",
    [
        # made up: the same sum with i counting the steps forward from t
        r"\sum_{i=t}^{T} (W_{hh}^\top)^{i-t} W_{qh}^\top \frac{\partial L}{\partial o_i}",
        r"\sum_{s=t}^T (W_{hh}^T)^{s-t} W_{qh}^T \frac{\partial L}{\partial o_{s}}",
        # made up: the first term written apart, the sum from the next step
        r"W_{qh}^\top \frac{\partial L}{\partial o_t} + \sum_{i=t+1}^{T} (W_{hh}^\top)^{i-t}"
        r" W_{qh}^\top \frac{\partial L}{\partial o_i}",
    ],
)
def test_a_closed_form_summed_over_later_steps_is_right(d2l: ProgramChecker, rhs: str) -> None:
    got = check_latex(d2l, DH + rhs)
    assert got.correct, str(got)
    assert "judged 3 side(s) and step(s)" in " ".join(got.notes)


@pytest.mark.parametrize(
    "rhs",
    [
        # made up: W_hh without its transpose (a square matrix: the shapes fit)
        r"\sum_{i=t}^{T} W_{hh}^{i-t} W_{qh}^\top \frac{\partial L}{\partial o_i}",
        # made up: one power too many
        r"\sum_{i=t}^{T} (W_{hh}^\top)^{i-t+1} W_{qh}^\top \frac{\partial L}{\partial o_i}",
    ],
)
def test_a_wrong_closed_form_is_incorrect(d2l: ProgramChecker, rhs: str) -> None:
    assert not check_latex(d2l, DH + rhs).correct


def test_a_sum_that_reaches_past_the_programs_steps_is_refused(d2l: ProgramChecker) -> None:
    # made up: o_{T+t-i} from i = 1 reaches o_4 at t = 2 (the program has o_1 … o_3)
    with pytest.raises(FormulaError, match="reaches do_4"):
        check_latex(
            d2l,
            DH + r"\sum_{i=1}^T (W_{hh}^\top)^{T-i} W_{qh}^\top"
            r" \frac{\partial L}{\partial o_{T+t-i}}",
        )


def test_a_derivative_of_a_function_the_program_lacks_is_refused_naming_it(
    d2l: ProgramChecker,
) -> None:
    # d2l's own ∂L/∂o_t (eq. bptt_partial_L_ot): its step loss l is not in the program
    with pytest.raises(FormulaError, match="a derivative of l"):
        check_latex(
            d2l,
            r"\frac{\partial L}{\partial \mathbf{o}_t} = "
            r"\frac{\partial l (\mathbf{o}_t, y_t)}{T \cdot \partial \mathbf{o}_t}",
        )


def test_a_wrong_sum_is_searched_for_its_mistake_once(
    d2l: ProgramChecker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # made up: one power too many. The LaTeX diagnoses (a name one step off, a gradient
    # used for another) try repaired lines; each wrong try ran its own mistake search, 13
    # in all, and the check took 5-8 s (the limit is 2 s)
    searches = []
    search = d2l.diagnosis.search

    def counted(*args: object) -> str | None:
        searches.append(args)
        return search(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(d2l.diagnosis, "search", counted)
    rhs = r"\sum_{i=t}^{T} (W_{hh}^\top)^{i-t+1} W_{qh}^\top \frac{\partial L}{\partial o_i}"
    got = check_latex(d2l, DH + rhs)
    assert not got.correct
    assert len(searches) == 1, len(searches)
    assert not d2l.verdict_only  # restored after the tries
