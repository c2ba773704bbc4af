"""LaTeX parse tree -> IR (the transformer of ``latex.lark``)."""

from __future__ import annotations

import re
from typing import Any

from lark import Token, v_args

from derive.formula.ir import (
    IR,
    MAX_ORDER,
    FormulaError,
    _CommonIR,
    _has_entries,
    _index,
    _small_int,
    integer_of,
    parse_number,
    power,
)

_BASES = {
    "W": ("W", False),
    "w": ("W", True),
    "b": ("b", False),
    "Z": ("Z", False),
    "z": ("Z", True),
    "A": ("A", False),
    "a": ("A", True),
    "X": ("X", False),
    "x": ("X", True),
    "Y": ("Y", False),
    "y": ("Y", True),
    "\\delta": ("delta", False),
    "\\Delta": ("delta", False),
    "dZ": ("delta", False),
    "dz": ("delta", True),
    "dW": ("dW", False),
    "dw": ("dW", True),
    "db": ("db", False),
    "dA": ("dA", False),
    "da": ("dA", True),
    "K": ("K", False),
    "k": ("K", True),
    "dK": ("dK", False),
    "dk": ("dK", True),
}


_SCALARS = {"\\lambda": "lambda", "\\alpha": "alpha"}


_FUNCS = {
    "\\sigma": "sigmoid",
    "sigmoid": "sigmoid",
    "\\tanh": "tanh",
    "tanh": "tanh",
    "relu": "relu",
    "ReLU": "relu",
    "softmax": "softmax",
    "f": "generic",
    "g": "generic",
    "h": "generic",
    "\\phi": "generic",
    "\\varphi": "generic",
    "\\exp": "exp",
    "\\log": "log",
    "gelu": "gelu",
    "lrelu": "leaky_relu",
    "leaky_relu": "leaky_relu",
    "elu": "elu",
    "silu": "silu",
    "softplus": "softplus",
    "rot180": "rot180",
    "flip": "rot180",
    "up": "up",
    "maxmask": "maxmask",
    "maxpool": "maxpool",
    "avgpool": "avgpool",
    "flatten": "flatten",
    "unflatten": "unflatten",
}


def _entry_indices(text: str) -> IR:
    """``{i+u,j-1}`` -> (((1,'i'),(1,'u')), ((1,'j'),(-1,1))); ``{uv}``: two plain indices."""
    body = text.strip("{} ").replace(" ", "")
    parts = body.split(",") if "," in body else list(body)
    out = []
    for part in parts:
        terms = []
        for sign, item in re.findall(r"([+-]?)([a-z]|[0-9]+)", part):
            value: Any = _small_int(item, "an entry index") if item.isdigit() else item
            terms.append((-1 if sign == "-" else 1, value))
        out.append(tuple(terms))
    return tuple(out)


def _set_index(node: IR, idx: IR) -> IR:
    if node[0] != "sym" or node[2] is not None:
        raise FormulaError("a layer index is given twice")
    return ("sym", node[1], idx, node[3])


def _slice_sum(letters: tuple[str, ...], node: IR) -> IR:
    """``Σ_{n,i,j} (δ)_{n,:,i,j}``: the sum over every axis but the channels, one per channel."""
    _, inner, items = node
    kept = [k for k, item in enumerate(items) if item == ":"]
    summed = [item for item in items if item != ":"]
    if len(items) == 4 and kept == [1] and sorted(summed) == sorted(letters):
        return ("sum", inner, "channels")
    raise FormulaError(
        "a slice under a sum: Σ_{n,i,j} (δ)_{n,:,i,j} (samples and positions summed, one sum "
        "per channel) is the form read here"
    )


def _bare_symbol(node: IR) -> bool:
    return node[0] == "sym" and node[2] is None and node[1] not in ("X", "Y")


class _Bare(tuple):  # type: ignore[type-arg]
    """A product written without brackets (``A B``, ``X ⊙ A B``): equal to its tuple, but
    a ⊙ next to it may bind either way."""


