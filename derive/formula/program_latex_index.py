"""An entry-wise formula in index notation over a program: ``∂L/∂S^{ij} = A^{ij}(…)``.

Attention notes write the softmax's backward pass entry by entry, the indices as
superscripts (planckeon: ``S^{ij}``, ``A^{ij'}``, ``δ^b_n``), with an explicit ``\\sum_{j'}``
or by Einstein's convention (an index repeated in a product and not on the left-hand side
is summed). Such a formula has one meaning at the checker's random points: each side is
evaluated entry by entry (``numpy.einsum`` over the named axes: a name's first index runs
over its rows, its second over its columns, each index over one size), the left-hand
side's indices in their order, and compared with the derivation's gradient there. An
index left free on one side only, two sizes for one index, or a name the program lacks
is refused. The verdict carries no diagnosis beyond which side differs.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import numpy as np
from lark import Lark, Token, Tree
from lark.exceptions import LarkError

from derive.core import numeric
from derive.core.interpret import Memo
from derive.formula.answer import CheckResult
from derive.formula.ir import FormulaError
from derive.formula.program_check import ProgramChecker
from derive.formula.program_judge import all_close
from derive.formula.program_latex import equations

GRAMMAR = r"""
?start: expr
?expr: term
     | expr "+" term                        -> add
     | expr "-" term                        -> sub
?term: product
     | "-" term                             -> neg
     | SUM "_" "{" IDX "}" term             -> sum
?product: factor
        | product factor                    -> mul
?factor: entry
       | grad
       | delta
       | NUMBER                             -> num
       | "(" expr ")"
       | "{" expr "}"
grad: FRAC "{" PARTIAL LOSS "}" "{" PARTIAL entry "}"
entry: NAME "^" "{" IDX+ "}"
delta: DELTA "^" one "_" one
?one: IDX | "{" IDX "}"
SUM.3: "\\sum"
FRAC.3: "\\frac" | "\\dfrac"
PARTIAL.3: "\\partial"
DELTA.3: "\\delta"
LOSS.2: "L" | "E" | "J"
NAME: /[A-Z]/
IDX: /[a-z]'?/
NUMBER: /[0-9]+/
%ignore /\s+/
"""
#: ``∂L/∂S^{ij}``: a left-hand side that names one entry by its indices.
ENTRY = re.compile(r"\\partial\s*[A-Za-z]\s*\^\s*\{\s*[a-z]'?[a-z]'?\s*\}")
#: The most distinct indices of one formula (each an axis of an einsum).
MAX_INDICES = 8


@cache
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="earley", ambiguity="resolve")


def is_entrywise(formula: str) -> bool:
    """Whether the formula's left-hand side is one entry by its indices."""
    sides = equations(formula)
    return bool(sides) and ENTRY.search(sides[0][0]) is not None


def _clean(text: str) -> str:
    text = re.sub(r"\\(?:left|right|Big|big|bigg|Bigg)(?![A-Za-z])", "", text)
    text = re.sub(r"\\[,;!]|\\quad|&|~|\$", " ", text)
    return text.replace("∂", r"\partial ").strip().rstrip(".,")


class _Eval:
    """One side's value at one point, as (array, its indices)."""

    def __init__(self, checker: ProgramChecker, env: dict[Any, Any], bound: frozenset[str]):
        self.c, self.env, self.free = checker, env, bound
        self.sizes: dict[str, int] = {}

    def value(self, name: str) -> np.ndarray:
        found = self.c.reader.names.find(name)
        if found is None:
            raise FormulaError(f"{name} is not a name of this program")
        with np.errstate(all="ignore"):
            got = np.atleast_2d(np.asarray(numeric.evaluate(found[1], Memo(self.env)), float))
        return got

    def index(self, idx: str, size: int) -> None:
        if self.sizes.setdefault(idx, size) != size:
            raise FormulaError(f"the index {idx} runs over two sizes ({self.sizes[idx]}, {size})")

    def run(self, node: Any, summed: frozenset[str] = frozenset()) -> tuple[Any, str]:
        kind = node.data if isinstance(node, Tree) else "token"
        kids = (
            [k for k in node.children if not isinstance(k, Token) or k.type == "IDX"]
            if (isinstance(node, Tree))
            else []
        )
        if kind in ("entry", "grad"):
            entry = (
                node if kind == "entry" else next(k for k in node.children if isinstance(k, Tree))
            )
            name = str(entry.children[0])
            marks = [_letter(str(t)) for t in entry.children[1:]]
            arr = self.value(("d" if kind == "grad" else "") + name)
            if len(marks) != 2 or marks[0] == marks[1]:
                raise FormulaError(f"{name}^{{{''.join(marks)}}}: a matrix entry takes two indices")
            for i, n in zip(marks, arr.shape, strict=True):
                self.index(i, n)
            return arr, "".join(marks)
        if kind == "delta":
            a, b = (str(t) for t in node.children[1:])
            return _Delta(a, b), _letter(a) + _letter(b)  # sized when multiplied
        if kind == "num":
            return np.asarray(float(str(node.children[0]))), ""
        if kind == "neg":
            neg, marked = self.run(kids[0], summed)
            return -neg, marked
        if kind in ("add", "sub"):
            (a, ia), (b, ib) = self.run(kids[0], summed), self.run(kids[1], summed)
            out = "".join(dict.fromkeys(ia + ib))
            a2, b2 = _spread(a, ia, out, self), _spread(b, ib, out, self)
            return (a2 + b2 if kind == "add" else a2 - b2), out
        if kind == "sum":
            over = _letter(str(kids[0]))
            body, got = self.run(kids[1], summed | {over})
            if over not in got:
                raise FormulaError(f"the sum over {kids[0]} sums nothing that has that index")
            return _sized(body, got, self).sum(axis=got.index(over)), got.replace(over, "")
        if kind == "mul":
            parts = _factors(node)
            vals = [self.run(p, summed) for p in parts]
            letters = "".join(i for _, i in vals)
            repeated = {c for c in letters if letters.count(c) > 1}
            einstein = repeated - set(self.free) - summed
            out = "".join(c for c in dict.fromkeys(letters) if c not in einstein)
            arrays = [_sized(a, i, self) for a, i in vals]
            spec = ",".join(i for _, i in vals) + "->" + out
            return np.einsum(spec, *arrays), out
        raise FormulaError(f"cannot read {node!r} entry by entry")  # pragma: no cover


