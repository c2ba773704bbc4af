"""Round trip: every formula derive prints, the checker reads back as CORRECT.

For each built-in example and for random networks: every delta, recurrence,
gradient (per layer and for a generic layer l) and activation cotangent (∂C/∂A_l,
∂C/∂A_L) in every notation variant (LaTeX), the checker's own answers to each of
them (``derived:``, LaTeX in the user's notation and NumPy), and the statements of the
exported NumPy module. A checker that cannot read its own output would tell a student
their copy of it is wrong. (The entry-by-entry index forms of dense gradients are not
read yet: issue 13 §2.)
"""

from __future__ import annotations

import re

import pytest
from conftest import CONVENTIONS, DELTAS, LOSSES, grid
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derive import Activation, dense, derive
from derive.export import to_source
from derive.formula.answer import render_expected
from derive.formula.check import Checker
from derive.formula.parse import parse
from derive.formula.quantity import quantity_of
from derive.render.latex import DeriveLatexPrinter, step_latex
from derive.spec import EXAMPLES
from derive.spec.notation import DELTA_SYMBOLS, HADAMARD, INDEX_STYLES, TRANSPOSE, Notation
from derive.spec.reading import loads

CHECKED = ("output_delta", "recurrence", "delta", "gradient")


def printed_latex(d, notation: Notation) -> list[str]:
    """Every delta, the recurrence, every gradient (per layer and for layer l) and the
    activation cotangents, as ``derive show`` / ``derive latex`` write them."""
    p = DeriveLatexPrinter(notation)
    steps = [s for s in d.steps if s.kind in CHECKED]
    out = [step_latex(s, notation) for s in steps]
    for g in (d.generic, d.generic_conv):
        if g is not None:
            out += [step_latex(s, notation) for s in (g.delta, g.grad_w, g.grad_b, g.cotangent_a)]
    out += [f"{p.doprint(st.lhs)} = {p.doprint(st.rhs)}" for st in d.cotangents.values()]
    return list(dict.fromkeys(out))


def numpy_answers(checker: Checker, formulas: list[str]) -> list[str]:
    """What ``derived:`` prints for each per-layer quantity with ``--syntax python``.

    (A formula for a generic layer l has no NumPy spelling the checker reads yet.)
    """
    d = checker.d
    out = []
    for f in formulas:
        lhs = parse(f, "latex", d.network.notation.symbols, d.depth)[0]
        q = quantity_of(lhs)
        if q.generic:
            continue
        out.append(render_expected(d, q, f, "python", lhs, d.network.is_conv and q.base == "K"))
    return out


def answers(checker: Checker, formulas: list[str], syntax: str) -> list[str]:
    """What ``derived:`` prints for each formula (the formula itself is right)."""
    return [checker.check(f, syntax).expected for f in formulas]


def exported_statements(d) -> list[str]:
    """The backward statements of the exported NumPy module (``delta1 = …``, ``dW1 = …``,
    ``dgamma2 = …``, ``dP4 = …``)."""
    body = to_source(d, fast=False).split("def _backprop")[1]
    return [
        line.strip()
        for line in body.splitlines()
        if re.match(r"    (delta\d+|d(W|K|b|gamma|beta|P)\d+) = ", line)
    ]


def assert_reads_back(checker: Checker, formulas: list[str], syntax: str) -> None:
    wrong = []
    for f in formulas:
        result = checker.check(f, syntax)
        if not result.correct:
            wrong.append(f"{f}\n    -> {result}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    "name,index,hadamard,transpose,delta",
    grid(EXAMPLES, list(INDEX_STYLES), list(HADAMARD), list(TRANSPOSE), list(DELTA_SYMBOLS)),
)
def test_every_printed_formula_checks_correct(name, index, hadamard, transpose, delta) -> None:
    d = derive(name)
    nt = Notation(index=index, hadamard=hadamard, transpose=transpose, delta=delta)
    checker = Checker(d)
    printed = printed_latex(d, nt)
    assert_reads_back(checker, printed, "latex")
    assert_reads_back(checker, answers(checker, printed, "latex"), "latex")


