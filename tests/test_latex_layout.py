"""Page layout around a LaTeX formula (``latex_layout``): equation labels at the end, the
rows of an aligned block as one chain, colours, '.' as a product, TeX's one-token \\frac
arguments, Ng's ^[l] without braces, [g(z)]' as g'(z); and the letter i for the layer
(``latex_layer_letter``). The formulas are made up, in the forms the fresh sources use
(tests/corpus/fresh9_*.toml has the real ones); each was unread before these readings."""

from __future__ import annotations

import pytest

from derive.formula.check import Checker
from derive.formula.latex_layer_letter import layer_letter
from derive.formula.latex_layout import LABEL_AT_END, LAYOUT_REWRITES
from derive.formula.parse import FormulaError
from derive.formula.source_text import normalize_with_positions

OUTPUT_DELTA = r"\delta^L = (a^L - y) \odot \sigma'(z^L)"


@pytest.fixture(scope="module")
def nielsen() -> Checker:
    return Checker("nielsen")


@pytest.fixture(scope="module")
def ng() -> Checker:
    return Checker("ng")


@pytest.mark.parametrize(
    "label",
    [
        r"\quad \rightarrow (Eq \; 3)",
        r"\qquad (5)",
        r"\quad \rightarrow \mathbb Eq \; (3)",
        r"\rightarrow \quad \text{EqA2.1 }",
        r"\quad \quad {(2)}",
        r"\quad \quad(\mathbf  {1})",
        r"\quad  \rightarrow \quad \mathbf  {EqA1}",
        r"\quad \rightarrow (A) }",  # a brace closing nothing: the page's wrapper
        r"\tag{3.5.1.6}",
    ],
)
def test_a_label_at_the_end_is_no_part_of_the_formula(nielsen: Checker, label: str) -> None:
    right = nielsen.check(f"{OUTPUT_DELTA} {label}")
    assert right.verdict == "correct"
    if "tag" not in label:
        assert any("equation's label" in note for note in right.notes)
    wrong = nielsen.check(f"\\delta^L = 2(a^L - y) \\odot \\sigma'(z^L) {label}")
    assert wrong.verdict == "incorrect"


@pytest.mark.parametrize(
    "text",
    [
        r"w^l \rightarrow w^l - \frac{\eta}{m} \sum_x \delta^{x,l} (a^{x,l-1})^T",  # an update
        r"\delta = (a - y) \quad (z > 0)",  # a condition, not a label
    ],
)
def test_arrows_and_conditions_are_no_labels(text: str) -> None:
    assert LABEL_AT_END.search(text) is None


def test_a_wrapper_brace_the_formula_opened_is_kept(ng: Checker) -> None:
    result = ng.check(r"\mathbf {dZ^{[2]} = A^{[2]} - Y \quad \rightarrow (a)}")
    assert result.verdict == "correct"


def test_aligned_rows_are_one_chain_each_step_checked(nielsen: Checker) -> None:
    block = (
        r"\begin{aligned} \delta^L &= \nabla_a C \odot \sigma'(z^L) \\"
        "\n"
        r"&= (a^L - y) \odot \sigma'(z^L) \end{aligned}"
    )
    result = nielsen.check(block)
    assert result.verdict == "correct"
    assert any("aligned rows" in note for note in result.notes)
    wrong_step = (
        "\\delta^L &= 2 (a^L - y) \\odot \\sigma'(z^L) \\\\\n&= (a^L - y) \\odot \\sigma'(z^L)"
    )
    assert nielsen.check(wrong_step).verdict == "incorrect"
    assert nielsen.check(OUTPUT_DELTA + r" \\").verdict == "correct"  # one row of a block


def test_rows_with_their_own_left_sides_are_refused(nielsen: Checker) -> None:
    block = "\\delta^L &= (a^L - y) \\odot \\sigma'(z^L) \\\\\n\\delta^l &= \\delta^L"
    with pytest.raises(FormulaError, match="one equation at a time"):
        nielsen.check(block)


def test_the_rows_of_cases_are_left_to_cases() -> None:
    text = r"f'(z) = \begin{cases} 1 & z > 0 \\ 0 & \text{otherwise} \end{cases}"
    out, _ = normalize_with_positions(text, LAYOUT_REWRITES)
    assert r"\\" in out


@pytest.mark.parametrize(
    ("text", "product"),
    [
        (r"W^{[l]T}.dZ^{[l]}", True),
        (r"w^2 . \sigma'(z^2)", True),
        (r"(a^l-y).w^l", True),
        (r"\frac{1}{m} np.sum(dZ)", False),
        (r"0.5 x", False),
        (r"dZ.T", False),
        (r"a_1 \ldots a_n", False),
        (r"x .* y", False),
    ],
)
def test_dot_as_a_product(text: str, product: bool) -> None:
    out, _ = normalize_with_positions(text, LAYOUT_REWRITES)
    assert (r"\cdot" in out) is product


