"""The words of the LaTeX the checker reads: symbol, scalar and function names, and the
rewrites applied before the grammar (decorations, primes and transposes inside
superscripts, indicators, cases, update arrows). The first step of reading LaTeX."""

from __future__ import annotations

import re
from typing import Any

from derive.formula.layer_names import LATEX_BASES, LATEX_FUNCS

BASES: dict[str, tuple[str, bool]] = {
    "W": ("W", False),
    "w": ("W", True),
    "b": ("b", False),
    "B": ("b", False),
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
BASES |= LATEX_BASES  # P, γ, β, the norm stages, the mask (layer_names)


SCALARS: dict[str, str] = {
    "\\lambda": "lambda",
    "\\alpha": "alpha",
    "\\eta": "eta",
    "\\epsilon": "epsilon",
    "\\varepsilon": "epsilon",
}


FUNCS: dict[str, str] = {
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
FUNCS |= LATEX_FUNCS  # abs, sqrt (layer_names)


def _superscript(m: re.Match[str]) -> str:
    """One superscript's body as the grammar reads it: a transpose nested in it
    (``W^{[2]^{T}}``, ``^{(T)}``) flat, primes as ``'``, Nielsen's sample ``x,`` as a
    sample mark ``(x)``."""
    body = m.group(1)
    body = re.sub(r"\^\s*\{\s*(T|\\top|\\intercal)\s*\}|\^\s*(T|\\top|\\intercal)", r" T", body)
    body = re.sub(r"\(\s*(T|\\top)\s*\)", " T", body)
    body = re.sub(r"\\prime(?![A-Za-z])", "'", body)
    body = re.sub(r"^\s*x\s*,(.*)$", r"\1(x)", body)  # Nielsen's δ^{x,l}: sample x
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


#: ∂𝓛/∂z^{[l](i)}: Ng's 𝓛 is the loss of one example (J the cost), and the sample's
#: mark says so: its derivative by that sample's pre-activation is the per-sample δ (his
#: dz^{[l](i)}), read as ∂C/∂Z (``loss_notes``). Without the mark 𝓛 stays the loss (Ng's
#: notebooks write ∂𝓛/∂W^{[l]} = (1/m) dZ Aᵀ for the cost).
_PER_EXAMPLE = re.compile(
    r"(\\frac\s*\{\s*\\partial\s*)\\mathcal\{L\}(\s*\}\s*\{\s*\\partial\s*[zZ](?![A-Za-z])"
    r"(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*\})"
)
_SAMPLE_MARK = re.compile(r"\(\s*[a-z]\s*\)")


def _per_example(m: re.Match[str]) -> str:
    return m.group(1) + "C" + m.group(2) if _SAMPLE_MARK.search(m.group(2)) else m.group(0)


def loss_notes(text: str) -> list[str]:
    """The readings of the loss's name used (said in the answer)."""
    if any(_SAMPLE_MARK.search(m.group(2)) for m in _PER_EXAMPLE.finditer(text)):
        return [
            "𝓛 read as the loss of one example (Ng's notation, J the cost), as the sample's "
            "mark (i) says: ∂𝓛/∂z^(i) is the per-sample δ"
        ]
    return []


#: Rewrites of the LaTeX read here, applied before ``parse``'s own: notations that carry
#: no more than what the grammar reads (decorations, primes and transposes inside
#: superscripts, indicators, cases, update arrows).
LATEX_REWRITES: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"\\begin\{cases\}(.*?)\\end\{cases\}", re.S), _cases),
    (_PER_EXAMPLE, _per_example),
    # decorations: {\cal C}, \hat{\delta}, \vec{z}, \bm{\delta}, \boldsymbol{\delta}
    (re.compile(r"\{\s*\\(?:cal|mathcal|bf|rm)\s+([A-Za-z])\s*\}"), r"\1"),
    (re.compile(r"\\(?:cal|bf)\s+([A-Za-z])"), r"\1"),
    (
        re.compile(r"\\(?:hat|tilde|vec|bm|boldsymbol|mathbf|mathbfit)\s*\{\s*(\\[A-Za-z]+)\s*\}"),
        r"\1 ",
    ),
    (re.compile(r"\\(?:vec|bm|mathbfit)\s*\{\s*([A-Za-z]+)\s*\}"), r"\1"),
    # \mathbf{W_1}, \mathbf{W_2^\top}, \mathbf{\hat{y}}: a bold name with its scripts (not
    # \mathbf{1}, the ones vector or the indicator)
    (
        re.compile(r"\\(?:mathbf|bm|boldsymbol)\s*\{(?!\s*[1I]\s*\})((?:[^{}]|\{[^{}]*\})*)\}"),
        r" \1 ",
    ),
    # \mathbf Z, \boldsymbol\delta: a bold letter without braces
    (re.compile(r"\\(?:mathbf|bm|boldsymbol)\s*(\\[A-Za-z]+|[A-Za-z](?![A-Za-z]))"), r"\1 "),
    # \pdv{J}{W} (the physics package), \pd{J}{W} (CS224n's notes): ∂J/∂W
    (
        re.compile(r"\\(?:pdv|pd)\s*\{((?:[^{}]|\{[^{}]*\})*)\}\s*\{((?:[^{}]|\{[^{}]*\})*)\}"),
        r"\\frac{\\partial \1}{\\partial \2}",
    ),
    # \nabla_{W^{(k)}} = …: the gradient with its loss left unwritten (CS224n's notes)
    (re.compile(r"(\\nabla\s*_\s*\{(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*\})(?=\s*=)"), r"\1 L "),
    # \texttt{dW1}, \texttt{matrix\_c}: a code name in typewriter type
    (
        re.compile(r"\\texttt\s*\{\s*([A-Za-z][A-Za-z0-9]*(?:\\?_[A-Za-z0-9]+)*)\s*\}"),
        lambda m: m.group(1).replace("\\_", "_"),
    ),
    # \rm{ReLU}: TeX's old roman font around a function's name
    (re.compile(r"\\rm\s*\{\s*(relu|ReLU|sigmoid|softmax|tanh)\s*\}"), r"\\mathrm{\1}"),
    # \overline{W_2}: the adjoint of reverse-mode notes, ∂L/∂W_2
    (
        re.compile(r"\\overline\s*\{((?:[^{}]|\{[^{}]*\})*)\}"),
        lambda m: "\\frac{\\partial L}{\\partial " + m.group(1) + "}",
    ),
    # the loss with its arguments: J(\Theta), \mathcal{F}(\mathcal{D};\Theta), L(a, y)
    (
        re.compile(
            r"(?<![A-Za-z\\])((?:\\mathcal\{|\\cal\s*)?[LCJEF]\}?)\s*(?:\\left)?\("
            r"(?=[^()]*(?:[;,]|\\theta|\\Theta))[^()]*(?:\\right)?\)"
        ),
        r"\1",
    ),
    # Goodfellow et al.'s macros: \Vg, \Va bold vectors, \MW bold matrices, \TSK tensors
    (re.compile(r"\\(?:V|TS|TE)([a-zA-Z])(?![A-Za-z])"), r"\1"),
    (re.compile(r"\\M([A-Z])(?![A-Za-z])"), r"\1"),
    # Ng's AL, dAL (the code's names in LaTeX): A^{[L]}, dA^{[L]}
    (re.compile(r"(?<![A-Za-z\\])(d?)AL(?![A-Za-z0-9_])"), r"\1A^{[L]}"),
    # \delta2: a layer number written straight after the name
    (re.compile(r"\\delta(?=[0-9])"), r"\\delta_"),
    # Ng's ML course: δ(L), a(L), z(2), Θ(l): the layer in brackets after a name that is
    # no function (a^{(L)}); f(L), σ(z) stay applications
    (
        re.compile(r"(?<![A-Za-z\\])(\\delta|\\Theta|[azAZ])\s*\(\s*(L|l|l\s*[+-]\s*1|[0-9])\s*\)"),
        r"\1^{(\2)}",
    ),
    # \frac1M, \frac12: TeX's one-token arguments, without braces
    (
        re.compile(r"\\frac\s*([0-9A-Za-z])\s*([0-9A-Za-z])(?![A-Za-z0-9])"),
        r"\\frac{\1}{\2}",
    ),
    (re.compile(r"\\frac\s*([0-9A-Za-z])\s*(?=\{)"), r"\\frac{\1}"),
    # "∴ ∂E/∂x = …": the therefore of a derivation's last line
    (re.compile(r"\\therefore(?![A-Za-z])"), " "),
    # update rules: W ← W − α G; W(t+1) = W(t) − η G, the time step of an update
    (re.compile(r"(?<=[A-Za-z0-9}])\s*\(\s*t\s*(?:\+\s*1\s*)?\)"), ""),
    (re.compile(r"\\(?:leftarrow|gets|coloneqq)(?![A-Za-z])|:="), " := "),
    # Nielsen's w^l → w^l − η/m Σ_x …: an update written with a right arrow
    (re.compile(r"\\(?:rightarrow|to|longrightarrow|mapsto)(?![A-Za-z])"), " := "),
    # Nielsen's y(x): the target of the training input x
    (re.compile(r"(?<![A-Za-z\\])([yY])\s*\(\s*x\s*\)"), r"\1"),
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
    # "\ ": TeX's control space (a^{(l)}\ .*\ b), not a line break \\
    (re.compile(r"(?<!\\)\\(?=[ \t])"), " "),
    # tanh(x), tanh^2 z: the function written without its backslash (Markdown sources)
    (re.compile(r"(?<![A-Za-z\\])tanh(?=\s*[(^{\\]|\s+[A-Za-z])"), r"\\tanh "),
]


