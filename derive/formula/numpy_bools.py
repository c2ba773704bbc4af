"""Arithmetic NumPy refuses on boolean arrays: no verdict on a snippet that cannot run.

The program reader builds a comparison as its 0/1 values, so ``(err > 0) - (err < 0)``
reads as sign(err); but NumPy raises TypeError on it ("numpy boolean subtract, the ``-``
operator, is not supported"), and on ``-(err < 0)`` (boolean negative). ``~`` of a
number array is no logical not either: a TypeError for floats, the bitwise not for
integers (``~1 = -2``). A snippet NumPy refuses or misreads so is not judged CORRECT:
the check says what NumPy does, and where. ``(err > 0).astype(float) - (err < 0)``,
``(err > 0) * 1 - (err < 0)`` and ``~(err < 0)`` run and are judged as usual.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, Literal

from derive.formula.ir import FormulaError
from derive.formula.program_lines import logical_lines
from derive.spec import program_grammar as G

Kind = Literal["bool", "number"] | None  # None: not known from the snippet (an input)


def _kind(e: Any, names: dict[str, Kind]) -> Kind:
    """Whether NumPy holds ``e`` as booleans, as numbers, or the snippet does not say."""
    match e:
        case G.Compare():
            return "bool"
        case G.Num():
            return "number"
        case G.Name(id=name):
            return names.get(name)
        case G.Unary(op="~", x=x):
            return _kind(x, names)
        case G.Unary():
            return "number"
        case G.Bin(op=op, left=left, right=right):
            kinds = {_kind(left, names), _kind(right, names)}
            if kinds == {"bool"} and op in ("+", "*"):
                return "bool"  # logical or / and, as NumPy computes them
            return "number" if "number" in kinds else None
        case G.Call(fn="astype"):
            return None  # its dtype is not kept
        case G.Call(fn="where", args=(_, x, y)):
            kinds = {_kind(x, names), _kind(y, names)}
            return "number" if "number" in kinds else None
        case G.Call():
            return "number"
    return None


def _parts(e: Any) -> Iterator[Any]:
    """``e`` and every expression inside it."""
    yield e
    if dataclasses.is_dataclass(e):
        for f in dataclasses.fields(e):
            value = getattr(e, f.name)
            for v in value if isinstance(value, tuple) else (value,):
                if dataclasses.is_dataclass(v) and not isinstance(v, type):
                    yield from _parts(v)


SUBTRACT = (
    "NumPy refuses the difference of two boolean arrays (TypeError: numpy boolean "
    "subtract, the `-` operator, is not supported); write np.sign(…) or make one side "
    "numbers, e.g. (err > 0).astype(float) - (err < 0)"
)


def _refusal(e: Any, names: dict[str, Kind]) -> str | None:
    match e:
        case G.Bin(op="-", left=left, right=right) if (
            _kind(left, names) == _kind(right, names) == "bool"
        ):
            return SUBTRACT
        case G.Unary(op="-", x=x) if _kind(x, names) == "bool":
            return (
                "NumPy refuses the negative of a boolean array (TypeError: numpy boolean "
                "negative, the `-` operator, is not supported); write -1.0 * (…) or ~(…)"
            )
        case G.Unary(op="~", x=x) if _kind(x, names) == "number":
            return (
                "`~` of a number array is no logical not in NumPy (a TypeError for floats, "
                "the bitwise not for integers: ~1 = -2); write 1 - (…) or ~ of the "
                "comparison itself"
            )
    return None


def refuse_boolean_arithmetic(statements: list[Any]) -> None:
    """A FormulaError naming the line where NumPy would refuse (or bitwise-negate) the
    snippet's boolean arithmetic; names assigned a comparison are booleans after it."""
    names: dict[str, Kind] = {}
    for st in statements:
        expr = getattr(st, "expr", None)
        if expr is None:
            continue
        for part in _parts(expr):
            said = _refusal(part, names)
            if said is not None:
                where = f"line {st.line}: " if getattr(st, "line", 0) else ""
                raise FormulaError(f"{where}{said}")
        if (  # mask -= other_mask
            isinstance(st, G.Update)
            and st.op == "-"
            and names.get(st.target) == _kind(st.expr, names) == "bool"
        ):
            raise FormulaError(f"line {st.line}: {SUBTRACT}")
        if isinstance(st, G.Assign):
            names[st.target] = _kind(expr, names)
        elif isinstance(st, G.Unpack | G.Update | G.SetItem):
            for target in getattr(st, "targets", (getattr(st, "target", ""),)):
                names.pop(target, None)


def refuse_in_snippet(text: str) -> None:
    """``refuse_boolean_arithmetic`` on a dense network's NumPy snippet, whose reader
    (``python_ir``) drops ``.astype`` and so cannot tell ``(e > 0) - (e < 0)`` from the
    ``.astype(float)`` form NumPy runs. Only a snippet the program grammar reads line by
    line is looked at (a line it does not read could change what a name holds)."""
    try:
        lines = logical_lines(text)
    except FormulaError:
        return
    statements: list[Any] = []
    for number, line in lines:
        try:
            statements.append(G.parse_statement(line, number if len(lines) > 1 else 0))
        except G.EquationError:
            return
    refuse_boolean_arithmetic(statements)
