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
    "\\Theta": ("W", False),
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


_SCALARS = {
    "\\lambda": "lambda",
    "\\alpha": "alpha",
    "\\eta": "eta",
    "\\epsilon": "epsilon",
    "\\varepsilon": "epsilon",
}


_FUNCS = {
    "\\sigma": "sigmoid",
    "sigmoid": "sigmoid",
    "\\tanh": "tanh",
    "tanh": "tanh",
    "\\sech": "sech",
    "sech": "sech",
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


def _superscript(m: re.Match[str]) -> str:
    """One superscript's body as the grammar reads it: a transpose nested in it
    (``W^{[2]^{T}}``, ``^{(T)}``) flat, primes as ``'``, Nielsen's sample ``x,`` dropped."""
    body = m.group(1)
    body = re.sub(r"\^\s*\{\s*(T|\\top|\\intercal)\s*\}|\^\s*(T|\\top|\\intercal)", r" T", body)
    body = re.sub(r"\(\s*(T|\\top)\s*\)", " T", body)
    body = re.sub(r"\\prime(?![A-Za-z])", "'", body)
    body = re.sub(r"^\s*x\s*,", "", body)
    return "^{" + body + "}"


def _cases(m: re.Match[str]) -> str:
    """``\\begin{cases} p & c \\\\ q & \\text{otherwise} \\end{cases}`` as
    ``\\cases{p}{c}{q}{}`` (the alignment mark ``&`` is dropped later)."""
    rows = [r for r in re.split(r"\\\\", m.group(1)) if r.strip()]
    if len(rows) != 2 or any(r.count("&") != 1 for r in rows):
        return m.group(0)  # left as written: the grammar's error points at it
    out = "\\cases"
    for row in rows:
        value, cond = row.split("&")
        cond = re.sub(r"\\(?:text|mathrm|textrm)\{[^{}]*\}|\bif\b|\\(?:quad|qquad)|,", " ", cond)
        out += "{" + value + "}{" + (cond.strip() or "\\otherwise") + "}"
    return out


#: Rewrites of the LaTeX read here, applied before ``parse``'s own: notations that carry
#: no more than what the grammar reads (decorations, primes and transposes inside
#: superscripts, indicators, cases, update arrows).
LATEX_REWRITES: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"\\begin\{cases\}(.*?)\\end\{cases\}", re.S), _cases),
    # decorations: {\cal C}, \hat{\delta}, \vec{z}, \bm{\delta}, \boldsymbol{\delta}
    (re.compile(r"\{\s*\\(?:cal|mathcal|bf|rm)\s+([A-Za-z])\s*\}"), r"\1"),
    (re.compile(r"\\(?:cal|bf)\s+([A-Za-z])"), r"\1"),
    (
        re.compile(r"\\(?:hat|tilde|vec|bm|boldsymbol|mathbf|mathbfit)\s*\{\s*(\\[A-Za-z]+)\s*\}"),
        r"\1 ",
    ),
    (re.compile(r"\\(?:vec|bm|mathbfit)\s*\{\s*([A-Za-z]+)\s*\}"), r"\1"),
    # \overline{W_2}: the adjoint of reverse-mode notes, ∂L/∂W_2
    (
        re.compile(r"\\overline\s*\{((?:[^{}]|\{[^{}]*\})*)\}"),
        lambda m: "\\frac{\\partial L}{\\partial " + m.group(1) + "}",
    ),
    # update rules: W ← W − α G
    (re.compile(r"\\(?:leftarrow|gets|coloneqq)(?![A-Za-z])|:="), " := "),
    # \mathbb{1}[z > 0], \mathbb{1}(z > 0), \mathbf{1}\{z > 0\}: an indicator
    (
        re.compile(r"\\(?:mathbb|mathbf|boldsymbol|mathds)\{[1I]\}\s*(?=\(|\[|\\\{|\\left|\\big)"),
        r"\\ind ",
    ),
    # primes written as superscripts: f^\prime, f^{'}, g^{[1]\prime}; and inside braces
    (
        re.compile(r"\^\s*(?:\{\s*((?:\\prime\s*|'\s*)+)\}|\\prime(?![A-Za-z])|')"),
        lambda m: "'" * max(1, (m.group(1) or "").count("prime") + (m.group(1) or "").count("'")),
    ),
    # W^{[l]}{^T}: a superscript in a group of its own; g^{[1]}{}': an empty group
    (re.compile(r"\{\s*\^\s*(\{[^{}]*\}|\\?[A-Za-z]+)\s*\}"), r"^\1"),
    (re.compile(r"\{\s*\}"), ""),
    (re.compile(r"\^\s*\{((?:[^{}]|\{[^{}]*\})*)\}"), _superscript),
    (re.compile(r"\\prime(?![A-Za-z])"), "'"),
    (re.compile(r"\\(?:operatorname|mathrm|text)\{sech\}"), r"\\sech "),
]


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
    """The layer ``idx`` on a symbol (also on ``δ_k`` read as an entry, ``δ_k^{(3)}``);
    ``^{(i)}``, a letter in brackets, marks one sample (``a^{[2](i)}``)."""
    if idx[0] == "letter":
        return ("sample", node)
    if node[0] in ("entry", "sample"):
        return (node[0], _set_index(node[1], idx), *node[2:])
    if node[0] != "sym" or node[2] is not None:
        raise FormulaError("a layer index is given twice")
    return ("sym", node[1], idx, node[3])


