"""Mutated TOML specs for the spec fuzz test (and the fuzz script in benchmarks/).

The built-in examples and tests/specs/*.toml are parsed, then values are replaced by
random TOML values of every type, keys are deleted and unknown keys added. Plain
``random.Random`` drives it so hypothesis (``st.randoms()``) and a long script share it.
"""

from __future__ import annotations

import keyword
import math
import random
import re
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
BASE_FILES = sorted((ROOT / "derive" / "examples").glob("*.toml")) + sorted(
    (ROOT / "tests" / "specs").glob("*.toml")
)
BASES = [tomllib.loads(p.read_text("utf-8")) for p in BASE_FILES]

#: Names that collide with what the exported module, SymPy or Python use themselves.
CLASH_NAMES = [
    *keyword.kwlist,
    "print",
    "len",
    "range",
    "dict",
    "X",
    "Y",
    "W1",
    "W2",
    "b1",
    "b2",
    "Z1",
    "A1",
    "K1",
    "delta1",
    "dW1",
    "db2",
    "L",
    "m",
    "numpy",
    "torch",
    "jax",
    "math",
    "scipy",
    "sizes",
    "SHAPES",
    "intermediates",
    "_check_shapes",
    "I",
    "E",
    "S",
    "N",
    "O",
    "Q",
    "oo",
    "nan",
    "zoo",
    "lam",
    "lambda",
    "x",
]

#: Strings that broke the spec reader or the formula parser before.
HOSTILE_STRINGS = [
    "",
    " ",
    "n_1\n",
    "n_1\r\n",
    "a\x00b",
    '"""',
    'x"""; import os #',
    "\\input{/etc/hostname}",
    "\\write18{ls}",
    "\\end{document}",
    "{}}{",
    "~^$%&#_",
    "é",
    "Σ",
    "🙂",
    "x" * 300,
    "n_" + "1" * 200,
    "x*1e5000",
    "x*1e-999999",
    "x*" + "7" * 4400,
    "exp(" * 150 + "x" + ")" * 150,
    "x" + "+x" * 500,
    "-" * 500 + "x",
    "x" + "^x" * 150,
    "x/0",
    "log(0*x)",
    "max(x)",
    "sqrt(-1)*x",
    "1e308*x",
    "x**-1",
    "x^(1/3)",
    "(((x)))",
    "abs(x)/(1+abs(x))",
]


def random_string(rng: random.Random) -> str:
    """A string of some kind: a clash, a hostile one, random unicode, a huge one."""
    kind = rng.randrange(6)
    if kind == 0:
        return rng.choice(CLASH_NAMES)
    if kind == 1:
        return rng.choice(HOSTILE_STRINGS)
    if kind == 2:
        alphabet = "abcxyzXYZ_019 +-*/^()\\{}$%&#~\n\t\"'é∑🙂\u200b"
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(12)))
    if kind == 3:
        return rng.choice(["x", "n", "h", "a", "g"]) + rng.choice(["", "_1", "_h", "2", "_{l}"])
    if kind == 4:
        return rng.choice(["sigmoid", "tanh", "relu", "softmax", "custom", "symbolic", "elu"])
    return "z" * rng.choice([1000, 70_000])


def random_value(rng: random.Random, depth: int = 0) -> Any:
    """A random TOML value: string, int, float, bool, array or table."""
    kind = rng.randrange(9 if depth < 2 else 6)
    if kind <= 1:
        return random_string(rng)
    if kind == 2:
        return rng.choice([0, 1, 2, 3, -1, -(2**63), 2**63 - 1, 10**30, rng.randrange(-9, 99)])
    if kind == 3:
        return rng.choice([math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, 0.0, -0.5, 2.5])
    if kind == 4:
        return rng.choice([True, False])
    if kind == 5:
        return rng.choice([1, 0.5, "n_1", "relu", "a"])
    if kind in (6, 7):
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {random_key(rng): random_value(rng, depth + 1) for _ in range(rng.randrange(3))}


