"""The functions a formula applies, as the derivation's own nodes: an activation by name
(with the network's own slope or alpha), ``f`` and ``g`` as the layer's own activation
(found from its pre-activation), σ as the network's symbolic activation where it has no
logistic sigmoid, softmax, exp, log, |·|, √. A base class of ``symbols.Symbols``.
"""

from __future__ import annotations

from typing import Any

import sympy
from sympy.matrices.expressions import MatrixSymbol

from derive.core.derivation import Derivation
from derive.core.graph import activation_node
from derive.core.nodes import Elementwise, Softmax, TensorSymbol, elementwise
from derive.formula.algebra import _Ones, _scalar
from derive.formula.forwards import pre_activations, written_out
from derive.formula.ir import FormulaError
from derive.render.text import text
from derive.spec import Activation
from derive.spec.activations import TABLE
from derive.spec.scalar_expr import X as XVAR


class Functions:
    """Function applications -> the derivation's nodes, in the derivation ``d``."""

    d: Derivation

    def activation(self, name: str, arg: Any) -> Any:
        """The activation ``name`` applied to ``arg``; ``generic`` (f, g) is the layer's own."""
        axis = 0 if self.d.program.column else 1
        if _scalar(arg) or isinstance(arg, _Ones):
            raise FormulaError(f"{name}({text(arg)}): a function here applies to a matrix or map")
        if name == "sigmoid" and self._sigma_is_symbolic():
            name = "generic"  # σ is this network's own symbolic activation, not the logistic
        if name == "generic":
            arg = written_out(self.d, arg) or arg  # f(W_1 X + b_1): f(Z_1), the forward's
            layer = self._layer_of_z(arg)
            act = self.d.network.layers[layer - 1].activation  # type: ignore[union-attr]
            return activation_node(act, arg, axis)
        if name in ("rot180", "up", "maxmask", "maxpool", "avgpool", "flatten", "unflatten"):
            return self.feature_fn(name, arg)
        if name == "softmax":
            return Softmax(arg, axis)
        if name in ("abs", "sqrt"):  # L1's and Huber's |r|, the norms' √: as derived
            return elementwise(name, arg)
        if name in ("exp", "log", "erf", "sech"):
            fn = {"exp": sympy.exp, "log": sympy.log, "erf": sympy.erf, "sech": sympy.sech}[name]
            return Elementwise(name, sympy.Lambda(XVAR, fn(XVAR)), arg)
        if name in TABLE:
            return activation_node(self._network_activation(name, arg), arg, axis)
        raise FormulaError(f"unknown function {name!r}")

    def _sigma_is_symbolic(self) -> bool:
        """Whether the network names a symbolic activation σ (``symbol = "sigma"``) and has
        no logistic sigmoid: then a formula's ``\\sigma'(z)`` is that activation's slope."""
        acts = [getattr(layer, "activation", None) for layer in self.d.network.layers]
        names = {getattr(a, "name", None) for a in acts}
        symbols = {
            getattr(a, "symbol", None) for a in acts if getattr(a, "name", None) == "symbolic"
        }
        return "sigmoid" not in names and bool(symbols & {"sigma", "σ", "\\sigma"})

    def _network_activation(self, name: str, arg: Any) -> Activation:
        """The network's own activation of this name, with its slope or alpha (the layer of
        ``arg`` first), else the table's defaults: lrelu' of a slope-0.2 net is that one's."""
        own = [
            act
            for act in (getattr(layer, "activation", None) for layer in self.d.network.layers)
            if isinstance(act, Activation) and act.name == name
        ]
        if isinstance(arg, (MatrixSymbol, TensorSymbol)) and arg.name.startswith("Z_"):
            k = int(arg.name.split("_")[1])
            layer_act = getattr(self.d.network.layers[k - 1], "activation", None)
            if getattr(layer_act, "name", None) == name:
                return layer_act  # type: ignore[return-value]
        return own[0] if own else Activation(name)

    def _layer_of_z(self, arg: Any) -> int:
        """The layer whose activation ``f`` is: its pre-activation's, or (``f'(A_l)``, a
        classic mistake to name, not to refuse) its activation's."""
        if isinstance(arg, (MatrixSymbol, TensorSymbol)) and arg.name.startswith(("Z_", "A_")):
            k = arg.name.split("_")[1]
            if k.isdigit() and int(k) >= 1:
                return int(k)
        forwards = pre_activations(self.d)
        shown = "; this network's are " + ", ".join(
            f"{text(z)} = {text(rhs)}" for z, rhs in forwards[:2]
        )
        raise FormulaError(
            f"f, g: the layer's own activation is applied to a pre-activation Z_l, not "
            f"{text(arg)}" + (f"{shown}{', …' if len(forwards) > 2 else ''}" if forwards else "")
        )

    def feature_fn(self, name: str, arg: Any) -> Any:
        """rot180, pooling, (un)flatten of a map (``FeatureMaps``)."""
        raise NotImplementedError