class _Delta:
    """Kronecker's δ, its sizes those of its indices."""

    def __init__(self, a: str, b: str) -> None:
        self.a, self.b = _letter(a), _letter(b)


def _letter(idx: str) -> str:
    """An index as one einsum letter (``j'`` is ``J``)."""
    return idx[0].upper() if idx.endswith("'") else idx


def _factors(node: Any) -> list[Any]:
    if isinstance(node, Tree) and node.data == "mul":
        return [*_factors(node.children[0]), *_factors(node.children[1])]
    return [node]


def _sized(arr: Any, idx: str, ev: _Eval) -> np.ndarray:
    if isinstance(arr, _Delta):
        if arr.a not in ev.sizes or arr.b not in ev.sizes:
            raise FormulaError("δ's indices run over sizes no entry gives")
        return np.eye(ev.sizes[arr.a], ev.sizes[arr.b])
    return np.asarray(arr)


def _spread(arr: Any, idx: str, out: str, ev: _Eval) -> np.ndarray:
    """``arr`` (indices ``idx``) broadcast to the indices ``out``."""
    arr = _sized(arr, idx, ev)
    for c in out:
        if c not in idx:
            arr, idx = arr[..., None], idx + c
    order = [idx.index(c) for c in out]
    return np.transpose(arr, order) if arr.ndim else arr


def check_entrywise(checker: ProgramChecker, formula: str) -> CheckResult:
    """The verdict on an entry-wise formula: each side evaluated entry by entry."""
    sides = equations(formula)
    if len(sides) != 1:
        raise FormulaError("one entry-wise equation at a time")
    try:
        trees = [_parser().parse(_clean(side)) for side in sides[0]]
    except LarkError:
        raise FormulaError(
            f"cannot read {formula.strip()[:60]!r} entry by entry: names with their indices "
            "as superscripts (A^{ij}), ∂L/∂X^{ij}, δ^b_n, \\sum_{k}, products, sums"
        ) from None
    lhs = trees[0]
    if not (isinstance(lhs, Tree) and lhs.data == "grad"):
        raise FormulaError("the left-hand side of an entry-wise formula is ∂L/∂X^{ij}")
    entry = next(k for k in lhs.children if isinstance(k, Tree))
    name = "d" + str(entry.children[0])
    sym = checker.target(name)
    if sym is None:
        raise FormulaError(f"∂L/∂{entry.children[0]}: no gradient of this program")
    free = "".join(_letter(str(t)) for t in entry.children[1:])
    if len(set(free)) != 2:
        raise FormulaError("the left-hand side names one entry by two distinct indices")
    checker.expected_now = checker.expected()
    wrong: str | None = None
    for number, tree in enumerate(trees[1:], 2):
        got = []
        for env in checker.expected_now:
            ev = _Eval(checker, env, frozenset(free))
            for i, n in zip(free, np.atleast_2d(np.asarray(env[sym], float)).shape, strict=True):
                ev.index(i, n)  # the left-hand side's indices run over its gradient's shape
            arr, idx = ev.run(tree)
            if len(set(idx) | set(free)) > MAX_INDICES:
                raise FormulaError(f"over {MAX_INDICES} indices")
            if set(idx) != set(free):
                raise FormulaError(
                    f"side {number} has the free indices {idx or 'none'}, the left-hand side "
                    f"{free}: an index is neither summed nor on the left"
                )
            got.append(np.transpose(_sized(arr, idx, ev), [idx.index(c) for c in free]))
        want = [np.atleast_2d(np.asarray(v[sym], float)) for v in checker.expected_now]
        if not all_close(got, want):
            wrong = sides[0][number - 1].strip()
            break
    notes = [
        "read entry by entry (index notation: an index repeated in a product and not on the "
        f"left is summed; first index the rows), at each random point, {len(trees) - 1} side(s)"
    ]
    label = checker.label(sym)
    if wrong is None:
        return checker._result("correct", label, sym, formula, None, None, notes)
    said = f"the side {wrong[:60]!r} differs from the derived {label} entry by entry"
    return checker._result("incorrect", label, sym, formula, said, None, notes)
