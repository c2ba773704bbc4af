"""``--with-code``: the exported code rendered for reading, one golden string per construct.

Each construct is one that latexify alone renders misleadingly (a mask losing its
parentheses, a sum losing its axis, ``X.shape[0]`` as a subscript, ``A * B @ C`` as
``A ⊙ B C``); the strings are the product, so they are compared whole.
"""

from __future__ import annotations

import pytest

from derive import derive
from derive.code_view import render


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
