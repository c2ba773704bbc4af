"""A dict of gradients a snippet builds and hands back, read as the values it names.

deeplearning.ai's solutions end a backward pass with ``gradients = {"dxt": dxt, "dWax":
dWax, …}`` and ``return gradients``: each key names its value. Such a line is read as one
assignment per key (``dxt = dxt``), and ``return gradients`` as returning those names, so
every value is judged by its key. A key that is one of the program's own names (``'W1'``
for a gradient) is not assigned (it would change what the lines after it read); such a
dict handed back is refused (its value would go unjudged while a line before it, an
intermediate ``dW``, was judged as the answer); a dict that is anything but string keys
and values is left to the grammar's own message.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

from derive.formula.ir import FormulaError

_DICT = re.compile(r"^([A-Za-z_]\w*)\s*=\s*(\{.*\})\s*$", re.DOTALL)


def named_values(
    lines: list[tuple[int, str]], known: Callable[[str], bool], notes: list[str]
) -> list[tuple[int, str]]:
    """``lines`` with each ``name = {"key": value, …}`` written as ``key = value`` lines
    and a later ``return name`` as ``return key, …``."""
    dicts: dict[str, list[str]] = {}
    unread: dict[str, tuple[int, str]] = {}  # a dict's first key that is a program name
    out: list[tuple[int, str]] = []
    for number, line in lines:
        text = line.strip()
        returned = re.fullmatch(r"return\s+([A-Za-z_]\w*)", text)
        if returned is not None and returned.group(1) in unread:
            at, key = unread[returned.group(1)]
            raise FormulaError(
                f"line {number} returns the dict {returned.group(1)} of line {at}, whose key "
                f"{key!r} is the program's own name {key}, not a gradient's: its value would "
                f"not be judged; name the key by the gradient (d{key}) or check that value alone"
            )
        if returned is not None and returned.group(1) in dicts:
            keys = dicts[returned.group(1)]
            out.append((number, f"return {', '.join(keys)}" if keys else "return"))
            continue
        found = _DICT.match(text)
        entries = _entries(found.group(2)) if found is not None else None
        if found is None or entries is None:
            out.append((number, line))
            continue
        kept = [(k, v) for k, v in entries if k.isidentifier() and not known(k)]
        dicts[found.group(1)] = [k for k, _ in kept]
        unread.pop(found.group(1), None)
        named = [k for k, _ in entries if k.isidentifier() and known(k)]
        if named:
            unread[found.group(1)] = (number, named[0])
        out.extend((number, f"{k} = {v}") for k, v in kept)
        notes.append(
            f"read line {number}'s dict {found.group(1)} as its values, each named by its key"
        )
    return out


def _entries(text: str) -> list[tuple[str, str]] | None:
    """The (key, value source) pairs of a dict literal with string keys, else None."""
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(node, ast.Dict) or not node.keys:
        return None
    pairs: list[tuple[str, str]] = []
    for key, value in zip(node.keys, node.values, strict=True):
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            return None
        source = ast.get_source_segment(text, value)
        if source is None:
            return None
        pairs.append((key.value, " ".join(source.split())))
    return pairs
