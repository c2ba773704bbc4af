"""LaTeX symbols, sub- and superscripts and function applications -> IR: the half of the
LaTeX transformer that reads what is written on and around one symbol (its layer, an
entry or a sample index, a transpose, primes, a power, the layer of an activation); the
operators between symbols are read by its subclass, ``latex_ir.LatexToIR``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lark import Token, v_args

from derive.formula.ir import (
    IR,
    Entry,
    EntryIndices,
    Fn,
    FormulaError,
    Index,
    IntIndex,
    Num,
    Partial,
    Pow,
    RelIndex,
    Scalar,
    Sym,
    T,
)
from derive.formula.latex_layers import named_layer
from derive.formula.latex_lhs import (
    Sample,
)
from derive.formula.latex_tokens import BASES, FUNCS, SCALARS
from derive.formula.numbers import (
    MAX_ORDER,
    _CommonIR,
    _index,
    _small_int,
    integer_of,
    parse_number,
    power,
)

# ------------------------------------------------------------ what the rules hand upwards


@dataclass(frozen=True, slots=True)
class Letter:
    """An entry or sample index (``i``, ``j``) where a layer index may stand."""

    c: str


@dataclass(frozen=True, slots=True)
class IdxGroup:
    """A bracketed layer index (``[l]``, ``(2)``)."""

    idx: Index | Letter


@dataclass(frozen=True, slots=True)
class SupName:
    """A name in a superscript (a layer, a sample, a transpose)."""

    text: str


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


@dataclass(frozen=True, slots=True)
class Over:
    """The index letters of a sum (``Σ_{i,j}``)."""

    letters: tuple[str, ...]


# ------------------------------------------------------------ helpers


def _entry_indices(text: str) -> EntryIndices:
    """``{i+u,j-1}`` -> (((1,'i'),(1,'u')), ((1,'j'),(-1,1))); ``{uv}``: two plain indices."""
    body = text.strip("{} ").replace(" ", "")
    parts = body.split(",") if "," in body else list(body)
    out = []
    for part in parts:
        terms: list[tuple[int, str | int]] = []
        for sign, item in re.findall(r"([+-]?)([a-z]|[0-9]+)", part):
            value: str | int = _small_int(item, "an entry index") if item.isdigit() else item
            terms.append((-1 if sign == "-" else 1, value))
        out.append(tuple(terms))
    return tuple(out)


def _set_index(node: Any, idx: Index | Letter) -> Any:
    """The layer ``idx`` on a symbol (also on ``δ_k`` read as an entry, ``δ_k^{(3)}``);
    ``^{(i)}``, a letter in brackets, marks one sample (``a^{[2](i)}``)."""
    if isinstance(idx, Letter):
        return Sample(node)
    if isinstance(node, Entry):
        return Entry(_set_index(node.a, idx), node.indices)
    if isinstance(node, Sample):
        return Sample(_set_index(node.a, idx))
    if not isinstance(node, Sym) or node.index is not None:
        raise FormulaError("a layer index is given twice")
    return Sym(node.base, idx, node.lower)


def _layer_or_letter(text: str) -> Index | Letter:
    """A layer index (2, l, l+1, L), or an entry or sample index (i, j, k)."""
    t = text.strip()
    if re.fullmatch(r"[A-Za-z]", t) and t not in "lL":
        return Letter(t)
    return _index(t)


def _same_layer(word: str, layer: Index, arg: Any) -> None:
    """``f_2'(z_2)``, ``g^{[1]}(Z^{[1]})``: the layer written on a function is its
    argument's; a function of one layer applied to another layer's Z is refused."""
    if isinstance(arg, Sym) and arg.index is not None and arg.index != layer:
        raise FormulaError(
            f"{word} of one layer applied to {arg.base} of another: write the layer's own "
            f"activation, e.g. {word}_2'(Z_2)"
        )


def _bare_symbol(node: Any) -> bool:
    if isinstance(node, (Entry, Sample)):
        return _bare_symbol(node.a)  # δ_j^l: the layer of an entry's symbol
    return isinstance(node, Sym) and node.index is None and node.base not in ("X", "Y")


@v_args(inline=True)
class Scripts(_CommonIR):
    """Symbols, indices, superscripts and functions."""

    def __init__(self, depth: int = 0) -> None:
        super().__init__()
        self.depth = depth  # the network's layers, for the layers named by a letter
        self.notes: list[str] = []  # the readings used (said in the answer)
        self.output_written = False  # ŷ: L is the output layer

    def _layer(self, text: str) -> Index | Letter:
        """A layer index, an entry or sample letter, or ``o``/``h`` (``latex_layers``)."""
        named = named_layer(text, self.depth, self.notes)
        return named if named is not None else _layer_or_letter(text)

    def entries(self, node: IR, tok: Token) -> IR:
        """Entry indices such as ``{ij}``."""
        return Entry(node, _entry_indices(str(tok)))

    def entry_symbol(self, name: Token, tok: Token) -> IR:
        """A symbol with entry indices."""
        return Entry(self.symbol(name), _entry_indices(str(tok)))

    def symbol(self, name: Token, idx: Index | Letter | None = None) -> IR:
        """A symbol with its layer index, decorations and superscripts."""
        word = str(name)
        if word in SCALARS:
            return Scalar(SCALARS[word])
        if word in ("\\yhat", "\\Yhat"):
            self.output_written = True
            if idx is not None:
                raise FormulaError("ŷ is the network's output A_L: it takes no layer index")
            return Sym("A", RelIndex("L", 0), word == "\\yhat")
        if word in BASES:
            base, lower = BASES[word]
            if isinstance(idx, Letter):  # δ_j, a_k: an entry of the layer's
                return Entry(Sym(base, None, lower), (((1, idx.c),),))
            return Sym(base, idx, lower)
        if re.fullmatch(r"[A-Za-z]", word):
            if idx is not None:
                raise FormulaError(
                    f"unknown symbol {word}_… (known: W, b, Z, A, X, Y, \\delta, dZ, dW, db)"
                )
            return Scalar(word)
        raise FormulaError(f"unknown symbol {word!r}")

    def sub_simple(self, tok: Token) -> Index | Letter:
        """A one-token subscript."""
        return self._layer(str(tok))

    def sub_braced(self, idx: Index | Letter) -> Index | Letter:
        """A braced subscript."""
        return idx

    def idx(self, base: Token, sign: Token | None = None, num: Token | None = None) -> Any:
        """A layer index."""
        if sign is None:
            return self._layer(str(base))
        return _layer_or_letter(f"{base}{sign}{num or ''}")

    def idxgroup(self, idx: Index | Letter) -> IdxGroup:
        """A bracketed layer index (``[l]``, ``(l)``)."""
        return IdxGroup(idx)

    def sup_t(self, _tok: Token) -> list[Any]:
        """A transpose superscript."""
        return ["T"]

    def sup_num(self, tok: Token) -> list[Any]:
        """A number superscript (a power)."""
        return [Num(parse_number(str(tok)))]

    def sup_name(self, tok: Token) -> list[Any]:
        """A name superscript (a layer, a sample, a transpose)."""
        return [SupName(str(tok))]

    def supidx(self, base: Token, sign: Token, num: Token) -> IdxGroup:
        """A layer index written as a superscript."""
        return IdxGroup(_index(f"{base}{sign}{num}"))

    def supbody(self, *items: Any) -> list[Any]:
        """What a superscript holds: layer, sample, prime, transpose or power."""
        out: list[Any] = []
        for it in items:
            if isinstance(it, Token) and it.type in ("TRANSPOSE", "PRIME"):
                out.append("T")  # A^{[2]'}: a prime on a matrix is its transpose
            elif isinstance(it, Token) and it.type == "NUMBER":
                out.append(Num(parse_number(str(it))))
            elif isinstance(it, Token) and it.type == "NAME":
                out.append(SupName(str(it)))
            else:
                out.append(it)
        return out

    def supscript(self, base: IR, items: list[Any]) -> IR:
        """A superscript, sorted into its parts."""
        node: Any = base
        for item in items:
            if item == "T":
                node = T(node)
            elif isinstance(item, IdxGroup):
                node = _set_index(node, item.idx)
            elif isinstance(item, Num):
                if _bare_symbol(node):
                    node = _set_index(node, IntIndex(integer_of(item.value, "a layer index")))
                else:
                    node = power(node, item.value)
            elif isinstance(item, SupName):
                if _bare_symbol(node):
                    named = named_layer(item.text, self.depth, self.notes)
                    node = _set_index(node, named or _index(item.text))
                else:
                    raise FormulaError(f"cannot read the superscript {item.text!r}")
        return node  # type: ignore[no-any-return]

    def prime(self, base: IR, _tok: Token) -> IR:
        """A prime (a derivative)."""
        return T(base)

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

    def partial(self, *items: Any) -> IR:
        r"""``\partial C / \partial X``: the gradient it names."""
        loss = next(str(t) for t in items if isinstance(t, Token) and t.type == "LOSSNAME")
        sym = next(t for t in reversed(items) if not isinstance(t, Token))
        return Partial(sym, loss)

    def nabla_output(self, _tok: Token, loss: Token) -> IR:
        r"""``\nabla C`` with no subscript: the gradient on the output, ∂C/∂A_L (a reading)."""
        note = f"∇{loss} read as the gradient on the network's output, ∂{loss}/∂A_L"
        if note not in self.notes:
            self.notes.append(note)
        return Partial(Sym("A", RelIndex("L", 0), False), str(loss))

    def nabla(self, _tok: Token, sym: IR, loss: Token) -> IR:
        r"""``\nabla_X C``: the gradient it names."""
        if isinstance(sym, Sym) and sym.base == "A" and sym.index is None:
            sym = Sym("A", RelIndex("L", 0), sym.lower)  # Nielsen's ∇_a C: the output's
        return Partial(sym, str(loss))
