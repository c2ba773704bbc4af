"""Euler's number to a power, ``e^{-z}``, as ``\\exp(-z)``: how notes, slides and Q&A
answers write the sigmoid (``1/(1+e^{-z})``, its derivative ``e^{-z}/(1+e^{-z})^2``) and
the softmax (``e^{z_i}/\\sum_j e^{z_j}``). A letter ``e`` is also a name of its own in
some sources (LxMLS's error vectors ``\\mathbf{e}^{n}``, ``e^{N-1}``), whose superscript
is a layer: so ``e^{…}`` is read as the exponential only where its exponent cannot be a
layer's script, i.e. where it holds a subscript, a sign, a command or another power, or is
one of the letters notes use for values (x, z, s, a, u, v, y, o, h). Anything else is left
as written (the grammar reads it, or says what it cannot read)."""

from __future__ import annotations

import re
from typing import Any

#: The letters a lone exponent may be, read as a value (layer letters such as l, n, N, L,
#: k and sample letters i, m are not among them: ``e^{n}`` stays a name with its layer).
VALUE_LETTERS = "xzsauvyoh"

#: ``e^{BODY}`` (one level of nested braces in the body) or ``e^x``, with ``e`` standing
#: alone (not the end of a word or a command: ``\\neq``, ``\\mathbf{e}`` ends in ``}``).
_EULER = re.compile(
    r"(?<![A-Za-z\\])e\s*\^\s*(?:\{((?:[^{}]|\{[^{}]*\})*)\}|([A-Za-z])(?![A-Za-z_{]))"
)

#: A layer's or a sample's script: ``n``, ``N-1``, ``(l+1)``, ``[2]``, ``m,n``, ``T``.
_SCRIPT = re.compile(r"^[\s(\[]*[A-Za-z0-9]+(?:\s*[+-]\s*[A-Za-z0-9]+)?[\s)\]]*$")


def _is_exponent(body: str) -> bool:
    """Whether a superscript of ``e`` is an exponent, not a layer's or a sample's script."""
    body = body.strip()
    if not body or "," in body or body in ("T", "\\top", "'", "\\prime"):
        return False
    if len(body) == 1:
        return body in VALUE_LETTERS
    if body.startswith("-") or any(c in body for c in "_\\^"):
        return True
    return not _SCRIPT.match(body)  # a product or quotient of values (\theta x, 2z)


def _exp(m: re.Match[str]) -> str:
    body = m.group(1) if m.group(1) is not None else m.group(2)
    return f"\\exp({body}) " if _is_exponent(body) else m.group(0)


#: (pattern, replacement) for ``parse``'s list of rewrites, before the others.
EULER_REWRITES: list[tuple[re.Pattern[str], Any]] = [(_EULER, _exp)]

EULER_NOTE = "e^{…} read as the exponential exp(…) (Euler's number to a power)"


def euler_notes(text: str) -> list[str]:
    """The note saying that a power of ``e`` was read as the exponential, if one was."""
    return [EULER_NOTE] if any(_exp(m) != m.group(0) for m in _EULER.finditer(text)) else []
