"""LaTeX parse tree -> IR (the transformer of ``latex.lark``): the expressions.

The words it knows are in ``latex_tokens``; the forms around the expressions (per-sample
sums, update rules, the chain rule) in ``latex_lhs``.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from lark import Token, v_args

from derive.formula.ir import (
    IR,
    Amb,
    Bin,
    Chain,
    Cmp,
    Conv,
    Diag,
    Entry,
    EntryIndices,
    Fn,
    FormulaError,
    Gt0,
    Index,
    IntIndex,
    ISum,
    Mode,
    Neg,
    Num,
    Ones,
    Partial,
    Pow,
    RelIndex,
    Scalar,
    Slice,
    Sum,
    Sym,
    T,
    Where,
)
from derive.formula.ir_walk import has_entries
from derive.formula.latex_lhs import (
    DD,
    Sample,
    SSum,
    has_sample,
    per_sample,
    same_symbol,
    telescoped,
    update_rule,
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


def _slice_sum(letters: tuple[str, ...], node: Slice) -> IR:
    """``Σ_{n,i,j} (δ)_{n,:,i,j}``: the sum over every axis but the channels, one per channel."""
    items = node.items
    kept = [k for k, item in enumerate(items) if item == ":"]
    summed = [item for item in items if item != ":"]
    if len(items) == 4 and kept == [1] and sorted(summed) == sorted(letters):
        return Sum(node.a, "channels")
    raise FormulaError(
        "a slice under a sum: Σ_{n,i,j} (δ)_{n,:,i,j} (samples and positions summed, one sum "
        "per channel) is the form read here"
    )


def _same_layer(word: str, layer: Index, arg: Any) -> None:
    """``f_2'(z_2)``, ``g^{[1]}(Z^{[1]})``: the layer written on a function is its
    argument's; a function of one layer applied to another layer's Z is refused."""
    if isinstance(arg, Sym) and arg.index is not None and arg.index != layer:
        raise FormulaError(
            f"{word} of one layer applied to {arg.base} of another: write the layer's own "
            f"activation, e.g. {word}_2'(Z_2)"
        )


def _comparison(a: IR, op: str, b: IR) -> IR:
    """``z > 0``: ReLU's mask; ``z ≤ c``, …: a 0/1 mask."""
    if isinstance(b, Num):
        c = b.value
    elif isinstance(b, Neg) and isinstance(b.a, Num):
        c = -b.a.value
    else:
        raise FormulaError(f"the right side of {op} must be a number")
    if op in (">", ">=") and c == 0:
        return Gt0(a)
    return Cmp(a, op, c)


def _opposite(cond: Any) -> IR:
    if isinstance(cond, Gt0):
        return Cmp(cond.a, "<=", 0)
    flip = {">": "<=", ">=": "<", "<": ">=", "<=": ">"}[cond.op]
    return _comparison(cond.a, flip, Num(cond.c))


def _bare_symbol(node: Any) -> bool:
    if isinstance(node, (Entry, Sample)):
        return _bare_symbol(node.a)  # δ_j^l: the layer of an entry's symbol
    return isinstance(node, Sym) and node.index is None and node.base not in ("X", "Y")


def _chain(a: Any, b: Any) -> Chain:
    """``X ⊙ A B``, ``A B ⊙ X``: unbracketed ⊙ and juxtaposition, whose relative precedence
    notes do not agree on: a ``Chain`` with ``ops`` a string of ``m`` (matrix product) and
    ``h`` (⊙) between the operands; every bracketing is a reading."""
    ops: list[str] = []
    operands: list[Any] = []
    for side, node in enumerate((a, b)):
        if side:
            ops.append("h")
        if isinstance(node, Chain) and node.bare:
            ops += list(node.ops)
            operands += list(node.items)
        elif isinstance(node, Bin) and node.bare and node.op == "mat":
            flat: list[Any] = []
            stack: list[Any] = [node]
            while stack:
                n = stack.pop()
                if isinstance(n, Bin) and n.bare and n.op == "mat":
                    stack += [n.b, n.a]
                else:
                    flat.append(n)
            ops += ["m"] * (len(flat) - 1)
            operands += flat
        else:
            operands.append(node)
    return Chain("".join(ops), tuple(operands))


