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
from lark import Lark, Token, Transformer, Tree, UnexpectedCharacters, UnexpectedInput, v_args
from lark.exceptions import VisitError

IR = tuple[Any, ...]

SYNTAXES = ("latex", "python")


class FormulaError(ValueError):
    """A formula that cannot be checked: it does not parse, or names something unknown.

    ``column`` (1-based, in the user's own text) is set when the place is known, so a
    caller can point at it (the CLI's JSON output carries it).
    """

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.column = column


#: Bounds on what a formula may ask for: a check must stay fast whatever the input.
MAX_DIGITS = 30  # significant digits of a number
MAX_EXPONENT = 30  # |e| in 1e30 and a number's size in decimal places
MAX_DEPTH = 40  # operations nested inside one another
MAX_NODES = 200  # operations and operands in one formula
MAX_POWER = 64  # |n| in X^n
MAX_ORDER = 4  # derivatives f', f'', …


def parse_number(text: str) -> sympy.Rational:
    """The exact value of a written number (``12``, ``0.5``, ``1e-3``), within bounds.

    Built from its digits, never by SymPy reading the string: ``1e999999`` is refused,
    not computed.
    """
    m = re.fullmatch(r"([0-9]*)(?:\.([0-9]*))?(?:[eE]([-+]?)([0-9]+))?", text)
    if not m or not (m.group(1) or m.group(2)):
        raise FormulaError(f"cannot read the number {text[:20]!r}")
    whole, frac = m.group(1) or "", m.group(2) or ""
    shown = text if len(text) <= 20 else text[:17] + "…"
    if len((whole + frac).lstrip("0")) > MAX_DIGITS or len(frac) > MAX_EXPONENT:
        raise FormulaError(f"the number {shown} has more than {MAX_DIGITS} digits")
    exp_digits = (m.group(4) or "0").lstrip("0") or "0"
    if len(exp_digits) > 3 or int(exp_digits) > MAX_EXPONENT:
        raise FormulaError(
            f"the number {shown} is out of range (exponents from -{MAX_EXPONENT} to "
            f"{MAX_EXPONENT} are accepted)"
        )
    exponent = (-1 if m.group(3) == "-" else 1) * int(exp_digits) - len(frac)
    mantissa = int(whole + frac or "0")
    if exponent >= 0:
        return sympy.Integer(mantissa * 10**exponent)
    return sympy.Rational(mantissa, 10**-exponent)


def integer_of(value: Any, what: str) -> int:
    """An integer the formula writes (a power, an axis): ``2.9`` is not silently 2."""
    if not isinstance(value, sympy.Rational) or not value.is_Integer:
        shown = f"{float(value):g}" if isinstance(value, sympy.Rational) else str(value)
        raise FormulaError(f"{what} must be a whole number, not {shown}")
    return int(value)


@cache
def parser(syntax: str) -> Lark:
    grammar = resources.files("derive.formula").joinpath(f"{syntax}.lark").read_text("utf-8")
    return Lark(
        grammar, parser="lalr", maybe_placeholders=False, cache=True, propagate_positions=True
    )


def caret(text: str, column: int) -> str:
    """The line of ``text`` holding ``column`` (1-based), and a caret under that column."""
    start = text.rfind("\n", 0, max(column - 1, 0)) + 1
    end = text.find("\n", start)
    line = text[start : end if end >= 0 else len(text)].replace("\t", " ")
    return f"  {line}\n  {' ' * max(column - 1 - start, 0)}^"