def _layer_or_letter(text: str) -> IR:
    """A layer index (2, l, l+1, L), or an entry or sample index (i, j, k): ("letter", c)."""
    t = text.strip()
    if re.fullmatch(r"[A-Za-z]", t) and t not in "lL":
        return ("letter", t)
    return _index(t)


def _has_sample(node: Any) -> bool:
    return isinstance(node, tuple) and any(n[0] == "sample" for _, n in _walk_ir(node))


def _unsampled(node: Any) -> Any:
    """``node`` without its per-sample marks: a^{(i)} is read as its column of A."""
    if not isinstance(node, tuple) or not node or not isinstance(node[0], str):
        return node
    if node[0] == "sample":
        return _unsampled(node[1])
    out = tuple(_unsampled(c) for c in node)
    return _Bare(out) if isinstance(node, _Bare) else out


def _transposed_sample(node: IR) -> bool:
    return any(n[0] == "T" and _has_sample(n[1]) for _, n in _walk_ir(node))


def _sample_products(node: IR) -> bool:
    """Whether a product multiplies two per-sample factors, one transposed: an outer
    product per sample (Σ_i δ^{(i)} a^{(i)T}); δ^{(i)} * a^{(i)} is entry by entry."""
    return any(
        n[0] in ("mat", "amb")
        and _has_sample(n[1])
        and _has_sample(n[2])
        and (_transposed_sample(n[1]) or _transposed_sample(n[2]))
        for _, n in _walk_ir(node)
    )


def _sample_sums(node: Any) -> Any:
    """``Σ_i`` over per-sample quantities reaches to the end of its product
    (``(1/m) Σ_i δ^{(i)} a^{(i)T}``); it is the sum over samples of the batch's matrix,
    and over a product of two per-sample factors the matrix product (δ Aᵀ)."""
    if not isinstance(node, tuple) or not node or not isinstance(node[0], str):
        return node
    if node[0] in ("mat", "amb"):
        factors: list[Any] = []
        ops: list[Any] = []

        def flat(n: Any) -> None:
            if isinstance(n, tuple) and n[0] in ("mat", "amb"):
                flat(n[1])
                ops.append(n[3] if n[0] == "amb" else None)
                flat(n[2])
            else:
                factors.append(n)

        flat(node)
        at = next((i for i, f in enumerate(factors) if f[0] == "ssum"), None)
        if at is not None:
            body = factors[at][1]
            for op, f in zip(ops[at:], factors[at + 1 :]):
                body = ("mat", body, f) if op is None else ("amb", body, f, op)
            out: Any = ("ssum", body)
            for op, f in zip(reversed(ops[:at]), reversed(factors[:at])):
                out = ("mat", f, out) if op is None else ("amb", f, out, op)
            node = out
    node = tuple(_sample_sums(c) for c in node)
    if node[0] == "ssum":
        body = node[1]
        if _sample_products(body):  # Σ_i δ^{(i)} a^{(i)T} = δ Aᵀ
            return _unsampled(body)
        return ("sum", _unsampled(body), None)
    return node


