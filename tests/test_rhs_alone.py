"""A LaTeX right-hand side printed alone (no left-hand side, no ``--quantity``): read as
the only derived quantity it equals, else refused with a line naming ``--quantity``
(never judged incorrect without knowing what it is meant to be)."""

from __future__ import annotations

import pytest

from derive.cli import main
from derive.formula.check import Checker
from derive.formula.ir import FormulaError
from derive.formula.parse import NoEquation
from derive.formula.rhs_alone import RhsAlone, candidates


@pytest.fixture(scope="module")
def seed() -> Checker:
    return Checker("seed")


@pytest.mark.parametrize(
    ("rhs", "label"),
    [
        (r"\frac{1}{m} \delta_3 A_2^T", "∂L/∂W_3"),
        (r"\frac{1}{m} \delta_2 A_1^T", "∂L/∂W_2"),
    ],
)
def test_a_side_alone_equal_to_one_quantity_is_read_as_it(
    seed: Checker, rhs: str, label: str
) -> None:
    result = seed.check(rhs)
    assert result.correct
    assert result.quantity == label
    assert any(f"read as {label} (the only quantity" in note for note in result.notes)


@pytest.mark.parametrize(
    "rhs",
    [
        r"\delta_3 A_2^T",  # dW_3 without its 1/m: equal to nothing
        r"A_2^T \delta_3",  # shapes fit no quantity
        r"(W_3^T \delta_3) \odot \sigma(Z_2)",
    ],
)
def test_a_side_alone_equal_to_nothing_is_refused_not_judged(seed: Checker, rhs: str) -> None:
    with pytest.raises(RhsAlone) as err:
        seed.check(rhs)
    said = str(err.value)
    assert "--quantity" in said and "\n" not in said
    assert isinstance(err.value, NoEquation)  # the CLI's --quantity still applies


@pytest.mark.parametrize("example", ["seed", "cnn", "bn_mlp"])
def test_every_printed_quantity_alone_reads_as_itself_or_is_refused(example: str) -> None:
    """Round trip: each derived right-hand side, printed alone, is read as its own
    quantity, or refused as equal to several (never as another one)."""
    seed = Checker(example)
    d = seed.d
    for lhs, q in candidates(d):
        expected = seed.check(f"{lhs} = 0", alone=False).expected
        rhs = expected.partition(" = ")[2]
        assert rhs and "\n" not in rhs, expected
        try:
            result = seed.check(rhs)
        except RhsAlone as err:  # equal to several, or another quantity has its shape
            assert q.label(d) in str(err), (lhs, str(err))
            continue
        assert result.correct and result.quantity == q.label(d), (lhs, rhs, result)


def test_the_formulas_own_error_points_into_the_users_text(seed: Checker) -> None:
    with pytest.raises(FormulaError) as err:
        seed.check(r"W_3^T \delta_3 +")
    assert err.value.column == len(r"W_3^T \delta_3 +") + 1
    assert not isinstance(err.value, RhsAlone)


def test_quantity_on_the_command_line_wins_over_the_reading(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--quantity dW_2 on ∂C/∂A_2's formula: judged as dW_2 (incorrect), not read as
    the quantity it happens to equal."""
    code = main(["check", "seed", r"W_3^T \delta_3", "--quantity", "dW_2", "--syntax", "latex"])
    said = capsys.readouterr().out
    assert code == 1
    assert "∂L/∂W_2" in said
    code = main(["check", "seed", r"W_3^T \delta_3", "--syntax", "latex"])
    said = capsys.readouterr()
    assert code == 2  # ∂C/∂A_2, but δ_2 has its shape: no reading chosen
    assert "--quantity" in said.err


@pytest.mark.parametrize(
    ("rhs", "equals", "alike"),
    [
        (r"W_3^T \delta_3", "∂C/∂A_2", "δ_2"),  # δ_2 with its f' missing, or ∂C/∂A_2
        (r"(W_3^T \delta_3) \odot f'(Z_2)", "δ_2", "∂C/∂A_2"),
    ],
)
def test_a_side_alone_is_not_read_where_another_quantity_has_its_shape(
    seed: Checker, rhs: str, equals: str, alike: str
) -> None:
    """A verdict of CORRECT for the quantity it equals would be wrong if it was meant as
    the other quantity of the same shape (made up, seed)."""
    with pytest.raises(RhsAlone) as err:
        seed.check(rhs)
    said = str(err.value)
    assert f"it equals {equals}" in said and alike in said and "--quantity" in said
