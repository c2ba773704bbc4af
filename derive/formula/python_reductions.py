"""NumPy reductions -> IR: ``np.sum``, ``np.mean`` and ``np.squeeze`` as NumPy has them,
called as functions (``np.sum(dZ, axis=1, keepdims=True)``) or as methods (``dZ.sum(0)``,
an axis given by position as by keyword). Without keepdims NumPy drops the summed axis
(shape (n,), not (n, 1)); ``np.squeeze`` of a sum kept as a column drops it the same way
(Ng's ``db = np.squeeze(np.sum(dZ, axis=1, keepdims=True))``), so the checker can say so."""

from __future__ import annotations

from typing import Any

from derive.formula.ir import IR, Bin, Dim, FormulaError, Squeeze, Sum
from derive.formula.numbers import _number_value, integer_of
from derive.formula.python_nodes import Bool, TupleOf

#: The reductions read, by name (a function of np, or a method of an array).
REDUCTIONS = frozenset({"sum", "mean", "squeeze"})


def reduction(name: str, pos: list[Any], kw: dict[str, Any]) -> IR:
    """``name(x, axis, …)`` (or ``x.name(axis, …)``, ``x`` first in ``pos``): the sum,
    the mean or the squeezed sum, its axis given by position or by keyword."""
    x, rest = pos[0], pos[1:]
    kw = _keywords(name, kw)
    if name == "squeeze":
        if rest or kw:
            raise FormulaError(
                "np.squeeze with an axis is not read: write the sum without keepdims"
            )
        return _squeeze(x)
    if len(rest) > 1:
        raise FormulaError(f"np.{name}: only the array and its axis are read")
    if rest:
        if "axis" in kw:
            raise FormulaError(f"np.{name}: the axis is given twice")
        kw = {**kw, "axis": rest[0]}
    return _sum(x, kw) if name == "sum" else _mean(x, kw)


#: PyTorch's spellings of NumPy's keywords (``torch.sum(x, dim=0, keepdim=True)``).
_TORCH_KEYWORDS = {"dim": "axis", "keepdim": "keepdims"}
#: Keywords that do not change the value read (the number type of the result).
_IGNORED = frozenset({"dtype"})


def _keywords(name: str, kw: dict[str, Any]) -> dict[str, Any]:
    """The keywords in NumPy's spelling; one the checker does not read (``where=``,
    ``initial=``, ``out=``) is refused, never dropped: dropped, ``torch.sum(x, dim=0)``
    was a sum of every entry."""
    out: dict[str, Any] = {}
    for key, value in kw.items():
        if key in _IGNORED:
            continue
        word = _TORCH_KEYWORDS.get(key, key)
        if word not in ("axis", "keepdims"):
            raise FormulaError(f"{name}(…, {key}=…) is not read: only axis and keepdims are")
        if word in out:
            raise FormulaError(f"{name}: the {word} is given twice")
        out[word] = value
    return out


def _squeeze(x: Any) -> IR:
    """``np.squeeze(np.sum(dZ, axis=1, keepdims=True))``: the sum with its axis dropped
    again, as ``np.sum`` without keepdims has it. Only a sum over one axis is read (the
    shape of any other squeezed array is not what the checker models)."""
    if isinstance(x, Squeeze):  # already dropped: squeezing again changes nothing
        return x
    if isinstance(x, Sum) and isinstance(x.axis, int):
        return Squeeze(x)
    raise FormulaError(
        "np.squeeze is read only on a sum over one axis (np.squeeze(np.sum(x, axis=1, "
        "keepdims=True))); write the formula without it"
    )


def _sum(x: Any, kw: dict[str, Any]) -> IR:
    out = _summed(x, kw)
    keep = kw.get("keepdims", Bool(False))
    if not isinstance(keep, Bool):
        raise FormulaError("keepdims must be True or False")
    if out.axis != "channels" and not keep.value:
        return Squeeze(out)  # NumPy drops the summed axis: shape (n,), not (n, 1); or
        # every axis without one (np.sum(x): a number)
    return out


def _mean(x: Any, kw: dict[str, Any]) -> IR:
    """``np.mean(x, axis=k)``: the sum over that axis divided by its size (a mean over the
    samples is the sum over them over m). Without an axis, every entry: the sum of all
    over both sizes, a number as NumPy has it (one neuron's mean over its samples)."""
    if kw.get("axis") is None:
        if kw.get("keepdims") is not None:
            raise FormulaError("np.mean without axis= but with keepdims is not read")
        return Bin("div", Bin("div", _sum(x, kw), Dim(x, 0)), Dim(x, 1))
    summed = _sum(x, kw)
    axis = _summed(x, kw).axis
    if not isinstance(axis, int):
        raise FormulaError("np.mean over several axes is not read: write the sum and its divisor")
    return Bin("div", summed, Dim(x, axis))


def _summed(x: Any, kw: dict[str, Any]) -> Sum:
    axis = kw.get("axis")
    if axis is None:  # every entry added up: a number (1×1 with keepdims=True)
        return Sum(x, "all")
    if isinstance(axis, TupleOf):  # feature maps: axis=(0, 2, 3), one sum per channel
        axes = tuple(integer_of(_number_value(a, "an axis"), "an axis") for a in axis.items)
        if axes != (0, 2, 3):
            raise FormulaError(f"a sum over axes {axes}: the bias gradient sums axes (0, 2, 3)")
        return Sum(x, "channels")
    k = integer_of(_number_value(axis, "the axis"), "the axis")
    if k not in (0, 1, -1, -2):
        raise FormulaError(f"axis={k}: a matrix has axes 0 and 1 (or -2 and -1)")
    return Sum(x, k % 2)
