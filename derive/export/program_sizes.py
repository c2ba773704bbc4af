"""The size statements of an exported program: every width bound from an array's shape.

A width that some array has as a whole axis (``prev_h`` is N x H) is read off that axis.
A width that appears only inside a computed size (an LSTM's gate stack ``Wx`` is D x 4H
and no array is H wide) is solved for from the first axis that holds it alone and
linearly (``H = Wx.shape[1] // 4``, refusing an axis not divisible by 4): without it the
module would use ``H`` unbound and raise NameError (issue 15). Every computed size is then
checked against its array (``_check_shapes`` binds plain widths only): a ``Wx`` of the
wrong width would otherwise be sliced short and broadcast silently.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import sympy

from derive.export.printers import ExportError, code_name


def _py(e: Any) -> str:
    """A size expression as Python over the module's width names (ints)."""
    names = {s: sympy.Symbol(code_name(s.name)) for s in e.free_symbols}
    return str(sympy.pycode(e.xreplace(names)))


def _integer_poly(e: Any) -> bool:
    """A polynomial with integer coefficients: Python ints in, the same int out."""
    syms = sorted(e.free_symbols, key=str)
    if not syms:
        return bool(e.is_Integer)
    try:
        poly = sympy.Poly(e, *syms)
    except sympy.PolynomialError:
        return False
    return all(c.is_Integer for c in poly.coeffs())


def _solve(dim: Any, unknown: Any, axis_code: str) -> list[str] | None:
    """``unknown`` from ``axis_code == dim`` when dim = a·unknown + rest (a a positive
    integer, rest an integer polynomial of widths already bound); else None."""
    try:
        poly = sympy.Poly(sympy.expand(dim), unknown)
    except sympy.PolynomialError:
        return None
    if poly.degree() != 1:
        return None
    a, rest = poly.all_coeffs()
    if not (a.is_Integer and a > 0) or unknown in rest.free_symbols or not _integer_poly(rest):
        return None
    name = code_name(unknown.name)
    offset = "" if rest == 0 else f" - ({_py(rest)})"
    if a == 1:
        return [f"    {name} = {axis_code}{offset}"]
    return [
        f"    {name}, _rest = divmod({axis_code}{offset}, {a})",
        "    if _rest:",
        f'        raise ValueError(f"{axis_code} = {{{axis_code}}} is not {_py(dim)}'
        f' for any whole {name}")',
    ]


def _axes(arrays: Sequence[Any]) -> list[tuple[str, int, Any]]:
    return [
        (code_name(s.name), axis, dim)
        for s in arrays
        for axis, dim in enumerate(getattr(s, "shape", ()))
        if isinstance(dim, sympy.Basic)
    ]


def size_statements(arrays: Sequence[Any], code: str, checked: Sequence[Any] = ()) -> list[str]:
    """The statements binding each width ``code`` reads or a computed size needs, then a
    check of every computed size, and of every width solved for, against its array's axis
    (``checked``: arrays that bind nothing but are checked too, e.g. the upstream
    gradients that ``forward`` does not take)."""
    used = set(re.findall(r"[A-Za-z_]\w*", code))
    axes = _axes(arrays)
    every = [*axes, *_axes(checked)]
    computed = [(a, i, d) for a, i, d in every if not d.is_Symbol and not d.is_Integer]
    wanted = {s for _, _, d in computed for s in d.free_symbols}
    lines: list[str] = []
    bound: set[Any] = set()
    solved_at: set[tuple[str, int]] = set()
    for arr, axis, dim in axes:  # a whole axis: read off (as the modules always did)
        if dim.is_Symbol and dim not in bound:
            bound.add(dim)
            if code_name(dim.name) in used or dim in wanted:
                lines.append(f"    {code_name(dim.name)} = {arr}.shape[{axis}]")
    missing = wanted - bound
    progress = True
    while missing and progress:
        progress = False
        for arr, axis, dim in computed:
            free = dim.free_symbols - bound
            if len(free) != 1:
                continue
            (unknown,) = free
            found = _solve(dim, unknown, f"{arr}.shape[{axis}]")
            if found is not None:
                lines += found
                bound.add(unknown)
                missing.discard(unknown)
                solved_at.add((arr, axis))
                progress = True
    unread = {s for s in missing if code_name(s.name) in used}
    if unread:
        names = ", ".join(sorted(code_name(s.name) for s in unread))
        raise ExportError(
            f"cannot tell the width {names} from the arrays' shapes; declare an input or "
            f"parameter with {names} as a whole axis"
        )
    read_off = {d for _, _, d in axes if d.is_Symbol}  # _check_shapes compared these
    solved = [(a, i, d) for a, i, d in every if d.is_Symbol and d not in read_off]
    for arr, axis, dim in computed + solved:
        if (arr, axis) in solved_at or dim.free_symbols - bound or not _integer_poly(dim):
            continue
        lines += [
            f"    if {arr}.shape[{axis}] != {_py(dim)}:",
            f'        raise ValueError(f"{arr}.shape[{axis}] = {{{arr}.shape[{axis}]}}, '
            f'expected {_py(dim)} = {{{_py(dim)}}}")',
        ]
    return lines
