"""The formula IR: one frozen dataclass per kind of node, and the walks over it.

Both grammars' transformers (``latex_ir``, ``python_ir``) build the same IR, so the
resolver and the diagnosis are written once. Nothing here evaluates the user's text: it
only becomes these nodes, holding strings, numbers and other nodes::

    Sym(base, index, lower)      base: W b Z A X Y delta dW db dA K dK;
                                 index: None, IntIndex(k) or RelIndex("l"|"L", offset)
    Num(Rational)  Scalar(name)  Ones(size)
    Bin("add"|"sub"|"mat"|"had"|"div", a, b)   Amb(a, b, sign)   Neg(a)
    Chain(ops, items)            unbracketed ⊙ next to products: ops is "m"/"h" per gap
    T(a)  Pow(a, n)  Fn(name, order, arg)
    Sum(a, axis)  Squeeze(Sum)   np.sum without keepdims
    Diag(a)  Gt0(a)  Cmp(a, op, c)  Where(cond, p, q)
    Conv("corr"|"conv", a, b, mode)  Mode(a, mode)  Entry(a, indices)
    ISum(letters, a)  Slice(a, items)  Helper(name, arrays, numbers)
    Reshape(a, like)  Partial(sym, loss)      a gradient written as ∂L/∂W

The walks (``nodes``, ``replace``, ``map_children``) go through a node's children in the
order they are written (``Chain``'s items; never into ``Helper``'s arguments, which the
resolver reads by themselves).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, NoReturn, TypeAlias

import sympy
from lark import Transformer, v_args


class FormulaError(ValueError):
    """A formula that cannot be checked: it does not parse, or names something unknown.

    ``column`` (1-based, in the user's own text) is set when the place is known, so a
    caller can point at it (the CLI's JSON output carries it).
    """

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.column = column


# --------------------------------------------------------------------------- layer indices


@dataclass(frozen=True, slots=True)
class IntIndex:
    """A layer number: ``W_2``."""

    k: int


@dataclass(frozen=True, slots=True)
class RelIndex:
    """A layer relative to the generic ``l`` or the last layer ``L``: ``δ_{l+1}``."""

    letter: str  # "l" | "L"
    offset: int


Index: TypeAlias = IntIndex | RelIndex


def index_text(idx: Index) -> str:
    """``2``, ``l``, ``l+1``, ``L-1``: an index as written."""
    if isinstance(idx, IntIndex):
        return str(idx.k)
    return idx.letter + (f"{idx.offset:+d}" if idx.offset else "")


def shifted(idx: Index, by: int) -> Index:
    """The index ``by`` layers further."""
    if isinstance(idx, IntIndex):
        return IntIndex(idx.k + by)
    return RelIndex(idx.letter, idx.offset + by)


# --------------------------------------------------------------------------- nodes


class Node:
    """What every node of the IR is (also the transformers' own half-read nodes)."""

    __slots__ = ()
    TAG: ClassVar[str] = ""

    def tag(self) -> str:
        """The node's kind in words of the old notation (``"mat"``), for messages."""
        return self.TAG


#: An entry index as written: terms (sign, letter or number), e.g. i+u -> ((1,'i'),(1,'u')).
EntryIndices: TypeAlias = tuple[tuple[tuple[int, str | int], ...], ...]


@dataclass(frozen=True, slots=True)
class Sym(Node):
    """A symbol of the network with its layer (``W_2``, ``δ_l``); ``lower``: written lower-case."""

    TAG: ClassVar[str] = "sym"
    base: str
    index: Index | None
    lower: bool = False


@dataclass(frozen=True, slots=True)
class Num(Node):
    """A written number."""

    TAG: ClassVar[str] = "num"
    value: Any  # a sympy.Rational


@dataclass(frozen=True, slots=True)
class Scalar(Node):
    """A named number: the batch m, λ, α, a width."""

    TAG: ClassVar[str] = "scalar"
    name: str


@dataclass(frozen=True, slots=True)
class Ones(Node):
    """A ones vector, its length written (``\\mathbf{1}_m``) or taken from its neighbour."""

    TAG: ClassVar[str] = "ones"
    size: str | None = None


BinOp: TypeAlias = Literal["add", "sub", "mat", "had", "div"]


@dataclass(frozen=True, slots=True)
class Bin(Node):
    """``a + b``, ``a − b``, a matrix product, ``a ⊙ b``, ``a / b``.

    ``bare``: a product written without brackets (``A B``), next to which a ⊙ may bind
    either way; it is no part of the node's value (equality ignores it)."""

    TAG: ClassVar[str] = "bin"
    op: BinOp
    a: IR
    b: IR
    bare: bool = field(default=False, compare=False)

    def tag(self) -> str:
        """The operator."""
        return self.op


@dataclass(frozen=True, slots=True)
class Amb(Node):
    """``a · b``, ``a × b``, ``a * b``: a product whose kind the shapes decide."""

    TAG: ClassVar[str] = "amb"
    a: IR
    b: IR
    sign: str


@dataclass(frozen=True, slots=True)
class Neg(Node):
    """``−a``."""

    TAG: ClassVar[str] = "neg"
    a: IR


@dataclass(frozen=True, slots=True)
class Chain(Node):
    """``X ⊙ A B``: unbracketed ⊙ and products; ``ops`` has "m" or "h" per gap."""

    TAG: ClassVar[str] = "chain"
    ops: str
    items: tuple[IR, ...]
    bare: bool = field(default=False, compare=False)


@dataclass(frozen=True, slots=True)
class T(Node):
    """A transpose."""

    TAG: ClassVar[str] = "T"
    a: IR


@dataclass(frozen=True, slots=True)
class Pow(Node):
    """``a^n`` (entry by entry for a matrix)."""

    TAG: ClassVar[str] = "pow"
    a: IR
    n: Any  # a sympy.Rational


@dataclass(frozen=True, slots=True)
class Fn(Node):
    """An activation (``generic`` is the layer's own f) or a CNN function, ``order`` primes."""

    TAG: ClassVar[str] = "fn"
    name: str
    order: int
    arg: IR


#: The axis of a sum: None (over the samples), 0, 1, or "channels" (axes 0, 2, 3).
Axis: TypeAlias = int | str | None


@dataclass(frozen=True, slots=True)
class Sum(Node):
    """A sum over samples, an axis, or every axis but the channels."""

    TAG: ClassVar[str] = "sum"
    a: IR
    axis: Axis


@dataclass(frozen=True, slots=True)
class Squeeze(Node):
    """``np.sum`` without keepdims: the summed axis dropped."""

    TAG: ClassVar[str] = "squeeze"
    a: Sum


@dataclass(frozen=True, slots=True)
class Diag(Node):
    """``diag(v)``."""

    TAG: ClassVar[str] = "diag"
    a: IR


@dataclass(frozen=True, slots=True)
class Gt0(Node):
    """``(a > 0)``: ReLU's mask."""

    TAG: ClassVar[str] = "gt0"
    a: IR


@dataclass(frozen=True, slots=True)
class Cmp(Node):
    """``a op c`` for a number c: a 0/1 mask."""

    TAG: ClassVar[str] = "cmp"
    a: IR
    op: str
    c: Any  # a number


@dataclass(frozen=True, slots=True)
class Where(Node):
    """p where the condition holds, else q."""

    TAG: ClassVar[str] = "where"
    cond: Gt0 | Cmp
    p: IR
    q: IR


@dataclass(frozen=True, slots=True)
class Conv(Node):
    """A sliding product: correlation or convolution, in a mode (None: as the notes)."""

    TAG: ClassVar[str] = "conv"
    op: Literal["corr", "conv"]
    a: IR
    b: IR
    mode: str | None

    def tag(self) -> str:
        """corr or conv."""
        return self.op


@dataclass(frozen=True, slots=True)
class Mode(Node):
    """``(…)_{full}``: the mode of the sliding products inside."""

    TAG: ClassVar[str] = "mode"
    a: IR
    mode: str


@dataclass(frozen=True, slots=True)
class Entry(Node):
    """An entry of a symbol (``δ_{ij}``, ``a_{i+u,j+v}``)."""

    TAG: ClassVar[str] = "entry"
    a: IR
    indices: EntryIndices


@dataclass(frozen=True, slots=True)
class ISum(Node):
    """A sum over entry indices (``Σ_{i,j} …``)."""

    TAG: ClassVar[str] = "isum"
    letters: tuple[str, ...]
    a: IR


@dataclass(frozen=True, slots=True)
class Slice(Node):
    """``(δ)_{n,:,i,j}``: read only under a sum."""

    TAG: ClassVar[str] = "slice"
    a: IR
    items: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Dim(Node):
    """``A0.shape[2]``: a size of a symbol."""

    TAG: ClassVar[str] = "dim"
    a: IR
    axis: int


@dataclass(frozen=True, slots=True)
class Helper(Node):
    """A call of an exported module's feature-map helper: its arrays and sizes."""

    TAG: ClassVar[str] = "helper"
    name: str
    arrays: tuple[IR, ...]
    numbers: tuple[int | Dim, ...]


@dataclass(frozen=True, slots=True)
class Reshape(Node):
    """``G.reshape(A.shape)``."""

    TAG: ClassVar[str] = "reshape"
    a: IR
    like: IR


@dataclass(frozen=True, slots=True)
class Partial(Node):
    """A gradient written as such (``∂L/∂W_2``, ``∇_a C``): the symbol and the loss's name."""

    TAG: ClassVar[str] = "quantity"
    sym: IR
    loss: str


IR: TypeAlias = (
    Sym
    | Num
    | Scalar
    | Ones
    | Bin
    | Amb
    | Neg
    | Chain
    | T
    | Pow
    | Fn
    | Sum
    | Squeeze
    | Diag
    | Gt0
    | Cmp
    | Where
    | Conv
    | Mode
    | Entry
    | ISum
    | Slice
    | Dim
    | Helper
    | Reshape
    | Partial
)


def unreachable(node: NoReturn) -> NoReturn:
    """The end of an exhaustive ``match`` over the IR: mypy proves it is never reached."""
    raise AssertionError(f"unexpected node {node!r}")


# --------------------------------------------------------------------------- walks


def children(node: Node) -> tuple[Any, ...]:
    """A node's children, in the order they are written."""
    if isinstance(node, Chain):
        return node.items
    if isinstance(node, Helper):
        return ()
    return tuple(
        v
        for v in (getattr(node, f.name) for f in dataclasses.fields(node))  # type: ignore[arg-type]
        if isinstance(v, Node)
    )


def map_children(node: Any, fn: Callable[[Any], Any]) -> Any:
    """The node with ``fn`` applied to each child (the same node if none changes)."""
    if isinstance(node, Chain):
        items = tuple(fn(c) for c in node.items)
        return node if items == node.items else dataclasses.replace(node, items=items)
    if isinstance(node, Helper) or not isinstance(node, Node):
        return node
    changes = {}
    for f in dataclasses.fields(node):  # type: ignore[arg-type]
        v = getattr(node, f.name)
        if isinstance(v, Node):
            new = fn(v)
            if new is not v:
                changes[f.name] = new
    return dataclasses.replace(node, **changes) if changes else node  # type: ignore[type-var]


def with_child(node: Any, i: int, new: Any) -> Any:
    """The node with its ``i``-th child replaced."""
    if isinstance(node, Chain):
        return dataclasses.replace(node, items=(*node.items[:i], new, *node.items[i + 1 :]))
    names = [f.name for f in dataclasses.fields(node) if isinstance(getattr(node, f.name), Node)]
    return dataclasses.replace(node, **{names[i]: new})


def nodes(node: Any, path: tuple[int, ...] = ()) -> Iterator[tuple[tuple[int, ...], Any]]:
    """Every node of the IR with its path, parents before children."""
    yield path, node
    for i, child in enumerate(children(node)):
        yield from nodes(child, (*path, i))


def at(node: Any, path: tuple[int, ...]) -> Any:
    """The node at ``path``."""
    for i in path:
        node = children(node)[i]
    return node


def inside(node: IR, path: tuple[int, ...], fn: str) -> bool:
    """Whether the node at ``path`` sits inside a call of ``fn``."""
    return any(isinstance(up := at(node, path[:i]), Fn) and up.name == fn for i in range(len(path)))


def replace(node: Any, path: tuple[int, ...], new: Any) -> Any:
    """The IR with the node at ``path`` replaced by ``new`` (a new node)."""
    if not path:
        return new
    i = path[0]
    return with_child(node, i, replace(children(node)[i], path[1:], new))


def has_entries(node: Any) -> bool:
    """Whether the formula is an index form (an entry ``δ_{ij}`` anywhere in it)."""
    return any(isinstance(n, Entry) for _, n in nodes(node))


_has_entries = has_entries


def mentions(node: IR, base: str) -> bool:
    """Whether the formula uses a symbol with this base name."""
    return any(isinstance(n, Sym) and n.base == base for _, n in nodes(node))


def default_layers(node: Any) -> Any:
    """Index forms in notes often drop the layer: k, b, δ, z are layer l's, a its input's."""
    if isinstance(node, Sym) and node.index is None and node.base in ("K", "b", "delta", "Z", "A"):
        return Sym(node.base, RelIndex("l", -1 if node.base == "A" else 0), node.lower)
    return map_children(node, default_layers)


def shift_layers(node: Any, by: int, bases: frozenset[str]) -> Any:
    """Every numbered symbol of ``bases`` ``S_k`` as ``S_(k+by)`` (another numbering)."""
    if isinstance(node, Sym) and node.base in bases and isinstance(node.index, IntIndex):
        return Sym(node.base, IntIndex(node.index.k + by), node.lower)
    return map_children(node, lambda c: shift_layers(c, by, bases))


# --------------------------------------------------------------------------- numbers


#: Bounds on what a formula may ask for: a check must stay fast whatever the input.
MAX_DIGITS = 30  # significant digits of a number


MAX_EXPONENT = 30  # |e| in 1e30 and a number's size in decimal places


MAX_DEPTH = 40  # operations nested inside one another


MAX_NODES = 200  # operations and operands in one formula


MAX_POWER = 64  # |n| in X^n


MAX_ORDER = 4  # derivatives f', f'', …


def parse_number(text: str) -> sympy.Rational:
    """The exact value of a written number (``12``, ``0.5``, ``1e-3``), within bounds.

    Built from its digits, never by SymPy reading the string: ``1e999999`` is refused,
    not computed.
    """
    m = re.fullmatch(r"([0-9]*)(?:\.([0-9]*))?(?:[eE]([-+]?)([0-9]+))?", text)
    if not m or not (m.group(1) or m.group(2)):
        raise FormulaError(f"cannot read the number {text[:20]!r}")
    whole, frac = m.group(1) or "", m.group(2) or ""
    shown = text if len(text) <= 20 else text[:17] + "…"
    if len((whole + frac).lstrip("0")) > MAX_DIGITS or len(frac) > MAX_EXPONENT:
        raise FormulaError(f"the number {shown} has more than {MAX_DIGITS} digits")
    exp_digits = (m.group(4) or "0").lstrip("0") or "0"
    if len(exp_digits) > 3 or int(exp_digits) > MAX_EXPONENT:
        raise FormulaError(
            f"the number {shown} is out of range (exponents from -{MAX_EXPONENT} to "
            f"{MAX_EXPONENT} are accepted)"
        )
    exponent = (-1 if m.group(3) == "-" else 1) * int(exp_digits) - len(frac)
    mantissa = int(whole + frac or "0")
    if exponent >= 0:
        return sympy.Integer(mantissa * 10**exponent)
    return sympy.Rational(mantissa, 10**-exponent)


def integer_of(value: Any, what: str) -> int:
    """An integer the formula writes (a power, an axis): ``2.9`` is not silently 2."""
    if not isinstance(value, sympy.Rational) or not value.is_Integer:
        shown = f"{float(value):g}" if isinstance(value, sympy.Rational) else str(value)
        raise FormulaError(f"{what} must be a whole number, not {shown}")
    return int(value)


def _index(text: str) -> Index:
    t = text.replace(" ", "")
    if re.fullmatch(r"[0-9]+", t):
        return IntIndex(_small_int(t, "a layer index"))
    m = re.fullmatch(r"([lL])([+-][0-9]+)?", t)
    if m:
        return RelIndex(m.group(1), _small_int(m.group(2) or "0", "a layer offset"))
    raise FormulaError(
        f"index {text!r}: use a layer number, l, l+1, l-1 or L (entry indices such as i, j "
        "are not supported; write the formula in matrix form)"
    )


def _small_int(text: str, what: str) -> int:
    """A written index: digits, at most six of them (no layer 10^2000)."""
    digits = text.lstrip("+-").lstrip("0")
    if len(digits) > 6:
        raise FormulaError(f"{what} {text[:12]}… is too large")
    return int(text)


def power(base: IR, exponent: Any) -> IR:
    """``base^n``: a real power (``2.9`` stays 2.9), with a bounded exponent."""
    n = sympy.Rational(exponent)
    if abs(n) > MAX_POWER:
        raise FormulaError(f"the power {n} is too large (powers up to {MAX_POWER} are accepted)")
    return Pow(base, n)


def _number_value(node: Any, what: str) -> sympy.Rational:
    """The value of a written number, ``-1`` included."""
    if isinstance(node, Neg) and isinstance(node.a, Num):
        return -node.a.value
    if isinstance(node, Num):
        return node.value
    raise FormulaError(f"{what} must be a number")


@v_args(inline=True)
class _CommonIR(Transformer):  # type: ignore[type-arg]
    """The rules both grammars share."""

    def chain(self, *parts: IR) -> list[IR]:
        return list(parts)

    def add(self, a: IR, b: IR) -> IR:
        return Bin("add", a, b)

    def sub(self, a: IR, b: IR) -> IR:
        return Bin("sub", a, b)

    def neg(self, a: IR) -> IR:
        return Neg(a)


# --------------------------------------------------------------------------- as written


def show(node: IR, python: bool = False) -> str:
    """A node as a reader writes it (``dZ2`` in NumPy formulas, ``δ_2`` in LaTeX)."""
    match node:
        case Sym(base, idx, _):
            name = str({"delta": "dZ" if python else "δ"}.get(base, base))
            if idx is None:
                return name
            k = index_text(idx)
            if python:
                return f"{name}{k}"
            return f"{name}_{{{k}}}" if len(k) > 1 else f"{name}_{k}"
        case T(a):
            return show(a, python) + "ᵀ"
        case Fn(name, order, arg):
            shown = {"generic": "f", "sigmoid": "σ"}.get(name, name)
            return f"{shown}{chr(39) * order}({show(arg, python)})"
        case Bin("mat", a, b):
            if isinstance(a, (Num, Scalar)) or (isinstance(a, Bin) and a.op == "div"):
                return f"({show(a, python)}) {show(b, python)}"
            return f"({show(a, python)} {show(b, python)})"
        case Bin("had", a, b):
            return f"({show(a, python)} ⊙ {show(b, python)})"
        case Num(value):
            return str(value)
        case Scalar(name):
            return str(name)
        case Bin("div", a, b):
            return f"{show(a, python)}/{show(b, python)}"
        case Sum(a, _):
            return f"Σ {show(a, python)}"
        case Bin(op, a, b):
            return f"({show(a, python)} {'+' if op == 'add' else '−'} {show(b, python)})"
        case Pow(a, n):
            return f"{show(a, python)}^{n}"
        case Neg(a):
            return f"−{show(a, python)}"
        case Conv(op, a, b, _):
            return f"({show(a, python)} {'⋆' if op == 'corr' else '*'} {show(b, python)})"
        case Amb(a, b, sign):
            return f"({show(a, python)} {sign} {show(b, python)})"
        case Chain(ops, items):
            signs = [" " if op == "m" else " ⊙ " for op in ops]
            return "(" + "".join(show(o, python) + s for o, s in zip(items, [*signs, ""])) + ")"
        case Mode(a, mode):
            return f"{show(a, python)}_{mode}"
    return "(…)"
