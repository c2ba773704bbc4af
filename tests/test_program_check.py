"""``derive check`` on forward programs: hand-derived backward passes judged and diagnosed.

The right formulas are written here by hand from the textbook derivations (CS231n's
batch-norm backward, the ridge and logistic-regression gradients); each wrong one is a
right one with one or two of the usual slips put in by hand, and the test asserts the
verdict and that the diagnosis names the slip.
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from types import SimpleNamespace

import pytest

from derive.cli import main
from derive.formula.ir import FormulaError
from derive.programs import ProgramDerivation, derive_expression, derive_program

STAGED = """\
# a staged batch-norm backward, as CS231n's assignment has students write it
N, D = dout.shape
dbeta = np.sum(dout, axis=0)
dgamma = np.sum(dout * Xhat, axis=0)
dXhat = dout * gamma
dvar = np.sum(dXhat * Xc, axis=0) * -0.5 * (var + eps) ** -1.5
dXc = dXhat / np.sqrt(var + eps) + dvar * 2 * Xc / N
dmu = -np.sum(dXc, axis=0)
dx = dXc + dmu / N
return dx, dgamma, dbeta
"""

COMPACT = (
    "dx = (1. / N) * gamma / np.sqrt(var + eps) * "
    "(N * dout - np.sum(dout, axis=0) - Xhat * np.sum(dout * Xhat, axis=0))"
)


@cache
def bn() -> ProgramDerivation:
    return derive_program("batchnorm")


def check(snippet: str, program: str = "batchnorm", **symbols: str):  # type: ignore[no-untyped-def]
    d = bn() if program == "batchnorm" else derive_program(program)
    return d.check(snippet, symbols or None)


def test_staged_backward_is_correct_and_every_stage_is_checked() -> None:
    # without a return, every name that is a stage of the program is judged
    r = check(STAGED.replace("return dx, dgamma, dbeta\n", ""))
    assert r.verdict == "correct", r
    for q in ("dbeta", "dgamma", "dXhat", "dvar", "dXc", "dmu", "dX"):
        assert q in r.quantity.split(", ")
    assert "read dx as dX" in r.notes
    # with one, what it hands back is the answer; the rest are the snippet's helpers
    r = check(STAGED)
    assert r.verdict == "correct" and r.quantity.split(", ") == ["dbeta", "dgamma", "dX"]


def test_a_helper_named_like_a_stage_does_not_decide_the_verdict() -> None:
    # dvar here is the author's own helper (without the -1/2), and dx is still right
    snippet = (
        "dXhat = dout * gamma\n"
        "dvar = np.sum(dXhat * Xc, axis=0) * (var + eps) ** -1.5\n"
        "dx = dXhat / np.sqrt(var + eps) - 0.5 * dvar * 2 * Xc / N"
        " - np.sum(dXhat / np.sqrt(var + eps) - 0.5 * dvar * 2 * Xc / N, axis=0) / N\n"
        "return dx"
    )
    assert check(snippet).correct
    assert check(snippet.replace("return dx", "")).verdict == "incorrect"


def test_compact_form_is_correct() -> None:
    assert check(COMPACT).correct


@pytest.mark.parametrize(
    ("snippet", "words"),
    [
        # the sum over the batch taken over the features
        ("dgamma = np.sum(dout * Xhat, axis=1)", "axis=0"),
        # a 1/N too many
        ("dbeta = np.sum(dout, axis=0) / N", "1/N too many"),
        # the sign
        ("dmu = np.sum(dXc, axis=0)", "sign"),
        # a mean where the sum belongs
        ("dgamma = np.mean(dout * Xhat, axis=0)", "1/N too many"),
        # the classic: dXc without the path through the variance
        ("dXc = dXhat / np.sqrt(var + eps)", "through var"),
        # dX without the path through the mean
        ("dx = dXc", "through μ"),
    ],
)
def test_batchnorm_slips_are_named(snippet: str, words: str) -> None:
    r = check(snippet)
    assert r.verdict == "incorrect"
    said = " ".join(filter(None, [r.diagnosis, r.shape_error]))
    assert words in said, said


def test_shape_error_is_a_verdict_with_the_fix() -> None:
    r = check("dgamma = np.sum(dout * Xhat, axis=1)")
    assert r.shape_error is not None and "N×1" in r.shape_error and "1×D" in r.shape_error
    assert "axis=0" in (r.diagnosis or "")


def test_slip_in_an_earlier_stage_is_found_where_it_is() -> None:
    wrong = STAGED.replace("dvar * 2 * Xc / N", "dvar * 2 * Xc")
    r = check(wrong)
    assert r.verdict == "incorrect"
    # the returned dX is judged; the note points at dXc, the first stage that differs
    assert r.expected.startswith("dX =")
    assert "line 7's dXc differs from the derivation's dXc" in " ".join(r.notes)
    r = check(wrong.replace("return dx, dgamma, dbeta\n", ""))
    assert r.expected.startswith("dXc =") and "also wrong" in " ".join(r.notes)


def test_matrix_product_slips() -> None:
    right = "dZ = P * (dout - np.sum(P * dout, axis=1, keepdims=True))\ndW = X.T @ dZ"
    assert check(right, "softmax_layer").correct
    order = right.replace("X.T @ dZ", "dZ.T @ X")
    r = check(order, "softmax_layer")
    assert r.verdict == "incorrect" and (
        "order" in (r.diagnosis or "") or "transpose" in (r.diagnosis or "")
    )
    hadamard = right.replace("P * (dout", "P @ (dout")
    r = check(hadamard, "softmax_layer")
    assert r.verdict == "incorrect" and "entrywise product (*)" in (r.diagnosis or "")


def test_missing_weight_decay_and_a_factor_two_at_once() -> None:
    r = check("dw = X.T @ (X @ w - y)", "ridge")
    assert r.verdict == "incorrect"
    assert "λ w" in (r.diagnosis or "") and "1/2 times" in (r.diagnosis or "")


def test_ridge_gradient_is_correct() -> None:
    d = derive_program("ridge")
    hyper = next(iter(d.graph.spec.hyperparameters))
    assert check(f"dw = 2 * X.T @ (X @ w - y) + 2 * {hyper} * w", "ridge").correct


def test_logistic_regression_gradient() -> None:
    assert check("dw = X.T @ (p - y) / m", "logreg").correct
    r = check("dw = X.T @ (p - y)", "logreg")
    assert r.verdict == "incorrect" and "a factor 1/m is missing" in (r.diagnosis or "")


def test_two_slips_at_once() -> None:
    # a mean where the sum belongs, and over the wrong axis
    r = check("dgamma = np.mean(dout * Xhat, axis=1)")
    assert r.verdict == "incorrect"
    assert "axis=0" in (r.diagnosis or "") and "sum belongs" in (r.diagnosis or "")
    # two statements, one slip each
    r = check("dXhat = dout @ gamma\ndbeta = np.sum(dout, axis=1)")
    assert r.verdict == "incorrect" and "axis=0" in (r.diagnosis or "")


def test_expression_mode() -> None:
    d = derive_expression(
        "norm(X @ w - y)^2 + c * norm(w)^2", ["w"], {"X": ("m", "n"), "w": ("n", 1), "y": ("m", 1)}
    )
    assert d.check("dw = 2 * X.T @ (X @ w - y) + 2 * c * w").correct
    r = d.check("dw = 2 * X @ (X @ w - y) + 2 * c * w")
    assert r.verdict == "incorrect"


def test_names_read_loosely_are_said() -> None:
    r = check("dgamma = np.sum(dout * x_hat, axis=0)")
    assert r.correct and "read x_hat as the program's Xhat" in r.notes


def test_cache_unpacking_and_lookups() -> None:
    snippet = (
        "X, gamma, var, eps, Xhat = cache\n"
        "g = cache['gamma']\n"
        "dgamma = np.sum(dout * Xhat, axis=0)\n"
        "dXhat = dout * g"
    )
    assert check(snippet).correct


def test_declared_symbols() -> None:
    assert check("dgamma = np.sum(dout * z, axis=0)", z="Xhat").correct
    assert check("dXc = dXhat * ivar + 2 * Xc * dvar / N", ivar="1 / sqrt(var + eps)").correct
    with pytest.raises(FormulaError, match="--symbol z=Xhat"):
        check("dgamma = 1", z="Xhat +")


@pytest.mark.parametrize(
    ("snippet", "words"),
    [
        ("dgamma = np.sum(dout * foo, axis=0)", "unknown name 'foo'"),
        ("dgamma = np.sum(dout * Xhat, axis=0", "ends too early"),
        ("z = 1", "assigns no gradient"),
        ("a, b = cache\ndgamma = np.sum(dout * a, axis=0)", "unknown name 'a'"),
        ("dgamma = X[0]", "one-hot indexing"),
    ],
)
def test_unreadable_snippets_say_why(snippet: str, words: str) -> None:
    with pytest.raises(FormulaError, match=words):
        check(snippet)


def test_cli_process_no_traceback() -> None:
    err = subprocess.run(
        [
            sys.executable,
            "-m",
            "derive",
            "check",
            "batchnorm",
            "dgamma = np.sum(dout * foo, axis=0)",
        ],
        capture_output=True,
        text=True,
    )
    assert err.returncode == 2 and err.stderr.startswith("derive: error: line 1: unknown name")
    assert "Traceback" not in err.stderr


def test_cli_exit_codes_and_json(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    def cli(*args: str) -> SimpleNamespace:
        code = main(["check", *args])
        out = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)

    ok = cli("batchnorm", COMPACT)
    assert ok.returncode == 0 and ok.stdout.startswith("CORRECT")
    bad = cli("batchnorm", "dgamma = np.sum(dout * Xhat, axis=1)", "--json")
    assert bad.returncode == 1 and json.loads(bad.stdout)["verdict"] == "incorrect"
    err = cli("batchnorm", "dgamma = np.sum(dout * foo, axis=0)")
    assert err.returncode == 2 and "line 1: unknown name 'foo'" in err.stderr
    snippet = tmp_path / "bn.py"
    snippet.write_text(STAGED, encoding="utf-8")
    whole = cli("batchnorm", "--file", str(snippet))
    assert whole.returncode == 0, whole.stdout + whole.stderr
    latex = cli("batchnorm", "d\\gamma = 1", "--syntax", "latex")  # LaTeX over its names
    assert latex.returncode == 1 and latex.stdout.startswith("INCORRECT: dgamma")
    unread = cli("batchnorm", "\\frac{\\partial L}{\\partial \\gamma} = Z", "--syntax", "latex")
    assert unread.returncode == 2 and "Z is not a name of this program" in unread.stderr
    expr = cli(
        "--expr",
        "norm(X @ w - y)^2",
        "--wrt",
        "w",
        "--shape",
        "X=m,n",
        "--shape",
        "w=n,1",
        "--shape",
        "y=m,1",
        "dw = 2 * X.T @ (X @ w - y)",
    )
    assert expr.returncode == 0, expr.stdout + expr.stderr


def test_bptt_without_the_sum_over_time() -> None:
    """The classic recurrent mistake: dW_hh from the last step only."""
    r = check("dW_hh = h_2.T @ dz_3", "rnn")
    assert r.verdict == "incorrect"
    assert "2 of the 3 terms of dW_hh are missing" in (r.diagnosis or "")
    assert "several steps" in (r.diagnosis or "")
    assert check("dW_hh = h0.T @ dz1 + h1.T @ dz2 + h2.T @ dz3", "rnn").correct


def test_attention_without_the_softmax_jacobian() -> None:
    """The classic attention mistake: dS = dP, as if softmax were the identity."""
    right = "dP = dout @ V.T\ndS = P * (dP - np.sum(P * dP, axis=1, keepdims=True))"
    assert check(right, "attention").correct
    r = check("dP = dout @ V.T\ndS = dP", "attention")
    assert r.verdict == "incorrect" and r.expected.startswith("dS =")
    assert "dP passed on unchanged" in (r.diagnosis or "")
    assert "softmax" in (r.diagnosis or "") and "Jacobian" in (r.diagnosis or "")


@pytest.mark.parametrize(
    ("snippet", "words"),
    [
        # a power tower would compute 10**(10**10) exactly and never finish
        ("dw = X.T @ (p - y) / m * 10**10**10", "a number to a power beyond"),
        # y is a target matrix, not integer labels
        ("dw = X.T @ p[range(m), y]", "not an integer label input"),
        # sizes that would allocate exabytes, or are not sizes at all
        ("dw = np.zeros((10**9, 10**9))", "takes two sizes"),
        ("dw = np.zeros((-1, 1))", "takes two sizes"),
        ("dw = np.zeros((0.5, 1))", "takes two sizes"),
    ],
)
def test_hostile_snippets_are_refused(snippet: str, words: str) -> None:
    with pytest.raises(FormulaError, match=words):
        check(snippet, "logreg")


def test_a_snippet_that_doubles_each_line_is_bounded() -> None:
    """Each line reads the one before twice: inlined, the value doubles a line (it took
    minutes, then hours); past the bound the snippet is refused, not walked."""
    lines = ["e0 = p - y"] + [f"e{i} = e{i - 1} * (1 - p) + e{i - 1}" for i in range(1, 40)]
    with pytest.raises(FormulaError, match="operations; check a shorter snippet"):
        check("\n".join([*lines, "dw = X.T @ e39 / m"]), "logreg")


def test_dividing_by_the_wrong_size_is_named() -> None:
    r = check("dw = X.T @ (p - y) / X.shape[1]", "logreg")
    assert r.verdict == "incorrect" and "divided by n where m belongs" in (r.diagnosis or "")


# ---------------------------------------------------------------- round 5: mistakes named

#: Each entry's own path only: d Xhat_ij / d X_ij = (1 - 1/N - Xhat_ij² / N) / sqrt(var + eps),
#: written by hand (the cross terms through mu and var left out, as cthorey's alternative had it).
DIAGONAL = "dx = gamma / np.sqrt(var + eps) * (1 - 1. / N - Xhat ** 2 / N) * dout"


def test_diagonal_of_the_jacobian_only_is_named() -> None:
    r = check(DIAGONAL)
    assert r.verdict == "incorrect", r
    assert "diagonal of the Jacobian" in r.diagnosis, r.diagnosis
    assert "sums (μ, var)" in r.diagnosis, r.diagnosis
    # the same snippet with the cross terms is right (so the diagonal is what is wrong)
    assert check(COMPACT).verdict == "correct"


def test_a_term_counted_twice_is_named() -> None:
    doubled = COMPACT.replace("- np.sum(dout, axis=0)", "- 2 * np.sum(dout, axis=0)")
    assert doubled != COMPACT
    r = check(doubled)
    assert r.verdict == "incorrect", r
    assert "line 1: the factor 2 counts a term 2 times" in r.diagnosis, r.diagnosis


def test_the_slip_search_does_not_read_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The search for a named slip is bounded by a count of builds, not by wall time: on
    a loaded machine (a clock that runs a minute per call here) the answer is the same."""
    import time

    ticks = iter(range(0, 10**9, 60))
    monkeypatch.setattr(time, "perf_counter", lambda: float(next(ticks)))
    doubled = COMPACT.replace("- np.sum(dout, axis=0)", "- 2 * np.sum(dout, axis=0)")
    r = check(doubled)
    assert "line 1: the factor 2 counts a term 2 times" in (r.diagnosis or ""), r


