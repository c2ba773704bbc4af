"""The text the grammars read: the user's formula with its decorations, notations and
comments rewritten (``LATEX_TEXT_REWRITES``, ``PY_TEXT_REWRITES``), and for each character
the user's own position, so that a caret points into what the user wrote. ``parse`` and
the snippet reader (``snippet_statements``) read through it.
"""

from __future__ import annotations

import re
from typing import Any

from derive.formula.latex_goodfellow import GOODFELLOW_REWRITE
from derive.formula.latex_layout import LAYOUT_REWRITES
from derive.formula.latex_plain import PLAIN_REWRITES
from derive.formula.latex_rewrites import LATEX_REWRITES
from derive.formula.layer_names import LATEX_REWRITES as LAYER_REWRITES
from derive.formula.python_keys import KEY_TEXT_REWRITES

_LATEX_WORDS = re.compile(
    r"\\(?:text|mathrm|mathit|textrm|mathbf|boldsymbol|bm|mathcal|mathscr)\{([A-Za-z]+)\}"
)


#: (pattern, replacement) applied in order: decorations that carry no math, and CNN
#: notation by name (rot180, the arg-max mask 1_max(A), up(δ), pooling and flatten).
LATEX_TEXT_REWRITES: list[tuple[re.Pattern[str], Any]] = [
    *LAYOUT_REWRITES,  # labels, aligned rows, colours, '.' as a product (latex_layout)
    *LAYER_REWRITES,  # σ_l (a deviation), ⊘ and ∘-powers of the norm layers
    GOODFELLOW_REWRITE,  # the book's letters (a = Z, h = A, k = l, g), by its macros
    *PLAIN_REWRITES,  # \ell for the layer l, \vec z
    *LATEX_REWRITES,  # the notations latex_ir reads (primes, decorations, indicators, …)
    # layout that carries no math: equation tags, alignment marks
    (re.compile(r"\\tag\*?\{[^{}]*\}"), ""),
    (re.compile(r"&"), ""),
    # primes written as superscripts: f^\prime, \sigma^{\prime}, f^{'}
    (
        re.compile(r"\^\s*\{\s*((?:\\prime\s*|'\s*)+)\}|\^\s*\\prime"),
        lambda m: "'" * max(1, (m.group(1) or "").count("prime") + (m.group(1) or "").count("'")),
    ),
    # the middle dot · is \cdot; Nielsen's Σ'(z), the diagonal matrix of σ'(z)
    (re.compile("\u00b7"), r" \\cdot "),
    (
        re.compile(r"\\Sigma'\s*\(((?:[^()]|\([^()]*\))*)\)"),
        lambda m: "\\operatorname{diag}(\\sigma'(" + m.group(1) + "))",
    ),
    # ŷ, the network's output
    (
        re.compile(r"\\hat\s*(?:\{\s*([yY])\s*\}|([yY])(?![A-Za-z]))"),
        lambda m: "\\" + (m.group(1) or m.group(2)) + "hat ",
    ),
    # \partial{L}, \partial{W_2}: braces around what is differentiated
    (
        re.compile(r"(\\partial)\s*\{((?:[^{}]|\{[^{}]*\})*)\}"),
        lambda m: m.group(1) + " " + m.group(2) + " ",
    ),
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
    # a plain 1 subscripted by a length letter, 1_m (the text printer's 1ₘ): the ones
    # vector, not an entry of a number (not a digit of W_{1}, 21_m, or a script's 1)
    (
        re.compile(r"(?<![\w\\{^_.])1_(\{\s*[A-Za-z]\s*\}|[A-Za-z](?![A-Za-z]))"),
        lambda m: "\\one_" + m.group(1) + " ",
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


def _open_brackets(text: str) -> int:
    """How many brackets are open at the end of ``text`` (Python joins lines inside them)."""
    return sum(text.count(c) for c in "([{") - sum(text.count(c) for c in ")]}")


#: NumPy formulas: comments carry no math; a line break inside brackets joins the lines.
PY_TEXT_REWRITES: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"#[^\n]*"), ""),
    *KEY_TEXT_REWRITES,  # f"dW{l}", forward_vars["A" + str(l)] (python_keys)
    # Greek letters as Python 3 allows them in names: δ1 is delta1, α the learning rate
    (re.compile("[δαη]"), lambda m: {"δ": "delta", "α": "alpha", "η": "eta"}[m.group(0)]),
    (
        re.compile(r"[ \t]*\r?\n[ \t]*"),
        lambda m: " " if _open_brackets(m.string[: m.start()]) > 0 else m.group(0),
    ),
]


def normalize_with_positions(
    text: str, rewrites: list[tuple[re.Pattern[str], Any]] | None = None
) -> tuple[str, list[int]]:
    """The LaTeX the grammar reads, and for each of its positions the user's position.

    A rewritten span maps to where it starts in the user's text, so a caret can point into
    what the user wrote, not into the rewritten string.
    """
    out, pos = _stripped(text)
    for pattern, repl in LATEX_TEXT_REWRITES if rewrites is None else rewrites:
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


def stripped_again(source: str, pos: list[int]) -> tuple[str, list[int]]:
    """Blanks left at the ends by a rewrite (a comment removed), with their positions."""
    inner, kept = _stripped(source)
    return inner, [pos[i] for i in kept]


def normalize_latex(text: str) -> str:
    """Drop decorations that carry no math (``\\mathbf{W}`` -> ``W``, ``\\text{d}W`` -> ``dW``)."""
    return normalize_with_positions(text)[0]
