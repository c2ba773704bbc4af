"""A chain-rule product of Jacobians, read as vector-Jacobian products over a program.

Residual-network posts write the backward pass as the chain rule with Jacobians:
``∂L/∂x_4 = (∂L/∂x_5)(∂x_5/∂x_4)``. Over a forward program whose names these are, such a
side has one reading, whatever the layout: the gradient ``∂L/∂x_5`` sits at one end of
the product and each Jacobian next to it carries it one name further (``∂x_5/∂x_4``: from
x_5 to x_4), so the product is the chain of vector-Jacobian products from the gradient
outwards (a Jacobian ∂a/∂b next to a cotangent of another name of a's shape is the
product of matrices it is: the Interactive Primer's ``∂y/∂x = 1 + ∂F/∂x`` for
``y = x + F``); it must end at the left-hand side's name. An equation of Jacobians
(``∂y/∂x = …``) is read as linear maps applied to the program's gradient of ``y``, and
``1`` in a sum is the identity between the names its other terms join. Each ``∂a/∂b`` is
the derivative of ``a`` by ``b`` with the other values the formula names held fixed (the
sum-over-paths
chain rule's partial: ``∂x_5/∂x_3`` beside ``∂x_5/∂x_4 ∂x_4/∂x_3`` is the direct path
only), computed by the rule table's reverse walk over the program's equations with those
values' equations cut. A product that is not such a chain (two gradients, a Jacobian that
does not fit, a Jacobian of an expression, ``\\prod``) is not read.
"""

from __future__ import annotations

from typing import Any

from sympy.matrices.expressions import ZeroMatrix

from derive.core.backward import reverse_walk
from derive.core.program import is_scalar, shape_of, shape_text
from derive.core.staged import add
from derive.formula.answer import CheckResult
from derive.formula.ir import FormulaError
from derive.formula.program_check import ProgramChecker
from derive.formula.program_latex import JacobianSide, equations

#: The most factors of one product read (a bound on the walks).
MAX_FACTORS = 12


def has_jacobian(tree: Any) -> bool:
    """Whether a side's tree holds a Jacobian ``∂a/∂b``."""
    if not isinstance(tree, tuple) or not tree:
        return False
    return tree[0] == "jac" or any(has_jacobian(part) for part in tree[1:])


def spelled(node: Any) -> str:
    """A name node as the program spells it (``x_5``); a Jacobian of anything else is not read."""
    if node[0] != "name" or node[3] is not None:
        raise JacobianSide("a Jacobian of an expression or at a time step")
    return str(node[1]) + (f"_{node[2]}" if node[2] else "")


def _factors(tree: Any) -> list[Any]:
    if tree[0] in ("amb", "dot"):
        return [*_factors(tree[1]), *_factors(tree[2])]
    return [tree]


