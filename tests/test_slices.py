"""Slices, concatenation and several upstream gradients in forward programs (an LSTM step).

The three-way truths of ``Slice`` and ``Concat`` as primitives are in test_primitives.py;
here: the grammar (``a[:, H:2*H]``, ``np.hstack((…))``, ``np.concatenate([…], axis=1)``),
sizes such as ``4*H`` in a shape, slice bounds checked with the line, a ``[backward]``
given two upstream gradients (``dnext_h``, ``dnext_c``), the LSTM step derived and verified
three ways, and real backward snippets of it checked.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import sympy
from sympy.matrices.expressions import MatrixSymbol, ZeroMatrix

from derive.cli import main
from derive.core.nodes import Concat, ShapeMismatch, Slice, add
from derive.formula.program_check import check_program
from derive.programs import derive_program
from derive.spec.program_grammar import Call, EquationError, SliceOf, parse_assign

PROGRAMS = Path(__file__).parent / "corpus" / "specs" / "programs"

LSTM = """\
name = "lstm_step"
convention = "row"

[inputs]
x = ["N", "D"]
prev_h = ["N", "H"]
prev_c = ["N", "H"]

[parameters]
Wx = ["D", "4*H"]
Wh = ["H", "4*H"]
b = [1, "4*H"]

[forward]
equations = \"\"\"
a = x @ Wx + prev_h @ Wh + b
i = sigmoid(a[:, :H])
f = sigmoid(a[:, H:2*H])
o = sigmoid(a[:, 2*H:3*H])
g = tanh(a[:, 3*H:])
next_c = f * prev_c + i * g
next_h = o * tanh(next_c)
\"\"\"

[backward]
upstream = ["dnext_h", "dnext_c"]
output = ["next_h", "next_c"]
"""


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "p.toml"
    path.write_text(text)
    return str(path)


# --------------------------------------------------------------------------- grammar


def test_slices_read_with_their_axis_and_bounds() -> None:
    cols = parse_assign("f = a[:, H:2*H]").expr
    assert isinstance(cols, SliceOf) and cols.axis == 1
    assert cols.start is not None and cols.stop is not None
    head = parse_assign("i = a[:, :H]").expr
    assert isinstance(head, SliceOf) and head.start is None and head.axis == 1
    rows = parse_assign("r = a[1:3, :]").expr
    assert isinstance(rows, SliceOf) and rows.axis == 0
    tail = parse_assign("r = a[2:]").expr
    assert isinstance(tail, SliceOf) and tail.axis == 0 and tail.stop is None


@pytest.mark.parametrize(
    ("text", "axis", "parts"),
    [
        ("d = np.hstack((u, v, w))", 1, 3),
        ("d = np.vstack((u, v))", 0, 2),
        ("d = np.concatenate((u, v), axis=1)", 1, 2),
        ("d = np.concatenate([u, v], axis=1)", 1, 2),
        ("d = np.concatenate((u, v))", 0, 2),  # NumPy's default axis 0
    ],
)
def test_joins_read_as_one_concatenation(text: str, axis: int, parts: int) -> None:
    expr = parse_assign(text).expr
    assert isinstance(expr, Call) and expr.fn == "concat"
    assert expr.axis == axis and len(expr.args) == parts


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("d = np.hstack(u, v)", "one tuple or list"),
        ("d = np.hstack((u, v), axis=1)", "no argument axis="),
        ("d = a[1:2, 0:3]", "rows and columns at once"),
        ("d = a[:, 1:2, 0]", "a slice is read as"),
        ("d = a[:, 1:2] + [u, v]", "a list is read only"),
    ],
)
def test_malformed_slices_and_joins_are_one_clear_error(text: str, words: str) -> None:
    with pytest.raises(EquationError, match=words):
        parse_assign(text)


# --------------------------------------------------------------------------- nodes


def test_a_slice_of_a_concatenation_is_the_part_and_zeros_stay_zeros() -> None:
    H = sympy.Symbol("H", integer=True, positive=True)
    u, v = MatrixSymbol("u", 3, H), MatrixSymbol("v", 3, 2 * H)
    joined = Concat(1, u, v)
    assert joined.shape == (3, 3 * H)
    assert Slice(joined, H, 3 * H, 1) == v
    assert Slice(joined, 0, H, 1) == u
    assert Slice(u, 0, H, 1) == u
    assert Slice(ZeroMatrix(3, 4 * H), H, 2 * H, 1) == ZeroMatrix(3, H)


def test_padded_cotangents_add_back_into_one_concatenation() -> None:
    """The four gates' cotangents, each padded with zeros, sum to one [di | df | do | dg]."""
    H = sympy.Symbol("H", integer=True, positive=True)
    gates = [MatrixSymbol(n, 3, H) for n in ("di", "df", "do", "dg")]
    z = ZeroMatrix(3, H)
    padded = [Concat(1, *[g if k == j else z for k in range(4)]) for j, g in enumerate(gates)]
    padded[0] = Concat(1, gates[0], ZeroMatrix(3, 3 * H))  # blocks of other widths too
    total = add(padded)
    assert isinstance(total, Concat)
    assert total.parts == tuple(gates)


