"""LaTeX function applications -> IR: ``\\sigma'(Z_1)``, ``\\tanh^{2}(Z)``, ``f_2'(z_2)``,
``g^{[1]\\prime}(Z^{[1]})`` (primes, a power, the layer written on the function). A mixin of
``latex_scripts.Scripts``, split off to keep each module short."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lark import Token, v_args

from derive.formula.ir import IR, Fn, FormulaError, Pow, Sym
from derive.formula.latex_layers import Letter
from derive.formula.latex_tokens import FUNCS
from derive.formula.layer_indices import Index
from derive.formula.numbers import MAX_ORDER, _CommonIR, _index, parse_number, power


@dataclass(frozen=True, slots=True)
class FnPow:
    """A function's power (``\\tanh^2``)."""

    n: Any


@dataclass(frozen=True, slots=True)
class FnPrime:
    """A prime written in a function's superscript."""


@dataclass(frozen=True, slots=True)
class FnLayer:
    """The layer written on a function (``f_2``, ``g^{[2]}``)."""

    idx: Index | Letter


@dataclass(frozen=True, slots=True)
class BareArg:
    """A function's argument written without brackets."""

    node: IR


def _same_layer(word: str, layer: Index, arg: Any) -> None:
    """``f_2'(z_2)``, ``g^{[1]}(Z^{[1]})``: the layer written on a function is its
    argument's; a function of one layer applied to another layer's Z is refused."""
    if isinstance(arg, Sym) and arg.index is not None and arg.index != layer:
        raise FormulaError(
            f"{word} of one layer applied to {arg.base} of another: write the layer's own "
            f"activation, e.g. {word}_2'(Z_2)"
        )


@v_args(inline=True)
class Functions(_CommonIR):
    """Function applications (the base of ``Scripts``)."""

    functions: set[str]  # the function letters written (set by ``Scripts``)

    def fn_power(self, tok: Token) -> FnPow:
        r"""A function to a power (``\tanh^{2}(Z)``)."""
        return FnPow(parse_number(str(tok)))

    def fn_sup(self, *items: Any) -> list[Any]:
        """``^{[2]\\prime}``, ``^{2}``, ``^{(l)}``: primes, a power, the layer of ``f``."""
        out: list[Any] = []
        for it in items:
            if isinstance(it, Token) and it.type == "PRIME":
                out.append(FnPrime())
            elif isinstance(it, Token) and it.type == "NUMBER":
                out.append(FnPow(parse_number(str(it))))
            elif isinstance(it, Token):
                out.append(FnLayer(_index(str(it))))
            else:
                out.append(FnLayer(it.idx))
        return out

    def fn_layer(self, idx: Index | Letter) -> FnLayer:
        """A function of one layer (``f_2``, ``g^{[2]}``)."""
        return FnLayer(idx)

    def func_app(self, name: Token, *rest: Any) -> IR:
        r"""A function applied to its argument (``\sigma'(Z_1)``)."""
        word = str(name)
        word = re.sub(r"^\\operatorname\{(\w+)\}\Z", r"\1", word)
        word = re.sub(r"^\\(?:mathrm|text)\{(\w+)\}\Z", r"\1", word)
        word = {"flip": "rot180"}.get(word, word)
        if word not in FUNCS:
            raise FormulaError(f"unknown function {word!r}")
        self.functions.add(word)
        mods: list[Any] = []
        for r in rest[:-1]:
            mods += r if isinstance(r, list) else [r]
        primes = sum(1 for mod in mods if isinstance(mod, (Token, FnPrime)))
        powers = [mod.n for mod in mods if isinstance(mod, FnPow)]
        layers = [mod.idx for mod in mods if isinstance(mod, FnLayer)]
        if primes > MAX_ORDER:
            raise FormulaError(
                f"{word} with {primes} primes: derivatives up to order {MAX_ORDER} are accepted"
            )
        if len(powers) > 1 or len(layers) > 1:
            raise FormulaError(f"{word} has two powers or two layer indices")
        arg = rest[-1]
        if isinstance(arg, BareArg):
            arg = arg.node
            if isinstance(arg, Pow):  # \tanh Z^2: tanh(Z²) to some, tanh(Z)² to others
                raise FormulaError(
                    f"{word} applied to a power without brackets is ambiguous: write "
                    f"{word}(x)^2 for the square of the function, {word}(x^2) for its argument's"
                )
        if layers and not isinstance(layers[0], Letter):  # σ_i(r_i): a unit's, the layer's
            _same_layer(word, layers[0], arg)
        node: IR = Fn(FUNCS[word], primes, arg)
        if powers:
            node = power(node, powers[0])
        return node

    def bare_arg(self, node: IR) -> BareArg:
        """A function's argument written without brackets."""
        return BareArg(node)
