"""LaTeX over a forward program's own names, read into NumPy statements of that program.

A sequence model's backward pass is written in LaTeX at a symbolic time step
(``\\frac{\\partial L}{\\partial \\mathbf{h}_t} = \\mathbf{W}_{hh}^\\top
\\frac{\\partial L}{\\partial \\mathbf{h}_{t+1}} + …``, ``\\nabla_{\\Vh^{(t)}} L``) and with
sums over time (``\\sum_{t=1}^T``). A program is unrolled over concrete steps
(``h_1 … h_T``), so a formula is read into a tree whose step indices stay symbolic
(``t``, ``t+1``, ``T``, ``τ``; ``h_t`` and ``h^{(t)}`` alike) and then written out as one
NumPy line per step ``t = k`` at which every name it uses exists: a recurrence in
``h_{t+1}`` is judged at every step but the last, ``\\sum_{t=1}^T`` is the sum over the
program's steps. The NumPy lines go to the program checker as a snippet would.

What has no matrix meaning is not guessed: a side written as a product of Jacobians
(``\\frac{\\partial h_{t+1}}{\\partial h_t}``, d2l's ``\\textrm{prod}``) is not judged, and
a formula with no other side is refused naming that.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError

from derive.formula.ir import FormulaError
from derive.formula.program_latex_steps import Step, bound_names, index, step_of

#: Rewrites before the grammar: layout, bold and text wrappers, the book macros.
_REWRITES: tuple[tuple[re.Pattern[str], Any], ...] = tuple(
    (re.compile(p), r)
    for p, r in (
        (r"\$", ""),
        (r"\\(?:left|right|Big|big|bigg|Bigg)(?![A-Za-z])", ""),
        (r"\\[,;!]|\\quad|&|~", " "),
        (r"\\tag\{[^{}]*\}", ""),
        (r"\\in\s*\\mathbb\{R\}(\^\{[^{}]*\}|\^\S)?", ""),
        (r"∂", r"\\partial "),
        (r"\\therefore", ""),
        # a ones vector: \bold{1_n}, \mathbf{1}_n, \mathbf{1_n^T} (sums and broadcasts)
        (
            r"\\(?:bold|mathbf|bm|boldsymbol)\s*\{\s*1\s*(?:_\s*\{?(\w+)\}?)?\s*"
            r"(\^\s*\{?\s*(?:T|\\top)\s*\}?)?\s*\}",
            lambda m: r"\ones" + (f"_{{{m.group(1)}}}" if m.group(1) else "") + (m.group(2) or ""),
        ),
        (r"\\(?:bold|mathbf|bm|boldsymbol)\s*\{\s*1\s*\}", r"\\ones"),
        (r"\\(?:textrm|text|mathrm|operatorname)\{\s*(tanh|exp|log)\s*\}", r"\\\1"),
        # \hat{a}: a pre-activation, a program name ahat; \delta x: the gradient dx (δh^t)
        (r"\\hat\s*\{\s*([A-Za-z])\s*\}", r"\1hat"),
        (r"\\delta\s+(?=[A-Za-z])|\\delta(?=[a-zA-Z]hat)", "d"),
        # d\gamma: the gradient of γ as code names it (dgamma)
        (r"(?<![A-Za-z\\])d\\(alpha|beta|gamma|mu|sigma)(?![A-Za-z])", r"d\1"),
        # the Deep Learning book's math_commands.tex: \Vh is a bold h, \MW a bold W
        (r"\\[VM]([A-Za-z])(?![A-Za-z])", r"\1"),
        (r"\\(?:textrm|text|mathrm|operatorname)\{\s*(diag|prod)\s*\}", r"\\\1"),
        (r"\\(?:textrm|text|mathrm)\s*\{([^{}]*)\}", r"{\1}"),
        (r"\\(?:mathbf|bm|boldsymbol|vec)\s*\{([^{}]*)\}", r"\1"),
        (r"\\(?:mathbf|bm|boldsymbol)\s+([A-Za-z])", r"\1"),
        (r"[,.;]\s*$", ""),
    )
)


@cache
def _parser() -> Lark:
    grammar = (Path(__file__).with_name("program_latex.lark")).read_text(encoding="utf-8")
    return Lark(grammar, parser="earley", lexer="dynamic", ambiguity="resolve")


#: A side that differentiates a function the program does not define (d2l's step loss l).
UNDEFINED = "a derivative of {f}(…), a function this program does not define"


class JacobianSide(Exception):
    """A side written with Jacobians (no matrix meaning to judge)."""


@v_args(inline=True)
class _Tree(Transformer[Token, Any]):
    """The parse tree as nested tuples: ("name", base, sub, step), ("mat", a, b), …"""

    def add(self, a: Any, b: Any) -> Any:
        return ("add", a, b)

    def sub(self, a: Any, b: Any) -> Any:
        return ("sub", a, b)

    def had(self, a: Any, _op: Token, b: Any) -> Any:
        return ("had", a, b)

    def amb(self, a: Any, _op: Token, b: Any) -> Any:
        return ("dot", a, b)  # \cdot, \times, *: a product or ⊙, as the shapes fit

    def div(self, a: Any, b: Any) -> Any:
        return ("div", a, b)

    def juxt(self, a: Any, b: Any) -> Any:
        return ("amb", a, b)

    def neg(self, a: Any) -> Any:
        return ("neg", a)

    def sum(self, _tok: Token, *parts: Any) -> Any:
        lower, body = 1, parts[-1]
        for part in parts[:-1]:
            if part[0] == "from":
                lower = part[1]
        return ("sum", lower, body)

    def sumsub(self, letter: Token, start: Token | None = None) -> Any:
        if str(letter) != "t":
            raise JacobianSide("a sum over entries")
        return ("from", int(start) if start is not None else 1)

    def sumsup(self, _top: Token) -> Any:
        return ("to",)

    def isum(self, _tok: Token, sub: Any, sup: Step, body: Any) -> Any:
        var, lower = sub
        return ("isum", var, lower, sup, bound_names(body, var))

    def isumsub(self, var: Token, lower: Step) -> Any:
        return (str(var), lower)

    def isumsup(self, upper: Step | Token) -> Step:
        return upper if isinstance(upper, Step) else index([upper])

    def ixexpr(self, *parts: Token) -> Step:
        return index(list(parts))

    def idxexpr(self, *parts: Token) -> Step:
        return index(list(parts))

    def index_power(self, step: Step) -> Any:
        return ("ipower", step)

    def sub_index(self, step: Step) -> Step:
        return step

    def top(self, _tok: Token | None = None) -> Any:
        return ("top",)

    def power(self, n: Token) -> Any:
        return ("power", int(n))

    def inverse_power(self, n: Token) -> Any:
        return ("power", -int(n))

    def step_sup(
        self, step: Step | Token, sign: Token | None = None, n: Token | None = None
    ) -> Any:
        if not isinstance(step, Step):  # c^t, c^{t-1}
            step = Step("t", 0 if n is None else (int(n) if str(sign) == "+" else -int(n)))
        return ("step", step, False)

    def func(self, fn: Token, *parts: Any) -> Any:
        name = {"sigma": "sigmoid"}.get(str(fn).lstrip("\\"), str(fn).lstrip("\\"))
        power = int(parts[0]) if len(parts) == 2 else 1
        applied = ("fn", name, parts[-1])
        return applied if power == 1 else ("pow", applied, power)

    def step_sup_top(self, step: Step, _top: Token) -> Any:
        return ("step", step, True)

    def sup(self, a: Any, what: Any) -> Any:
        if what[0] == "top":
            return ("T", a)
        if what[0] == "power":
            return ("pow", a, what[1])
        if what[0] == "ipower":  # (W^T)^{T-i}: a matrix power at each value of i
            return ("ipow", a, what[1])
        stepped = _with_step(a, what[1])
        return ("T", stepped) if what[2] else stepped

    def number(self, n: Token) -> Any:
        return ("num", str(n))

    def frac(self, _f: Token, a: Any, b: Any) -> Any:
        return ("div", a, b)

    def grad(self, _f: Token, _p: Token, _loss: Any, _q: Token, wrt: Any) -> Any:
        return _gradient(wrt)

    def nabla(self, _n: Token, wrt: Any, _loss: Any) -> Any:
        return _gradient(wrt)

    def jacobian(self, *args: Any) -> Any:
        parts = [a for a in args if not isinstance(a, Token)]
        if len(args) != 5 or len(parts) != 2:  # d2l's prod(…): no matrix meaning here
            raise JacobianSide("a product of Jacobians")
        return ("jac", parts[0], parts[1])  # ∂a/∂b: read by program_latex_chain

    def sqrt(self, _s: Token, a: Any) -> Any:
        return ("sqrt", a)

    def ones(self, _o: Token, size: Any = None) -> Any:
        return ("ones", None if size is None else str(size))

    def diag(self, _d: Token, a: Any) -> Any:
        return ("diag", a)

    def loss(self, _tok: Token) -> Any:
        return ("loss",)

    def name(self, base: Token, sub: Any = None) -> Any:
        word = str(base).lstrip("\\")
        if word.startswith("pname{"):  # \pname{mask}: the program's name, not m·a·s·k
            word = word[len("pname{") : -1]
        if sub in ("t", "T"):  # h_t, o_T: a time step
            sub = step_of(sub)
        if isinstance(sub, Step):
            return ("name", word, None, sub)
        return ("name", word, sub, None)

    def sub_word(self, word: Token) -> str:
        return str(word)

    def sub_step(self, step: Any) -> Step:
        return step if isinstance(step, Step) else step_of(step)

    def step(self, word: Token, sign: Token | None = None, n: Token | None = None) -> Step:
        found = step_of(word)
        offset = 0 if n is None else (int(n) if str(sign) == "+" else -int(n))
        return Step(found.letter, offset)


def _with_step(node: Any, step: Step) -> Any:
    """``h^{(t)}``: the superscript step of a name (the book's time index)."""
    if node[0] == "name" and node[3] is None:
        return ("name", node[1], node[2], step)
    if node[0] == "T":
        return ("T", _with_step(node[1], step))
    raise JacobianSide("a step index on an expression")


def _gradient(wrt: Any) -> Any:
    """``∂L/∂h_t``, ``∇_{h^{(t)}} L``: the program's cotangent ``dh_t``."""
    if wrt[0] != "name":
        raise JacobianSide("a gradient of an expression")
    return ("name", "d" + wrt[1], wrt[2], wrt[3])


def normalise(text: str) -> str:
    """One equation's text after the rewrites."""
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    return text.strip()


def equations(text: str) -> list[list[str]]:
    """The formula's equations, each its sides: display lines (``\\\\``) that begin with
    ``=`` continue the equation above."""
    out: list[list[str]] = []
    for line in re.split(r"\\\\", text):
        line = line.strip().lstrip("&").strip()
        if not line.replace("$", "").strip():
            continue
        sides = _sides(line)
        if line.startswith("=") and out:
            out[-1].extend(s for s in sides[1:])
        else:
            out.append(sides)
    return out


def _sides(line: str) -> list[str]:
    """A display line split at its ``=`` signs outside braces (``\\sum_{t=1}`` stays)."""
    sides, depth, start = [], 0, 0
    for i, ch in enumerate(line):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if ch == "=" and depth == 0:
            sides.append(line[start:i])
            start = i + 1
    return [*sides, line[start:]]


def read_side(text: str, words: tuple[str, ...] = ()) -> Any:
    """One side as a tree; JacobianSide if it is written with Jacobians. ``words``: the
    program's names of several letters (``mask``), each read as that name where written
    as a whole word (TeX would set it as a product of letters; the notes mean the name)."""
    body = normalise(text)
    for word in words:
        body = re.sub(rf"(?<![A-Za-z\\]){word}(?![A-Za-z])", rf"\\pname{{{word}}}", body)
    try:
        return _Tree().transform(_parser().parse(body))
    except LarkError as err:
        cause = getattr(err, "orig_exc", None)
        if isinstance(cause, JacobianSide):
            raise cause from None
        applied = re.search(r"\\partial\s*([A-Za-z])\s*\(", body)
        if applied and applied.group(1) not in "LEJC":  # ∂l(o_t, y_t)/∂o_t: not the loss
            raise JacobianSide(UNDEFINED.format(f=applied.group(1))) from None
        if re.search(r"\\partial|\\nabla|\\prod|\\sum_\{?[a-su-z]", body):
            raise JacobianSide("a chain-rule product") from None
        raise FormulaError(f"cannot read {text.strip()!r} over the program's names") from None
