"""The half-read pieces of NumPy code: what the NumPy transformer hands upwards while
it reads (a name the snippet assigns, a list not yet indexed, a method not yet called).

None is left in a finished formula: ``finished`` and ``leftover`` say so in words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, TypeAlias

from derive.formula.ir import IR, FormulaError, Node
from derive.formula.ir_walk import nodes


class UnknownName(FormulaError):
    """A name the NumPy reader has no reading for; ``name`` lets the checker try the
    common readings of its spelling (``guesses``)."""

    def __init__(self, message: str, name: str, column: int | None = None) -> None:
        super().__init__(message, column)
        self.name = name


@dataclass(frozen=True, slots=True)
class Local(Node):
    """A name the snippet itself assigns, until the statements are read in order."""

    TAG: ClassVar[str] = "local"
    name: str


@dataclass(frozen=True, slots=True)
class ListRef(Node):
    """A per-layer list (``zs``, ``self.weights``), to be indexed."""

    TAG: ClassVar[str] = "list"
    name: str


@dataclass(frozen=True, slots=True)
class DictRef(Node):
    """A dictionary whose keys name its entries (``params``)."""

    TAG: ClassVar[str] = "dict"
    name: str


@dataclass(frozen=True, slots=True)
class Obj(Node):
    """``self``."""

    TAG: ClassVar[str] = "obj"
    name: str


@dataclass(frozen=True, slots=True)
class Module(Node):
    """``np``, ``scipy.signal``."""

    TAG: ClassVar[str] = "module"
    name: str


@dataclass(frozen=True, slots=True)
class Func(Node):
    """A function, until it is called."""

    TAG: ClassVar[str] = "func"
    name: str


@dataclass(frozen=True, slots=True)
class Method(Node):
    """``obj.name``: an attribute or a method, until it is called."""

    TAG: ClassVar[str] = "method"
    obj: Any
    name: str


@dataclass(frozen=True, slots=True)
class ShapeOf(Node):
    """``A.shape``."""

    TAG: ClassVar[str] = "shape_of"
    a: Any


@dataclass(frozen=True, slots=True)
class Colon(Node):
    """``:`` in a subscript."""

    TAG: ClassVar[str] = "colon"


@dataclass(frozen=True, slots=True)
class RangeCall(Node):
    """``range(…)``, ``np.arange(…)``."""

    TAG: ClassVar[str] = "range"


@dataclass(frozen=True, slots=True)
class Kw(Node):
    """``axis=0`` in a call."""

    TAG: ClassVar[str] = "kw"
    name: str
    value: Any


@dataclass(frozen=True, slots=True)
class Str(Node):
    """A string literal."""

    TAG: ClassVar[str] = "str"
    value: str


@dataclass(frozen=True, slots=True)
class TupleOf(Node):
    """``(a, b)``: shapes, axes."""

    TAG: ClassVar[str] = "tuple"
    items: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Bool(Node):
    """``True``, ``False``."""

    TAG: ClassVar[str] = "bool"
    value: bool


@dataclass(frozen=True, slots=True)
class MaskIdx(Node):
    """``x[mask]``: only ``x[mask] = 0`` (or a value) is read."""

    TAG: ClassVar[str] = "maskidx"
    obj: Any
    cond: Any


@dataclass(frozen=True, slots=True)
class OneHot(Node):
    """``x[range(N), y]``: the labels' entries, on rows or columns."""

    TAG: ClassVar[str] = "onehot"
    obj: Any
    axis: str


@dataclass(frozen=True, slots=True)
class Eye(Node):
    """``np.eye(K)`` (``torch.eye``, ``np.identity``): read only as indexed by the labels,
    ``np.eye(K)[y]``, the one-hot labels with the samples on rows."""

    TAG: ClassVar[str] = "eye"
    size: Any


@dataclass(frozen=True, slots=True)
class Aug:
    """``target op= value``."""

    target: Any
    op: str
    value: Any


@dataclass(frozen=True, slots=True)
class Loop:
    """``for l in …:``."""

    var: str


#: What the transformer hands upwards: the IR and the half-read pieces above.
PyNode: TypeAlias = (
    IR
    | Local
    | ListRef
    | DictRef
    | Obj
    | Module
    | Func
    | Method
    | ShapeOf
    | Colon
    | RangeCall
    | Kw
    | Str
    | TupleOf
    | Bool
    | MaskIdx
    | OneHot
    | Eye
)

#: Kinds of half-read pieces (a list not indexed, a bare range, …), in words.
_UNFINISHED = {
    "obj": "an object",
    "list": "a per-layer list (index it: zs[-1])",
    "dict": "a dictionary (index it: params['W1'])",
    "range": "range(…) outside an index",
    "onehot": "x[range(N), y] (only x[range(N), y] -= 1 is read)",
    "maskidx": "x[mask] (only x[mask] = 0 is read)",
    "eye": "np.eye(K) (read only as the one-hot labels np.eye(K)[y])",
    "colon": "a slice",
    "func": "a function that is not called",
    "module": "a module",
    "local": "a name",
    "method": "an attribute",
}


def finished(node: PyNode) -> None:
    """A FormulaError if a half-read piece is left in the formula."""
    for _, n in nodes(node):
        if isinstance(n, Method) and isinstance(n.obj, Obj):  # self.who: a name of its own
            raise UnknownName(f"unknown name 'self.{n.name}'", n.name)
        if n.tag() in _UNFINISHED:
            name = f" {n.name!r}" if isinstance(n, (Local, Func)) else ""
            raise FormulaError(f"cannot use {_UNFINISHED[n.tag()]}{name} in a formula here")


def leftover(node: PyNode) -> IR:
    """The formula as IR; a value that is no part of a formula (a string, a keyword, a
    tuple) cannot be used in one."""
    for _, n in nodes(node):
        if isinstance(n, (Kw, Str, TupleOf, Bool, ShapeOf)):
            raise FormulaError(f"cannot use {n.tag()!r} here")
    return node  # type: ignore[return-value]
