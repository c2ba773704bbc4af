"""Matrices written entry by entry (``\\begin{vmatrix} x_{11} & x_{12} \\\\ … \\end{vmatrix}``),
as tutorials of one convolution write its backward pass on a small example: the filter's
gradient as the input's patches weighted by ∂L/∂y_{ij}, the bias's as ∂L/∂Y * [1 1; 1 1].

Read where the sizes are the network's own and decide every entry: a network with one
convolution (one channel in and out, a batch of one, every size concrete), whose letters
are the ones such tutorials use for it, X * W + b = Y: x its input map, w (or k) its
kernel, y (or z) its output before the activation, b its bias; an entry x_{ij} counts from
1 unless a 0 is written (then from 0); ``*`` between two matrices is the network's
convolution, a cross-correlation ((A * B)_{ij} = Σ_{uv} A_{i+u,j+v} B_{uv}, as derive
writes X ⋆ δ); a number or one entry times a matrix scales it. Each side is evaluated on
the checker's random values, entry by entry, and compared with the derived gradient. Any
other matrix formula is refused with the message it had (write it in matrix form)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from derive.core import numeric
from derive.core.derivation import Derivation, derive
from derive.formula.answer import CheckResult
from derive.formula.ir import FormulaError
from derive.formula.networks import TRIALS, random_env
from derive.render.latex import latex
from derive.spec import Conv2d, Network

_ENV = re.compile(r"\\begin\s*\{\s*([pbvBV]?matrix)\s*\}(.*?)\\end\s*\{\s*\1\s*\}", re.S)
_SLOT = "\x00"

_TOKEN = re.compile(
    r"""\s+
    | (?P<mat>\x00(?P<mi>\d+)\x00)
    | (?P<partial>\\frac\s*\{\s*\\partial\s*(?P<loss>[LCJE])\s*\}\s*\{\s*\\partial\s*
        (?P<pl>[A-Za-z])\s*(?:_\s*(?P<pidx>\{[^{}]*\}|\d))?\s*\})
    | (?P<entry>(?P<el>[A-Za-z])\s*_\s*(?P<eidx>\{[^{}]*\}|\d))
    | (?P<num>\d+(?:\.\d+)?)
    | (?P<op>[-+*]|\\times|\\cdot|\\ast|\\star)
    """,
    re.X,
)

#: The letters of one convolution X * W + b = Y, and what each names.
LETTERS = {"x": "input", "w": "kernel", "k": "kernel", "y": "output", "z": "output", "b": "bias"}

NOTE = (
    "matrices read entry by entry: x, w, y, b as the convolution's input, kernel, output "
    "(before its activation) and bias, X * W + b = Y; * between two matrices as the "
    "network's convolution, a cross-correlation"
)


def has_matrix(text: str) -> bool:
    """Whether the formula writes a matrix entry by entry."""
    return _ENV.search(text) is not None


def refusal(text: str, why: str) -> FormulaError:
    """The matrix formula not read, and why (the message names the matrix form)."""
    env = _ENV.search(text)
    name = env.group(1) if env else "matrix"
    return FormulaError(
        f"a matrix written entry by entry (\\begin{{{name}}}) is not read ({why}): write the "
        "formula in matrix form (e.g. \\delta_2 = A_2 - Y), or one entry with its indices "
        "(\\delta_{2,j} = a_{2,j} - y_j)"
    )


@dataclass(frozen=True)
class Atom:
    """One name's entry (``x_{11}``) or a gradient's (``∂L/∂y_{11}``; ``∂L/∂b``: no index)."""

    letter: str
    index: tuple[int, ...]
    gradient: bool


def _index(raw: str | None) -> tuple[int, ...]:
    """``{11}``, ``{1,1}``, ``1``: the entry's indices (one digit each without commas)."""
    if raw is None:
        return ()
    body = raw.strip("{} ")
    parts = [p.strip() for p in body.split(",")] if "," in body else list(body.replace(" ", ""))
    if not parts or not all(p.isdigit() and len(p) <= 2 for p in parts) or len(parts) > 2:
        raise FormulaError(f"cannot read the entry index {raw!r}")
    return tuple(int(p) for p in parts)


