"""Layer indices: which layer a symbol names (``W_2``, ``δ_{l+1}``, ``A_{L-1}``).

Every node of the IR that names a symbol carries one; the transformers build them (the
bounds are in ``numbers``) and the renumberings shift them. Apart from ``ir`` because
an index is no node: it holds no other node and is never walked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias


@dataclass(frozen=True, slots=True)
class IntIndex:
    """A layer number: ``W_2``."""

    k: int


@dataclass(frozen=True, slots=True)
class RelIndex:
    """A layer relative to the generic ``l`` or the last layer ``L``: ``δ_{l+1}``."""

    letter: str  # "l" | "L"
    offset: int


Index: TypeAlias = IntIndex | RelIndex


def index_text(idx: Index) -> str:
    """``2``, ``l``, ``l+1``, ``L-1``: an index as written."""
    if isinstance(idx, IntIndex):
        return str(idx.k)
    return idx.letter + (f"{idx.offset:+d}" if idx.offset else "")


def shifted(idx: Index, by: int) -> Index:
    """The index ``by`` layers further."""
    if isinstance(idx, IntIndex):
        return IntIndex(idx.k + by)
    return RelIndex(idx.letter, idx.offset + by)
