"""What every lark grammar of ``derive`` shares: a caret under the user's text, and a
parse error in words (what was met, where, and what the grammar expected instead).

The spec's activation formulas and the checker's LaTeX and NumPy formulas word their
messages their own way; the mechanics of reading a lark error live here once.
"""

from __future__ import annotations

from dataclasses import dataclass

from lark import Lark, Token, UnexpectedCharacters, UnexpectedInput


def caret(text: str, column: int) -> str:
    """The line of ``text`` holding ``column`` (1-based), and a caret under that column."""
    start = text.rfind("\n", 0, max(column - 1, 0)) + 1
    end = text.find("\n", start)
    line = text[start : end if end >= 0 else len(text)].replace("\t", " ")
    return f"  {line}\n  {' ' * max(column - 1 - start, 0)}^"


#: Grammar terminals in words a user knows (lark's own names are lsqb, circumflex, …).
WORDS = {
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
    if name in WORDS:
        return WORDS[name]
    try:
        pattern = lark.get_terminal(name).pattern
    except KeyError:
        return name.lower()
    if pattern.type == "str":
        return f"'{pattern.value}'"
    return name.lower()


def expected(lark: Lark, err: UnexpectedInput) -> str:
    """``; expected '=', a number, …`` (at most ten), or nothing when lark says nothing."""
    names = getattr(err, "expected", None) or getattr(err, "allowed", None) or []
    shown: list[str] = []
    for word in sorted({_word(lark, n) for n in names}, key=lambda w: (w.startswith("'"), w)):
        if word not in shown:
            shown.append(word)
    if not shown:
        return ""
    more = ", …" if len(shown) > 10 else ""
    return f"; expected {', '.join(shown[:10])}{more}"


@dataclass(frozen=True)
class Failure:
    """A lark parse error read once: ``kind`` is ``end`` (the text ends too early),
    ``character`` (a character no token starts with) or ``token`` (a token in the wrong
    place); ``met`` is that character or token, ``at`` its 0-based offset in the text."""

    kind: str
    met: str
    at: int
    expected: str


def failure(lark: Lark, err: UnexpectedInput, text: str) -> Failure:
    """What a lark error says, in the terms every grammar of ``derive`` words its message."""
    if isinstance(err, UnexpectedCharacters):
        at = err.pos_in_stream or 0
        return Failure("character", text[at] if at < len(text) else "", at, expected(lark, err))
    token = getattr(err, "token", None)
    if not isinstance(token, Token) or token.type == "$END":
        return Failure("end", "", len(text), expected(lark, err))
    return Failure("token", str(token), token.start_pos or 0, expected(lark, err))
