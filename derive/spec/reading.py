"""Reading a spec: TOML text or a file (with the file and line of every error), built-in examples.

Everything here turns user text into the records of ``derive.spec.records``; the records
check their own values, this module adds where in the file a bad value stands. The layer
types a ``[[layers]]`` table may name live in ``layer_types``, the bounded reading of a
user's file and the built-in examples in ``files`` (both re-exported here).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from derive.spec.files import (
    EXAMPLES,
    MAX_SPEC_BYTES,
    example_text,
    printable,
    read_regular_file,
    read_spec_file,
)
from derive.spec.layer_types import LAYER_TYPES, LayerType, _activation_from
from derive.spec.notation import Notation, NotationError
from derive.spec.records import Loss, Network, SpecError, _short

__all__ = [
    "EXAMPLES",
    "LAYER_TYPES",
    "MAX_SPEC_BYTES",
    "LayerType",
    "_activation_from",
    "example_text",
    "from_dict",
    "load",
    "loads",
    "printable",
    "read_regular_file",
    "read_spec_file",
]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


_TOP_KEYS = {"name", "input", "batch", "convention", "delta", "layers", "loss", "notation"}
_LOSS_KEYS = {"name", "reduction", "weight_decay", "delta", "margin"}


class _Locator:
    """Finds the line of a key in TOML text (tomllib gives no positions for values)."""

    def __init__(self, text: str):
        self.lines = text.splitlines()

    def find(self, key: str, layer: int | None = None, table: str | None = None) -> int | None:
        start = 0
        if layer is not None:
            count = 0
            for i, line in enumerate(self.lines):
                if line.strip().startswith("[[layers]]"):
                    count += 1
                    if count == layer:
                        start = i
                        break
            else:
                return None
        elif table is not None:
            for i, line in enumerate(self.lines):
                if line.strip() == f"[{table}]":
                    start = i
                    break
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for i in range(start, len(self.lines)):
            if i > start and layer is not None and self.lines[i].strip().startswith("["):
                break
            if pattern.match(self.lines[i]):
                return i + 1
        return start + 1 if (layer is not None or table is not None) else None


def from_dict(data: Mapping[str, Any], *, source: str = "", text: str = "") -> Network:
    """Build a Network from parsed TOML (or any mapping of the same shape)."""
    loc = _Locator(text)

    def fail(err: SpecError, line: int | None) -> SpecError:
        return SpecError(err.problem, key=err.key, source=source, line=line)

    unknown = set(data) - _TOP_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise SpecError(
            f"unknown key {_short(key)} (allowed: {', '.join(sorted(_TOP_KEYS))})",
            key=key,
            source=source,
            line=loc.find(key),
        )
    raw_layers = data.get("layers", [])
    if not isinstance(raw_layers, list):
        raise SpecError(
            "layers must be an array of tables ([[layers]])",
            key="layers",
            source=source,
            line=loc.find("layers"),
        )
    layers = []
    for i, raw in enumerate(raw_layers, start=1):
        key = f"layers[{i}]"
        if not isinstance(raw, Mapping):
            raise SpecError("each layer must be a table", key=key, source=source)
        kind = raw.get("type", "dense")
        if not isinstance(kind, str) or kind not in LAYER_TYPES:
            raise SpecError(
                f"unknown layer type {_short(kind)}; known: {', '.join(LAYER_TYPES)}",
                key=f"{key}.type",
                source=source,
                line=loc.find("type", layer=i),
            )
        allowed = LAYER_TYPES[kind].keys
        unknown = set(raw) - allowed
        if unknown:
            bad = sorted(unknown)[0]
            raise SpecError(
                f"unknown key {_short(bad)} for a {kind} layer "
                f"(allowed: {', '.join(sorted(allowed))})",
                key=f"{key}.{bad}",
                source=source,
                line=loc.find(bad, layer=i),
            )
        try:
            layers.append(LAYER_TYPES[kind].read(raw, key, i))
        except SpecError as err:
            sub = err.key.split(".")[-1] if err.key else "activation"
            k = err.key if err.key.startswith(key) else f"{key}.{err.key}"
            raise SpecError(
                err.problem,
                key=k,
                source=source,
                line=loc.find(sub if sub in allowed else "activation", layer=i),
            ) from None
    raw_loss = data.get("loss", {})
    try:
        if isinstance(raw_loss, str):
            loss = Loss(raw_loss)
        elif isinstance(raw_loss, Mapping):
            unknown = set(raw_loss) - _LOSS_KEYS
            if unknown:
                bad = sorted(unknown)[0]
                raise SpecError(
                    f"unknown key {_short(bad)} (allowed: {', '.join(sorted(_LOSS_KEYS))})",
                    key=f"loss.{bad}",
                )
            loss = Loss(
                name=raw_loss.get("name", "squared_error"),
                reduction=raw_loss.get("reduction"),
                weight_decay=raw_loss.get("weight_decay"),
                delta=raw_loss.get("delta"),
                margin=raw_loss.get("margin"),
            )
        else:
            raise SpecError("loss must be a name or a table", key="loss")
    except SpecError as err:
        sub = err.key.split(".")[-1]
        line = loc.find(sub, table="loss") if isinstance(raw_loss, Mapping) else loc.find("loss")
        raise fail(err, line) from None
    try:
        notation = Notation.from_dict(data.get("notation", {}))
    except NotationError as err:
        key = err.key or "notation"
        sub = key.split(".")[1] if "." in key else "notation"
        line = loc.find(sub, table="notation") or loc.find("notation")
        if key.startswith("notation.symbols."):
            line = _symbol_line(loc, key)
        raise SpecError(err.problem, key=key, source=source, line=line) from None
    try:
        return Network(
            notation=notation,
            input_width=data.get("input", "n_0"),
            layers=tuple(layers),
            loss=loss,
            batch=data.get("batch", "m"),
            convention=data.get("convention", "column"),
            delta=data.get("delta", "per_sample"),
            name=data.get("name", _default_name(source)),
        )
    except SpecError as err:
        top = err.key.split(".")[0].split("[")[0]
        line = loc.find({"input": "input"}.get(top, top))
        if err.key.startswith("layers["):
            idx = int(err.key[len("layers[") :].split("]")[0])
            sub = err.key.split(".")[-1] if "." in err.key else "type"
            raw = raw_layers[idx - 1] if idx <= len(raw_layers) else {}
            if sub == "stride" and "stride" not in raw:  # a pool's stride defaults to its size
                sub = "size" if "size" in raw else "type"
            line = loc.find(sub, layer=idx)
        elif err.key.startswith("loss"):
            line = loc.find("name", table="loss") or loc.find("loss")
        elif err.key.startswith("notation.symbols."):
            line = _symbol_line(loc, err.key)
        elif err.key.startswith("notation."):
            line = loc.find(err.key.split(".")[1], table="notation")
        raise fail(err, line) from None


def _symbol_line(loc: _Locator, key: str) -> int | None:
    """The line of ``name = …`` under ``[notation.symbols]`` (else of ``symbols`` in
    ``[notation]``, an inline table)."""
    name = key.split(".", 2)[2]
    if any(line.strip() == "[notation.symbols]" for line in loc.lines):
        return loc.find(name, table="notation.symbols")
    return loc.find("symbols", table="notation") or loc.find("notation")


def loads(text: str, source: str = "<string>") -> Network:
    """Parse a TOML spec from a string."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        msg = str(err)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        line = int(m.group(1)) if m else None
        problem = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg)
        col = f", column {m.group(2)}" if m else ""
        raise SpecError(f"TOML syntax error{col}: {problem}", source=source, line=line) from None
    except ValueError as err:  # an integer of more than 4300 digits
        raise SpecError(
            f"TOML value out of range: {_short(str(err), 120)}", source=source
        ) from None
    except RecursionError:
        raise SpecError("TOML arrays or tables nested too deeply", source=source) from None
    return from_dict(data, source=source, text=text)


def load(spec: str | Path | Network) -> Network:
    """A Network from a built-in example name, a TOML file path, or a Network."""
    if isinstance(spec, Network):
        return spec
    text_spec = str(spec)
    if text_spec == "":
        raise SpecError(
            f"the spec is empty: give a TOML file or a built-in example ({', '.join(EXAMPLES)})"
        )
    if text_spec in EXAMPLES:
        return loads(example_text(text_spec), source=f"<example {text_spec}>")
    return loads(read_spec_file(text_spec), source=printable(text_spec))


def _default_name(source: str) -> str:
    """The name of a spec that gives none: its file name, made printable and short."""
    if not source:
        return "network"
    return printable(Path(source).stem, 60) or "network"
