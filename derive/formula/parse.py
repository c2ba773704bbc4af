"""Parse a hand-written formula (LaTeX or NumPy style) into a small IR of tuples.

Both grammars (``latex.lark``, ``python.lark``) are lark LALR grammars; their
transformers build the same IR, so the resolver and the diagnosis are written once.
Nothing here evaluates the user's text: it only becomes tuples of strings and numbers.

IR nodes::

    ("sym", base, idx, lower)    base: W b Z A X Y delta dW db dA; idx: None,
                                 ("int", k) or ("rel", "l"|"L", offset)
    ("num", Rational)            ("scalar", name)       ("ones",)
    ("add"|"sub"|"mat"|"had"|"amb"|"div", a, b)        ("neg", a)
    ("T", a)   ("pow", a, n)     ("fn", name, order, arg)
    ("sum", a, axis)             ("diag", a)            ("gt0", a)
    ("quantity", sym)            a left side written as ∂L/∂W, ∇_W L
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

import sympy
from lark import Lark, Token, Transformer, UnexpectedCharacters, UnexpectedInput, v_args

IR = tuple[Any, ...]

SYNTAXES = ("latex", "python")


class FormulaError(ValueError):
    """A formula that cannot be checked: it does not parse, or names something unknown."""


@cache
def parser(syntax: str) -> Lark:
    grammar = resources.files("derive.formula").joinpath(f"{syntax}.lark").read_text("utf-8")
    return Lark(grammar, parser="lalr", maybe_placeholders=False, cache=True)


def caret(text: str, column: int) -> str:
    return f"  {text}\n  {' ' * max(column - 1, 0)}^"


def _expected(err: UnexpectedInput) -> str:
    names = sorted(getattr(err, "expected", None) or getattr(err, "allowed", None) or [])
    pretty = {
        "RPAR": "')'",
        "LPAR": "'('",
        "RBRACE": "'}'",
        "LBRACE": "'{'",
        "EQUAL": "'='",
        "NAME": "a symbol",
        "NUMBER": "a number",
        "FUNC": "a function",
        "__ANON_0": "a term",
    }
    shown = [pretty.get(n, n.lower()) for n in names][:6]
    return f"; expected {', '.join(shown)}" if shown else ""


_LATEX_WORDS = re.compile(r"\\(?:text|mathrm|mathit|textrm|mathbf|boldsymbol|bm)\{([A-Za-z]+)\}")


def normalize_latex(text: str) -> str:
    """Drop decorations that carry no math (``\\mathbf{W}`` -> ``W``, ``\\text{d}W`` -> ``dW``)."""
    out = text.strip().strip("$").strip()
    # CNN notation: rot180, the arg-max mask 1_max(A), up(δ), pooling and flatten by name
    out = re.sub(r"\\(?:operatorname|mathrm|text)\{rot\}_\{?180\}?", "rot180", out)
    out = re.sub(r"\\(?:operatorname|mathrm|text)\{rot\s*180\}", "rot180", out)
    out = re.sub(r"\\(?:mathbf|mathbb|boldsymbol)\{1\}_\{?\\(?:max|arg\s*max)\}?", "maxmask", out)
    out = re.sub(
        r"\\(?:operatorname|mathrm|text)\{(up|upsample|maxpool|avgpool|flatten|unflatten|flip)\}"
        r"(?:_\{[^{}]*\})?",
        lambda m: {"upsample": "up"}.get(m.group(1), m.group(1)),
        out,
    )
    out = re.sub(r"\\(?:mathbf|mathbb|boldsymbol)\{1\}", r"\\one ", out)
    out = re.sub(r"\\(?:text|mathrm)\{(relu|ReLU|sigmoid|softmax|tanh|diag)\}", r"\1", out)
    out = _LATEX_WORDS.sub(lambda m: m.group(1), out)
    out = re.sub(r"\\operatorname\{(relu|ReLU|sigmoid|softmax|tanh|diag)\}", r"\1", out)
    return out


def parse(text: str, syntax: str = "latex") -> list[IR]:
    """The parts of ``LHS = … = RHS`` as IR, or a FormulaError with a caret."""
    if syntax not in SYNTAXES:
        raise FormulaError(f"unknown syntax {syntax!r}; use latex or python")
    if not text.strip():
        raise FormulaError("the formula is empty")
    if len(text) > 2000:
        raise FormulaError("the formula is longer than 2,000 characters")
    source = normalize_latex(text) if syntax == "latex" else text.strip()
    if "=" not in source:
        raise FormulaError(
            "a formula is an equation, LHS = RHS (e.g. \\delta_1 = ...), and this one has no '='"
        )
    try:
        tree = parser(syntax).parse(source)
    except UnexpectedCharacters as err:
        pos = err.pos_in_stream or 0
        ch = source[pos] if pos < len(source) else ""
        raise FormulaError(
            f"cannot read {ch!r} at column {err.column}{_expected(err)}\n"
            + caret(source, err.column)
        ) from None
    except UnexpectedInput as err:
        token = getattr(err, "token", None)
        at_end = token is None or getattr(token, "type", "") == "$END"
        col = len(source) + 1 if at_end else getattr(err, "column", len(source) + 1)
        what = "the formula ends too early" if at_end else f"unexpected {str(token)!r}"
        raise FormulaError(
            f"{what} at column {col}{_expected(err)}\n" + caret(source, col)
        ) from None
    transformer = LatexToIR() if syntax == "latex" else PythonToIR()
    try:
        parts = transformer.transform(tree)
    except Exception as err:  # lark wraps errors raised inside callbacks
        inner = getattr(err, "orig_exc", err)
        if isinstance(inner, FormulaError):
            raise FormulaError(f"{inner}\n" + caret(source, 1)) from None
        raise
    return list(parts)


# --------------------------------------------------------------------------- LaTeX

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
            value: Any = int(item) if item.isdigit() else item
            terms.append((-1 if sign == "-" else 1, value))
        out.append(tuple(terms))
    return tuple(out)


def _has_entries(node: Any) -> bool:
    if not isinstance(node, tuple) or not node or not isinstance(node[0], str):
        return False
    return node[0] == "entry" or any(_has_entries(c) for c in node[1:])


def _index(text: str) -> IR:
    t = text.replace(" ", "")
    if re.fullmatch(r"[0-9]+", t):
        return ("int", int(t))
    m = re.fullmatch(r"([lL])([+-][0-9]+)?", t)
    if m:
        return ("rel", m.group(1), int(m.group(2) or 0))
    raise FormulaError(
        f"index {text!r}: use a layer number, l, l+1, l-1 or L (entry indices such as i, j "
        "are not supported; write the formula in matrix form)"
    )


def _set_index(node: IR, idx: IR) -> IR:
    if node[0] != "sym" or node[2] is not None:
        raise FormulaError("a layer index is given twice")
    return ("sym", node[1], idx, node[3])


def _bare_symbol(node: IR) -> bool:
    return node[0] == "sym" and node[2] is None and node[1] not in ("X", "Y")


@v_args(inline=True)
class _CommonIR(Transformer):  # type: ignore[type-arg]
    """The rules both grammars share."""

    def chain(self, *parts: IR) -> list[IR]:
        return list(parts)

    def add(self, a: IR, b: IR) -> IR:
        return ("add", a, b)

    def sub(self, a: IR, b: IR) -> IR:
        return ("sub", a, b)

    def neg(self, a: IR) -> IR:
        return ("neg", a)


@v_args(inline=True)
class LatexToIR(_CommonIR):
    """LaTeX parse tree -> IR."""

    def juxt(self, a: IR, b: IR) -> IR:
        return ("mat", a, b)

    def binop(self, a: IR, op: Token, b: IR) -> IR:
        if str(op) == "\\star":
            return ("corr", a, b, None)
        kind = {"\\odot": "had", "\\circ": "had", "/": "div"}.get(str(op), "amb")
        return (kind, a, b) if kind != "amb" else ("amb", a, b, str(op))

    def mode(self, node: IR, tok: Token) -> IR:
        return ("mode", node, str(tok).strip("{} "))

    def entries(self, node: IR, tok: Token) -> IR:
        return ("entry", node, _entry_indices(str(tok)))

    def entry_symbol(self, name: Token, tok: Token) -> IR:
        return ("entry", self.symbol(name), _entry_indices(str(tok)))

    def group(self, inner: IR) -> IR:
        return inner

    def number(self, tok: Token) -> IR:
        return ("num", sympy.Rational(str(tok)))

    def ones(self, _tok: Token) -> IR:
        return ("ones",)

    def frac(self, _tok: Token, num: IR, den: IR) -> IR:
        return ("div", num, den)

    def sum(self, _tok: Token, *rest: Any) -> IR:
        letters = next((r for r in rest[:-1] if isinstance(r, tuple) and r[:1] == ("over",)), None)
        if letters is not None and _has_entries(rest[-1]):
            return ("isum", letters[1], rest[-1])  # Σ_{i,j} δ_{ij} …: a sum over entry indices
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
        return [("num", int(str(tok)))]

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
                out.append(("num", int(str(it))))
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
                    node = _set_index(node, ("int", item[1]))
                else:
                    node = ("pow", node, item[1])
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
        power = [r for r in rest if isinstance(r, Token) and r.type == "NUMBER"]
        arg = rest[-1]
        node: IR = ("fn", _FUNCS[word], primes, arg)
        if power:
            node = ("pow", node, int(str(power[0])))
        return node

    def partial(self, *items: Any) -> IR:
        loss = next(str(t) for t in items if isinstance(t, Token) and t.type == "LOSSNAME")
        return ("quantity", items[-1], loss)

    def nabla(self, _tok: Token, sym: IR, loss: Token) -> IR:
        return ("quantity", sym, str(loss))


# --------------------------------------------------------------------------- Python

_PY_NAME = re.compile(r"^(W|w|b|Z|z|A|a|dW|dw|db|dZ|dz|dA|da|delta|X|x|Y|y|K|dK)_?([0-9]+|l|L)?\Z")
_PY_FUNCS = {
    "sigmoid": ("sigmoid", 0),
    "tanh": ("tanh", 0),
    "relu": ("relu", 0),
    "softmax": ("softmax", 0),
    "exp": ("exp", 0),
    "log": ("log", 0),
    "sigmoid_prime": ("sigmoid", 1),
    "sigmoid_derivative": ("sigmoid", 1),
    "dsigmoid": ("sigmoid", 1),
    "sigmoid_backward": ("sigmoid", 1),
    "tanh_prime": ("tanh", 1),
    "tanh_derivative": ("tanh", 1),
    "dtanh": ("tanh", 1),
    "relu_prime": ("relu", 1),
    "relu_derivative": ("relu", 1),
    "drelu": ("relu", 1),
    "g_prime": ("generic", 1),
    "f_prime": ("generic", 1),
    "activation_prime": ("generic", 1),
    "g": ("generic", 0),
    "f": ("generic", 0),
}


@v_args(inline=True)
class PythonToIR(_CommonIR):
    """NumPy-style parse tree -> IR."""

    def matmul(self, a: IR, b: IR) -> IR:
        return ("mat", a, b)

    def hadamard(self, a: IR, b: IR) -> IR:
        return ("had", a, b)

    def div(self, a: IR, b: IR) -> IR:
        return ("div", a, b)

    def power(self, a: IR, b: IR) -> IR:
        if b[0] != "num" or not b[1].is_Integer:
            raise FormulaError("only integer powers are supported")
        return ("pow", a, int(b[1]))

    def transpose(self, a: IR) -> IR:
        return ("T", a)

    def number(self, tok: Token) -> IR:
        return ("num", sympy.nsimplify(str(tok), rational=True))

    def string(self, tok: Token) -> IR:
        return ("str", str(tok)[1:-1])

    def tuple(self, *items: IR) -> IR:
        return ("tuple", items)

    def compare(self, a: IR, op: Token, b: IR) -> IR:
        if str(op) in (">", ">=") and b == ("num", 0):
            return ("gt0", a)
        raise FormulaError(f"only (x > 0) comparisons are supported, not {op}")

    def name(self, tok: Token) -> IR:
        word = str(tok)
        m = _PY_NAME.match(word)
        if m:
            base, lower = _BASES.get(m.group(1), (m.group(1), False))
            idx = _index(m.group(2)) if m.group(2) else None
            return ("sym", base, idx, lower)
        if word in ("True", "False"):
            return ("bool", word == "True")
        if word in ("np", "numpy", "jnp", "torch", "scipy", "signal"):
            return ("module", word)
        if word in _PY_FUNCS or word in ("correlate2d", "convolve2d", "rot90"):
            return ("func", word)
        if word in ("lam", "lambd", "lmbda", "alpha"):
            return ("scalar", {"alpha": "alpha"}.get(word, "lambda"))
        if re.fullmatch(r"[A-Za-z_]\w*", word) and len(word) <= 2:
            return ("scalar", word)
        raise FormulaError(f"unknown name {word!r}")

    def attr(self, obj: IR, name: Token) -> IR:
        if obj[0] == "module" and str(name) == "signal":  # scipy.signal
            return ("module", "signal")
        if obj[0] == "module":
            return ("func", str(name))
        if str(name) in ("shape", "size"):
            raise FormulaError("array attributes other than .T are not supported")
        return ("method", obj, str(name))

    def index(self, obj: IR, idx: IR) -> IR:
        raise FormulaError("indexing (x[...]) is not supported; write the formula in matrix form")

    def kwarg(self, name: Token, value: IR) -> IR:
        return ("kw", str(name), value)

    def args(self, *items: IR) -> list[IR]:
        return list(items)

    def call(self, fn: IR, args: list[IR] | None = None) -> IR:
        args = args or []
        pos = [a for a in args if a[0] != "kw"]
        kw = {a[1]: a[2] for a in args if a[0] == "kw"}
        if fn[0] == "method":
            obj, meth = fn[1], fn[2]
            if meth == "astype":
                return obj
            if meth == "dot" and len(pos) == 1:
                return ("mat", obj, pos[0])
            if meth == "sum":
                return self._sum(obj, kw)
            raise FormulaError(f"unknown method .{meth}()")
        if fn[0] != "func":
            raise FormulaError("only functions can be called")
        name = fn[1]
        if name in ("correlate2d", "convolve2d", "correlate", "convolve") and len(pos) == 3:
            kw["mode"] = pos.pop()
        if name in ("dot", "matmul") and len(pos) == 2:
            return ("mat", pos[0], pos[1])
        if name == "multiply" and len(pos) == 2:
            return ("had", pos[0], pos[1])
        if name == "power" and len(pos) == 2 and pos[1][0] == "num":
            return ("pow", pos[0], int(pos[1][1]))
        if name == "square" and len(pos) == 1:
            return ("pow", pos[0], 2)
        if name == "sum" and len(pos) >= 1:
            if len(pos) == 2:
                kw["axis"] = pos[1]
            return self._sum(pos[0], kw)
        if name == "maximum" and len(pos) == 2 and pos[0] == ("num", 0):
            return ("fn", "relu", 0, pos[1])
        if name in ("int64", "int32", "float64", "float32", "array", "asarray") and len(pos) == 1:
            return pos[0]
        if name == "transpose" and len(pos) == 1:
            return ("T", pos[0])
        if name in ("correlate2d", "convolve2d", "correlate", "convolve") and len(pos) == 2:
            mode = kw.get("mode", pos[2] if len(pos) > 2 else ("str", "full"))
            if mode[0] != "str" or mode[1] not in ("full", "valid", "same"):
                raise FormulaError(f"{name}: mode must be 'full', 'valid' or 'same'")
            kind = "corr" if name.startswith("correlate") else "conv"
            return (kind, pos[0], pos[1], mode[1])
        if name == "rot90" and len(pos) == 2 and pos[1] == ("num", 2):
            return ("fn", "rot180", 0, pos[0])
        if name == "flip" and len(pos) == 1:
            return ("fn", "rot180", 0, pos[0])
        if name in _PY_FUNCS and len(pos) == 1:
            fname, order = _PY_FUNCS[name]
            return ("fn", fname, order, pos[0])
        raise FormulaError(f"unknown function {name}() with {len(pos)} argument(s)")

    def _sum(self, x: IR, kw: dict[str, IR]) -> IR:
        axis = kw.get("axis")
        if axis is None:
            raise FormulaError("np.sum without axis sums every entry; give axis=0 or axis=1")
        if axis[0] == "tuple":  # feature maps: axis=(0, 2, 3), one sum per channel
            axes = tuple(int(a[1]) for a in axis[1] if a[0] == "num")
            if axes != (0, 2, 3):
                raise FormulaError(f"a sum over axes {axes}: the bias gradient sums axes (0, 2, 3)")
            return ("sum", x, "channels")
        return ("sum", x, int(axis[1]))
