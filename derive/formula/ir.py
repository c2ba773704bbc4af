"""The formula IR, the numbers and indices it holds, and the walks over it.

Both grammars' transformers (``latex_ir``, ``python_ir``) build the same IR, so the
resolver and the diagnosis are written once. Nothing here evaluates the user's text: it
only becomes tuples of strings and numbers, the first item of each the node's kind::

    ("sym", base, idx, lower)    base: W b Z A X Y delta dW db dA K dK; idx: None,
                                 ("int", k) or ("rel", "l"|"L", offset)
    ("num", Rational)            ("scalar", name)       ("ones",) ("ones", size)
    ("add"|"sub"|"mat"|"had"|"amb"|"div", a, b)        ("neg", a)
    ("chain", ops, a, b, …)      unbracketed ⊙ next to products: ops is "m"/"h" per gap
    ("T", a)   ("pow", a, n)     ("fn", name, order, arg)
    ("sum", a, axis)             ("squeeze", ("sum", …))  np.sum without keepdims
    ("diag", a)  ("gt0", a)      ("cmp", a, op, c)      ("where", cond, p, q)
    ("corr"|"conv", a, b, mode)  ("mode", a, mode)      ("entry", a, indices)
    ("isum", letters, a)         ("slice", a, items)    ("helper", name, arrays, ints)
    ("reshape", a, like)         ("quantity", sym, loss) a left side written as ∂L/∂W
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import sympy
from lark import Transformer, v_args

IR = tuple[Any, ...]


class FormulaError(ValueError):
    """A formula that cannot be checked: it does not parse, or names something unknown.

    ``column`` (1-based, in the user's own text) is set when the place is known, so a
    caller can point at it (the CLI's JSON output carries it).
    """

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.column = column


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


def _has_entries(node: Any) -> bool:
    if not isinstance(node, tuple) or not node or not isinstance(node[0], str):
        return False
    return node[0] == "entry" or any(_has_entries(c) for c in node[1:])


def _index(text: str) -> IR:
    t = text.replace(" ", "")
    if re.fullmatch(r"[0-9]+", t):
        return ("int", _small_int(t, "a layer index"))
    m = re.fullmatch(r"([lL])([+-][0-9]+)?", t)
    if m:
        return ("rel", m.group(1), _small_int(m.group(2) or "0", "a layer offset"))
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
    return ("pow", base, n)


def _number_value(node: IR, what: str) -> sympy.Rational:
    """The value of a written number, ``-1`` included."""
    if node[0] == "neg" and node[1][0] == "num":
        return -node[1][1]  # type: ignore[no-any-return]
    if node[0] == "num":
        return node[1]  # type: ignore[no-any-return]
    raise FormulaError(f"{what} must be a number")


@v_args(inline=True)
class _CommonIR(Transformer):  # type: ignore[type-arg]
    """The rules both grammars share."""

    def chain(self, *parts: IR) -> list[IR]:
        return list(parts)

    def add(self, a: IR, b: IR) -> IR:
        return ("add", a, b)

    def sub(self, a: IR, b: IR) -> IR:
        return ("sub", a, b)

    def neg(self, a: IR) -> IR:
        return ("neg", a)


has_entries = _has_entries


def default_layers(node: IR) -> IR:
    """Index forms in notes often drop the layer: k, b, δ, z are layer l's, a its input's."""
    if not isinstance(node, tuple) or not node or not isinstance(node[0], str):
        return node
    if node[0] == "sym" and node[2] is None and node[1] in ("K", "b", "delta", "Z", "A"):
        return ("sym", node[1], ("rel", "l", -1 if node[1] == "A" else 0), node[3])
    return tuple(default_layers(c) if isinstance(c, tuple) else c for c in node)


def shift_layers(node: IR, by: int, bases: frozenset[str]) -> IR:
    """Every numbered symbol of ``bases`` ``S_k`` as ``S_(k+by)`` (another numbering)."""
    if not isinstance(node, tuple) or not node or not isinstance(node[0], str):
        return node
    if node[0] == "sym" and node[1] in bases and node[2] is not None and node[2][0] == "int":
        return ("sym", node[1], ("int", node[2][1] + by), node[3])
    return tuple(shift_layers(c, by, bases) if isinstance(c, tuple) else c for c in node)


def mentions(node: IR, base: str) -> bool:
    """Whether the formula uses a symbol with this base name."""
    return any(n[0] == "sym" and n[1] == base for _, n in nodes(node))


def nodes(node: IR, path: tuple[int, ...] = ()) -> Iterator[tuple[tuple[int, ...], IR]]:
    """Every node of the IR with its path, parents before children."""
    yield path, node
    for i, child in enumerate(node):
        if isinstance(child, tuple) and child and isinstance(child[0], str) and i > 0:
            yield from nodes(child, (*path, i))


def at(node: IR, path: tuple[int, ...]) -> IR:
    """The node at ``path``."""
    for i in path:
        node = node[i]
    return node


def inside(node: IR, path: tuple[int, ...], fn: str) -> bool:
    """Whether the node at ``path`` sits inside a call of ``fn``."""
    return any(
        at(node, path[:i])[0] == "fn" and at(node, path[:i])[1] == fn for i in range(len(path))
    )


def replace(node: IR, path: tuple[int, ...], new: IR) -> IR:
    """The IR with the node at ``path`` replaced by ``new`` (a new tuple)."""
    if not path:
        return new
    i = path[0]
    return (*node[:i], replace(node[i], path[1:], new), *node[i + 1 :])


def show(node: IR, python: bool = False) -> str:
    """A node as a reader writes it (``dZ2`` in NumPy formulas, ``δ_2`` in LaTeX)."""
    kind = node[0]
    if kind == "sym":
        base = str({"delta": "dZ" if python else "δ"}.get(node[1], node[1]))
        idx = node[2]
        if idx is None:
            return base
        k = str(idx[1]) if idx[0] == "int" else idx[1] + (f"{idx[2]:+d}" if idx[2] else "")
        if python:
            return f"{base}{k}"
        return f"{base}_{{{k}}}" if len(k) > 1 else f"{base}_{k}"
    if kind == "T":
        return show(node[1], python) + "ᵀ"
    if kind == "fn":
        name = {"generic": "f", "sigmoid": "σ"}.get(node[1], node[1])
        return f"{name}{chr(39) * node[2]}({show(node[3], python)})"
    if kind == "mat":
        if node[1][0] in ("div", "num", "scalar"):
            return f"({show(node[1], python)}) {show(node[2], python)}"
        return f"({show(node[1], python)} {show(node[2], python)})"
    if kind == "had":
        return f"({show(node[1], python)} ⊙ {show(node[2], python)})"
    if kind == "num":
        return str(node[1])
    if kind == "scalar":
        return str(node[1])
    if kind == "div":
        return f"{show(node[1], python)}/{show(node[2], python)}"
    if kind == "sum":
        return f"Σ {show(node[1], python)}"
    if kind in ("add", "sub"):
        return f"({show(node[1], python)} {'+' if kind == 'add' else '−'} {show(node[2], python)})"
    if kind == "pow":
        return f"{show(node[1], python)}^{node[2]}"
    if kind == "neg":
        return f"−{show(node[1], python)}"
    if kind in ("corr", "conv"):
        return f"({show(node[1], python)} {'⋆' if kind == 'corr' else '*'} {show(node[2], python)})"
    if kind == "amb":
        return f"({show(node[1], python)} {node[3]} {show(node[2], python)})"
    if kind == "chain":
        signs = [" " if op == "m" else " ⊙ " for op in node[1]]
        return (
            "(" + "".join(show(o, python) + sign for o, sign in zip(node[2:], [*signs, ""])) + ")"
        )
    if kind == "mode":
        return f"{show(node[1], python)}_{node[2]}"
    return "(…)"
