"""Masks and the loss pieces in forward programs and checked snippets: comparisons as 0/1
values (``!=``, ``==``, ``~m``, ``.astype(float)``), ``np.sign``, ``x[:, np.newaxis]``,
``list(y)`` in a pick, ``len(y)``, ``self._delta``, and the weight-decay factor 2 named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from derive.formula.ir import FormulaError
from derive.programs import ProgramDerivation, derive_program

SVM = """\
name = "svm_t"
convention = "row"

[inputs]
X = ["N", "D"]

[labels]
y = { length = "N", classes = "C" }

[parameters]
W = ["D", "C"]

[hyperparameters]
reg = "lambda"

[forward]
equations = \"\"\"
scores = X @ W
picked = scores[range(N), y]
margins = maximum(0, scores - picked + 1)
\"\"\"

[loss]
expression = "(sum(margins) - N) / N + reg * sum(W * W)"
"""

HUBER = """\
name = "huber_t"
convention = "row"

[inputs]
actual = ["N", "D"]

[parameters]
predicted = ["N", "D"]

[hyperparameters]
delta = 1

[forward]
equations = \"\"\"
err = predicted - actual
huber = where(abs(err) < delta, 0.5 * err ** 2, delta * abs(err) - 0.5 * delta ** 2)
\"\"\"

