"""Maths written outside LaTeX proper, read as the LaTeX it stands for: Unicode
(``∂L/∂W₂[i][j] = ∂L/∂z₂[i] · a₁[j]``) and code names inside LaTeX (``\\partial{loss}``, ``W2``).

Tutorials, forum posts and slides often write formulas in plain Unicode rather than LaTeX:
``∂``, ``Σᵢ``, ``⊙``, subscript and superscript characters, ``ŷ``, ``W₂[i][j]`` for an entry.
Each rewrite here turns one of those marks into the LaTeX the grammar already reads (the
same rewrite list as the other notations, so a caret still points into the user's text):
a run of subscripts ``₂`` or ``ᵢⱼ`` becomes ``_{2}``/``_{ij}``, superscripts ``ᵀ``/``²``
become ``^{T}``/``^{2}``, an entry ``W₂[i][j]`` becomes ``(W_{2})_{ij}`` (the index form
``indexed.py`` reads), Greek and operator characters their commands.
"""

from __future__ import annotations

import re
from typing import Any

#: Subscript characters and what they stand for.
SUBSCRIPTS = dict(
    zip(
        "₀₁₂₃₄₅₆₇₈₉₊₋ₐₑₒₓₕₖₗₘₙₚₛₜᵢⱼᵤᵥ",
        "0123456789+-aeoxhklmnpstijuv",
        strict=True,
    )
)

#: Superscript characters and what they stand for (ᵀ is the transpose).
SUPERSCRIPTS = dict(
    zip(
        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁽⁾ᵀⁱⁿˡᵐᴸʲᵏ",
        "0123456789+-()TinlmLjk",
        strict=True,
    )
)

#: Single characters and their LaTeX commands (a trailing space ends the command).
SYMBOLS = {
    "∂": r"\partial ",
    "∇": r"\nabla ",
    "Σ": r"\sum",
    "∑": r"\sum",
    "⊙": r"\odot ",
    "∘": r"\circ ",
    "⊗": r"\otimes ",
    "×": r"\times ",
    "⋅": r"\cdot ",
    "∙": r"\cdot ",
    "−": "-",
    "–": "-",
    "∗": "*",
    "′": "'",
    "’": "'",
    "←": r"\leftarrow ",
    "≔": ":=",
    "σ": r"\sigma ",
    "δ": r"\delta ",
    "Δ": r"\Delta ",
    "η": r"\eta ",
    "α": r"\alpha ",
    "λ": r"\lambda ",
    "ε": r"\epsilon ",
    "θ": r"\theta ",
    "Θ": r"\Theta ",
    "ŷ": r"\hat{y}",
    "Ŷ": r"\hat{Y}",
}

#: Every character that marks a formula as Unicode maths (for the syntax detector).
MARKS = frozenset(SUBSCRIPTS) | frozenset(SUPERSCRIPTS) | (frozenset(SYMBOLS) - {"’", "–"})

_SUB = "".join(SUBSCRIPTS)
_SUP = "".join(SUPERSCRIPTS)

#: A (subscripted) name: ``W``, ``dZ``, ``\\delta``, ``W_{2}``.
_NAME = r"((?:\\[A-Za-z]+\s*|[A-Za-z]+)(?:_\{[^{}]*\})?)"

#: Ng's layer in brackets written inline: ``dZ[l]``, ``A[l-1]``, ``W[2]`` (``W^{[l]}``).
_LAYER = re.compile(_NAME + r"\[\s*(l|L|\d+|l\s*[-+]\s*1)\s*\]")

#: An entry written with brackets after a name: ``W₂[i][j]``, ``a₁[j]``, ``x[k]``.
_ENTRY = re.compile(_NAME + r"((?:\[\s*[a-km-z]\s*\])+)")


def _entry(m: re.Match[str]) -> str:
    """``W_{2}[i][j]`` -> ``(W_{2})_{ij}``."""
    indices = "".join(re.findall(r"[a-z]", m.group(2)))
    return f"({m.group(1).strip()})_{{{indices}}}"


