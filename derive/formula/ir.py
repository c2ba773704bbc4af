"""The formula IR: one frozen dataclass per kind of node, and the walks over it.

Both grammars' transformers (``latex_ir``, ``python_ir``) build the same IR, so the
resolver and the diagnosis are written once. Nothing here evaluates the user's text: it
only becomes these nodes, holding strings, numbers and other nodes::

    Sym(base, index, lower)      base: W b Z A X Y delta dW db dA K dK;
                                 index: None or a layer index (``layer_indices``)
    Num(Rational)  Scalar(name)  Ones(size)
    Bin("add"|"sub"|"mat"|"had"|"div", a, b)   Amb(a, b, sign)   Neg(a)
    Chain(ops, items)            unbracketed ⊙ next to products: ops is "m"/"h" per gap
    T(a)  Pow(a, n)  Fn(name, order, arg)
    Sum(a, axis)  Squeeze(Sum)   np.sum without keepdims
    Diag(a)  Gt0(a)  Cmp(a, op, c)  Where(cond, p, q)
    Conv("corr"|"conv", a, b, mode)  Mode(a, mode)  Entry(a, indices)
    ISum(letters, a)  Slice(a, items)  Helper(name, arrays, numbers)
    Reshape(a, like)  Partial(sym, loss)      a gradient written as ∂L/∂W

The walks over it are in ``ir_walk``; the numbers and layer indices the transformers
read, within bounds, in ``numbers``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, NoReturn, TypeAlias

from .layer_indices import Index


class FormulaError(ValueError):
    """A formula that cannot be checked: it does not parse, or names something unknown.

    ``column`` (1-based, in the user's own text) is set when the place is known, so a
    caller can point at it (the CLI's JSON output carries it).
    """

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.column = column


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
    #: The user's own spelling when the reader named it otherwise (``lr`` read as the
    #: learning rate ``eta``), for messages; not part of what the node means.
    written: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Ones(Node):
    """A ones vector, its length written (``\\mathbf{1}_m``), a size of an array
    (``np.ones((dZ.shape[1], 1))``: the array's own size, which must fit its neighbour), or
    taken from its neighbour."""

    TAG: ClassVar[str] = "ones"
    size: str | Dim | None = None


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
    #: ``Σ_{k≠i}``: (summed letter, the letter it skips) pairs
    unless: tuple[tuple[str, str], ...] = ()


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