@pytest.mark.parametrize(
    ("formula", "verdict"),
    [
        (r"dA^{[l-1]} = W^{[l]T}.dZ^{[l]}", "correct"),
        (r"dA^{[l-1]} = W^{[l]}.dZ^{[l]}", "incorrect"),
        (r"dW^{[2]}=\frac1mdZ^{[2]}A^{[1]T}", "correct"),
        (r"dW^{[2]}=\frac1mdZ^{[2]}A^{[2]T}", "incorrect"),
        (r"dZ^{[1]}=W^{[2]T}dZ^{[2]}\ast g'(Z^{[1]})", "correct"),
        (r"db^[l]=\frac{1}{m} np.sum(dZ^[l], axis=1, keepdims=True)", "correct"),
        (r"\color{blue}{dZ^{[2]}} = A^{[2]} - Y", "correct"),
        (r"dZ^{[2]} = \color{red}{A^{[2]} + Y}", "incorrect"),
    ],
)
def test_notations_read(ng: Checker, formula: str, verdict: str) -> None:
    assert ng.check(formula).verdict == verdict


@pytest.mark.parametrize(
    ("formula", "verdict"),
    [
        (r"\delta^l = ((w^{l+1})^T \delta^{l+1}) \odot [\sigma(z^l)]'", "correct"),
        (
            r"\delta^l = ((w^{l+1})^T \delta^{l+1}) \odot \left(\sigma(z^l)\right)^{\prime}",
            "correct",
        ),
        (r"\delta^l = ((w^{l+1})^T \delta^{l+1}) \odot [\sigma(z^{l+1})]'", "incorrect"),
        (r"\delta^l = ((w^{l+1})^T \delta^{l+1}) \odot \sigma \color{red}{'} (z^l)", "correct"),
    ],
)
def test_primes_on_a_bracketed_activation(nielsen: Checker, formula: str, verdict: str) -> None:
    assert nielsen.check(formula).verdict == verdict


@pytest.mark.parametrize(
    ("formula", "verdict"),
    [
        (r"dZ^{[i]} = W^{[i+1]T} dZ^{[i+1]} * g^{[i]\prime}(Z^{[i]})", "correct"),
        (r"dW^{[i]} = \frac{1}{m} dZ^{[i]} A^{[i-1]T}", "correct"),
        (r"dW^{[i]} = \frac{1}{m} dZ^{[i]} A^{[i]T}", "incorrect"),
    ],
)
def test_i_as_the_layer_index(ng: Checker, formula: str, verdict: str) -> None:
    result = ng.check(formula)
    assert result.verdict == verdict
    assert any("i read as the layer index" in note for note in result.notes)


def test_i_as_the_layer_index_in_subscripts(nielsen: Checker) -> None:
    assert nielsen.check(r"\delta_i = W_{i+1}^T\delta_{i+1}\odot \sigma'(z_i)").correct
    assert nielsen.check(r"\frac{\partial C}{\partial w_i} = \delta_ia_{i-1}^T").correct


@pytest.mark.parametrize(
    "text",
    [
        r"\delta_i = \sum_j w_{ij} \delta_{i+1}",  # i also an entry index
        r"\delta^{[i]} = \sum_i dZ^{[i+1]}",
        r"\max_i W_{i+1}",
        r"dZ^{[l]}_i = W_{i+1}",  # the formula has an l of its own
        r"\delta_i = W^T \delta",  # never unmistakably a layer (no bracket, no ±1)
    ],
)
def test_i_is_not_read_as_the_layer_where_it_may_be_an_entry(text: str) -> None:
    assert layer_letter(text) is None


def test_delta_beside_its_own_derivative_is_in_doubt(nielsen: Checker) -> None:
    """δ^L σ'(z^L): an f'(z) too many with δ = ∂C/∂z, right with the page's δ = a − y."""
    with pytest.raises(FormulaError, match="cannot tell what δ_L stands for"):
        nielsen.check(r"\frac{\partial C}{\partial w^L} = \delta^L \odot \sigma'(z^L) (a^{L-1})^T")
    assert nielsen.check(r"\frac{\partial C}{\partial w^L} = 2 \delta^L (a^{L-1})^T").verdict == (
        "incorrect"
    )


@pytest.mark.parametrize(
    ("formula", "verdict"),
    [
        (r"\frac{dJ}{dW^{[l]}} = \frac{1}{m} dZ^{[l]} A^{[l-1]T}", "correct"),
        (r"\frac{d J}{d W^{[l]}} = \frac{1}{m} dZ^{[l]} A^{[l]T}", "incorrect"),
        (r"\frac{d J}{d b^{[2]}} = \frac{1}{m} \sum_{i=1}^{m} dZ^{[2](i)}", "correct"),
        (
            r"\frac{dL}{dW^{[l]}} = \frac{dL}{dZ^{[l]}} \frac{dZ^{[l]}}{dW^{[l]}} "
            r"= \frac{1}{m} dZ^{[l]} A^{[l-1]T}",
            "correct",
        ),
    ],
)
def test_leibniz_d_for_a_derivative(ng: Checker, formula: str, verdict: str) -> None:
    """Ng's notes write dJ/dW with d, as ∂J/∂W (each unread before: 'dW' on the right)."""
    assert ng.check(formula).verdict == verdict
