"""Names a LaTeX derivation gives its own results (``∂L/∂V = Bᵀ ∂L/∂C = ζ_1``).

Authors who derive a staged backward pass step by step often close each equation with a
fresh name for its result and use that name in the next equations (Goubasarian's ζ_k,
the δ's and Δ's of many notes). Such a name is not one of the program's: an equation whose
last side is a lone unknown name, and whose left-hand side is a gradient the program
derives, defines that name as the gradient (the author states that the two are equal).
Later equations of the same formula, and the formulas passed as its ``context`` (the
earlier formulas of the same page), read the name so; the reading is said in a note.
Nothing else is taken from the context: its formulas are not judged here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from derive.formula.ir import FormulaError
from derive.formula.program_check import ProgramChecker
from derive.formula.program_latex import JacobianSide, Step, equations, read_side
from derive.formula.program_latex_write import names_nothing


def gradient_value(checker: ProgramChecker, name: str) -> Any | None:
    """The derivation's value of the gradient or stage ``name`` (``dV``, ``dB_4``) as an
    expression over the program's names; None if the program derives no such value."""
    if name in checker.names.values and checker.target(name) is not None:
        return checker.names.values[name]  # a named cotangent stage (dB)
    target = checker.target(name)
    for st in checker.sd.gradients.values():
        if target is not None and st.lhs == target:
            return st.rhs
    return None


def spelled(node: Any) -> str | None:
    """A tree's name without a time step (``zeta_1``), None if it is not one."""
    if node[0] != "name" or isinstance(node[3], Step):
        return None
    return str(node[1]) + (f"_{node[2]}" if node[2] else "")


@lru_cache(maxsize=1024)
def _side(text: str, words: tuple[str, ...]) -> Any:
    """``read_side``, None where it cannot be read. A page's formulas are read again as the
    context of every later one (n² reads for n formulas: a page of 100 took 20 s), so a
    side is parsed once; the tree is a tuple, never changed by its readers."""
    try:
        return read_side(text, words)
    except (JacobianSide, FormulaError):
        return None


def definition(checker: ProgramChecker, sides: list[str], words: tuple[str, ...]) -> Any:
    """(name, gradient, value) when an equation's last side names its result, else None."""
    if len(sides) < 3:
        return None
    lhs, last = _side(sides[0], words), _side(sides[-1], words)
    if lhs is None or last is None:
        return None
    grad, name = spelled(lhs), spelled(last)
    if grad is None or name is None or not names_nothing(checker, last):
        return None
    value = gradient_value(checker, grad)
    return None if value is None else (name, grad, value)


class Defined:
    """The names the formula and its context define, declared on the checker for one
    check (``undo`` takes them back: the checker is shared by later checks)."""

    def __init__(self, checker: ProgramChecker, words: tuple[str, ...]) -> None:
        self.checker, self.words = checker, words
        self.added: dict[str, str] = {}  # name -> the gradient it was read as
        self.own: set[str] = set()  # those the checked formula defines itself

    def take(self, sides: list[str], own: bool = True) -> None:
        """Declare the name an equation's last side gives its result, if it does
        (``own``: an equation of the formula checked, not of its context)."""
        found = definition(self.checker, sides, self.words)
        if found is not None:
            name, grad, value = found
            self.checker.names.declared[name] = value
            self.added[name] = grad
            self.own |= {name} if own else set()

    def take_all(self, formulas: Iterable[str]) -> None:
        """The definitions of earlier formulas (read, never judged; unreadable: skipped)."""
        for formula in formulas:
            for sides in equations(formula):
                self.take(sides, own=False)

    def note(self, formula: str) -> str | None:
        """Which defined names the formula used, and as what."""
        spelled = _names_in(formula)  # a name the formula only defines is not "read"
        used = [
            f"{n} as {g}"
            for n, g in self.added.items()
            if spelled.count(n) > (1 if n in self.own else 0)
        ]
        if not used:
            return None
        return "read " + ", ".join(used) + " (an equation of the derivation names it so)"

    def undo(self) -> None:
        """Forget the names added: the checker is reused by the next formula, whose page
        may give the same name another meaning."""
        for name in self.added:
            self.checker.names.declared.pop(name, None)
        self.added, self.own = {}, set()


def _names_in(formula: str) -> list[str]:
    """The ``\\zeta_1``-like names a formula spells (for the note only)."""
    return [
        f"{m.group(1)}_{m.group(2) or m.group(3)}"
        for m in re.finditer(r"\\?([A-Za-z]+)_(?:\{(\w+)\}|(\w))", formula)
    ]