RIDGE_NO_DECAY = """\
name = "ridge_no_decay"
convention = "column"

[inputs]
X = ["m", "n"]
y = ["m", 1]

[parameters]
w = ["n", 1]

[hyperparameters]
reg = "lambda"

[forward]
equations = "r = X @ w - y"

[loss]
expression = "norm(r) ** 2"
"""


def test_weight_decay_the_loss_does_not_have_is_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    spec = tmp_path / "ridge_no_decay.toml"
    spec.write_text(RIDGE_NO_DECAY)
    snippet = "dw = 2 * X.T @ r\ndw += 2 * reg * w\n"
    assert derive_program(str(spec)).check(snippet.splitlines()[0]).verdict == "correct"
    r = derive_program(str(spec)).check(snippet)
    assert r.verdict == "incorrect", r
    assert "line 2: the weight-decay term (dw += 2 * reg * w) does not belong" in r.diagnosis
    assert "no reg term" in r.diagnosis
    # where the loss has the decay, a second one added is not said to be absent from it
    ridge = derive_program("ridge")
    r = ridge.check("dw = 2 * X.T @ r + 2 * lambda * w\ndw += 2 * lambda * w\n")
    assert r.verdict == "incorrect", r
    assert "no lambda term" not in (r.diagnosis or ""), r.diagnosis