[loss]
expression = "sum(huber) / N"
"""


def program(tmp_path: Path, text: str, body: str = "") -> ProgramDerivation:
    path = tmp_path / "p.toml"
    path.write_text(text.replace('equations = """\n', f'equations = """\n{body}'))
    return derive_program(path)


# the counted positive margins of CS231n's vectorized SVM, as students mask them
SVM_GRAD = """\
num_train = len(y)
correct = scores[range(num_train), list(y)][:, np.newaxis]
m = np.maximum(0, scores - correct + 1)
m[range(num_train), y] = 0
mask = (m != 0).astype(float)
mask[range(num_train), y] = -np.sum(mask, axis=1)
dW = X.T.dot(mask) / num_train + REG
"""


def test_svm_masks_read_and_judged(tmp_path: Path) -> None:
    d = program(tmp_path, SVM)
    assert d.check(SVM_GRAD.replace("REG", "2 * reg * W")).correct
    # == is the complement of !=: the same gradient written with ~ and ==
    other = SVM_GRAD.replace("(m != 0).astype(float)", "(~(m == 0)).astype(float)")
    assert d.check(other.replace("REG", "2 * reg * W")).correct


@pytest.mark.parametrize(("reg", "what"), [("reg * W", "missing"), ("4 * reg * W", "too many")])
def test_the_weight_decay_factor_two_is_named(tmp_path: Path, reg: str, what: str) -> None:
    r = program(tmp_path, SVM).check(SVM_GRAD.replace("REG", reg))
    assert r.verdict == "incorrect"
    assert f"weight-decay term's factor 2 is {what}" in (r.diagnosis or "")


def test_sign_and_self_names_read_the_huber_gradient(tmp_path: Path) -> None:
    d = program(tmp_path, HUBER)
    right = (
        "err = predicted - actual\n"
        "small = np.abs(err) < self._delta\n"
        "dpredicted = (err * small + self._delta * np.sign(err) * ~small) / N\n"
    )
    assert d.check(right).correct
    # the linear branch without delta: wrong as soon as delta is not 1 (here it is 1, so
    # the branch swapped is the slip that shows)
    swapped = right.replace("err * small + ", "err * ~small + ").replace(
        "* ~small) /", "* small) /"
    )
    assert d.check(swapped).verdict == "incorrect"


def test_masks_are_numbers_only_where_numpy_makes_them(tmp_path: Path) -> None:
    d = program(tmp_path, HUBER)
    for snippet, words in (
        ("dpredicted = ~err", "~ is read only on a mask"),
        ("dpredicted = err.astype(float)", "astype\\(\\) is read only on a mask"),
    ):
        with pytest.raises(FormulaError, match=words):
            d.check("err = predicted - actual\n" + snippet)


def test_a_where_condition_must_be_a_mask(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="where\\(\\)'s condition is read only on a mask"):
        program(tmp_path, HUBER, "bad = where(predicted, 1, 0)\n")


def test_not_equal_mask_values(tmp_path: Path) -> None:
    """``!=`` and ``==`` as 0/1 values, against NumPy at a point with ties."""
    d = program(tmp_path, HUBER, "ne = where(predicted != actual, 1, 0)\n")
    from derive.core import numeric

    eq = next(e for e in d.graph.equations if e.out.name == "ne")
    p = np.array([[1.0, 2.0], [3.0, 4.0]])
    a = np.array([[1.0, 0.0], [3.0, 5.0]])
    env = {
        s: v
        for s in d.graph.inputs + d.graph.parameters
        for v in [p if s.name == "predicted" else a]
    }
    got = numeric.evaluate(eq.rhs, env)
    np.testing.assert_array_equal(got, (p != a).astype(float))


# tinynn's HuberLoss.grad as first written (a77816a): / m twice, the linear branch without δ
HUBER_GRAD = """\
err = predicted - actual
mse_mask = np.abs(err) < self._delta
mae_mask = ~mse_mask
m = predicted.shape[0]
mse_grad = err / m
mae_grad = np.sign(err) / m
return (mae_grad * mae_mask + mse_grad * mse_mask) / m
"""

HUBER_SYMBOLIC = HUBER.replace("delta = 1", 'delta = "delta"')


def test_a_returned_value_is_the_programs_one_gradient(tmp_path: Path) -> None:
    d = program(tmp_path, HUBER_SYMBOLIC)
    fixed = HUBER_GRAD.replace("err / m", "err").replace(
        "np.sign(err) / m", "np.sign(err) * self._delta"
    )
    r = d.check(fixed)
    assert r.correct and any("returns as dpredicted" in n for n in r.notes)


def test_each_branch_gets_its_own_factor(tmp_path: Path) -> None:
    r = program(tmp_path, HUBER_SYMBOLIC).check(HUBER_GRAD)
    assert r.verdict == "incorrect"
    said = r.diagnosis or ""
    assert "1/N times (a factor 1/N too many)" in said
    # the factor both branches share, then the one the linear branch has besides (round 9:
    # it was each branch's whole factor, "1/N too many and the factor delta missing")
    assert "two mistakes" in said and "on both branches" in said
    assert "does not hold, it is also 1/delta times (the factor delta is missing)" in said


def test_a_returned_scalar_is_not_read_as_the_gradient(tmp_path: Path) -> None:
    # a returned scalar is the loss (forward_check): judged against the program's loss
    d = program(tmp_path, HUBER_SYMBOLIC)
    r = d.check("return np.sum(np.abs(predicted - actual)) / N")  # the MAE, not Huber's
    assert r.verdict == "incorrect" and r.quantity.startswith("loss L"), r
    assert any("judged a forward value" in n for n in r.notes)


def test_a_returned_value_with_several_gradients_cannot_tell(tmp_path: Path) -> None:
    d = program(
        tmp_path,
        HUBER_SYMBOLIC.replace("[inputs]\nactual", "[parameters]\nactual").replace(
            "\n[parameters]\npredicted", "\npredicted"
        ),
    )
    with pytest.raises(FormulaError, match="cannot tell which gradient the returned value is"):
        d.check("return np.sign(predicted - actual) / N")


def test_safe_division_is_the_sign(tmp_path: Path) -> None:
    """``np.divide(r, |r|, out=zeros, where=|r| != 0)``: r/|r| where r ≠ 0, else 0."""
    d = program(tmp_path, HUBER_SYMBOLIC.replace("sum(huber) / N", "sum(abs(err)) / N"))
    safe = (
        "r = predicted - actual\n"
        "dpredicted = np.divide(r, np.absolute(r), out=np.zeros_like(r), "
        "where=np.absolute(r) != 0) / N\n"
    )
    assert d.check(safe).correct
    assert d.check(safe.replace(") / N", ")")).verdict == "incorrect"
    with pytest.raises(FormulaError, match="without out= leaves the other entries undefined"):
        d.check("r = predicted - actual\ndpredicted = np.divide(r, np.abs(r), where=r != 0)")


@pytest.mark.parametrize(
    ("line", "words"),
    [
        # a one-parameter lambda is written out where it is called (program_lambdas)
        ("S = lambda x, y: x + y", "a lambda (S = lambda x: …) is not read"),
        ("dpredicted = err.reshape(shape)", "cannot tell which shape shape holds"),
        ("dpredicted = err.reshape(N, D, order='F')", "order=…) is not read"),
    ],
)
def test_helpers_not_read_say_what(tmp_path: Path, line: str, words: str) -> None:
    d = program(tmp_path, HUBER_SYMBOLIC)
    with pytest.raises(FormulaError, match=words.replace("(", "\\(").replace(")", "\\)")):
        d.check("err = predicted - actual\n" + line)


def test_a_pick_set_to_a_row_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """lightaime's ``binary[range(N), y] = -row_sum.T`` (row_sum a 1-d sum): the reader's
    row of N values does not fit N label entries; a ShapeMismatch escaped the CLI."""
    from derive.cli import main

    spec = tmp_path / "svm.toml"
    spec.write_text(SVM)
    snippet = tmp_path / "svm.py"
    snippet.write_text(
        SVM_GRAD.replace("-np.sum(mask, axis=1)", "-np.sum(mask, axis=1).T").replace(
            "REG", "2 * reg * W"
        )
    )
    try:
        code = main(["check", str(spec), "--file", str(snippet)])
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    with pytest.raises(FormulaError, match="line 6: the value set at mask's label entries"):
        derive_program(spec).check(snippet.read_text())


@pytest.mark.parametrize(
    ("row_sum", "right"),
    [
        ("np.sum(P * dP, axis=1)", False),  # 1-d: NumPy broadcasts it as a row (n×n: runs)
        ("(P * dP).sum(axis=-1)", False),
        ("-np.sum(-P * dP, axis=1)", False),
        ("np.sum(P * dP, axis=1, keepdims=True)", True),
        ("np.sum(P * dP, axis=1)[:, None]", True),
    ],
)
def test_a_row_sum_without_keepdims_is_numpys_row(row_sum: str, right: bool) -> None:
    """Attention's softmax backward with the row sums 1-d: it was CORRECT, read as the
    column that keepdims=True makes; NumPy subtracts it from every row instead."""
    d = derive_program("attention_net")
    result = d.check(f"dP = dout @ V.T\ndS = P * (dP - {row_sum})")
    assert result.correct is right, str(result)
    if not right:
        assert "keepdims=True" in str(result)
