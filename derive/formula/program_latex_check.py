"""``derive check`` of a LaTeX formula on a forward program (an unrolled RNN, attention).

``program_latex`` reads the formula into trees with symbolic time steps; here each tree
is written out as NumPy lines over the program's own names, one per step ``t = k`` at
which every name it uses exists (``\\sum_{t=1}^T`` becomes the sum over the program's
steps), and each line is judged by the program checker as a snippet would be. A product
with ``diag(v)`` is ``v ⊙ ·`` on the side its shapes allow; a diagonal matrix on the
right of a column vector is a product that is not defined, and is said so.
"""

from __future__ import annotations

import re
from typing import Any

from derive.formula.answer import CheckResult
from derive.formula.ir import FormulaError
from derive.formula.program_check import ProgramChecker
from derive.formula.program_latex import JacobianSide, Step, equations, read_side
from derive.formula.program_latex_diagnose import (
    activation_for_pre_activation,
    from_the_next_step,
    softmax_diagonal,
)
from derive.formula.program_snippet import ShapeError
from derive.spec import program_grammar as G


class _Missing(Exception):
    """A name the program does not have at this step (``h_{t+1}`` at the last step)."""


class _DiagRight(Exception):
    """``x diag(v)`` with a column ``x``: the product is not defined."""

    def __init__(self, left: str, vector: str) -> None:
        super().__init__(left, vector)
        self.left, self.vector = left, vector


class _Writer:
    """Writes a tree as a NumPy expression at one step ``k`` (None: no free step)."""

    def __init__(self, checker: ProgramChecker, last: int, k: int | None) -> None:
        self.checker, self.last, self.k = checker, last, k

    def name(self, node: Any) -> str:
        _, base, sub, step = node
        text = base + (f"_{sub}" if sub else "")
        if isinstance(step, Step):
            at = self.last if step.letter == "T" else self.k
            if at is None:
                raise FormulaError(f"{base}_t: the step t is bound by no sum")
            text += f"_{at + step.offset}"
        return text

    def known(self, text: str) -> str:
        found = self.checker.names.find(text)
        if found is None and text.startswith("d"):
            return self.output_gradient(text)
        if found is None:
            raise _Missing(text)
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
        raise _Missing(text)

    def shape(self, text: str) -> tuple[Any, ...]:
        stmt = G.parse_statement(f"tmp_shape_ = {text}")
        value = self.checker.reader.run([stmt]).values["tmp_shape_"]
        return tuple(getattr(value, "shape", ()))

    def write(self, node: Any) -> str:
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
            if self.k is not None and _free(node[2]):
                raise FormulaError("a sum over t inside a formula at step t")
            terms = []
            for k in range(node[1], self.last + 1):
                terms.append(_Writer(self.checker, self.last, k).write(node[2]))
            return "(" + " + ".join(terms) + ")"
        if tag == "amb":
            return self.product(node[1], node[2])
        if tag == "dot":
            return self.dot(node[1], node[2])
        if tag == "ones":
            raise FormulaError("a ones vector outside a product is not read here")
        if tag == "diag":
            raise FormulaError("diag(v) alone, not in a product, is not read here")
        raise FormulaError(f"cannot read {tag} over the program's names")

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
                raise _DiagRight(left, vector)
            return f"({left} * {vector}.T)"
        left, right = self.write(a), self.write(b)
        scalar = not self.shape(left) or not self.shape(right)
        return f"({left} {'*' if scalar else '@'} {right})"


def _names_nothing(checker: ProgramChecker, node: Any) -> bool:
    """Whether a lone name on a chain's last side is none of the program's (``= \\zeta_1``)."""
    if isinstance(node[3], Step):
        return False
    return checker.names.find(node[1] + (f"_{node[2]}" if node[2] else "")) is None


def _free(node: Any) -> bool:
    """Whether a tree has a step ``t`` not bound by a sum in it."""
    if not isinstance(node, tuple) or not node:
        return False
    if node[0] == "name":
        return isinstance(node[3], Step) and node[3].letter == "t"
    if node[0] == "sum":
        return False
    return any(_free(part) for part in node[1:])


def _steps(checker: ProgramChecker) -> int:
    """The program's last time step (the largest ``_k`` of its names), 0 without steps."""
    found = [int(m.group(1)) for n in checker.names.values if (m := re.search(r"_(\d+)$", n))]
    return max(found, default=0)