def _number_like(node: Any) -> bool:
    """A number, a scalar, or a quotient of them (``\\frac{1}{m}``)."""
    if isinstance(node, (Num, Scalar)):
        return True
    if isinstance(node, Bin) and node.op == "div":
        return _number_like(node.a) and _number_like(node.b)
    return isinstance(node, Neg) and _number_like(node.a)


def _is_bare(node: Any) -> bool:
    return isinstance(node, (Bin, Chain)) and node.bare


@v_args(inline=True)
class LatexToIR(_CommonIR):
    """LaTeX parse tree -> IR."""

    def chain(self, *parts: Any) -> list[IR]:
        """A product of partial derivatives, read as the chain rule where it telescopes."""
        lhs = parts[0]
        rhs = parts[1]
        param = isinstance(lhs, Sym) and lhs.base in ("W", "b", "K")
        accumulates = isinstance(rhs, Bin) and rhs.op in ("sub", "add")
        if param and accumulates and same_symbol(rhs.a, lhs):
            return update_rule(lhs, rhs, list(parts[2:]))  # W_2 = W_2 − α G
        if accumulates and same_symbol(rhs.a, lhs):
            raise FormulaError(
                f"{lhs.base} = {lhs.base} + …: an accumulation (Δ ← Δ + …) is not read; write "
                "the quantity's formula, or an update of a parameter, W ← W − α G"
            )
        return [per_sample(lhs), *(per_sample(telescoped(p)) for p in parts[1:])]

    def update(self, lhs: IR, step: IR, *rest: IR) -> list[IR]:
        """``W ← W − α G`` (also ``:=``, ``\\gets``): the update rule checks ``G`` as ∂L/∂W."""
        parts = update_rule(lhs, step, [telescoped(p) for p in rest])
        return [per_sample(p) for p in parts]

    def juxt(self, a: IR, b: IR) -> IR:
        """Juxtaposition: a product whose kind the shapes decide."""
        return Bin("mat", a, b, bare=True)

    def max2(self, _tok: Token, a: IR, b: IR) -> IR:
        """``\\max(0, z)``: ReLU."""
        if a == Num(0) or b == Num(0):
            return Fn("relu", 0, b if a == Num(0) else a)
        raise FormulaError("\\max(x, y) is read as ReLU, \\max(0, z); here neither side is 0")

    def cmp(self, a: IR, op: Token, b: IR) -> IR:
        """A comparison (``z > 0``): an indicator."""
        word = {"\\gt": ">", "\\lt": "<", "\\geq": ">=", "\\ge": ">=", "\\geqslant": ">="}
        word |= {"\\leq": "<=", "\\le": "<=", "\\leqslant": "<="}
        return _comparison(a, word.get(str(op), str(op)), b)

    def cmpgroup(self, node: IR) -> IR:
        """A bracketed comparison."""
        return node

    def indicator(self, _tok: Token, node: IR) -> IR:
        r"""``\mathbb{1}[…]``, ``\mathbb{1}(…)`` and Iverson brackets."""
        return node

    def cases(self, _tok: Token, p: IR, cond: Gt0 | Cmp, q: IR, other: Any = None) -> IR:
        """``\\begin{cases} p & z > 0 \\\\ q & \\text{otherwise}\\end{cases}``: p where the
        condition holds, else q; a second condition, if written, must be the first's opposite."""
        if isinstance(other, Token):  # \\text{otherwise}
            other = None
        if other is not None and other != _opposite(cond):
            raise FormulaError(
                "the conditions of a cases environment must be opposite (z > 0 and z ≤ 0)"
            )
        return Where(cond, p, q)

    def dd(self, _f1: Token, _p1: Token, num: IR, _p2: Token, den: IR) -> Any:
        """A ``d``-name (``dW``) as the gradient it names."""
        return DD(num, den)

    def binop(self, a: IR, op: Token, b: IR) -> IR:
        """``+``, ``-`` and the product signs between two terms."""
        if str(op) == "\\star":
            return Conv("corr", a, b, None)
        kind = {"\\odot": "had", "\\circ": "had", ".*": "had", "/": "div"}.get(str(op), "amb")
        if kind == "had" and (_is_bare(a) or _is_bare(b)):
            chain = _chain(a, b)
            if sum(1 for o in chain.items if not _number_like(o)) > 2:
                return Chain(chain.ops, chain.items, bare=True)  # (1/m) X ⊙ Y: either way
        if kind == "amb":
            return Amb(a, b, str(op))
        return Bin("had" if kind == "had" else "div", a, b)

    def mode(self, node: IR, tok: Token) -> IR:
        """The mode of a sliding product (``full``, ``valid``)."""
        return Mode(node, str(tok).strip("{} "))

    def entries(self, node: IR, tok: Token) -> IR:
        """Entry indices such as ``{ij}``."""
        return Entry(node, _entry_indices(str(tok)))

    def entry_symbol(self, name: Token, tok: Token) -> IR:
        """A symbol with entry indices."""
        return Entry(self.symbol(name), _entry_indices(str(tok)))

    def group(self, inner: IR) -> IR:
        """A bracketed group (its value)."""
        if isinstance(inner, (Bin, Chain)) and inner.bare:
            return dataclasses.replace(inner, bare=False)
        return inner

    def number(self, tok: Token) -> IR:
        """A number literal, parsed with bounds."""
        return Num(parse_number(str(tok)))

    def ones(self, tok: Token) -> IR:
        r"""A ones vector ``\mathbf{1}``."""
        size = re.search(r"_\{?\s*(\w)", str(tok))
        return Ones(size.group(1)) if size else Ones()

    def slice(self, node: IR, tok: Token) -> IR:
        r"""A column or row slice ``(\cdot)_{:,k}``."""
        return Slice(node, tuple(re.findall(r"[a-z]|:", str(tok))))

    def frac(self, _tok: Token, num: IR, den: IR) -> IR:
        r"""``\frac{a}{b}``."""
        return Bin("div", num, den)

    def sum(self, _tok: Token, *rest: Any) -> Any:
        r"""``\sum`` with its index range: over samples, classes or entries."""
        body = rest[-1]
        if has_sample(body):  # Σ_i over per-sample quantities: read in per_sample
            return SSum(body)
        letters = next((r for r in rest[:-1] if isinstance(r, Over)), None)
        if letters is not None and has_entries(body):
            return ISum(letters.letters, body)  # Σ_{i,j} δ_{ij} …: a sum over entry indices
        if isinstance(body, Slice):
            return _slice_sum(letters.letters if letters else (), body)
        return Sum(body, None)

    def sumsub(self, *items: Any) -> Over:
        """The subscript of a sum (its index)."""
        text = "".join(str(i) for i in items)
        return Over(tuple(re.findall(r"[a-z]", text.split("=")[0])))

    def sumsup(self, *items: Any) -> None:
        """The superscript of a sum (its upper bound)."""
        return None

    def diag(self, _tok: Token, arg: IR) -> IR:
        r"""``\operatorname{diag}(v)``: read elementwise where it multiplies a vector."""
        return Diag(arg)

    def symbol(self, name: Token, idx: Index | Letter | None = None) -> IR:
        """A symbol with its layer index, decorations and superscripts."""
        word = str(name)
        if word in SCALARS:
            return Scalar(SCALARS[word])
        if word in ("\\yhat", "\\Yhat"):
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
        return _layer_or_letter(str(tok))

    def sub_braced(self, idx: Index | Letter) -> Index | Letter:
        """A braced subscript."""
        return idx

    def idx(self, base: Token, sign: Token | None = None, num: Token | None = None) -> Any:
        """A layer index."""
        return _layer_or_letter(f"{base}{sign or ''}{num or ''}")

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
                    node = _set_index(node, _index(item.text))
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

    def nabla(self, _tok: Token, sym: IR, loss: Token) -> IR:
        r"""``\nabla_X C``: the gradient it names."""
        if isinstance(sym, Sym) and sym.base == "A" and sym.index is None:
            sym = Sym("A", RelIndex("L", 0), sym.lower)  # Nielsen's ∇_a C: the output's
        return Partial(sym, str(loss))
