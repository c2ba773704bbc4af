"""Page layout around a LaTeX formula, read away before the grammar: an equation's label
at its end (``\\quad \\rightarrow (Eq \\; 3)``, ``\\qquad (5)``, ``\\tag{3}``), the rows of an
``aligned`` block (``a &= b \\\\ &= c``: one chain, every step checked), colours
(``\\color{red}{…}``), ``.`` written for a product (``w^2 . \\sigma'(z^2)``), TeX's one-token
arguments (``\\frac1mdZ``) and Ng's layer brackets without braces (``da^[l-1]``).

Fresh sources (course notes in Markdown, blog posts, forum threads) write these around
formulas the grammar reads. Each rewrite keeps the maths as written (a label is no part of
it; a continued row only repeats ``=``), and ``layout_notes`` says which were used.
"""

from __future__ import annotations

import re
from typing import Any

from derive.formula.ir import FormulaError
from derive.formula.latex_layer_letter import LETTER_REWRITE, letter_notes

_SEP = r"(?:\\q?quad(?![A-Za-z])|\\[;,:!]|~|\s)"
_ARROW = r"\\(?:rightarrow|Rightarrow|longrightarrow|Longrightarrow|to|implies)(?![A-Za-z])"
_FONT = r"(?:\\(?:mathbb|mathbf|mathrm|text|textbf|textrm|rm|bf)(?![A-Za-z])\s*)"
#: "Eq", "Eqn.", "Equation" before a label's number, with TeX's spaces after it.
_NAME = r"(?:(?:Eq(?:n|uation)?|eq)\.?\s*(?:\\[;,:!]\s*|~\s*)*)"
#: A label's core: 3, 3.5.1.6, A1, A.2, A2.1 (after Eq), or one letter (A), (a).
_CORE = (
    rf"{_NAME}?(?:[A-Z]\.?)?[0-9]+(?:\.[0-9]+)*[a-z]?"
    rf"|{_NAME}[A-Z](?:\.?[0-9]+(?:\.[0-9]+)*)?"
    r"|[A-Za-z]"
)
_WRAPPED = rf"\{{\s*{_FONT}?(?:{_CORE})\s*\}}"  # {1}, {EqA1}, {a}
_PAREN = rf"\(\s*{_FONT}?(?:{_CORE}|{_WRAPPED})\s*\)"  # (3), (Eq \; 3), ( {a}), (\mathbf{1})
_LABEL = rf"{_FONT}?(?:{_NAME}?{_PAREN}|\{{\s*{_PAREN}\s*\}}|{_WRAPPED})"

#: A label closing the formula: set off by \quad or an arrow (never maths: the formula
#: has ended), or TeX's \tag{…}; then a brace that closes nothing (the page's wrapper).
LABEL_AT_END = re.compile(
    rf"(?:(?:\\q?quad(?![A-Za-z])\s*|{_ARROW}\s*)+{_SEP}*{_LABEL}|\\tag\*?\{{[^{{}}]*\}})"
    rf"{_SEP}*(\}}?)\s*$"
)

#: Environments whose rows are one equation's steps (their & and \\ are layout).
_ALIGN_ENV = r"(?:aligned|align\*?|split|eqnarray\*?|gathered|gather\*?|multline\*?)"
_ALIGN_BEGIN_END = re.compile(rf"\\(?:begin|end)\s*\{{{_ALIGN_ENV}\}}")
#: Environments whose \\ separate rows of their own (cases, matrices): left to them.
_OTHER_ENV = re.compile(r"\\(begin|end)\s*\{(?!" + _ALIGN_ENV + r"\})([A-Za-z*]+)\}")
_ROW_BREAK = re.compile(r"\\\\(?:\s*\[[^\[\]]*\])?")


def _inside_other_env(text: str, at: int) -> bool:
    """Whether position ``at`` is inside a cases or matrix environment."""
    depth = 0
    for m in _OTHER_ENV.finditer(text, 0, at):
        depth += 1 if m.group(1) == "begin" else -1
    return depth > 0


def _row_break(m: re.Match[str]) -> str:
    """``\\\\`` ending a row: nothing when the next row continues the chain (``&= …``)
    or the block ends; a row with its own left-hand side is another equation: refused."""
    text = m.string
    if _inside_other_env(text, m.start()):
        return m.group(0)
    rest = _ALIGN_BEGIN_END.sub("", text[m.end() :]).lstrip()
    if not rest or re.match(r"&?\s*=", rest) or rest.startswith("\\\\"):
        return " "
    raise FormulaError(
        "an aligned block of several equations (a row after \\\\ with its own left-hand "
        "side): check one equation at a time (a row that continues the chain starts with &=)"
    )


def _label(m: re.Match[str]) -> str:
    """The label dropped; a brace after it kept only if it closes one the formula opened."""
    before = re.sub(r"\\[{}]", "", m.string[: m.start()])
    return "}" if m.group(1) and before.count("{") > before.count("}") else ""


def _color(m: re.Match[str]) -> str:
    """``\\color{red}{x}``: x; a coloured prime ``\\color{red}{'}`` stays a prime."""
    body = m.group(1) or ""
    return body if re.fullmatch(r"\s*'+\s*", body) else "{" + body + "}"


#: Module names and NumPy attributes: np.sum, A.T, dZ.shape are no products; nor is the
#: empty delimiter of \left. … \right|.
_NOT_A_PRODUCT = re.compile(
    r"(?:T|shape|sum|mean|dot|reshape|transpose|astype|flatten|squeeze|copy|size|ravel)"
    r"(?![A-Za-z0-9_])"
)
_MODULES = re.compile(
    r"(?:np|numpy|torch|tf|jnp|math|\\left|\\right|\\bigl?|\\Bigl?|\\bigr|\\Bigr)\s*$"
)


