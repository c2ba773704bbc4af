"""Declared notation: the user's own names (``S`` is ``Z_2``, ``dout`` is ``dZ_2``).

A ``[notation.symbols]`` table or ``--symbol NAME=QUANTITY`` states once what a name
means; each formula then reads with the name replaced by the quantity, spelled in the
formula's own syntax, before our grammar reads it (so carets still point into the user's
text). The quantity was matched by a strict pattern (``derive.spec.notation``), never evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from derive.spec.notation import Declared, declared_quantity

#: LaTeX wrappers around a name that carry no math (``\text{scores}``).
_WRAPPERS = r"\\(?:text|mathrm|mathit|operatorname|mathbf|boldsymbol|bm)\{\s*{name}\s*\}"


def spelled(q: Declared, syntax: str, depth: int) -> str:
    """The quantity as the grammar of ``syntax`` reads it (``(W_{1}^T)``, ``W1.T``)."""
    if q.base == "loss":
        return "L"
    if q.base in ("X", "Y"):
        body = q.base
    elif syntax == "latex":
        k = "L" if q.layer == "L" else str(q.layer)
        body = ("\\delta" if q.base == "delta" else q.base) + "_{" + k + "}"
    else:
        k = str(depth) if q.layer == "L" else str(q.layer)
        body = ("dZ" if q.base == "delta" else q.base) + k
    if not q.transposed:
        return body
    return "(" + body + "^T)" if syntax == "latex" else body + ".T"


def _constant(text: str) -> Callable[[re.Match[str]], str]:
    """A replacement that is ``text`` whatever matched (no ``\\1`` escapes read in it)."""
    return lambda _m: text


def rewrites(
    symbols: Iterable[tuple[str, str]], syntax: str, depth: int
) -> list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]]:
    """One rewrite a declared name: every whole-word use becomes its quantity.

    A name followed by ``_`` or a letter is another word (``w_{ij}`` stays an entry of w).
    The loss is only a name in LaTeX (``\\partial E``); NumPy formulas name gradients."""
    out: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = []
    # longest first: ``dscores`` is rewritten before a declared ``d…`` prefix could match
    for name, value in sorted(symbols, key=lambda item: -len(item[0])):
        q = declared_quantity(name, value, f"notation.symbols.{name}")
        if q.base == "macro":  # \Wmatr = W: the page's macro spelled as it stands for
            if syntax == "latex":
                out.append((re.compile(re.escape(name) + r"(?![A-Za-z])"), _constant(q.text + " ")))
            continue
        if q.base == "loss" and syntax != "latex":
            continue
        text = spelled(q, syntax, depth)
        word = re.escape(name)
        if syntax == "latex":
            pattern = (
                _WRAPPERS.replace("{name}", word) + rf"|(?<![\\A-Za-z0-9]){word}(?![A-Za-z0-9_])"
            )
        else:
            pattern = rf"(?<![A-Za-z0-9_.]){word}(?![A-Za-z0-9_])"
        out.append((re.compile(pattern), _constant(text)))
    return out
