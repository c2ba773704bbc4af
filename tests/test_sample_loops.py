"""Backward passes written as loops over samples and classes (issue 15), read by running
them: CS231n's naive SVM (``for i in range(num_train): … for j in range(num_classes): if
j == y[i]: continue … if margin > 0: dW[:, j] += X[i]``) run on the program's values at
the checker's two points and compared with the derivation. Before, such loops were
refused ("a loop over time is read against a program written out per step"). The
mutated snippets below are made up (one usual slip each), from jariasf's real one."""

from __future__ import annotations

import random
import sys
from functools import cache
from pathlib import Path

import pytest

from derive.formula.answer import CheckResult
from derive.formula.ir import FormulaError
from derive.formula.program_check import ProgramChecker
from derive.programs import ProgramDerivation, derive_program

sys.path.insert(0, str(Path(__file__).parent))
from test_corpus_file import LAYER_ENTRIES, ROOT  # noqa: E402

ENTRIES = {e["id"]: e for _, e in LAYER_ENTRIES}
NAIVE = str(ENTRIES["svm-jariasf-naive"]["text"])
SVM = "tests/corpus/specs/programs/svm_jariasf.toml"


@cache
def program(network: str) -> ProgramDerivation:
    return derive_program(str(ROOT / network))


def check(text: str, network: str = SVM) -> CheckResult:
    return ProgramChecker(program(network)).check(text)


def test_the_naive_svms_are_read_and_correct() -> None:
    """jariasf's and Burton2000's svm_loss_naive, each on its own program: CORRECT, by
    running the loops (the note says at which sizes, all distinct)."""
    for entry_id in ("svm-jariasf-naive", "svm-burton2000-naive"):
        e = ENTRIES[entry_id]
        said = check(str(e["text"]), str(e["network"]))
        assert said.verdict == "correct", str(said)
        assert said.method == "numeric (loops run)"
        assert any("N=3, D=4, C=5" in n for n in said.notes), said.notes


# made up: jariasf's snippet with one slip each, and the words that must name it
SLIPS = {
    "no-weight-decay": (
        ("dW = dW + reg * 2 * W # added by jariasf", ""),
        "the weight-decay term 2·reg·W is missing",
    ),
    "weight-decay-factor": (
        ("dW = dW + reg * 2 * W", "dW = dW + reg * W"),
        "the weight-decay term 2·reg·W has a factor 1/2",
    ),
    "no-mean": (("dW = dW / num_train # added by jariasf", ""), "a factor 1/N is missing"),
    "mean-twice": (
        ("dW = dW / num_train # added by jariasf", "dW = dW / num_train / num_train"),
        "a factor 1/N too many",
    ),
    "overwrite": (
        ("dW[:,j] = dW[:,j] + X[i]", "dW[:,j] = X[i]"),
        "`dW[:,j] = X[i]` overwrites",
    ),
    "no-correct-class": (
        ("      dW[:, y[i]] = dW[:, y[i]] - X[i] # added by jariasf\n", ""),
        "the correct class's term is missing",
    ),
}


@pytest.mark.parametrize("slip", sorted(SLIPS))
def test_each_usual_slip_is_named(slip: str) -> None:
    (old, new), words = SLIPS[slip]
    assert old in NAIVE
    said = check(NAIVE.replace(old, new))
    assert said.verdict == "incorrect", str(said)
    assert words in (said.diagnosis or ""), said.diagnosis


def test_the_sign_is_named() -> None:
    flipped = (
        NAIVE.replace("dW[:, y[i]] - X[i]", "dW[:, y[i]] + X[i]")
        .replace("dW[:,j] + X[i]", "dW[:,j] - X[i]")
        .replace("dW + reg * 2 * W", "dW - reg * 2 * W")
    )
    said = check(flipped)
    assert said.verdict == "incorrect" and "sign" in (said.diagnosis or ""), str(said)


def test_a_factor_is_named_as_a_size_only_when_it_is_that_size_at_both_points() -> None:
    """The reviewer's "a factor 0.5" where the factor is 1/N (at N = 2): the points' sizes
    differ (N = 3 and 5), so 1/N is said as 1/N, and a constant 1/2 as 1/2."""
    half = check(NAIVE.replace("dW = dW / num_train #", "dW = dW / 2 #"))
    assert "1/N" not in (half.diagnosis or ""), half.diagnosis
    per_class = check(NAIVE.replace("dW = dW / num_train #", "dW = dW / num_classes #"))
    assert per_class.verdict == "incorrect"
    assert "1/N" not in (per_class.diagnosis or ""), per_class.diagnosis