def check_latex(checker: ProgramChecker, formula: str) -> CheckResult:
    """The verdict on a LaTeX formula over a program's names (see the module docstring)."""
    last = _steps(checker)
    skipped: list[str] = []
    named: list[str] = []
    lines: list[tuple[str, int | None, Any, Any]] = []
    for sides in equations(formula):
        try:
            lhs = read_side(sides[0])
        except JacobianSide:
            raise FormulaError(
                "cannot tell what the left-hand side names: it is written with Jacobians; "
                "write the gradient as ∂L/∂X or dX"
            ) from None
        if lhs[0] != "name":
            raise FormulaError(
                f"the left-hand side {sides[0].strip()!r} names no gradient: write dX or ∂L/∂X"
            )
        for number, side in enumerate(sides[1:], 2):
            try:
                tree = read_side(side)
            except JacobianSide as why:
                skipped.append(f"{side.strip()[:40]}… ({why})")
                continue
            if number == len(sides) > 2 and tree[0] == "name" and _names_nothing(checker, tree):
                named.append(side.strip())  # … = \zeta_1: the formula names its result
                continue
            lines.append((side, None, lhs, tree))
    if not lines:
        raise FormulaError(
            "cannot tell: every right-hand side is a chain-rule product of Jacobians "
            "(∂h_{t+1}/∂h_t, prod(…)) with no matrix meaning here; write the gradient as "
            "matrices, e.g. dW = Σ_t dh_t h_{t-1}ᵀ"
        )
    results: list[tuple[CheckResult, str]] = []
    for side, _, lhs, rhs in lines:
        free = _free(lhs) or _free(rhs)
        ks: list[int | None] = list(range(1, last + 1)) if free else [None]
        judged = []
        for k in ks:
            writer = _Writer(checker, last, k)
            try:
                text = f"{writer.name(lhs)} = {writer.write(rhs)}"
                if checker.target(writer.name(lhs)) is None:
                    raise _Missing(writer.name(lhs))
            except (ShapeError, G.EquationError) as err:
                raise FormulaError(f"cannot read {side.strip()!r}: {err}") from None
            except _Missing as missing:
                if free:
                    continue
                raise FormulaError(
                    f"{missing} is not a name of this program: declare what it stands for "
                    f"(--symbol {missing}=EXPR over the program's names)"
                ) from None
            except _DiagRight as err:
                results.append((_diag_right(checker, writer, lhs, rhs, err, formula), side))
                judged.append(k)
                break
            try:
                result = checker.check(text)
            except ShapeError as err:
                raise FormulaError(str(err)) from None
            except NotImplementedError as err:  # W W read by SymPy as a MatPow
                raise FormulaError(f"cannot evaluate {side.strip()!r}: {err}") from None
            if not result.correct:
                result.diagnosis = (
                    activation_for_pre_activation(checker, text)
                    or softmax_diagonal(checker, text)
                    or result.diagnosis
                )
                from_the_next_step(checker, result, k)
            results.append((result, f"{side.strip()} at t = {k}" if free else side))
            judged.append(k)
            if not result.correct:
                break  # the first wrong step is the one explained
        if free and not judged:
            raise FormulaError("no step t at which every name of the formula exists")
        if any(not r.correct for r, _ in results):
            break
    wrong = [(r, s) for r, s in results if not r.correct]
    result, where = wrong[0] if wrong else results[-1]
    result.formula = formula
    for attr in ("diagnosis", "shape_error"):  # the NumPy line written here is no line of theirs
        said = getattr(result, attr)
        if said:
            setattr(result, attr, re.sub(r"^line \d+: |(?<=: )line \d+: ", "", said))
    if len(results) > 1 or wrong:
        result.notes.append(
            f"judged {len(results)} side(s) and step(s) as NumPy over the program's names"
            + (f"; wrong: {where.strip()[:60]}" if wrong else "")
        )
    if named:
        result.notes.append(
            "read " + ", ".join(named) + " as the formula's own name for its value (not judged)"
        )
    if skipped:
        result.notes.append("not judged (products of Jacobians): " + "; ".join(skipped))
    return result


def _diag_right(
    checker: ProgramChecker, writer: _Writer, lhs: Any, rhs: Any, err: _DiagRight, formula: str
) -> CheckResult:
    """``x diag(v)`` with a column ``x``: incorrect; the order named if diag(v) x is right."""
    target = writer.name(lhs)
    diagnosis, expected = None, ""
    for swapped in (_swap_diag(rhs, inner=True), _swap_diag(rhs, inner=False)):
        try:
            fixed = checker.check(f"{target} = {writer.write(swapped)}")
        except (FormulaError, _DiagRight, _Missing):
            continue
        expected = fixed.expected
        if fixed.correct:
            diagnosis = (
                "the order of a product: diag(v) must multiply from the left, "
                "diag(v) x = v ⊙ x; written on the right of the column it is not defined"
            )
            break
    shape = f"{err.left} (a column) times diag({err.vector}) on its right is not defined"
    return CheckResult("incorrect", target, expected, "shapes", diagnosis, shape, [], formula)


def _swap_diag(node: Any, inner: bool) -> Any:
    """The tree with each ``x diag(v)`` written ``diag(v) x`` (``inner``: ``P Q diag(v)``
    as ``P diag(v) Q``, the diagonal next to the factor it followed)."""
    if not isinstance(node, tuple) or not node or node[0] in ("name", "num"):
        return node
    if node[0] == "amb" and isinstance(node[2], tuple) and node[2][0] == "diag":
        left = _swap_diag(node[1], inner)
        if inner and left[0] == "amb":
            return ("amb", left[1], ("amb", node[2], left[2]))
        return ("amb", node[2], left)
    return (node[0], *(_swap_diag(p, inner) for p in node[1:]))
