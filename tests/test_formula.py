"""The formula checker: a corpus of real formulas, hostile input, the CLI and the helpers."""

from __future__ import annotations

import json
import re
import time
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


# --------------------------------------------------------------------------- issue 11: any input


def _ends_cleanly(spec: str, formula: str, syntax: str = "latex") -> str:
    """The verdict, or 'error' for a FormulaError; anything else escapes and fails the test."""
    try:
        return checker(spec).check(formula, syntax).verdict
    except FormulaError:
        return "error"


@pytest.mark.parametrize(
    ("spec", "syntax", "formula"),
    [
        ("nielsen", "latex", r"\delta_1 = \sigma'(Z_1)^{2.5}"),
        ("nielsen", "latex", r"\delta_1 = \sigma^2.5(Z_1)"),
        ("ng", "python", "dZ1 = 1e5000"),
        ("ng", "python", "db1 = np.sum(dZ1, axis=(0, 2, 3))"),
        ("cnn", "latex", r"\delta_1 = f''(Z_1)"),
        ("seed", "python", "dZ1 = W2.T @ dZ2 * (1 > 0)"),
        ("nielsen", "latex", r"\delta_1 = " + "-" * 350 + "A_1"),
        ("nielsen", "latex", r"\delta_1 = " + "W " * 400),
        ("ng", "python", "dZ1 = " + "np.tanh(" * 200 + "Z1" + ")" * 200),
        ("ng", "latex", r"\delta_1 = f" + "'" * 120 + "(Z_1)"),
        ("nielsen", "latex", r"\delta_1 = " + r"\sigma(" * 150 + "Z_1" + ")" * 150),
        ("ng", "python", "dZ1 = 1e999999 * A1"),
        ("ng", "python", "dZ1 = " + "9" * 1500 + " * A1"),
        ("nielsen", "latex", r"\delta_1 = W_{" + "9" * 1000 + "} A_1"),
    ],
)
def test_hostile_input_ends_in_a_verdict_or_a_clean_error(
    spec: str, syntax: str, formula: str
) -> None:
    checker(spec).other("convention")  # the one-off derivations are not the check's time
    checker(spec).other("delta")
    start = time.perf_counter()
    assert _ends_cleanly(spec, formula, syntax) in ("correct", "incorrect", "error")
    assert time.perf_counter() - start < 10  # generous: the limit named by the issue is 2 s


def test_a_symbolic_activation_has_a_python_answer() -> None:
    """The seed net's f has no NumPy form: the expected formula is written as text."""
    assert checker("seed").check("dZ2 = (W3.T @ dZ3) * f_prime(Z2)", "python").correct


def test_numbers_are_refused_beyond_bounds_with_a_clear_message() -> None:
    with pytest.raises(FormulaError, match=r"1e999999 is out of range") as info:
        checker("ng").check("dZ1 = 1e999999 * A1", "python")
    assert info.value.column == 7
    with pytest.raises(FormulaError, match=r"1e999 is out of range"):
        checker("ng").check("dZ1 = A1 ** 1e999", "python")


@settings(max_examples=200, deadline=None)
@given(
    st.from_regex(r"[0-9]{1,12}(\.[0-9]{1,8})?([eE][-+]?[0-9]{1,2})?", fullmatch=True),
)
def test_numbers_are_read_exactly(text: str) -> None:
    from fractions import Fraction

    from derive.formula.parse import MAX_EXPONENT, parse_number

    exp = re.search(r"[eE]([-+]?[0-9]+)", text)
    if exp and abs(int(exp.group(1))) > MAX_EXPONENT:
        with pytest.raises(FormulaError):
            parse_number(text)
        return
    value = Fraction(text)  # the standard library's exact decimal reading: an independent oracle
    got = parse_number(text)
    assert (got.p, got.q) == (value.numerator, value.denominator)


def test_a_non_integer_power_is_a_real_power_not_truncated() -> None:
    # A1 ** 2 = A1 ⊙ A1 is part of tanh' = 1 - A1²; with 2.9 it is another function
    ok = checker("ng").check("dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))", "python")
    assert ok.correct
    bad = checker("ng").check("dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(A1, 2.9))", "python")
    assert not bad.correct
    assert not checker("ng").check("dZ1 = np.dot(W2.T, dZ2) * (1 - A1 ** 2.9)", "python").correct
    assert not checker("ng").check(r"dZ_1 = W_2^T dZ_2 \odot (1 - A_1^{2.9})").correct


def test_a_non_integer_axis_is_an_error_and_negative_axes_count_from_the_end() -> None:
    with pytest.raises(FormulaError, match="whole number, not 1.7"):
        checker("ng").check("db1 = np.sum(dZ1, axis=1.7, keepdims=True) / m", "python")
    assert checker("ng").check("db1 = np.sum(dZ1, axis=-1, keepdims=True) / m", "python").correct
    with pytest.raises(FormulaError, match="axes 0 and 1"):
        checker("ng").check("db1 = np.sum(dZ1, axis=2, keepdims=True) / m", "python")


def test_a_dirac_delta_derivative_is_a_clean_error() -> None:
    with pytest.raises(FormulaError, match="Dirac delta"):
        checker("cnn").check(r"\delta_1 = f''(Z_1)")


