"""A built forward program (``ProgramGraph``), the shapes of its values, and its errors.

``size_symbol`` and ``matrix_shape`` turn declared shapes into SymPy sizes; the bounds of
number literals and the helpers both halves of the builder share (``from_end``,
``flat_add``, the mask test) live here too.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import sympy
from sympy.core.sorting import default_sort_key
from sympy.matrices.expressions import MatAdd, MatMul, MatrixExpr, OneMatrix, ZeroMatrix
from sympy.matrices.expressions.matadd import factor_of, matrix_of, merge_explicit
from sympy.strategies import condition, do_one, exhaust, flatten, glom, rm_id, sort, unpack

from derive.core import nodes as N
from derive.core.graph import LOSS, Equation, Kind
from derive.spec.records import SpecError

Shape = tuple[Any, ...]


class ProgramError(SpecError):
    """A program whose equations cannot be built (shapes that do not fit)."""


class ProgramReadError(ProgramError):
    """A construct the builder does not read (``x.shape`` whole outside ``ones``): not a
    shape mismatch, so a checked snippet that uses it is unread, never judged wrong."""


def size_symbol(size: int | str) -> sympy.Expr:
    """A size of a declared shape: an Integer, or a positive integer Symbol."""
    if isinstance(size, int):
        return sympy.Integer(size)
    if "*" in size:  # "4*H", read by derive.spec.program_records.size_value
        factor, name = size.split("*", 1)
        return int(factor) * sympy.Symbol(name, integer=True, positive=True)
    return sympy.Symbol(size, integer=True, positive=True)


def matrix_shape(shape: tuple[int | str, ...]) -> tuple[sympy.Expr, sympy.Expr]:
    """A declared shape as rows × columns: a 1-d shape ``[n]`` is a column vector."""
    sizes = [size_symbol(s) for s in shape]
    if len(sizes) == 1:
        return sizes[0], sympy.Integer(1)
    return sizes[0], sizes[1]


def cotangent_name(name: str) -> str:
    """``Xhat`` -> ``dXhat``: the staged backward pass's name of ∂L/∂Xhat."""
    return f"d{name}"


def is_scalar(e: Any) -> bool:
    """A scalar value (a hyperparameter, a number, a norm, a full reduction)."""
    return not isinstance(e, MatrixExpr)


def shape_of(e: Any) -> Shape:
    """The shape of a value; ``()`` for a scalar."""
    return () if is_scalar(e) else tuple(e.shape)


def shape_text(shape: Shape) -> str:
    """``(N, D)`` -> ``N×D``; a scalar is ``a scalar``."""
    return "×".join(str(s) for s in shape) if shape else "a scalar"


@dataclass
class ProgramGraph:
    """The built program: every name's symbol, the equations, and what is differentiated.

    ``wrt`` are the values that get a gradient (the inputs and the parameters, not the
    labels, not the upstream gradient); ``seed`` starts the walk: ``{L: 1}`` for a loss,
    ``{out: dout}`` for a layer's backward pass.
    """

    spec: Any
    values: dict[str, Any]
    equations: list[Equation]
    inputs: list[Any]
    labels: list[Any]
    parameters: list[Any]
    hyper: dict[str, sympy.Symbol]
    output: Any
    upstream: Any | None
    loss: Any | None
    sizes: dict[str, sympy.Expr] = field(default_factory=dict)
    #: Values named by derive, not by the user (``u1`` in an expression): a closed form
    #: is written without them.
    auto: dict[Any, Any] = field(default_factory=dict)
    #: Further outputs with their given gradients (an LSTM step's ``next_c`` and
    #: ``dnext_c`` next to ``next_h`` and ``dnext_h``).
    more_upstream: dict[Any, Any] = field(default_factory=dict)

    @property
    def wrt(self) -> list[Any]:
        """What gets a gradient: a layer's backward pass passes one to its inputs too
        (``dX``); a loss is differentiated by the parameters only (not by the data)."""
        if self.loss is not None:
            return list(self.parameters)
        fixed = getattr(self.spec, "fixed", ())  # an opaque sub-layer's random weight
        return [s for s in [*self.inputs, *self.parameters] if s.name not in fixed]

    @property
    def seed(self) -> dict[Any, Any]:
        """The walk's starting cotangent."""
        if self.loss is not None:
            return {LOSS: sympy.Integer(1)}
        return {self.output: self.upstream, **self.more_upstream}

    @property
    def forward_equations(self) -> list[Equation]:
        """Every assignment (not the loss)."""
        return [eq for eq in self.equations if eq.kind is not Kind.LOSS]


