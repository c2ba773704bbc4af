"""Small LaTeX readings: a definition sign is an equation (δ_j ≡ ∂E_n/∂a_j, Bishop's PRML
5.51; ≜, =^{def}); an unknown indexed letter is told how to declare it."""

from __future__ import annotations

import pytest

from derive.formula.check import Checker


@pytest.mark.parametrize(
    "sign", [r"\equiv", r"\triangleq", r"\stackrel{\text{def}}{=}", r"\overset{def}{=}"]
)
def test_a_definition_sign_reads_as_equal(sign: str) -> None:
    checker = Checker("seed")
    right = checker.check(
        rf"\delta_2 {sign} \frac{{\partial C}}{{\partial Z_2}} = (W_3^T\delta_3) \odot f'(Z_2)"
    )
    assert right.correct
    wrong = checker.check(rf"\delta_2 {sign} (W_3^T\delta_3) \odot f'(Z_3)")
    assert not wrong.correct


def test_an_unknown_indexed_letter_is_told_how_to_declare_it() -> None:
    """Ulyankin's h_2 (a pre-activation) and o_2 (an activation): the refusal names the
    declaration, and with it the formula is read."""
    from pathlib import Path

    from derive.formula.ir import FormulaError
    from derive.spec.reading import load

    net = load(str(Path(__file__).parent / "corpus" / "specs" / "dtu_chain.toml"))
    formula = (
        r"\frac{\partial L}{\partial h_2} = \frac{\partial L}{\partial o_2} \sigma(h_2)"
        r"(1 - \sigma(h_2))"
    )
    with pytest.raises(FormulaError, match=r"--symbol 'h_2=A_2' or 'h_2=Z_2'"):
        Checker(net).check(formula)
    declared = net.with_(notation=net.notation.merge(symbols={"h_2": "Z_2", "o_2": "A_2"}))
    assert Checker(declared).check(formula).correct


def test_a_gradient_by_an_unknown_letter_is_told_how_to_declare_it() -> None:
    """Goodfellow's ∇_H J (H the hidden layer's activations, G the gradient on U^{(2)})."""
    from pathlib import Path

    from derive.formula.ir import FormulaError
    from derive.spec.reading import load

    net = load(str(Path(__file__).parent / "corpus" / "specs" / "goodfellow_657.toml"))
    formula = r"\nabla_{H} J = G W_2^{\top}"
    with pytest.raises(FormulaError, match=r"∂L/∂H: .*--symbol H=A_1"):
        Checker(net).check(formula)
    declared = net.with_(notation=net.notation.merge(symbols={"H": "A_1", "G": "dZ_2"}))
    assert Checker(declared).check(formula).correct
