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
from dataclasses import dataclass
from typing import Any

from lark import Tree, UnexpectedInput

from derive.formula.answer import CheckResult
from derive.formula.declared import rewrites as declared_rewrites
from derive.formula.ir import FormulaError, Sym
from derive.formula.parse import _PY_REWRITES, _stripped_again, normalize_with_positions, parser
from derive.formula.python_ir import PythonToIR
from derive.formula.python_statements import _target_word
from derive.formula.returns import _LAMBDA, returned_value
from derive.formula.snippets import DICTS

#: The IR bases of the quantities a check judges (dZ and delta are both ``delta``).
GRADIENTS = frozenset({"delta", "dW", "db", "dA", "dK"})

_RETURN = re.compile(r"^[ \t]*return\b")
_DEF = re.compile(r"^[ \t]*def\s+\w+\s*\(")
_NOT_A_QUANTITY = "the left-hand side must name a quantity"
#: The diagnosis of a value that is another quantity's (a misnamed temporary).
_ANOTHER = "the left-hand side names another quantity"


@dataclass(frozen=True)
class Statement:
    """One statement of a snippet: where it ends in the text and the name it assigns."""

    end: int  # in the user's text: the snippet up to here ends with this statement
    start: int  # where it starts in the user's text
    op: str | None  # "+=" for an in-place update, None for an assignment
    key: str | None  # ``dW``, ``grads['W1']``; None for a loop header or an unread target
    quantity: bool  # whether the key names a quantity for sure (not by a guessed reading)
    source: str  # the statement as parsed (to see which names a later line uses)


def _blank(text: str, start: int, end: int) -> str:
    """``text`` with ``[start, end)`` turned into spaces (line breaks kept: columns stay)."""
    return text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]


def without_returns(text: str) -> tuple[str, list[str]]:
    """The snippet with its ``return …`` statements and ``def …:`` headers blanked out, and
    what was left out (``return``, ``def``)."""
    left: list[str] = []
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    i = 0
    while i < len(lines):
        line = lines[i]
        kind = "return" if _RETURN.match(line) else "def" if _DEF.match(line) else None
        if kind is None:
            i += 1
            continue
        j, depth = i, 0  # the statement goes on while a bracket is open (or a \ ends it)
        while True:
            code = lines[j].split("#", 1)[0]
            depth += sum(code.count(c) for c in "([{") - sum(code.count(c) for c in ")]}")
            if (depth <= 0 and not code.rstrip().endswith("\\")) or j + 1 >= len(lines):
                break
            j += 1
        text = _blank(text, offsets[i], offsets[j] + len(lines[j]))
        if kind not in left:
            left.append(kind)
        i = j + 1
    if "def" in left:  # a docstring of the function carries no formula
        text = re.sub(r'"""[\s\S]*?"""', lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
    return text, left


def statements(
    text: str, symbols: tuple[tuple[str, str], ...], depth: int, column: bool | None
) -> list[Statement] | None:
    """The snippet's statements, or None if it does not parse (the check says why)."""
    rewrites = list(_PY_REWRITES)
    if symbols:
        rewrites = [*declared_rewrites(symbols, "python", depth), *rewrites]
    source, pos = normalize_with_positions(text, rewrites)
    source, pos = _stripped_again(source, pos)
    try:
        tree = parser("python").parse(source)
    except UnexpectedInput:
        return None
    stmts = tree.children if tree.data == "program" else [tree]
    found: list[Statement] = []
    for st in stmts:
        if not isinstance(st, Tree) or st.meta.empty:
            continue
        end = pos[min(st.meta.end_pos, len(pos)) - 1] + 1
        start = pos[min(st.meta.start_pos, len(pos) - 1)]
        op = str(st.children[1]) if st.data == "augassign" else None
        key, sure = _target(st, depth, column)
        found.append(
            Statement(end, start, op, key, sure, source[st.meta.start_pos : st.meta.end_pos])
        )
    return found


def _target(st: Tree[Any], depth: int, column: bool | None) -> tuple[str | None, bool]:
    """The name a statement assigns and whether it names a quantity for sure."""
    if st.data not in ("chain", "augassign"):
        return None, False
    word = _target_word(st)
    reader = PythonToIR(depth, column)
    if word is not None:
        try:
            read = reader.reading(word)
        except FormulaError:
            return word, False
        return word, isinstance(read, Sym) and read.base in GRADIENTS
    node = st.children[0]  # grads['W1'] = …
    if not (isinstance(node, Tree) and node.data == "index"):
        return None, False
    obj = node.children[0]
    strings = [str(t) for t in node.scan_values(lambda v: getattr(v, "type", "") == "STRING")]
    if not (isinstance(obj, Tree) and obj.data == "name" and len(strings) == 1):
        return None, False
    name = str(obj.children[0])
    if name not in DICTS:
        return None, False
    key = f"{name}[{strings[0]}]"
    try:
        entry = reader.reading(strings[0].strip("'\""))
    except FormulaError:
        return key, False
    if not isinstance(entry, Sym):
        return key, False
    grads = name in ("grads", "gradients", "change_w") and entry.base in ("W", "b")
    return key, grads or entry.base in GRADIENTS


def _unnamed(left: list[str]) -> FormulaError:
    what = "returns a value" if "return" in left else "defines a function"
    return FormulaError(
        f"this snippet {what} and assigns no quantity, so nothing names what it computes: "
        "the checker judges assignments to a quantity (dZ1 = …, dW = …, grads['W1'] = …); "
        "write the value as one (e.g. dZ = …)"
    )


def _uses(later: list[Statement], word: str) -> bool:
    return any(re.search(rf"(?<![\w.]){re.escape(word)}(?!\w)", s.source) for s in later)


def _decay_added(
    text: str, found: list[Statement], data_term: Callable[[str], str | None]
) -> tuple[str, list[str]] | None:
    """``dW2 += reg * W2`` with no ``dW2 = …`` before it: the line adds the weight-decay
    term to the gradient of the data term, so the snippet is read with that gradient (as
    derived) assigned first. None if no line is such an update."""
    seen: set[str] = set()
    lines: list[str] = []
    words: list[str] = []
    for st in found:
        key = st.key
        if (
            key is not None
            and st.op == "+="
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
) -> CheckResult:
    """The verdict on every quantity a snippet assigns (``check_one`` checks one snippet
    whose last statement names the quantity; ``data_term`` gives a weight gradient without
    its weight-decay term, in NumPy, for ``dW += reg * W``)."""
    try:
        return _check_written(text, symbols, depth, column, check_one, data_term)
    except FormulaError as err:
        unnamed_or_lambda = str(err).startswith(
            ("this snippet returns", "this snippet defines")
        ) or _LAMBDA.match(text.strip())
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
        raise unnamed from None
    result.notes.insert(0, returned.note)
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
    for i, st in enumerate(found):
        if st.key is not None and st.quantity:
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
    for i in points:
        st = found[i]
        try:
            result = check_one(text[: st.end])
        except FormulaError as err:
            if i == final and not st.quantity and str(err).startswith(_NOT_A_QUANTITY):
                continue  # dX = … after dW = …: a name that is no quantity is not judged
            error = error or err
            continue
        if not result.correct and st.key and i != final and _uses(found[i + 1 :], st.key):
            other = result.shape_error or _ANOTHER in (result.diagnosis or "")
            if other:  # dW1 = dscores @ W2.T then dZ1 = dW1 * …: a name used as a temporary
                temporaries.append(st.key)
                continue
        results.append((st, result))
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