def test_deep_nesting_is_refused_with_the_place() -> None:
    with pytest.raises(FormulaError, match="nested") as info:
        checker("nielsen").check(r"\delta_1 = " + r"\sigma(" * 60 + "Z_1" + ")" * 60)
    assert info.value.column is not None and info.value.column > 12


@pytest.mark.parametrize("count", [12, 16])
def test_ambiguous_products_are_fast(count: int) -> None:
    """Issue 11: 12 operands took ~50 s, 16 over 60 s (every bracketing enumerated)."""
    ops = ["W_2^T", r"\delta_2", r"\sigma'(Z_1)", "A_1"]
    formula = r"\delta_1 = " + r" \cdot ".join(ops[i % 4] for i in range(count))
    start = time.perf_counter()
    _ends_cleanly("nielsen", formula)
    assert time.perf_counter() - start < 10  # generous: the limit named by the issue is 2 s


def test_dynamic_programming_keeps_every_reading() -> None:
    """Readings of a square chain: the spans' readings are those of every bracketing."""
    r = checker("seed").check(r"\delta_2 = W_3^T W_3 \cdot W_3^T W_3 \cdot \delta_2")
    assert not r.correct  # and no error: several readings fit
    ok = checker("seed").check(r"\delta_2 = f'(z_2) \cdot W_3^T \cdot \delta_3")
    assert ok.correct


def test_leaky_relu_round_trip_with_the_networks_slope() -> None:
    from conftest import LOSSES, net

    from derive import Activation

    for act in (Activation("leaky_relu"), Activation("leaky_relu", params=(("slope", 0.2),))):
        c = Checker(derive(net([3, 4, 2], act, LOSSES[0])))
        expected = c.check(r"\delta_1 = W_2^T \delta_2").expected
        assert r"\operatorname{lrelu}'" in expected
        assert c.check(expected).correct


# --------------------------------------------------------------------------- issue 10: messages

LARK_NAMES = re.compile(r"\b(lsqb|rsqb|circumflex|lbrace|rbrace|__anon\w*|dname|[A-Z]{4,})\b")


@pytest.mark.parametrize(
    ("syntax", "formula"),
    [
        ("latex", r"\delta_1 = W_2^{T \odot A"),
        ("latex", r"\delta_1 = W_2^T \delta_2 \odot \foo(Z_1)"),
        ("latex", r"\delta_1 = (W_2^T"),
        ("latex", r"\delta_1 W_2 ="),
        ("python", "dW1 = np.dot(dZ1, X.T"),
        ("python", "dW1 = dZ1 @@ X"),
    ],
)
def test_parse_errors_name_no_grammar_tokens(syntax: str, formula: str) -> None:
    with pytest.raises(FormulaError) as info:
        checker("nielsen").check(formula, syntax)
    first = str(info.value).splitlines()[0]
    assert not LARK_NAMES.search(first), first


def test_the_caret_points_into_the_users_own_text() -> None:
    formula = r"$\delta_1 = \mathbb{1} \odot \mathbf{1} \odot Q_1$"
    with pytest.raises(FormulaError) as info:
        checker("nielsen").check(formula)
    *_, echo, mark = str(info.value).splitlines()
    assert echo.strip() == formula  # the user's text, not the rewritten \one
    assert echo.index("Q_1") == mark.index("^")
    assert info.value.column == formula.index("Q_1") + 1


def test_a_semantic_error_points_at_its_place() -> None:
    formula = r"\delta_1 = W_2^T \delta_2 \odot \sigma'(Z_{i j k})"
    with pytest.raises(FormulaError) as info:
        parse(formula)
    assert info.value.column is not None and info.value.column > 30


def test_cli_json_errors(capsys, tmp_path: Path) -> None:
    assert main(["check", "ng", "dW1 = np.dot(dZ1, X.T", "--syntax", "python", "--json"]) == 2
    data = json.loads(capsys.readouterr().out)
    assert data["verdict"] == "error" and "ends too early" in data["error"]
    assert data["column"] == len("dW1 = np.dot(dZ1, X.T") + 1
    assert main(["check", "ng", "--file", str(tmp_path / "missing.txt"), "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["verdict"] == "error"


def test_cli_file_with_invalid_utf8(tmp_path: Path, capsys) -> None:
    f = tmp_path / "answers.txt"
    f.write_bytes(b"dZ2 = A2 - Y\ndW1 = \xff\xfe A1\n")
    assert main(["check", "ng", "--file", str(f), "--syntax", "python"]) == 2
    captured = capsys.readouterr()
    assert f"{f}:1: correct" in captured.out
    assert f"{f}:2: unreadable: not valid UTF-8" in captured.out
    assert "Traceback" not in captured.err
    assert main(["check", "ng", "--file", str(f), "--syntax", "python", "--json"]) == 2
    records = json.loads(capsys.readouterr().out)["results"]
    assert records[1]["column"] == 7


def test_the_header_writes_a_compound_index_in_braces() -> None:
    formula = (
        r"\delta^{(l-1)} = (\delta^{(l)} * \operatorname{rot180}(K^{(l)}))_{\text{full}}"
        r" \odot f'(Z^{(l-1)})"
    )
    result = checker("cnn").check(formula)
    assert result.quantity == "δ_{l-1}"
    assert str(result).splitlines()[0] == "CORRECT: δ_{l-1}"
