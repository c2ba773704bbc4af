"""A snippet's NumPy 1-d arrays on a program, judged as NumPy broadcasts them.

A pick ``scores[range(N), y]`` (or ``np.choose(y, scores.T)``) and a reduction along axis 1
without ``keepdims=True`` are 1-d: beside an ``N × C`` matrix NumPy broadcasts them as a
row, so ``scores - scores[range(N), y] + 1`` fails (or, square, is wrong): CS231n's SVM
bug, which needs ``[:, np.newaxis]``. Such a value written straight into the expression was
refused before; stored in a name first (``correct = …`` then ``scores - correct``), a pick
at all, or scaled by a number, it was read as the column and judged CORRECT. The snippets
are made up in the spelling of mantasu/cs231n's svm_loss_vectorized and israfelsr's layer
norm, on those programs of the corpus.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.programs import ProgramDerivation, derive_program

PROGRAMS = Path(__file__).parent / "corpus" / "specs" / "programs"

SVM = """\
N = len(y)
Y_hat = X @ W
yt = {pick}
margins = np.maximum(0, Y_hat - yt + 1)
dW = (margins > 0).astype(int)
dW[range(N), y] -= dW.sum(axis=1)
dW = X.T @ dW / N + 2 * reg * W
return dW"""

LN = """\
dxn = dout * gamma
m1 = dxn.sum(axis=1{keep})
m1 /= D
dx = var_inv * (dxn - m1 - x_norm * (dxn * x_norm).mean(axis=1, keepdims=True))
return dx"""


@pytest.fixture(scope="module")
def svm() -> ProgramDerivation:
    return derive_program(PROGRAMS / "svm_mantasu.toml")


@pytest.fixture(scope="module")
def ln() -> ProgramDerivation:
    return derive_program(PROGRAMS / "ln_israfelsr.toml")


@pytest.mark.parametrize(
    "pick", ["Y_hat[range(N), y][:, np.newaxis]", "np.choose(y, Y_hat.T).reshape(-1, 1)"]
)
def test_a_pick_made_a_column_is_right(svm: ProgramDerivation, pick: str) -> None:
    assert svm.check(SVM.format(pick=pick)).correct


@pytest.mark.parametrize("pick", ["Y_hat[range(N), y]", "np.choose(y, Y_hat.T)"])
def test_a_pick_left_1d_beside_the_scores_is_numpys_row(svm: ProgramDerivation, pick: str) -> None:
    """Was CORRECT: NumPy broadcasts the N picked scores along the C columns."""
    r = svm.check(SVM.format(pick=pick))
    assert r.verdict == "incorrect"
    assert r.shape_error and "line 4" in r.shape_error and "1-d" in r.shape_error


def test_a_named_sum_without_keepdims_is_numpys_row(ln: ProgramDerivation) -> None:
    """Was CORRECT: ``m1 = dxn.sum(axis=1)`` (then ``m1 /= D``) is 1-d, ``dxn - m1`` is
    not the rows' means taken off each row; with keepdims the same lines are right."""
    assert ln.check(LN.format(keep=", keepdims=True")).correct
    r = ln.check(LN.format(keep=""))
    assert r.verdict == "incorrect"
    assert r.shape_error and "line 4" in r.shape_error and "m1" in r.shape_error


def test_a_scaled_sum_without_keepdims_is_numpys_row(ln: ProgramDerivation) -> None:
    """Was CORRECT: ``np.mean(dxn, axis=1) * 1`` is as 1-d as the mean."""
    text = (
        "dxn = dout * gamma\n"
        "dx = var_inv * (dxn - np.mean(dxn, axis=1) * 1 "
        "- x_norm * (dxn * x_norm).mean(axis=1, keepdims=True))\nreturn dx"
    )
    r = ln.check(text)
    assert r.verdict == "incorrect" and r.shape_error and "keepdims" in r.shape_error
