"""A checked snippet's sub-layer calls: ``self.layer.backward(d)``, ``self.softmax.backward(d)``.

A residual block's backward pass hands the upstream gradient to the layer it wraps
(``return dx_out + self.layer.backward(dx_out)``), an attention layer's to its softmax.
The program names each such layer under ``[sublayers]`` (``spec.program_sublayers``):
the step of its equations that the layer computes, or an opaque sub-layer the program
holds as a random smooth function. ``layer.backward(d)`` is read as that step's
vector-Jacobian product at the program's own values, computed by the rule table's reverse
walk over the step (the derivation's own engine): a formula right for every layer is right
for this one, one that drops the layer's term differs. ``layer.forward(x)`` is the step
applied to ``x``.
"""

from __future__ import annotations

import re
from typing import Any

from sympy.matrices.expressions import ZeroMatrix

from derive.core.backward import reverse_walk
from derive.core.program import ProgramError, ProgramGraph, is_scalar, shape_of, shape_text
from derive.core.staged import add
from derive.formula.ir import FormulaError
from derive.spec import program_grammar as G
from derive.spec.program_sublayers import weight_name


class LayerCalls:
    """The builder's hook for ``layer.method(arg)`` in a snippet read over ``graph``;
    ``notes`` says how each layer called was read (once each)."""

    def __init__(self, graph: ProgramGraph) -> None:
        self.graph = graph
        self.notes: list[str] = []

    def describe(self, statements: list[Any]) -> list[str]:
        """How each sub-layer the statements call is read (for the answer's notes)."""
        self.notes = []
        for st in statements:
            expr = getattr(st, "expr", None)
            for node in G.walk(expr) if expr is not None else []:
                if isinstance(node, G.Call) and "." in node.fn:
                    layer, method = node.fn.split(".", 1)
                    if any(t[0] == layer for t in getattr(self.graph.spec, "sublayers", ())):
                        self.note(layer, method)
        return self.notes

    def note(self, layer: str, method: str) -> None:
        """How ``layer.method`` was read, for the answer."""
        spec = self.graph.spec
        _, inp, out = next(t for t in spec.sublayers if t[0] == layer)
        said = (
            f"read {layer}.backward(d) as the vector-Jacobian product of the step "
            f"{out} = {layer}({inp})"
            if method == "backward"
            else f"read {layer}.forward(v) as the step {out} = {layer}({inp}) applied to v"
        )
        if weight_name(layer) in getattr(spec, "fixed", ()):
            said += (
                f" (an opaque layer, held as a random smooth one: tanh with {weight_name(layer)})"
            )
        if said not in self.notes:
            self.notes.append(said)

    def __call__(self, fn: str, args: list[Any], node: Any) -> Any:
        """The value of ``fn(*args)``, ``fn`` being ``layer.backward`` or ``layer.forward``."""
        graph = self.graph
        table = {name: (inp, out) for name, inp, out in getattr(graph.spec, "sublayers", ())}
        defs = {eq.out: eq for eq in graph.equations}
        layer, method = fn.split(".", 1)
        line = getattr(node, "line", 0)
        if layer not in table:
            known = ", ".join(table) or "none"
            raise FormulaError(
                f"line {line}: {fn}() calls a layer this program does not name (its "
                f"sub-layers: {known}); declare it under [sublayers], e.g. "
                f'{layer} = {{ input = "x", output = "y" }}'
            )
        inp, out = table[layer]
        x, y = graph.values[inp], graph.values[out]
        eq = defs[y]
        (arg,) = args
        want = x if method == "forward" else y
        if shape_of(arg) != shape_of(want):
            raise ProgramError(
                f"{fn}() is given a {shape_text(shape_of(arg))} value; "
                f"{'its input ' + inp if method == 'forward' else 'the gradient of ' + out} "
                f"is {shape_text(shape_of(want))}",
                line=line,
            )
        if method == "forward":
            return eq.rhs.xreplace({x: arg})
        got = reverse_walk([eq], {y: arg}, [x]).get(x)
        if not got:
            return ZeroMatrix(*x.shape) if not is_scalar(x) else 0
        return add(got)


#: ``if self.projection:`` / ``if not self.projection:`` / ``if self.projection is None:``
_HAS = re.compile(r"^if\s+(not\s+)?(self\.)?([A-Za-z_]\w{0,39})(\s+is\s+(?:not\s+)?None)?\s*:$")
_ELSE = re.compile(r"^else\s*:$")


def present(spec: Any, layer: str) -> bool | None:
    """Whether the program has the sub-layer ``layer`` (``[sublayers] layer = false``:
    declared absent), None when it does not say."""
    if any(t[0] == layer for t in getattr(spec, "sublayers", ())):
        return True
    return False if layer in getattr(spec, "absent", ()) else None


def resolve(
    lines: list[tuple[int, str]], indents: dict[int, int], spec: Any, notes: list[str]
) -> list[tuple[int, str]]:
    """``lines`` with each ``if self.layer:`` … ``else:`` … replaced by the body the program
    takes: the layer is there when ``[sublayers]`` names it, absent when it says
    ``layer = false``; any other ``if`` is left to the grammar (which refuses it)."""
    out: list[tuple[int, str]] = []
    i = 0
    while i < len(lines):
        number, text = lines[i]
        head = _HAS.match(text)
        has = present(spec, head.group(3)) if head else None
        if head is None or (has is None and (head.group(3) in _KNOWN_WORDS or not head.group(2))):
            out.append((number, text))  # not a layer's (a plain name: the grammar says)
            i += 1
            continue
        layer = head.group(3)
        if has is None:
            raise FormulaError(
                f"line {number}: the snippet branches on self.{layer}; if it is a layer, say "
                f"whether the program has it: [sublayers] {layer} = {{ input = …, output = … "
                f"}}, or {layer} = false"
            )
        holds = has != bool(head.group(1))
        if head.group(4):
            holds = has == ("not" in head.group(4))
        level = indents.get(number, 0)
        end = i + 1
        while end < len(lines) and indents.get(lines[end][0], 0) > level:
            end += 1
        body, i = lines[i + 1 : end], end
        other: list[tuple[int, str]] = []
        if i < len(lines) and indents.get(lines[i][0], 0) == level and _ELSE.match(lines[i][1]):
            end = i + 1
            while end < len(lines) and indents.get(lines[end][0], 0) > level:
                end += 1
            other, i = lines[i + 1 : end], end
        if not body:
            raise FormulaError(f"line {number}: {text} has no indented body")
        notes.append(
            f"read line {number}'s {text} as {holds}: the program "
            + ("has" if has else "has no")
            + f" sub-layer {layer}"
        )
        out.extend(resolve(body if holds else other, indents, spec, notes))
    return out


#: Words a branch may test that are no layer (the mode chain's, read elsewhere).
_KNOWN_WORDS = frozenset({"mode", "train", "training", "True", "False"})