def test_bounds_are_refused_clearly() -> None:
    endless = "dW = np.zeros(W.shape)\nfor i in range(1000000):\n  dW += X[0, 0]\n"
    with pytest.raises(FormulaError, match="more than 10000 statements"):
        check(endless)
    huge = "for i in range(2):\n  dW = np.zeros((100000, 100000))\n"
    with pytest.raises(FormulaError, match="larger than a run may make"):
        check(huge)
    array_if = "dW = np.zeros(W.shape)\nfor i in range(2):\n  if W > 0:\n    dW += W\n"
    with pytest.raises(FormulaError, match="condition on an array"):
        check(array_if)
    stray = "dW = np.zeros(W.shape)\nelse:\n  dW = W\nfor i in range(2):\n  dW += W\n"
    with pytest.raises(FormulaError, match="follows no if"):
        check(stray)


def test_no_gradient_written_is_refused() -> None:
    with pytest.raises(FormulaError, match="write no gradient"):
        check("loss = 0.0\nfor i in range(N):\n  loss += X[i, 0]\n")
    with pytest.raises(FormulaError, match="'num_train' is not set by the snippet nor a name of"):
        check("dW = 0 * W\nfor i in range(num_train):\n  dW += X[i, 0]\n")


def _mutants(text: str, rng: random.Random, count: int) -> list[str]:
    """Made-up snippets: jariasf's with characters, tokens and lines changed."""
    lines = text.splitlines()
    tokens = ["i", "j", "y[i]", "X[i]", "W", "0", "1", "+", "-", "*", "/", ":", "(", ")", "[", "]"]
    out = []
    for _ in range(count):
        mut = list(lines)
        for _ in range(rng.randint(1, 3)):
            k = rng.randrange(len(mut))
            line = mut[k]
            kind = rng.randrange(4)
            if kind == 0 and line:
                p = rng.randrange(len(line))
                mut[k] = line[:p] + rng.choice(tokens) + line[p + 1 :]
            elif kind == 1:
                del mut[k]
                if not mut:
                    mut = ["for i in range(2):"]
            elif kind == 2:
                mut.insert(k, mut[rng.randrange(len(mut))])
            else:
                mut[k] = " " * rng.randint(0, 6) + line.lstrip()
        out.append("\n".join(mut))
    return out


#: The real loops the fuzz mutates, each on its program.
BASES = (
    "svm-jariasf-naive",
    "attn-idl-smit25-softmax-backward",
    "huber-roboticsclub-derivative-weights",
)


def _fuzz(count: int, seed: int) -> tuple[int, int]:
    rng = random.Random(seed)
    read = refused = 0
    for k, entry_id in enumerate(BASES):
        e = ENTRIES[entry_id]
        checker = ProgramChecker(program(str(e["network"])))
        share = count // len(BASES) + (k < count % len(BASES))
        for text in _mutants(str(e["text"]), rng, share):
            try:
                checker.check(text)
                read += 1
            except FormulaError:
                refused += 1
    return read, refused


def test_mutated_snippets_never_raise_anything_but_a_clear_error() -> None:
    read, refused = _fuzz(150, 0)
    assert read + refused == 150 and read > 0 and refused > 0


@pytest.mark.slow
def test_mutated_snippets_fuzz_long() -> None:
    read, refused = _fuzz(3000, 1)
    assert read + refused == 3000


def test_idls_softmax_jacobian_loop_is_read() -> None:
    """IDL's per-row softmax Jacobian, ``J[m, n] = (… if m == n else …)`` in a loop over
    rows and classes, into a ``dLdZ`` the copy never allocates: read, and CORRECT; the
    Jacobian without its diagonal term is INCORRECT (was: "a loop is not read")."""
    e = ENTRIES["attn-idl-smit25-softmax-backward"]
    said = check(str(e["text"]), str(e["network"]))
    assert said.verdict == "correct", str(said)
    assert any("dLdZ is written entry by entry and never allocated" in n for n in said.notes)
    off = str(e["text"]).replace("self.A[i, m] * (1 - self.A[i,m]) if", "0 if")
    assert off != e["text"]
    assert check(off, str(e["network"])).verdict == "incorrect"


