"""An ellipsis in a product of layers (``σ'(z_1) w_2 σ'(z_2) … σ'(z_4) ∂C/∂a_4``, Nielsen
ch. 5 and its translations; ``A_1 \\times \\cdots \\times A_4``): the factors it stands
for, as a reader fills them in. The factors before it repeat with a period p, each
factor's layers one more than the one p places before (σ'(z_2) after σ'(z_1) and w_2);
the run goes on until it reaches the factor after the ellipsis. The shortest period
that the written factors bear out and that reaches it is taken; none, and the formula
is refused (its factors are asked for), never guessed.
"""

from __future__ import annotations

from typing import Any

from lark import Token, v_args

from derive.formula.ir import IR, Amb, Bin, FormulaError, Sym
from derive.formula.ir_walk import nodes, shift_layers
from derive.formula.numbers import _CommonIR

#: At most this many factors are filled in for one ellipsis.
MAX_FILLED = 32


def _factors(node: IR, same: Any) -> list[IR]:
    """The factors of a left-nested product (``same`` says which nodes are its links)."""
    out: list[IR] = []
    while same(node):
        out.append(node.b)  # type: ignore[union-attr]
        node = node.a  # type: ignore[union-attr]
    out.append(node)
    return out[::-1]


def _bases(items: list[IR]) -> frozenset[str]:
    """Every symbol base the factors name (each is renumbered one layer on)."""
    return frozenset(n.base for item in items for _, n in nodes(item) if isinstance(n, Sym))


def filled(before: list[IR], after: IR) -> list[IR]:
    """The factors ``before … after`` stands for, ``after`` last; a FormulaError when no
    period of the factors before it reaches the factor after it."""
    bases = _bases([*before, after])

    def on(node: IR) -> IR:
        return shift_layers(node, 1, bases, relative=True)  # type: ignore[no-any-return]

    for p in range(1, len(before) + 1):
        if any(on(before[i]) != before[i + p] for i in range(len(before) - p)):
            continue
        run = list(before)
        for _ in range(MAX_FILLED):
            nxt = on(run[-p])
            if nxt == after:
                return [*run, after]
            run.append(nxt)
    raise FormulaError(
        "an ellipsis (…) in a product: the factors it stands for cannot be told from those "
        "before it, each one layer on, up to the one after it; write them out (or the "
        "formula for one layer, as a recurrence)"
    )


@v_args(inline=True)
class Ellipses(_CommonIR):
    """The grammar's rules for a product with an ellipsis (a mixin of ``LatexToIR``)."""

    def juxt_dots(self, a: IR, _dots: Token, b: IR) -> IR:
        """``a … b`` written side by side: a product whose kind the shapes decide."""

        def link(node: IR) -> bool:
            return isinstance(node, Bin) and node.op == "mat" and node.bare

        items = filled(_factors(a, link), b)
        out = items[0]
        for item in items[1:]:
            out = Bin("mat", out, item, bare=True)
        return out

    def binop_dots(self, a: IR, op: Token, _dots: Token, op2: Token, b: IR) -> IR:
        """``a × ⋯ × b``: the same product sign on both sides of the ellipsis."""
        if str(op) != str(op2):
            raise FormulaError(
                f"an ellipsis between two product signs, {op} and {op2}: write one sign"
            )

        def link(node: IR) -> bool:
            return isinstance(node, Amb) and node.sign == str(op)

        if str(op) not in ("\\times", "\\cdot", "*"):
            raise FormulaError(f"an ellipsis in a product with {op}: write the factors out")
        items = filled(_factors(a, link), b)
        out = items[0]
        for item in items[1:]:
            out = Amb(out, item, str(op))
        return out