UNICODE_REWRITES: list[tuple[re.Pattern[str], Any]] = [
    # δ1, θ2 typed with a plain digit: the layer (δ₁)
    (
        re.compile("([δΔθΘ])([0-9])(?![0-9])"),
        lambda m: SYMBOLS[m.group(1)].strip() + "_{" + m.group(2) + "}",
    ),
    # δJ/δW1: a forum's δ for the partial sign, where a loss letter is differentiated
    (re.compile("\u03b4([JLCE])(\\s*/\\s*)\u03b4"), "\u2202\\1\\2\u2202"),
    # y followed by a combining circumflex is ŷ
    (re.compile("([yY])\u0302"), lambda m: r"\hat{" + m.group(1) + "}"),
    (re.compile("[" + re.escape("".join(SYMBOLS)) + "]"), lambda m: SYMBOLS[m.group(0)]),
    (re.compile(f"[{_SUB}]+"), lambda m: "_{" + "".join(SUBSCRIPTS[c] for c in m.group(0)) + "}"),
    (
        re.compile(f"[{_SUP}]+"),
        lambda m: "^{" + "".join(SUPERSCRIPTS[c] for c in m.group(0)) + "}",
    ),
    (_LAYER, lambda m: m.group(1).strip() + "^{[" + re.sub(r"\s", "", m.group(2)) + "]}"),
    (_ENTRY, _entry),
]


#: The words code and notes use for the loss inside LaTeX (``\\partial{loss}``,
#: ``\\partial \\text{Cost}``), read as the loss ``L``; after a ∂ also ℓ (papers' loss,
#: no layer: a layer is not differentiated) and the total error E_{total} (Mazur's
#: worked example, ∂E_total/∂w, and its many copies).
LOSS_WORDS = ("loss", "Loss", "cost", "Cost")
_TOTAL = (
    r"[ELCJ]\s*_\s*(?:\{\s*(?:\\(?:text|mathrm)\s*\{\s*(?:total|tot)\s*\}|\\rm\s+(?:total|tot)"
    r"|total|tot)\s*\}|total|tot)"
)

#: Names a notebook's LaTeX borrows from its code: ``W2``, ``h1``, ``dZ2`` (``W_2``),
#: and the loss words above after a ∂, bare, in braces or in a font.
_CODE_NAME = re.compile(r"(?<![\\A-Za-z0-9])(d[WbZAK]|[WbZAXYKwzax])(\d)(?![\dA-Za-z])")
_WORD = "(?:" + "|".join(LOSS_WORDS) + r"|\\ell|" + _TOTAL + ")"
_WRAPPED = r"\\(?:text|mathrm|mathit|operatorname)\s*\{\s*" + _WORD + r"\s*\}"
_LOSS_WORD = re.compile(
    rf"\\partial\s*(?:\{{\s*(?:{_WRAPPED}|{_WORD})\s*\}}|{_WRAPPED}|{_WORD}(?!\w))"
)


#: k as the layer letter (CS224n's notes: δ^{(k)} = f'(z^{(k)}) ∘ (W^{(k)T} δ^{(k+1)})): a
#: bracketed superscript k where the formula also writes k±1 there, and no l.
_K_LAYER = re.compile(r"(?<=\^\{)(\s*[(\[]\s*)k(\s*[+-]\s*[0-9])?(?=\s*[)\]])")
_K_SHIFTED = re.compile(r"\^\{\s*[(\[]\s*k\s*[+-]\s*[0-9]\s*[)\]]")
_L_WRITTEN = re.compile(
    r"\^\{\s*[(\[]\s*l(?![A-Za-z])|(?<!\\partial)(?<!\\partial )\\ell(?![A-Za-z])"
)


def _k_layer(m: re.Match[str]) -> str:
    """``(k)`` and ``(k+1)`` as ``(l)`` and ``(l+1)`` where k names the layers (see above)."""
    if _K_SHIFTED.search(m.string) and not _L_WRITTEN.search(m.string):
        return m.group(1) + "l" + (m.group(2) or "")
    return m.group(0)


#: Learning From Data's letters: θ the activation function, s the signal into it
#: (θ'(s^{(l)})): θ applied is a function (φ, the layer's own), s a pre-activation where it
#: is only written as an activation's argument and z is not written at all.
_THETA_APPLIED = re.compile(
    r"\\theta(?=\s*(?:'|\^\s*\{\s*(?:'|\\prime)\s*\}|\^\s*\\prime)*\s*(?:\(|\\left\s*\())"
)
_SIGNAL = re.compile(r"(?<![A-Za-z\\])s(?=\s*[_^])")
_SIGNAL_ARGUMENT = re.compile(
    r"(?:\\sigma|\\phi|\\theta|\\tanh|(?<![A-Za-z\\])[fg])\s*(?:'|\^\s*\{\s*(?:'|\\prime)\s*\})*"
    r"\s*(?:\(|\\left\s*\()\s*s\s*[_^]"
)
_Z_WRITTEN = re.compile(r"(?<![A-Za-z\\])[zZ](?![A-Za-z])")


