"""Hostile specs and names: every one is a clean error or a correct result, never a
traceback, an injected LaTeX command or a module that overwrites its own variables."""

from __future__ import annotations

import ast
import builtins
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BACKEND_PARAMS, compile_tex
from hostile import CLASH_NAMES, mutate, to_toml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derive import Activation, Layer, Loss, Network, SpecError, derive, loads
from derive.cli import main
from derive.export import to_source
from derive.spec.notation import Notation, NotationError


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``derive ARGS`` in-process; a traceback fails the test by propagating."""
    rc = main(args)
    return rc, capsys.readouterr().err


def assert_clean_error(rc: int, err: str) -> None:
    assert rc == 2, err
    assert err.startswith("derive: error: "), err
    assert "Traceback" not in err


def spec_text(**fields: str) -> str:
    """A small dense spec with some values replaced (TOML fragments)."""
    f = {
        "name": '"t"',
        "input": '"n_0"',
        "width": '"n_1"',
        "activation": '"tanh"',
        "loss": "",
        "notation": "",
        **fields,
    }
    return (
        f"name = {f['name']}\ninput = {f['input']}\n\n[[layers]]\nwidth = {f['width']}\n"
        f'activation = {f["activation"]}\n\n[[layers]]\nwidth = 3\nactivation = "identity"\n\n'
        f'[loss]\nname = "squared_error"\n{f["loss"]}\n{f["notation"]}\n'
    )


def custom(expr: str, extra: str = "") -> str:
    return '{ name = "custom", expr = "' + expr + '"' + extra + " }"


# --------------------------------------------------------------------------- issue 11

#: (label, TOML fields, key in the message, phrase): each crashed or was accepted before.
BAD = [
    ("symbol int", {"activation": '{ name = "symbolic", symbol = 5 }'}, "symbol", "symbol"),
    ("expr int", {"activation": '{ name = "custom", expr = 5 }'}, "expr", "string"),
    ("index list", {"notation": "[notation]\nindex = [1]"}, "notation.index", "unknown"),
    ("huge exponent", {"activation": custom("x*1e5000")}, "expr", "exponent"),
    ("tiny exponent", {"activation": custom("x*1e-999999")}, "expr", "exponent"),
    ("4400 digits", {"activation": custom("x*" + "7" * 4400)}, "expr", "characters long"),
    ("40 digits", {"activation": custom("x*" + "7" * 40)}, "expr", "digits"),
    ("150 exp", {"activation": custom("exp(" * 150 + "x" + ")" * 150)}, "expr", "long"),
    ("30 exp", {"activation": custom("exp(" * 30 + "x" + ")" * 30)}, "expr", "nests"),
    ("500 plus", {"activation": custom("x" + "+x" * 500)}, "expr", "long"),
    ("500 minus", {"activation": custom("-" * 500 + "x")}, "expr", "long"),
    ("tower 150", {"activation": custom("x" + "^x" * 150)}, "expr", "long"),
    ("tower 40", {"activation": custom("x" + "^x" * 40)}, "expr", "nests"),
    ("division by 0", {"activation": custom("x/0")}, "expr", "not a real function"),
    ("weight decay nan", {"loss": "weight_decay = nan"}, "weight_decay", "finite"),
    ("weight decay inf", {"loss": "weight_decay = -inf"}, "weight_decay", "finite"),
    ("slope list", {"activation": custom("slope*x", ", slope = [1]")}, "slope", "list"),
    ("slope nan", {"activation": '{ name = "leaky_relu", slope = nan }'}, "slope", "finite"),
    ("alpha inf", {"activation": '{ name = "elu", alpha = inf }'}, "alpha", "finite"),
    ("width newline", {"width": '"n_1\\n"'}, "width", "valid symbol name"),
    ("symbol newline", {"activation": '{ name = "symbolic", symbol = "g\\n" }'}, "symbol", "valid"),
    ("name table", {"name": "{}"}, "name", "string"),
    ("name newline", {"name": '"a\\nb"'}, "name", "line break"),
    ("huge int", {"input": "1" * 5000}, "", "out of range"),
]


@pytest.mark.parametrize(("label", "fields", "key", "phrase"), BAD, ids=[b[0] for b in BAD])
def test_bad_values_are_one_clean_spec_error(label, fields, key, phrase, tmp_path, capsys) -> None:
    path = tmp_path / "s.toml"
    path.write_text(spec_text(**fields))
    with pytest.raises(SpecError) as info:
        loads(path.read_text(), source="s.toml")
    assert key in info.value.key
    assert phrase in info.value.problem
    rc, err = run_cli(["show", str(path)], capsys)
    assert_clean_error(rc, err)
    assert str(path) in err.splitlines()[0]


def test_a_layer_type_that_is_a_table_is_an_error() -> None:
    text = spec_text().replace('[[layers]]\nwidth = "n_1"', '[[layers]]\ntype = {}\nwidth = "n_1"')
    with pytest.raises(SpecError, match="unknown layer type") as info:
        loads(text, source="s.toml")
    assert info.value.key == "layers[1].type" and info.value.line == 5


def test_a_parameter_is_checked_before_it_is_used() -> None:
    with pytest.raises(SpecError, match="expected a number or a symbol name"):
        Activation("custom", params=(("slope", [1]),), expr="slope * x")  # type: ignore[arg-type]


@given(
    st.from_regex(r"[0-9]{1,12}(\.[0-9]{0,12})?([eE][-+]?[0-9]{1,2})?", fullmatch=True)
    | st.from_regex(r"\.[0-9]{1,12}([eE][-+]?[0-9]{1,2})?", fullmatch=True)
)
@settings(max_examples=60, deadline=None)
def test_numbers_are_exact_rationals(text: str) -> None:
    from fractions import Fraction

    from derive.spec.scalar_expr import parse_number

    value = parse_number(text)
    expected = Fraction(text)  # the standard library's decimal reading, an independent oracle
    assert (value.p, value.q) == (expected.numerator, expected.denominator)


# --------------------------------------------------------------------------- spec files


def test_a_device_is_refused_without_reading_it(capsys) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    rc, err = run_cli(["show", "/dev/zero"], capsys)
    assert_clean_error(rc, err)
    assert "not a regular file" in err


def test_a_spec_file_is_read_up_to_a_cap(tmp_path, capsys) -> None:
    path = tmp_path / "big.toml"
    path.write_text(spec_text() + "#" * (1 << 20))
    rc, err = run_cli(["show", str(path)], capsys)
    assert_clean_error(rc, err)
    assert "larger than" in err


def test_a_spec_that_is_not_utf8_is_a_clean_error(tmp_path, capsys) -> None:
    path = tmp_path / "latin.toml"
    path.write_bytes(spec_text(name='"caf\xe9"').encode("latin-1"))
    rc, err = run_cli(["show", str(path)], capsys)
    assert_clean_error(rc, err)
    assert "not UTF-8" in err


@pytest.mark.parametrize("path", ["a" * 300 + ".toml", "x\x00y.toml", "\ud800.toml"])
def test_unusable_spec_paths_are_clean_errors(path: str, capsys) -> None:
    rc, err = run_cli(["show", path], capsys)
    assert_clean_error(rc, err)
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("name", ["a" * 300 + ".tex", "x\x00y.tex", "\ud800.tex"])
def test_unusable_output_paths_are_clean_errors(name: str, tmp_path, capsys) -> None:
    rc, err = run_cli(["latex", "nielsen", "-o", str(tmp_path / name)], capsys)
    assert_clean_error(rc, err)
    assert len(err.splitlines()) == 1


def test_a_non_utf8_output_name_from_the_shell_is_written(tmp_path) -> None:
    """A name the shell passes as bytes (surrogate-escaped) is a valid file name."""
    name = os.fsdecode(b"r\xe9sultat.tex")
    run = subprocess.run(
        [sys.executable, "-m", "derive", "latex", "nielsen", "-o", name],
        cwd=tmp_path,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert (tmp_path / os.fsdecode(b"r\xe9sultat.tex")).exists()
    assert b"Traceback" not in run.stderr


# --------------------------------------------------------------------------- issue 10: notation


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('delta = "dZ"', 'delta-symbol = "dZ"'),
        ('delta = "dZ"', 'delta_symbol = "dZ"'),
        ('activations = { tanh = "g" }', 'activation-name = { tanh = "g" }'),
        ('activations = { tanh = "g" }', 'activation_name = { tanh = "g" }'),
        ("output_form = true", "output-form = true"),
    ],
)
def test_notation_keys_are_spelled_like_the_cli_flags(old: str, new: str) -> None:
    a = loads(spec_text(notation=f"[notation]\n{old}"))
    b = loads(spec_text(notation=f"[notation]\n{new}"))
    assert a.notation == b.notation != Notation()


def test_both_spellings_of_one_option_are_an_error() -> None:
    with pytest.raises(SpecError, match="same option") as info:
        loads(spec_text(notation='[notation]\ndelta = "dZ"\ndelta-symbol = "delta"'), "n.toml")
    assert info.value.line is not None


@pytest.mark.parametrize(
    "tex",
    ["g", r"\sigma", r"\varphi", r"\tanh", r"\operatorname{act}", r"\mathrm{relu}", "g'", "g_1"],
)
def test_notation_allows_plain_math_names(tex: str) -> None:
    assert Notation(activations=(("tanh", tex),)).activation_tex("tanh", "") == tex


@pytest.mark.parametrize(
    "tex",
    [r"\input", r"\write", r"\end", r"\input{/etc/hostname}", r"\csname", "g}", "a b", "g\n"],
)
def test_notation_refuses_other_commands(tex: str) -> None:
    with pytest.raises(NotationError, match="not a simple name"):
        Notation(activations=(("tanh", tex),))


def test_cli_activation_name_must_be_used_and_safe(capsys) -> None:
    rc, err = run_cli(["latex", "cs231n", "--activation-name", "sigmoid=g"], capsys)
    assert_clean_error(rc, err)
    assert "uses no activation 'sigmoid'" in err and "relu" in err
    rc, err = run_cli(["latex", "ng", "--activation-name", "tanh=\\input{/etc/hostname}"], capsys)
    assert_clean_error(rc, err)
    assert main(["latex", "ng", "--format", "fragment", "--activation-name", "tanh=g"]) == 0
    assert "g'" in capsys.readouterr().out


def test_toml_notation_for_an_unused_activation_is_an_error() -> None:
    text = spec_text(notation='[notation]\nactivations = { sigmoid = "g" }')
    with pytest.raises(SpecError, match="uses no activation 'sigmoid'") as info:
        loads(text, "n.toml")
    assert info.value.line == text.splitlines().index('activations = { sigmoid = "g" }') + 1


# --------------------------------------------------------------------------- LaTeX text


HOSTILE_TITLES = [
    r"\input{/etc/hostname}",
    r"\write18{touch pwned}",
    r"\end{document}",
    r"}{\def\x{1}",
    "~^$%&#_ text",
    r"a\\b",
]


#: How LaTeX typesets each escape as a character (the reading the test checks against).
TEXT_ESCAPES = {
    r"\textbackslash{}": "\\",
    r"\textasciitilde{}": "~",
    r"\textasciicircum{}": "^",
    **{"\\" + c: c for c in "{}#$%&_"},
}


def read_tex_text(tex: str) -> str:
    """Decode LaTeX text that may hold only the escapes above; fail on anything else."""
    out, i = [], 0
    while i < len(tex):
        esc = next((e for e in TEXT_ESCAPES if tex.startswith(e, i)), None)
        if esc:
            out.append(TEXT_ESCAPES[esc])
            i += len(esc)
            continue
        assert tex[i] not in "\\{}~^#$%&_", f"unescaped {tex[i]!r} at {i} in {tex!r}"
        out.append(tex[i])
        i += 1
    return "".join(out)


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_spec_names_are_escaped_in_latex(title: str) -> None:
    net = Network(4, (Layer(3, "sigmoid"),), name=title)
    doc = derive(net).to_latex("tex")
    (line,) = [ln for ln in doc.splitlines() if ln.startswith(r"\section*")]
    assert line.startswith(r"\section*{Backpropagation for ") and line.endswith("}")
    assert read_tex_text(line[len(r"\section*{Backpropagation for ") : -1]) == title


PDFLATEX = shutil.which("pdflatex")


@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex not installed (apt-get install texlive)")
def test_hostile_names_compile_as_text(tmp_path: Path) -> None:
    title = " ".join(HOSTILE_TITLES)
    net = Network(4, (Layer(3, "sigmoid"),), name=title)
    code, log = compile_tex(derive(net).to_latex("tex"), tmp_path, "-no-shell-escape")
    assert code == 0, log[-2000:]
    assert "/etc/hostname" not in log.replace(title, "")  # no "(/etc/hostname" file opened
    assert not (tmp_path / "pwned").exists()
    pdftotext = shutil.which("pdftotext")
    if pdftotext:
        text = subprocess.run(
            [pdftotext, "doc.pdf", "-"], cwd=tmp_path, capture_output=True, text=True, check=True
        ).stdout
        assert r"\input{/etc/hostname}" in text


# --------------------------------------------------------------------------- exported modules

GENERATED = ["X", "Y", "L", "m", "W1", "W2", "b1", "b2", "Z1", "A2", "delta1", "dW1", "db2"]
NAMES = st.sampled_from(sorted(set(CLASH_NAMES + GENERATED))) | st.from_regex(
    r"[A-Za-z][A-Za-z0-9]{0,3}(_[A-Za-z0-9]{1,2})?", fullmatch=True
)


def slots(n: int) -> st.SearchStrategy[list[str]]:
    """``n`` names: plain ones (``q_0``, ``q_1``, …) with one or two slots hostile."""

    def fill(picks: list[tuple[int, str]]) -> list[str]:
        names = [f"q_{i}" for i in range(n)]
        for i, name in picks:
            names[i] = name
        return names

    return st.lists(st.tuples(st.integers(0, n - 1), NAMES), min_size=1, max_size=2).map(fill)


def _functions(tree: ast.Module) -> list[ast.FunctionDef]:
    return [n for n in tree.body if isinstance(n, ast.FunctionDef)]


def check_module(source: str, title: str) -> None:
    """Parse the module; no function assigns a name twice, over one of its arguments, over
    a module-level name or a builtin; the docstring carries the spec name verbatim."""
    tree = ast.parse(source)
    assert repr(title) in (ast.get_docstring(tree) or "")
    top = {
        a.asname or a.name.split(".")[0]
        for n in tree.body
        if isinstance(n, ast.Import)
        for a in n.names
    }
    top |= {f.name for f in _functions(tree)}
    top |= {
        t.id
        for n in tree.body
        if isinstance(n, ast.Assign)
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    for fn in _functions(tree):
        if fn.name.startswith("_") and fn.name != "_backprop":
            continue  # the fixed helpers (_check_shapes, _softmax, conv helpers)
        args = [a.arg for a in (*fn.args.args, *fn.args.kwonlyargs)]
        assert len(args) == len(set(args)), (fn.name, args)
        assigned = [
            t.id
            for n in fn.body
            if isinstance(n, ast.Assign)
            for t in n.targets
            if isinstance(t, ast.Name)
        ]
        assert len(assigned) == len(set(assigned)), (fn.name, assigned)
        for name in [*args, *assigned]:
            assert name not in top, (fn.name, name)
            assert not hasattr(builtins, name), (fn.name, name)
        assert not set(args) & set(assigned), (fn.name, set(args) & set(assigned))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    names=slots(6),
    title=st.text(max_size=20) | st.sampled_from(['"""', 'x"""; import os #', "\\", "'\""]),
)
def test_hostile_names_never_break_or_shadow_exported_modules(names: list[str], title: str) -> None:
    n0, n1, batch, slope, decay, symbol = names
    try:
        net = Network(
            n0,
            (
                Layer(n1, Activation("leaky_relu", params=(("slope", slope),))),
                Layer(2, Activation("custom", expr="x / (1 + abs(x))", symbol=symbol)),
            ),
            loss=Loss("squared_error", weight_decay=decay),
            batch=batch,
            name=title,
        )
    except SpecError as err:
        assert err.key and err.problem
        return
    d = derive(net)
    for backend in ("numpy", "jax", "torch"):
        check_module(to_source(d, backend), title)


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names=slots(5))
def test_hostile_image_sizes_never_shadow_exported_modules(names: list[str], backend: str) -> None:
    from derive import Conv2d, Flatten

    c, h, channels, kernel, batch = names
    try:
        net = Network(
            (c, h, 6),
            (Conv2d(channels, kernel, activation="relu"), Flatten(), Layer(2, "identity")),
            batch=batch,
        )
    except SpecError as err:
        assert err.key and err.problem
        return
    d = derive(net)
    # a CNN module's conv helpers come from derive.convops_<backend>, which imports the
    # backend's library: jax and torch are marked, so they skip where it is missing
    check_module(to_source(d, backend), net.name)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("input", "b2"),
        ("slope", "L"),
        ("input", "None"),
        ("input", "def"),
        ("input", "X"),
        ("input", "W1"),
        ("input", "numpy"),
        ("slope", "lam"),
        ("input", "W_1"),
        ("symbol", "print"),
    ],
)
def test_names_the_module_uses_are_refused(field: str, value: str) -> None:
    """``input = "b2"`` used to overwrite the bias b2 with X.shape[0]: wrong gradients."""
    from derive.spec import name_clash

    assert name_clash(value)
    kwargs = {"input_width": 3, "slope": 0.1, "symbol": "g"} | {
        {"input": "input_width"}.get(field, field): value
    }
    with pytest.raises(SpecError, match="reserved"):
        Network(
            kwargs["input_width"],
            (
                Layer(4, Activation("leaky_relu", params=(("slope", kwargs["slope"]),))),
                Layer(2, Activation("custom", expr="x", symbol=kwargs["symbol"])),
            ),
        )


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"input": '"n1"'}, "layers[1].width"),
        ({"activation": '{ name = "leaky_relu", slope = "n_1" }'}, "layers[1].activation.slope"),
        ({"activation": '{ name = "symbolic", symbol = "n_0" }'}, "layers[1].activation.symbol"),
    ],
)
def test_one_name_one_symbol(fields: dict[str, str], key: str) -> None:
    """``n_1`` and ``n1`` are one identifier in code; a size cannot be a parameter too."""
    with pytest.raises(SpecError) as info:
        loads(spec_text(**fields), "s.toml")
    assert info.value.key == key


@given(st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,5}(_[A-Za-z0-9]{1,3})?", fullmatch=True))
@settings(max_examples=50, deadline=None)
def test_the_reserved_rule_sees_names_as_the_export_writes_them(name: str) -> None:
    from derive.export import code_name
    from derive.spec import code_ident

    assert code_ident(name) == code_name(name)


def test_a_name_with_triple_quotes_stays_in_the_docstring() -> None:
    title = 'x"""\nimport os\n"""'
    net = Network(3, (Layer(2, "sigmoid"),))
    with pytest.raises(SpecError, match="line break"):
        net.with_(name=title)
    title = 'x"""; import os; """'
    src = to_source(net.with_(name=title))
    tree = ast.parse(src)
    assert not [n for n in tree.body if isinstance(n, ast.Import) and n.names[0].name == "os"]
    check_module(src, title)


# --------------------------------------------------------------------------- the fuzz


def _fuzz_one(rnd: random.Random, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_text(to_toml(mutate(rnd)), "utf-8")
    rc = main(["show", str(path)])
    err = capsys.readouterr().err
    if rc == 0:
        assert err == ""
    else:
        assert_clean_error(rc, err)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rnd=st.randoms(use_true_random=False))
def test_mutated_specs_are_shown_or_refused_cleanly(rnd, tmp_path, capsys) -> None:
    _fuzz_one(rnd, tmp_path, capsys)


@pytest.mark.slow
@settings(
    max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rnd=st.randoms(use_true_random=False))
def test_mutated_specs_long(rnd, tmp_path, capsys) -> None:
    _fuzz_one(rnd, tmp_path, capsys)
