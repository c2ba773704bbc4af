"""A reading of a name the checker does not know, and how it is put into the code: every
use of the name rewritten into the reading before the snippet is parsed again (a sign
flipped onto the right-hand side, a weight column transposed, a helper's calls). The
readings themselves come from the name's spelling (``guesses``), its role
(``role_readings``) or the layer API (``layer_api``); this is what they share.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from derive.formula.python_args import CALL_ARGS, call_arguments


@dataclass(frozen=True)
class Reading:
    """One reading of a name: its text in the NumPy grammar and in words."""

    text: str  # what the name is replaced by (``dZ2``, ``(-dZ2)``, ``A1``)
    words: str  # ``δ_2``, ``−δ_2 (minus the gradient)``
    fallback: bool = False  # tried only when no plain reading is right (a sign flip)
    lhs: str = ""  # the text where the name is assigned, if other (a recurrence)
    call: str = ""  # a function's reading: its calls become this, {x} their argument
    transposed: bool = False  # assigned as ``lhs = (value).T`` (Ng's weight column w)
    times: str = ""  # assigned as ``lhs = times * (value)`` (a gradient read as δ/m)


#: The name an ``UnknownName`` gives for the names without a layer number beside names
#: with one (``dz = np.where(z > 0, dA2, 0)``): they are tried at each layer.
UNNUMBERED = "names without a layer number"

#: The names ``number_layers`` numbers (``python_ir``'s spellings without a number).
_BARE = "W|b|Z|z|A|a|dW|db|dZ|dz|dA|da|delta"
#: The unnumbered names a layer object may keep as attributes (``self._W``): its parameters
#: and forward values. Not its gradients: a layer's ``self.delta`` is, in some code, the
#: delta it sends to the layer below (hanbt/learn_dl fc.py), so it is not numbered as its own.
_SELF = "W|b|Z|z|A|a"


def rewrite(name: str, reading: Reading) -> tuple[re.Pattern[str], Callable[[Any], str]]:
    """The rewrite (for ``parse``) of every use of ``name`` (or ``self.name``) into the
    reading; where a sign-flipped reading is assigned (``error = y - a`` as −δ), the
    sign moves to the right-hand side (``dZ2 = -(y - a)``)."""
    if reading.call:  # a helper: each call rewritten, its first argument kept
        call = re.compile(rf"(?<![\w.])(?:self\.)?{re.escape(name)}\s*{CALL_ARGS}")

        def called(m: re.Match[str]) -> str:
            args = call_arguments(m.group("args")) or [m.group("args")]
            return "(" + reading.call.replace("{x}", args[0]) + ")"

        return call, called
    if name == UNNUMBERED:  # every name without a layer number gets the layer
        bare = re.compile(rf"(?<![\w.])((?:self\._?)?(?:{_SELF})|(?:{_BARE}))(?!\w)")  # self._W
        return bare, lambda m: m.group(1) + reading.text
    word = re.escape(name)
    use = rf"\bself\.{word}(?!\w)|(?<![\w.]){word}(?!\w)"
    assigned = rf"^(?P<at>[ \t]*)(?:self\.)?{word}(?P<eq>[ \t]*=(?!=))(?P<rhs>(?:\\\n|.)*?)(?<!\\)$"
    pattern = re.compile(rf"(?m){assigned}|{use}")

    def repl(m: re.Match[str]) -> str:
        if m.group("eq") is not None:
            if reading.fallback:
                plain = reading.text[2:-1]  # (-dZ2) -> dZ2
                return f"{m.group('at')}{plain}{m.group('eq')} -({m.group('rhs')})"
            rhs = pattern.sub(lambda inner: reading.text, m.group("rhs"))
            if reading.transposed:  # dw = X dZᵀ / m: dW1 = (X dZᵀ / m).T
                return f"{m.group('at')}{reading.lhs}{m.group('eq')} ({rhs}).T"
            if reading.times:  # dx = W.T @ dout, dx as dA_prev / m: dA_prev = m * (…)
                return f"{m.group('at')}{reading.lhs}{m.group('eq')} {reading.times} * ({rhs})"
            return f"{m.group('at')}{reading.lhs or reading.text}{m.group('eq')}{rhs}"
        line = m.string[m.string.rfind("\n", 0, m.start()) + 1 : m.start()]
        return reading.lhs if reading.lhs and not line.strip() else reading.text

    return pattern, repl
