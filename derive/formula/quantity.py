"""What a formula's left-hand side names: a delta, a gradient, a cotangent, a forward step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy

from derive.core.derivation import Derivation
from derive.formula.ir import IR, Entry, FormulaError, Partial, Scalar, Sym
from derive.formula.layer_indices import Index, IntIndex, RelIndex, index_text
from derive.formula.layer_names import PARAM_BASES
from derive.formula.resolve import UnknownSymbol

_GREEK = {"gamma": "γ", "beta": "β"}


@dataclass(frozen=True)
class Quantity:
    """What the left-hand side names: a delta, a gradient or an activation cotangent."""

    kind: str  # delta | grad | cot | fwd
    base: str  # delta, W, K, b, A, Z
    idx: Index  # IntIndex(k) | RelIndex("l"|"L", off)
    wrt_loss: str = ""  # "L" for ∂L/∂Z (whole loss), "" for δ
    entries: tuple[str, ...] = ()  # ∂L/∂k_{uv}: the entry indices written on the left
    one_sample: bool = False  # ∂C_0/∂W: the loss of one sample (a network of batch 1)

    def layers(self, d: Derivation) -> list[int]:
        """The concrete layers the quantity stands for (all hidden layers for a generic l)."""
        depth = d.depth
        if self.is_loss:  # the loss (or its weight-decay term): no layer of its own
            return [depth]
        if isinstance(self.idx, IntIndex):
            ks = [int(self.idx.k)]
        elif self.idx.letter == "L":
            ks = [depth + self.idx.offset]
        else:
            off = self.idx.offset
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
            k_abs = self.layer_value(k)
            if not 1 <= k_abs <= depth:
                raise UnknownSymbol(f"no layer {k_abs} in this {depth}-layer network")
        return ks

    @property
    def is_loss(self) -> bool:
        """Whether the quantity is the loss ``L`` (or ``R``, its weight-decay term)."""
        return self.kind == "fwd" and self.base in LOSS_PARTS

    @property
    def generic(self) -> bool:
        """Whether the quantity is written for the generic layer ``l``."""
        return isinstance(self.idx, RelIndex) and self.idx.letter == "l"

    def layer_value(self, k: int) -> int:
        """The layer the quantity names when the generic index is ``k``."""
        return k + (self.idx.offset if isinstance(self.idx, RelIndex) and self.generic else 0)

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
        if self.is_loss:
            return loss_part(d, self.base)
        if self.kind == "fwd":
            for eq in d.program.equations:
                if getattr(eq.out, "name", "") == f"{self.base}_{k}":
                    return eq.rhs
            raise UnknownSymbol(f"no {self.base}_{k} in this network")
        if k not in d.cotangents and k == d.depth:
            return output_cotangent(d)  # ∂C/∂ŷ, dA^{[L]}: fused into δ_L by the derivation
        if k not in d.cotangents:
            raise UnknownSymbol(f"∂/∂A_{k} is not a step of this derivation")
        return d.cotangents[k].rhs

    def label(self, d: Derivation) -> str:
        """The quantity as the answer writes it (``δ_{l-1}``)."""
        k = index_text(self.idx)
        k = k if len(k) == 1 else f"{{{k}}}"  # δ_{l-1}, not δ_l-1
        if self.kind == "delta":
            return f"δ_{k}" if not self.wrt_loss else f"∂L/∂Z_{k}"
        if self.kind == "grad":
            return f"∂L/∂{_GREEK.get(self.base, self.base)}_{k}"
        if self.is_loss:
            return LOSS_PARTS[self.base]
        if self.kind == "fwd":
            return f"{self.base}_{k}"
        return f"∂{'C' if d.per_sample else 'L'}/∂A_{k}"


#: The loss and its weight-decay term as a forward quantity (``J = …``, ``reg_cost = …``).
LOSS_PARTS = {"L": "L (the loss)", "R": "R (the loss's weight-decay term)"}
#: The letters a left-hand side writes for them (NumPy names are read to these by
#: ``python_ir``: cost, loss -> L; L2_regularization_cost, reg_loss -> R).
LOSS_LETTERS = {"L": "L", "J": "L", "E": "L", "R": "R"}


def loss_part(d: Derivation, base: str) -> Any:
    """The network's loss ``L = s C + R`` (base ``L``) or its weight-decay term ``R``."""
    from derive.core.graph import weight_decay

    prog = d.program
    if base == "L":
        return prog.loss_equation.rhs
    decay = weight_decay(
        prog.network, prog.batch, [p.symbol for p in prog.parameters if p.role.decays]
    )
    if decay == 0:
        raise UnknownSymbol("this network's loss has no weight-decay term")
    return decay


def refuse_latex_loss(q: Quantity, syntax: str, d: Derivation) -> None:
    """A loss in LaTeX (``J = -\\frac{1}{m} \\sum …``) gets no verdict: which entries its
    sums run over is not read, and a reading of them could judge a right loss wrong."""
    if q.is_loss and syntax != "python":
        raise FormulaError(
            f"{q.label(d)}: a loss written in LaTeX is not judged yet (which entries its "
            "sums run over is not read); write it in NumPy (J = np.sum(…) / m) or check "
            "its gradients"
        )