@pytest.mark.parametrize(
    ("start", "stop", "words"),
    [(2, 6, "runs past the 4 columns"), (3, 1, "empty or runs backwards"), (2, 2, "empty")],
)
def test_a_slice_outside_the_width_is_refused(start: int, stop: int, words: str) -> None:
    with pytest.raises(ShapeMismatch, match=words):
        Slice(MatrixSymbol("X", 3, 4), start, stop, 1)


def test_joined_matrices_must_agree_across_the_axis() -> None:
    with pytest.raises(ShapeMismatch, match="different rows"):
        Concat(1, MatrixSymbol("u", 3, 2), MatrixSymbol("v", 4, 2))


# --------------------------------------------------------------------------- programs


def test_the_lstm_step_is_derived_with_both_upstream_gradients(tmp_path: Path) -> None:
    d = derive_program(_write(tmp_path, LSTM))
    g = d.graph
    assert g.upstream.name == "dnext_h"
    assert [u.name for u in g.more_upstream.values()] == ["dnext_c"]
    # next_c's cotangent is the given dnext_c plus the path through next_h (the highway)
    total = next(st for st in d.cotangents if st.lhs.name == "dnext_c_total")
    assert MatrixSymbol("dnext_c", *g.upstream.shape) in total.rhs.free_symbols
    # da is one concatenation of the four gate blocks, not four padded sums
    da = next(st for st in d.cotangents if st.lhs.name == "da")
    assert isinstance(da.rhs, Concat) and len(da.rhs.parts) == 4


def test_the_lstm_step_verifies_three_ways(tmp_path: Path) -> None:
    """Closed form vs the exported NumPy code vs finite differences of the exported forward
    (Σ dnext_h ⊙ next_h + Σ dnext_c ⊙ next_c) vs SymPy on every entry."""
    report = derive_program(_write(tmp_path, LSTM)).verify()
    assert report.passed


def test_the_lstm_step_matches_a_hand_written_numpy_backward(tmp_path: Path) -> None:
    """CS231n's step backward, written out here independently of derive."""
    grads = derive_program(_write(tmp_path, LSTM)).to_function()
    rng = np.random.default_rng(1)
    N, D, H = 3, 4, 2
    x, ph, pc = rng.normal(size=(N, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    Wx, Wh, b = (
        rng.normal(size=(D, 4 * H)),
        rng.normal(size=(H, 4 * H)),
        rng.normal(size=(1, 4 * H)),
    )
    dh, dc = rng.normal(size=(N, H)), rng.normal(size=(N, H))
    out = grads(x, ph, pc, Wx, Wh, b, dh, dc)

    def sig(v: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-v))

    a = x @ Wx + ph @ Wh + b
    i, f, o, g = (
        sig(a[:, :H]),
        sig(a[:, H : 2 * H]),
        sig(a[:, 2 * H : 3 * H]),
        np.tanh(a[:, 3 * H :]),
    )
    c = f * pc + i * g
    dct = dc + dh * o * (1 - np.tanh(c) ** 2)
    da = np.hstack(
        (
            dct * g * i * (1 - i),
            dct * pc * f * (1 - f),
            dh * np.tanh(c) * o * (1 - o),
            dct * i * (1 - g**2),
        )
    )
    np.testing.assert_allclose(out["prev_c"], dct * f, rtol=1e-12)
    np.testing.assert_allclose(out["Wx"], x.T @ da, rtol=1e-12)
    np.testing.assert_allclose(out["prev_h"], da @ Wh.T, rtol=1e-12)
    np.testing.assert_allclose(out["b"], da.sum(axis=0, keepdims=True), rtol=1e-12)


def test_show_names_both_upstream_gradients(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", _write(tmp_path, LSTM)]) == 0
    out = capsys.readouterr().out
    assert "upstream gradient: dnext_c = ∂L/∂next_c" in out
    assert "a[:, H:2H]" in out


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            ("f = sigmoid(a[:, H:2*H])", "f = sigmoid(a[:, H:5*H])"),
            r"p\.toml:18: .*H:5\*H of columns runs past the 4\*H columns",
        ),
        (
            ('output = ["next_h", "next_c"]', 'output = ["next_h"]'),
            "2 upstream gradients need as many",
        ),
        (('["dnext_h", "dnext_c"]', '["dnext_h", "dnext_h"]'), "clashes"),
        (("a = x @ Wx", "a = dnext_c + x @ Wx"), "the forward equations cannot use it"),
        (('Wh = ["H", "4*H"]', 'Wh = ["H", "999*H"]'), "factor must be between"),
    ],
)
def test_bad_lstm_programs_are_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: tuple[str, str], words: str
) -> None:
    old, new = change
    assert old in LSTM
    assert main(["show", _write(tmp_path, LSTM.replace(old, new))]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("derive: error:") and "\n" not in err
    assert re.search(words, err), err


# --------------------------------------------------------------------------- real snippets

LIGHTAIME = """\
H = dnext_h.shape[1]
z_i, z_f, z_o, z_g, z_t, prev_c, prev_h, Wx, Wh, x = cache
dz_o = z_t * dnext_h
dc_t = z_o * (1 - z_t * z_t) * dnext_h + dnext_c
dz_f = prev_c * dc_t
dz_i = z_g * dc_t
dprev_c = z_f * dc_t
dz_g = z_i * dc_t
da_i = (1 - z_i) * z_i * dz_i
da_f = (1 - z_f) * z_f * dz_f
da_o = (1 - z_o) * z_o * dz_o
da_g = (1 - z_g * z_g) * dz_g
da = np.hstack((da_i, da_f, da_o, da_g))
dWx = x.T.dot(da)
dWh = prev_h.T.dot(da)
db = np.sum(da, axis = 0)
dx = da.dot(Wx.T)
dprev_h = da.dot(Wh.T)
return dx, dprev_h, dprev_c, dWx, dWh, db"""


def test_a_real_lstm_step_backward_is_read_and_judged_right() -> None:
    sd = derive_program(str(PROGRAMS / "lstm_lightaime.toml"))
    assert check_program(sd, LIGHTAIME).verdict == "correct"


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        # the cell-state highway forgotten: dnext_c not added
        (" * dnext_h + dnext_c", " * dnext_h", "dnext_c"),
        # the gate blocks joined in the wrong order
        ("np.hstack((da_i, da_f, da_o, da_g))", "np.hstack((da_f, da_i, da_o, da_g))", ""),
    ],
)
def test_a_broken_lstm_step_backward_is_judged_wrong(old: str, new: str, words: str) -> None:
    sd = derive_program(str(PROGRAMS / "lstm_lightaime.toml"))
    result = check_program(sd, LIGHTAIME.replace(old, new))
    assert result.verdict == "incorrect"
    assert words in (result.diagnosis or "")


