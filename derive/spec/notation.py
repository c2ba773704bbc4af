"""The user's notation, as one frozen config (like latexify's ``Config``).

Options come from the spec's ``[notation]`` table, CLI flags and Python keyword
arguments; ``merge`` layers them. An unknown option or value is a ``NotationError``
naming it and the allowed values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

INDEX_STYLES = {"subscript": "W_l", "bracket": "W^{[l]}", "paren": "W^{(l)}"}
HADAMARD = {"odot": r"\odot", "circ": r"\circ"}
TRANSPOSE = {"T": "T", "top": r"\top", "intercal": r"\intercal"}
DELTA_SYMBOLS = {"delta": r"\delta", "dZ": "dZ"}
#: Greek letters (and their var- forms) a notation may use for an activation.
GREEK = frozenset(
    {
        *("alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta"),
        *("theta", "vartheta", "iota", "kappa", "lambda", "mu", "nu", "xi", "pi", "varpi"),
        *("rho", "varrho", "sigma", "varsigma", "tau", "upsilon", "phi", "varphi", "chi"),
        *("psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma"),
        *("Upsilon", "Phi", "Psi", "Omega"),
    }
)
#: Function names LaTeX typesets upright itself (``\tanh`` is the table's own name).
OPERATORS = frozenset(
    {"tanh", "sinh", "cosh", "sin", "cos", "exp", "log", "ln", "arctan", "max", "min"}
)
#: An activation's LaTeX: a plain name, a Greek letter or upright operator, or one of
#: ``\operatorname`` ``\mathrm`` ``\mathit`` ``\mathcal`` ``\mathbf`` ``\mathsf`` of
#: plain letters; then optionally a ``_`` subscript of letters/digits and primes.
#: An allow-list: anything else (``\input``, ``\write``, ``\end``) is refused.
_TEX_NAME = re.compile(
    r"(?P<base>[A-Za-z][A-Za-z0-9]*|\\(?P<cmd>[A-Za-z]+)"
    r"|\\(?:operatorname|mathrm|mathit|mathcal|mathbf|mathsf)\{[A-Za-z][A-Za-z0-9]*\})"
    r"(?:_(?:[A-Za-z0-9]|\{[A-Za-z0-9]+\}))?'*"
)
#: The ``[notation]`` keys as the CLI flags spell them (``-`` or ``_``) -> field names.
TOML_KEYS = {
    "index": "index",
    "hadamard": "hadamard",
    "transpose": "transpose",
    "delta_symbol": "delta",
    "delta": "delta",
    "activation_name": "activations",
    "activations": "activations",
    "output_form": "output_form",
    "symbols": "symbols",
}

#: What a declared symbol may stand for (``[notation.symbols]``, ``--symbol``): the loss,
#: or one quantity of one layer, optionally transposed: ``Z_2``, ``dZ_{2}``, ``\delta_2``,
#: ``W_1^T``, ``A_L``, ``X``, ``L``. A strict pattern, never evaluated.
_QUANTITY = re.compile(
    r"(?P<base>\\delta|delta|dZ|dW|db|dA|dK|W|b|Z|A|K)_(?:(?P<k>[0-9]{1,3}|L)|\{(?P<kb>[0-9]{1,3}|L)\})"
    r"(?P<t>\^(?:T|\{T\}|\\top|\{\\top\}))?"
    r"|(?P<io>X|Y)(?P<tio>\^(?:T|\{T\}|\\top|\{\\top\}))?"
    r"|(?P<loss>L|C|J|E|\\mathcal\{L\})"
)
#: A page's own LaTeX macro (``\Wmatr``, ``\batch``), declared as the one name or font it
#: stands for (``W``, ``m``, ``\delta``, ``\mathbf``): spelled in the formula before it is read.
_MACRO_NAME = re.compile(r"\\[A-Za-z]{1,31}")
_MACRO_VALUE = re.compile(r"\\?[A-Za-z]{1,12}")
#: A declared symbol's name: a letter, then letters, digits or ``_`` (``S``, ``dscores``).
_SYMBOL_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")
#: Names the formula grammars already read: functions, modules, operators, scalars.
RESERVED = frozenset(
    {
        *("f", "g", "h", "T", "m", "d", "e", "l", "L", "C", "J", "X", "Y", "x", "y", "np"),
        *("numpy", "jnp", "torch", "scipy", "signal", "sigma", "sigmoid", "tanh", "relu"),
        *("ReLU", "softmax", "exp", "log", "max", "min", "sum", "mean", "where", "maximum"),
        *("sign", "diag", "lam", "lambd", "lmbda", "lambda", "alpha", "delta", "Delta"),
        *("True", "False", "rot180", "flip", "up", "maxmask", "maxpool", "avgpool", "flatten"),
        *("unflatten", "gelu", "elu", "silu", "softplus", "sech", "dot", "outer", "ones"),
    }
)
#: A name that already is a quantity of some layer (``Z2``, ``dW_1``, ``delta3``).
_QUANTITY_NAME = re.compile(r"(W|w|b|Z|z|A|a|dW|dw|db|dZ|dz|dA|da|delta|K|k|dK)_?([0-9]+|l|L)")


@dataclass(frozen=True)
class Declared:
    """What a declared symbol stands for: the loss, or ``base`` of layer ``layer``
    (an int, or ``"L"`` for the output layer), transposed or not."""

    base: str  # loss | W | b | Z | A | K | delta | dW | db | dA | dK | X | Y | macro
    layer: int | str | None = None
    transposed: bool = False
    text: str = ""  # a macro's meaning, spelled in LaTeX (\Wmatr = W)


def declared_quantity(name: str, value: object, key: str) -> Declared:
    """The quantity ``name = value`` declares, or a NotationError naming ``key``."""
    if isinstance(name, str) and _MACRO_NAME.fullmatch(name):  # a page's LaTeX macro
        if not isinstance(value, str) or not _MACRO_VALUE.fullmatch(value):
            raise NotationError(
                f"a macro such as {name} stands for one name (W, \\delta, m) or a font (\\mathbf)",
                key=key,
            )
        return Declared("macro", None, False, value)
    if not isinstance(name, str) or not _SYMBOL_NAME.fullmatch(name):
        raise NotationError(
            f"{str(name)[:40]!r} is not a symbol name (a letter, then letters, digits or _, "
            "at most 32 characters)",
            key=key,
        )
    if name in RESERVED or _QUANTITY_NAME.fullmatch(name):
        raise NotationError(
            f"{name!r} is a built-in name of the formula checker; declare another name",
            key=key,
        )
    m = _QUANTITY.fullmatch(value) if isinstance(value, str) and len(value) <= 40 else None
    if m is None:
        shown = repr(value) if len(repr(value)) <= 50 else repr(value)[:40] + "…"
        raise NotationError(
            f"unknown quantity {shown}; use one quantity of one layer, e.g. Z_2, A_1, dZ_2, "
            "W_1^T, or L for the loss",
            key=key,
        )
    if m["loss"]:
        return Declared("loss")
    if m["io"]:
        return Declared(m["io"], None, bool(m["tio"]))
    base = {"\\delta": "delta", "dZ": "delta"}.get(m["base"], m["base"])
    k = m["k"] or m["kb"]
    return Declared(base, k if k == "L" else int(k), bool(m["t"]))


def check_tex_name(name: str, tex: object, key: str = "") -> str:
    """``tex`` if it is an allowed LaTeX name for an activation, else a NotationError.

    ``key`` is where the user wrote it (``notation.activation-name.sigmoid``,
    ``--activation-name sigmoid``), so the message points at their own spelling."""
    m = _TEX_NAME.fullmatch(tex) if isinstance(tex, str) and len(tex) <= 60 else None
    # (``not isinstance`` repeats what m says, for the type checker: tex is a str below)
    if m is None or not isinstance(tex, str) or (m["cmd"] and m["cmd"] not in GREEK | OPERATORS):
        # the user's own text (a backslash is not doubled), control characters escaped
        shown = (
            "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in tex)
            if isinstance(tex, str)
            else repr(tex)
        )
        shown = f"'{shown}'" if len(shown) <= 58 else f"'{shown[:48]}…'"
        raise NotationError(
            f"{shown} is not a simple name or an allowed LaTeX "
            r"name (a letter name like g, a Greek letter like \sigma, \tanh, "
            r"\operatorname{act} or \mathrm{act} of plain letters, an optional _subscript "
            "and primes)",
            key=key or f"notation.activations.{name}",
        )
    return tex


class NotationError(ValueError):
    """An unknown notation option or value; ``key`` names the option (``notation.index``)."""

    def __init__(self, message: str, *, key: str = "") -> None:
        self.key = key
        self.problem = message
        super().__init__(f"{key}: {message}" if key else message)


def _choice(key: str, value: object, allowed: Mapping[str, str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:50] + "…"
        raise NotationError(
            f"unknown value {shown}; use one of {', '.join(allowed)}", key=f"notation.{key}"
        )
    return str(value)


@dataclass(frozen=True)
class Notation:
    """How symbols are written: index style, ⊙ symbol, transpose, names, delta symbol."""

    index: str = "subscript"
    hadamard: str = "odot"
    transpose: str = "T"
    delta: str = "delta"
    activations: tuple[tuple[str, str], ...] = ()
    output_form: bool = False
    symbols: tuple[tuple[str, str], ...] = ()  # declared names: (S, Z_2), (w, W_1^T)

    def __post_init__(self) -> None:
        _choice("index", self.index, INDEX_STYLES)
        _choice("hadamard", self.hadamard, HADAMARD)
        _choice("transpose", self.transpose, TRANSPOSE)
        _choice("delta", self.delta, DELTA_SYMBOLS)
        if not isinstance(self.output_form, bool):
            raise NotationError("must be true or false", key="notation.output_form")
        acts = self.activations
        if isinstance(acts, Mapping):
            acts = tuple(sorted(acts.items()))
            object.__setattr__(self, "activations", acts)
        for name, tex in acts:
            check_tex_name(name, tex)
        syms = self.symbols
        if isinstance(syms, Mapping):
            syms = tuple(sorted(syms.items()))
            object.__setattr__(self, "symbols", syms)
        for name, value in syms:
            declared_quantity(name, value, f"notation.symbols.{name}")

    @classmethod
    def defaults(cls) -> Notation:
        """The notation of the built-in documents, the base every merge starts from."""
        return cls()

    def merge(self, **changes: Any) -> Notation:
        """A copy with the given options changed (``None`` values are ignored)."""
        known = {f.name for f in fields(self)}
        clean: dict[str, Any] = {}
        for key, value in changes.items():
            if value is None:
                continue
            if key not in known:
                raise NotationError(
                    f"unknown notation option {key!r}; known: {', '.join(sorted(known))}"
                )
            if key in ("activations", "symbols"):
                merged = dict(getattr(self, key))
                merged.update(dict(value) if not isinstance(value, dict) else value)
                value = tuple(sorted(merged.items()))
            clean[key] = value
        return replace(self, **clean)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Notation:
        """From a TOML ``[notation]`` table; keys are spelled like the CLI flags
        (``delta-symbol`` or ``delta_symbol``); the older ``delta`` and ``activations``
        still work, and giving both spellings of one option is an error."""
        if not isinstance(data, Mapping):
            raise NotationError("notation must be a table")
        options: dict[str, object] = {}
        spelled: dict[str, str] = {}
        for key, value in data.items():
            field_name = TOML_KEYS.get(key.replace("-", "_"))
            if field_name is None:
                known = ", ".join(
                    k.replace("_", "-") for k in TOML_KEYS if k not in ("delta", "activations")
                )
                raise NotationError(f"unknown notation option {key!r}; known: {known}")
            if field_name in spelled:
                raise NotationError(
                    f"the same option as {spelled[field_name]!r}; give one of them",
                    key=f"notation.{key}",
                )
            spelled[field_name] = key
            options[field_name] = value
        syms = options.pop("symbols", {})
        if not isinstance(syms, Mapping):
            raise NotationError(
                'must be a table of name = quantity (e.g. S = "Z_2")', key="notation.symbols"
            )
        for name, value in syms.items():
            declared_quantity(name, value, f"notation.symbols.{str(name)[:30]}")
        acts = options.pop("activations", {})
        if not isinstance(acts, Mapping):
            raise NotationError(
                "must be a table of name = symbol", key=f"notation.{spelled['activations']}"
            )
        for name, tex in acts.items():
            shown = name if len(name) < 40 else name[:30] + "…"
            check_tex_name(name, tex, key=f"notation.{spelled['activations']}.{shown}")
        return cls.defaults().merge(
            **options,
            activations=tuple(sorted(acts.items())),
            symbols=tuple(sorted(syms.items())),
        )

    def activation_tex(self, name: str, default: str) -> str:
        """The symbol the user chose for an activation, or the printer's own ``default``."""
        return dict(self.activations).get(name, default)


__all__ = ["Declared", "Notation", "NotationError", "declared_quantity", "field"]