#: ∂C/∂A_L by derivation (by identity, the derivation kept so its id is not reused): a
#: diagnosis asks for it once per mutation tried, and each is a reverse walk of the loss.
_COTANGENTS: dict[int, tuple[Derivation, Any]] = {}


def output_cotangent(d: Derivation) -> Any:
    """∂C/∂A_L (∂L/∂A_L for a mean delta) from the loss alone: where the output activation
    and the loss are differentiated together (sigmoid or softmax with cross-entropy), the
    derivation forms δ_L directly and has no step for it (Ng's dA^{[L]})."""
    kept = _COTANGENTS.get(id(d))
    if kept is not None and kept[0] is d:
        return kept[1]
    value = _output_cotangent(d)
    if len(_COTANGENTS) >= 64:
        _COTANGENTS.clear()
    _COTANGENTS[id(d)] = (d, value)
    return value


def _output_cotangent(d: Derivation) -> Any:
    from derive.core.backward import reverse_walk
    from derive.core.nodes import add, scale

    prog = d.program
    loss = prog.loss_equation
    acc = reverse_walk([loss], {loss.out: sympy.Integer(1)}, {prog.output})
    if not acc.get(prog.output):
        raise UnknownSymbol(f"the loss does not depend on {prog.output.name}")
    g = add(acc[prog.output])
    return scale(g, 1 / prog.scale) if d.per_sample else g


def quantity_of(lhs: IR) -> Quantity:
    """The quantity an LHS names (``\\delta_1``, ``dW2``, ``∂L/∂b_1``, ``∇_{W_2} L``)."""
    loss = ""
    one_sample = False
    entries: tuple[str, ...] = ()
    node = lhs.sym if isinstance(lhs, Partial) else lhs
    if isinstance(node, Entry):
        for terms in node.indices:
            if len(terms) != 1 or terms[0][0] != 1 or not isinstance(terms[0][1], str):
                raise FormulaError("the left side's entry indices are plain letters, e.g. k_{uv}")
        entries = tuple(str(terms[0][1]) for terms in node.indices)
        lhs = node.a if lhs is node else Partial(node.a, lhs.loss)  # type: ignore[union-attr]
    if isinstance(lhs, Partial):
        sym = lhs.sym
        one_sample = "_" in lhs.loss  # ∂C_0/∂W, ∂E_n/∂w: the loss of one sample
        # ∂C/∂Z is the per-sample δ; L, J and E (Bishop's) are the whole loss
        loss = "L" if lhs.loss in ("L", "J", "E", "F") else ""
        if isinstance(sym, Scalar):  # Goodfellow's ∇_H J: a letter of its source's
            raise FormulaError(
                f"∂L/∂{sym.name}: {sym.name} is none of this network's names (W, b, Z, A, X, "
                f"δ); declare what it stands for, e.g. --symbol {sym.name}=A_1 "
                "([notation.symbols] in a spec)"
            )
        if not isinstance(sym, Sym):
            raise FormulaError("∂L/∂… must name one symbol, such as W_2")
        mapping = {
            "W": ("grad", "W"),
            "b": ("grad", "b"),
            "K": ("grad", "K"),
            "Z": ("delta", "delta"),
            "A": ("cot", "A"),
        } | {b: ("grad", b) for b in PARAM_BASES}  # ∂L/∂γ_2, ∂L/∂P_4
    elif isinstance(lhs, Scalar) and lhs.name in LOSS_LETTERS:  # J = …, 𝓛 = …, cost = …
        return Quantity("fwd", LOSS_LETTERS[lhs.name], IntIndex(0))
    elif isinstance(lhs, Sym):
        sym = lhs
        mapping = {
            "delta": ("delta", "delta"),
            "dW": ("grad", "W"),
            "db": ("grad", "b"),
            "dA": ("cot", "A"),
            "dK": ("grad", "K"),
            "Z": ("fwd", "Z"),
            "A": ("fwd", "A"),
        } | {f"d{b}": ("grad", b) for b in PARAM_BASES}  # dgamma2, dP4
    else:
        raise FormulaError(
            "the left-hand side must name a quantity: δ_l, dZ1, ∂L/∂W_2, dW2, db1, dA1, ∇_{W_2} L"
        )
    base = sym.base
    if base not in mapping:
        raise FormulaError(
            f"the left-hand side {base} is not a derived quantity "
            "(δ_l, dZ, ∂L/∂W, ∂L/∂b, ∂L/∂K, ∂L/∂γ, ∂L/∂β, ∂L/∂P, dW, db, dK, dA, "
            "or a forward Z_l, A_l)"
        )
    if sym.index is None:
        raise FormulaError(f"the left-hand side needs a layer index, e.g. {base}_1")
    kind, qbase = mapping[base]
    return Quantity(
        kind, qbase, sym.index, loss if kind == "delta" else "", entries, one_sample=one_sample
    )
