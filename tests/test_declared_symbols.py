"""Declared notation: ``[notation.symbols]`` in the spec and ``derive check --symbol``.

A user states once what their names mean (``S`` is ``Z_2``, ``dout`` is ``dZ_2``, ``w`` is
``W_2ᵀ``, ``E`` is the loss) and the checker reads formulas with it, in both syntaxes and on
either side; a declaration that names nothing real is one clear SpecError.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.cli import main
from derive.formula.check import Checker
from derive.formula.parse import FormulaError
from derive.spec import SpecError, loads

#: CS231n's two-layer case study: ReLU then softmax, cross-entropy, samples as columns.
NET = """\
name = "case"
input = "n_0"

[[layers]]
width = "n_1"
activation = "relu"

[[layers]]
width = "n_2"
activation = "softmax"

[loss]
name = "cross_entropy"
"""

SYMBOLS = """
[notation.symbols]
scores = "Z_2"
hidden = "A_1"
probs = "A_2"
dscores = "dZ_2"
dout = "dZ_2"
H = "A_1"
E = "L"
w = "W_2^T"
"""


@pytest.fixture(scope="module")
def declared() -> Checker:
    return Checker(loads(NET + SYMBOLS, "case.toml"))


@pytest.fixture(scope="module")
def plain() -> Checker:
    return Checker(loads(NET, "case.toml"))


# (formula with the user's names, the same formula in derive's own names, syntax)
SAME = [
    ("dscores = probs - Y", "dZ2 = A2 - Y", "python"),  # declared names on the left
    ("dW2 = dscores @ hidden.T / m", "dW2 = dZ2 @ A1.T / m", "python"),
    ("dZ1 = w @ dout * (Z1 > 0)", "dZ1 = W2.T @ dZ2 * (Z1 > 0)", "python"),
    ("dscores = A_2 - Y", "dZ_2 = A_2 - Y", "latex"),
    (
        r"\frac{\partial E}{\partial W_2} = \frac{1}{m} dscores H^T",
        r"dW_2 = \frac{1}{m} \delta_2 A_1^T",
        "latex",
    ),
    (
        r"dW_2 = \frac{1}{m} \text{dscores} \, \text{hidden}^T",
        r"dW_2 = \frac{1}{m} \delta_2 A_1^T",
        "latex",
    ),
    (
        r"\delta_1 = (w \, dout) \odot relu'(Z_1)",
        r"\delta_1 = (W_2^T \delta_2) \odot relu'(Z_1)",
        "latex",
    ),
]


@pytest.mark.parametrize(("mine", "derives", "syntax"), SAME)
def test_declared_names_read_as_their_quantity(
    declared: Checker, plain: Checker, mine: str, derives: str, syntax: str
) -> None:
    """Each is a textbook-correct formula: right with the names declared; without them
    unreadable, or (NumPy's common names: dscores, probs, hidden) read with a note that
    says which reading was used."""
    assert plain.check(derives, syntax).correct  # the formula itself is right
    result = declared.check(mine, syntax)
    assert result.correct, result
    if syntax == "python" and any(w in mine for w in ("dscores", "probs", "hidden")):
        undeclared = plain.check(mine, syntax)
        assert undeclared.correct and any(n.startswith("read ") for n in undeclared.notes)
        return
    with pytest.raises(FormulaError):
        plain.check(mine, syntax)


@pytest.mark.parametrize(
    ("formula", "syntax"),
    [
        ("dW2 = dscores @ hidden / m", "python"),  # a transpose missing
        ("dW2 = scores @ hidden.T / m", "python"),  # S is Z_2, not the delta
        ("dZ1 = w.T @ dout * (Z1 > 0)", "python"),  # w is already W_2ᵀ
        (r"\delta_1 = (w \, dout) \odot relu(H)", "latex"),  # f for f' (relu'(H) is right:
        # A > 0 ⇔ Z > 0, tests/test_check_loose_ends.py)
        (r"dW_2 = \frac{1}{m} \delta_2 \, scores^T", "latex"),
    ],
)
def test_declared_names_never_make_a_wrong_formula_right(
    declared: Checker, formula: str, syntax: str
) -> None:
    result = declared.check(formula, syntax)
    assert not result.correct


def test_an_entry_subscript_is_not_the_declared_name(declared: Checker) -> None:
    """``w`` is declared; ``w_2`` is still derive's own (lower-case) W_2, not W_2ᵀ_2."""
    assert declared.check(r"dW_2 = \frac{1}{m} \delta_2 A_1^T", "latex").correct
    assert declared.check("dW2 = dZ2 @ A1.T / m", "python").correct


@pytest.mark.parametrize(
    ("line", "key", "words"),
    [
        ('S = "Q_2"', "notation.symbols.S", "unknown quantity"),
        ('S = "W_1 + b_1"', "notation.symbols.S", "unknown quantity"),
        ('T = "Z_1"', "notation.symbols.T", "built-in name"),
        ('dW1 = "Z_1"', "notation.symbols.dW1", "built-in name"),
        ('sigma = "A_1"', "notation.symbols.sigma", "built-in name"),
        ('S = "Z_3"', "notation.symbols.S", "no such quantity"),
        ('S = "dA_2"', "notation.symbols.S", "no such quantity"),  # the output has no dA
    ],
)
def test_a_bad_declaration_is_one_spec_error_with_file_line_and_key(
    line: str, key: str, words: str
) -> None:
    text = NET + '\n[notation.symbols]\nH = "A_1"\n' + line + "\n"
    with pytest.raises(SpecError) as err:
        loads(text, "case.toml")
    lineno = text.splitlines().index(line) + 1
    message = str(err.value)
    assert message.startswith(f"case.toml:{lineno}: {key}:"), message
    assert words in message
    assert "\n" not in message


def test_symbols_as_an_inline_table() -> None:
    net = loads(NET + '\n[notation]\nsymbols = { dout = "dZ_2", H = "A_1" }\n', "case.toml")
    assert Checker(net).check("dW2 = dout @ H.T / m", "python").correct


def test_the_spec_table_changes_no_printed_output() -> None:
    """The declaration is for reading formulas; the derivation prints as before."""
    from derive import derive

    assert (
        derive(loads(NET + SYMBOLS, "x.toml")).to_markdown()
        == derive(loads(NET, "x.toml")).to_markdown()
    )


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "case.toml"
    path.write_text(NET, encoding="utf-8")
    return path


def test_symbol_flag_reads_a_numpy_snippet(
    spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    formula = "dZ1 = w @ dout * (hidden > 0)"
    assert main(["check", str(spec_file), formula, "--syntax", "python"]) == 2
    capsys.readouterr()
    flags = ["--symbol", "w=W_2^T", "--symbol", "dout=dZ_2", "--symbol", "hidden=A_1"]
    assert main(["check", str(spec_file), formula, "--syntax", "python", *flags]) == 0
    assert capsys.readouterr().out.startswith("CORRECT: δ_1")


def test_symbol_flag_reads_latex_left_and_right(
    spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    formula = r"\frac{\partial E}{\partial W_2} = \frac{1}{m} S \, H^T"
    flags = ["--symbol", "E=L", "--symbol", "S=dZ_2", "--symbol", "H=A_1"]
    assert main(["check", str(spec_file), formula, *flags]) == 0
    assert main(["check", str(spec_file), r"S = A_2 - Y", *flags]) == 0
    # S declared as the pre-activation Z_2: the same gradient is then wrong
    assert (
        main(["check", str(spec_file), "dW_2 = S H^T", "--symbol", "S=Z_2", "--symbol", "H=A_1"])
        == 1
    )


@pytest.mark.parametrize(
    ("flag", "words"),
    [
        ("S", "write NAME=QUANTITY"),
        ("S=foo", "unknown quantity"),
        ("m=Z_1", "built-in name"),
        ("S=Z_7", "no such quantity"),
    ],
)
def test_symbol_flag_errors_are_one_line_exit_2(
    spec_file: Path, capsys: pytest.CaptureFixture[str], flag: str, words: str
) -> None:
    assert main(["check", str(spec_file), "dW2 = S", "--syntax", "python", "--symbol", flag]) == 2
    err = capsys.readouterr().err
    assert err.startswith("derive: error: --symbol "), err
    assert words in err
    assert err.count("\n") == 1


#: Corpus specs whose [notation.symbols] table states the sources' own names.
DECLARING = (
    "tests/corpus/specs/jcj_relu_sse.toml",
    "tests/corpus/specs/kvfrans_relu_mse.toml",
    "tests/corpus/specs/raschka_ch12.toml",
)


def test_corpus_entries_with_declared_names_are_read_and_right() -> None:
    """The real snippets of these sources (``grad_w2 = h_relu.T.dot(grad_y_pred)``,
    ``d_W2 = d_h4 @ h3.T``) read with their declared names, every verdict the label's."""
    from test_corpus_file import ENTRIES, load

    read = 0
    checkers = {name: Checker(load(name)) for name in DECLARING}
    for _file, entry in ENTRIES:
        if entry["network"] not in DECLARING:
            continue
        try:
            result = checkers[entry["network"]].check(entry["text"], entry["syntax"])
        except FormulaError:
            continue
        read += 1
        assert result.verdict == entry["verdict"], (entry["id"], str(result))
    assert read >= 10
