"""A snippet's ``if mode == 'train':`` chain, read for the one mode its program is.

CS231n's layer backward passes branch on the mode a forward ran in (``mode =
dropout_param['mode']``, then ``if mode == 'train': … elif mode == 'test': …``). A program
is one forward (``[backward] mode = "train"`` says which), so the chain is resolved while
the snippet is read: the branch for that mode is kept (its lines, their numbers), the
others dropped. Only a comparison of a mode name with a string is read; any other ``if``
is left to the grammar, which says it cannot read it.
"""

from __future__ import annotations

import re

from derive.formula.ir import FormulaError

_HEAD = re.compile(r"^(if|elif)\s+([A-Za-z_]\w{0,40})\s*(==|!=)\s*(['\"])(\w{1,40})\4\s*:$")
_ELSE = re.compile(r"^else\s*:$")
_MODE = re.compile(r"^([A-Za-z_]\w{0,40})\s*=\s*\w+\s*(?:\[\s*|\.get\(\s*)(['\"])mode\2")


def mode_names(lines: list[tuple[int, str]]) -> set[str]:
    """The names that hold the mode: ``mode`` and any ``x = p['mode']`` / ``p.get('mode')``."""
    found = {"mode"}
    for _, line in lines:
        hit = _MODE.match(line)
        if hit:
            found.add(hit.group(1))
    return found


def resolve(
    lines: list[tuple[int, str]], indents: dict[int, int], mode: str, mode_at: str = ""
) -> list[tuple[int, str]]:
    """``lines`` (number, text) with each mode chain replaced by the body of the branch
    ``mode`` takes; ``indents`` gives each line number's indentation. A mode that no
    branch of a chain compares with is refused (``mode_at`` says where it is written):
    a misspelt ``"trian"`` would otherwise have the ``else`` branch judged."""
    names = mode_names(lines)
    out: list[tuple[int, str]] = []
    i = 0
    while i < len(lines):
        number, text = lines[i]
        head = _HEAD.match(text)
        if not head or head.group(1) != "if" or head.group(2) not in names:
            out.append((number, text))
            i += 1
            continue
        if not mode:
            raise FormulaError(
                f"line {number}: the snippet branches on {head.group(2)}; a program is the "
                'forward of one mode: say which with [backward] mode = "train"'
            )
        level = indents.get(number, 0)
        first = number
        compared: list[str] = []  # the chain's if/elif lines
        branches: list[tuple[bool, list[tuple[int, str]]]] = []
        while i < len(lines):
            number, text = lines[i]
            head, other = _HEAD.match(text), _ELSE.match(text)
            follows = other is not None or (head is not None and head.group(1) == "elif")
            if indents.get(number, 0) != level or (branches and not follows):
                break
            if head is not None and head.group(2) not in names:
                raise FormulaError(f"line {number}: only a branch on the mode is read ({text})")
            end = i + 1
            while end < len(lines) and indents.get(lines[end][0], 0) > level:
                end += 1
            if end == i + 1:
                raise FormulaError(f"line {number}: {text} has no indented body")
            if head is not None:
                compared.append(text)
            holds = other is not None or (
                head is not None and (head.group(5) == mode) == (head.group(3) == "==")
            )
            branches.append((holds, lines[i + 1 : end]))
            i = end
            if other is not None:
                break
        words = [w for w in (_HEAD.match(t) for t in compared) if w is not None]
        if words and mode not in {w.group(5) for w in words}:
            used = ", ".join(sorted({repr(w.group(5)) for w in words}))
            raise FormulaError(
                f"{mode_at or 'the program'}: mode = {mode!r} is not a mode the snippet's "
                f"branches compare with (line {first}: {used}); write one of them"
            )
        chosen = next((body for holds, body in branches if holds), [])
        out.extend(resolve(chosen, indents, mode, mode_at))
    return out