def _per_sample(node: IR) -> IR:
    """Per-sample marks outside a sum: each column (row) is the batch's; a product of two
    per-sample factors (an outer product per sample) is only read under its sum."""
    node = _sample_sums(node)
    if _sample_products(node):
        raise FormulaError(
            "a product of two per-sample quantities (δ^{(i)} a^{(i)T}) is read under its sum "
            "over the samples, Σ_i"
        )
    return _unsampled(node)  # type: ignore[no-any-return]


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


def _same_layer(word: str, layer: IR, arg: IR) -> None:
    """``f_2'(z_2)``, ``g^{[1]}(Z^{[1]})``: the layer written on a function is its
    argument's; a function of one layer applied to another layer's Z is refused."""
    if arg[0] == "sym" and arg[2] is not None and arg[2] != layer:
        raise FormulaError(
            f"{word} of one layer applied to {arg[1]} of another: write the layer's own "
            f"activation, e.g. {word}_2'(Z_2)"
        )


def _comparison(a: IR, op: str, b: IR) -> IR:
    """``z > 0``: ReLU's mask; ``z ≤ c``, …: a 0/1 mask."""
    if b[0] == "num":
        c = b[1]
    elif b[0] == "neg" and b[1][0] == "num":
        c = -b[1][1]
    else:
        raise FormulaError(f"the right side of {op} must be a number")
    if op in (">", ">=") and c == 0:
        return ("gt0", a)
    return ("cmp", a, op, c)


def _opposite(cond: IR) -> IR:
    if cond[0] == "gt0":
        return ("cmp", cond[1], "<=", 0)
    flip = {">": "<=", ">=": "<", "<": ">=", "<=": ">"}[cond[2]]
    return _comparison(cond[1], flip, ("num", cond[3]))


#: Names of the learning rate in update rules (W ← W − α ∂L/∂W).
_RATES = {"alpha", "eta", "epsilon", "varepsilon"}


def _without_rate(node: IR) -> IR | None:
    """The step of an update with its learning rate (one factor α, η) set to 1; None if
    the step has no learning rate."""
    if node[0] == "scalar" and node[1] in _RATES:
        return ("num", 1)
    kinds = {"mat": (1, 2), "amb": (1, 2), "had": (1, 2), "div": (1,), "neg": (1,)}
    if node[0] == "chain":
        kinds = {"chain": tuple(range(2, len(node)))}
    for i in kinds.get(node[0], ()):
        inner = _without_rate(node[i])
        if inner is not None:
            if inner == ("num", 1) and node[0] in ("mat", "amb", "had"):
                return node[3 - i]  # α G: G
            out = (*node[:i], inner, *node[i + 1 :])
            return _Bare(out) if isinstance(node, _Bare) else out
    return None


def _same_symbol(a: IR, b: IR) -> bool:
    """``w_2`` and ``W_2``: the same symbol written in either case."""
    return a[0] == b[0] == "sym" and a[1:3] == b[1:3]


