"""The checks of a spec's single values, and the one error every spec mistake raises.

``SpecError`` names the key, the problem and (for TOML) the file and line. The rest are
the checks each record runs on its fields: a symbol name (``check_name``, with the ONE
reserved-name rule ``name_clash``), a width, a scalar parameter, and their bounds.
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
from typing import Union

Width = Union[int, str]  # noqa: UP007 - a runtime alias, also on Python 3.10
Scalar = Union[int, float, str]  # noqa: UP007

_SYMBOL = re.compile(r"[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)?")
#: The longest symbol name (a name is printed in every formula it appears in).
MAX_NAME = 32
#: Names the derivation uses itself, as the user would write them.
_RESERVED = {
    "x",
    "l",
    "L",
    "W",
    "K",
    "b",
    "Z",
    "A",
    "X",
    "Y",
    "delta",
    "alpha",
    "lambda",
    "e",
    "pi",
}
#: Identifiers the exported module defines or imports itself (besides the patterns below).
_MODULE_NAMES = {
    "X",
    "Y",
    "L",
    "m",
    "lam",
    "sizes",
    "SHAPES",
    "PARAMETERS",
    "HYPERPARAMETERS",
    "intermediates",
    "forward",
    "loss",
    "gradients",
    "loss_and_gradients",
    "annotations",
    "numpy",
    "torch",
    "jax",
    "math",
    "scipy",
    "derive",
    "conv2d",
    "conv2d_back_input",
    "conv2d_back_kernel",
    "maxpool2d",
    "maxpool2d_back",
    "avgpool2d",
    "avgpool2d_back",
}
#: Layer symbols as the exported module names them: W1, dW1, delta2, Z3, …
_GENERATED = re.compile(r"d?(W|K|b|Z|A|delta)[0-9]*|d(Z|A|X|Y|L)")


def code_ident(name: str) -> str:
    """The identifier a symbol name becomes in exported code (``n_1`` -> ``n1``).

    Mirrors ``derive.export.code_name`` for the names a spec allows.
    """
    ident = name.replace("_", "")
    return {"lambda": "lam"}.get(ident, ident)


def name_clash(name: str) -> str | None:
    """Why ``name`` cannot be a user's symbol, or None: the ONE reserved-name rule.

    A user's names become SymPy symbols, LaTeX and identifiers of the exported module,
    so a name must not be one the derivation, Python or that module uses itself.
    """
    ident = code_ident(name)
    if name in _RESERVED:
        return f"{name!r} is a symbol the derivation uses itself"
    if keyword.iskeyword(name) or keyword.iskeyword(ident) or keyword.issoftkeyword(ident):
        return f"{name!r} is a Python keyword"
    if ident in _MODULE_NAMES or _GENERATED.fullmatch(ident):
        return f"the exported module defines {ident!r} itself"
    if hasattr(builtins, ident):
        return f"{ident!r} is a Python builtin the exported module may use"
    return None


def _short(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + "…" + text[-4:]


def check_name(value: object, key: str, *, allow: frozenset[str] = frozenset()) -> str:
    """A user's symbol name, or a SpecError naming the key and what is wrong with it."""
    if not isinstance(value, str):
        raise SpecError(f"expected a symbol name, got {type(value).__name__}", key=key)
    if len(value) > MAX_NAME:
        raise SpecError(
            f"the name {_short(value)} is {len(value)} characters long; the limit is {MAX_NAME}",
            key=key,
        )
    if not _SYMBOL.fullmatch(value):
        raise SpecError(
            f"{_short(value)} is not a valid symbol name (letters and digits, optionally one "
            f"_subscript, at most {MAX_NAME} characters, e.g. n_1, h, d2)",
            key=key,
        )
    clash = None if value in allow else name_clash(value)
    if clash:
        raise SpecError(f"the name {value!r} is reserved: {clash}; choose another", key=key)
    return value


class SpecError(ValueError):
    """A spec the user wrote that cannot be derived; the message says where and why."""

    def __init__(self, message: str, *, key: str = "", source: str = "", line: int | None = None):
        self.key = key
        self.source = source
        self.line = line
        self.problem = message
        where = source
        if line is not None:
            where = f"{source}:{line}" if source else f"line {line}"
        parts = [p for p in (where, key) if p]
        super().__init__(f"{': '.join(parts)}: {message}" if parts else message)


def _check_width(value: object, key: str, allow: frozenset[str] = frozenset()) -> Width:
    if isinstance(value, bool):
        raise SpecError(
            f"width must be a positive integer or a symbol name, got {_short(value)}", key=key
        )
    if isinstance(value, int):
        if value < 1:
            raise SpecError(f"width must be a positive integer, got {value}", key=key)
        return value
    if isinstance(value, str):
        if len(value) <= MAX_NAME and not _SYMBOL.fullmatch(value):
            raise SpecError(
                f"width {_short(value)} is neither a positive integer nor a valid symbol name "
                f"(letters and digits, optionally one _subscript, at most {MAX_NAME} "
                "characters, e.g. n_1, h, d2)",
                key=key,
            )
        return check_name(value, key, allow=allow)
    raise SpecError(
        f"width must be a positive integer or a symbol name, got {type(value).__name__}", key=key
    )


def _check_scalar(value: object, key: str) -> Scalar:
    if isinstance(value, bool):
        raise SpecError(f"expected a number or a symbol name, got {_short(value)}", key=key)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SpecError(
                f"expected a finite number or a symbol name, got {_short(value)}", key=key
            )
        return value
    if isinstance(value, int):
        if abs(value) > MAX_INT:
            raise SpecError(f"the number {_short(value)} is too large (limit 1e15)", key=key)
        return value
    if isinstance(value, str):
        allow = frozenset({"lambda"}) if key.endswith("weight_decay") else frozenset()
        return check_name(value, key, allow=allow)
    raise SpecError(
        f"expected a number or a symbol name, got {type(value).__name__} {_short(value)}", key=key
    )


#: The longest spec name (a title).
MAX_TITLE = 200
#: The largest integer parameter (slope, alpha, weight decay) a spec may give.
MAX_INT = 10**15
