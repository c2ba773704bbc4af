"""An activation's derivative in Leibniz's notation, as notes derive the sigmoid's
(``\\frac{d\\sigma}{dz} = \\sigma(z)(1 - \\sigma(z))``,
``\\frac{\\partial \\sigma(z)}{\\partial z}``, ``\\frac{d}{dx} \\tanh(x)``): the function's
derivative at that variable, ``σ'(z)``, which the grammar reads (as a rule of its own on
a left-hand side, ``derivative_rules``, or as a factor). Only for a function's name (σ,
tanh, φ, f, g, ReLU, …) differentiated by the variable it is applied to (or applied to
nothing), a variable such as z, x, s, a, u (``\\frac{dE}{dz}`` is no such thing, nor
``∂f/∂w_l``, a network's function by a weight)."""

from __future__ import annotations

import re
from typing import Any

from derive.formula.ir import Bin, Chain, Fn, Sym
from derive.formula.ir_walk import map_children
from derive.formula.latex_lhs import DD

_FN = (
    r"\\sigma|\\tanh|\\phi|\\varphi|f|g|relu|ReLU|sigmoid|tanh"
    r"|\\(?:operatorname|mathrm|text)\s*\{\s*(?:relu|ReLU|sigmoid|tanh|sech)\s*\}"
)
_VAR = (
    r"[zZxXsauvt](?:\s*_\s*(?:\{[^{}]*\}|[A-Za-z0-9]))?(?:\s*\^\s*(?:\{[^{}]*\}|[A-Za-z0-9]))?"
    r"(?:\s*_\s*(?:\{[^{}]*\}|[A-Za-z0-9]))?"
)
_D = r"(?:d|\\partial|\\mathrm\{d\}|\\text\{d\})\s*"
_ARG = rf"(?:\\left\s*)?\(\s*(?P<arg>{_VAR})\s*(?:\\right\s*)?\)"

#: ``\frac{dσ}{dz}``, ``\frac{∂σ(z)}{∂z}``: the function above, the variable below.
_ABOVE = re.compile(
    rf"\\frac\s*\{{\s*{_D}(?P<fn>{_FN})\s*(?:{_ARG})?\s*\}}\s*\{{\s*{_D}(?P<var>{_VAR})\s*\}}"
)
_AT = r"(?P<at>(?:[^(){}|=]|\{[^{}]*\})+?)"
#: ``\frac{dσ}{dz}(z^L)``, ``\left.\frac{dσ}{dz}\right|_{z = z^L}``: the derivative at a point.
_EVALUATED = re.compile(
    rf"(?:\\left\s*\.\s*)?\\frac\s*\{{\s*{_D}(?P<fn>{_FN})\s*(?:{_ARG})?\s*\}}\s*"
    rf"\{{\s*{_D}(?P<var>{_VAR})\s*\}}\s*(?:\\right\s*\|\s*_\s*\{{\s*(?P<bar>{_VAR})\s*=\s*"
    rf"{_AT}\s*\}}|(?:\\left\s*)?\(\s*{_AT.replace('at>', 'at2>')}\s*(?:\\right\s*)?\))"
)


def _at(m: re.Match[str]) -> str:
    """``fn'(point)``: the derivative by the variable, at the point written."""
    arg, bar = m.group("arg"), m.group("bar")
    if (arg is not None and not _same(arg, m.group("var"))) or (
        bar is not None and not _same(bar, m.group("var"))
    ):
        return m.group(0)
    return f" {m.group('fn')}'({m.group('at') or m.group('at2')}) "


#: ``\frac{d}{dz} σ(z)``: the operator, then the function applied to the variable.
_BEFORE = re.compile(
    rf"\\frac\s*\{{\s*{_D}\}}\s*\{{\s*{_D}(?P<var>{_VAR})\s*\}}\s*(?P<fn>{_FN})\s*{_ARG}"
)


def _same(a: str, b: str) -> bool:
    return re.sub(r"\s", "", a) == re.sub(r"\s", "", b)


def _prime(m: re.Match[str]) -> str:
    """``fn'(var)`` where the function is applied to the variable it is differentiated by."""
    arg = m.group("arg")
    if arg is not None and not _same(arg, m.group("var")):
        return m.group(0)
    return f" {m.group('fn')}'({m.group('var')}) "


#: (pattern, replacement) for the LaTeX rewrites (``latex_rewrites``).
LEIBNIZ_REWRITES: list[tuple[re.Pattern[str], Any]] = [
    (_EVALUATED, _at),
    (_ABOVE, _prime),
    (_BEFORE, _prime),
]

LEIBNIZ_NOTE = "dσ/dz read as the activation's derivative σ'(z)"


def leibniz_notes(text: str) -> list[str]:
    """The note saying an activation's derivative in Leibniz's notation was read."""
    found = [(f, m) for p, f in LEIBNIZ_REWRITES for m in p.finditer(text)]
    return [LEIBNIZ_NOTE] if any(f(m) != m.group(0) for f, m in found) else []


LINK_NOTE = "∂a/∂z, a factor of ⊙, read as the activation's derivative f'(z), entry by entry"


def _link(node: Any) -> Any:
    """``∂a^l/∂z^l`` as the layer's f'(z^l) (None: not such a link)."""
    if not isinstance(node, DD) or not isinstance(node.num, Sym) or not isinstance(node.den, Sym):
        return None
    a, z = node.num, node.den
    if (a.base, z.base) != ("A", "Z") or a.index is None or a.index != z.index:
        return None
    return Fn("generic", 1, z)


def elementwise_links(node: Any, notes: list[str]) -> Any:
    """``(W^{l+1})ᵀ δ^{l+1} ⊙ ∂a^l/∂z^l``: the derivative of a layer's activation by its
    pre-activation, multiplied entry by entry, is its elementwise derivative f'(z^l) (a
    diagonal Jacobian applied with ⊙); a link of a chain written as a product stays one
    (``telescoped``). Said in ``notes``."""
    if isinstance(node, Bin) and node.op == "had":
        a, b = _link(node.a), _link(node.b)
        if a is not None or b is not None:
            if LINK_NOTE not in notes:
                notes.append(LINK_NOTE)
            return Bin(
                "had",
                a if a is not None else elementwise_links(node.a, notes),
                b if b is not None else elementwise_links(node.b, notes),
                bare=node.bare,
            )
    if isinstance(node, Chain):  # X ⊙ A B ⊙ ∂a/∂z: a link whose gaps are all ⊙
        items = list(node.items)
        for i, item in enumerate(items):
            gaps = node.ops[max(i - 1, 0) : i + 1]
            link = _link(item)
            if link is not None and gaps and set(gaps) == {"h"}:
                items[i] = link
                if LINK_NOTE not in notes:
                    notes.append(LINK_NOTE)
        node = Chain(node.ops, tuple(items), node.bare)
    return map_children(node, lambda c: elementwise_links(c, notes))
