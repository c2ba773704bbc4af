"""Regressions found by a fresh-eyes review of the printed outputs and of the command line."""

from __future__ import annotations

import re

import pytest
from sympy import HadamardPower, MatrixSymbol

from derive import derive
from derive.latex import document
from derive.notation import Notation
from derive.text import TextPrinter

STEP = r"\s*&= \\frac\{\\partial [CL]\}\{\\partial A_\{[^}]*\}\} \\odot (.*) \\\\"


def _chain_steps(tex: str) -> list[tuple[str, str]]:
    """Each hand-written chain-rule step ``&= ∂C/∂A ⊙ F`` with the line that follows it."""
    lines = tex.splitlines()
    out = []
    for i, line in enumerate(lines[:-1]):
        m = re.fullmatch(
            r"\s*&= \\frac\{\\partial [CL]\}\{\\partial A_\{[^}]*\}\} \\odot (.*) \\\\", line
        )
        if m:
            out.append((m.group(1), lines[i + 1]))
    return out


@pytest.mark.parametrize("name", ["nielsen", "ng"])
@pytest.mark.parametrize("output_form", [False, True])
def test_chain_rule_step_brackets_the_derivative_like_the_result(
    name: str, output_form: bool
) -> None:
    """``∂C/∂A ⊙ 1 − A^∘2`` read as ``(∂C/∂A ⊙ 1) − A^∘2``: the step must bracket f' as the
    next line (the printed Hadamard product) does."""
    tex = document(derive(name), "fragment", Notation(output_form=output_form))
    steps = _chain_steps(tex)
    assert steps, "no chain-rule step found"
    for fprime, result in steps:
        assert result.rstrip(" \\").endswith(r"\odot " + fprime), (fprime, result)


def test_hadamard_power_reads_as_maths() -> None:
    a = MatrixSymbol("A_1", 3, 3)
    assert TextPrinter().doprint(HadamardPower(a, 2)) == "A₁∘²"
    assert "^∘(" not in derive("ng").text() + _show_output_form("ng")


def _show_output_form(name: str) -> str:
    from derive.text import render

    return render(derive(name), through_output=True)
