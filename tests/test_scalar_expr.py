"""The custom-activation grammar: real formulas parse, nothing is ever evaluated."""

from __future__ import annotations

import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from derive.spec.scalar_expr import ScalarExprError, X, parse_scalar


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x / (1 + abs(x))", X / (1 + sympy.Abs(X))),
        ("x^3/3 + x", X**3 / 3 + X),
        ("x ** 2", X**2),
        ("-x", -X),
        ("max(0, x) + 0.5e-1 * x", sympy.Max(0, X) + sympy.Rational(1, 20) * X),
        ("x * sigmoid(1.702 * x)", X / (1 + sympy.exp(-sympy.Rational(1702, 1000) * X))),
        ("log(1 + exp(x))", sympy.log(1 + sympy.exp(X))),
        ("a * x", sympy.Symbol("a", real=True) * X),
    ],
)
def test_formulas(text: str, expected: sympy.Expr) -> None:
    assert parse_scalar(text, {"a": sympy.Symbol("a", real=True)}) == expected


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('echo hacked')",
        "x.__class__",
        "exec('1')",
        "eval('x')",
        "lambda: 1",
        "x; import os",
        "[x for x in ()]",
        "open('/etc/passwd')",
        "",
        "y + 1",
        "2 + 3",
    ],
)
def test_hostile_or_wrong_input_is_a_clean_error(text: str) -> None:
    with pytest.raises(ScalarExprError):
        parse_scalar(text)


@given(st.text(max_size=40))
def test_garbage_never_escapes_as_anything_but_a_clean_error(text: str) -> None:
    try:
        expr = parse_scalar(text)
    except ScalarExprError:
        return
    assert isinstance(expr, sympy.Expr) and X in expr.free_symbols


def test_whitespace_between_tokens_is_allowed_but_not_line_breaks() -> None:
    assert parse_scalar("x\t+ 1") == X + 1
    with pytest.raises(ScalarExprError, match="character"):
        parse_scalar("x +\n 1")


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("x * 1e101", "exponent"),
        ("x * 1e-101", "exponent"),
        ("x * 1" + "0" * 30, "digits"),
        ("x" + " + x" * 60, "characters long"),
        ("sin(" * 11 + "x" + ")" * 11, "nests"),
    ],
)
def test_formulas_are_bounded(text: str, phrase: str) -> None:
    with pytest.raises(ScalarExprError, match=phrase):
        parse_scalar(text)


def test_bounds_leave_room_for_real_formulas() -> None:
    assert parse_scalar("x * 1e100") == X * sympy.Integer(10) ** 100
    assert parse_scalar("x * 0.000000000000000000000000000001") == X / sympy.Integer(10) ** 30
    nested = "sin(" * 10 + "x" + ")" * 10
    assert parse_scalar(nested).count(sympy.sin) == 10
