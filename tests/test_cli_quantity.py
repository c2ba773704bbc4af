"""``derive check --quantity``: a formula written as its right-hand side alone (a book's
inline ``H^T G``, a table's ``A - Y``) checked as the quantity the user names."""

from __future__ import annotations

import pytest

from derive.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    try:
        code = main(["check", *argv])
    except SystemExit as exc:  # argparse and user errors exit through SystemExit
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_right_hand_side_alone_asks_for_its_quantity(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, said = run(capsys, "seed", r"A_3 - Y")
    assert code == 2
    assert "--quantity" in said


@pytest.mark.parametrize(
    ("rhs", "quantity", "syntax", "code"),
    [
        (r"A_3 - Y", r"\delta_3", "latex", 0),
        (r"\frac{1}{m} \delta_3 A_2^T", "dW_3", "latex", 0),
        (r"\frac{1}{m} A_2^T \delta_3", "dW_3", "latex", 1),
        ("A3 - Y", "dZ3", "python", 0),
    ],
)
def test_the_right_hand_side_is_checked_as_the_quantity_named(
    capsys: pytest.CaptureFixture[str], rhs: str, quantity: str, syntax: str, code: int
) -> None:
    got, said = run(capsys, "seed", rhs, "--quantity", quantity, "--syntax", syntax)
    assert got == code
    assert f"read as {quantity} (--quantity)" in said
    written, _ = run(capsys, "seed", f"{quantity} = {rhs}", "--syntax", syntax)
    assert written == code  # the same verdict as the formula written whole


def test_a_formula_with_its_own_left_hand_side_keeps_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, said = run(capsys, "seed", r"\delta_3 = A_3 - Y", "--quantity", "dW_2")
    assert code == 0
    assert "--quantity" not in said


@pytest.mark.parametrize("quantity", ["dW_2 = 0", "", "W" * 101])
def test_a_quantity_that_is_no_left_hand_side_is_refused(
    capsys: pytest.CaptureFixture[str], quantity: str
) -> None:
    code, said = run(capsys, "seed", r"A_3 - Y", "--quantity", quantity)
    assert code == 2
    assert "--quantity names a left-hand side alone" in said


@pytest.mark.parametrize(
    ("quantity", "syntax"),
    [("dZ2 #", "python"), ("dZ2;", "python"), ("dZ2\n", "python"), ("\\delta_2 %", "latex")],
)
def test_a_quantity_that_would_end_the_formula_early_is_refused(
    capsys: pytest.CaptureFixture[str], quantity: str, syntax: str
) -> None:
    """``dZ2 # = RHS`` is ``dZ2`` alone in Python: the right formula was judged INCORRECT."""
    code, said = run(capsys, "seed", "W3.T @ dZ3 * fprime(Z2)", "--quantity", quantity)
    assert code == 2
    assert "--quantity names a left-hand side alone" in said
    assert "INCORRECT" not in said


@pytest.mark.parametrize(("rhs", "syntax"), [("P^T dout", "latex"), ("P.T @ dout", "python")])
def test_a_program_says_quantity_is_not_read_for_it(
    capsys: pytest.CaptureFixture[str], rhs: str, syntax: str
) -> None:
    """It was ignored, and the right-hand side alone failed on its own 'names no gradient'."""
    code, said = run(capsys, "attention_net", rhs, "--quantity", "dV", "--syntax", syntax)
    assert code == 2
    assert "--quantity is read for a network's formulas" in said
