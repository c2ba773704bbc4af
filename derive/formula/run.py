"""One check's context: what ``Checker.check`` is asked and what it learns on the way.

``check()`` makes one ``Run`` per call and passes it to every stage (resolve,
equivalence, diagnosis, answer): the formula as read, the network and notation in force,
the syntax, which reading of the formula is being tried, the budget of work, and what the
stages find out. Nothing of one check lives in the checker or in a module, so nothing can
leak into the next one's verdict.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from derive.formula.algebra import Budget
from derive.formula.ir import IR
from derive.spec import Network
from derive.spec.notation import Notation


@dataclass
class Run:
    """One call of ``Checker.check`` (or one other reading of its formula)."""

    formula: str  # the user's text
    syntax: str  # latex | python
    parts: list[IR]  # LHS = RHS (= …) as read, in the reading in force
    network: Network  # the network it is checked on (a variant: batch 1, 1×1 layers)
    notation: Notation  # the user's notation, read off the formula: the answer is in it
    reading: str = ""  # the reading in force, in words ("": as written)
    budget: Budget = field(default_factory=Budget)  # no input makes a check slow
    pair_used: bool = False  # a formula in l checked on the CNN stand-in network
    readings: int = 1  # how many readings of the last part fitted the shapes
    method: str = "symbolic"
    notes: list[str] = field(default_factory=list)
    #: a number read as one of the network's concrete widths (``equivalence``): said so
    size_notes: list[str] = field(default_factory=list)
    verdict_only: bool = False  # another reading tried: no diagnosis needed
    pairs: bool = True  # the diagnosis may look for two mistakes at once
    #: another numbering of the layers tried: it must be right by itself, not by the
    #: coincidence of a one-unit layer where NumPy's (1,) broadcasts as (1, 1)
    guess: bool = False
    #: the readings of the formula's nodes already resolved, per derivation and context
    #: (``equivalence``): the diagnosis's variants share most of their nodes
    memo: dict[Any, tuple[Any, dict[Any, list[Any]]]] = field(default_factory=dict, repr=False)

    @property
    def python(self) -> bool:
        """NumPy rules (broadcasting, elementwise division) and NumPy names (dZ2)."""
        return self.syntax == "python"

    def again(self, **changes: Any) -> Run:
        """The same formula tried once more (another reading, network or numbering), with
        a fresh budget and nothing found yet."""
        fresh: dict[str, Any] = {
            "budget": Budget(),
            "pair_used": False,
            "readings": 1,
            "method": "symbolic",
            "notes": [],
            "size_notes": [],
            "verdict_only": False,
            "guess": False,
            "memo": {},
        }
        return dataclasses.replace(self, **(fresh | changes))