#: Grammar terminals in words a user knows (lark's own names are lsqb, circumflex, …).
_WORDS = {
    "EQUAL": "'='",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "STAR": "'*'",
    "SLASH": "'/'",
    "AT": "'@'",
    "COMMA": "','",
    "DOT": "'.'",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "CIRCUMFLEX": "a superscript '^'",
    "UNDERSCORE": "a subscript '_'",
    "MULOP": "a product sign (\\cdot, \\odot, *)",
    "MODE": "a mode {full} or {valid}",
    "ENTRIES": "entry indices such as {ij}",
    "TRANSPOSE": "a transpose T",
    "PRIME": "a prime '",
    "SUM": "a sum \\sum",
    "FRAC": "a fraction \\frac",
    "DIAG": "diag",
    "ONE": "a ones vector \\mathbf{1}",
    "PARTIAL": "\\partial",
    "NABLA": "\\nabla",
    "LOSSNAME": "the loss L",
    "FUNC": "a function (\\sigma, f, …)",
    "DNAME": "a name such as dW",
    "NAME": "a symbol",
    "SIMPLE": "a layer index",
    "IDXBASE": "a layer index",
    "SIGN": "'+' or '-'",
    "NUMBER": "a number",
    "COMPARE": "a comparison",
    "STRING": "a string",
    "$END": "the end of the formula",
}


def _word(lark: Lark, name: str) -> str:
    if name in _WORDS:
        return _WORDS[name]
    try:
        pattern = lark.get_terminal(name).pattern
    except KeyError:
        return name.lower()
    if pattern.type == "str":
        return f"'{pattern.value}'"
    return name.lower()


def _expected(lark: Lark, err: UnexpectedInput) -> str:
    names = getattr(err, "expected", None) or getattr(err, "allowed", None) or []
    shown: list[str] = []
    for word in sorted({_word(lark, n) for n in names}, key=lambda w: (w.startswith("'"), w)):
        if word not in shown:
            shown.append(word)
    if not shown:
        return ""
    more = ", …" if len(shown) > 10 else ""
    return f"; expected {', '.join(shown[:10])}{more}"


_LATEX_WORDS = re.compile(r"\\(?:text|mathrm|mathit|textrm|mathbf|boldsymbol|bm)\{([A-Za-z]+)\}")

#: (pattern, replacement) applied in order: decorations that carry no math, and CNN
#: notation by name (rot180, the arg-max mask 1_max(A), up(δ), pooling and flatten).
_REWRITES: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"\\(?:operatorname|mathrm|text)\{rot\}_\{?180\}?"), "rot180"),
    (re.compile(r"\\(?:operatorname|mathrm|text)\{rot\s*180\}"), "rot180"),
    (re.compile(r"\\(?:mathbf|mathbb|boldsymbol)\{1\}_\{?\\(?:max|arg\s*max)\}?"), "maxmask"),
    (
        re.compile(
            r"\\(?:operatorname|mathrm|text)\{(up|upsample|maxpool|avgpool|flatten|unflatten|flip)\}"
            r"(?:_\{[^{}]*\})?"
        ),
        lambda m: {"upsample": "up"}.get(m.group(1), m.group(1)),
    ),
    (
        re.compile(r"\\(?:mathbf|mathbb|boldsymbol)\{1\}(_\{\s*\w\s*\}|_\w)?"),
        lambda m: "\\one" + (m.group(1) or "") + " ",
    ),
    (re.compile(r"\\(?:text|mathrm)\{(relu|ReLU|sigmoid|softmax|tanh|diag)\}"), r"\1"),
    (_LATEX_WORDS, lambda m: m.group(1)),
    (re.compile(r"\\operatorname\{(relu|ReLU|sigmoid|softmax|tanh|diag)\}"), r"\1"),
]


def _stripped(text: str) -> tuple[str, list[int]]:
    """``text`` without surrounding blanks and ``$``, and each kept character's position."""
    start, end = 0, len(text)
    while start < end and (text[start].isspace() or text[start] == "$"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] == "$"):
        end -= 1
    return text[start:end], [*range(start, end), end]


