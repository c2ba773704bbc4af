"""The names of the issue-15 layers' parameters and stages, as the derivation prints them.

A residual projection ``P_l``, batch/layer norm's ``γ_l``, ``β_l`` and its stages (the
mean ``μ_l``, the centred ``Xc_l``, the variance ``var_l``, the deviation ``σ_l``, the
normalised ``Xhat_l``) and dropout's mask ``M_l``. Both readers take them from here (the
LaTeX reader as macros the grammar knows, the NumPy reader by name with a layer number),
so that the checker reads back every quantity the derivation prints.
"""

from __future__ import annotations

import re
from typing import Any

#: LaTeX word (after the rewrites below) -> (IR base, lower case)
LATEX_BASES: dict[str, tuple[str, bool]] = {
    "P": ("P", False),
    "M": ("M", False),
    "\\gamma": ("gamma", False),
    "\\beta": ("beta", False),
    "\\mu": ("mu", False),
    "\\sdev": ("sigma", False),
    "Xhat": ("Xhat", False),
    "Xc": ("Xc", False),
    "var": ("var", False),
}

#: Functions of the issue-15 losses and layers: L1's and Huber's |r|, the norms' √.
LATEX_FUNCS: dict[str, str] = {"abs": "abs", "sqrt": "sqrt"}

#: The same in NumPy: ``abs``, ``np.abs``; ``np.sign`` is |r|' (what the export prints).
PY_FUNCS: dict[str, tuple[str, int]] = {
    "abs": ("abs", 0),
    "absolute": ("abs", 0),
    "sign": ("abs", 1),
    "sqrt": ("sqrt", 0),
}

#: The IR bases that name a layer's parameter, stage or mask (``symbols`` looks them up).
STAGE_BASES = frozenset(base for base, _ in LATEX_BASES.values())

#: The parameters whose gradient ``∂L/∂γ_2``, ``dgamma2`` names.
PARAM_BASES = frozenset({"P", "gamma", "beta"})

#: NumPy names of these quantities (a layer number is required: ``gamma2``, ``dP4``).
PY_LAYER_NAME = re.compile(r"^(d?(?:P|gamma|beta)|mu|Xc|var|sigma|Xhat|M)_?([0-9]+)\Z")

#: A layer index in each style the printers have: _2, _{2}, ^{(2)}, ^{[2]}
_INDEX = r"(?:_\{\s*[0-9]+\s*\}|_[0-9]|\^\s*\{\s*[(\[]\s*[0-9]+\s*[)\]]\s*\})"
_SYMBOL = r"(?:\\[A-Za-z]+|[A-Za-z]+)" + _INDEX

#: LaTeX rewrites (pattern, replacement) before the others: σ_l as the deviation where no
#: argument follows (σ_2 ⊘, (σ_2)), ⊘ as elementwise division, ∘-powers as powers.
LATEX_REWRITES: list[tuple[re.Pattern[str], Any]] = [
    (
        re.compile(
            r"\\sigma(" + _INDEX + ")"
            r"(?=\s*(?:\\right|\\oslash|\\odot|\\circ|\\cdot|[)}+\-=,]|\^\s*\{\s*\\circ|$))"
        ),
        r"\\sdev\1",
    ),
    (
        re.compile(
            r"\\left\(\s*(" + _SYMBOL + r")\s*\\right\)\s*\^\s*\{\s*\\circ\s*-\s*([0-9]+)\s*\}"
        ),
        r"\\left(1 / \1^{\2}\\right)",
    ),
    (re.compile(r"\^\s*\{\s*\\circ\s*([0-9]+)\s*\}"), r"^{\1}"),
    (re.compile(r"\\oslash(?![A-Za-z])"), " / "),
    # L1's and Huber's abs'(r), the norms' sqrt(…), as the derivation prints them
    (re.compile(r"(?<![A-Za-z\\{])(abs|sqrt)(?=\s*(?:'|\(|\\left))"), r"\\operatorname{\1}"),
]
