"""δ multiplied by its own layer's derivative: no verdict while the two readings of δ
disagree.

δ_l is ∂L/∂z_l in the network's notation (Nielsen, Ng), and ``δ_2 ⊙ σ'(z_2)`` then has
an f'(z) factor too many, a usual mistake. But some pages name the output's error
``δ_2 = a_2 − y`` (∂C/∂a, before the activation's derivative) and write exactly that
product (Alex Punnen's matrix-calculus notes, tutorials that call δ "the error"). When a
LaTeX formula puts δ_k and f'(z_k) of the same layer k on its right-hand side and, read
with that δ_k as ∂L/∂A_k, gets the other verdict, the checker cannot tell which it meant,
and says what to declare.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from derive.formula.answer import CheckResult
from derive.formula.ir import FormulaError

#: The layer script of a name: ^{2}, ^2, _{l+1}, ^{[l]}, ^{(2)}.
_SCRIPT = r"\s*[\^_]\s*\{?\s*[\[(]?\s*([0-9]+|[lL](?:\s*[-+]\s*1)?)\s*[\])]?\s*\}?"
_DELTA = re.compile(r"\\delta(?![A-Za-z])" + _SCRIPT)
#: f'(z_k), σ'(z^k), g^{[l]'}(z^{[l]}), σ^{'}(z^2): a derivative at layer k's z.
_DERIVATIVE = re.compile(
    r"(?:\\sigma|f|g|h)(?:_\{?[^{}()]*\}?)?\s*(?:'|\^\s*\{?\s*(?:'|\\prime))[^(]{0,12}\(\s*[zZ]"
    + _SCRIPT
)


def _layer(script: str) -> str:
    return re.sub(r"\s+", "", script)


def _doubted(text: str) -> set[str]:
    """The layers whose δ and derivative f'(z) both stand on the right-hand side."""
    rhs = text.split("=", 1)[1] if "=" in text else ""
    deltas = {_layer(m.group(1)) for m in _DELTA.finditer(rhs)}
    return deltas & {_layer(m.group(1)) for m in _DERIVATIVE.finditer(rhs)}


def _rewrite(layers: set[str]) -> tuple[re.Pattern[str], Callable[[re.Match[str]], str]]:
    """δ_k (of a doubted layer k) read as dA_k, ∂L/∂A_k (applied after the other rewrites)."""

    def replace(m: re.Match[str]) -> str:
        return "dA" if _layer(m.group(1)) in layers else m.group(0)

    return re.compile(r"\\delta(?![A-Za-z])(?=" + _SCRIPT + ")"), replace


def delta_as_error(
    text: str,
    result: CheckResult,
    declared: tuple[tuple[str, str], ...],
    check: Callable[[tuple[object, ...], bool], CheckResult],
) -> None:
    """Raise "cannot tell" when δ_k beside f'(z_k), read as ∂L/∂A_k, flips the verdict.
    ``check(rewrites, verdict_only)`` is one whole check."""
    if result.correct or any(name in ("\\delta", "δ", "delta") for name, _ in declared):
        return
    layers = _doubted(text)
    if not layers:
        return
    try:
        other = check((_rewrite(layers),), True)
    except FormulaError:
        return
    if other.shape_error or not other.correct:
        return
    k = sorted(layers)[0]
    raise FormulaError(
        f"cannot tell what δ_{k} stands for: read as ∂L/∂z_{k} (the network's δ) the "
        f"formula is wrong, read as the error ∂L/∂a_{k} (a − y, as some pages define δ) "
        f"it is right; write ∂C/∂a_{k} for the error, or δ_{k} without f'(z_{k})"
    )