def test_a_slice_of_whole_parts_is_those_parts_joined() -> None:
    H = sympy.Symbol("H", integer=True, positive=True)
    u, v, w = (MatrixSymbol(n, 3, H) for n in "uvw")
    assert Slice(Concat(1, u, v, w), 0, 2 * H, 1) == Concat(1, u, v)


JARIASF = """\
N, H = dnext_h.shape
x, prev_h, prev_c, Wx, Wh, b, h, next_c_tanh = cache
i, f, o, g = h[:,:H], h[:,H:2*H], h[:,2*H:3*H], h[:,3*H:4*H]
dgate = h.copy()
dgate[:,:3*H] = dgate[:,:3*H] * (1 - dgate[:,:3*H])
dgate[:,3*H:4*H] = 1 - dgate[:,3*H:4*H]**2
dnc_tanh = 1 - next_c_tanh**2
dnc_prod = dnext_h * o * dnc_tanh + dnext_c
dgate[:,:H] *= dnc_prod * g
dgate[:,H:2*H] *= dnc_prod * prev_c
dgate[:,2*H:3*H] *= dnext_h * next_c_tanh
dgate[:,3*H:4*H] *= dnc_prod * i
dx = dgate.dot(Wx.T)
dprev_h = dgate.dot(Wh.T)
dprev_c = dnext_c * f + dnext_h * o * dnc_tanh * f
dWx = x.T.dot(dgate)
dWh = prev_h.T.dot(dgate)
db = dgate.sum(axis=0)
return dx, dprev_h, dprev_c, dWx, dWh, db"""


def test_blocks_updated_in_place_and_a_tuple_of_values_are_read() -> None:
    """jariasf's backward: ``i, f, o, g = h[:, :H], …`` and ``dgate[:, H:2*H] *= …``."""
    sd = derive_program(str(PROGRAMS / "lstm_jariasf.toml"))
    assert check_program(sd, JARIASF).verdict == "correct"
    # one block updated with the wrong factor: judged wrong
    wrong = JARIASF.replace("dgate[:,H:2*H] *= dnc_prod * prev_c", "dgate[:,H:2*H] *= dnc_prod * g")
    assert check_program(sd, wrong).verdict == "incorrect"
    # a block left out of the update: judged wrong too
    assert check_program(sd, JARIASF.replace("dgate[:,3*H:4*H] *= dnc_prod * i\n", "")).verdict == (
        "incorrect"
    )


def test_the_lstm_document_names_both_gradients_and_compiles(tmp_path: Path) -> None:
    from conftest import PDFLATEX, compile_tex

    out = tmp_path / "lstm.tex"
    assert main(["latex", _write(tmp_path, LSTM), "-o", str(out)]) == 0
    tex = out.read_text()
    assert r"\begin{bmatrix}" in tex and "$ given" in tex
    assert r"\partial L / \partial next_{c}" in tex
    if PDFLATEX:
        code, log = compile_tex(tex, tmp_path)
        assert code == 0, log[-2000:]
