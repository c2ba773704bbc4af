"""Sums that skip an index in index notation (``\\sum_{k \\neq i}``, softmax derivations'
"the other classes"): the sum over k without its term k = i, on the network checker's
index forms (``latex_ir.sumsub``, ``indexed``).

The network is tests/corpus/specs/softmax_xent_1.toml (one softmax output under
cross-entropy, one example); the formulas are made up, variants of the Math Stack Exchange
derivation the main corpus checks as its asker and its answer wrote it."""

from __future__ import annotations

from pathlib import Path

import pytest

import derive
from derive.formula.check import Checker
from derive.formula.ir import FormulaError

SPEC = Path(__file__).resolve().parent / "corpus" / "specs" / "softmax_xent_1.toml"
LHS = r"\frac{\partial L}{\partial o_i} = "


@pytest.fixture(scope="module")
def checker() -> Checker:
    return Checker(derive.load(str(SPEC)))


@pytest.mark.parametrize(
    "rhs",
    [
        r"-y_i(1-p_i)+\sum_{k\neq i}y_k p_i",  # made up: the answer's form
        r"-y_i (1 - p_i) - \sum_{k \ne i} -p_i y_k",  # made up: a signed body
        r"-y_i + \sum_{k ≠ i} y_k p_i + y_i p_i",  # made up: ≠ as a character
    ],
)
def test_a_sum_over_the_other_classes_is_right(checker: Checker, rhs: str) -> None:
    got = checker.check(LHS + rhs, "latex")
    assert got.correct, str(got)
    assert any("without its term k = i" in n for n in got.notes), got.notes


@pytest.mark.parametrize(
    "rhs",
    [
        # made up: the same sum over every class counts the term k = i twice
        r"-y_i(1-p_i)+\sum_{k}y_k p_i",
        # made up: the asker's sign slip (the term should be +p_i y_k)
        r"-y_i(1-p_i)+\sum_{k\neq i}-p_k y_k",
    ],
)
def test_a_wrong_sum_over_the_classes_is_incorrect(checker: Checker, rhs: str) -> None:
    assert not checker.check(LHS + rhs, "latex").correct


def test_a_sum_that_skips_a_labels_class_is_refused(checker: Checker) -> None:
    with pytest.raises(FormulaError, match="a label's class"):
        checker.check(LHS + r"\sum_{j\neq y_i} p_j", "latex")


def test_a_summed_letter_where_a_free_one_belongs_is_named(checker: Checker) -> None:
    # made up, the Math SE asker's slip: p_k where p_i belongs (∂ log p_k/∂o_i = -p_i)
    got = checker.check(LHS + r"-y_i(1-p_i)-\sum_{k\neq i}p_k y_k", "latex")
    assert not got.correct
    assert "where (A_L)_i belongs" in str(got.diagnosis), got.diagnosis
    assert "softmax Jacobian" in str(got.diagnosis)


@pytest.mark.parametrize(
    "rhs",
    [
        r"-y_i(1-p_i)+\sum_{k=1,k\neq i}y_k p_i",  # made up: the range's start written too
        r"-y_i(1-p_i)+\sum_{k=1, k \neq i}^{K} y_k p_i",  # made up: and its end
        r"-y_i(1-p_i)+\sum_{k \ne i, k=1}^{K} y_k p_i",  # made up: the condition first
    ],
)
def test_a_sum_with_its_start_and_a_skipped_index_is_read(checker: Checker, rhs: str) -> None:
    # it was refused as "a label's class"
    got = checker.check(LHS + rhs, "latex")
    assert got.correct, str(got)
    assert any("without its term k = i" in n for n in got.notes), got.notes


def test_a_wrong_sum_with_its_start_and_a_skipped_index_is_incorrect(checker: Checker) -> None:
    # made up: the asker's sign slip, with the range's start written
    assert not checker.check(LHS + r"-y_i(1-p_i)+\sum_{k=1,k\neq i}-p_k y_k", "latex").correct


def test_a_start_of_another_letter_is_not_dropped(checker: Checker) -> None:
    # made up: the start names j, the condition k: no reading of it
    with pytest.raises(FormulaError):
        checker.check(LHS + r"-y_i(1-p_i)+\sum_{j=1,k\neq i}y_k p_i", "latex")