def test_a_returned_gradient_of_a_loop_over_samples() -> None:
    """RoboticsClub's Huber derivative returns ``der`` built in a loop with ``abs()`` and
    an if/else: read as the program's one gradient dW, INCORRECT as labelled (the linear
    branch's sign and the mean's 1/M)."""
    e = ENTRIES["huber-roboticsclub-derivative-weights"]
    said = check(str(e["text"]), str(e["network"]))
    assert said.verdict == "incorrect", str(said)
    assert any("returns (der) as dW" in n for n in said.notes), said.notes
    right = (
        "M = X.shape[0]\ny_pred = np.dot(X, W).T\nder = 0\nfor i in range(M):\n"
        "    r = Y[0, i] - y_pred[0, i]\n    if abs(r) <= delta:\n        der += -X[i] * r / M\n"
        "    else:\n        der += -delta * X[i] * r / abs(r) / M\nreturn der"
    )  # made up: the same loop with both fixes
    assert check(right, str(e["network"])).verdict == "correct"
    said = check(str(e["text"]), str(e["network"]))
    assert said.diagnosis and said.diagnosis.startswith("two mistakes, told branch by branch")
    assert "fails everywhere, the sign is wrong, and a factor 1/M is missing" in (said.diagnosis)
    linear_sign = right.replace("der += -delta *", "der += delta *")  # made up: one slip
    one = check(linear_sign, str(e["network"]))
    assert one.diagnosis and one.diagnosis.startswith("one mistake"), one.diagnosis
    assert "holds everywhere, it is right" in one.diagnosis


def test_builtins_walk_no_range() -> None:
    """``max(range(10**12))`` would walk the range: only two numbers are taken."""
    with pytest.raises(FormulaError, match="of two numbers"):
        check("dW = 0 * W\nfor i in range(2):\n  dW += max(range(100000000000), 0)\n")


def test_a_per_sample_helper_named_like_a_stage_is_not_judged() -> None:
    """Made up, in CS231n's style: ``dscores`` of one row, a local of the loop, shares its
    name with the program's stage dscores (N x C); judging it made a right snippet wrong."""
    text = (
        "dW = np.zeros(W.shape)\nfor i in range(N):\n  scores = X[i].dot(W)\n"
        "  dscores = np.zeros(C)\n  for j in range(C):\n    if j == y[i]:\n      continue\n"
        "    if scores[j] - scores[y[i]] + 1 > 0:\n      dscores[j] += 1\n"
        "      dscores[y[i]] -= 1\n  dW += np.outer(X[i], dscores)\ndW /= N\ndW += 2 * reg * W\n"
    )
    said = check(text)
    assert said.verdict == "correct", str(said)
    assert any("dscores is not judged" in n for n in said.notes)


def test_no_string_is_read_as_a_number() -> None:
    """``float('inf')`` would parse a user's text as a number: refused."""
    with pytest.raises(FormulaError, match="of a string"):
        check("dW = 0 * W\nfor i in range(2):\n  dW += float('inf')\n")


def test_an_object_array_is_refused() -> None:
    """``dtype='object'`` makes arrays of Python integers, which powers grow without bound."""
    with pytest.raises(FormulaError, match="dtype="):
        check("dW = np.zeros((2, 2), dtype='object')\nfor i in range(2):\n  dW += 1\n")
    said = check(NAIVE.replace("np.zeros(W.shape)", "np.zeros(W.shape, dtype='float')"))
    assert said.verdict == "correct"


def test_jingtinghuangs_gradient_block_reads_the_forwards_zeroed_margin() -> None:
    """jingtinghuang's block reads the forward's margin with the correct class zeroed; his
    program writes that zero as a where() (the correct class is the one entry whose score
    equals the correct score). Read: INCORRECT, the weight decay's factor 2 named; with
    2 * reg * W it is CORRECT. Before, the diagnosis split dW's entries by a mask of the
    scores' shape and crashed (ValueError: operands could not be broadcast)."""
    e = ENTRIES["svm-jingtinghuang-vectorized-reg-grad"]
    said = check(str(e["text"]), str(e["network"]))
    assert said.verdict == "incorrect", str(said)
    assert "weight-decay term's factor 2 is missing" in (said.diagnosis or "")
    fixed = str(e["text"]).replace("dW += reg*W", "dW += 2*reg*W")
    assert check(fixed, str(e["network"])).verdict == "correct"


def test_loops_dividing_by_zero_are_told_not_a_traceback() -> None:
    # made up from jariasf's naive SVM: the average over a zero (num_train - num_train)
    # gives inf/nan; reading a factor from them raised OverflowError (Fraction(inf))
    text = NAIVE.replace("dW = dW / num_train", "dW = dW / (num_train - num_train)")
    assert text != NAIVE
    got = check(text)
    assert not got.correct
    assert "not finite" in (got.diagnosis or ""), got.diagnosis


def test_a_loop_over_samples_on_a_network_spec_says_where_it_is_read() -> None:
    # review8: jariasf's naive SVM (layers/svm.toml) checked on the built-in `svm` network
    # spec got the grammar's "unexpected 'j'" alone; loops over samples are run on a
    # forward program, and the message says so.
    from derive.formula.check import Checker
    from derive.formula.parse import FormulaError
    from derive.spec.reading import load

    naive = next(e for _, e in LAYER_ENTRIES if e["id"] == "svm-jariasf-naive")
    with pytest.raises(FormulaError, match="run on a forward program"):
        Checker(load("svm")).check(str(naive["text"]), "python")