@pytest.mark.parametrize("name", [n for n in EXAMPLES if n != "seed"])  # seed's f is symbolic
def test_exported_statements_check_correct(name: str) -> None:
    d = derive(name)
    assert_reads_back(Checker(d), exported_statements(d), "python")


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_checkers_own_answers_check_correct(name: str) -> None:
    """What ``derived:`` prints (LaTeX and NumPy) is itself CORRECT."""
    d = derive(name)
    checker = Checker(d)
    for syntax, formulas in (
        ("latex", printed_latex(d, d.network.notation)),
        ("python", exported_statements(d) if name != "seed" else []),
    ):
        assert_reads_back(checker, answers(checker, formulas, syntax), syntax)


@pytest.mark.parametrize("name", [n for n in EXAMPLES if n != "seed"])  # seed's f is symbolic
def test_the_numpy_answer_to_every_printed_quantity_checks_correct(name: str) -> None:
    """``--syntax python`` prints each quantity as NumPy: that code is CORRECT too."""
    d = derive(name)
    checker = Checker(d)
    code = numpy_answers(checker, printed_latex(d, d.network.notation))
    assert code
    assert_reads_back(checker, code, "python")
    assert_reads_back(checker, answers(checker, code, "python"), "python")


@st.composite
def networks(draw):
    depth = draw(st.integers(1, 3))
    widths = draw(st.lists(st.integers(1, 4), min_size=depth + 1, max_size=depth + 1))
    hidden = draw(
        st.lists(
            st.sampled_from(["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "elu"]),
            min_size=depth - 1,
            max_size=depth - 1,
        )
    )
    loss, out = draw(st.sampled_from(LOSSES))
    if out == "softmax" and widths[-1] < 2:
        widths[-1] = 2
    acts = [Activation(h) for h in hidden] + [Activation(out)]
    net = dense(
        widths,
        acts,
        loss,
        convention=draw(st.sampled_from(CONVENTIONS)),
        delta=draw(st.sampled_from(DELTAS)),
    )
    nt = Notation(
        index=draw(st.sampled_from(list(INDEX_STYLES))),
        hadamard=draw(st.sampled_from(list(HADAMARD))),
        transpose=draw(st.sampled_from(list(TRANSPOSE))),
        delta=draw(st.sampled_from(list(DELTA_SYMBOLS))),
    )
    return net, nt


def round_trip(case) -> None:
    net, nt = case
    d = derive(net)
    checker = Checker(d)
    printed = printed_latex(d, nt)
    assert_reads_back(checker, printed, "latex")
    assert_reads_back(checker, answers(checker, printed, "latex"), "latex")
    code = exported_statements(d) + numpy_answers(checker, printed)
    assert_reads_back(checker, code, "python")
    assert_reads_back(checker, answers(checker, code, "python"), "python")


SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
test_random_networks_round_trip = settings(max_examples=8, **SETTINGS)(
    given(networks())(round_trip)
)
test_random_networks_round_trip_long = pytest.mark.slow(
    settings(max_examples=80, **SETTINGS)(given(networks())(round_trip))
)


@pytest.mark.parametrize(
    "hidden",
    [
        *["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "elu", "silu", "gelu"],
    ],
)
def test_exported_statements_of_every_activation_check_correct(hidden: str) -> None:
    """The stable forms the export prints (``_sigmoid(Z1)`` for softplus', SiLU') read back."""
    d = derive(dense([3, 4, 2], [hidden, "identity"], "squared_error"))
    assert_reads_back(Checker(d), exported_statements(d), "python")


#: The issue-15 losses with the output activations they are used with.
NEW_LOSSES = [
    ('name = "multiclass_hinge"\nreduction = "mean"', "identity"),
    ('name = "multiclass_hinge"\nreduction = "sum"\nmargin = 2', "identity"),
    ('name = "l1"\nreduction = "mean"', "identity"),
    ('name = "l1"\nreduction = "sum"', "tanh"),
    ('name = "mae"\nreduction = "mean"', "identity"),
    ('name = "huber"\nreduction = "mean"', "identity"),
    ('name = "huber"\nreduction = "sum"\ndelta = 2', "sigmoid"),
]


@st.composite
def layered_networks(draw):
    """A random network with the issue-15 layers: dense or residual layers (an identity
    skip where the widths agree, else a projection), each maybe followed by a batch or
    layer norm and a dropout; any loss, the old ones and hinge, L1, MAE, Huber."""
    acts = ["sigmoid", "tanh", "relu", "identity"]
    loss, out = draw(st.sampled_from(NEW_LOSSES + [_old_loss(lo, o) for lo, o in LOSSES]))
    depth = draw(st.integers(1, 3))
    widths: list[int | str] = [draw(st.integers(1, 4))]  # the width of A_0, A_1, …
    blocks = []
    for i in range(depth):
        last = i == depth - 1
        norm = None if last else draw(st.sampled_from([None, "batchnorm", "layernorm"]))
        width: int | str = draw(st.integers(2, 4)) if last else draw(st.integers(1, 4))
        if norm == "layernorm" and width == 1:
            # a layer norm over one unit outputs β alone: its export prints np.zeros, which
            # the NumPy reader refuses (test_concrete_widths checks that it is never wrong)
            width = 2
        lines = [f"width = {width!r}".replace("'", '"')]
        softmax_out = last and out == "softmax"  # a residual layer cannot end in softmax
        if len(widths) > 1 and not softmax_out and draw(st.booleans()):
            j = draw(st.integers(0, len(widths) - 2))
            lines = ['type = "residual"', *lines, f"skip_from = {j}"]
            if widths[j] != width:
                lines.append("projection = true")
        blocks.append(lines)  # the activation is set below
        widths.append(width)
        if last:  # the output layer ends the network (softmax only there)
            break
        if norm is not None:
            act = draw(st.sampled_from(acts))
            blocks.append([f'type = "{norm}"', f'activation = "{act}"', 'eps = "epsilon"'])
            widths.append(width)
        if draw(st.booleans()):
            blocks.append(['type = "dropout"', 'p = "p"'])
            widths.append(width)
    dense_blocks = [b for b in blocks if not b[0].startswith('type = "') or "residual" in b[0]]
    for b in dense_blocks[:-1]:
        b.append(f'activation = "{draw(st.sampled_from(acts))}"')
    dense_blocks[-1].append(f'activation = "{out}"')
    text = "\n".join(
        [
            'name = "drawn"',
            f'convention = "{draw(st.sampled_from(CONVENTIONS))}"',
            f'delta = "{draw(st.sampled_from(DELTAS))}"',
            f"input = {widths[0]}",
            'batch = "m"',
            *(line for b in blocks for line in ("", "[[layers]]", *b)),
            "",
            "[loss]",
            loss,
        ]
    )
    nt = Notation(
        index=draw(st.sampled_from(list(INDEX_STYLES))),
        hadamard=draw(st.sampled_from(list(HADAMARD))),
        transpose=draw(st.sampled_from(list(TRANSPOSE))),
        delta=draw(st.sampled_from(list(DELTA_SYMBOLS))),
    )
    return loads(text, source="drawn"), nt


def _old_loss(loss, out: str) -> tuple[str, str]:
    """A conftest loss as TOML (weight decay left out: it is drawn with the dense nets)."""
    return f'name = "{loss.name}"\nreduction = "{loss.reduction}"', out


test_random_layered_networks_round_trip = settings(max_examples=4, **SETTINGS)(
    given(layered_networks())(round_trip)
)
test_random_layered_networks_round_trip_long = pytest.mark.slow(
    settings(max_examples=60, **SETTINGS)(given(layered_networks())(round_trip))
)
