"""Euler's number to a power (``e^{-z}``) read as the exponential, where its exponent can be
no layer's script; ``e`` with a layer (LxMLS's ``e^{n}``, ``e^{N-1}``) left as written.
The formulas below are made up (minimal cases of how notes write the sigmoid)."""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.formula.check import Checker, CheckResult
from derive.formula.latex_euler import EULER_NOTE, EULER_REWRITES

# one sigmoid hidden layer, a linear output, one example (SciML's lecture 10 network)
SIG_LIN = Path(__file__).parent / "corpus" / "specs" / "sig_lin_half.toml"


def check(formula: str) -> CheckResult:
    return Checker(SIG_LIN).check(formula, "latex")


def rewrite(text: str) -> str:
    for pattern, repl in EULER_REWRITES:
        text = pattern.sub(repl, text)
    return text


@pytest.mark.parametrize(
    "sigma_prime",
    [
        r"\frac{e^{-Z_1}}{(1+e^{-Z_1})^2}",  # made up: σ'(z) = e^{-z}/(1+e^{-z})^2
        r"\frac{e^{Z_1}}{(1+e^{Z_1})^{2}}",  # the same function, multiplied through by e^{2z}
        r"\frac{1}{1+e^{-Z_1}} \odot (1 - \frac{1}{1+e^{-Z_1}})",  # σ(z)(1 − σ(z))
    ],
)
def test_the_sigmoids_derivative_written_with_powers_of_e_is_correct(sigma_prime: str) -> None:
    result = check(rf"\delta_1 = (W_2^T \delta_2) \odot {sigma_prime}")
    assert result.verdict == "correct"
    assert EULER_NOTE in result.notes


def test_a_wrong_derivative_written_with_powers_of_e_is_incorrect() -> None:
    # made up: the sigmoid itself (e^{-z}/(1+e^{-z}) = 1 − σ(z)) where σ'(z) belongs
    result = check(r"\delta_1 = (W_2^T \delta_2) \odot \frac{e^{-Z_1}}{1+e^{-Z_1}}")
    assert result.verdict == "incorrect"
    assert "derivative of the layer's activation" in (result.diagnosis or "")


def test_a_superscript_with_a_layer_index_on_z_is_an_exponent() -> None:
    result = check(
        r"\delta^{[1]} = (W^{[2]T} \delta^{[2]}) \odot \frac{e^{-z^{[1]}}}{(1+e^{-z^{[1]}})^2}"
    )
    assert result.verdict == "correct"


@pytest.mark.parametrize(
    ("text", "exponent"),
    [
        ("e^{-z}", "-z"),
        ("e^{z_i}", "z_i"),
        ("e^x", "x"),
        (r"e^{\theta x}", r"\theta x"),
        (r"\frac{e^{x_i}}{\sum_k e^{x_k}}", "x_i"),
    ],
)
def test_exponents_are_read_as_the_exponential(text: str, exponent: str) -> None:
    assert rf"\exp({exponent})" in rewrite(text)


@pytest.mark.parametrize(
    "text",
    [
        r"\mathbf{e}^{n} = (\mathbf{W}^{n+1})^T \mathbf{e}^{n+1}",  # LxMLS's error vectors
        r"e^{N-1} = e^N W^N",
        r"\mathbf{e}^{m,n}",  # sample m, layer n
        r"e^{(l)}",
        r"e^{[2]}",
        r"e^{T}",
        r"\neq^{x}",  # e ending a command is no e
        r"\delta^{e}",
    ],
)
def test_scripts_of_a_letter_e_are_left_as_written(text: str) -> None:
    assert rewrite(text) == text
