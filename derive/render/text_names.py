"""How a name reads in Unicode text: subscripts, superscripts, Greek letters, accents.

``symbol_text`` prints ``W_2`` as ``W₂``, ``epsilon`` as ``ε`` and ``x_hat`` as ``x̂``;
a word after ``_`` (``sample_var``) is printed as written.
"""

from __future__ import annotations

from sympy.printing.pretty.pretty_symbology import greek_unicode

from derive.core.graph import split_name

_SUB = str.maketrans("0123456789+-=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ")
_SUP = str.maketrans("0123456789+-=()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾")
#: Greek names printed as their letter (``epsilon`` -> ``ε``, ``gamma`` -> ``γ``), as SymPy's
#: pretty printer does; ``pi``, ``iota``, ``omicron`` stay words (easily a user's own name).
_GREEK: dict[str, str] = {
    str(k): str(v)
    for k, v in greek_unicode.items()
    if k.islower() and k not in ("pi", "iota", "omicron", "varsigma", "lamda")
}


def subscript(index: str) -> str:
    """``'l+1'`` -> ``'ₗ₊₁'`` where Unicode has every character, else ``'_{l+1}'``."""
    plain = index.replace(" ", "")
    out = plain.translate(_SUB)
    if any(ch == src for ch, src in zip(out, plain)):
        return f"_{{{plain}}}" if len(plain) > 1 else f"_{plain}"
    return out


#: Decorations a program's names spell as a suffix: ``x_hat`` is x̂.
ACCENTS = {"hat": "\u0302", "bar": "\u0304", "tilde": "\u0303"}


def is_word_index(idx: str) -> bool:
    """Whether a name's part after ``_`` is a word (``sample_var``, ``dnext_c_total``), not an
    index (``W_2``, ``h_t``, ``W_hh``, ``Z_{l+1}``): a word is printed as written."""
    return len(idx) > 2 and idx.replace("_", "").isalpha()


def symbol_text(name: str) -> str:
    """``delta_l`` -> ``δₗ``: a symbol's name as Unicode text."""
    base, idx = split_name(name)
    if is_word_index(idx):
        if idx in ACCENTS and len(base) == 1:
            return _GREEK.get(base, base) + ACCENTS[idx]
        return name  # sample_var, not sampleᵥₐᵣ
    if base not in _GREEK and base[:1] == "d" and base[1:] in _GREEK:
        base = "d" + _GREEK[base[1:]]  # a cotangent's name: dgamma -> dγ
    else:
        base = _GREEK.get(base, base)
    return base + (subscript(idx) if idx else "")
