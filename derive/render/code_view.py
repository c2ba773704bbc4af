"""The exported ``_backprop`` as mathematics, for ``derive latex --with-code``.

latexify renders Python as LaTeX, but NumPy idioms read wrongly through it: a mask
``(Z > 0).astype(Z.dtype)`` loses its parentheses, ``numpy.sum(D, axis=0)`` loses its
axis, ``X.shape[0]`` becomes a subscript, and ``A * B @ C`` prints as ``A ⊙ B C``. So the
exported function is first rewritten into a version made for reading (``reading_view``,
one ``ast.NodeTransformer``: indicators, sums with their axis, sizes, transposes as
superscripts, explicit grouping wherever two different products meet), then latexify's
own code generators print it, and the names we introduced are written as notes write
them (``\\delta_{1}``, ``\\mathbb{1}[\\,\\cdot\\,]``, ``\\sum_{\\text{axis } 0}``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from derive.render.reading_view import SCALE, ReadingView, variable_latex

__all__ = ["ReadingView", "code_latex", "render", "variable_latex"]


@contextmanager
def _math_operators() -> Iterator[None]:
    """latexify writes ``*`` and ``@`` both as ``\\cdot``; ours are ⊙ and juxtaposition."""
    from latexify.codegen import expression_codegen as codegen
    from latexify.codegen import expression_rules as rules

    saved = dict(rules.BIN_OP_RULES)
    saved_remove = codegen.ExpressionCodegen._should_remove_multiply_op
    rules.BIN_OP_RULES[ast.Mult] = rules.BinOpRule("", r" \odot ", "")
    rules.BIN_OP_RULES[ast.MatMult] = rules.BinOpRule("", r" \, ", "")
    rules.BIN_OP_RULES[SCALE] = rules.BinOpRule("", r" \cdot ", "")
    # latexify drops "*" between some operands (implicit product); for arrays that would
    # read as a matrix product, so every elementwise product keeps its sign.
    codegen.ExpressionCodegen._should_remove_multiply_op = lambda self, *args: False
    try:
        yield
    finally:
        rules.BIN_OP_RULES.clear()
        rules.BIN_OP_RULES.update(saved)
        codegen.ExpressionCodegen._should_remove_multiply_op = saved_remove


def render(source: str, function: str = "_backprop", fmt: str = "tex") -> str:
    """One function of ``source`` as LaTeX: an ``algorithmic`` block, or ``$$…$$`` for md."""
    from latexify import codegen

    fn = next(
        n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == function
    )
    # the algorithmic header is text; the md function line is maths
    view = ReadingView("backprop" if fmt != "md" else r"\mathrm{backprop}")
    tree = ast.Module(body=[view.visit(fn)], type_ignores=[])
    ast.fix_missing_locations(tree)
    with _math_operators():
        if fmt == "md":
            gen: Any = codegen.FunctionCodegen(
                use_math_symbols=False, use_signature=True, use_set_symbols=False
            )
        else:
            gen = codegen.AlgorithmicCodegen(use_math_symbols=False, use_set_symbols=False)
        out = str(gen.visit(tree))
    return _spell(out, view.names, fmt)


def _spell(latex: str, names: dict[str, str], fmt: str) -> str:
    """Replace our tokens (``\\mathrm{qzbq}`` in maths, ``qzbq`` in headers) by their LaTeX."""

    def spell(match: re.Match[str]) -> str:
        tex = names[match.group(1)]
        return tex if tex else r"\,"  # the grouping call: only its parentheses remain

    latex = re.sub(r"\\mathrm\{(qz[a-j]+q)\}", spell, latex)
    latex = re.sub(r"\b(qz[a-j]+q)\b", spell, latex)
    # a grouping call prints as "\, \mathopen{}\left( … \right)": keep the parentheses only
    latex = latex.replace(r"\, \mathopen{}\left(", r"\mathopen{}\left(")
    return latex


def code_latex(source: str, fmt: str = "tex") -> str:
    """An exported module's ``_backprop`` (its math, one step a line), for reading.

    ``source`` is the module as the formulas say (``to_source(d, fast=False)``); the caller
    exports it, so rendering never depends on the exporter.
    """
    body = render(source, "_backprop", fmt)
    return f"$$\n{body}\n$$" if fmt == "md" else body