class Chain:
    """Reads the chain-rule sides of one formula over ``checker``'s program."""

    def __init__(self, checker: ProgramChecker, sides: list[Any]) -> None:
        self.c = checker
        self.values = checker.sd.graph.values
        #: every value the formula names (held fixed in each partial derivative)
        self.named: set[Any] = set()
        for side in sides:
            self._collect(side)

    def _collect(self, tree: Any) -> None:
        if not isinstance(tree, tuple) or not tree:
            return
        if tree[0] == "jac":
            for part in tree[1:]:
                if part[0] == "name" and part[3] is None and spelled(part) in self.values:
                    self.named.add(self.values[spelled(part)])
            return
        if tree[0] == "name" and tree[3] is None and str(tree[1]).startswith("d"):
            plain = spelled(tree)[1:]
            if plain in self.values:
                self.named.add(self.values[plain])
        for part in tree[1:]:
            self._collect(part)

    def value(self, lhs: str, tree: Any) -> Any:
        """The side's value: a sum of chains, each from a gradient to ``lhs``'s variable."""
        if tree[0] in ("add", "sub"):
            a, b = self.value(lhs, tree[1]), self.value(lhs, tree[2])
            return add([a, b if tree[0] == "add" else -b])
        factors = _factors(tree)
        if len(factors) > MAX_FACTORS:
            raise JacobianSide(f"a product of over {MAX_FACTORS} factors")
        grads = [i for i, f in enumerate(factors) if f[0] == "name"]
        if len(grads) != 1 or grads[0] not in (0, len(factors) - 1):
            raise JacobianSide("a product with no gradient at one end")
        var, g = self.gradient(spelled(factors[grads[0]]))
        rightward = grads[0] == 0
        ops = factors[1:] if rightward else factors[-2::-1]
        for op in ops:
            var, g = self.carry(op, var, g, rightward)
        if var != self.values.get(lhs[1:]):
            raise JacobianSide(f"the chain ends at {var}, not at {lhs[1:]}")
        return g

    def gradient(self, grad: str) -> tuple[Any, Any]:
        """The value a gradient's name is of, and the gradient: the program's upstream
        (``dout``: of its output), or ``dX``, the cotangent of ``X``."""
        graph = self.c.sd.graph
        if graph.upstream is not None and grad == graph.upstream.name:
            return graph.output, graph.upstream
        found = self.c.reader.names.find(grad)
        if not grad.startswith("d") or found is None or grad[1:] not in self.values:
            raise JacobianSide(f"{grad}: no gradient of the program")
        return self.values[grad[1:]], found[1]

    def carry(self, op: Any, var: Any, g: Any, rightward: bool) -> tuple[Any, Any]:
        """``g`` (the cotangent of ``var``) carried through the operator ``op``: a
        Jacobian, a product of them (in the chain's direction), or a sum of them where
        ``1`` is the identity between the names its other terms join (``1 + ∂F/∂x``)."""
        if op[0] == "jac":
            of, by = (self.values.get(spelled(p)) for p in op[1:])
            if of is None or by is None:
                raise JacobianSide(f"∂{spelled(op[1])}/∂{spelled(op[2])}: not the program's names")
            if of != var and shape_of(of) != shape_of(var):  # a product of matrices
                raise JacobianSide(
                    f"∂{of}/∂{by} does not fit the chain: it carries ∂L/∂{var}, "
                    f"{shape_text(shape_of(var))}, and {of} is {shape_text(shape_of(of))}"
                )
            return by, self.vjp(of, by, g)
        if op[0] in ("amb", "dot"):
            parts = _factors(op) if rightward else _factors(op)[::-1]
            for part in parts:
                var, g = self.carry(part, var, g, rightward)
            return var, g
        if op[0] in ("add", "sub"):
            terms = [(op[1], 1), (op[2], 1 if op[0] == "add" else -1)]
            ones = [(t, sign) for t, sign in terms if t == ("num", "1")]
            carried = [
                (*self.carry(t, var, g, rightward), sign) for t, sign in terms if t != ("num", "1")
            ]
            ends = {v for v, _, _ in carried}
            if len(ends) != 1:
                raise JacobianSide("a sum of Jacobians that do not end at one name")
            end = ends.pop()
            if ones and shape_of(end) != shape_of(var):
                raise JacobianSide(f"1 between {var} and {end}, of different shapes")
            total = [v if sign > 0 else -v for _, v, sign in carried]
            total += [g if sign > 0 else -g for _, sign in ones]
            return end, add(total)
        raise JacobianSide("a factor that is no Jacobian ∂a/∂b of the program's names")

    def vjp(self, of: Any, by: Any, g: Any) -> Any:
        """``g`` carried from ``of`` to ``by``, the other named values held fixed."""
        cut = (self.named - {of}) | {by}
        eqs = [eq for eq in self.c.sd.graph.equations if eq.out not in cut]
        got = reverse_walk(eqs, {of: g}, [by]).get(by)
        if not got:
            return 0 if is_scalar(by) else ZeroMatrix(*shape_of(by))
        return add(got)


#: The name a chain's value is bound to while it is judged (no program name has it).
_BOUND = "chain_"


def chains(
    checker: ProgramChecker, lines: list[tuple[str, Any, Any, Any]], skipped: list[str]
) -> list[tuple[str, Any, Any, Any]]:
    """``lines`` (side, None, lhs, tree) with each chain-rule side's value built; a side
    not read so is left out and said in ``skipped``."""
    if not any(has_jacobian(tree) for *_, tree in lines):
        return lines
    out: list[tuple[str, Any, Any, Any]] = []
    for side, value, lhs, tree in lines:
        if not has_jacobian(tree):
            out.append((side, value, lhs, tree))
            continue
        try:
            name = spelled(lhs)
            chain = Chain(checker, [lhs, *(t for *_, t in lines)])
            out.append((side, chain.value(name, tree), lhs, tree))
        except JacobianSide as why:
            skipped.append(f"{side.strip()[:40]}… ({why})")
    return out


def judge_chain(checker: ProgramChecker, name: str, value: Any) -> CheckResult:
    """The verdict on ``name = value`` (a chain's value), as the program checker gives it."""
    names = checker.reader.names
    names.declared[_BOUND] = value
    try:
        result = checker.check(f"{name} = {_BOUND}")
    finally:
        names.declared.pop(_BOUND, None)
    result.notes.append(
        "read the product of Jacobians as vector-Jacobian products carried from the gradient "
        "(each ∂a/∂b with the formula's other names held fixed)"
    )
    return result


def unread_result(
    formula: str, lines: list[tuple[str, Any, Any, Any]], named: list[str], skipped: list[str]
) -> None:
    """No verdict when an equation's last side, the result its author states, is not read
    (only its middle sides were): FormulaError saying which and why."""
    kept = {side for side, *_ in lines}
    for sides in equations(formula):
        last = sides[-1]
        if len(sides) < 3 or last in kept or last.strip() in named:
            continue
        if not any(side in kept for side in sides[1:]):
            continue  # nothing of this equation is judged: said by the caller
        why = next((s for s in skipped if s.startswith(last.strip()[:40])), "")
        raise FormulaError(
            f"cannot tell: the formula's result, its last side {last.strip()[:50]!r}, is not "
            f"read{' (' + why.split('… (', 1)[-1] if why else ''}; its other sides are, but "
            "the result is what it states"
        )
