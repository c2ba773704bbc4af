"""A snippet's own names for its intermediates: a name wrong as derive reads it (``delta2 =
a2 - y`` on a page whose δ is ∂C/∂a) whose value later lines read and turn into right
gradients is the snippet's own, said in a note, not a verdict against the snippet
(``snippet_check`` asks these); where what reads it cannot be read, no verdict at all."""

from __future__ import annotations

import re

from derive.formula.answer import CheckResult
from derive.formula.ir import FormulaError
from derive.formula.snippet_statements import Statement


def uses(later: list[Statement], word: str) -> bool:
    """Whether any of ``later`` reads ``word`` (as a whole name, not an attribute)."""
    return any(re.search(rf"(?<![\w.]){re.escape(word)}(?!\w)", s.source) for s in later)


def unread_after(
    own: list[tuple[Statement, CheckResult]], last: Statement, why: FormulaError | None
) -> FormulaError:
    """Wrong as named, but read by later lines whose result cannot be read: the name may
    be the snippet's own (∂C/∂a called delta), so no verdict; ``why`` the last line failed."""
    o, r = own[0]
    reason = str(why).splitlines()[0] if why is not None else "it names no quantity"
    return FormulaError(
        f"cannot tell: `{o.key}` is not {r.quantity} as derive names it "
        f"({r.diagnosis or 'its value is another'}), but the lines after it read it, so it "
        f"may be the snippet's own name, and what they compute, "
        f"`{last.key or last.source.strip()}`, is not read ({reason})"
    )


def reaches(o: Statement, found: list[Statement], checked: list[Statement]) -> bool:
    """Whether the value ``o`` assigns reaches a later checked line, directly or through
    lines that are not checked (``tmp = delta2`` then ``dW2 = … tmp``). Only then may a
    right later line vouch for it: ``dW2 = dZ2 @ A1.T`` read by ``norm = np.sum(dW2)``
    alone is the user's ∂C/∂W₂, wrong, whatever unrelated lines after it say."""
    names = {str(o.key)}
    start = next(i for i, s in enumerate(found) if s is o)
    for s in found[start + 1 :]:
        if not any(uses([s], n) for n in names):
            continue
        if any(s is c for c in checked):
            return True
        if s.key:
            names.add(s.key)
    return False


def own_meaning(
    own: list[tuple[Statement, CheckResult]],
    results: list[tuple[Statement, CheckResult]],
    last: Statement,
) -> list[str]:
    """Names wrong as derive reads them but read again by later lines whose quantities are
    all right, the last one included: the snippet's own intermediates (``delta2 = a2 - y``
    then ``dW2 = a1.T @ (delta2 * f'(z2))``, a page whose δ is ∂C/∂a). What they hold is
    said in a note, never a verdict against the snippet; when anything after them is wrong,
    they stay judged (the first wrong one is named)."""
    if not own:
        return []
    later = [(st, r) for st, r in results if all(st is not o for o, _ in own)]
    if not later or not all(r.correct for _, r in later) or later[-1][0] is not last:
        return []
    later[0][1].notes.append(
        "; ".join(
            f"`{o.key}` is not {o_r.quantity} as derive names it "
            f"({o_r.diagnosis or 'its value is another'}), but the lines after it are "
            "right: read as the snippet's own intermediate"
            for o, o_r in own
        )
    )
    return [str(o.key) for o, _ in own]