def _dot_product(m: re.Match[str]) -> str:
    r"""``a . b`` between two factors: the product, as ``\cdot`` reads it."""
    text = m.string
    if _MODULES.search(text, 0, m.start()) or _NOT_A_PRODUCT.match(text, m.end()):
        return m.group(0)
    return r" \cdot "


#: ``.`` between two factors (not a decimal point, not ``...``, ``.*``, ``.^``, np.sum).
DOT_PRODUCT = re.compile(r"(?<=[}\)\]A-Za-z0-9'])\s*\.\s*(?=[\\A-Za-z(\[{])(?!\\[lcv]?dots)")

#: [g^{[l]}(Z^{[l]})]', (\sigma(z))^{\prime}: a prime on a bracketed activation applied to
#: its argument is Lagrange's derivative of the activation there, g^{[l]}'(Z^{[l]}).
_FUNC = r"(?:\\sigma|\\tanh|\\phi|\\varphi|[fgh])(?:\s*[\^_]\s*(?:\{[^{}]*\}|[A-Za-z0-9]))*"
PRIMED_GROUP = re.compile(
    rf"(?:\\left\s*)?[\[(]\s*({_FUNC})\s*(\((?:[^()]|\([^()]*\))*\))\s*(?:\\right\s*)?[\])]"
    r"\s*(?:\^\s*\{\s*(?:'|\\prime)\s*\}|\^\s*\\prime(?![A-Za-z])|')"
)

#: A name with its scripts: L, L^{(i)}, \mathcal{L}, w^{[l]}, z_2.
_NAME_D = (
    r"(?:\\mathcal\s*\{\s*[A-Z]\s*\}|[A-Za-z])"
    r"(?:\s*[\^_]\s*(?:\{(?:[^{}]|\{[^{}]*\})*\}|[A-Za-z0-9]))*"
)
#: ``\frac{dJ}{dW}``, ``\frac{dz^{[l]}}{dw^{[l]}}``: a derivative in Leibniz's d (Ng's
#: notes), read as ∂J/∂W; ``\frac{d}{dx}`` and dσ/dz are left to ``latex_leibniz``.
LEIBNIZ_D = re.compile(rf"\\frac\s*\{{\s*d\s*({_NAME_D})\s*\}}\s*\{{\s*d\s*({_NAME_D})\s*\}}")

#: (pattern, replacement), applied before every other rewrite (``source_text``).
LAYOUT_REWRITES: list[tuple[re.Pattern[str], Any]] = [
    (LABEL_AT_END, _label),
    (_ALIGN_BEGIN_END, " "),
    (_ROW_BREAK, _row_break),
    (re.compile(r"^\s*&?\s*=(?!=)"), ""),  # a block's first row begins at its &=: no left side
    (
        re.compile(r"\\(?:textcolor|color)\s*\{[A-Za-z!0-9]*\}\s*(?:\{((?:[^{}]|\{[^{}]*\})*)\})?"),
        _color,
    ),
    (re.compile(r"\\ast(?![A-Za-z])"), "*"),
    # \frac1mdZ: TeX's \frac takes one token each, a digit and a letter here
    (re.compile(r"\\frac\s*([0-9])\s*([A-Za-z])(?=\s*[A-Za-z\\])"), r"\\frac{\1}{\2} "),
    # da^[l-1]: Ng's layer bracket as a superscript without its braces
    (re.compile(r"\^\s*(\[\s*[A-Za-z0-9]+(?:\s*[-+]\s*[0-9]+)?\s*\])"), r"^{\1}"),
    (DOT_PRODUCT, _dot_product),
    (PRIMED_GROUP, r"\1'\2"),
    # \mathbf (a - y): a font command on a bracket, no name; \mathbf{…} around it all
    (re.compile(r"\\(?:mathbf|mathbb|boldsymbol|bm)\s*(?=[(\[])"), ""),
    (
        re.compile(
            r"^\s*\\mathbf\s*\{((?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*=(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*)\}\s*$"
        ),
        r"\1",
    ),
    # \frac{dJ}{db}, \frac{d L^{(i)}}{d a^{(i)}}: a derivative with Leibniz's d
    (LEIBNIZ_D, r"\\frac{\\partial \1}{\\partial \2}"),
    # \delta{^2}: a superscript in a group of its own
    (re.compile(r"\{\s*\^\s*([0-9]+)\s*\}"), r"^{\1}"),
    LETTER_REWRITE,  # dZ^{[i]}, W_{i+1}: i for the layer l (latex_layer_letter)
]


def layout_notes(text: str) -> list[str]:
    """The layout readings used (said in the answer)."""
    notes = []
    found = LABEL_AT_END.search(text)
    if found and not found.group(0).lstrip().startswith("\\tag"):
        label = " ".join(found.group(0).split())
        notes.append(f"'{label}' read as the equation's label, not part of the formula")
    if re.search(r"&\s*=", text) and _ROW_BREAK.search(text):
        notes.append(
            "the aligned rows (&= … \\\\) read as one chain of equal sides: each step checked"
        )
    if PRIMED_GROUP.search(text):
        notes.append("a prime on a bracketed activation, [g(z)]', read as its derivative g'(z)")
    if any(_dot_product(m) != m.group(0) for m in DOT_PRODUCT.finditer(text)):
        notes.append(
            "'.' read as a product, as \\cdot: the matrix product where the shapes fit, "
            "⊙ where only it fits"
        )
    return notes + letter_notes(text)