#: The largest exponent of a number by a number (10**10**10 would never finish).
MAX_EXPONENT = 100


#: The largest size written as a number in ones((rows, cols)) / zeros((rows, cols)).
MAX_LITERAL_SIZE = 4096


def _short_number(x: Any) -> str:
    text = str(x)
    return text if len(text) <= 20 else text[:17] + "…"


#: The calls that make a matrix of one number shaped like another.
FILLS = ("ones_like", "zeros_like", "ones", "zeros")


def from_end(bound: Any, width: Any, axis: int) -> Any:
    """A negative slice bound (``-H``, ``-2``) read as NumPy reads it, from the end:
    ``width + bound``; None when ``bound`` is not known to be negative."""
    if not (isinstance(bound, sympy.Expr) and bound.is_negative and _is_size(-bound)):
        return None
    end = sympy.expand(width + bound)
    if end.is_negative:
        what = "columns" if axis == 1 else "rows"
        raise N.ShapeMismatch(
            f"the slice bound {bound} counts back past the first of the {width} {what} "
            "(a negative bound is read from the end, as NumPy does)"
        )
    return end


def _is_size(d: Any) -> bool:
    """A size symbol (or an expression of them: sizes are positive integer symbols), or a
    whole number in 1..MAX_LITERAL_SIZE."""
    if not is_scalar(d) or not isinstance(d, sympy.Expr):
        return False
    if d.is_Number:
        return bool(d.is_Integer and 1 <= int(d) <= MAX_LITERAL_SIZE)
    return bool(d.free_symbols) and all(s.is_integer and s.is_positive for s in d.free_symbols)


@functools.lru_cache(maxsize=4096)
def _times(count: Any, mat: Any) -> Any:
    """SymPy's ``c * M`` of a canonical sum's like terms (a deep ``doit`` of ``M``), made
    once per term: the same terms come back at every ``+`` of a long expression."""
    return mat if count == 1 else count * mat


#: SymPy's canonical form of a ``MatAdd`` (``sympy.matrices.expressions.matadd``), rule
#: for rule, with its ``combine`` (``c * M``) made once per term (``_times``).
_canonical_sum = exhaust(
    condition(
        lambda x: isinstance(x, MatAdd),
        do_one(
            rm_id(lambda x: x == 0 or isinstance(x, ZeroMatrix)),
            unpack,
            flatten,
            glom(matrix_of, factor_of, _times),
            merge_explicit,
            sort(default_sort_key),
        ),
    )
)


def _is_mask(x: Any, named: set[Any] | frozenset[Any] = frozenset()) -> bool:
    """Whether ``x`` is built from comparisons alone (their sums, differences, ones, and
    the ``named`` masks of earlier equations)."""
    if isinstance(x, N.Indicator | OneMatrix) or x in named:
        return True
    if isinstance(x, MatAdd):
        return all(_is_mask(t, named) for t in x.args)
    if isinstance(x, MatMul) and len(x.args) == 2 and x.args[0] == -1:
        return _is_mask(x.args[1], named)
    return False


def mask_names(graph: ProgramGraph) -> set[Any]:
    """The program's equations whose value is a 0/1 mask, in order (a mask of masks too)."""
    out: set[Any] = set()
    for eq in graph.equations:
        if not is_scalar(eq.rhs) and _is_mask(eq.rhs, out):
            out.add(eq.out)
    return out


def flat_add(terms: list[Any]) -> Any:
    """``nodes.add`` (SymPy's canonical ``MatAdd``), the same form made faster.

    SymPy's canonical sum multiplies each term's coefficient back into its matrix with
    ``c * M``, which re-evaluates all of ``M`` (``doit`` all the way down) at every ``+``:
    a snippet that adds to a long expression line after line took seconds. The same
    rules in the same order, with ``c * M`` made once per term.
    """
    if len(terms) == 1 or N.is_tensor(terms[0]):
        return N.add(terms)
    return _canonical_sum(MatAdd(*terms))
