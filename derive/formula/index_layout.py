"""The axes of each symbol in an index form (``indexed``): which are written as entry
indices and which are implicit (samples, channels), summed where the left side has them
not; and the letters an index form's entries use."""

from __future__ import annotations

from typing import Any

from derive.core.graph import split_name
from derive.core.nodes import is_tensor
from derive.formula.ir import IR, Entry
from derive.formula.ir_walk import nodes

#: Σ over a letter its terms do not index (Nielsen's Σ_x, over the training inputs x): the
#: sum over the samples, as the same Σ in a matrix formula is read.
SAMPLES_NOTE = (
    "Σ_{var} read as the sum over the samples (the training inputs, as Nielsen writes Σ_x): "
    "{var} indexes no entry of its terms"
)


def used_letters(node: IR) -> set[str]:
    """The letters the entry indices under ``node`` use."""
    return {
        letter
        for _, n in nodes(node)
        if isinstance(n, Entry)
        for terms in n.indices
        for _, letter in terms
        if isinstance(letter, str)
    }


class Layout:
    """The implicit and written axes of an index form's symbols, in one network (``r``:
    the resolver of its symbols)."""

    r: Any

    def layer_of(self, sym: Any) -> int:
        """The layer a symbol of an index form belongs to."""
        base, idx = split_name(sym.name)
        if base == "X":
            return 0
        if base == "Y":
            return int(self.r.d.depth)
        return int(idx)

    def layout(self, sym: Any, written: int = 0) -> list[str | None]:
        """The axes of ``sym``'s array: an implicit index's name, or None where a written
        entry index goes. A map (n, c_j, i, j), a kernel (c_j, c_(j-1), u, v), a conv bias
        (c_j); a dense matrix's units are written and its samples implicit: Z_j (i, n) in
        the column convention, (n, i) in the row one, W_j (i, k), b_j (i, 1) or (1, i);
        with ``written`` two indices a batch matrix's samples are written too (Z_{ji})."""
        base, _ = split_name(sym.name)
        j = self.layer_of(sym)
        if is_tensor(sym):
            if base == "K":
                return [f"c{j}", f"c{j - 1}", None, None]
            if base == "b":
                return [f"c{j}"]
            return ["n", f"c{j}", *[None] * (len(sym.shape) - 2)]
        column = self.r.d.program.column
        if base == "W" or (written == 2 and base != "b"):
            return [None, None]
        inner = f"one{j}" if base == "b" else "n"  # b_j's axis of length 1; the samples
        return [None, inner] if column else [inner, None]

    def implicit_axes(self, sym: Any) -> list[str]:
        """The axes a term sums over without saying so (its free indices not on the left)."""
        return [a for a in self.layout(sym) if a is not None]
