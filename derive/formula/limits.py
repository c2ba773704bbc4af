"""The limits of reading one formula and the errors a reading ends with.

A check spends a budget of work units (nodes read, products tried), so that no input
makes it slow; a reading fails with a ``ShapeMismatch`` (operands whose shapes do not
fit), an ``UnknownSymbol`` or ``TooComplex`` (over the budget).
"""

from __future__ import annotations

from dataclasses import dataclass

from derive.formula.ir import FormulaError

MAX_READINGS = 64


#: Work units (a node read, a product tried) one check may spend reading its formula and
#: its diagnosis's variants: a budget, so that no input makes a check slow.
MAX_PRODUCTS = 6000


SLIDE_COST = 10  # a sliding product costs about ten matrix products to build


class ShapeMismatch(FormulaError):
    """Two operands whose shapes do not fit the operation."""


class UnknownSymbol(FormulaError):
    """A symbol this network (or this layer of it) does not have."""


class TooComplex(FormulaError):
    """A formula whose readings would take too long to enumerate."""


@dataclass
class Budget:
    """How many more products a check may try (shared by every reading of one check)."""

    left: int = MAX_PRODUCTS

    def spend(self, cost: int = 1) -> None:
        """Use up ``cost`` of the budget; over it, the reading is too complex to check."""
        self.left -= cost
        if self.left < 0:
            raise TooComplex(
                "the formula is too ambiguous to check: its products (\\cdot, \\times, *) "
                "have too many readings; add brackets, or write \\odot for an elementwise "
                "product"
            )

    @property
    def exhausted(self) -> bool:
        """Whether the budget is used up."""
        return self.left < 0
