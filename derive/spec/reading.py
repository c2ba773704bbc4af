"""Reading a spec: TOML text or a file (with the file and line of every error), built-in examples.

Everything here turns user text into the records of ``derive.spec.records``; the records
check their own values, this module adds where in the file a bad value stands.
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from derive.spec.notation import Notation, NotationError
from derive.spec.records import (
    Activation,
    AnyLayer,
    Conv2d,
    Flatten,
    Layer,
    Loss,
    Network,
    Pool2d,
    SpecError,
    _check_width,
    _short,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


_TOP_KEYS = {"name", "input", "batch", "convention", "delta", "layers", "loss", "notation"}


#: A layer type of the TOML spec: its allowed keys and how its table becomes a record
#: (``read(raw, key, i)``; ``key`` is ``layers[i]`` for messages, ``i`` its number).
@dataclass(frozen=True)
class LayerType:
    """What ``type = "…"`` in a ``[[layers]]`` table means."""

    keys: frozenset[str]
    read: Callable[[Mapping[str, Any], str, int], AnyLayer]


def _dense(raw: Mapping[str, Any], key: str, i: int) -> AnyLayer:
    width = _check_width(raw.get("width", f"n_{i}"), f"{key}.width")
    return Layer(width, _activation_from(raw.get("activation", "sigmoid"), f"{key}.activation"))


def _conv2d(raw: Mapping[str, Any], key: str, i: int) -> AnyLayer:
    if "channels" not in raw:
        raise SpecError("a conv2d layer needs channels (its number of filters)", key="channels")
    return Conv2d(
        channels=raw["channels"],
        kernel=raw.get("kernel", 3),
        stride=raw.get("stride", 1),
        padding=raw.get("padding", "valid"),
        activation=_activation_from(raw.get("activation", "relu"), f"{key}.activation"),
    )


#: Every layer type the TOML spec knows; a new layer type adds its entry here.
LAYER_TYPES: dict[str, LayerType] = {
    "dense": LayerType(frozenset({"type", "width", "activation"}), _dense),
    "conv2d": LayerType(
        frozenset({"type", "channels", "kernel", "stride", "padding", "activation"}), _conv2d
    ),
    "maxpool2d": LayerType(
        frozenset({"type", "size", "stride"}),
        lambda raw, key, i: Pool2d(raw.get("size", 2), raw.get("stride"), "max"),
    ),
    "avgpool2d": LayerType(
        frozenset({"type", "size", "stride"}),
        lambda raw, key, i: Pool2d(raw.get("size", 2), raw.get("stride"), "avg"),
    ),
    "flatten": LayerType(frozenset({"type"}), lambda raw, key, i: Flatten()),
}
_ACT_KEYS = {"name", "expr", "symbol", "slope", "alpha"}
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


def _activation_from(value: object, key: str) -> Activation:
    if isinstance(value, str):
        return Activation(value)
    if isinstance(value, Mapping):
        unknown = set(value) - _ACT_KEYS
        if unknown:
            raise SpecError(
                f"unknown key(s) {', '.join(sorted(unknown))} in activation "
                f"(allowed: {', '.join(sorted(_ACT_KEYS))})",
                key=key,
            )
        if "name" not in value:
            raise SpecError("an activation table needs a name", key=key)
        params = tuple((k, value[k]) for k in ("slope", "alpha") if k in value)
        return Activation(
            name=value["name"],
            params=params,
            expr=value.get("expr"),
            symbol=value.get("symbol"),
        )
    raise SpecError(f"activation must be a name or a table, got {_short(value)}", key=key)


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


EXAMPLES = ("seed", "nielsen", "ng", "cs231n", "cnn", "resnet_mlp", "bn_mlp", "svm")


def example_text(name: str) -> str:
    """The TOML text of a built-in example."""
    folder = resources.files("derive").joinpath("examples")
    return folder.joinpath(f"{name}.toml").read_text("utf-8")


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


#: The largest spec file read (a spec is a few hundred bytes; this stops /dev/zero).
MAX_SPEC_BYTES = 1 << 20


def printable(text: str, limit: int = 200) -> str:
    """A file name fit for a one-line message: escapes, cut to ``limit`` characters."""
    shown = text.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
    shown = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in shown)
    return shown if len(shown) <= limit else shown[: limit - 10] + "…" + shown[-9:]


def _default_name(source: str) -> str:
    """The name of a spec that gives none: its file name, made printable and short."""
    if not source:
        return "network"
    return printable(Path(source).stem, 60) or "network"


def read_regular_file(path_text: str, what: str, limit: int = MAX_SPEC_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (``what``: "spec", "formula").

    A device, pipe or socket is refused before it is opened (``/dev/zero`` would never
    end, a FIFO would block), and at most ``limit + 1`` bytes are read.
    """
    import os
    import stat

    where = printable(path_text)
    try:
        info = os.stat(path_text)
    except FileNotFoundError:
        hint = ""
        if what == "spec":
            close = difflib.get_close_matches(path_text.lower(), EXAMPLES, n=1, cutoff=0.6)
            hint = f", and not a built-in example ({', '.join(EXAMPLES)})"
            hint += f"; did you mean {close[0]!r}?" if close else ""
        raise SpecError(f"no such {what} file{hint}", source=where) from None
    except (OSError, ValueError) as err:  # too long, NUL byte, unencodable, no permission
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise SpecError(f"cannot open the {what} file: {reason}", source=where) from None
    if stat.S_ISDIR(info.st_mode):
        raise SpecError(f"is a directory, not a {what} file", source=where)
    if not stat.S_ISREG(info.st_mode):
        raise SpecError("is not a regular file (a device, a pipe or a socket)", source=where)
    try:
        with open(path_text, "rb") as f:
            data = f.read(limit + 1)
    except OSError as err:
        raise SpecError(
            f"cannot read the {what} file: {err.strerror or err}", source=where
        ) from None
    if len(data) > limit:
        raise SpecError(f"the {what} file is larger than {limit // 1024} KiB", source=where)
    return data


def read_spec_file(path_text: str) -> str:
    """The text of a spec file: a regular UTF-8 file of at most MAX_SPEC_BYTES bytes."""
    where = printable(path_text)
    data = read_regular_file(path_text, "spec")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SpecError(
            f"cannot read the spec: not UTF-8 text (byte {err.start})", source=where
        ) from None