def _tokens(side: str) -> list[Any]:
    """A side as a list of matrices (their slot), atoms, numbers and operators."""
    out: list[Any] = []
    at = 0
    while at < len(side):
        m = _TOKEN.match(side, at)
        if m is None or m.end() == at:
            raise FormulaError(f"cannot read {side[at : at + 12]!r}")
        at = m.end()
        if m.group("mat"):
            out.append(("mat", int(m.group("mi"))))
        elif m.group("partial"):
            out.append(Atom(m.group("pl").lower(), _index(m.group("pidx")), True))
        elif m.group("entry"):
            out.append(Atom(m.group("el").lower(), _index(m.group("eidx")), False))
        elif m.group("num"):
            out.append(float(m.group("num")))
        elif m.group("op"):
            out.append(m.group("op"))
    return out


class Reader:
    """The formula's sides evaluated on one network's values (``values`` of the letters)."""

    def __init__(self, cells: list[list[list[str]]], values: dict[tuple[str, bool], Any]):
        self.cells = cells
        self.values = values
        self.base = 1

    def atom(self, a: Atom) -> Any:
        """One entry's value in this trial (counted from ``base``)."""
        key = (a.letter, a.gradient)
        if key not in self.values:
            what = f"∂L/∂{a.letter}" if a.gradient else a.letter
            raise FormulaError(f"{what} is none of this convolution's values")
        array = np.asarray(self.values[key], dtype=float)
        if not a.index:
            if array.size != 1:
                raise FormulaError(f"{a.letter} needs its entry's indices, e.g. {a.letter}_{{11}}")
            return float(array.reshape(-1)[0])
        at = tuple(i - self.base for i in a.index)
        if len(at) != array.ndim or any(not 0 <= i < n for i, n in zip(at, array.shape)):
            raise FormulaError(f"{a.letter}{list(a.index)} is outside its {array.shape} entries")
        return float(array[at])

    def matrix(self, slot: int) -> Any:
        """A matrix written entry by entry, each entry a side of its own."""
        rows = self.cells[slot]
        if len({len(r) for r in rows}) != 1:
            raise FormulaError("the matrix's rows have different lengths")
        return np.array([[self.side(c) for c in row] for row in rows], dtype=float)

    def side(self, text: str) -> Any:
        """A sum of products: ``*`` between matrices correlates them, any other product
        between a number and a matrix scales it."""
        total: Any = None
        sign, value, op = 1.0, None, ""
        for tok in [*_tokens(text), "+"]:
            if tok in ("+", "-") and value is not None and op == "":
                total = sign * value if total is None else total + sign * value
                sign, value = (1.0 if tok == "+" else -1.0), None
                continue
            if tok in ("+", "-"):
                if value is not None or op:
                    raise FormulaError(f"unexpected '{tok}'")
                sign = sign * (1.0 if tok == "+" else -1.0)
                continue
            if isinstance(tok, str):
                if value is None or op:
                    raise FormulaError(f"unexpected '{tok}'")
                op = tok
                continue
            item = self.matrix(tok[1]) if isinstance(tok, tuple) else tok
            item = self.atom(item) if isinstance(item, Atom) else item
            value = item if value is None else _product(value, item, op)
            op = ""
        if total is None:
            raise FormulaError("a side is empty")
        return total


def _product(a: Any, b: Any, op: str) -> Any:
    both = np.ndim(a) == 2 and np.ndim(b) == 2
    if not both:
        return a * b
    if op not in ("*", "\\ast", "\\star"):
        raise FormulaError("a product of two matrices written entry by entry is not read")
    (h, w), (kh, kw) = a.shape, b.shape
    if kh > h or kw > w:
        raise FormulaError(f"the convolution's filter ({kh}×{kw}) is larger than its map")
    return np.array(
        [
            [float(np.sum(a[i : i + kh, j : j + kw] * b)) for j in range(w - kw + 1)]
            for i in range(h - kh + 1)
        ]
    )


def _split(text: str) -> tuple[list[str], list[list[list[str]]]]:
    """The sides (top-level ``=``), each matrix a slot, and the matrices' cells."""
    cells: list[list[list[str]]] = []

    def slot(m: re.Match[str]) -> str:
        rows = [r for r in re.split(r"\\\\", m.group(2)) if r.strip()]
        cells.append([r.split("&") for r in rows])
        return f"{_SLOT}{len(cells) - 1}{_SLOT}"

    flat = _ENV.sub(slot, text)
    flat = re.sub(r"\\left\s*\.|\\right\s*\.|&|\\\\|\\,|\\;|\\!|\\quad", " ", flat)
    flat = flat.strip().rstrip(".,;").strip()
    return flat.split("="), cells


