"""The slips of an activation's backward pass written by hand (``program_slips`` tries them
after its own): a step's value where another of its values belongs (the derivative taken at
the gradient arriving, ``np.tanh(dout)``, or written in the output and applied to the input,
``x * (1 - x)`` for ``out * (1 - out)``), the activation where its derivative belongs
(``np.where(x > 0, x, 0)``: ReLU's value, not its 0/1 mask), and the product with the
gradient arriving left out (a step's local derivative returned as its gradient).

Each slip says what it is in the snippet's own names; the repaired snippet is run again and
compared at the checker's points, so a slip is named only where its repair is right.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import sympy

from derive.spec import program_grammar as G


@dataclass(frozen=True)
class StepNames:
    """The names of one step's values in the snippet: its input (``x``), its output
    (``out``) and the gradient arriving at the output (``dout``); a missing one is None."""

    input: str | None
    output: str | None
    upstream: str | None

    def values(self) -> list[tuple[str, str]]:
        """(name, what it is) of each value the step has."""
        said = (
            (self.input, "the step's input"),
            (self.output, "the step's output"),
            (self.upstream, "the gradient arriving at the output"),
        )
        return [(n, w) for n, w in said if n is not None]


def renamed(expr: G.Expr, old: str, new: str) -> G.Expr:
    """``expr`` with every occurrence of the name ``old`` read as ``new``."""
    while True:
        hit = next((n for n in G.walk(expr) if isinstance(n, G.Name) and n.id == old), None)
        if hit is None:
            return expr
        expr = rebuild(expr, hit, replace(hit, id=new))


def rebuild(node: G.Expr, target: G.Expr, new: G.Expr) -> G.Expr:
    """``node`` with the sub-expression ``target`` (by identity) replaced by ``new``."""
    if node is target:
        return new
    if isinstance(node, G.Unary | G.Transpose | G.ShapeOf):
        return replace(node, x=rebuild(node.x, target, new))
    if isinstance(node, G.Bin | G.Compare):
        return replace(
            node, left=rebuild(node.left, target, new), right=rebuild(node.right, target, new)
        )
    if isinstance(node, G.Call):
        return replace(node, args=tuple(rebuild(a, target, new) for a in node.args))
    if isinstance(node, G.Pick):
        return replace(node, matrix=rebuild(node.matrix, target, new))
    return node


def step_edits(
    st: G.Assign | G.Update, names: StepNames, last: bool, reads_upstream: bool
) -> Iterator[tuple[str, G.Expr]]:
    """Each slip of one statement: what it says, and its expression repaired. ``last``: the
    statement assigns the judged value; ``reads_upstream``: the judged value's statements
    read the gradient arriving somewhere."""
    at = f"line {st.line}"
    present = {n.id for n in G.names(st.expr)}
    values = names.values()
    for old, was in values:
        if old not in present:
            continue
        for new, what in values:
            if new in (old, names.upstream):
                continue  # (the gradient arriving is never what a slip's repair writes)
            yield (
                f"{at}: {old} ({was}) is written where {new} ({what}) belongs",
                renamed(st.expr, old, new),
            )
    for node in G.walk(st.expr):
        mask = _value_for_mask(node)
        if mask is not None:
            yield (
                f"{at}: np.where(…, {mask}, 0) keeps the value {mask}: it is the activation "
                f"itself (ReLU's output), where its derivative, the 0/1 mask (1 where the "
                "condition holds), belongs",
                rebuild(st.expr, node, _with_one(node)),
            )
    if last and not reads_upstream and names.upstream is not None:
        up = G.Name(names.upstream, st.line)
        yield (
            f"{at}: the product with {names.upstream} (the gradient arriving at the output) "
            "is missing: this is the step's local derivative alone; the chain rule "
            f"multiplies it by {names.upstream}",
            G.Bin("*", st.expr, up, st.line),
        )


def _value_for_mask(node: G.Expr) -> str | None:
    """The name of ``np.where(cond, v, 0)`` whose branch ``v`` is a name the condition
    compares: the value kept where a 0/1 mask belongs."""
    if not (isinstance(node, G.Call) and node.fn == "where" and len(node.args) == 3):
        return None
    cond, kept, other = node.args
    if not isinstance(cond, G.Compare) or not isinstance(kept, G.Name):
        return None
    if not (isinstance(other, G.Num) and other.value == 0):
        return None
    compared = {n.id for n in G.names(cond)}
    return kept.id if kept.id in compared else None


def _with_one(node: G.Expr) -> G.Expr:
    """``np.where(cond, v, 0)`` with 1 for ``v``."""
    assert isinstance(node, G.Call)
    one = G.Num(sympy.Integer(1), node.line, node.column)
    return replace(node, args=(node.args[0], one, node.args[2]))