def _signal(m: re.Match[str]) -> str:
    """``s`` as ``z`` where the formula writes it inside an activation and z nowhere."""
    if _SIGNAL_ARGUMENT.search(m.string) and not _Z_WRITTEN.search(m.string):
        return "z"
    return m.group(0)


#: ``\nabla L(X)``: the gradient of a loss (L, J, C, E, 𝓛, ``loss``) at one named quantity X,
#: ∂L/∂X, as the gradient of a function at a point is written. X is a symbol as the rest
#: of the formula writes it (``Z_2``, ``z^{[2]}``) or a code name with one common reading
#: (``scores`` is Z_L, ``probs`` A_L: ``snippets.common_name``, as the NumPy reader reads
#: them). ∇L without an argument is read elsewhere (the gradient on the output).
_NABLA_APPLIED = re.compile(
    r"\\nabla\s*(loss|Loss|[LJCE]|\\mathcal\s*\{\s*[LJCE]\s*\}|\\mathcal\s*[LJCE])\s*"
    r"(?:\\left\s*)?\(\s*([^()+\-=,;]+?)\s*(?:\\right\s*)?\)"
)


def _nabla_applied(m: re.Match[str]) -> str:
    """``\\nabla L(X)`` as ``\\frac{\\partial L}{\\partial X}``; a code name by its one
    common reading; anything else (an unknown word) left as written."""
    loss, arg = m.group(1), m.group(2).strip()
    loss = "L" if loss in ("loss", "Loss") else loss
    if re.fullmatch(r"[A-Za-z]\w+", arg) and "_" not in arg[:2]:
        from derive.formula.snippets import common_name  # the NumPy reader's table

        found = common_name(arg, 0)
        node = found[0] if found is not None else None
        base, idx = getattr(node, "base", None), getattr(node, "index", "none")
        last = idx is None or (getattr(idx, "letter", "") == "L" and getattr(idx, "offset", 1) == 0)
        if base not in ("Z", "A", "Y") or not last:
            return m.group(0)
        arg = base if idx is None else f"{base}_L"
    return f"\\frac{{\\partial {loss}}}{{\\partial {arg}}}"


#: Letters LaTeX spells as commands where a plain letter is meant: ``\\ell`` for the layer
#: index ``l`` (``\\delta^{(\\ell)}``), an arrow ``\\vec z`` written without braces, a
#: starred target ``y^*``; ``\\sqrt{x}`` and ``\\lvert x \\rvert``; and the code names above.
PLAIN_REWRITES: list[tuple[re.Pattern[str], Any]] = [
    # \sqrt{x} and |x| as LaTeX typesets them (and derive prints them): sqrt(x), abs(x)
    (
        re.compile(r"\\sqrt\s*\{((?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*)\}"),
        r"\\operatorname{sqrt}\\left(\1\\right)",
    ),
    (
        re.compile(r"(?:\\left\s*)?\\lvert(.*?)(?:\\right\s*)?\\rvert"),
        r"\\operatorname{abs}\\left(\1\\right)",
    ),
    (_K_LAYER, _k_layer),
    # \mathit{h1}: the code's hidden layer (CS231n's h1 = ReLU(X W1 + b1)), A_1
    (re.compile(r"\\(?:mathit|mathrm|text)\s*\{\s*h(\d)\s*\}"), r"A_{\1}"),
    (_NABLA_APPLIED, _nabla_applied),
    (_THETA_APPLIED, r"\\phi "),
    (_SIGNAL, _signal),
    (_LOSS_WORD, r"\\partial L "),
    (re.compile(r"\\(?:mathit|mathrm|text)\s*\{\s*(d?[A-Za-z]\d)\s*\}"), r"\1"),
    (_CODE_NAME, r"\1_\2"),
    (re.compile(r"\\ell(?![A-Za-z])"), "l"),
    (re.compile(r"\\vec\s*(\\[A-Za-z]+|[A-Za-z](?![A-Za-z]))"), r"\1"),
    # the target starred, y^* (or y_i^*): the labels Y
    (
        re.compile(
            r"(?<![A-Za-z\\])([yY](?:_\{[^{}]*\}|_[A-Za-z0-9])?)\s*\^\s*(?:\*|\{\s*\*\s*\})"
        ),
        r"\1",
    ),
]


def is_unicode_math(text: str) -> bool:
    """Whether ``text`` uses a mark of Unicode maths (``∂``, ``ᵀ``, ``₂``, ``⊙``, …)."""
    return any(c in MARKS for c in text)
