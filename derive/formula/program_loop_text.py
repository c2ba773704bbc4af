"""The text of a BPTT snippet's lines: the patterns the loop reader knows and the bracket
helpers it cuts lines with (``program_loops`` and the modules after it read through these)."""

from __future__ import annotations

import re

from derive.formula.program_steps import MAX_STEPS

#: The most times a loop's body is run (a loop longer than the program's T is refused
#: by its first index out of range; this bounds a ``while`` that never ends).
MAX_TURNS = 4 * MAX_STEPS

LOOP_RE = re.compile(r"^(for|while)\b")
FOR_RE = re.compile(r"^for\s+(?P<var>\w+)\s+in\s+(?P<iter>.+):$")
WHILE_RE = re.compile(r"^while\s+(?P<cond>.+):$")
IF_RE = re.compile(r"^(if|elif)\s+(?P<cond>.+):$")
ASSIGN_RE = re.compile(r"^(?P<lhs>[^=]+?)\s*(?P<op>[-+*/]?)=\s*(?P<rhs>.+)$")
ALLOC_RE = re.compile(r"^np\.(?P<fn>zeros|empty|zeros_like|empty_like)\((?P<args>.*)\)$")
TRANSPOSE_RE = re.compile(
    r"^(?P<x>\w+)\.transpose\((?P<p>.*)\)$|^np\.transpose\((?P<y>\w+),(?P<q>.*)\)$"
)
#: A step's backward called by name: ``rnn_step_backward``, ``lstm_cell_backward``, …
STEP_FN = r"\w*(?:step|cell)_backward"
CALL_RE = re.compile(rf"^(?P<fn>{STEP_FN})\((?P<args>.*)\)$")
NAME_RE = re.compile(r"^[A-Za-z_]\w*$")


def has_loop(lines: list[tuple[int, str]]) -> bool:
    """Whether the snippet has a ``for`` or ``while`` loop."""
    return any(LOOP_RE.match(line) for _, line in lines)


def split_top(text: str, sep: str = ",") -> list[str]:
    """``text`` split at ``sep`` outside brackets, each part stripped."""
    parts, depth, buf = [], 0, ""
    for ch in text:
        depth += (ch in "([{") - (ch in ")]}")
        if ch == sep and depth == 0:
            parts.append(buf.strip())
            buf = ""
        else:
            buf += ch
    parts.append(buf.strip())
    return parts


def balanced(text: str) -> bool:
    """Whether every bracket of ``text`` is closed by its own kind, in order."""
    stack: list[str] = []
    for ch in text:
        if ch in "([{":
            stack.append({"(": ")", "[": "]", "{": "}"}[ch])
        elif ch in ")]}" and (not stack or stack.pop() != ch):
            return False
    return not stack


def unparen(text: str) -> str:
    """``text`` without the brackets that enclose all of it (``((N, H))`` is ``N, H``)."""
    text = text.strip()
    while text[:1] in "([" and text[-1:] in ")]" and _closes_at_end(text):
        text = text[1:-1].strip()
    return text


def _closes_at_end(text: str) -> bool:
    depth = 0
    for i, ch in enumerate(text):
        depth += (ch in "([{") - (ch in ")]}")
        if depth == 0 and i < len(text) - 1:
            return False
    return True


def matching(text: str, at: int) -> int | None:
    """Where the bracket opened at ``at`` closes (None: it does not)."""
    depth = 0
    for i in range(at, len(text)):
        depth += (text[i] in "([{") - (text[i] in ")]}")
        if depth == 0:
            return i
    return None
