"""Recurrent and attention layers of the network spec (issue 15): ``type = "rnn"``,
``"lstm"``, ``"attention"`` read into forward programs, every CLI command on them, the
bad combinations (one line, file:line:key, exit 2), and the generic-T form of BPTT."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from derive.cli import main
from derive.core import numeric
from derive.programs import derive_program, is_program
from derive.spec.reading import example_text
from derive.spec.sequence import attention_program, lstm_program, rnn_program
from derive.spec.sequence_layers import SEQUENCE_EXAMPLES


def rnn_spec(
    kind: str = "rnn",
    steps: int | str | None = 3,
    loss: str = "cross_entropy",
    at: str = "every",
    readout: str | None = "softmax",
) -> str:
    """A layer-form spec (the TOML a user writes)."""
    lines = ['name = "seq"', 'input = "D"', 'batch = "N"', "", "[[layers]]", f'type = "{kind}"']
    if steps is not None:
        lines.append(f"steps = {steps}")
    lines += ['hidden = "H"', f'loss_at = "{at}"']
    if readout is not None:
        lines += ["", "[[layers]]", 'type = "dense"', 'width = "C"', f'activation = "{readout}"']
    lines += ["", "[loss]", f'name = "{loss}"']
    return "\n".join(lines) + "\n"


def _same_program(a: Any, b: Any) -> None:
    assert a.equations == b.equations
    assert (a.inputs, a.labels, a.parameters) == (b.inputs, b.labels, b.parameters)
    assert (a.loss, a.upstream) == (b.loss, b.upstream)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (rnn_spec(), rnn_program(3)),
        (rnn_spec(at="last"), rnn_program(3, at="last")),
        (rnn_spec(loss="squared_error", readout="identity"), rnn_program(3, loss="mse")),
        (rnn_spec(loss="upstream", at="last", readout=None), rnn_program(3, loss="upstream")),
        (rnn_spec("lstm", 2), lstm_program(2)),
        (
            rnn_spec("lstm", 2, "squared_error", "last", "identity"),
            lstm_program(2, loss="mse", at="last"),
        ),
    ],
)
def test_a_layer_spec_is_the_writers_program(text: str, expected: Any, tmp_path: Path) -> None:
    path = tmp_path / "seq.toml"
    path.write_text(text)
    assert is_program(str(path))
    _same_program(derive_program(str(path)).graph.spec, expected)


def test_the_builtins_are_layer_specs() -> None:
    for name in SEQUENCE_EXAMPLES:
        assert "[[layers]]" in example_text(name) and is_program(name)
    _same_program(derive_program("rnn_net").graph.spec, rnn_program(3))
    _same_program(derive_program("lstm_net").graph.spec, lstm_program(1))
    _same_program(derive_program("attention_net").graph.spec, attention_program())


@pytest.mark.parametrize(
    "argv",
    [
        ["show", "rnn_net"],
        ["latex", "rnn_net"],
        ["export", "rnn_net", "--backend", "numpy"],
        ["export", "lstm_net"],
        ["verify", "rnn_net", "--sizes", "N=2,D=2,H=2,C=2"],
        ["verify", "attention_net", "--sizes", "n=3,D=2,d_k=2,d_v=2"],
        ["check", "rnn_net", "dW_hh = h0.T @ dz1 + h1.T @ dz2 + h2.T @ dz3"],
        ["show", "attention_net"],
    ],
)
def test_every_command_takes_a_layer_spec(argv: list[str], capsys: Any) -> None:
    assert main(argv) == 0
    assert capsys.readouterr().out


def test_check_names_the_sum_over_time_cut_short(capsys: Any) -> None:
    assert main(["check", "rnn_net", "dW_hh = h2.T @ dz3"]) == 1
    assert "2 of the 3 terms of dW_hh are missing" in capsys.readouterr().out


CONV = '[[layers]]\ntype = "conv2d"\nchannels = 2\n'
BAD = [
    # (spec text, line, key, phrase)
    (rnn_spec(steps=None), 6, "layers[1].steps", "needs steps = T, its time axis"),
    (rnn_spec(steps=0), 7, "layers[1].steps", "from 1 to 50, got 0"),
    (rnn_spec(steps=51), 7, "layers[1].steps", "from 1 to 50, got 51"),
    (rnn_spec(steps='"T"'), 7, "layers[1].steps", "from 1 to 50"),
    (rnn_spec("lstm", steps=99), 7, "layers[1].steps", "from 1 to 50, got 99"),
    (
        "input = [1, 4, 4]\n" + CONV + '[[layers]]\ntype = "rnn"\nsteps = 2\n',
        6,
        "layers[2].type",
        "must be the first layer (layers[1] is 'conv2d'",
    ),
    (rnn_spec(readout=None), 12, "loss.name", "needs a dense read-out layer"),
    (rnn_spec(readout="identity"), 17, "loss.name", "does not fit a read-out with activation"),
    (rnn_spec(loss="upstream"), 17, "loss.name", "does not fit a read-out"),
    (rnn_spec(loss="hinge"), 17, "loss.name", "one of cross_entropy, squared_error, upstream"),
    (rnn_spec().replace('hidden = "H"', "hidden = 0"), 8, "layers[1].hidden", "between 1"),
    (
        rnn_spec().replace('hidden = "H"', 'hidden = "H"\nactivation = "swish"'),
        9,
        "layers[1].activation",
        "activation must be one of tanh, sigmoid, relu",
    ),
    (rnn_spec().replace('hidden = "H"', "width = 4"), 8, "layers[1].width", "unknown key"),
    (
        rnn_spec().replace("[loss]", '[[layers]]\ntype = "dense"\n\n[loss]'),
        17,
        "layers[3].type",
        "only one dense read-out",
    ),
    (
        rnn_spec(loss="upstream", at="every", readout=None),
        9,
        "layers[1].loss_at",
        'loss_at must be "last"',
    ),
    (
        'input = "D"\n[[layers]]\ntype = "attention"\ncausal = true\n',
        4,
        "layers[1].causal",
        "causal masking is not supported yet",
    ),
    (
        rnn_spec().replace('hidden = "H"', 'hidden = "h_1"'),
        8,
        "layers[1].hidden",
        "the size name 'h_1' is also a name of the model's equations",
    ),
    (
        'input = "D"\n[[layers]]\ntype = "attention"\nd_k = "Q"\n',
        4,
        "layers[1].d_k",
        "the size name 'Q' is also a name",
    ),
    (
        'input = "D"\nconvention = "column"\n[[layers]]\ntype = "attention"\n',
        2,
        "convention",
        'convention must be "row"',
    ),
]


@pytest.mark.parametrize(("text", "line", "key", "phrase"), BAD)
def test_bad_sequence_layers_one_line_exit_2(
    text: str, line: int, key: str, phrase: str, tmp_path: Path, capsys: Any
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    for command in ("show", "export", "verify"):
        assert main([command, str(path)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert err.startswith(f"derive: error: {path}:{line}: {key}: "), err
        assert phrase in err, err


def test_the_network_reader_points_a_sequence_layer_to_the_program_path() -> None:
    from derive.spec import SpecError, loads

    with pytest.raises(SpecError, match="layers\\[1\\].type: a rnn layer makes the spec"):
        loads(rnn_spec(), source="x.toml")


# ----------------------------------------------------------------------------- generic T

#: index words of the printed names, for a concrete step t of T
_INDEX = {"t": 0, "{t+1}": 1, "{t-1}": -1}


def _value(name: str, t: int, steps: int, known: dict[str, Any]) -> Any:
    """The value of a printed t-indexed name at the concrete step ``t``."""
    m = re.fullmatch(r"(?P<base>.+)_(?P<index>t|\{t\+1\}|\{t-1\}|T|\{T-1\})", name)
    if m is None:
        return known[name]
    index = m["index"]
    k = {"T": steps, "{T-1}": steps - 1}.get(index)
    if k is None:
        k = t + _INDEX[index]
    return known[f"{m['base']}_{k}"]


def _evaluate(expr: Any, t: int, steps: int, known: dict[str, Any], sizes: Any) -> Any:
    env: dict[Any, Any] = dict(sizes)
    for leaf in expr.free_symbols:
        if getattr(leaf, "name", None) is not None and not getattr(leaf, "is_Integer", False):
            if leaf in sizes:
                continue
            env[leaf] = _value(str(leaf.name), t, steps, known)
    from derive.core.nodes import Labels

    for lab in expr.atoms(Labels):
        env[lab] = _value(lab.name, t, steps, known)
    return numeric.evaluate(expr, env)


@pytest.mark.parametrize(
    "text",
    [
        rnn_spec(steps=4),
        rnn_spec(steps=4, at="last"),
        rnn_spec(steps=4, loss="squared_error", readout="identity"),
        rnn_spec(steps=4, loss="upstream", at="last", readout=None),
        rnn_spec("lstm", steps=4),
        rnn_spec("lstm", steps=4, at="last", loss="squared_error", readout="identity"),
    ],
)
def test_the_generic_recurrence_step_by_step_is_the_unrolled_derivation(
    text: str, tmp_path: Path
) -> None:
    """The printed BPTT lines at a symbolic t, evaluated at t = T, T-1, …, 1, give the
    unrolled derivation's cotangents and gradients at T = 4."""
    path = tmp_path / "seq.toml"
    path.write_text(text)
    d = derive_program(str(path))
    rec = d.recurrence
    steps = 4
    g = d.graph
    sizes = {s: n for s, n in zip(g.sizes.values(), (3, 2, 4, 3), strict=False)}
    point = numeric_point(d, sizes)
    # the unrolled derivation at that point: every forward value and cotangent
    known = {str(getattr(k, "name", k)): v for k, v in point.items()}
    unrolled = dict(point)
    for st in d.cotangents:
        unrolled[st.lhs] = numeric.evaluate(st.rhs, unrolled)
    expected = {name: numeric.evaluate(st.rhs, unrolled) for name, st in d.gradients.items()}
    # the generic lines, step by step from T down to 1
    mine: dict[str, Any] = dict(known)
    if g.upstream is not None:
        mine[f"dh_{steps}"] = point[g.upstream]
    for ln in rec.boundary:
        mine[f"{ln.lhs.name[:-2]}_{steps}"] = _evaluate(ln.rhs, steps, steps, mine, sizes)
    for t in range(steps - 1, 0, -1):
        for ln in rec.step:
            mine[f"{ln.lhs.name[:-2]}_{t}"] = _evaluate(ln.rhs, t, steps, mine, sizes)
        if rec.delta is not None:
            np.testing.assert_allclose(
                _evaluate(rec.delta.rhs, t, steps, mine, sizes), mine[f"dz_{t}"], rtol=1e-12
            )
    for st in d.cotangents:  # every staged cotangent of the unrolled form, recomputed
        if st.lhs.name in mine:
            np.testing.assert_allclose(mine[st.lhs.name], unrolled[st.lhs], rtol=1e-10)
    assert any(st.lhs.name in mine for st in d.cotangents)
    for ln in rec.gradients:
        name = ln.lhs.wrt.name
        if ln.summed:
            total = sum(_evaluate(ln.rhs, t, steps, mine, sizes) for t in range(1, steps + 1))
        else:
            total = _evaluate(ln.rhs, steps, steps, mine, sizes)
        np.testing.assert_allclose(total, expected[name], rtol=1e-10, atol=1e-13, err_msg=name)
    assert {ln.lhs.wrt.name for ln in rec.gradients} == {p.name for p in g.parameters}


