"""Wrong verdicts found in round 7 (issue 13 §1: a checker that is sometimes wrong is worse
than none).

1. ``\\delta_3 = (p - y)/N`` on a network with dropout whose keep probability is written p:
   p was read as the keep probability, silently, and the formula judged INCORRECT, though
   on the same network without dropout p is read as the output's probabilities (correct).
3. ``((err > 0) - (err < 0)) / N`` in a program snippet: CORRECT, though NumPy raises
   TypeError on boolean subtraction (and on ``-(err < 0)``; ``~`` of integers is bitwise).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from derive.cli import main
from derive.formula.check import Checker
from derive.formula.parse import FormulaError
from derive.programs import derive_program
from derive.spec import loads

CORPUS_SPECS = Path(__file__).parent / "corpus" / "specs"


@pytest.fixture(scope="module")
def dropout() -> Checker:
    # D -> H (relu) -> dropout (keep probability p) -> C (softmax), rows, delta = mean
    return Checker(str(CORPUS_SPECS / "dropout_mlp.toml"))


# ------------------------------------------- 1. p: the keep probability or the output's


@pytest.mark.parametrize(
    "formula", [r"\delta_3 = (p - y)/N", r"\delta_3 = \frac{1}{N}(p - y)", r"\delta_3 = (p-Y)/N"]
)
def test_p_of_the_network_and_of_the_output_is_no_verdict(dropout: Checker, formula: str) -> None:
    with pytest.raises(FormulaError, match="cannot tell what 'p' stands for") as err:
        dropout.check(formula)
    assert "--symbol p=A_3" in str(err.value)  # what to declare


def test_p_declared_is_judged() -> None:
    text = (CORPUS_SPECS / "dropout_mlp.toml").read_text()
    declared = Checker(loads(text + '\n[notation]\nsymbols = { p = "A_3" }\n', "d.toml"))
    assert declared.check(r"\delta_3 = (p - y)/N").correct


@pytest.mark.parametrize(
    ("formula", "correct"),
    [
        (r"\delta_1 = \frac{1}{p} (M_2 \odot \delta_2) \odot relu^\prime(Z_1)", True),
        (r"\delta_1 = p (M_2 \odot \delta_2) \odot relu^\prime(Z_1)", False),
        (r"\delta_3 = \frac{1}{N}(A_3 - Y)", True),
    ],
)
def test_p_as_the_keep_probability_still_judged(
    dropout: Checker, formula: str, correct: bool
) -> None:
    """Where reading p as the output's does not fit the shapes, p is the keep probability."""
    assert dropout.check(formula).correct is correct


# ------------------------------------- 3. boolean arithmetic NumPy refuses to run

MAE = str(CORPUS_SPECS / "programs" / "mae_tinynn.toml")  # L = Σ|predicted − actual| / N


ERR = np.array([[1.0, -2.0], [0.5, -0.1]])


def test_what_numpy_does_with_these() -> None:
    """The refusals below say what NumPy does: confirmed here."""
    with pytest.raises(TypeError, match="boolean subtract"):
        _ = (ERR > 0) - (ERR < 0)
    with pytest.raises(TypeError, match="boolean negative"):
        _ = -(ERR < 0)
    assert (~((ERR < 0) * 1)).tolist() == [[-1, -2], [-1, -2]]  # bitwise, not logical


@pytest.mark.parametrize(
    ("body", "numpy_says"),
    [
        ("dpredicted = ((err > 0) - (err < 0)) / N", "boolean subtract"),
        ("pos = err > 0\nneg = err < 0\ndpredicted = (pos - neg) / N", "boolean subtract"),
        ("dpredicted = ((err > 0) + -(err < 0)) / N", "boolean negative"),
        ("dpredicted = (~((err < 0) * 1) * 2 - 1) / N", "bitwise not"),
    ],
)
def test_snippet_numpy_refuses_is_not_judged(body: str, numpy_says: str) -> None:
    """On main each was CORRECT (a comparison read as its 0/1 values)."""
    formula = "err = predicted - actual\n" + body
    with pytest.raises(FormulaError, match=numpy_says):
        derive_program(MAE).check(formula)
    assert main(["check", MAE, formula]) == 2


@pytest.mark.parametrize(
    "body",
    [
        "dpredicted = ((err > 0).astype(float) - (err < 0)) / N",
        "dpredicted = ((err > 0) * 1 - (err < 0) * 1) / N",
        "dpredicted = (~(err < 0) * 2 - 1) / N",
        "dpredicted = np.sign(err) / N",
    ],
)
def test_snippet_numpy_runs_is_judged(body: str) -> None:
    assert derive_program(MAE).check("err = predicted - actual\n" + body).correct


# ------------------------------------- 5. the place of a LaTeX error over a program


@pytest.mark.parametrize(
    ("program", "formula", "side"),
    [
        ("batchnorm", r"\frac{\partial L}{\partial x} = 10^{400} x", "10^{400} x"),
        ("rnn", r"\frac{\partial L}{\partial b} = 10^{400}", "10^{400}"),
    ],
)
def test_latex_error_names_the_side_not_a_numpy_line(
    program: str, formula: str, side: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """On main: "line 0: a number to a power beyond ±100" (batchnorm) and "line 1: …"
    (rnn), the line of the NumPy the checker writes, not of the formula."""
    assert main(["check", program, formula]) == 2
    said = capsys.readouterr().err
    assert "power beyond" in said and f"cannot read {side!r}" in said, said
    assert not re.search(r"\bline \d", said), said
    assert said.count("\n") == 1  # one line


# ------------------------------ 6. right with the labels stored the other way


@pytest.fixture(scope="module")
def softmax_two() -> Checker:
    return Checker(str(Path(__file__).parent / "specs" / "softmax_two.toml"))  # column


@pytest.mark.parametrize("formula", ["dZ2 = (A2.T - Y).T", "dZ = (A.T - Y).T"])
def test_right_with_labels_as_rows_is_not_judged_wrong(softmax_two: Checker, formula: str) -> None:
    """On main: INCORRECT, "two mistakes: (A2ᵀ − Y) should not be transposed; and A2
    should not be transposed", though with Y kept with samples as rows (as the source
    that writes it does) it is exactly A2 − Y."""
    with pytest.raises(
        FormulaError, match="cannot judge this formula.*stored with samples as rows"
    ):
        softmax_two.check(formula, "python")


@pytest.mark.parametrize(
    ("formula", "correct"),
    [("dZ2 = (A2.T - Y.T).T", True), ("dZ2 = A2 - Y.T", True), ("dZ2 = A2 - 2 * Y", False)],
)
def test_data_orientation_verdicts_kept(softmax_two: Checker, formula: str, correct: bool) -> None:
    assert softmax_two.check(formula, "python").correct is correct


# ------------------------- 2. a LaTeX letter matched to a program name of the other case


def test_latex_letter_read_as_the_other_case_is_said(capsys: pytest.CaptureFixture[str]) -> None:
    """On main ``p^T dout`` on the attention program (whose probabilities are P) was
    CORRECT with no word that p was read as P."""
    assert main(["check", "attention", r"\frac{\partial L}{\partial V} = p^T dout"]) == 0
    assert "read p as the program's P" in capsys.readouterr().out
    assert main(["check", "attention", r"\frac{\partial L}{\partial V} = P^T dout"]) == 0
    assert "as the program's" not in capsys.readouterr().out  # exact names: no note
