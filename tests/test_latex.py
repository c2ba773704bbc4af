"""LaTeX and Markdown: golden strings for the printer, every example renders and compiles."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import sympy
from conftest import compile_tex
from sympy.matrices.expressions import MatrixSymbol, OneMatrix

from derive import Loss, dense, derive
from derive.cli import main
from derive.render.latex import DeriveLatexPrinter, index_form, latex, step_latex
from derive.spec import EXAMPLES
from derive.spec.notation import Notation, NotationError

NIELSEN = derive("nielsen")
m = sympy.Symbol("m", integer=True, positive=True)
W2 = MatrixSymbol("W_2", 3, 4)
d2 = MatrixSymbol("delta_2", 3, 5)
Wl1 = MatrixSymbol("W_{l+1}", 3, 4)


def _sigma_prime(z):
    return (
        NIELSEN.program.equations[1]
        .rhs.derivative()
        .xreplace({NIELSEN.program.equations[0].out: z})
    )


@pytest.mark.parametrize(
    ("expr", "notation", "expected"),
    [
        (W2.T * d2, {}, r"W_{2}^{T} \delta_{2}"),
        (W2.T * d2, {"index": "bracket"}, r"W^{[2]T} \delta^{[2]}"),
        (W2.T * d2, {"index": "paren", "transpose": "top"}, r"W^{(2)\top} \delta^{(2)}"),
        (W2.T * d2, {"delta": "dZ", "transpose": "intercal"}, r"W_{2}^{\intercal} dZ_{2}"),
        (Wl1.T * MatrixSymbol("delta_{l+1}", 3, 5), {}, r"W_{l+1}^{T} \delta_{l+1}"),
        ((1 / m) * d2 * MatrixSymbol("A_1", 5, 4), {}, r"\frac{1}{m} \delta_{2} A_{1}"),
        (d2 * OneMatrix(5, 1), {}, r"\delta_{2} \mathbf{1}_{5}"),
        (MatrixSymbol("b_1", 3, 1) * OneMatrix(1, m), {}, r"b_{1} \mathbf{1}_{m}^{T}"),
        (
            OneMatrix(m, 1) * MatrixSymbol("b_1", 1, 3),
            {"transpose": "top"},
            r"\mathbf{1}_{m} b_{1}",
        ),
    ],
)
def test_printer_golden(expr, notation, expected) -> None:
    assert latex(expr, Notation(**notation)) == expected


def test_activation_derivative_prints_as_prime_never_as_lambda() -> None:
    d1 = NIELSEN.delta(1)
    text = step_latex(d1)
    assert text == (
        r"\delta_{1} = \left(W_{2}^{T} \delta_{2}\right) \odot "
        r"\sigma'\left(Z_{1}\right)"
    )
    assert "mapsto" not in text and "circ" not in text


@pytest.mark.parametrize(
    ("notation", "expected"),
    [
        ({"hadamard": "circ"}, r"\circ \sigma'"),
        ({"activations": {"sigmoid": "g"}}, r"\odot g'\left(Z_{1}\right)"),
        ({"output_form": True}, None),
    ],
)
def test_notation_options_reach_the_document(notation, expected) -> None:
    doc = NIELSEN.to_latex("fragment", **notation)
    if expected:
        assert expected in doc
    else:
        assert r"A_{1} \odot \left(\mathbf{1} - A_{1}\right)" in doc


def test_index_form_is_derived_from_the_matrix_form() -> None:
    g = derive("seed").generic
    assert index_form(g.grad_w, sympy.Symbol("m")) == (
        r"\frac{\partial L}{\partial w^{(l)}_{jk}} = \frac{1}{m} \sum_{i=1}^{m} "
        r"\delta^{(l)}_{ji} a^{(l-1)}_{ki}"
    )
    assert index_form(g.grad_b, sympy.Symbol("m")) == (
        r"\frac{\partial L}{\partial b^{(l)}_{j}} = \frac{1}{m} \sum_{i=1}^{m} \delta^{(l)}_{ji}"
    )
    row = derive("cs231n").generic
    assert index_form(row.grad_w, sympy.Symbol("N")) == (
        r"\frac{\partial L}{\partial w^{(l)}_{jk}} = \sum_{i=1}^{N} a^{(l-1)}_{ij} "
        r"\delta^{(l)}_{ik}"
    )


def test_index_form_with_weight_decay() -> None:
    d = derive(
        dense(
            ["p", "q", "r", 1],
            ["tanh", "tanh", "sigmoid"],
            Loss("binary_cross_entropy", weight_decay="lambda"),
        )
    )
    line = index_form(d.generic.grad_w, d.program.batch)
    assert line.endswith(r"+ \frac{\lambda}{m} w^{(l)}_{jk}")


def test_document_sections_in_order() -> None:
    doc = NIELSEN.to_latex("tex")
    titles = re.findall(r"\\subsection\*\{(.*?)\}", doc)
    assert titles == [
        "1. Setup",
        "2. Forward pass",
        "3. Loss",
        "4. Output delta",
        "5. The delta recurrence",
        "6. Gradients",
        "7. Gradient descent",
    ]
    assert doc.startswith(r"\documentclass") and doc.rstrip().endswith(r"\end{document}")
    assert r"W_{1} & $n_{1} \times n_{0}$" in doc.replace("$W_{1}$", "W_{1}")
    assert r"\frac{\partial C}{\partial A_{2}} \odot \sigma'\left(Z_{2}\right)" in doc


def test_with_code_renders_the_exported_algorithm() -> None:
    doc = derive("ng").to_latex("tex", with_code=True)
    assert r"\begin{algorithmic}" in doc and r"\usepackage{algpseudocode}" in doc
    assert (
        r"\delta_{1} \gets \mathopen{}\left( W_{2}^{T} \, \delta_{2} \mathclose{}\right) \odot "
        r"\mathopen{}\left( 1 - A_{1}^{\circ 2} \mathclose{}\right)"
    ) in doc


@pytest.mark.parametrize("name", EXAMPLES)
@pytest.mark.parametrize("fmt", ["tex", "md", "fragment"])
def test_every_example_renders(name: str, fmt: str) -> None:
    d = derive(name)
    out = d.to_markdown() if fmt == "md" else d.to_latex(fmt)
    assert "Gradients" in out and "delta" in out.lower()


def test_jupyter_reprs() -> None:
    assert NIELSEN._repr_markdown_().startswith("# Backpropagation for nielsen")
    assert NIELSEN._repr_latex_().startswith("$$")
    assert (
        NIELSEN.delta(1)._repr_latex_() == "$\\displaystyle " + step_latex(NIELSEN.delta(1)) + "$"
    )


# --------------------------------------------------------------------------- real consumers

PDFLATEX = shutil.which("pdflatex")


@pytest.mark.skipif(
    PDFLATEX is None,
    reason="pdflatex not installed (apt-get install "
    "texlive-latex-base texlive-latex-recommended texlive-science)",
)
@pytest.mark.parametrize("name", EXAMPLES)
@pytest.mark.parametrize("options", [{}, {"index": "bracket", "delta": "dZ"}, {"with_code": True}])
def test_tex_compiles_without_errors_or_overfull_boxes(name, options, tmp_path: Path) -> None:
    d = derive(name)
    if options.get("with_code") and name == "seed":
        pytest.skip("the seed's activation is symbolic: it has no numeric code")
    with_code = options.pop("with_code", False)
    code, log = compile_tex(d.to_latex("tex", with_code=with_code, **options), tmp_path)
    assert code == 0, log[-2000:]
    assert (tmp_path / "doc.pdf").exists()
    assert "Overfull" not in log, [ln for ln in log.splitlines() if "Overfull" in ln]
    assert not re.search(r"LaTeX Warning", log), log


#: Commands KaTeX supports (https://katex.org/docs/supported.html) that we may emit.
KATEX_COMMANDS = {
    "oslash",
    "Bigl",
    "Bigr",
    "star",
    "max",
    "mathbb",
    "frac",
    "partial",
    "odot",
    "circ",
    "top",
    "intercal",
    "mathbf",
    "operatorname",
    "sigma",
    "delta",
    "alpha",
    "lambda",
    "sum",
    "lVert",
    "rVert",
    "left",
    "right",
    "begin",
    "end",
    "log",
    "tanh",
    "gets",
    "times",
    "mathrm",
    "exp",
    "sqrt",
    "cdot",
    "quad",
    "text",
    "mathopen",
    "mathclose",
    # every lowercase Greek letter a name may print as (KaTeX has them all)
    *[
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "zeta",
        "eta",
        "theta",
        "kappa",
        "lambda",
        "mu",
        "nu",
        "xi",
        "rho",
        "sigma",
        "tau",
        "upsilon",
        "phi",
        "chi",
        "psi",
        "omega",
    ],
}


def _math_blocks(md: str) -> list[str]:
    blocks = re.findall(r"\$\$(.*?)\$\$", md, flags=re.S)
    rest = re.sub(r"\$\$.*?\$\$", "", md, flags=re.S)
    return blocks + re.findall(r"\$(.+?)\$", rest)


@pytest.mark.parametrize("name", EXAMPLES)
def test_markdown_uses_only_katex_commands(name: str) -> None:
    md = derive(name).to_markdown(index="bracket")
    used = set()
    for block in _math_blocks(md):
        used |= set(re.findall(r"\\([A-Za-z]+)", block))
    assert used <= KATEX_COMMANDS, used - KATEX_COMMANDS
    assert "align*" not in md  # KaTeX wants aligned inside $$


def _katex_dir() -> Path | None:
    for base in (Path(__file__).resolve().parent.parent / ".ci-node", Path.cwd() / ".ci-node"):
        if (base / "node_modules" / "katex").exists():
            return base
    return None


@pytest.mark.skipif(
    shutil.which("node") is None or _katex_dir() is None,
    reason="KaTeX not installed (npm install --prefix .ci-node katex)",
)
@pytest.mark.parametrize("name", EXAMPLES)
def test_markdown_renders_in_katex(name: str, tmp_path: Path) -> None:
    blocks = []
    for opts in ({}, {"index": "paren", "transpose": "top", "delta": "dZ"}):
        blocks += _math_blocks(derive(name).to_markdown(**opts))
    (tmp_path / "blocks.json").write_text(json.dumps(blocks))
    script = (
        "const katex = require('katex'); const fs = require('fs');"
        "const blocks = JSON.parse(fs.readFileSync(process.argv[1], 'utf8'));"
        "for (const b of blocks) { katex.renderToString(b, {displayMode: true, "
        "throwOnError: true, strict: 'error'}); }"
        "console.log(blocks.length);"
    )
    run = subprocess.run(
        ["node", "-e", script, str(tmp_path / "blocks.json")],
        cwd=_katex_dir(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert int(run.stdout) == len(blocks) > 10


# --------------------------------------------------------------------------- CLI and errors


def test_cli_latex_writes_and_never_overwrites(tmp_path: Path, capsys) -> None:
    out = tmp_path / "nielsen.tex"
    assert main(["latex", "nielsen", "-o", str(out)]) == 0
    first = out.read_text()
    assert first.startswith(r"\documentclass")
    assert main(["latex", "nielsen", "-o", str(out), "--index", "bracket"]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert out.read_text() == first
    assert main(["latex", "nielsen", "-o", str(out), "--index", "bracket", "--force"]) == 0
    assert "W^{[1]}" in out.read_text()


def test_cli_latex_unwritable_path(tmp_path: Path, capsys) -> None:
    assert main(["latex", "ng", "-o", str(tmp_path / "no" / "such" / "dir.tex")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_unknown_notation_value(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["latex", "ng", "--index", "sideways"])
    assert info.value.code == 2


def test_toml_notation_table_and_errors(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "n.toml"
    spec.write_text(
        '[[layers]]\nactivation = "tanh"\n[notation]\nindex = "paren"\n'
        'activations = { tanh = "g" }\n'
    )
    assert main(["latex", str(spec), "--format", "fragment"]) == 0
    out = capsys.readouterr().out
    assert "W^{(1)}" in out and "g'" in out
    spec.write_text('[[layers]]\nactivation = "tanh"\n[notation]\nindex = "sideways"\n')
    assert main(["latex", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "n.toml:4: notation.index: unknown value 'sideways'" in err
    spec.write_text('[[layers]]\nactivation = "tanh"\n[notation]\ncolour = "red"\n')
    assert main(["latex", str(spec)]) == 2
    assert "unknown notation option 'colour'" in capsys.readouterr().err


def test_notation_merge_rejects_unknown_options() -> None:
    with pytest.raises(NotationError, match="unknown notation option 'size'"):
        Notation().merge(size=3)
    with pytest.raises(NotationError, match="not a simple name"):
        Notation(activations=(("sigmoid", "\\input{x}"),))


def test_printer_is_a_sympy_latex_printer() -> None:
    from sympy.printing.latex import LatexPrinter

    assert issubclass(DeriveLatexPrinter, LatexPrinter)