def _values(d: Derivation, k: int, env: dict[Any, Any]) -> dict[tuple[str, bool], Any]:
    """The letters' arrays (one map each) in one trial: values and gradients."""
    by_name = {getattr(s, "name", str(s)): s for s in env}

    def first(name: str) -> Any:
        return np.asarray(env[by_name[name]], dtype=float)

    def grad(name: str) -> Any:
        return np.asarray(numeric.evaluate(d.gradients[name].rhs, env), dtype=float)

    source = "X" if k == 1 else f"A_{k - 1}"
    out = {
        ("input", False): first(source)[0, 0],
        ("kernel", False): first(f"K_{k}")[0, 0],
        ("output", False): first(f"Z_{k}")[0, 0],
        ("bias", False): first(f"b_{k}"),
        ("output", True): first(f"delta_{k}")[0, 0],
        ("kernel", True): grad(f"K_{k}")[0, 0],
        ("bias", True): grad(f"b_{k}"),
    }
    return {
        (letter, g): out[(role, g)]
        for letter, role in LETTERS.items()
        for g in (False, True)
        if (role, g) in out
    }


def _atoms(side: str, cells: list[list[list[str]]]) -> list[Atom]:
    """The entries a side names, in its matrices too."""
    tokens = _tokens(side)
    inner = [c for t in tokens if isinstance(t, tuple) for row in cells[t[1]] for c in row]
    return [t for t in tokens + [a for c in inner for a in _tokens(c)] if isinstance(t, Atom)]


def matrix_check(network: Network, text: str) -> CheckResult:
    """The verdict on a formula with matrices written entry by entry, or a refusal."""
    try:
        return _check(network, text)
    except FormulaError as err:
        raise refusal(text, str(err)) from None


def _check(network: Network, text: str) -> CheckResult:
    convs = [k for k, layer in enumerate(network.layers, 1) if isinstance(layer, Conv2d)]
    if len(convs) != 1:
        raise FormulaError("its letters name one convolution's values")
    k = convs[0]
    conv = network.layers[k - 1]
    if network.batch != 1 or getattr(conv, "channels", None) != 1:
        raise FormulaError("entries are read for one sample and one channel")
    sides, cells = _split(text)
    if len(sides) < 2:
        raise FormulaError("no '='")
    named = _atoms(sides[0], cells)
    letters = {(a.letter, a.gradient) for a in named}
    if len(letters) != 1 or not next(iter(letters))[1]:
        raise FormulaError("the left-hand side must be one gradient's entries, ∂L/∂w_{ij}")
    letter = next(iter(letters))[0]
    role = LETTERS.get(letter)
    if role not in ("kernel", "bias"):
        raise FormulaError(f"∂L/∂{letter} is not derived for this network")
    try:
        d = derive(network)
    except Exception as err:  # noqa: BLE001 - a network derive cannot take is no reading
        raise FormulaError(f"its network cannot be derived with concrete sizes ({err})") from None
    readers = []
    for trial in range(TRIALS):
        env = random_env(d, np.random.default_rng(2000 + trial))
        readers.append(Reader(cells, _values(d, k, env)))
    indices = [i for side in sides for a in _atoms(side, cells) for i in a.index]
    base = 0 if 0 in indices else 1
    differs: list[str] = []
    for reader in readers:
        reader.base = base
        left = np.atleast_2d(reader.side(sides[0]))
        for right_text in sides[1:]:
            right = np.atleast_2d(reader.side(right_text))
            if left.shape != right.shape:
                raise FormulaError(f"its sides are {left.shape} and {right.shape}")
            bad = np.argwhere(~np.isclose(left, right, rtol=1e-9, atol=1e-12))
            if len(bad):
                at = tuple(int(i) + base for i in bad[0])
                differs.append(f"entry {at} of a right-hand side differs from ∂L/∂{letter}'s")
    name = f"K_{k}" if role == "kernel" else f"b_{k}"
    step = d.gradients[name]
    expected = f"{latex(step.lhs)} = {latex(step.rhs)}"
    label = f"∂L/∂{name}"
    notes = [NOTE] + ([f"entries counted from {base}"] if base == 0 else [])
    if not differs:
        return CheckResult("correct", label, expected, "numeric (entry by entry)", notes=notes)
    return CheckResult(
        "incorrect", label, expected, "numeric (entry by entry)", differs[0], notes=notes
    )
