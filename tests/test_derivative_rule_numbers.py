"""A rule ``f'(x) = 1`` (the identity's derivative) written as a number: the number stands
for every entry of the pre-activation it is compared with (``derivative_rules._fit``); it
was compared as a scalar with the matrix f'(Z) and judged incorrect on an identity layer."""

from __future__ import annotations

from pathlib import Path

import pytest

import derive
from derive.formula.check import Checker

SPECS = Path(__file__).resolve().parent / "corpus" / "specs"


@pytest.fixture(scope="module")
def identity() -> Checker:  # one identity layer (a linear regression)
    return Checker(derive.load(str(SPECS / "huber_linear.toml")))


@pytest.fixture(scope="module")
def sigmoid() -> Checker:  # sigmoid layers only
    return Checker(derive.load(str(SPECS / "ml_ex4.toml")))


def test_the_identitys_derivative_written_as_one_is_right(identity: Checker) -> None:
    got = identity.check("f'(x) = 1", "latex")
    assert got.correct, str(got)
    assert any("identity" in n for n in got.notes)


@pytest.mark.parametrize("rhs", ["0", "2", "x"])
def test_another_number_is_not_the_identitys_derivative(identity: Checker, rhs: str) -> None:
    assert not identity.check(f"f'(x) = {rhs}", "latex").correct


def test_one_is_not_the_derivative_of_a_sigmoid(sigmoid: Checker) -> None:
    assert not sigmoid.check("f'(x) = 1", "latex").correct