def normalize_with_positions(text: str) -> tuple[str, list[int]]:
    """The LaTeX the grammar reads, and for each of its positions the user's position.

    A rewritten span maps to where it starts in the user's text, so a caret can point into
    what the user wrote, not into the rewritten string.
    """
    out, pos = _stripped(text)
    for pattern, repl in _REWRITES:
        parts: list[str] = []
        new_pos: list[int] = []
        last = 0
        for m in pattern.finditer(out):
            parts.append(out[last : m.start()])
            new_pos += pos[last : m.start()]
            r = m.expand(repl) if isinstance(repl, str) else repl(m)
            parts.append(r)
            new_pos += [pos[m.start()]] * len(r)
            last = m.end()
        parts.append(out[last:])
        new_pos += pos[last:]
        out = "".join(parts)
        pos = new_pos
    return out, pos


def normalize_latex(text: str) -> str:
    """Drop decorations that carry no math (``\\mathbf{W}`` -> ``W``, ``\\text{d}W`` -> ``dW``)."""
    return normalize_with_positions(text)[0]


def _too_deep(tree: Tree[Any]) -> tuple[str, Any] | None:
    """Whether the parse tree nests deeper or is larger than a check can afford.

    Walked with an explicit stack (a deep tree must not overflow Python's own).
    """
    stack: list[tuple[Any, int]] = [(tree, 1)]
    nodes = 0
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, Tree):
            continue
        nodes += 1
        if depth > MAX_DEPTH:
            return (
                f"more than {MAX_DEPTH} operations nested inside one another (brackets, "
                "functions, signs, or a long chain of products or sums)",
                node,
            )
        if nodes > MAX_NODES:
            return f"more than {MAX_NODES} operations and operands", node
        stack.extend((c, depth + 1) for c in reversed(node.children))  # leftmost first
    return None


def _start(node: Any) -> int | None:
    """The position (0-based, in the parsed text) where a tree or token starts."""
    if isinstance(node, Token):
        return node.start_pos
    meta = getattr(node, "meta", None)
    if meta is not None and not getattr(meta, "empty", True):
        return int(meta.start_pos)
    return None


def parse(text: str, syntax: str = "latex") -> list[IR]:
    """The parts of ``LHS = … = RHS`` as IR, or a FormulaError with a caret."""
    if syntax not in SYNTAXES:
        raise FormulaError(f"unknown syntax {syntax!r}; use latex or python")
    if not text.strip():
        raise FormulaError("the formula is empty")
    if len(text) > 2000:
        raise FormulaError("the formula is longer than 2,000 characters")
    source, pos = normalize_with_positions(text) if syntax == "latex" else _stripped(text)

    def fail(message: str, at: int | None, tail: str = "") -> FormulaError:
        """The error, with a caret under the user's own text at parsed position ``at``."""
        if at is None:
            return FormulaError(message + tail)
        column = pos[min(max(at, 0), len(pos) - 1)] + 1
        return FormulaError(f"{message} at column {column}{tail}\n" + caret(text, column), column)

    if "=" not in source:
        raise FormulaError(
            "a formula is an equation, LHS = RHS (e.g. \\delta_1 = ...), and this one has no '='"
        )
    lark = parser(syntax)
    try:
        tree = lark.parse(source)
    except UnexpectedCharacters as err:
        at = err.pos_in_stream or 0
        ch = source[at] if at < len(source) else ""
        raise fail(f"cannot read {ch!r}", at, _expected(lark, err)) from None
    except UnexpectedInput as err:
        token = getattr(err, "token", None)
        if not isinstance(token, Token) or token.type == "$END":
            where, what = len(source), "the formula ends too early"
        else:
            word = re.match(r"\\?[A-Za-z]+|[0-9.]+|\S", str(token))  # \foo, not \foo(Z_1)
            where = token.start_pos or 0
            what = f"unexpected '{word.group(0) if word else str(token)[:12]}'"
        raise fail(what, where, _expected(lark, err)) from None
    big = _too_deep(tree)
    if big is not None:
        raise fail(f"the formula is too large to check: {big[0]}", _start(big[1]))
    transformer = LatexToIR() if syntax == "latex" else PythonToIR()
    try:
        parts = transformer.transform(tree)
    except VisitError as err:  # lark wraps errors raised inside callbacks
        inner = err.orig_exc
        if isinstance(inner, FormulaError):
            raise fail(str(inner), _start(err.obj)) from None
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