@pytest.mark.parametrize("declared", ["dout=X*0", "Xhat=X", "N=1", "dgamma=X", "dXhat=dout"])
def test_a_symbol_may_not_redefine_the_programs_own_names(capsys, declared) -> None:  # type: ignore[no-untyped-def]
    """``--symbol dout=X*0`` would make any snippet right (or wrong): refused, exit 2."""
    snippet = "dgamma = np.sum(dout * Xhat, axis=0)"
    code = main(["check", "batchnorm", snippet, "--symbol", declared])
    err = capsys.readouterr().err.strip()
    assert code == 2
    name = declared.split("=")[0]
    assert err.splitlines() == [
        f"derive: error: --symbol {declared}: {name} is "
        + ("a gradient" if name == "dgamma" else "a name")
        + " of the program itself; declare only the snippet's own names"
    ]
    # the snippet's own name is still declared as before
    assert check("dgamma = np.sum(dout * xh, axis=0)", xh="Xhat").verdict == "correct"


def test_a_matrix_times_itself_is_judged_not_a_crash() -> None:
    """``W_hh @ W_hh`` is SymPy's ``MatPow``: judged (wrong here), where it used to end in
    a traceback ("numeric evaluation of MatPow is not defined")."""
    import numpy as np
    from sympy import MatrixSymbol

    from derive.core.numeric import NUMPY

    W = MatrixSymbol("W", 3, 3)
    w = np.arange(9.0).reshape(3, 3)
    np.testing.assert_allclose(NUMPY.evaluate(W * W * W, {W: w}), w @ w @ w)
    r = check("dW_hh = W_hh @ W_hh", "rnn_net")
    assert r.verdict == "incorrect", r
