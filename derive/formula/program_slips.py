"""The usual slips of a hand-written NumPy snippet, each with its repair.

``program_check`` reruns the snippet once per repair (one, then two at once) to find the
slip that makes it right: an axis, sum for mean, a transpose too many or missing, a
product's order, ``@`` for ``*`` and back, a sign, an extra term, a number that counts a
term twice (``2 * mean(…)``), a whole ``+=`` that does not belong (a weight-decay term the
program's loss does not have). Only the statements the
judged name reads are repaired (``reads``), and never inside ``x.shape``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import sympy

from derive.formula.step_slips import StepNames, rebuild, step_edits
from derive.spec import program_grammar as G

__all__ = ["mutations", "reads", "rebuild"]


def _edits(node: G.Expr, line: int) -> Iterator[tuple[str, G.Expr]]:
    """Each usual slip at this node: what it says, and the node repaired."""
    at = f"line {line}"
    if isinstance(node, G.Call) and node.fn in ("sum", "mean", "max") and node.axis is not None:
        other: G.Axis = 1 if node.axis == 0 else 0
        yield (
            f"{at}: {node.fn} over axis={node.axis}; the sum belongs over axis={other}",
            replace(node, axis=other),
        )
        swap = "mean" if node.fn == "sum" else "sum"
        if node.fn != "max":
            yield f"{at}: {node.fn} where {swap} belongs", replace(node, fn=swap)
    if isinstance(node, G.Transpose):
        yield f"{at}: a transpose too many", node.x
    if isinstance(node, G.Name):
        yield f"{at}: {node.id} needs a transpose", G.Transpose(node, node.line, node.column)
    if isinstance(node, G.Bin) and node.op == "@":
        yield (
            f"{at}: the product's order is reversed",
            replace(node, left=node.right, right=node.left),
        )
        yield (
            f"{at}: a matrix product (@) where the entrywise product (*) belongs",
            replace(node, op="*"),
        )
    if isinstance(node, G.Call) and node.fn == "dot":
        yield f"{at}: the product's order is reversed", replace(node, args=node.args[::-1])
    if isinstance(node, G.Bin) and node.op == "*":
        yield (
            f"{at}: an entrywise product (*) where the matrix product (@) belongs",
            replace(node, op="@"),
        )
    if isinstance(node, G.Bin) and node.op in ("+", "-"):
        flip: G.BinOp = "-" if node.op == "+" else "+"
        yield f"{at}: the sign of a term is wrong ({node.op} for {flip})", replace(node, op=flip)
        yield f"{at}: a term that does not belong", node.left
    if isinstance(node, G.Unary) and node.op == "-":
        yield f"{at}: the sign is wrong", node.x
    if isinstance(node, G.Num) and node.value.is_integer and node.value > 1:
        yield (
            f"{at}: the factor {node.value} counts a term {node.value} times; it belongs once",
            replace(node, value=sympy.Integer(1)),
        )


def reads(statements: list[G.Statement], name: str | None) -> set[int]:
    """The statements the value of ``name`` (at its last assignment) depends on; every
    statement when no name is given."""
    if name is None:
        return set(range(len(statements)))
    wanted, out = {name}, set()
    for i in range(len(statements) - 1, -1, -1):
        st = statements[i]
        targets = set(st.targets) if isinstance(st, G.Unpack) else {getattr(st, "target", "")}
        if not targets & wanted:
            continue
        out.add(i)
        expr = getattr(st, "expr", None)
        read = {n.id for n in G.names(expr)} if expr is not None else set()
        if not isinstance(st, G.Update | G.SetItem):  # a fresh assignment ends the chain
            wanted -= targets
        wanted |= read
    return out


def mutations(
    statements: list[G.Statement],
    lines: set[int] | None = None,
    lambdas: set[str] | frozenset[str] = frozenset(),
    decays: set[str] | frozenset[str] = frozenset(),
    step: StepNames | None = None,
) -> Iterator[tuple[str, list[G.Statement]]]:
    """Every usual slip of the snippet (in the statements ``lines``): what it says, and
    the snippet repaired. ``lambdas``: the weight-decay hyperparameters the program's
    loss does not use, so that an added term reading one is named as weight decay;
    ``decays``: those it uses, whose term's factor 2 (λ Σ W² gives 2λW, ½λ Σ W² gives λW)
    may be missing or too many. ``step``: the names of a one-step program's values (an
    activation's backward), whose slips (``step_slips``) are tried last."""
    chosen = [
        (i, st)
        for i, st in enumerate(statements)
        if isinstance(st, G.Assign | G.Update) and (lines is None or i in lines)
    ]
    for i, st in chosen:  # a whole added term first: one cheap run each
        if isinstance(st, G.Update) and st.op in ("+", "-"):
            yield _dropped(st, lambdas), [*statements[:i], *statements[i + 1 :]]
    for i, st in chosen:  # then a weight decay's factor 2: as cheap, as common
        assert isinstance(st, G.Assign | G.Update)
        for node in G.walk(st.expr):
            for said, fixed in _decay_factor(node, st.line, decays):
                variant = list(statements)
                variant[i] = replace(st, expr=rebuild(st.expr, node, fixed))
                yield said, variant
    for i, st in chosen:
        assert isinstance(st, G.Assign | G.Update)
        sizes = {id(n) for s in G.walk(st.expr) if isinstance(s, G.ShapeOf) for n in G.walk(s.x)}
        for node in G.walk(st.expr):
            if id(node) in sizes:  # X.shape[1] is a size, not a product's operand
                continue
            for said, fixed in _edits(node, st.line):
                variant = list(statements)
                variant[i] = replace(st, expr=rebuild(st.expr, node, fixed))
                yield said, variant
    if step is None or not chosen:
        return
    up = step.upstream
    reads_up = any(up in {n.id for n in G.names(st.expr)} for _, st in chosen)
    for i, st in chosen:
        assert isinstance(st, G.Assign | G.Update)
        for said, expr in step_edits(st, step, i == chosen[-1][0], reads_up):
            variant = list(statements)
            variant[i] = replace(st, expr=expr)
            yield said, variant


def _decay_factor(
    node: G.Expr, line: int, decays: set[str] | frozenset[str]
) -> Iterator[tuple[str, G.Expr]]:
    """A weight-decay strength with the factor 2 of its square's gradient missing (or
    one too many, where the loss halves the square)."""
    if not (isinstance(node, G.Name) and node.id in decays):
        return
    two = G.Num(sympy.Integer(2), node.line, node.column)
    for factor, what in ((two, "missing"), (G.Bin("/", node, two, node.line), "too many")):
        fixed = G.Bin("*", factor, node, node.line) if what == "missing" else factor
        yield (
            f"line {line}: the weight-decay term's factor 2 is {what}: the gradient of "
            f"{node.id} * sum(W * W) is 2 * {node.id} * W, of 0.5 * {node.id} * sum(W * W) "
            f"{node.id} * W",
            fixed,
        )


def _dropped(st: G.Update, lambdas: set[str] | frozenset[str]) -> str:
    """What a ``+=`` / ``-=`` that does not belong says (weight decay named as such)."""
    decay = sorted({n.id for n in G.names(st.expr)} & lambdas)
    if decay:
        return (
            f"line {st.line}: the weight-decay term ({st.text.strip()}) does not belong: the "
            f"program's loss has no {decay[0]} term (λ), so its gradient has none; the loss "
            "and the gradient disagree"
        )
    return f"line {st.line}: the term added by {st.text.strip()} does not belong"
