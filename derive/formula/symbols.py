"""What the symbols of a formula mean in one network and one layer l (the functions it
applies: ``applied_functions``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sympy
from sympy.matrices.expressions import (
    MatMul,
)

from derive.core.derivation import Derivation
from derive.core.nodes import (
    Broadcast,
)
from derive.formula.algebra import (
    Budget,
    UnknownSymbol,
    cotangent_symbol,
)
from derive.formula.applied_functions import Functions
from derive.formula.ir import IR, FormulaError, Partial, Sym
from derive.formula.layer_indices import Index, IntIndex
from derive.formula.layer_names import STAGE_BASES
from derive.render.text import text

_BROADCASTS: dict[int, tuple[Derivation, bool]] = {}


def prints_broadcasts(d: Derivation) -> bool:
    """Whether the derivation has a broadcast (batch norm's σ_l, the hinge's Σ_cols), which
    its LaTeX prints unmarked; cached per derivation (kept with its answer, so that its id
    is not reused)."""
    hit = _BROADCASTS.get(id(d))
    if hit is None or hit[0] is not d:
        rhs: list[Any] = [eq.rhs for eq in d.program.equations] + [st.rhs for st in d.steps]
        found = any(e.atoms(Broadcast) for e in rhs if isinstance(e, sympy.Basic))
        if len(_BROADCASTS) > 256:
            _BROADCASTS.clear()
        hit = _BROADCASTS[id(d)] = (d, found)
    return hit[1]


@dataclass
class Context:
    """What the symbols of a formula mean: a derivation and the value of ``l``."""

    d: Derivation
    layer: int | None = None  # value of the generic index l
    budget: Budget = field(default_factory=Budget)
    numpy: bool = False  # NumPy's rules: broadcasting, elementwise division
    concrete: dict[str, Any] = field(default_factory=dict)  # n_2 -> 4: the user's widths
    width_one_broadcast: bool = True  # (1,) broadcasts as (1, 1); off for a guessed reading
    #: the readings of each node already resolved in this context (``Resolver.readings``):
    #: a diagnosis resolves many variants of one formula that share most of their nodes
    memo: dict[Any, list[Any]] | None = field(default=None, compare=False, repr=False)

    def layer_of(self, idx: Index | None, base: str) -> int | None:
        """The layer number of a symbol of this network."""
        if idx is None:
            return None
        if isinstance(idx, IntIndex):
            return int(idx.k)
        var, off = idx.letter, idx.offset
        if var == "L":
            return self.d.depth + off
        if self.layer is None:
            raise FormulaError(f"{base}_l: the layer index l is free here; use it on both sides")
        return self.layer + off


class Symbols(Functions):
    """IR symbols, scalars and functions -> the derivation's own SymPy objects."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.d = ctx.d
        prog = self.d.program
        self.symbols: dict[str, Any] = {p.name: p for p in prog.params}
        self.symbols |= {eq.out.name: eq.out for eq in prog.equations if eq.kind != "loss"}
        self.symbols |= {st.lhs.name: st.lhs for st in self.d.deltas.values()}
        self.symbols["X"], self.symbols["Y"] = prog.inputs[:2]
        # dropout's masks M_l are inputs of the forward program
        self.symbols |= {i.name: i for i in prog.inputs[2:] if i.name.startswith("M_")}
        self.symbols["A_0"] = prog.inputs[0]
        self.cotangents = {
            k: cotangent_symbol(k, st.lhs.shape) for k, st in self.d.cotangents.items()
        }
        self.mode: str | None = None  # set inside (…)_{full}
        self.numpy = ctx.numpy
        # a row or column repeated to a matrix's shape: NumPy's rule, and the LaTeX of a
        # derivation that prints its broadcasts as courses write them (unmarked)
        self.outer = prints_broadcasts(self.d)  # a row and a column both repeated
        self.broadcasting = ctx.numpy or self.outer

    def symbol(self, node: Sym) -> Any:
        """The network's symbol that a ``Sym`` node names."""
        base, idx = node.base, node.index
        if base in ("X", "Y"):
            if idx is not None and not (base == "X" and self.ctx.layer_of(idx, base) == 0):
                raise FormulaError(f"{base} takes no layer index")
            return self.symbols[base]
        k = self.ctx.layer_of(idx, base)
        name = {"delta": "delta", "W": "W", "b": "b", "Z": "Z", "A": "A", "dA": "dA", "K": "K"}.get(
            base
        )
        if base in STAGE_BASES:  # P_4, γ_2, Xhat_2, M_3: a layer's parameter, stage or mask
            name = base
        if name is None:
            raise FormulaError(f"{base} cannot appear on the right-hand side")
        if k is None:
            raise FormulaError(f"{base} needs a layer index (e.g. {base}_1)")
        if base == "dA":
            if k not in self.cotangents and k == self.d.depth:
                raise FormulaError(
                    f"∂L/∂A_{k}: this derivation differentiates the loss and the output "
                    f"activation together (δ_{k} is formed directly); write δ_{k} or its formula"
                )
            if k not in self.cotangents:
                raise UnknownSymbol(f"no dA_{k} in this {self.d.depth}-layer network")
            return self.cotangents[k]
        key = f"{name}_{k}"
        if key not in self.symbols:
            raise UnknownSymbol(
                f"no {base}_{k} in this {self.d.depth}-layer network (layers 1 to {self.d.depth})"
            )
        return self.symbols[key]

    def scalar(self, name: str, written: str = "") -> Any:
        """A scalar symbol of the formula (a size, the batch, a hyperparameter);
        ``written``: the user's spelling, when the reader renamed it (``lr`` is ``eta``)."""
        prog = self.d.program
        if name in ("m", str(prog.batch)):
            return prog.batch
        if name == "lambda" and self.d.network.loss.weight_decay is not None:
            from derive.core.graph import scalar_symbol

            return scalar_symbol(self.d.network.loss.weight_decay)
        own = self._own_scalars().get(name)
        if own is not None:  # dropout's p, batch norm's ε, a Huber δ named in the spec
            return own
        shown = written or name
        if name == "eta":  # lr, learning_rate, η: the one factor an update rule has
            raise FormulaError(
                f"{shown!r} is read as the learning rate, which only an update rule has, once "
                f"(W ← W − {shown}·dW); here it is left over"
            )
        raise FormulaError(f"unknown symbol {shown!r} (the batch size is {text(prog.batch)})")

    def _own_scalars(self) -> dict[str, Any]:
        """The named numbers of the derivation's forward program (p, epsilon) and its
        widths as NumPy names them (n2), by name."""
        if "_scalars" not in self.__dict__:
            found: dict[str, Any] = {}
            for eq in self.d.program.equations:
                for s in eq.rhs.free_symbols:
                    if isinstance(s, sympy.Symbol) and s not in self.d.program.widths:
                        found.setdefault(str(s), s)
            found.pop(str(self.d.program.batch), None)
            for w in self.d.program.widths:  # layer norm's 1/n: a width by its name (n2)
                if isinstance(w, sympy.Symbol):
                    found.setdefault(str(w).replace("_", ""), w)
            self.__dict__["_scalars"] = found
        return self.__dict__["_scalars"]  # type: ignore[no-any-return]

    def sizes(self, written: str) -> frozenset[Any]:
        """The lengths ``\\mathbf{1}_k`` may stand for: the batch (``m``), or every width of
        the user's network that is ``k`` (the checker's own widths are symbols)."""
        prog = self.d.program
        if written in ("m", str(prog.batch)):
            return frozenset({prog.batch})
        found = {
            w
            for w in prog.widths
            if isinstance(w, sympy.Symbol)
            and written in (str(w), str(w).replace("_", ""), str(self.ctx.concrete.get(str(w))))
        }  # 1_H: the width H itself (n1 as NumPy names n_1), or every width that is 4 for 1_4
        # a width kept as a number (the one-unit layers of the ``ones`` reading): 1_1
        found |= {w for w in prog.widths if not isinstance(w, sympy.Symbol) and str(w) == written}
        if not found:
            raise FormulaError(
                f"\\mathbf{{1}}_{{{written}}}: no width or batch size of this network is {written}"
            )
        return frozenset(found)

    def gradient(self, node: Partial) -> Any:
        """A gradient written on the right-hand side: ``∂C/∂Z_k`` is δ_k, ``∂C/∂a^L``,
        ``∇_a C`` (Nielsen's, the output's) and ``∂L/∂ŷ`` the cotangent dA_k as derived;
        ``∂L/∂…`` of a per-sample network is ``∂C/∂…`` times its batch factor (1/m)."""
        sym, loss = node.sym, node.loss
        if not isinstance(sym, Sym) or sym.base not in ("Z", "A", "delta"):
            raise FormulaError(
                "on the right-hand side, a gradient ∂C/∂Z_k (δ_k) or ∂C/∂A_k is read; "
                "∂L/∂W and ∂L/∂b stand on the left"
            )
        base = "dA" if sym.base == "A" else "delta"
        if sym.index is None:
            raise FormulaError(
                f"∂{loss}/∂{sym.base}: which layer? write it, e.g. ∂{loss}/∂{sym.base}_1"
            )
        whole = loss[:1] in ("L", "J", "E") and "_" not in loss  # the loss, not C = Σ C_i
        scale = self.d.program.scale
        depth = self.d.depth
        fused = base == "dA" and depth not in self.d.cotangents
        if fused and self.ctx.layer_of(sym.index, "A") == depth:
            value = self._output_gradient()  # ∂L/∂ŷ: fused with δ_L in the derivation
            if not whole and self.d.per_sample and scale != 1:
                value = MatMul(1 / scale, value).doit(deep=False)
            return value
        value = self.symbol(Sym(base, sym.index, sym.lower))
        if whole and self.d.per_sample and scale != 1:
            value = MatMul(scale, value).doit(deep=False)
        return value

    def _output_gradient(self) -> Any:
        """∂L/∂A_L from the loss alone, where the derivation differentiates the loss and
        the output activation together (sigmoid or softmax with cross-entropy)."""
        from derive.core.backward import reverse_walk
        from derive.core.nodes import add

        prog = self.d.program
        loss = prog.loss_equation
        out = prog.output
        name = out.name
        acc = reverse_walk([loss], {loss.out: sympy.Integer(1)}, {out})
        if not acc.get(out):
            raise FormulaError(f"the loss does not depend on {name}")
        return add(acc[out])

    def resolve_one(self, node: IR) -> Any:
        """The one reading of an argument (a function's argument must have one)."""
        readings = self.readings(node)
        if len(readings) != 1:
            raise FormulaError("an argument with more than one reading")
        return readings[0]

    def readings(self, node: IR) -> list[Any]:
        """Every shape-consistent reading of ``node`` (``Resolver``)."""
        raise NotImplementedError