def _update_rule(lhs: IR, rhs: IR, rest: list[IR]) -> list[IR]:
    if lhs[0] != "sym" or lhs[1] not in ("W", "b", "K") or lhs[2] is None:
        raise FormulaError(
            "an update rule updates a parameter with its layer: W_2 ← W_2 − α ∂L/∂W_2"
        )
    if rhs[0] not in ("sub", "add") or not _same_symbol(rhs[1], lhs):
        raise FormulaError(
            "an update rule is W_2 ← W_2 − α G: the parameter, minus the learning rate "
            "times its gradient"
        )
    step = _without_rate(rhs[2])
    if step is None:
        raise FormulaError(
            "the step of this update rule has no learning rate (α or η): write W_2 ← W_2 − α G"
        )
    if rest:
        raise FormulaError("an update rule is one step: W_2 ← W_2 − α G")
    grads = {"dW": "W", "db": "b", "dK": "K"}
    if step[0] == "sym" and grads.get(step[1]) == lhs[1] and step[2] == lhs[2]:
        step = ("quantity", lhs, "L")  # W ← W − α dW: dW is the gradient
    gradient = step if rhs[0] == "sub" else ("neg", step)
    return [("quantity", lhs, "L"), _telescoped(gradient)]


def _factors(node: IR) -> list[IR] | None:
    """The factors of a product of partial derivatives, or None if ``node`` is not one."""
    if node[0] in ("quantity", "dd"):
        return [node]
    if node[0] in ("mat", "amb", "had"):
        a, b = _factors(node[1]), _factors(node[2])
        return a + b if a is not None and b is not None else None
    if node[0] == "chain":
        parts = [_factors(n) for n in node[2:]]
        if all(p is not None for p in parts):
            return [f for p in parts for f in p]  # type: ignore[union-attr]
    return None


def _telescoped(node: IR) -> IR:
    """``∂L/∂Z_2 ∂Z_2/∂W_2`` (the chain rule, in any order of its factors) is ∂L/∂W_2;
    a derivative of one matrix by another left over has no matrix meaning: an error."""
    factors = _factors(node)
    if factors is not None and len(factors) > 1:
        loss = [f for f in factors if f[0] == "quantity"]
        links = [f for f in factors if f[0] == "dd"]
        if len(loss) == 1:
            end = loss[0][1]
            while links:
                nxt = next((f for f in links if _same_symbol(f[1], end)), None)
                if nxt is None:
                    break
                links.remove(nxt)
                end = nxt[2]
            if not links:
                return ("quantity", end, loss[0][2])
    for _, n in _walk_ir(node):
        if n[0] == "dd":
            raise FormulaError(
                "a derivative of a matrix by a matrix (∂Z/∂W, a tensor) has no matrix meaning "
                "here; write the chain rule in full, ∂L/∂Z_2 ∂Z_2/∂W_2, or its matrix form"
            )
    return node


def _walk_ir(node: IR) -> list[tuple[int, IR]]:
    out = [(0, node)]
    for c in node[1:]:
        if isinstance(c, tuple) and c and isinstance(c[0], str):
            out += _walk_ir(c)
    return out


