"""The arguments of a call, read as text (``f(a, g(b), c)`` -> ``a``, ``g(b)``, ``c``):
the readers that rewrite a call before the grammar reads it (``guesses``,
``python_unpack``). Never evaluated."""

from __future__ import annotations

#: A call's arguments: one level of brackets inside.
CALL_ARGS = r"\((?P<args>(?:[^()\n]|\([^()\n]*\))*)\)"


def call_arguments(args: str) -> list[str] | None:
    """A call's arguments split at its top-level commas (None if the brackets do not
    balance)."""
    out, depth, start = [], 0, 0
    for i, c in enumerate(args):
        depth += c in "([{"
        depth -= c in ")]}"
        if depth < 0:
            return None
        if c == "," and depth == 0:
            out.append(args[start:i].strip())
            start = i + 1
    out.append(args[start:].strip())
    return out if depth == 0 else None
