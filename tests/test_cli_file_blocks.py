"""``derive check --file``: a file of formulas read block by block (``file_blocks``): a
multi-line NumPy snippet (a loop, brackets over lines, lines tied by a name of the
user's own) is one block, a LaTeX line is one, and a line of the network's own names is
one, each reported with its line range. Before, every line was checked alone, so a
snippet over several lines was unreadable line by line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from derive.cli import main
from derive.formula.file_blocks import blocks

sys.path.insert(0, str(Path(__file__).parent))
from test_corpus_file import ENTRIES  # noqa: E402

ROOT = Path(__file__).parent.parent


def _entry(entry_id: str) -> dict[str, object]:
    return next(e for _, e in ENTRIES if e["id"] == entry_id)


def test_a_real_snippet_over_several_lines_is_one_block(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # lightaime's conv backward (issues_more.toml): a for loop whose body's brackets span
    # two lines, then a line reading what the loop built (dx_pad)
    conv = _entry("lightaime-conv-backward-dx")
    assert str(conv["text"]).count("\n") == 3
    spec = ROOT / str(conv["network"])
    f = tmp_path / "snippets.py"
    f.write_text("# conv backward\n" + str(conv["text"]) + "\n", "utf-8")
    assert main(["check", str(spec), "--file", str(f)]) == 0
    out = capsys.readouterr().out
    assert f"{f}:2-5: correct" in out
    assert "1 formulas: 1 correct, 0 incorrect, 0 unreadable" in out


def test_blocks_in_one_file_latex_and_numpy_each_with_its_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dscores = str(_entry("cs231n-notes-case-dscores")["text"])
    f = tmp_path / "answers.txt"
    f.write_text(
        "dW2 = np.dot(hidden_layer.T, dscores)\n"  # a line of its own (reads dscores, but
        # no line above assigns it)
        "\n"
        + dscores
        + "\n"
        + "\\delta_1 = (\\delta_2 W_2^T) \\odot relu'(Z_1)\n"
        + "dW_2 = A_1^T \\delta_2 + 1\n",
        "utf-8",
    )
    assert main(["check", "cs231n", "--file", str(f), "--json"]) == 1
    records = json.loads(capsys.readouterr().out)["results"]
    assert [(r["line"], r.get("last_line"), r["verdict"]) for r in records] == [
        (1, None, "correct"),
        (3, 5, "correct"),
        (6, None, "correct"),
        (7, None, "incorrect"),
    ]
    # --syntax python: the LaTeX lines are read as NumPy (unreadable), the snippet still one
    assert main(["check", "cs231n", "--file", str(f), "--syntax", "python"]) == 2
    out = capsys.readouterr().out
    assert f"{f}:3-5: correct" in out and f"{f}:6: unreadable" in out


def test_network_names_stay_one_a_line_and_brackets_indent_join() -> None:
    text = (
        "dZ2 = A2 - Y\n"
        "dW2 = np.dot(dZ2, A1.T)\n"  # reads dZ2: the network's name, read alone
        "dW1 = np.dot(\n"
        "    dZ1,\n"
        "\n"
        "    X.T) / m\n"
        "def backward(dout, cache):\n"
        "    x = cache\n"
        "\n"
        "    return dout * (x > 0)\n"
        "h = a \\\n"
        "    + b\n"
        "errors = predictions - labels\n"
        "grad = np.mean(errors)\n"
    )
    assert [(b.first, b.last) for b in blocks(text)] == [
        (1, 1),
        (2, 2),
        (3, 6),
        (7, 10),
        (11, 12),
        (13, 14),
    ]
    assert blocks("    u = 1\n    v = u\n")[0].text == "u = 1\nv = u"  # dedented
    # --syntax latex: a formula a line, as before
    assert [(b.first, b.last) for b in blocks(text, "latex")][:3] == [(1, 1), (2, 2), (3, 3)]


def test_a_page_of_latex_over_a_program_names_its_results_for_the_formulas_after(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Goubasarian's attention post (layers/attention.toml): each equation names its result
    # (∂L/∂V = Bᵀ ∂L/∂C = ζ_1) and the formulas below use ζ_1 … ζ_7. In one --file, each
    # formula is judged with the ones above it as its page: the labels' verdicts, and the
    # same formula alone (no page) cannot be read, since ζ_1 is nobody's name.
    sys.path.insert(0, str(Path(__file__).parent))
    from test_corpus_file import LAYER_ENTRIES

    page = [e for _, e in LAYER_ENTRIES if str(e["id"]).startswith("attn-goubasarian-")]
    assert len(page) == 9
    program = ROOT / str(page[0]["network"])
    f = tmp_path / "page.tex"
    f.write_text("\n".join(str(e["text"]).replace("\n", " ") for e in page) + "\n", "utf-8")
    assert main(["check", str(program), "--file", str(f), "--json"]) == 1
    results = json.loads(capsys.readouterr().out)["results"]
    assert [r["verdict"] for r in results] == [e["verdict"] for e in page]
    assert [r["line"] for r in results] == list(range(1, 10))
    assert main(["check", str(program), str(page[1]["text"])]) == 2


def test_a_long_page_reads_each_earlier_formula_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # made up: a page of n equations naming a result (… = x_k = y_k), each formula read with
    # all those above it as its page: their sides were parsed again for every later
    # formula, n² parses (a page of 100 took 20 s; the limit is 2 s a formula)
    from derive.formula import program_latex_names

    parsed: list[str] = []
    read_side = program_latex_names.read_side

    def counted(text: str, words: tuple[str, ...] = ()) -> object:
        parsed.append(text)
        return read_side(text, words)

    monkeypatch.setattr(program_latex_names, "read_side", counted)
    n = 30
    f = tmp_path / "page.tex"
    lines = [rf"\frac{{\partial L}}{{\partial h_t}} = x_{{{k}}} = q_{{{k}}}" for k in range(n)]
    f.write_text("\n".join(lines) + "\n", "utf-8")
    program = ROOT / "tests" / "corpus" / "specs" / "programs" / "rnn_d2l.toml"
    main(["check", str(program), "--file", str(f)])
    assert f"{n} formulas" in capsys.readouterr().out
    assert len(parsed) <= 2 * n, len(parsed)
