"""The rewrites of the LaTeX applied before the grammar: decorations, primes and
transposes inside superscripts, indicators, cases, update arrows, the loss with its
arguments. Each turns a notation into one the grammar reads, carrying no more than it
(the first step of reading LaTeX, after the words of ``latex_tokens``)."""

from __future__ import annotations

import re
from typing import Any

from derive.formula.latex_display import DISPLAY_REWRITES, display_notes
from derive.formula.latex_euler import EULER_REWRITES, euler_notes
from derive.formula.latex_leibniz import LEIBNIZ_REWRITES, leibniz_notes
from derive.formula.latex_numpy import NUMPY_REWRITES, numpy_notes
from derive.formula.latex_spellings import SPELLING_REWRITES, spelling_notes


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
        value = re.sub(r",\s*$", "", value.strip())  # "dA, & if z > 0": the row's comma
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


#: The Heaviside step, ReLU's derivative: H(z), step(z), \operatorname{Heaviside}(z); never
#: H with a script (H^{(1)}, Goodfellow's hidden matrix) or H written before a bracket after
#: a letter (a product).
_STEP = re.compile(
    r"(?<![A-Za-z\\_^{])(?:H|\\(?:operatorname|mathrm|text)\s*\{\s*(?:[sS]tep|Heaviside|H)\s*\})"
    r"\s*(?:\\left\s*)?\(((?:[^(),]|\([^()]*\))*)\)"
)
STEP_NOTE = "H(z) read as the Heaviside step, 1 where z > 0 (ReLU's derivative)"


def _step(m: re.Match[str]) -> str:
    return "[" + re.sub(r"\\right\s*$", "", m.group(1).strip()) + " > 0]"


def rewrite_notes(text: str) -> list[str]:
    """The readings the rewrites here used (said in the answer): the loss's name, e^{…},
    np.sum, dσ/dz."""
    return (
        display_notes(text)
        + loss_notes(text)
        + euler_notes(text)
        + numpy_notes(text)
        + leibniz_notes(text)
        + ([STEP_NOTE] if _STEP.search(text) else [])
        + spelling_notes(text)
    )


#: An indicator of the label's class: ``\\mathbb{1}(y_i = k)`` (y_i the class of sample i).
_LABEL_IS = re.compile(
    r"\\(?:mathbb|mathbf|boldsymbol|mathds)\{[1I]\}\s*(?:\\left\s*|\\big[lr]?\s*)?(?:[(\[]|\\\{)"
    r"\s*y\s*(?:_\s*\{?\s*([a-z])\s*\}?)?\s*=\s*([a-z])\s*"
    r"(?:\\right\s*|\\big[lr]?\s*)?(?:[)\]]|\\\})"
)


def _label_entry(m: re.Match[str]) -> str:
    """``1(y_i = k)`` as ``y_{ik}`` (sample i's one-hot label, entry k), ``1(y = k)`` as
    ``y_{k}``."""
    return "y_{" + (m.group(1) or "") + m.group(2) + "}"


#: Rewrites of the LaTeX read here, applied before ``parse``'s own: notations that carry
#: no more than what the grammar reads (decorations, primes and transposes inside
#: superscripts, indicators, cases, update arrows).
LATEX_REWRITES: list[tuple[re.Pattern[str], Any]] = [
    *DISPLAY_REWRITES,  # the page's environment, equation number; W^T_{l+1}, \\ast
    *EULER_REWRITES,  # e^{-z} as \exp(-z) where its exponent is no layer's script
    (_STEP, _step),  # H(z): the Heaviside step
    *SPELLING_REWRITES,  # sgn(x) as |x|', \vec{1}, m^{-1}, \nabla_aC
    *NUMPY_REWRITES,  # np.sum(dZ, axis=1, keepdims=True) in Ng's slides
    *LEIBNIZ_REWRITES,  # dσ/dz, ∂σ(z)/∂z as σ'(z)
    (re.compile(r"\\begin\{cases\}(.*?)\\end\{cases\}", re.S), _cases),
    (_PER_EXAMPLE, _per_example),
    # a shape stated beside a side, \in \mathbb{R}^{p_l \times p_{l+1}}: not maths to check
    (
        re.compile(
            r"\\in\s*\\mathbb\s*\{\s*R\s*\}\s*"
            r"(?:\^\s*(?:\{(?:[^{}]|\{[^{}]*\})*\}|[A-Za-z0-9]))?(?=\s*(?:[.,;=&]|\\\\|$))"
        ),
        "",
    ),
    # the sentence the formula closes: "= A_2 - Y." (not an ellipsis "...", nor "\,")
    (re.compile(r"(?<![.\\])\s*[.,;]\s*$"), ""),
    # decorations: {\cal C}, \hat{\delta}, \vec{z}, \bm{\delta}, \boldsymbol{\delta}
    (re.compile(r"(\\partial)\s*\{\s*\\(?:cal|mathcal|bf|rm)\s+([A-Za-z])\s*\}"), r"\1 \2"),
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
    # δ_j ≡ ∂E_n/∂a_j (Bishop's PRML 5.51), ≜, =^{def}: a definition is an equation
    (
        re.compile(
            r"\\(?:equiv|triangleq|doteq|eqqcolon)(?![A-Za-z])"
            r"|\\(?:stackrel|overset)\s*\{\s*(?:\\(?:text|mathrm)\s*\{\s*def\s*\}|def|\\triangle)\s*\}"
            r"\s*\{?\s*=\s*\}?"
        ),
        " = ",
    ),
    # Nielsen's w^l → w^l − η/m Σ_x …: an update written with a right arrow
    (re.compile(r"\\(?:rightarrow|to|longrightarrow|mapsto)(?![A-Za-z])"), " := "),
    # Nielsen's y(x): the target of the training input x
    (re.compile(r"(?<![A-Za-z\\])([yY])\s*\(\s*x\s*\)"), r"\1"),
    # \mathbb{1}(y_i = k), \mathbf{1}\{y = k\}: the label of sample i is class k, the one-hot
    # label's entry (CS231n's ∂L_i/∂f_k = p_k − 1(y_i = k), UFLDL's softmax regression)
    (_LABEL_IS, _label_entry),
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
    (re.compile(r"\\(?:operatorname|mathrm|text|textrm)\s*\{\s*tanh\s*\}"), r"\\tanh "),
    # "\ ": TeX's control space (a^{(l)}\ .*\ b), not a line break \\
    (re.compile(r"(?<!\\)\\(?=[ \t])"), " "),
    # tanh(x), tanh^2 z: the function written without its backslash (Markdown sources)
    (re.compile(r"(?<![A-Za-z\\])tanh(?=\s*[(^{\\']|\s+[A-Za-z])"), r"\\tanh "),
]