def _chain(a: IR, b: IR) -> IR:
    """``X ⊙ A B``, ``A B ⊙ X``: unbracketed ⊙ and juxtaposition, whose relative precedence
    notes do not agree on: ``("chain", ops, operand, …)`` with ``ops`` a string of ``m``
    (matrix product) and ``h`` (⊙) between the operands; every bracketing is a reading."""
    ops: list[str] = []
    operands: list[IR] = []
    for side, node in enumerate((a, b)):
        if side:
            ops.append("h")
        if isinstance(node, _Bare) and node[0] == "chain":
            ops += list(node[1])
            operands += list(node[2:])
        elif isinstance(node, _Bare) and node[0] == "mat":
            flat: list[IR] = []
            stack = [node]
            while stack:
                n = stack.pop()
                if isinstance(n, _Bare) and n[0] == "mat":
                    stack += [n[2], n[1]]
                else:
                    flat.append(n)
            ops += ["m"] * (len(flat) - 1)
            operands += flat
        else:
            operands.append(node)
    return ("chain", "".join(ops), *operands)


def _number_like(node: IR) -> bool:
    """A number, a scalar, or a quotient of them (``\\frac{1}{m}``)."""
    if node[0] in ("num", "scalar"):
        return True
    return node[0] in ("div", "neg") and all(_number_like(c) for c in node[1:])