def _has_entries(node: Any) -> bool:
    if not isinstance(node, tuple) or not node or not isinstance(node[0], str):
        return False
    return node[0] == "entry" or any(_has_entries(c) for c in node[1:])


def _index(text: str) -> IR:
    t = text.replace(" ", "")
    if re.fullmatch(r"[0-9]+", t):
        return ("int", _small_int(t, "a layer index"))
    m = re.fullmatch(r"([lL])([+-][0-9]+)?", t)
    if m:
        return ("rel", m.group(1), _small_int(m.group(2) or "0", "a layer offset"))
    raise FormulaError(
        f"index {text!r}: use a layer number, l, l+1, l-1 or L (entry indices such as i, j "
        "are not supported; write the formula in matrix form)"
    )


def _small_int(text: str, what: str) -> int:
    """A written index: digits, at most six of them (no layer 10^2000)."""
    digits = text.lstrip("+-").lstrip("0")
    if len(digits) > 6:
        raise FormulaError(f"{what} {text[:12]}… is too large")
    return int(text)


def power(base: IR, exponent: Any) -> IR:
    """``base^n``: a real power (``2.9`` stays 2.9), with a bounded exponent."""
    n = sympy.Rational(exponent)
    if abs(n) > MAX_POWER:
        raise FormulaError(f"the power {n} is too large (powers up to {MAX_POWER} are accepted)")
    return ("pow", base, n)


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
        return _Bare(("mat", a, b))

    def binop(self, a: IR, op: Token, b: IR) -> IR:
        if str(op) == "\\star":
            return ("corr", a, b, None)
        kind = {"\\odot": "had", "\\circ": "had", "/": "div"}.get(str(op), "amb")
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
    "leaky_relu": ("leaky_relu", 0),
    "lrelu": ("leaky_relu", 0),
    "leaky_relu_prime": ("leaky_relu", 1),
    "lrelu_prime": ("leaky_relu", 1),
}


def _number_value(node: IR, what: str) -> sympy.Rational:
    """The value of a written number, ``-1`` included."""
    if node[0] == "neg" and node[1][0] == "num":
        return -node[1][1]  # type: ignore[no-any-return]
    if node[0] == "num":
        return node[1]  # type: ignore[no-any-return]
    raise FormulaError(f"{what} must be a number")


_COMPARISONS = {"greater": ">", "greater_equal": ">=", "less": "<", "less_equal": "<="}

#: The feature-map helpers of derive's exported NumPy modules: name -> (arrays, integers).
_HELPERS = {
    "conv2d": (2, 2),  # conv2d(A, K, s, p)
    "conv2d_back_input": (2, 4),  # conv2d_back_input(G, K, s, p, A.shape[2], A.shape[3])
    "conv2d_back_kernel": (2, 3),  # conv2d_back_kernel(A, G, s, p, k)
    "maxpool2d": (1, 2),  # maxpool2d(A, k, s)
    "avgpool2d": (1, 2),
    "maxpool2d_back": (2, 2),  # maxpool2d_back(G, A, k, s)
    "avgpool2d_back": (2, 2),
}


def _helper(name: str, args: list[IR]) -> IR:
    """A call of an exported module's helper: its arrays and its (bounded) integers."""
    arrays, ints = _HELPERS[name]
    if len(args) != arrays + ints:
        raise FormulaError(f"{name}() takes {arrays + ints} arguments, not {len(args)}")
    numbers: list[Any] = []
    for a in args[arrays:]:
        if a[0] == "dim":
            numbers.append(a)
        else:
            value = integer_of(_number_value(a, f"an argument of {name}()"), "a size")
            if not 0 <= value <= 64:
                raise FormulaError(f"{name}(): the size {value} is out of range (0 to 64)")
            numbers.append(value)
    return ("helper", name, tuple(args[:arrays]), tuple(numbers))


