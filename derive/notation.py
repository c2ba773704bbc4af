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
_TEX_NAME = re.compile(r"^(\\[A-Za-z]+|[A-Za-z]+|\\operatorname\{[A-Za-z]+\})$")


class NotationError(ValueError):
    """An unknown notation option or value."""


def _choice(key: str, value: Any, allowed: Mapping[str, str]) -> str:
    if value not in allowed:
        raise NotationError(
            f"notation.{key}: unknown value {value!r}; use one of {', '.join(allowed)}"
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

    def __post_init__(self) -> None:
        _choice("index", self.index, INDEX_STYLES)
        _choice("hadamard", self.hadamard, HADAMARD)
        _choice("transpose", self.transpose, TRANSPOSE)
        _choice("delta", self.delta, DELTA_SYMBOLS)
        if not isinstance(self.output_form, bool):
            raise NotationError("notation.output_form: must be true or false")
        acts = self.activations
        if isinstance(acts, Mapping):
            acts = tuple(sorted(acts.items()))
            object.__setattr__(self, "activations", acts)
        for name, tex in acts:
            if not isinstance(tex, str) or not _TEX_NAME.match(tex):
                raise NotationError(
                    f"notation.activations.{name}: {tex!r} is not a simple name or a "
                    r"LaTeX command (e.g. \sigma, g, \operatorname{act})"
                )

    @classmethod
    def defaults(cls) -> Notation:
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
            if key == "activations":
                merged = dict(self.activations)
                merged.update(dict(value) if not isinstance(value, dict) else value)
                value = tuple(sorted(merged.items()))
            clean[key] = value
        return replace(self, **clean)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Notation:
        """From a TOML ``[notation]`` table."""
        if not isinstance(data, Mapping):
            raise NotationError("notation must be a table")
        data = dict(data)
        acts = data.pop("activations", {})
        if not isinstance(acts, Mapping):
            raise NotationError("notation.activations must be a table of name = symbol")
        return cls.defaults().merge(**data, activations=tuple(sorted(acts.items())))

    def activation_tex(self, name: str, default: str) -> str:
        return dict(self.activations).get(name, default)


__all__ = ["Notation", "NotationError", "field"]
