"""The classic mistakes of the issue-15 layers, each undone once: the residual
connection's term missing from the δ of the layer it skips from, and inverted dropout's
1/p missing. (A sum over the wrong axis, batch norm's dγ summed over the units, is the
wrong-axis mistake of every sum.)"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import sympy

from derive.formula.dense_mutations import DenseMutations
from derive.formula.ir import IR, Amb, Bin, Num, Scalar, Sym, T
from derive.formula.ir_walk import nodes, replace, show
from derive.formula.layer_indices import IntIndex
from derive.formula.quantity import Quantity
from derive.formula.run import Run
from derive.spec import Dropout, Residual


class LayerMutations(DenseMutations):
    """The mistakes of residual and dropout layers (``Mutations`` tries them last)."""

    def layer_mutations(self, run: Run, rhs: IR, q: Quantity) -> Iterator[tuple[str, IR]]:
        """Each mistake of these layers undone once: (what it is, the formula without it)."""
        yield from self.skip_terms(run, rhs, q)
        yield from self.dropout_scales(run, rhs)

    def skip_terms(self, run: Run, rhs: IR, q: Quantity) -> Iterator[tuple[str, IR]]:
        """``δ_k = (W_{k+1}ᵀ δ_{k+1}) ⊙ f'(Z_k)`` where A_k is also added into a later
        layer r (``Z_r = … + A_k`` or ``+ P_r A_k``): the skip's term ``δ_r`` (``P_rᵀ δ_r``)
        is missing from the gradient that reaches A_k."""
        if q.kind not in ("delta", "cot") or not isinstance(q.idx, IntIndex):
            return
        k = int(q.idx.k)
        column = self.d.program.column
        sh = partial(show, python=run.python)
        for r, layer in enumerate(self.d.network.layers, start=1):
            if not isinstance(layer, Residual) or layer.skip_from != k:
                continue
            delta: IR = Sym("delta", IntIndex(r), False)
            term: IR = delta
            if layer.projection:
                p: IR = T(Sym("P", IntIndex(r), False))
                term = Bin("mat", p, delta) if column else Bin("mat", delta, p)
            what = (
                f"the residual connection's term {sh(term)} is missing (A_{k} is added into "
                f"Z_{r}, so δ_{r} flows back to it through the skip)"
            )
            if q.kind == "cot":
                yield what, Bin("add", rhs, term)
            for path, node in nodes(rhs):  # the backward of the layer after: W^T δ
                product = isinstance(node, Amb) or (isinstance(node, Bin) and node.op == "mat")
                if product and any(
                    isinstance(n, Sym) and n.base == "delta" for _, n in nodes(node)
                ):
                    yield what, replace(rhs, path, Bin("add", node, term))
                    break

    def dropout_scales(self, run: Run, rhs: IR) -> Iterator[tuple[str, IR]]:
        """A mask ``M_k`` without inverted dropout's ``1/p``."""
        masks = [n for _, n in nodes(rhs) if isinstance(n, Sym) and n.base == "M"]
        if not masks or not isinstance(masks[0].index, IntIndex):
            return
        k = int(masks[0].index.k)
        layers = self.d.network.layers
        if not 1 <= k <= len(layers) or not isinstance(layers[k - 1], Dropout):
            return
        p = layers[k - 1].p  # type: ignore[union-attr]
        if any(isinstance(n, Scalar) and n.name == str(p) for _, n in nodes(rhs)):
            return
        scale: IR = Scalar(p) if isinstance(p, str) else Num(sympy.Rational(p))
        yield (
            f"inverted dropout's 1/{p} is missing: the mask M_{k} keeps a unit with "
            f"probability {p} and scales what it keeps by 1/{p}",
            Bin("div", rhs, scale),
        )