def _bare_symbol(node: IR) -> bool:
    if node[0] in ("entry", "sample"):
        return _bare_symbol(node[1])  # δ_j^l: the layer of an entry's symbol
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

    def chain(self, *parts: IR) -> list[IR]:
        """A product of partial derivatives, read as the chain rule where it telescopes."""
        lhs = parts[0]
        rhs = parts[1]
        param = lhs[0] == "sym" and lhs[1] in ("W", "b", "K")
        if param and rhs[0] in ("sub", "add") and _same_symbol(rhs[1], lhs):
            return _update_rule(lhs, rhs, list(parts[2:]))  # W_2 = W_2 − α G
        if rhs[0] in ("sub", "add") and _same_symbol(rhs[1], lhs):
            raise FormulaError(
                f"{lhs[1]} = {lhs[1]} + …: an accumulation (Δ ← Δ + …) is not read; write the "
                "quantity's formula, or an update of a parameter, W ← W − α G"
            )
        return [_per_sample(lhs), *(_per_sample(_telescoped(p)) for p in parts[1:])]

    def update(self, lhs: IR, step: IR, *rest: IR) -> list[IR]:
        """``W ← W − α G`` (also ``:=``, ``\\gets``): the update rule checks ``G`` as ∂L/∂W."""
        parts = _update_rule(lhs, step, [_telescoped(p) for p in rest])
        return [_per_sample(p) for p in parts]

    def juxt(self, a: IR, b: IR) -> IR:
        """Juxtaposition: a product whose kind the shapes decide."""
        return _Bare(("mat", a, b))

    def max2(self, _tok: Token, a: IR, b: IR) -> IR:
        """``\\max(0, z)``: ReLU."""
        if a == ("num", 0) or b == ("num", 0):
            return ("fn", "relu", 0, b if a == ("num", 0) else a)
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

    def cases(self, _tok: Token, p: IR, cond: IR, q: IR, other: IR | None = None) -> IR:
        """``\\begin{cases} p & z > 0 \\\\ q & \\text{otherwise}\\end{cases}``: p where the
        condition holds, else q; a second condition, if written, must be the first's opposite."""
        if isinstance(other, Token):  # \\text{otherwise}
            other = None
        if other is not None and other != _opposite(cond):
            raise FormulaError(
                "the conditions of a cases environment must be opposite (z > 0 and z ≤ 0)"
            )
        return ("where", cond, p, q)

    def dd(self, _f1: Token, _p1: Token, num: IR, _p2: Token, den: IR) -> IR:
        """A ``d``-name (``dW``) as the gradient it names."""
        return ("dd", num, den)

    def binop(self, a: IR, op: Token, b: IR) -> IR:
        """``+``, ``-`` and the product signs between two terms."""
        if str(op) == "\\star":
            return ("corr", a, b, None)
        kind = {"\\odot": "had", "\\circ": "had", ".*": "had", "/": "div"}.get(str(op), "amb")
        if kind == "had" and (isinstance(a, _Bare) or isinstance(b, _Bare)):
            chain = _chain(a, b)
            if sum(1 for o in chain[2:] if not _number_like(o)) > 2:
                return _Bare(chain)  # (1/m) X ⊙ Y: a number binds either way alike
        return (kind, a, b) if kind != "amb" else ("amb", a, b, str(op))

    def mode(self, node: IR, tok: Token) -> IR:
        """The mode of a sliding product (``full``, ``valid``)."""
        return ("mode", node, str(tok).strip("{} "))

    def entries(self, node: IR, tok: Token) -> IR:
        """Entry indices such as ``{ij}``."""
        return ("entry", node, _entry_indices(str(tok)))

    def entry_symbol(self, name: Token, tok: Token) -> IR:
        """A symbol with entry indices."""
        return ("entry", self.symbol(name), _entry_indices(str(tok)))

    def group(self, inner: IR) -> IR:
        """A bracketed group (its value)."""
        return tuple(inner) if isinstance(inner, _Bare) else inner

    def number(self, tok: Token) -> IR:
        """A number literal, parsed with bounds."""
        return ("num", parse_number(str(tok)))

    def ones(self, tok: Token) -> IR:
        r"""A ones vector ``\mathbf{1}``."""
        size = re.search(r"_\{?\s*(\w)", str(tok))
        return ("ones", size.group(1)) if size else ("ones",)

    def slice(self, node: IR, tok: Token) -> IR:
        r"""A column or row slice ``(\cdot)_{:,k}``."""
        return ("slice", node, tuple(re.findall(r"[a-z]|:", str(tok))))

    def frac(self, _tok: Token, num: IR, den: IR) -> IR:
        r"""``\frac{a}{b}``."""
        return ("div", num, den)

    def sum(self, _tok: Token, *rest: Any) -> IR:
        r"""``\sum`` with its index range: over samples, classes or entries."""
        if _has_sample(rest[-1]):  # Σ_i over per-sample quantities: read in _per_sample
            return ("ssum", rest[-1])
        letters = next((r for r in rest[:-1] if isinstance(r, tuple) and r[:1] == ("over",)), None)
        if letters is not None and _has_entries(rest[-1]):
            return ("isum", letters[1], rest[-1])  # Σ_{i,j} δ_{ij} …: a sum over entry indices
        if rest[-1][0] == "slice":
            return _slice_sum(letters[1] if letters else (), rest[-1])
        return ("sum", rest[-1], None)

    def sumsub(self, *items: Any) -> IR:
        """The subscript of a sum (its index)."""
        text = "".join(str(i) for i in items)
        return ("over", tuple(re.findall(r"[a-z]", text.split("=")[0])))

    def sumsup(self, *items: Any) -> None:
        """The superscript of a sum (its upper bound)."""
        return None

    def diag(self, _tok: Token, arg: IR) -> IR:
        r"""``\operatorname{diag}(v)``: read elementwise where it multiplies a vector."""
        return ("diag", arg)

    def symbol(self, name: Token, idx: IR | None = None) -> IR:
        """A symbol with its layer index, decorations and superscripts."""
        word = str(name)
        if word in _SCALARS:
            return ("scalar", _SCALARS[word])
        if word in ("\\yhat", "\\Yhat"):
            if idx is not None:
                raise FormulaError("ŷ is the network's output A_L: it takes no layer index")
            return ("sym", "A", ("rel", "L", 0), word == "\\yhat")
        if word in _BASES:
            base, lower = _BASES[word]
            if idx is not None and idx[0] == "letter":  # δ_j, a_k: an entry of the layer's
                return ("entry", ("sym", base, None, lower), (((1, idx[1]),),))
            return ("sym", base, idx, lower)
        if re.fullmatch(r"[A-Za-z]", word):
            if idx is not None:
                raise FormulaError(
                    f"unknown symbol {word}_… (known: W, b, Z, A, X, Y, \\delta, dZ, dW, db)"
                )
            return ("scalar", word)
        raise FormulaError(f"unknown symbol {word!r}")

    def sub_simple(self, tok: Token) -> IR:
        """A one-token subscript."""
        return _layer_or_letter(str(tok))

    def sub_braced(self, idx: IR) -> IR:
        """A braced subscript."""
        return idx

    def idx(self, base: Token, sign: Token | None = None, num: Token | None = None) -> IR:
        """A layer index."""
        return _layer_or_letter(f"{base}{sign or ''}{num or ''}")

    def idxgroup(self, idx: IR) -> IR:
        """A bracketed layer index (``[l]``, ``(l)``)."""
        return ("idxgroup", idx)

    def sup_t(self, _tok: Token) -> list[Any]:
        """A transpose superscript."""
        return ["T"]

    def sup_num(self, tok: Token) -> list[Any]:
        """A number superscript (a power)."""
        return [("num", parse_number(str(tok)))]

    def sup_name(self, tok: Token) -> list[Any]:
        """A name superscript (a layer, a sample, a transpose)."""
        return [("name", str(tok))]

    def supidx(self, base: Token, sign: Token, num: Token) -> IR:
        """A layer index written as a superscript."""
        return ("idxgroup", _index(f"{base}{sign}{num}"))

    def supbody(self, *items: Any) -> list[Any]:
        """What a superscript holds: layer, sample, prime, transpose or power."""
        out: list[Any] = []
        for it in items:
            if isinstance(it, Token) and it.type in ("TRANSPOSE", "PRIME"):
                out.append("T")  # A^{[2]'}: a prime on a matrix is its transpose
            elif isinstance(it, Token) and it.type == "NUMBER":
                out.append(("num", parse_number(str(it))))
            elif isinstance(it, Token) and it.type == "NAME":
                out.append(("name", str(it)))
            else:
                out.append(it)
        return out

    def supscript(self, base: IR, items: list[Any]) -> IR:
        """A superscript, sorted into its parts."""
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
        """A prime (a derivative)."""
        return ("T", base)

    def fn_power(self, tok: Token) -> IR:
        r"""A function to a power (``\tanh^{2}(Z)``)."""
        return ("fnpow", parse_number(str(tok)))

    def fn_sup(self, *items: Any) -> list[IR]:
        """``^{[2]\\prime}``, ``^{2}``, ``^{(l)}``: primes, a power, the layer of ``f``."""
        out: list[IR] = []
        for it in items:
            if isinstance(it, Token) and it.type == "PRIME":
                out.append(("fnprime",))
            elif isinstance(it, Token) and it.type == "NUMBER":
                out.append(("fnpow", parse_number(str(it))))
            elif isinstance(it, Token):
                out.append(("fnlayer", _index(str(it))))
            else:
                out.append(("fnlayer", it[1]))
        return out

    def fn_layer(self, idx: IR) -> IR:
        """A function of one layer (``f_2``, ``g^{[2]}``)."""
        return ("fnlayer", idx)

    def func_app(self, name: Token, *rest: Any) -> IR:
        r"""A function applied to its argument (``\sigma'(Z_1)``)."""
        word = str(name)
        word = re.sub(r"^\\operatorname\{(\w+)\}\Z", r"\1", word)
        word = re.sub(r"^\\(?:mathrm|text)\{(\w+)\}\Z", r"\1", word)
        word = {"flip": "rot180"}.get(word, word)
        if word not in _FUNCS:
            raise FormulaError(f"unknown function {word!r}")
        mods: list[Any] = []
        for r in rest[:-1]:
            mods += r if isinstance(r, list) else [r]
        primes = 0
        powers: list[Any] = []
        layers: list[IR] = []
        for mod in mods:
            if isinstance(mod, Token) or mod[0] == "fnprime":
                primes += 1
            elif mod[0] == "fnpow":
                powers.append(mod[1])
            else:
                layers.append(mod[1])
        if primes > MAX_ORDER:
            raise FormulaError(
                f"{word} with {primes} primes: derivatives up to order {MAX_ORDER} are accepted"
            )
        if len(powers) > 1 or len(layers) > 1:
            raise FormulaError(f"{word} has two powers or two layer indices")
        arg = rest[-1]
        if arg[0] == "bare":
            arg = arg[1]
            if arg[0] == "pow":  # \tanh Z^2: tanh(Z²) to some readers, tanh(Z)² to others
                raise FormulaError(
                    f"{word} applied to a power without brackets is ambiguous: write "
                    f"{word}(x)^2 for the square of the function, {word}(x^2) for its argument's"
                )
        if layers and layers[0][0] != "letter":  # σ_i(r_i): a unit's, the layer's own
            _same_layer(word, layers[0], arg)
        node: IR = ("fn", _FUNCS[word], primes, arg)
        if powers:
            node = power(node, powers[0])
        return node

    def bare_arg(self, node: IR) -> IR:
        """A function's argument written without brackets."""
        return ("bare", node)

    def partial(self, *items: Any) -> IR:
        r"""``\partial C / \partial X``: the gradient it names."""
        loss = next(str(t) for t in items if isinstance(t, Token) and t.type == "LOSSNAME")
        sym = next(t for t in reversed(items) if isinstance(t, tuple))
        return ("quantity", sym, loss)

    def nabla(self, _tok: Token, sym: IR, loss: Token) -> IR:
        r"""``\nabla_X C``: the gradient it names."""
        if sym[0] == "sym" and sym[1] == "A" and sym[2] is None:
            sym = ("sym", "A", ("rel", "L", 0), sym[3])  # Nielsen's ∇_a C: the output's
        return ("quantity", sym, str(loss))
