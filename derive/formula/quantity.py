"""What a formula's left-hand side names: a delta, a gradient, a cotangent, a forward step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from derive.core.derivation import Derivation
from derive.formula.parse import IR, FormulaError
from derive.formula.resolve import UnknownSymbol


@dataclass(frozen=True)
class Quantity:
    """What the left-hand side names: a delta, a gradient or an activation cotangent."""

    kind: str  # delta | grad | cot | fwd
    base: str  # delta, W, K, b, A, Z
    idx: Any  # ("int", k) | ("rel", "l"|"L", off)
    wrt_loss: str = ""  # "L" for ∂L/∂Z (whole loss), "" for δ
    entries: tuple[str, ...] = ()  # ∂L/∂k_{uv}: the entry indices written on the left
    one_sample: bool = False  # ∂C_0/∂W: the loss of one sample (a network of batch 1)

    def layers(self, d: Derivation) -> list[int]:
        """The concrete layers the quantity stands for (all hidden layers for a generic l)."""
        depth = d.depth
        if self.idx[0] == "int":
            ks = [int(self.idx[1])]
        elif self.idx[1] == "L":
            ks = [depth + self.idx[2]]
        else:
            off = self.idx[2]
            if self.kind == "delta":
                ks = [k - off for k in range(1, depth)]  # the recurrence: hidden layers
            elif self.kind == "cot":  # ∂C/∂A_l = W_{l+1}ᵀ δ_{l+1}: the layers that feed
                # another (the output's ∂C/∂A_L, from the loss, is no instance of it)
                ks = [k - off for k in sorted(d.cotangents) if k < depth]
            else:
                ks = [k - off for k in range(1, depth + 1)]
            if not ks:
                raise FormulaError("this network has no hidden layer, so no generic layer l")
        for k in ks:
            k_abs = k + (self.idx[2] if self.idx[0] == "rel" and self.idx[1] == "l" else 0)
            if not 1 <= k_abs <= depth:
                raise FormulaError(f"no layer {k_abs} in this {depth}-layer network")
        return ks

    def layer_value(self, k: int) -> int:
        """The layer the quantity names when the generic index is ``k``."""
        return k + (self.idx[2] if self.idx[0] == "rel" and self.idx[1] == "l" else 0)

    def expected(self, d: Derivation, k: int) -> Any:
        """The derived right-hand side of this quantity at layer ``k``."""
        k = self.layer_value(k)
        if self.kind == "delta":
            rhs = d.deltas[k].rhs
            if self.wrt_loss == "L" and d.per_sample:
                from derive.core.nodes import scale

                return scale(rhs, d.program.scale)
            return rhs
        if self.kind == "grad":
            if f"{self.base}_{k}" not in d.gradients:
                raise UnknownSymbol(f"layer {k} has no {self.base}")
            return d.gradients[f"{self.base}_{k}"].rhs
        if self.kind == "fwd":
            for eq in d.program.equations:
                if getattr(eq.out, "name", "") == f"{self.base}_{k}":
                    return eq.rhs
            raise UnknownSymbol(f"no {self.base}_{k} in this network")
        if k not in d.cotangents:
            raise UnknownSymbol(f"∂/∂A_{k} is not a step of this derivation")
        return d.cotangents[k].rhs

    def label(self, d: Derivation) -> str:
        """The quantity as the answer writes it (``δ_{l-1}``)."""
        idx = self.idx
        k = str(idx[1]) if idx[0] == "int" else (idx[1] + (f"{idx[2]:+d}" if idx[2] else ""))
        k = k if len(k) == 1 else f"{{{k}}}"  # δ_{l-1}, not δ_l-1
        if self.kind == "delta":
            return f"δ_{k}" if not self.wrt_loss else f"∂L/∂Z_{k}"
        if self.kind == "grad":
            return f"∂L/∂{self.base}_{k}"
        if self.kind == "fwd":
            return f"{self.base}_{k}"
        return f"∂{'C' if d.per_sample else 'L'}/∂A_{k}"


def quantity_of(lhs: IR) -> Quantity:
    """The quantity an LHS names (``\\delta_1``, ``dW2``, ``∂L/∂b_1``, ``∇_{W_2} L``)."""
    loss = ""
    one_sample = False
    entries: tuple[str, ...] = ()
    if lhs[0] == "entry" or (lhs[0] == "quantity" and lhs[1][0] == "entry"):
        node = lhs if lhs[0] == "entry" else lhs[1]
        for terms in node[2]:
            if len(terms) != 1 or terms[0][0] != 1 or not isinstance(terms[0][1], str):
                raise FormulaError("the left side's entry indices are plain letters, e.g. k_{uv}")
        entries = tuple(terms[0][1] for terms in node[2])
        lhs = node[1] if lhs[0] == "entry" else ("quantity", node[1], lhs[2])
    if lhs[0] == "quantity":
        sym = lhs[1]
        one_sample = "_" in lhs[2]  # ∂C_0/∂W, ∂E_n/∂w: the loss of one sample
        # ∂C/∂Z is the per-sample δ; L, J and E (Bishop's) are the whole loss
        loss = "L" if lhs[2] in ("L", "J", "E") else ""
        if sym[0] != "sym":
            raise FormulaError("∂L/∂… must name one symbol, such as W_2")
        mapping = {
            "W": ("grad", "W"),
            "b": ("grad", "b"),
            "K": ("grad", "K"),
            "Z": ("delta", "delta"),
            "A": ("cot", "A"),
        }
    elif lhs[0] == "sym":
        sym = lhs
        mapping = {
            "delta": ("delta", "delta"),
            "dW": ("grad", "W"),
            "db": ("grad", "b"),
            "dA": ("cot", "A"),
            "dK": ("grad", "K"),
            "Z": ("fwd", "Z"),
            "A": ("fwd", "A"),
        }
    else:
        raise FormulaError(
            "the left-hand side must name a quantity: δ_l, dZ1, ∂L/∂W_2, dW2, db1, dA1, ∇_{W_2} L"
        )
    base = sym[1]
    if base not in mapping:
        raise FormulaError(
            f"the left-hand side {base} is not a derived quantity "
            "(δ_l, dZ, ∂L/∂W, ∂L/∂b, ∂L/∂K, dW, db, dK, dA, or a forward Z_l, A_l)"
        )
    if sym[2] is None:
        raise FormulaError(f"the left-hand side needs a layer index, e.g. {base}_1")
    kind, qbase = mapping[base]
    return Quantity(
        kind, qbase, sym[2], loss if kind == "delta" else "", entries, one_sample=one_sample
    )