#: The commands of TeX, LaTeX and amsmath a formula may use (Greek letters aside). A
#: command outside them where the grammar stops is the page's own macro (``\Wmatr``,
#: ``\batch``): only its page says what it stands for, so the user is asked to declare it.
_STANDARD = frozenset(
    [
        "frac",
        "dfrac",
        "tfrac",
        "partial",
        "nabla",
        "sum",
        "prod",
        "int",
        "cdot",
        "cdots",
        "ldots",
        "dots",
        "vdots",
        "ddots",
        "odot",
        "otimes",
        "oplus",
        "circ",
        "times",
        "bullet",
        "star",
        "ast",
        "div",
        "pm",
        "mp",
        "left",
        "right",
        "big",
        "Big",
        "bigg",
        "Bigg",
        "bigl",
        "bigr",
        "Bigl",
        "Bigr",
        "biggl",
        "biggr",
        "mathbf",
        "mathrm",
        "mathit",
        "mathcal",
        "mathbb",
        "mathsf",
        "mathtt",
        "mathds",
        "mathscr",
        "mathfrak",
        "boldsymbol",
        "bm",
        "vec",
        "hat",
        "widehat",
        "tilde",
        "widetilde",
        "bar",
        "overline",
        "underline",
        "dot",
        "ddot",
        "text",
        "textbf",
        "textit",
        "texttt",
        "textrm",
        "operatorname",
        "begin",
        "end",
        "sqrt",
        "log",
        "ln",
        "exp",
        "tanh",
        "sinh",
        "cosh",
        "sech",
        "sin",
        "cos",
        "max",
        "min",
        "arg",
        "argmax",
        "lim",
        "sup",
        "inf",
        "quad",
        "qquad",
        "displaystyle",
        "textstyle",
        "scriptstyle",
        "top",
        "intercal",
        "prime",
        "ell",
        "in",
        "notin",
        "leq",
        "geq",
        "le",
        "ge",
        "neq",
        "ne",
        "approx",
        "equiv",
        "sim",
        "propto",
        "to",
        "rightarrow",
        "leftarrow",
        "gets",
        "mapsto",
        "longrightarrow",
        "Rightarrow",
        "implies",
        "iff",
        "forall",
        "exists",
        "cdotp",
        "colon",
        "coloneqq",
        "therefore",
        "because",
        "mid",
        "vert",
        "Vert",
        "lvert",
        "rvert",
        "lVert",
        "rVert",
        "langle",
        "rangle",
        "lceil",
        "rceil",
        "lfloor",
        "rfloor",
        "infty",
        "cal",
        "bf",
        "rm",
        "it",
        "tag",
        "label",
        "nonumber",
        "notag",
        "limits",
        "nolimits",
        "substack",
        "stackrel",
        "overset",
        "underset",
        "hspace",
        "vspace",
        "mbox",
        "hbox",
        "phantom",
        "mathop",
        "det",
        "tr",
        "diag",
        "cup",
        "cap",
        "subset",
        "subseteq",
        "emptyset",
        "oslash",
        "ominus",
        "llbracket",
        "rrbracket",
        "ind",
        "one",
        "cases",
        "otherwise",
    ]
)
_GREEK = frozenset(
    [
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "varepsilon",
        "zeta",
        "eta",
        "theta",
        "vartheta",
        "iota",
        "kappa",
        "lambda",
        "mu",
        "nu",
        "xi",
        "pi",
        "varpi",
        "rho",
        "varrho",
        "sigma",
        "varsigma",
        "tau",
        "upsilon",
        "phi",
        "varphi",
        "chi",
        "psi",
        "omega",
        "Gamma",
        "Delta",
        "Theta",
        "Lambda",
        "Xi",
        "Pi",
        "Sigma",
        "Upsilon",
        "Phi",
        "Psi",
        "Omega",
    ]
)


_MATRIX_ENV = re.compile(r"\\begin\s*\{\s*([pbvBV]?matrix|array)\s*\}")


def macro_hint(word: str, rest: str = "") -> str | None:
    """The error for a command the grammar stops at that is no TeX command (the page's
    own macro), or for a matrix written entry by entry (``rest``: the text from the
    command on); None for a standard one (its ordinary error stands)."""
    env = _MATRIX_ENV.match(rest)
    if word == "\\begin" and env is not None:
        return (
            f"a matrix written entry by entry (\\begin{{{env.group(1)}}}) is not read: write "
            "the formula in matrix form (e.g. \\delta_2 = A_2 - Y), or one entry with its "
            "indices (\\delta_{2,j} = a_{2,j} - y_j)"
        )
    name = word[1:]
    if not word.startswith("\\") or not name.isalpha() or name in _STANDARD | _GREEK:
        return None
    return (
        f"unknown command '{word}': a macro of the page the formula comes from? Declare "
        f"what it stands for, e.g. --symbol '{word}=W' if it is W (one name such as W, "
        "\\delta or m, or a font such as \\mathbf; [notation.symbols] in a spec)"
    )
