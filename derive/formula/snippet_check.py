"""A NumPy snippet with several assignments judged as a whole, as real code is written.

Real backward passes assign several gradients in one snippet (``dW = …`` / ``db = …`` /
``dx = …``). Each statement whose target names a quantity (``dW1``, ``db``, ``dZ2``,
``delta``, ``grads['W1']``) is checked with the value it holds at its last assignment
(the snippet up to that line, earlier lines substituted, as ``snippets`` reads one
formula); the last statement is checked as before (its name may be read by its spelling).
The snippet is incorrect if any of them is, and the first wrong one (in snippet order) is
diagnosed; it is correct when every one is. ``return …`` lines and ``def …:`` headers
are left out (a returned value names no quantity); a snippet with nothing else is an
error saying so.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from derive.formula.answer import CheckResult
from derive.formula.derivative_defs import defined_derivative, judge_definition
from derive.formula.ir import FormulaError
from derive.formula.layer_api import layer_api
from derive.formula.python_unpack import unpack_helpers
from derive.formula.return_lines import LAMBDA
from derive.formula.returns import derivative_readings, returned_value
from derive.formula.snippet_own_names import own_meaning, reaches, unread_after, uses
from derive.formula.snippet_statements import Statement, statements, without_returns

_NOT_A_QUANTITY = "the left-hand side must name a quantity"
#: The diagnosis of a value that is another quantity's (a misnamed temporary).
_ANOTHER = "the left-hand side names another quantity"


def _unnamed(left: list[str]) -> FormulaError:
    returns = "return" in left
    what = "returns a value" if returns else "defines a function"
    how = "write the value as one (e.g. dZ = …)"
    if returns:  # the CLI assigns the one value returned to --quantity (return_lines)
        how += " or name it with --quantity (e.g. --quantity dZ1)"
    return FormulaError(
        f"this snippet {what} and assigns no quantity, so nothing names what it computes: "
        f"the checker judges assignments to a quantity (dZ1 = …, dW = …, grads['W1'] = …); {how}"
    )


def _api_gradients(text: str) -> frozenset[str]:
    """The gradients a layer API names (``dx``, ``dw``) in a snippet written in its names:
    each is judged (read as ``layer_api`` reads it), not only the last one assigned."""
    return frozenset({"dx", "dw"}) if layer_api(text)[0] else frozenset()


def _adds_to_itself(source: str, key: str) -> bool:
    """``dW2 = dW2 + reg * W2``: the ``+=`` update written out."""
    word = re.escape(key)
    return re.match(rf"\s*{word}\s*=\s*{word}\s*\+", source) is not None


def _decay_added(
    text: str, found: list[Statement], data_term: Callable[[str], str | None]
) -> tuple[str, list[str]] | None:
    """``dW2 += reg * W2`` (or ``dW2 = dW2 + reg * W2``) with no ``dW2 = …`` before it: the
    line adds the weight-decay term to the gradient of the data term, so the snippet is
    read with that gradient (as derived) assigned first. None if no line is such an
    update."""
    seen: set[str] = set()
    lines: list[str] = []
    words: list[str] = []
    for st in found:
        key = st.key
        if (
            key is not None
            and (st.op == "+=" or _adds_to_itself(st.source, key))
            and st.quantity
            and key not in seen
            and re.fullmatch(r"dW_?[0-9]+", key)
        ):
            term = data_term(key)
            if term is not None:
                lines.append(f"{key} = {term}")
                words.append(f"{key} = {term}")
        if key is not None:
            seen.add(key)
    if not lines:
        return None
    note = (
        f"{', '.join(k.split(' = ')[0] for k in words)} before its `+=` read as the gradient "
        f"of the data term ({'; '.join(words)}, as derived): the line adds the weight-decay "
        "term to it"
    )
    return "\n".join(lines) + "\n" + text, [note]


def check_statements(
    text: str,
    symbols: tuple[tuple[str, str], ...],
    depth: int,
    column: bool | None,
    check_one: Callable[[str], CheckResult],
    data_term: Callable[[str], str | None] = lambda _: None,
    activations: tuple[str, ...] = (),
    right_as_written: Callable[[str], bool] | None = None,
) -> CheckResult:
    """The verdict on every quantity a snippet assigns (``check_one`` checks one snippet
    whose last statement names the quantity; ``data_term`` gives a weight gradient without
    its weight-decay term, in NumPy, for ``dW += reg * W``; ``right_as_written``, its
    verdict alone, no diagnosis searched, for formulas in derive's own names)."""
    try:
        return _check_written(text, symbols, depth, column, check_one, data_term)
    except FormulaError as err:
        bare = derivative_readings(text) if str(err).startswith("a formula is an") else None
        if bare is not None:
            return _as_derivative(bare, err, check_one)
        unpacked = unpack_helpers(text, depth) if column else None
        if unpacked is not None and str(err).startswith("a tuple unpacked from"):
            return _helpers_read(unpacked, err, symbols, depth, column, check_one, data_term)
        defines = str(err).startswith(("this snippet returns", "this snippet defines"))
        defined = defined_derivative(text) if defines else None  # def tanh_d(x): …
        judged = (
            judge_definition(defined, activations, check_one, right_as_written) if defined else None
        )
        if judged is not None:
            return judged
        unnamed_or_lambda = defines or LAMBDA.match(text.strip())
        if not unnamed_or_lambda:
            raise
        unnamed = err
    returned = returned_value(text, activations)  # def sigmoid_backward(dA, Z): return dA * …
    if returned is None:
        raise unnamed
    try:
        result = check_one(returned.text)
    except FormulaError as err:
        if str(err).startswith("cannot tell"):  # readings of the value disagree
            raise
        why = str(err).splitlines()[0]
        if "returned_" in why:  # no reading of the value fits: nothing more to say
            raise unnamed from None
        why = re.sub(r" at column \d+$", "", why)  # a column of the rewritten text
        raise FormulaError(  # what stopped the reading, not only that it failed
            f"{unnamed}; {returned.note}, but then: {why}"
        ) from None
    result.notes.insert(0, returned.note)
    return result


def _as_derivative(
    bare: tuple[str, tuple[str, str]],
    refused: FormulaError,
    check_one: Callable[[str], CheckResult],
) -> CheckResult:
    """A bare expression proposed as an activation's derivative (``returns``): wrong
    whether its name is the pre-activation or the activation, it is wrong whatever it is
    called with (the verdict, with a note); right in either, that depends on the call
    (refused, saying so)."""
    name, (of_z, of_a) = bare
    try:
        as_z, as_a = check_one(of_z), check_one(of_a)
    except FormulaError:
        raise refused from None
    if as_z.correct or as_a.correct:
        given = "the pre-activation z" if as_z.correct else "the activation a = f(z)"
        raise FormulaError(
            f"{refused}; read as an activation's derivative it is right if `{name}` is "
            f"{given}, which the expression does not show: check a formula that uses it "
            f"(dZ = dA * …)"
        ) from None
    # shown: the reading whose diagnosis names a precise slip (the sign of a², a factor),
    # rather than only "not the derivative of the layer's activation"
    vague = "is not the derivative of the layer's activation"
    shown, other, shown_as, other_as = as_z, as_a, "pre-activation Z", "activation A"
    if vague in (as_z.diagnosis or "") and vague not in (as_a.diagnosis or ""):
        shown, other, shown_as, other_as = as_a, as_z, "activation A", "pre-activation Z"
    shown.notes.insert(
        0,
        f"read as an activation's derivative, the factor of dZ = dA * (…) at a layer: wrong "
        f"with `{name}` as the {shown_as} (shown) and as the {other_as} "
        f"({other.diagnosis or 'not the derived formula'})",
    )
    return shown


def _helpers_read(
    unpacked: tuple[str, list[str]],
    refused: FormulaError,
    symbols: tuple[tuple[str, str], ...],
    depth: int,
    column: bool | None,
    check_one: Callable[[str], CheckResult],
    data_term: Callable[[str], str | None],
) -> CheckResult:
    """A snippet unpacking Ng's helpers, read with their documented returns
    (``python_unpack``); where that cannot be read either, the refusal stands (or the
    readings' "cannot tell", which says more)."""
    text, notes = unpacked
    try:
        result = _check_written(text, symbols, depth, column, check_one, data_term)
    except FormulaError as err:
        if str(err).startswith("cannot tell"):
            raise FormulaError(f"{err} (read {'; '.join(notes)})") from None
        raise refused from None
    result.notes[:0] = notes
    return result


def _check_written(
    text: str,
    symbols: tuple[tuple[str, str], ...],
    depth: int,
    column: bool | None,
    check_one: Callable[[str], CheckResult],
    data_term: Callable[[str], str | None],
) -> CheckResult:
    """``check_statements`` on the quantities the snippet assigns by name."""
    text, left = without_returns(text)
    found = statements(text, symbols, depth, column)
    added = _decay_added(text, found, data_term) if found else None
    if added is not None:
        try:
            result = _check_all(added[0], symbols, depth, column, check_one)
        except FormulaError as err:
            if str(err).startswith("cannot tell"):  # reg as λ/m or λ/(2m): both read
                raise
            # otherwise read as written (its error points into the user's own text)
        else:
            result.notes[:0] = added[1]
            return result
    return _check_all(text, symbols, depth, column, check_one, left)


def _check_all(
    text: str,
    symbols: tuple[tuple[str, str], ...],
    depth: int,
    column: bool | None,
    check_one: Callable[[str], CheckResult],
    left: list[str] | None = None,
) -> CheckResult:
    """``check_statements`` on the snippet without its ``return`` lines (``left``: what
    was left out)."""
    left = left or []
    code = re.sub(r"#[^\n]*", "", text)
    if left and (not code.strip() or not re.search(r"(?<![=<>!])=(?!=)", code)):
        raise _unnamed(left)  # nothing is assigned (def f(z): if z > 0: return …)
    found = statements(text, symbols, depth, column)
    if left and found and not any(st.quantity for st in found):
        try:  # output = f(X); return g(output): the value returned names no quantity
            return check_one(text)
        except FormulaError:
            raise _unnamed(left) from None
    if not found or len(found) == 1:
        return check_one(text)
    last: dict[str, int] = {}
    first: dict[str, int] = {}
    api = _api_gradients(text)
    for i, st in enumerate(found):
        if st.key is not None and (st.quantity or st.key.removeprefix("self.") in api):
            last[st.key] = i
            first.setdefault(st.key, i)
    points = sorted(last.values(), key=lambda i: first[found[i].key or ""])
    final = len(found) - 1
    if final not in points:
        points.append(final)
    if len(points) == 1:
        return check_one(text)
    results: list[tuple[Statement, CheckResult]] = []
    error: FormulaError | None = None
    temporaries: list[str] = []
    own: list[tuple[Statement, CheckResult]] = []  # wrong as named, but read again later
    for i in points:
        st = found[i]
        try:
            result = check_one(text[: st.end])
        except FormulaError as err:
            if i == final and not st.quantity and str(err).startswith(_NOT_A_QUANTITY):
                continue  # dX = … after dW = …: a name that is no quantity is not judged
            error = error or err
            continue
        if not result.correct and st.key and i != final and uses(found[i + 1 :], st.key):
            other = result.shape_error or _ANOTHER in (result.diagnosis or "")
            if other:  # dW1 = dscores @ W2.T then dZ1 = dW1 * …: a name used as a temporary
                temporaries.append(st.key)
                continue
            own.append((st, result))
        results.append((st, result))
    if own and all(st is not found[final] for st, _ in results):
        raise unread_after(own, found[final], error)  # what reads the name is unread
    own = [(o, r) for o, r in own if reaches(o, found, [st for st, _ in results])]
    mine = own_meaning(own, results, found[final])
    results = [(st, r) for st, r in results if st.key not in mine]
    if temporaries:
        note = (
            f"{', '.join(temporaries)}: used as a temporary (its value is not that quantity "
            "and a later line reads it), so not judged as the quantity its name says"
        )
        for _, r in results:
            r.notes.append(note)
    wrong = [(st, r) for st, r in results if not r.correct]
    if wrong:
        st, result = wrong[0]
        others = [s.key for s, _ in results if s is not st]
        if others:
            result.notes.append(
                f"the snippet assigns {len(results)} quantities; the first wrong one is "
                f"{st.key} (also checked: {', '.join(str(k) for k in others)})"
            )
        return result
    if error is not None:
        raise error
    if not results:
        return check_one(text)
    names = [str(st.key) for st, _ in results]
    return CheckResult(
        "correct",
        ", ".join(r.quantity for _, r in results),
        "\n  derived: ".join(r.expected for _, r in results),
        results[-1][1].method,
        notes=list(dict.fromkeys(n for _, r in results for n in r.notes))
        + [f"every quantity the snippet assigns is checked: {', '.join(names)}"],
        formula=text,
    )
