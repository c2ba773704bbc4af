"""Arrays real code makes instead of naming them: ``np.ones((m, 1))``.

A bias gradient is often written as a product with a ones vector (``np.dot(dZ,
np.ones((m, 1))) / m``, rust0258's CBOW ``np.dot(l1, np.ones((batch_size, 1)))``,
gy910210's ``np.dot(np.ones((1, N)), dZ)``): the ones vector 1_m of derive's bias rule.
``np.ones((r, c))`` is read as 1_r (c = 1), 1_cᵀ (r = 1), or 1_r 1_cᵀ; a size written
as ``A.shape[k]`` is A's size along k, which the product must fit. A 1-d
``np.ones(n)`` is refused: NumPy's 1-d arrays are neither rows nor columns, and the
result's shape is then not the matrix the formula names.
"""

from __future__ import annotations

from typing import Any

from derive.formula.ir import IR, Bin, Dim, FormulaError, Ones, Scalar, T
from derive.formula.ir import Num as NumNode
from derive.formula.ir_walk import nodes
from derive.formula.numbers import _number_value, integer_of
from derive.formula.python_nodes import TupleOf

#: Keywords of ``np.ones`` that leave its values as they are.
_PLAIN = frozenset({"dtype"})


#: A size of one (the row or column a ones vector is).
_ONE = "1"


def _size(item: Any) -> str | Dim:
    """A size: "1", a name or number (a width, the batch), or an array's ``A.shape[k]``
    (kept: the resolver takes A's size, which the product's neighbour must fit; taken
    from the neighbour instead, ``np.ones((dZ1.shape[0], 1))`` was read as dZ1's other
    size and a product NumPy refuses judged CORRECT)."""
    if isinstance(item, NumNode):
        return str(integer_of(_number_value(item, "a size"), "a size"))
    if isinstance(item, Scalar):
        return item.name
    if isinstance(item, Dim):
        return item
    raise FormulaError("np.ones: the shape's sizes are names, numbers or A.shape[k]")


def ones(pos: list[Any], kw: dict[str, Any]) -> IR:
    """``np.ones(shape)`` as a product of ones vectors (see the module's docstring)."""
    shape = pos[0] if pos else kw.get("shape")
    if len(pos) > 1 or any(k not in _PLAIN | {"shape"} for k in kw):
        raise FormulaError("np.ones: only a shape (and a dtype) is read")
    if not isinstance(shape, TupleOf):
        raise FormulaError(
            "np.ones(n) makes a 1-d array, neither a row nor a column: write its shape as "
            "a matrix's, np.ones((n, 1)) or np.ones((1, n))"
        )
    if len(shape.items) != 2:
        raise FormulaError("np.ones: a matrix's shape has two sizes")
    rows, cols = (_size(item) for item in shape.items)
    if rows == _ONE and cols == _ONE:
        raise FormulaError("np.ones((1, 1)) is the number 1: write 1")
    if cols == _ONE:
        return Ones(rows)  # a column
    if rows == _ONE:
        return T(Ones(cols))  # a row
    return Bin("mat", Ones(rows), T(Ones(cols)))


def _orientation(node: Any) -> str | None:
    """ "col" or "row" for a ones vector as NumPy has it (``Ones`` a column, each ``T``
    flips it), None for anything else."""
    flips = 0
    while isinstance(node, T):
        node, flips = node.a, flips + 1
    if not isinstance(node, Ones):
        return None
    return "col" if flips % 2 == 0 else "row"


def check_ones(node: Any) -> None:
    """NumPy's orientation of each ones vector, which the resolver (made for LaTeX's
    ``\\mathbf{1}``) does not keep: on the right of a product a column, on its left a
    row, and 1 1ᵀ an outer product; a ones vector anywhere else is refused (its shape
    would not be checked as NumPy has it)."""
    placed: set[int] = set()
    for _, n in nodes(node):
        if not (isinstance(n, Bin) and n.op == "mat"):
            continue
        a, b = _orientation(n.a), _orientation(n.b)
        want = ("col", "row") if a and b else ("row", b) if a else (a, "col")
        for side, got, need in ((n.a, a, want[0]), (n.b, b, want[1])):
            if got is None:
                continue
            if got != need:
                raise FormulaError(
                    f"np.ones: a {'row' if got == 'row' else 'column'} where the product "
                    f"needs a {'row' if need == 'row' else 'column'} (NumPy's shapes: "
                    "np.ones((m, 1)) is a column, np.ones((1, m)) a row)"
                )
            placed.update(id(x) for _, x in nodes(side))
    for _, n in nodes(node):
        if isinstance(n, Ones) and id(n) not in placed:
            raise FormulaError(
                "np.ones: read only as a factor of a matrix product (np.dot(dZ, np.ones((m, "
                "1)))); elsewhere its shape would not be checked as NumPy has it"
            )
