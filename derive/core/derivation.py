"""A derivation: the forward program, the named deltas, the recurrence, the gradients.

``derive(spec)`` builds the forward program, runs the reverse walk once for the concrete
network and once for a generic hidden layer ``l``, and keeps the results as ordered,
named steps that every consumer (text, LaTeX, code export, checker) reads. The steps, the
partials they name and ``PRINTERS`` are in ``steps``, re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import sympy
from sympy.matrices.expressions import MatrixSymbol

from derive.core import norm_blocks  # noqa: F401 - registers the issue-15 layers and losses
from derive.core.backward import reverse_walk
from derive.core.graph import (
    LOSS,
    Equation,
    Kind,
    build,
    build_generic,
    build_generic_conv,
    index_at,
    layer_symbol,
    split_name,
)
from derive.core.nodes import Elementwise, add, scale
from derive.core.steps import (
    ALPHA,
    COST,
    PRINTERS,
    GenericLayer,
    Partial,
    PartialOf,
    Step,
    StepKind,
    TensorPartial,
    UnknownQuantity,
    partial,
)
from derive.spec import Network, load
from derive.spec.activations import TABLE

__all__ = [
    "ALPHA",
    "COST",
    "PRINTERS",
    "Derivation",
    "GenericLayer",
    "Partial",
    "PartialOf",
    "Step",
    "StepKind",
    "TensorPartial",
    "UnknownQuantity",
    "derive",
    "partial",
]


class Derivation:
    """Everything derived for one network; see ``steps`` for the ordered lines."""

    def __init__(self, network: Network):
        self.network = network
        self.program = build(network)
        self.deltas: dict[int, Step] = {}
        self.cotangents: dict[int, Step] = {}
        self.gradients: dict[str, Step] = {}
        self._walk()
        #: A normalisation layer's backward pass stage by stage (``dXhat_l``, ``dvar_l``, …,
        #: then the cotangent of its input), for display; the deltas hold the same inlined.
        self.stages: dict[int, list[Step]] = self._walk_stages()
        # a residual or normalisation layer breaks the one-line recurrence of a hidden layer
        dense = len(network.dense_layers) >= 2 and all(
            getattr(layer, "generic_recurrence", True) for layer in network.layers
        )
        self.generic = self._walk_generic(build_generic) if dense else None
        #: The recurrence between two conv layers l and l+1 (for any network with conv layers).
        self.generic_conv = self._walk_generic(build_generic_conv) if network.is_conv else None

    # ------------------------------------------------------------------ the walks

    @property
    def per_sample(self) -> bool:
        """Whether δ_l is per sample (∂C/∂Z_l, no batch factor) rather than ∂L/∂Z_l."""
        return self.network.delta == "per_sample"

    @property
    def delta_of(self) -> sympy.Symbol:
        """What the deltas differentiate: C = Σ_i C_i (per sample) or the loss L (mean)."""
        return COST if self.per_sample else LOSS

    def _namer(
        self, deltas: dict[Any, Step], cotangents: dict[Any, Step], skip: Any = None
    ) -> Callable[[Equation, Any], Any]:
        s = self.program.scale

        def name(eq: Equation, g: Any) -> Any:
            if eq.out == skip or eq.kind in (Kind.LOSS, Kind.STAGE):
                return g
            own = g if not self.per_sample else scale(g, 1 / s)
            if eq.kind.names_delta:
                # δ_l = ∂C/∂Z_l; a pooling or flatten layer has no Z: δ_l is ∂C/∂A_l there
                d = layer_symbol("delta", eq.layer, *eq.out.shape)
                deltas[eq.layer] = Step(StepKind.DELTA, d, own, eq.layer)
                return d if not self.per_sample else scale(d, s)
            cotangents[eq.layer] = Step(
                StepKind.COTANGENT, partial(self.delta_of, eq.out), own, eq.layer
            )
            return g

        return name

    def _walk(self) -> None:
        prog = self.program
        acc = reverse_walk(
            prog.equations,
            {LOSS: sympy.Integer(1)},
            prog.variables,
            self._namer(self.deltas, self.cotangents),
        )
        for p in prog.parameters:
            terms = sorted(acc.get(p.symbol, []), key=lambda t: t.has(p.symbol))
            step = Step(StepKind.GRADIENT, partial(LOSS, p.symbol), add(terms), p.layer)
            self.gradients[p.symbol.name] = step

    def _walk_stages(self) -> dict[int, list[Step]]:
        prog = self.program
        out: dict[int, list[Step]] = {}
        for layer in dict.fromkeys(eq.layer for eq in prog.equations if eq.kind is Kind.STAGE):
            eqs = [
                eq for eq in prog.equations if eq.layer == layer and eq.kind is not Kind.ACTIVATION
            ]
            z = next(eq.out for eq in eqs if eq.kind is Kind.AFFINE)
            steps: list[Step] = []

            def name(eq: Equation, g: Any, steps: list[Step] = steps) -> Any:
                if eq.kind is not Kind.STAGE:
                    return g
                d = MatrixSymbol("d" + eq.out.name, *eq.out.shape)
                steps.append(Step(StepKind.COTANGENT, d, g, eq.layer))
                return d

            src = prog.named[f"A_{layer - 1}"]
            active = {src} | {eq.out for eq in eqs}
            acc = reverse_walk(eqs, {z: self.deltas[layer].lhs}, active, name)
            base, idx = split_name(src.name)
            d_src = MatrixSymbol(f"d{base}_{idx}" if idx else f"d{base}", *src.shape)
            steps.append(Step(StepKind.COTANGENT, d_src, add(acc[src]), layer))
            out[layer] = steps
        return out

    def _walk_generic(self, builder: Any) -> GenericLayer:
        prog, z_next, delta_next = builder(self.network)
        seed = delta_next if not self.per_sample else scale(delta_next, prog.scale)
        seeds: dict[Any, Any] = {z_next: seed}
        if any(eq.kind is Kind.LOSS for eq in prog.equations):
            seeds[LOSS] = sympy.Integer(1)
        deltas: dict[Any, Step] = {}
        cots: dict[Any, Step] = {}
        acc = reverse_walk(prog.equations, seeds, prog.variables, self._namer(deltas, cots, z_next))
        li = prog.equation(prog.named["Z_l"]).layer

        def grad(p: MatrixSymbol) -> Step:
            terms = sorted(acc[p], key=lambda t: t.has(p))
            return Step(StepKind.GENERIC_GRADIENT, partial(LOSS, p), add(terms), li)

        delta = deltas[li]
        own = {p.role: grad(p.symbol) for p in prog.parameters if p.layer == li}
        return GenericLayer(
            prog, Step(StepKind.RECURRENCE, delta.lhs, delta.rhs, li), own, cots[li]
        )

    # ------------------------------------------------------------------ queries

    @property
    def depth(self) -> int:
        """The number of layers."""
        return self.network.depth

    def forward(self) -> list[Step]:
        """The forward equations (``Z_1 = W_1 X + b_1 1ᵀ``, …) as steps."""
        return [
            Step(StepKind.FORWARD, eq.out, eq.rhs, eq.layer)
            for eq in self.program.equations
            if eq.kind is not Kind.LOSS
        ]

    def loss(self) -> Step:
        """``L = …`` as a step."""
        eq = self.program.loss_equation
        return Step(StepKind.LOSS, eq.out, eq.rhs)

    def delta(self, layer: int) -> Step:
        """``δ_layer`` (layers count from 1 to the depth)."""
        if layer not in self.deltas:
            raise UnknownQuantity(
                f"no delta for layer {layer!r}: this network has layers 1 to {self.depth}"
            )
        return self.deltas[layer]

    def grad(self, name: str) -> Step:
        """``grad('W_1')``; the exported names ``'W1'`` and ``'dW1'`` name it too."""
        if name in self.gradients:
            return self.gradients[name]
        plain = name[1:] if name.startswith("d") and name[1:2] in ("W", "K", "b") else name
        for key in self.gradients:
            if key.replace("_", "") == plain:
                return self.gradients[key]
        raise UnknownQuantity(
            f"no parameter {name!r}: the parameters are {', '.join(self.gradients)} "
            f"(also written {', '.join(k.replace('_', '') for k in self.gradients)})"
        )

    def updates(self) -> list[Step]:
        """One gradient-descent step per parameter (``W_1 ← W_1 − α ∂L/∂W_1``)."""
        out = []
        for p in self.program.parameters:
            rhs = add([p.symbol, scale(partial(LOSS, p.symbol), -ALPHA)])
            out.append(Step(StepKind.UPDATE, p.symbol, rhs, p.layer))
        return out

    @property
    def steps(self) -> list[Step]:
        """Forward, loss, output delta, recurrence, every delta, gradients, updates."""
        out = [*self.forward(), self.loss()]
        n = self.depth
        out.append(Step(StepKind.OUTPUT_DELTA, self.deltas[n].lhs, self.deltas[n].rhs, n))
        if self.generic is not None:
            out.append(self.generic.delta)
        out += [self.deltas[k] for k in range(n - 1, 0, -1)]
        out += [self.gradients[p.name] for p in self.program.params]
        out += self.updates()
        return out

    def through_output(self, expr: Any) -> Any:
        """Write ``f'(Z_l)`` in the textbook output form (``A_l ⊙ (1 - A_l)``) where one exists
        (``A_l = f(Z_l)`` with the same f: tanh'(Z_2) where A_2 = σ(Z_2) stays as it is)."""
        outputs = {
            (eq.rhs.name, eq.rhs.arg): eq.out
            for eq in self._all_equations()
            if isinstance(eq.rhs, Elementwise) and eq.rhs.order == 0
        }

        def rewrite(node: Any) -> Any:
            out = outputs.get((node.name, node.arg)) if node.order == 1 else None
            if out is not None:
                form = TABLE[node.name].output_form if node.name in TABLE else None
                if form is not None:
                    return form(out)
            return node

        return expr.replace(lambda e: isinstance(e, Elementwise), rewrite)

    def instantiate(self, expr: Any, layer: int) -> Any:
        """A generic-layer expression (``W_{l+1}``, ``delta_{l+1}``, ``Z_l``) at ``l = layer``."""
        known: dict[str, Any] = {p.name: p for p in self.program.params}
        known |= {eq.out.name: eq.out for eq in self.program.equations if eq.kind is not Kind.LOSS}
        known |= {st.lhs.name: st.lhs for st in self.deltas.values()}
        known["A_0"] = self.program.inputs[0]
        mapping = {}
        for s in expr.atoms(MatrixSymbol):
            base, idx = split_name(s.name)
            value = index_at(idx, layer)
            if value is None or f"{base}_{value}" not in known:
                raise KeyError(f"{s.name} has no instance at layer {layer}")
            mapping[s] = known[f"{base}_{value}"]
        return expr.xreplace(mapping)

    def _all_equations(self) -> list[Equation]:
        eqs = list(self.program.equations)
        for g in (self.generic, self.generic_conv):
            if g is not None:
                eqs += g.program.equations
        return eqs

    def __repr__(self) -> str:
        return (
            f"<Derivation of {self.network.name!r}: {self.depth} layers, {self.network.convention}>"
        )


def derive(spec: str | Path | Network) -> Derivation:
    """Derive backpropagation for a spec: a built-in example name, a TOML path, or a Network.

    >>> d = derive("nielsen")
    >>> print(d.delta(1))
    δ₁ = (W₂ᵀ δ₂) ⊙ σ'(Z₁)
    """
    return Derivation(load(spec))
