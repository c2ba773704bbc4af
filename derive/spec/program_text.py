"""Writing a built program's TOML text from our own names (the sequence builders').

A builder checks each argument (``choice``, ``checked_sizes``) and writes every value as
a checked name, a size or a fixed word, so nothing a user typed is pasted into an
equation; ``loads_program`` then reads the text as it would read a file.
"""

from __future__ import annotations

import json

from derive.spec.program_records import Size, size_value
from derive.spec.records import SpecError


def choice(value: object, allowed: tuple[str, ...], key: str) -> str:
    """``value`` if it is one of ``allowed``, else a SpecError naming them."""
    if value not in allowed:
        raise SpecError(f"{key} must be one of {', '.join(allowed)}; got {value!r}", key=key)
    return str(value)


def toml_value(v: object) -> str:
    """One TOML value: a list, an inline table, an integer or a quoted name."""
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, int):
        return str(v)
    return '"' + str(v) + '"'  # our own names and size symbols: letters, digits, _


def program_toml(
    title: str,
    comment: str,
    tables: dict[str, dict[str, object]],
    equations: list[str],
    tail: dict[str, dict[str, str]],
) -> str:
    """The program's TOML text (every value a checked name, size or fixed word)."""
    # the name is the caller's: a TOML string escaped as JSON escapes it (TOML reads those)
    name = json.dumps(str(title), ensure_ascii=False)
    out = [f"# {' '.join(comment.split())}", f"name = {name}", 'convention = "row"']
    for table, entries in tables.items():
        if entries:
            out += ["", f"[{table}]"]
            out += [f"{k} = {toml_value(v)}" for k, v in entries.items()]
    out += ["", "[forward]", 'equations = """', *equations, '"""']
    for table, texts in tail.items():
        out += ["", f"[{table}]"]
        out += [f"{k} = {toml_value(v)}" for k, v in texts.items()]
    return "\n".join(out) + "\n"


def checked_sizes(**sizes: object) -> dict[str, Size]:
    """Each size a checked symbol name or a positive integer (``sequence.<name>`` in errors)."""
    return {k: size_value(v, f"sequence.{k}") for k, v in sizes.items()}
