"""The words of the LaTeX the checker reads: symbol, scalar and function names (the
tables both readers share). The rewrites applied before the grammar are in
``latex_rewrites``; the commands of TeX itself in ``latex_commands``."""

from __future__ import annotations

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
