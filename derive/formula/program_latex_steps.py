"""Time-step indices of LaTeX over a forward program (``program_latex``): ``t``, ``t+1``,
``T``, ``τ``, and the indices of a sum over steps (``\\sum_{i=t}^T … o_{T+t-i}``,
``(W^T)^{T-i}``), each a ``Step`` that ``program_latex_write`` evaluates at a step k, the
last step T and the values of the sums' indices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Step:
    """A time index as written: ``t+1`` is Step("t", 1), ``T`` and ``τ`` Step("T", 0);
    ``T+t-i`` (an index bound by a sum, ``isum``) is Step("t", 0, (("T", 1), ("i", -1)))."""

    letter: str
    offset: int = 0
    more: tuple[tuple[str, int], ...] = ()

    def letters(self) -> set[str]:
        """The step's letters (t, T, a sum's index)."""
        return {self.letter, *(v for v, _ in self.more)}


def index(parts: list[Any]) -> Step:
    """``T+t-i`` (tokens: terms and signs) as a Step over its letters."""
    coeffs: dict[str, int] = {}
    offset, sign = 0, 1
    for part in parts:
        text = str(part)
        if text in ("+", "-"):
            sign = 1 if text == "+" else -1
            continue
        if text.isdigit():
            offset += sign * int(text)
        else:
            letter = "T" if text in ("T", "\\tau") else text
            coeffs[letter] = coeffs.get(letter, 0) + sign
        sign = 1
    coeffs = {v: c for v, c in coeffs.items() if c}
    main = "t" if coeffs.get("t") == 1 else "T" if coeffs.get("T") == 1 else ""
    if not main:  # 1, t+1 - i: the first letter of coefficient 1, if any ("" for none)
        main = next((v for v, c in coeffs.items() if c == 1), "")
    return Step(main, offset, tuple((v, c) for v, c in coeffs.items() if v != main))


def bound_names(node: Any, var: str) -> Any:
    """A sum's body with ``x_i`` (``i`` its index, a plain subscript) as a stepped name."""
    if not isinstance(node, tuple) or not node:
        return node
    if node[0] == "name" and node[2] == var and node[3] is None:
        return ("name", node[1], None, Step(var))
    return (node[0], *(bound_names(p, var) for p in node[1:]))


def step_of(word: Any) -> Step:
    """``t`` or ``T`` (``τ``) as a step."""
    return Step("t" if str(word) == "t" else "T")
