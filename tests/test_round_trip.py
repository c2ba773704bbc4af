"""Round trip: every formula derive prints, the checker reads back as CORRECT.

For each built-in example and for random networks: every delta, recurrence and
gradient in every notation variant (LaTeX), the checker's own NumPy answers, and the
statements of the exported NumPy module. A checker that cannot read its own output
would tell a student their copy of it is wrong.
"""

from __future__ import annotations

import re

import pytest
from conftest import CONVENTIONS, DELTAS, LOSSES, grid
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derive import Activation, dense, derive
from derive.export import to_source
from derive.formula.check import Checker
from derive.render.latex import step_latex
from derive.spec import EXAMPLES
from derive.spec.notation import DELTA_SYMBOLS, HADAMARD, INDEX_STYLES, TRANSPOSE, Notation

CHECKED = ("output_delta", "recurrence", "delta", "gradient")


def printed_latex(d, notation: Notation) -> list[str]:
    """Every delta, the recurrence and every gradient, as ``derive latex`` writes them."""
    return [step_latex(s, notation) for s in d.steps if s.kind in CHECKED]


def exported_statements(d) -> list[str]:
    """The backward statements of the exported NumPy module (``delta1 = …``, ``dW1 = …``)."""
    body = to_source(d, fast=False).split("def _backprop")[1]
    return [
        line.strip() for line in body.splitlines() if re.match(r"    (delta\d+|d[WKb]\d+) = ", line)
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
    assert_reads_back(Checker(d), printed_latex(d, nt), "latex")


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
        answers = [checker.check(f, syntax).expected for f in formulas]
        assert_reads_back(checker, answers, syntax)


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
    assert_reads_back(checker, printed_latex(d, nt), "latex")
    assert_reads_back(checker, exported_statements(d), "python")


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