KNOWN_KEYS = [
    "name",
    "input",
    "batch",
    "convention",
    "delta",
    "width",
    "activation",
    "type",
    "channels",
    "kernel",
    "stride",
    "padding",
    "size",
    "slope",
    "alpha",
    "expr",
    "symbol",
    "reduction",
    "weight_decay",
    "index",
    "hadamard",
    "transpose",
    "delta_symbol",
    "delta-symbol",
    "activations",
    "activation-name",
    "output_form",
    "output-form",
    "notation",
    "loss",
    "layers",
]


def random_key(rng: random.Random) -> str:
    return rng.choice([*KNOWN_KEYS, "bogus", "x y", "é", ""])


def _containers(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every table and array inside ``data`` (itself included)."""
    out = [path]
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for k, v in items:
        if isinstance(v, (dict, list)):
            out += _containers(v, (*path, k))
    return out


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    for k in path:
        data = data[k]
    return data


def targeted(rng: random.Random, data: dict[str, Any]) -> None:
    """Put a hostile value where a spec expects a name, a number or a formula."""
    raw = data.get("layers")
    layers = [v for v in raw if isinstance(v, dict)] if isinstance(raw, list) else []
    layers = layers or [data]
    layer = rng.choice(layers)
    value = random_string(rng) if rng.random() < 0.7 else random_value(rng)
    where = rng.randrange(6)
    if where == 0:
        data[rng.choice(["name", "input", "batch"])] = value
    elif where == 1:
        layer["width"] = value
    elif where == 2:
        act = {"name": rng.choice(["custom", "leaky_relu", "elu", "symbolic"])}
        act[rng.choice(["expr", "slope", "alpha", "symbol"])] = value
        if act["name"] == "custom" and "expr" not in act:
            act["expr"] = rng.choice(HOSTILE_STRINGS)
        layer["activation"] = act
    elif where == 3:
        loss = data.setdefault("loss", {})
        if isinstance(loss, dict):
            loss["weight_decay"] = value
    elif where == 4:
        notation = data.setdefault("notation", {})
        if isinstance(notation, dict):
            key = rng.choice(["activations", "activation-name"])
            notation[key] = {rng.choice(["sigmoid", "relu", "tanh", "f", "bogus"]): value}
    else:
        notation = data.setdefault("notation", {})
        if isinstance(notation, dict):
            notation[rng.choice(KNOWN_KEYS[20:28])] = value


def mutate(rng: random.Random) -> dict[str, Any]:
    """One mutated spec (a fresh dict): 1 to 4 random edits of a random base spec."""
    import copy

    data: dict[str, Any] = copy.deepcopy(rng.choice(BASES))
    for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
        op = rng.random()
        if op < 0.55:
            targeted(rng, data)
            continue
        path = rng.choice(_containers(data))
        box = _at(data, path)
        if isinstance(box, dict):
            if op < 0.85 and box:
                box[rng.choice(list(box))] = random_value(rng)
            elif op < 0.93 and box:
                del box[rng.choice(list(box))]
            else:
                box[random_key(rng)] = random_value(rng)
        elif box:
            i = rng.randrange(len(box))
            if op < 0.9:
                box[i] = random_value(rng)
            else:
                del box[i]
    return data


# --------------------------------------------------------------------------- TOML writer

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _key(k: str) -> str:
    return k if _BARE.fullmatch(k) else _string(k)


def _string(s: str) -> str:
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _inline(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return (
            "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
        )
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, list):
        return "[" + ", ".join(_inline(x) for x in v) + "]"
    return "{" + ", ".join(f"{_key(k)} = {_inline(x)}" for k, x in v.items()) + "}"


def to_toml(data: dict[str, Any]) -> str:
    """TOML text of ``data``: scalars first, then ``[table]`` and ``[[array]]`` sections."""
    lines = [f"{_key(k)} = {_inline(v)}" for k, v in data.items() if not _section(v)]
    for k, v in data.items():
        if isinstance(v, dict) and _section(v):
            lines += ["", f"[{_key(k)}]"] + [f"{_key(a)} = {_inline(b)}" for a, b in v.items()]
        elif isinstance(v, list) and _section(v):
            for item in v:
                lines += ["", f"[[{_key(k)}]]"]
                lines += [f"{_key(a)} = {_inline(b)}" for a, b in item.items()]
    return "\n".join(lines) + "\n"


def _section(v: Any) -> bool:
    if isinstance(v, dict):
        return True
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)
