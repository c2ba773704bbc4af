"""A LaTeX formula's tree (``program_latex``) written out as NumPy over a program's names.

One line per time step ``t = k``: a name's step index becomes the program's ``_k`` name,
``\\sum_{t=1}^T`` the sum over the program's steps, a product side by side a matrix
product or a scale as the shapes say, ``diag(v) x`` the product ``v ⊙ x``, a ones vector a
sum or a repeat. A name the program lacks at a step (``h_{t+1}`` at the last) is
``Missing``: that step is not judged.
"""

from __future__ import annotations

import re
from typing import Any

from derive.formula.ir import FormulaError
from derive.formula.program_check import ProgramChecker
from derive.formula.program_latex import Step
from derive.spec import program_grammar as G


class Missing(Exception):
    """A name the program does not have at this step (``h_{t+1}`` at the last step)."""


class DiagRight(Exception):
    """``x diag(v)`` with a column ``x``: the product is not defined."""

    def __init__(self, left: str, vector: str) -> None:
        super().__init__(left, vector)
        self.left, self.vector = left, vector


class Writer:
    """Writes a tree as a NumPy expression at one step ``k`` (None: no free step)."""

    def __init__(self, checker: ProgramChecker, last: int, k: int | None) -> None:
        self.checker, self.last, self.k = checker, last, k
        self.loose: list[str] = []  # names read as the program's by a loose match, noted
        self.bound: dict[str, int] = {}  # the indices of the sums being written out (i)

    def at(self, step: Step) -> int:
        """A step's value here: t is k, T the last step, a sum's index its value."""
        total = step.offset
        for letter, coeff in ((step.letter, 1), *step.more):
            if not letter:  # a number alone (the bound 1 of \sum_{i=1})
                continue
            if letter in self.bound:
                value = self.bound[letter]
            elif letter == "T":
                value = self.last
            elif letter == "t" and self.k is not None:
                value = self.k
            else:
                raise FormulaError(f"the index {letter} is bound by no sum")
            total += coeff * value
        return total

    def name(self, node: Any) -> str:
        """The program's spelling of a name at this step (``h_t`` at k = 2: ``h_2``)."""
        _, base, sub, step = node
        text = base + (f"_{sub}" if sub else "")
        if isinstance(step, Step):
            if step.letter == "t" and self.k is None and not step.more:
                raise FormulaError(f"{base}_t: the step t is bound by no sum")
            text += f"_{self.at(step)}"
        return text

    def known(self, text: str) -> str:
        """The program's own name for ``text`` (Missing if it has none here)."""
        found = self.checker.names.find(text)
        if found is None and text.startswith("d"):
            return self.output_gradient(text)
        if found is None:
            raise Missing(text)
        if found[0] != text and text not in self.checker.names.declared:
            note = f"read {text} as the program's {found[0]}"  # p as P: said, not silent
            self.loose += [note] if note not in self.loose else []
        return found[0]

    def output_gradient(self, text: str) -> str:
        """``dh_1`` of an output ``h_1`` with a given gradient (``Delta_1``): the program's
        total cotangent of ``h_1`` (``Delta_1_total``) where later steps read it too."""
        g = self.checker.sd.graph
        given = {**({g.output: g.upstream} if g.upstream is not None else {}), **g.more_upstream}
        for value, up in given.items():
            if getattr(value, "name", None) == text[1:]:
                total = f"{up.name}_total"
                return total if total in self.checker.names.values else str(up.name)
        raise Missing(text)

    def shape(self, text: str) -> tuple[Any, ...]:
        """The shape of a NumPy expression over the program's names."""
        stmt = G.parse_statement(f"tmp_shape_ = {text}")
        value = self.checker.reader.run([stmt]).values["tmp_shape_"]
        return tuple(getattr(value, "shape", ()))

    def write(self, node: Any) -> str:
        """The tree as one NumPy expression at this step."""
        tag = node[0]
        if tag == "name":
            return self.known(self.name(node))
        if tag == "num":
            return node[1]
        if tag in ("add", "sub", "had", "div"):
            op = {"add": "+", "sub": "-", "had": "*", "div": "/"}[tag]
            return f"({self.write(node[1])} {op} {self.write(node[2])})"
        if tag == "neg":
            return f"(-{self.write(node[1])})"
        if tag == "T":
            return f"{self.write(node[1])}.T"
        if tag == "pow":
            return f"({self.write(node[1])} ** {node[2]})"
        if tag == "fn":
            return f"{node[1]}({self.write(node[2])})"
        if tag == "sqrt":
            return f"sqrt({self.write(node[1])})"
        if tag == "sum":
            if self.k is not None and free(node[2]):
                raise FormulaError("a sum over t inside a formula at step t")
            terms = []
            for k in range(node[1], self.last + 1):
                terms.append(Writer(self.checker, self.last, k).write(node[2]))
            return "(" + " + ".join(terms) + ")"
        if tag == "isum":
            return self.index_sum(node)
        if tag == "ipow":
            power = self.power(node)
            if power is None:
                raise FormulaError("a matrix to the power 0 outside a product is not read here")
            return power
        if tag == "amb":
            return self.product(node[1], node[2])
        if tag == "dot":
            return self.dot(node[1], node[2])
        if tag == "ones":
            raise FormulaError("a ones vector outside a product is not read here")
        if tag == "diag":
            raise FormulaError("diag(v) alone, not in a product, is not read here")
        raise FormulaError(f"cannot read {tag} over the program's names")

    def index_sum(self, node: Any) -> str:
        """``\\sum_{i=t}^T body``: the body written at each value of i (at this step)."""
        _, var, lower, upper, body = node
        terms = []
        for value in range(self.at(lower), self.at(upper) + 1):
            inner = Writer(self.checker, self.last, self.k)
            inner.bound = {**self.bound, var: value}
            try:
                terms.append(inner.write(body))
            except Missing as missing:  # not skipped: the sum would lose a term silently
                raise FormulaError(
                    f"the sum over {var} reaches {missing}, which this program does not have "
                    f"(its steps are 1 … {self.last})"
                ) from None
            self.loose += [n for n in inner.loose if n not in self.loose]
        if not terms:  # \sum_{i=t+1}^T at t = T: the empty sum
            return "0"
        return "(" + " + ".join(terms) + ")"

    def power(self, node: Any) -> str | None:
        """``A^{T-i}``: the matrix product of that many A's (None for the power 0, the
        identity, which a product leaves out)."""
        n = self.at(node[2])
        if n < 0:
            raise FormulaError(f"a matrix to a negative power ({n}) is not read here")
        if n == 0:
            return None
        base = self.write(node[1])
        return "(" + " @ ".join([base] * n) + ")"

    def fits(self, text: str, axis: int, size: str | None) -> None:
        """A ones vector's written length against the side it sums."""
        shape = self.shape(text)
        if size is not None and (len(shape) != 2 or str(shape[axis]) != size):
            raise FormulaError(f"1_{size} does not fit {text} ({shape})")

    def repeated(self, column: str, size: str | None) -> str:
        """``x 1_nᵀ``: the column x repeated n times, shaped like a program value."""
        rows = self.shape(column)[:1]
        for name, value in self.checker.names.values.items():
            shape = tuple(getattr(value, "shape", ()))
            if len(shape) == 2 and shape[:1] == rows and str(shape[1]) == size:
                return f"({column} * ones_like({name}))"
        raise FormulaError(f"cannot tell the width of {column} 1_{size}ᵀ")

    def dot(self, a: Any, b: Any) -> str:
        """``a \\cdot b``: the matrix product where the inner sizes fit, else ⊙ of two
        values of one shape (as the network checker reads ``\\cdot``)."""
        left, right = self.write(a), self.write(b)
        ls, rs = self.shape(left), self.shape(right)
        if ls and rs and ls[-1] != rs[0] and ls == rs:
            return f"({left} * {right})"
        return f"({left} {'*' if not ls or not rs else '@'} {right})"

    def product(self, a: Any, b: Any) -> str:
        """A product written side by side: a matrix product, a scale, diag(v) x, or a
        product with a ones vector (``X 1`` the row sums, ``1ᵀ X`` the column sums,
        ``x 1ᵀ`` x repeated along the rows' width)."""
        for one, other in ((a, b), (b, a)):  # A^0 next to a factor: the identity
            if one[0] == "ipow" and self.at(one[2]) == 0:
                return self.write(other)
        if b[0] == "ones":
            left = self.write(a)
            self.fits(left, -1, b[1])
            return f"sum({left}, axis=1, keepdims=True)"
        if a[0] == "T" and a[1][0] == "ones":
            right = self.write(b)
            self.fits(right, 0, a[1][1])
            return f"sum({right}, axis=0, keepdims=True)"
        if b[0] == "T" and b[1][0] == "ones":
            return self.repeated(self.write(a), b[1][1])
        if a[0] == "diag":
            return f"({self.write(a[1])} * {self.write(b)})"
        if b[0] == "diag":
            left, vector = self.write(a), self.write(b[1])
            if self.shape(left)[-1:] != self.shape(vector)[:1]:
                raise DiagRight(left, vector)
            return f"({left} * {vector}.T)"
        left, right = self.write(a), self.write(b)
        scalar = not self.shape(left) or not self.shape(right)
        return f"({left} {'*' if scalar else '@'} {right})"


def names_nothing(checker: ProgramChecker, node: Any) -> bool:
    """Whether a lone name on a chain's last side is none of the program's (``= \\zeta_1``)."""
    if isinstance(node[3], Step):
        return False
    return checker.names.find(node[1] + (f"_{node[2]}" if node[2] else "")) is None


def free(node: Any) -> bool:
    """Whether a tree has a step ``t`` not bound by a sum in it."""
    if not isinstance(node, tuple) or not node:
        return False
    if node[0] == "name":
        return isinstance(node[3], Step) and "t" in node[3].letters()
    if node[0] == "sum":
        return False
    if node[0] == "isum":  # \sum_{i=t}^T: t in a bound, or in the body
        return "t" in node[2].letters() | node[3].letters() or free(node[4])
    if node[0] == "ipow":
        return "t" in node[2].letters() or free(node[1])
    return any(free(part) for part in node[1:])


def steps(checker: ProgramChecker) -> int:
    """The program's last time step (the largest ``_k`` of its names), 0 without steps."""
    found = [int(m.group(1)) for n in checker.names.values if (m := re.search(r"_(\d+)$", n))]
    return max(found, default=0)
