"""A right-hand side printed alone, as books print one in the prose (Goodfellow's
"H^T G is added to the gradient on W^{(2)}", a Q&A answer's "this should simply be
-(y - ŷ) x"): with no left-hand side and no ``--quantity``, it is compared with every
quantity the derivation prints. Equal to exactly one of them, and no other quantity of its
shape (against which it would be wrong: ``W_3^T δ_3`` is ∂C/∂A_2, or δ_2 without its f'),
it is read as that one and the answer says so; otherwise the checker does not guess what it
was meant to be (a verdict needs to know that) and asks for ``--quantity``.
"""

from __future__ import annotations

from collections.abc import Callable

from derive.core.derivation import Derivation
from derive.formula.answer import CheckResult
from derive.formula.ir import FormulaError
from derive.formula.layer_indices import IntIndex
from derive.formula.layer_names import PARAM_BASES
from derive.formula.parse import NoEquation
from derive.formula.quantity import Quantity
from derive.spec.grammar import caret

#: How a parameter's base is spelt in LaTeX on the left of ``∂L/∂…``.
_TEX = {"gamma": r"\gamma", "beta": r"\beta"}

#: At most this many quantities are tried (each is one check as written, no diagnosis).
LIMIT = 40


class RhsAlone(NoEquation):
    """A right-hand side alone that equals no derived quantity, or several: ``--quantity``
    says which it is meant to be (a ``NoEquation``, so the CLI's ``--quantity`` applies)."""


def candidates(d: Derivation) -> list[tuple[str, Quantity]]:
    """Every quantity the derivation prints, as a LaTeX left-hand side and its quantity:
    the deltas, the parameters' gradients, the activations' cotangents (∂C/∂A_k)."""
    out = [(rf"\delta_{{{k}}}", Quantity("delta", "delta", IntIndex(k))) for k in sorted(d.deltas)]
    for name in d.gradients:
        base, _, k = name.rpartition("_")
        if k.isdigit() and (base in ("W", "b", "K") or base in PARAM_BASES):
            out.append(
                (
                    rf"\frac{{\partial L}}{{\partial {_TEX.get(base, base)}_{{{k}}}}}",
                    Quantity("grad", base, IntIndex(int(k))),
                )
            )
    cots = sorted(set(d.cotangents) | ({d.depth} if not d.network.is_conv else set()))
    out += [(rf"dA_{{{k}}}", Quantity("cot", "A", IntIndex(k))) for k in cots]
    return out[:LIMIT]


def _shape(d: Derivation, q: Quantity) -> tuple[object, ...] | None:
    """The quantity's shape (with the checker's width symbols), None if it has none here."""
    try:
        return tuple(q.expected(d, q.layers(d)[0]).shape)
    except (KeyError, IndexError, AttributeError, ValueError):
        return None


def _own_error(err: FormulaError, formula: str, prefix: int) -> FormulaError | None:
    """The error of ``LHS = formula`` as an error of the formula itself (its column moved
    back into the user's text); None when it points into the left-hand side we wrote."""
    column = err.column
    first = str(err).splitlines()[0]
    if column is None:
        return FormulaError(first)
    if column <= prefix:
        return None
    own = column - prefix
    first = first.replace(f"at column {column}", f"at column {own}")
    return FormulaError(f"{first}\n{caret(formula, own)}", own)


def read_alone(
    formula: str,
    d: Derivation,
    equal: Callable[[str], bool],
    full: Callable[[str], CheckResult],
) -> CheckResult:
    """The answer on ``formula`` read as the only derived quantity it equals (``full`` of
    ``LHS = formula``, with a note), or an ``RhsAlone`` naming ``--quantity``.

    ``equal(text)`` says whether ``LHS = RHS`` is right as written (no other reading, no
    diagnosis); a FormulaError it raises for every quantity, at the same place in the
    formula, is the formula's own (an unknown name) and is raised as the user's."""
    found: list[tuple[str, Quantity]] = []
    errors: list[FormulaError | None] = []
    tried = candidates(d)
    for lhs, q in tried:
        text = f"{lhs} = {formula}"
        try:
            if equal(text):
                found.append((lhs, q))
            errors.append(None)
        except FormulaError as err:
            errors.append(_own_error(err, formula, len(lhs) + 3))
    if len(found) == 1:
        lhs, q = found[0]
        alike = [o for _, o in tried if o != q and _shape(d, o) == _shape(d, q) is not None]
        if alike:  # W_3ᵀ δ_3 is ∂C/∂A_2, and δ_2 with its f' missing: a verdict needs to know
            raise RhsAlone(
                f"a right-hand side alone (no '='): it equals {q.label(d)}, but "
                f"{', '.join(o.label(d) for o in alike)} {'has' if len(alike) == 1 else 'have'} "
                "its shape too, and against that it would be wrong: say which it is meant to "
                f"be with --quantity, e.g. --quantity '{lhs}'"
            )
        result = full(f"{lhs} = {formula}")
        result.notes.insert(
            0,
            f"a right-hand side alone: read as {q.label(d)} (the only quantity of this "
            "network it equals); --quantity says what it is meant to be",
        )
        return result
    if not found and tried and all(e is not None for e in errors):
        said = {str(e) for e in errors}
        if len(said) == 1:  # the same error whatever the left-hand side: the formula's
            raise errors[0]  # type: ignore[misc]
    if found:
        names = ", ".join(q.label(d) for _, q in found)
        raise RhsAlone(
            f"a right-hand side alone (no '='), equal to several quantities of this network "
            f"({names}): say which it is meant to be with --quantity, e.g. --quantity "
            f"'{found[0][0]}'"
        )
    raise RhsAlone(
        "a right-hand side alone (no '='), equal to none of this network's derived quantities "
        f"({', '.join(q.label(d) for _, q in tried)}): say what it is meant to be with "
        f"--quantity, e.g. --quantity dW_{d.depth}, for a verdict and a diagnosis"
    )
