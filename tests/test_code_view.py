"""``--with-code``: the exported code rendered for reading, one golden string per construct.

Each construct is one that latexify alone renders misleadingly (a mask losing its
parentheses, a sum losing its axis, ``X.shape[0]`` as a subscript, ``A * B @ C`` as
``A ⊙ B C``); the strings are the product, so they are compared whole.
"""

from __future__ import annotations

import pytest

from derive import derive
from derive.render.code_view import render


def line(statement: str) -> str:
    """The LaTeX of one statement of a one-statement ``_backprop``."""
    out = render(f"def _backprop(X):\n    {statement}\n    return X\n", fmt="md")
    return out.split(r"\begin{array}{l} ")[1].split(r" \\ ")[0]


def spelled(want: str) -> str:
    """``⟨x⟩`` in a golden string is a bracketed group as latexify writes it."""
    return want.replace("⟨", r"\mathopen{}\left( ").replace("⟩", r" \mathclose{}\right)")


GOLDEN = [
    (
        "delta1 = (delta2 @ W2.T) * ((Z1 > 0).astype(Z1.dtype))",
        r"\delta_{1} = ⟨\delta_{2} \, W_{2}^{T}⟩ \odot \mathbb{1} ⟨Z_{1} > 0⟩",
    ),
    (
        "db1 = numpy.sum(delta1, axis=0, keepdims=True)",
        r"\mathrm{db}_{1} = \textstyle\sum_{\text{axis }0} ⟨\delta_{1}⟩",
    ),
    (
        "db1 = delta1.sum(axis=(0, 2, 3)) / m",
        r"\mathrm{db}_{1} = \frac{\textstyle\sum_{\text{axes }0,2,3} ⟨\delta_{1}⟩}{m}",
    ),
    (
        "L = -numpy.sum(Y * numpy.log(A2))/N",
        r"L = \frac{-\textstyle\sum ⟨Y \odot \log ⟨A_{2}⟩⟩}{N}",
    ),
    ("N = X.shape[0]", r"N = \operatorname{size}_{0} ⟨X⟩"),
    ("C = A * B @ W", r"C = ⟨A \odot B⟩ \, W"),
    ("C = A @ (B * W)", r"C = A \, ⟨B \odot W⟩"),
    ("C = A @ B @ W", r"C = A \, B \, W"),
    ("C = (A @ B).T", r"C = ⟨A \, B⟩^{T}"),
    (
        "D = delta3.T.reshape(A2.shape)",
        r"D = \operatorname{reshape} ⟨\delta_{3}^{T}, \operatorname{shape} ⟨A_{2}⟩⟩",
    ),
    # a number times anything is a scaling (·), not an elementwise product of arrays (⊙)
    (
        "L = (1/2)*numpy.sum(numpy.square(A2 - Y))",
        r"L = \frac{1}{2} \cdot \textstyle\sum ⟨\operatorname{square} ⟨A_{2} - Y⟩⟩",
    ),
    ("D = W1/(10*m)", r"D = \frac{W_{1}}{10 \cdot m}"),
    # an array squared is the Hadamard power, not the matrix power
    ("D = 1 - A1**2", r"D = 1 - A_{1}^{\circ 2}"),
    ("D = 1 - numpy.tanh(Z1)**2", r"D = 1 - ⟨\tanh ⟨Z_{1}⟩⟩^{\circ 2}"),
    # scipy's erf is erf, not erf(special(scipy), x)
    ("D = scipy.special.erf(Z1)", r"D = \operatorname{erf} ⟨Z_{1}⟩"),
    # a leaky ReLU: the comparison as maths writes it, no dtype conversion
    (
        "A2 = numpy.where(numpy.greater(Z2, 0), Z2, Z2*0.5).astype(Z2.dtype)",
        r"A_{2} = \operatorname{where} ⟨Z_{2} > 0, Z_{2}, Z_{2} \cdot 0.5⟩",
    ),
    ("A1 = numpy.maximum(0, Z1)", r"A_{1} = \max ⟨0, Z_{1}⟩"),
]


@pytest.mark.parametrize("statement,want", GOLDEN, ids=[s for s, _ in GOLDEN])
def test_each_construct_reads_as_it_computes(statement: str, want: str) -> None:
    assert line(statement) == spelled(want)


def test_names_chosen_by_the_module_never_reach_latex_unescaped() -> None:
    assert line("my_var = a_b") == r"\mathrm{my\_var} = \mathrm{a\_b}"


def test_exported_modules_render_with_every_construct() -> None:
    """The real exported code: the CNN example has a mask, sums with axes, sizes, reshapes."""
    d = derive("cnn")
    tex = d.to_latex(with_code=True)
    code = tex[tex.index(r"\begin{algorithmic}") : tex.index(r"\end{algorithmic}")]
    assert r"\mathbb{1} \mathopen{}\left( Z_{1} > 0 \mathclose{}\right)" in code
    assert r"\textstyle\sum_{\text{axes }0,2,3}" in code
    assert r"\operatorname{size}_{0}" in code
    assert ".astype" not in code and "numpy" not in code and "shape_" not in code


def test_hyperparameters_are_scalars_and_arguments() -> None:
    """Keyword-only hyperparameters are inputs of the algorithm and scale (·) arrays."""
    out = render("def _backprop(X, *, lam):\n    D = lam * X\n    return D\n", fmt="md")
    assert r"\mathrm{backprop}(X, \lambda)" in out
    assert r"D = \lambda \cdot X" in out