def _comparison(a: IR, op: str, b: IR) -> IR:
    """``(x > 0)``: ReLU's mask; ``x > c``, ``x <= c``: a 0/1 mask (for np.where)."""
    c = _number_value(b, f"the right side of {op}")
    if op in (">", ">=") and c == 0:
        return ("gt0", a)
    return ("cmp", a, op, c)


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
        return power(a, _number_value(b, "a power"))

    def transpose(self, a: IR) -> IR:
        return ("T", a)

    def number(self, tok: Token) -> IR:
        return ("num", parse_number(str(tok)))

    def string(self, tok: Token) -> IR:
        return ("str", str(tok)[1:-1])

    def tuple(self, *items: IR) -> IR:
        return ("tuple", items)

    def compare(self, a: IR, op: Token, b: IR) -> IR:
        return _comparison(a, str(op), b)

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
        if word in _PY_FUNCS or word in _HELPERS or word in ("correlate2d", "convolve2d", "rot90"):
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
        if str(name) == "shape" and obj[0] == "sym":  # delta3.T.reshape(A2.shape)
            return ("shape_of", obj)
        if str(name) in ("shape", "size"):
            raise FormulaError(
                "array attributes other than .T, .shape and .dtype are not supported"
            )
        return ("method", obj, str(name))

    def index(self, obj: IR, idx: IR) -> IR:
        if obj[0] == "shape_of" and idx[0] == "num":  # A0.shape[2]: a size, as the export writes
            return ("dim", obj[1], integer_of(idx[1], "an axis"))
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
            if meth == "reshape" and len(pos) == 1 and pos[0][0] == "shape_of":
                return ("reshape", obj, pos[0][1])
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
        if name == "power" and len(pos) == 2:
            return power(pos[0], _number_value(pos[1], "the exponent of np.power"))
        if name == "square" and len(pos) == 1:
            return power(pos[0], 2)
        if name == "sum" and len(pos) >= 1:
            if len(pos) == 2:
                kw["axis"] = pos[1]
            return self._sum(pos[0], kw)
        if name in _HELPERS:
            return _helper(name, pos)
        if name == "where" and len(pos) == 3:
            if pos[0][0] not in ("gt0", "cmp"):
                raise FormulaError("np.where: the condition must compare an array with a number")
            return ("where", pos[0], pos[1], pos[2])
        if name in _COMPARISONS and len(pos) == 2:
            return _comparison(pos[0], _COMPARISONS[name], pos[1])
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
        out = self._summed(x, kw)
        keep = kw.get("keepdims", ("bool", False))
        if keep[0] != "bool":
            raise FormulaError("keepdims must be True or False")
        if out[2] != "channels" and not keep[1]:
            return ("squeeze", out)  # NumPy drops the summed axis: shape (n,), not (n, 1)
        return out

    def _summed(self, x: IR, kw: dict[str, IR]) -> IR:
        axis = kw.get("axis")
        if axis is None:
            raise FormulaError("np.sum without axis sums every entry; give axis=0 or axis=1")
        if axis[0] == "tuple":  # feature maps: axis=(0, 2, 3), one sum per channel
            axes = tuple(integer_of(_number_value(a, "an axis"), "an axis") for a in axis[1])
            if axes != (0, 2, 3):
                raise FormulaError(f"a sum over axes {axes}: the bias gradient sums axes (0, 2, 3)")
            return ("sum", x, "channels")
        k = integer_of(_number_value(axis, "the axis"), "the axis")
        if k not in (0, 1, -1, -2):
            raise FormulaError(f"axis={k}: a matrix has axes 0 and 1 (or -2 and -1)")
        return ("sum", x, k % 2)