@v_args(inline=True)
class LatexToIR(_CommonIR):
    """LaTeX parse tree -> IR."""

    def juxt(self, a: IR, b: IR) -> IR:
        return _Bare(("mat", a, b))

    def binop(self, a: IR, op: Token, b: IR) -> IR:
        if str(op) == "\\star":
            return ("corr", a, b, None)
        kind = {"\\odot": "had", "\\circ": "had", ".*": "had", "/": "div"}.get(str(op), "amb")
        if kind == "had" and (isinstance(a, _Bare) or isinstance(b, _Bare)):
            chain = _chain(a, b)
            if sum(1 for o in chain[2:] if not _number_like(o)) > 2:
                return _Bare(chain)  # (1/m) X ⊙ Y: a number binds either way alike
        return (kind, a, b) if kind != "amb" else ("amb", a, b, str(op))

    def mode(self, node: IR, tok: Token) -> IR:
        return ("mode", node, str(tok).strip("{} "))

    def entries(self, node: IR, tok: Token) -> IR:
        return ("entry", node, _entry_indices(str(tok)))

    def entry_symbol(self, name: Token, tok: Token) -> IR:
        return ("entry", self.symbol(name), _entry_indices(str(tok)))

    def group(self, inner: IR) -> IR:
        return tuple(inner) if isinstance(inner, _Bare) else inner

    def number(self, tok: Token) -> IR:
        return ("num", parse_number(str(tok)))

    def ones(self, tok: Token) -> IR:
        size = re.search(r"_\{?\s*(\w)", str(tok))
        return ("ones", size.group(1)) if size else ("ones",)

    def slice(self, node: IR, tok: Token) -> IR:
        return ("slice", node, tuple(re.findall(r"[a-z]|:", str(tok))))

    def frac(self, _tok: Token, num: IR, den: IR) -> IR:
        return ("div", num, den)

    def sum(self, _tok: Token, *rest: Any) -> IR:
        letters = next((r for r in rest[:-1] if isinstance(r, tuple) and r[:1] == ("over",)), None)
        if letters is not None and _has_entries(rest[-1]):
            return ("isum", letters[1], rest[-1])  # Σ_{i,j} δ_{ij} …: a sum over entry indices
        if rest[-1][0] == "slice":
            return _slice_sum(letters[1] if letters else (), rest[-1])
        return ("sum", rest[-1], None)

    def sumsub(self, *items: Any) -> IR:
        text = "".join(str(i) for i in items)
        return ("over", tuple(re.findall(r"[a-z]", text.split("=")[0])))

    def sumsup(self, *items: Any) -> None:
        return None

    def diag(self, _tok: Token, arg: IR) -> IR:
        return ("diag", arg)

    def symbol(self, name: Token, idx: IR | None = None) -> IR:
        word = str(name)
        if word in _SCALARS:
            return ("scalar", _SCALARS[word])
        if word in ("\\yhat", "\\Yhat"):
            if idx is not None:
                raise FormulaError("ŷ is the network's output A_L: it takes no layer index")
            return ("sym", "A", ("rel", "L", 0), word == "\\yhat")
        if word in _BASES:
            base, lower = _BASES[word]
            return ("sym", base, idx, lower)
        if re.fullmatch(r"[A-Za-z]", word):
            if idx is not None:
                raise FormulaError(
                    f"unknown symbol {word}_… (known: W, b, Z, A, X, Y, \\delta, dZ, dW, db)"
                )
            return ("scalar", word)
        raise FormulaError(f"unknown symbol {word!r}")

    def sub_simple(self, tok: Token) -> IR:
        return _index(str(tok))

    def sub_braced(self, idx: IR) -> IR:
        return idx

    def idx(self, base: Token, sign: Token | None = None, num: Token | None = None) -> IR:
        return _index(f"{base}{sign or ''}{num or ''}")

    def idxgroup(self, idx: IR) -> IR:
        return ("idxgroup", idx)

    def sup_t(self, _tok: Token) -> list[Any]:
        return ["T"]

    def sup_num(self, tok: Token) -> list[Any]:
        return [("num", parse_number(str(tok)))]

    def sup_name(self, tok: Token) -> list[Any]:
        return [("name", str(tok))]

    def supidx(self, base: Token, sign: Token, num: Token) -> IR:
        return ("idxgroup", _index(f"{base}{sign}{num}"))

    def supbody(self, *items: Any) -> list[Any]:
        out: list[Any] = []
        for it in items:
            if isinstance(it, Token) and it.type == "TRANSPOSE":
                out.append("T")
            elif isinstance(it, Token) and it.type == "NUMBER":
                out.append(("num", parse_number(str(it))))
            elif isinstance(it, Token) and it.type == "NAME":
                out.append(("name", str(it)))
            else:
                out.append(it)
        return out

    def supscript(self, base: IR, items: list[Any]) -> IR:
        node = base
        for item in items:
            if item == "T":
                node = ("T", node)
            elif item[0] == "idxgroup":
                node = _set_index(node, item[1])
            elif item[0] == "num":
                if _bare_symbol(node):
                    node = _set_index(node, ("int", integer_of(item[1], "a layer index")))
                else:
                    node = power(node, item[1])
            elif item[0] == "name":
                if _bare_symbol(node):
                    node = _set_index(node, _index(item[1]))
                else:
                    raise FormulaError(f"cannot read the superscript {item[1]!r}")
        return node

    def prime(self, base: IR, _tok: Token) -> IR:
        return ("T", base)

    def func_app(self, name: Token, *rest: Any) -> IR:
        word = str(name)
        word = re.sub(r"^\\operatorname\{(\w+)\}\Z", r"\1", word)
        word = re.sub(r"^\\(?:mathrm|text)\{(\w+)\}\Z", r"\1", word)
        word = {"flip": "rot180"}.get(word, word)
        if word not in _FUNCS:
            raise FormulaError(f"unknown function {word!r}")
        primes = sum(1 for r in rest if isinstance(r, Token) and r.type == "PRIME")
        if primes > MAX_ORDER:
            raise FormulaError(
                f"{word} with {primes} primes: derivatives up to order {MAX_ORDER} are accepted"
            )
        powers = [r for r in rest if isinstance(r, Token) and r.type == "NUMBER"]
        arg = rest[-1]
        if arg[0] == "bare":
            arg = arg[1]
            if arg[0] == "pow":  # \tanh Z^2: tanh(Z²) to some readers, tanh(Z)² to others
                raise FormulaError(
                    f"{word} applied to a power without brackets is ambiguous: write "
                    f"{word}(x)^2 for the square of the function, {word}(x^2) for its argument's"
                )
        node: IR = ("fn", _FUNCS[word], primes, arg)
        if powers:
            node = power(node, parse_number(str(powers[0])))
        return node

    def bare_arg(self, node: IR) -> IR:
        return ("bare", node)

    def partial(self, *items: Any) -> IR:
        loss = next(str(t) for t in items if isinstance(t, Token) and t.type == "LOSSNAME")
        return ("quantity", items[-1], loss)

    def nabla(self, _tok: Token, sym: IR, loss: Token) -> IR:
        return ("quantity", sym, str(loss))
