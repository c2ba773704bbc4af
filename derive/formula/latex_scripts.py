"""LaTeX symbols, sub- and superscripts and function applications -> IR: the half of the
LaTeX transformer that reads what is written on and around one symbol (its layer, an
entry or a sample index, a transpose, primes, a power, the layer of an activation); the
operators between symbols are read by its subclass, ``latex_ir.LatexToIR``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lark import Token, v_args

from derive.formula.ir import IR, Entry, EntryIndices, FormulaError, Num, Partial, Scalar, Sym, T
from derive.formula.latex_funcs import Functions
from derive.formula.latex_layers import Letter, layer_or_letter, named_layer
from derive.formula.latex_lhs import (
    Sample,
)
from derive.formula.latex_tokens import BASES, SCALARS
from derive.formula.layer_indices import Index, IntIndex, RelIndex, index_text
from derive.formula.numbers import (
    _index,
    _small_int,
    integer_of,
    parse_number,
    power,
)

# ------------------------------------------------------------ what the rules hand upwards


@dataclass(frozen=True, slots=True)
class IdxGroup:
    """A bracketed layer index (``[l]``, ``(2)``)."""

    idx: Index | Letter


@dataclass(frozen=True, slots=True)
class SupName:
    """A name in a superscript (a layer, a sample, a transpose)."""

    text: str


@dataclass(frozen=True, slots=True)
class Over:
    """The index letters of a sum (``Σ_{i,j}``), and the letters it skips (``Σ_{k≠i}``)."""

    letters: tuple[str, ...]
    unless: tuple[tuple[str, str], ...] = ()


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


def _bare_symbol(node: Any) -> bool:
    if isinstance(node, (Entry, Sample)):
        return _bare_symbol(node.a)  # δ_j^l: the layer of an entry's symbol
    return isinstance(node, Sym) and node.index is None and node.base not in ("X", "Y")


@v_args(inline=True)
class Scripts(Functions):
    """Symbols, indices, superscripts and functions."""

    def __init__(self, depth: int = 0) -> None:
        super().__init__()
        self.depth = depth  # the network's layers, for the layers named by a letter
        self.notes: list[str] = []  # the readings used (said in the answer)
        self.output_written = False  # ŷ: L is the output layer
        self.functions: set[str] = set()  # the function letters written (Bishop's h)
        self.alternative: Any = None  # the parts read another way (``unit_letters``)
        self.otimes: list[Any] = []  # the products written ⊗ (``LatexToIR.binop``)
        self.unread: list[str] = []  # sides left with a tensor factor (``LatexToIR._chain``)

    def _layer(self, text: str) -> Index | Letter:
        """A layer index, an entry or sample letter, or ``o``/``h`` (``latex_layers``)."""
        named = named_layer(text, self.depth, self.notes)
        return named if named is not None else layer_or_letter(text)

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
                k = index_text(idx) if not isinstance(idx, Letter) else idx.c
                shown = f"{word}_{k}" if len(k) == 1 else f"{word}_{{{k}}}"
                example = (
                    f", e.g. --symbol '{shown}=A_{k}' or '{shown}=Z_{k}'"
                    if isinstance(idx, IntIndex)
                    else " with --symbol NAME=QUANTITY"
                )
                raise FormulaError(
                    f"unknown symbol {shown} (derive's names: W, b, Z, A, X, Y, \\delta, dZ, dW, "
                    f"db); if it is one of the network's values, declare which{example} "
                    "([notation.symbols] in a spec)"
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
        return layer_or_letter(f"{base}{sign}{num or ''}")

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
