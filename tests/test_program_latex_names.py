"""Names a LaTeX derivation gives its own results (``∂L/∂Z = dU Vᵀ = ζ_1``), read by the
equations after it and by the later formulas of the same page (``program_latex_names``).

The program here is made up (a minimal two-layer forward); the real derivation that names
its gradients so (Goubasarian's attention post, ζ_1 … ζ_7) is checked through
``benchmarks/corpus.py --layers``."""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.formula.ir import FormulaError
from derive.formula.program_check import ProgramChecker
from derive.formula.program_latex_check import check_latex
from derive.programs import derive_program

# made up: two layers, the second linear; its output's gradient dU is given
PROGRAM = """
name = "made_up_two_layers"
convention = "row"

[inputs]
X = ["n", "d"]

[parameters]
W = ["d", "h"]
V = ["h", "o"]

[forward]
equations = '''
Y = X @ W
Z = tanh(Y)
U = Z @ V
'''

[backward]
upstream = "dU"
"""

DZ = r"\frac{\partial L}{\partial Z} = dU V^T = \zeta_1"


@pytest.fixture(scope="module")
def checker(tmp_path_factory: pytest.TempPathFactory) -> ProgramChecker:
    path = Path(tmp_path_factory.mktemp("prog")) / "made_up.toml"
    path.write_text(PROGRAM, encoding="utf-8")
    return ProgramChecker(derive_program(str(path)))


def test_a_name_defined_by_an_earlier_equation_of_the_formula(checker: ProgramChecker) -> None:
    got = check_latex(checker, DZ + r" \\ \frac{\partial L}{\partial Y} = \zeta_1 \odot (1 - Z^2)")
    assert got.correct, str(got)
    assert any("zeta_1 as dZ" in n for n in got.notes), got.notes


@pytest.mark.parametrize(
    ("rhs", "correct"),
    [
        (r"\zeta_1 \odot (1 - Z^2)", True),
        (r"\zeta_1 \odot (1 - Y^2)", False),  # tanh' of the pre-activation: wrong
    ],
)
def test_a_name_defined_by_an_earlier_formula_of_the_page(
    checker: ProgramChecker, rhs: str, correct: bool
) -> None:
    got = check_latex(checker, r"\frac{\partial L}{\partial Y} = " + rhs, [DZ])
    assert got.correct is correct, str(got)


def test_the_definitions_last_one_check_only(checker: ProgramChecker) -> None:
    check_latex(checker, r"\frac{\partial L}{\partial Y} = \zeta_1 \odot (1 - Z^2)", [DZ])
    with pytest.raises(FormulaError, match="zeta_1 is not a name of this program"):
        check_latex(checker, r"\frac{\partial L}{\partial Y} = \zeta_1 \odot (1 - Z^2)")


def test_a_name_closing_a_side_that_is_no_gradient_defines_nothing(
    checker: ProgramChecker,
) -> None:
    # Z is a value, not a gradient: "= \zeta_1" after it names nothing the checker judges
    with pytest.raises(FormulaError, match="zeta_1"):
        check_latex(
            checker,
            r"\frac{\partial L}{\partial Y} = \zeta_1 \odot (1 - Z^2)",
            [r"Z = \tanh(Y) = \zeta_1"],
        )
