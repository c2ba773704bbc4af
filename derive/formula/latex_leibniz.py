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
LEIBNIZ_REWRITES: list[tuple[re.Pattern[str], Any]] = [(_ABOVE, _prime), (_BEFORE, _prime)]

LEIBNIZ_NOTE = "dσ/dz read as the activation's derivative σ'(z)"


def leibniz_notes(text: str) -> list[str]:
    """The note saying an activation's derivative in Leibniz's notation was read."""
    found = [m for p, _ in LEIBNIZ_REWRITES for m in p.finditer(text)]
    return [LEIBNIZ_NOTE] if any(_prime(m) != m.group(0) for m in found) else []