def numeric_point(d: Any, sizes: dict[Any, int]) -> dict[Any, Any]:
    """Random inputs, labels, parameters (and upstream), then every forward value."""
    from derive.core.program import random_point

    g = d.graph
    point = random_point(g, sizes, np.random.default_rng(1))
    for eq in g.equations:
        point[eq.out] = numeric.evaluate(eq.rhs, point)
    return point


def test_golden_latex_of_the_rnn_recurrence() -> None:
    tex = derive_program("rnn_net").to_latex("fragment")
    assert (
        r"dz_{t} &= \left(dS_{t} W_{hy}^{\top} + dz_{t+1} W_{hh}^{\top}\right) \odot "
        r"\left(\mathbf{1} - h_{t}^{\circ 2}\right)"
    ) in tex
    assert r"dz_{T} &= dh_{T} \odot \left(\mathbf{1} - h_{T}^{\circ 2}\right)" in tex
    assert r"dW_{hh} &= \sum_{t=1}^{T} h_{t-1}^{\top} dz_{t}" in tex
    assert r"dW_{xh} &= \sum_{t=1}^{T} X_{t}^{\top} dz_{t}" in tex
    assert r"db &= \sum_{t=1}^{T} \sum_{\text{rows}} dz_{t}" in tex


def test_golden_text_of_the_lstm_highway() -> None:
    text = derive_program("lstm_net").text()
    assert "G_c = dcₜ₊₁ ⊙ fₜ₊₁" in text
    assert "dcₜ = (dhₜ ⊙ oₜ) ⊙ tanh'(cₜ) + dcₜ₊₁ ⊙ fₜ₊₁" in text
    assert "dc_T = (dh_T ⊙ o_T) ⊙ tanh'(c_T)" in text
    assert "dfₜ = dcₜ ⊙ cₜ₋₁" in text and "diₜ = dcₜ ⊙ gₜ" in text
    tex = derive_program("lstm_net").to_latex("fragment")
    assert r"dc_{t} &= \left(dh_{t} \odot o_{t}\right) \odot \tanh'\left(c_{t}\right) + " in tex


def test_loss_at_the_last_step_only_in_the_generic_form() -> None:
    d = derive_program(rnn_program(3))  # a program, not a layer spec: no generic form
    assert d.recurrence is None
    text_every = derive_program("rnn_net").text()
    assert "the recurrence: dzₜ = (dSₜ W_{hy}ᵀ + dzₜ₊₁ Wₕₕᵀ) ⊙ (1 − hₜ∘²)" in text_every


def test_size_names_with_a_subscript_reach_the_step_programs(tmp_path: Path) -> None:
    """A batch called n_1 stays n_1 in the one-step programs of the generic form."""
    path = tmp_path / "n1.toml"
    path.write_text(rnn_spec().replace('batch = "N"', 'batch = "n_1"'))
    d = derive_program(str(path))
    assert any("n_1" in str(ln.rhs) for ln in d.recurrence.step)
