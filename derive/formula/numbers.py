"""What both transformers read the same way: numbers (exact, within bounds), layer
indices, powers, and the rules their grammars share."""

from __future__ import annotations

import re
from typing import Any

import sympy
from lark import Transformer, v_args

from derive.formula.ir import IR, Bin, FormulaError, Neg, Num, Pow
from derive.formula.layer_indices import Index, IntIndex, RelIndex

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
