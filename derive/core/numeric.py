"""The NumPy value domain of the one interpreter (``derive.core.interpret``).

The formula checker evaluates a user's formula and the derived one on the same random
arrays; it has no module to export for an arbitrary formula, so it interprets the SymPy
tree directly. Scalar activation formulas are compiled once per formula by ``lambdify``
(our own expressions, never a user's string).

The domain and its table are ``numeric_domain``; this module loads the entries of
``numeric_conv`` (feature maps) and ``numeric_program`` (the issue-14 primitives) into it
and is what every consumer imports.
"""

from __future__ import annotations

from derive.core import numeric_program as _program_entries  # noqa: F401 - fills EVAL
from derive.core.numeric_conv import _ints  # (and its entries fill EVAL)
from derive.core.numeric_domain import (
    EVAL,
    NUMPY,
    STANDIN,
    NumPyDomain,
    evaluate,
    on,
)

__all__ = ["EVAL", "NUMPY", "STANDIN", "NumPyDomain", "_ints", "evaluate", "on"]
