"""The other pair of letters for a layer's values: a as the pre-activation and z as the
activation (Goodfellow et al. §6.5, Bishop's PRML §5.3, Saito's *Deep Learning from
Scratch*), the other way round from Ng's and Nielsen's z = W a + b, a = f(z) that derive
reads. A formula wrong as read but right with the letters swapped is one the checker
cannot judge without being told (``--symbol a1=Z_1``); it says so rather than guess."""

from __future__ import annotations

from typing import Any

from derive.formula.ir import FormulaError, Sym
from derive.formula.ir_walk import map_children

#: Lower-case letters and their swapped reading: a <-> z, and their gradients da <-> dz.
_SWAP = {"A": "Z", "Z": "A", "dA": "delta", "delta": "dA"}


def _swapped(node: Any) -> Any:
    if isinstance(node, Sym) and node.lower and node.base in _SWAP:
        return Sym(_SWAP[node.base], node.index, node.lower)
    return map_children(node, _swapped)


def letters_swapped(parts: list[Any]) -> list[Any] | None:
    """The formula with its lower-case a and z (and da, dz) swapped; None when it writes
    neither letter (nothing to swap)."""
    out = [_swapped(p) for p in parts]
    return None if out == list(parts) else out


class LettersUnsure(FormulaError):
    """A formula right only with a and z swapped: no verdict (a reading of an unknown name
    that meets this is no verdict either, ``name_readings``)."""


def refusal(diagnosis: str | None) -> LettersUnsure:
    """Why the checker cannot judge a formula right only with the letters swapped."""
    said = f" ({diagnosis})" if diagnosis and "no usual mistake" not in diagnosis else ""
    return LettersUnsure(
        "cannot tell which letters this formula uses: read with z = W a + b and a = f(z) "
        f"(Ng, Nielsen) it is wrong{said}, and with a as the pre-activation and z as the "
        "activation (Goodfellow et al., Bishop, Saito's Deep Learning from Scratch) it is "
        "right; declare the letters, e.g. --symbol a1=Z_1"
    )
