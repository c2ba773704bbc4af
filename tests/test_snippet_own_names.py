"""A snippet's own intermediates, and helpers whose names do not say what they compute
(issue 13 §1: never a wrong verdict).

Found on the fresh corpus (tests/corpus/fresh9_alexcpn.toml, f9-alexcpn-ch7-numpy-dw2): Alex
Punnen's page names ∂C/∂a² ``delta2`` and applies σ' on the next line; the checker judged
``delta2`` as δ₂ and the snippet INCORRECT although every gradient it computes is right.
Its helper ``derv_sigmoid`` was read as the sigmoid itself. The made-up snippets below are
labelled so; every verdict is compared with the same snippet written in derive's names.
"""

from __future__ import annotations

import pytest

from derive.formula.check import Checker
from derive.formula.parse import FormulaError

SPEC = "tests/corpus/specs/fresh9_alexcpn_row.toml"  # rows are samples, one sigmoid output


@pytest.fixture(scope="module")
def row() -> Checker:
    return Checker(SPEC)


def test_an_intermediate_named_delta_that_is_dC_da_is_the_snippets_own(row: Checker) -> None:
    # made up in the source's form, with a helper derive knows
    text = "delta2 = (a2 - y)\ndC_dw2_1 = delta2 * sigmoid_prime(z2)\ndW2 = a1.T.dot(dC_dw2_1)"
    plain = row.check("dW2 = a1.T.dot((a2 - y) * sigmoid_prime(z2))", syntax="python")
    assert plain.correct  # the same gradient, written in one line
    res = row.check(text, syntax="python")
    assert res.correct
    assert any("`delta2` is not δ_2" in n and "own intermediate" in n for n in res.notes)


def test_the_intermediate_stays_judged_when_a_later_line_is_wrong(row: Checker) -> None:
    # made up: the same snippet with the transpose missing on a1
    text = "delta2 = (a2 - y)\ndC_dw2_1 = delta2 * sigmoid_prime(z2)\ndW2 = a1.dot(dC_dw2_1)"
    assert not row.check(text, syntax="python").correct


def test_the_intermediate_alone_is_still_judged(row: Checker) -> None:
    assert not row.check("delta2 = (a2 - y)", syntax="python").correct


def test_the_derived_numpy_text_uses_the_activation_not_a_private_helper(row: Checker) -> None:
    res = row.check("delta2 = (a2 - y)", syntax="python")
    assert "_sigmoid" not in res.expected
    assert "A2 * (1 - A2)" in res.expected


@pytest.mark.parametrize("name", ["derv_sigmoid", "sigmoid_dash", "sigmoid_back"])
def test_a_helper_with_an_unknown_word_is_not_read_as_the_activation(
    row: Checker, name: str
) -> None:
    # made up: derv_sigmoid is the source's own (sigmoid'(x)); it was read as sigmoid(x)
    # and the right gradient judged INCORRECT
    with pytest.raises(FormulaError):
        row.check(f"dW2 = a1.T.dot((a2 - y) * {name}(z2))", syntax="python")


def test_a_helper_named_after_applying_the_activation_is_still_read() -> None:
    nielsen = Checker("nielsen")  # made up: applySigmoid is the sigmoid
    text = "dZ2 = (A2 - Y) * applySigmoid(Z2) * (1 - applySigmoid(Z2))"
    assert nielsen.check(text, syntax="python").correct


def test_no_verdict_when_what_reads_the_intermediate_is_not_read(row: Checker) -> None:
    # real: f9-alexcpn-ch7-numpy-dw2 as it stands (its dC_dw2 is no name derive knows);
    # it was INCORRECT: δ_2 although the gradient it computes is right
    text = "delta2  = (a2-y)\ndC_dw2_1  = delta2*derv_sigmoid(z2) \ndC_dw2  = a1.T.dot(dC_dw2_1)"
    with pytest.raises(FormulaError, match=r"cannot tell: `delta2` is not δ_2"):
        row.check(text, syntax="python")


# A layer's backward storing several gradients: each is judged, not only the last one.
# Reported by texfresh9 on fast.ai's Lin.backward (tests/corpus/fresh9_code.toml,
# f9-fastai-lin-backward): a wrong self.dW (or dx) beside a right db was CORRECT: ∂L/∂b_l.
@pytest.mark.parametrize(
    "text",
    [
        # made up: dW twice too large
        "self.dx = dout @ self.W.T\nself.dW = 2 * self.x.T @ dout\nself.db = dout.sum(0)",
        # made up: dx twice too large, with and without self.
        "self.dx = 2 * dout @ self.W.T\nself.dW = self.x.T @ dout\nself.db = dout.sum(0)",
        "dx = 2 * dout @ W.T\ndW = x.T @ dout\ndb = dout.sum(0)",
        # made up, in fast.ai's .g idiom: dW twice too large
        "self.inp.g = self.out.g @ self.w.t()\nself.w.g = 2 * self.inp.t() @ self.out.g\n"
        "self.b.g = self.out.g.sum(0)",
    ],
)
def test_every_gradient_a_layer_stores_is_judged(text: str) -> None:
    res = Checker("cs231n").check(text, syntax="python")
    assert not res.correct, res.quantity


def test_a_layer_storing_right_gradients_names_them_all() -> None:
    text = "self.dx = dout @ self.W.T\nself.dW = self.x.T @ dout\nself.db = dout.sum(0)"
    res = Checker("cs231n").check(text, syntax="python")
    assert res.correct
    assert res.quantity == "∂L/∂A_{l-1}, ∂L/∂W_l, ∂L/∂b_l"


@pytest.mark.parametrize("reader", ["norm = np.sum(dW2 * dW2)", "dW2_copy = dW2"])
def test_a_wrong_gradient_read_only_by_unchecked_lines_stays_judged(reader: str) -> None:
    # made up (review9): dW2 lacks 1/m; only a line that names no quantity reads it, and
    # db2 after it is right but never reads dW2: it was CORRECT, dW2 dropped as the
    # snippet's own intermediate
    ng = Checker("ng")
    text = f"dZ2 = A2 - Y\ndW2 = dZ2 @ A1.T\n{reader}\ndb2 = np.sum(dZ2, axis=1, keepdims=True) / m"
    res = ng.check(text, syntax="python")
    assert not res.correct
    assert "1/m" in (res.diagnosis or "")


@pytest.mark.parametrize(
    ("spec", "text"),
    [  # made up (review9): leaky_relu_deriv computes leaky ReLU's derivative, not (Z > 0)
        ("tests/specs/review9_leaky.toml", "dZ1 = (W2.T @ dZ2) * leaky_relu_deriv(Z1)"),
        ("cs231n", "dZ1 = dA1 * leaky_relu_deriv(Z1)"),
        ("nielsen", "dZ2 = (W3.T @ dZ3) * hard_tanh_grad(Z2)"),
    ],
)
def test_a_derivative_helper_named_after_another_activation_is_not_read(
    spec: str, text: str
) -> None:
    # it was read as relu'(x) = (x > 0): INCORRECT on the leaky network, CORRECT on cs231n
    with pytest.raises(FormulaError, match="unknown name"):
        Checker(spec).check(text, syntax="python")


def test_a_derivative_helper_with_joining_words_is_still_read() -> None:
    cs = Checker("cs231n")  # Trask's relu2deriv, sklearn's inplace_relu_derivative
    for name in ("relu2deriv", "inplace_relu_derivative"):
        assert cs.check(f"dZ1 = dA1 * {name}(Z1)", syntax="python").correct
