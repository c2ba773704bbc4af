"""The formula checker: a corpus of real formulas, hostile input, the CLI and the helpers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from formula_corpus import CNN_CORPUS, CORPUS
from hypothesis import given, settings
from hypothesis import strategies as st

from derive import derive
from derive.cli import main
from derive.formula.check import Checker, detect_notation
from derive.formula.parse import FormulaError, parse
from derive.testing import assert_formula

CHECKERS: dict[str, Checker] = {}


def checker(spec: str) -> Checker:
    if spec not in CHECKERS:
        CHECKERS[spec] = Checker(spec)
    return CHECKERS[spec]


def test_corpus_is_large_and_mixed() -> None:
    assert len(CORPUS) >= 60
    verdicts = {row[3] for row in CORPUS}
    assert {"correct", "incorrect"} <= verdicts
    assert {row[1] for row in CORPUS} == {"latex", "python"}
    assert {row[0] for row in CORPUS} == {"nielsen", "ng", "cs231n", "seed"}


@pytest.mark.parametrize(
    ("spec", "syntax", "formula", "verdict", "words"),
    CORPUS,
    ids=[f"{r[0]}:{r[2][:40]}" for r in CORPUS],
)
def test_corpus(spec: str, syntax: str, formula: str, verdict: str | None, words: str | None):
    try:
        result = checker(spec).check(formula, syntax)
    except FormulaError as err:
        assert verdict is None, f"could not check: {err}"
        return
    if verdict is not None:
        assert result.verdict == verdict, str(result)
    if words is not None:
        said = " ".join([result.diagnosis or "", *result.notes])
        assert words in said, str(result)
    assert result.expected  # the right formula is always given


@pytest.mark.parametrize(
    ("spec", "syntax", "formula", "verdict", "words"),
    CNN_CORPUS,
    ids=[f"{r[0].split('/')[-1]}:{r[2][:40]}" for r in CNN_CORPUS],
)
def test_cnn_corpus(spec: str, syntax: str, formula: str, verdict: str, words: str | None):
    spec = str(Path(__file__).parent.parent / spec) if spec.endswith(".toml") else spec
    result = checker(spec).check(formula, syntax)
    assert result.verdict == verdict, str(result)
    if words is not None:
        said = " ".join([result.diagnosis or "", *result.notes])
        assert words in said, str(result)
    assert result.expected


def test_cnn_shape_error_names_both_operands() -> None:
    r = checker("cnn").check(
        r"\delta^{(l-1)} = (\delta^{(l)} * \operatorname{rot180}(K^{(l)})) \odot f'(Z^{(l-1)})"
    )
    assert r.shape_error is not None and "is m×" in r.shape_error


def test_shape_error_names_both_operands() -> None:
    r = checker("nielsen").check(r"\delta_1 = (W_2 \delta_2) \odot \sigma'(Z_1)")
    assert r.shape_error == "W₂ δ₂: W₂ is n₂×n₁, δ₂ is n₂×m"
    assert r.diagnosis == "a transpose is missing on W_2"


def test_expected_formula_in_the_users_notation() -> None:
    r = checker("ng").check(r"dW^{[1]} = \frac{1}{m} X^\top dZ^{[1]}")
    assert r.expected == r"dW^{[1]} = \frac{1}{m} dZ^{[1]} X^{\top}"
    py = checker("ng").check("dW1 = np.dot(X.T, dZ1) / m", "python")
    assert py.expected == "dW1 = (dZ1 @ X.T) / m"
    notation = detect_notation(r"\delta^{(1)} = W^{(2)\top} \delta^{(2)} \circ f'(z^{(1)})")
    assert (notation.index, notation.transpose, notation.hadamard) == ("paren", "top", "circ")


def test_methods_are_reported() -> None:
    assert checker("nielsen").check(r"\delta_2 = (A_2 - Y) \odot \sigma'(Z_2)").method == "symbolic"
    assert (
        checker("nielsen").check(r"\delta_1 = (W_2^T \delta_2) \odot A_1 \odot (1 - A_1)").method
        == "numeric"
    )


def test_ambiguous_dot_is_resolved_by_shapes() -> None:
    # f'(z) · W^T · δ: only (f' ⊙ (W^T δ)) fits
    r = checker("seed").check(r"\delta_2 = f'(z_2) \cdot W_3^T \cdot \delta_3")
    assert r.correct


def test_every_part_of_a_chain_is_checked() -> None:
    ok = checker("seed").check(r"\delta_3 = \frac{\partial C}{\partial Z_3} = A_3 - Y")
    assert ok.correct
    bad = checker("seed").check(r"\delta_3 = \frac{\partial C}{\partial Z_3} = A_3 + Y")
    assert not bad.correct


@pytest.mark.parametrize(
    "formula",
    [
        "__import__('os').system('echo hacked')",
        "dW1 = __import__('os').system('ls')",
        "dW1 = eval('1')",
        "dW1 = exec('import os')",
        "dW1 = (lambda: 0)()",
        "dW1 = open('/etc/passwd').read()",
        "dW1 = X.__class__",
        "dW1 = [x for x in X]",
        "dW1 = X; import os",
        "dW1 = globals()",
    ],
)
def test_hostile_python_is_a_clean_error(formula: str) -> None:
    with pytest.raises(FormulaError):
        checker("ng").check(formula, "python")


@pytest.mark.parametrize(
    "formula",
    [
        r"\delta_1 = \input{/etc/passwd}",
        r"\delta_1 = \write18{ls}",
        r"\delta_1 = (W_2^T",
        r"\delta_9 = A_9",
        r"\delta_1 = Q_1",
        r"W_1 = X",
        "",
        "no equals sign",
        r"\delta_1 = \delta_1 =",
    ],
)
def test_bad_latex_is_a_clean_error(formula: str) -> None:
    with pytest.raises(FormulaError):
        checker("nielsen").check(formula)


def test_parse_error_has_a_caret_under_the_position() -> None:
    with pytest.raises(FormulaError) as info:
        parse(r"\delta_1 = W_2^T \delta_2 \odot \foo(Z_1)")
    lines = str(info.value).splitlines()
    assert lines[-1].index("^") == lines[-2].index(r"\foo")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60), st.sampled_from(["latex", "python"]))
def test_garbage_never_escapes_as_anything_but_a_clean_error(text: str, syntax: str) -> None:
    try:
        result = checker("nielsen").check(text, syntax)
    except FormulaError:
        return
    assert result.verdict in ("correct", "incorrect")


ALPHABET = list("WbZAXYm12l+-*()^_{}T'= ") + [r"\delta", r"\odot", r"\frac", "@", ".T"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(ALPHABET), max_size=25), st.sampled_from(["latex", "python"]))
def test_formula_like_garbage_is_handled(tokens: list[str], syntax: str) -> None:
    try:
        result = checker("nielsen").check("".join(tokens), syntax)
    except FormulaError:
        return
    assert result.verdict in ("correct", "incorrect")


CNN_ALPHABET = [
    *"KAXbZ12l+-*()^_{}=, ",
    r"\delta",
    r"\odot",
    r"\star",
    r"\operatorname{rot180}",
    r"_{\text{full}}",
    r"\operatorname{up}",
    r"\mathbb{1}_{\max}",
    r"\sum_{i,j}",
    "^{(l)}",
    "correlate2d",
    "convolve2d",
    "np.rot90",
    "mode='full'",
    r"\frac{\partial L}{\partial k_{uv}}",
    r"\delta_{i-u,j-v}",
    "a_{i+u,j+v}",
    "k_{uv}",
    "_{ij}",
]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(CNN_ALPHABET), max_size=20), st.sampled_from(["latex", "python"]))
def test_cnn_formula_like_garbage_is_handled(tokens: list[str], syntax: str) -> None:
    try:
        result = checker("cnn").check("".join(tokens), syntax)
    except FormulaError:
        return
    assert result.verdict in ("correct", "incorrect")


# --------------------------------------------------------------------------- API, CLI, helpers


def test_derivation_check_method() -> None:
    d = derive("ng")
    assert d.check("dZ2 = A2 - Y", "python").correct


def test_cli_exit_codes_and_json(capsys) -> None:
    assert main(["check", "ng", "dZ2 = A2 - Y", "--syntax", "python"]) == 0
    capsys.readouterr()
    assert main(["check", "ng", "dW1 = np.dot(dZ1, X.T)", "--syntax", "python", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["verdict"] == "incorrect"
    assert set(data) >= {"verdict", "quantity", "expected", "method", "diagnosis", "shape_error"}
    assert data["expected"] == "dW1 = (dZ1 @ X.T) / m"
    assert main(["check", "ng", "dW1 = np.dot(dZ1, X.T", "--syntax", "python"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("derive: error:") and "^" in err and "Traceback" not in err
    assert main(["check", "ng", r"\delta_7 = A_7"]) == 2
    assert "no layer 7" in capsys.readouterr().err


def test_cli_batch_file(tmp_path: Path, capsys) -> None:
    f = tmp_path / "answers.txt"
    f.write_text("# homework 3\ndZ2 = A2 - Y\ndW2 = np.dot(dZ2, A1.T)\n\ndW1 = (\n")
    assert main(["check", "ng", "--file", str(f), "--syntax", "python"]) == 2
    out = capsys.readouterr().out
    assert f"{f}:2: correct" in out
    assert f"{f}:3: incorrect" in out
    assert f"{f}:5: unreadable" in out
    assert "3 formulas: 1 correct, 1 incorrect, 1 unreadable" in out
    f.write_text("dZ2 = A2 - Y\n")
    assert main(["check", "ng", "--file", str(f), "--syntax", "python", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["correct"] == 1


def test_assert_formula_helper() -> None:
    assert_formula("nielsen", r"\delta_1 = (W_2^T \delta_2) \odot \sigma'(Z_1)")
    with pytest.raises(AssertionError, match="a transpose is missing on W_2"):
        assert_formula("nielsen", r"\delta_1 = (W_2 \delta_2) \odot \sigma'(Z_1)")
