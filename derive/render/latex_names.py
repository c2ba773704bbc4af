"""How a symbol's name is typeset in LaTeX: Greek letters, word names, subscripts.

``_GREEK`` prints ``gamma`` as ``\\gamma`` (and a cotangent's ``dgamma`` as ``d\\gamma``),
``_word_name`` a several-letter name upright, ``_tex_index`` a subscript, ``_FUNCTIONS``
a program's entrywise functions as LaTeX writes them.
"""

from __future__ import annotations

from derive.core.graph import split_name
from derive.render.text import ACCENTS, is_word_index

#: Greek names printed as their letter (``gamma`` -> ``\gamma``; ``lam`` too, for λ), and
#: a cotangent's ``dgamma`` as ``d\gamma``; ``pi``, ``iota``, ``omicron`` stay words.
_GREEK = {
    name: "\\" + name
    for name in [
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "zeta",
        "eta",
        "theta",
        "kappa",
        "lambda",
        "mu",
        "nu",
        "xi",
        "rho",
        "sigma",
        "tau",
        "upsilon",
        "phi",
        "chi",
        "psi",
        "omega",
    ]
}
_GREEK["lam"] = r"\lambda"
_GREEK.update({"d" + k: "d" + v for k, v in list(_GREEK.items()) if "d" + k not in _GREEK})


def _tex_index(idx: str) -> str:
    return idx.replace(" ", "")


#: Entrywise functions of a program as LaTeX writes them (``\\sqrt{…}``, ``\\exp(…)``).
_FUNCTIONS = {
    "sqrt": r"\sqrt{{{}}}",
    "exp": r"\exp\left({}\right)",
    "log": r"\log\left({}\right)",
    "abs": r"\left\lvert {} \right\rvert",
}


def _word_name(name: str) -> str | None:
    """A program's name whose part after ``_`` is a word: ``x_hat`` -> ``\\hat{x}``,
    ``sample_var`` -> ``\\mathit{sample\\_var}`` (one name, not ``sample`` with a subscript
    ``var``); None for an indexed name (``W_2``, ``h_t``, ``W_{hh}``)."""
    base, idx = split_name(name)
    if not is_word_index(idx):
        return None
    if idx in ACCENTS and len(base) == 1:
        return rf"\{idx}{{{_GREEK.get(base, base)}}}"
    return r"\mathit{" + name.replace("_", r"\_") + "}"
