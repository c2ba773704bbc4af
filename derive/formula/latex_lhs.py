"""The forms around a LaTeX formula's expressions: per-sample quantities and their sums,
update rules (``W ← W − α G``) and chain-rule products of partial derivatives.

The LaTeX transformer (``latex_ir``) builds the nodes below while it reads; once a whole
side is read, ``per_sample``, ``telescoped`` and ``update_rule`` turn them into the IR.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from derive.formula.ir import (
    IR,
    Amb,
    Bin,
    Chain,
    FormulaError,
    Neg,
    Node,
    Num,
    Partial,
    Scalar,
    Sum,
    Sym,
    T,
)
from derive.formula.ir_walk import map_children, nodes, with_child


@dataclass(frozen=True, slots=True)
class Sample(Node):
    """``a^{(i)}``: one sample's column (row) of a quantity."""

    TAG: ClassVar[str] = "sample"
    a: Any


@dataclass(frozen=True, slots=True)
class SSum(Node):
    """``Σ_i`` over per-sample quantities: it reaches to the end of its product."""

    TAG: ClassVar[str] = "ssum"
    a: Any


@dataclass(frozen=True, slots=True)
class DD(Node):
    """``∂Z_2/∂W_2``: a link of the chain rule, read only where the chain telescopes."""

    TAG: ClassVar[str] = "dd"
    num: Any
    den: Any


def has_sample(node: Any) -> bool:
    """Whether a per-sample mark is anywhere in ``node``."""
    return isinstance(node, Node) and any(isinstance(n, Sample) for _, n in nodes(node))


def unsampled(node: Any) -> Any:
    """``node`` without its per-sample marks: a^{(i)} is read as its column of A."""
    if isinstance(node, Sample):
        return unsampled(node.a)
    return map_children(node, unsampled)


def _transposed_sample(node: Any) -> bool:
    return any(isinstance(n, T) and has_sample(n.a) for _, n in nodes(node))


def _is_product(n: Any) -> bool:
    return isinstance(n, Amb) or (isinstance(n, Bin) and n.op == "mat")


def _sample_products(node: Any) -> bool:
    """Whether a product multiplies two per-sample factors, one transposed: an outer
    product per sample (Σ_i δ^{(i)} a^{(i)T}); δ^{(i)} * a^{(i)} is entry by entry."""
    return any(
        _is_product(n)
        and has_sample(n.a)
        and has_sample(n.b)
        and (_transposed_sample(n.a) or _transposed_sample(n.b))
        for _, n in nodes(node)
    )


def _product(a: Any, b: Any, sign: str | None) -> Any:
    return Bin("mat", a, b) if sign is None else Amb(a, b, sign)


def _sample_sums(node: Any) -> Any:
    """``Σ_i`` over per-sample quantities reaches to the end of its product
    (``(1/m) Σ_i δ^{(i)} a^{(i)T}``); it is the sum over samples of the batch's matrix,
    and over a product of two per-sample factors the matrix product (δ Aᵀ)."""
    if not isinstance(node, Node):
        return node
    if isinstance(node, Bin) and node.op == "had" and has_sample(node.b):
        # Σ_x δ^{x,l} ⊙ a^{x,l-1}: the sum reaches over the ⊙ to the end of its term
        pushed = _push(_reach(node.a), node.b)
        if pushed is not None:
            node = pushed
    node = _reach(node)
    node = map_children(node, _sample_sums)
    if isinstance(node, SSum):
        body = node.a
        if _sample_products(body):  # Σ_i δ^{(i)} a^{(i)T} = δ Aᵀ
            return unsampled(body)
        return Sum(unsampled(body), None)
    return node


def _push(left: Any, b: Any) -> Any:
    """``left ⊙ b`` with ``left`` ending in a sum over samples: the sum of ``… ⊙ b``;
    None if ``left`` does not end in one."""
    if isinstance(left, SSum):
        return SSum(Bin("had", left.a, b))
    if _is_product(left):
        inner = _push(left.b, b)
        return None if inner is None else with_child(left, 1, inner)
    return None


def _reach(node: Any) -> Any:
    """A product with its ``Σ_i`` reaching to the product's end."""
    if _is_product(node):
        factors: list[Any] = []
        signs: list[str | None] = []

        def flat(n: Any) -> None:
            if _is_product(n):
                flat(n.a)
                signs.append(n.sign if isinstance(n, Amb) else None)
                flat(n.b)
            else:
                factors.append(n)

        flat(node)
        start = next((i for i, f in enumerate(factors) if isinstance(f, SSum)), None)
        if start is not None:
            body = factors[start].a
            for sign, f in zip(signs[start:], factors[start + 1 :]):
                body = _product(body, f, sign)
            out: Any = SSum(body)
            for sign, f in zip(reversed(signs[:start]), reversed(factors[:start])):
                out = _product(f, out, sign)
            node = out
    return node


def per_sample(node: Any) -> IR:
    """Per-sample marks outside a sum: each column (row) is the batch's; a product of two
    per-sample factors (an outer product per sample) is only read under its sum."""
    node = _sample_sums(node)
    if _sample_products(node):
        raise FormulaError(
            "a product of two per-sample quantities (δ^{(i)} a^{(i)T}) is read under its sum "
            "over the samples, Σ_i"
        )
    return unsampled(node)  # type: ignore[no-any-return]


#: Names of the learning rate in update rules (W ← W − α ∂L/∂W).
_RATES = {"alpha", "eta", "epsilon", "varepsilon"}


def _without_rate(node: Any) -> Any:
    """The step of an update with its learning rate (one factor α, η) set to 1; None if
    the step has no learning rate."""
    if isinstance(node, Scalar) and node.name in _RATES:
        return Num(1)
    if isinstance(node, (Amb, Bin)) and (isinstance(node, Amb) or node.op in ("mat", "had")):
        sides: tuple[int, ...] = (0, 1)
    elif (isinstance(node, Bin) and node.op == "div") or isinstance(node, Neg):
        sides = (0,)
    elif isinstance(node, Chain):
        sides = tuple(range(len(node.items)))
    else:
        return None
    kids = node.items if isinstance(node, Chain) else (node.a, getattr(node, "b", None))
    for i in sides:
        inner = _without_rate(kids[i])
        if inner is not None:
            if inner == Num(1) and not isinstance(node, (Chain, Neg)) and _two_sided(node):
                return kids[1 - i]  # α G: G
            return with_child(node, i, inner)
    return None


def _two_sided(node: Any) -> bool:
    return isinstance(node, Amb) or (isinstance(node, Bin) and node.op in ("mat", "had"))


def same_symbol(a: Any, b: Any) -> bool:
    """``w_2`` and ``W_2``: the same symbol written in either case."""
    return isinstance(a, Sym) and isinstance(b, Sym) and (a.base, a.index) == (b.base, b.index)


def _linked(a: Any, b: Any) -> bool:
    """Two links of the chain rule meet at ``a`` and ``b``: the same symbol, or the same
    letter of the source's own (d2l's ∂J/∂h ∂h/∂z, read as the network's by the letters)."""
    return same_symbol(a, b) or (isinstance(a, Scalar) and isinstance(b, Scalar) and a == b)


def update_rule(lhs: Any, rhs: Any, rest: list[Any]) -> list[IR]:
    """``W_2 ← W_2 − α G``: ``G`` is checked as ∂L/∂W_2."""
    if not isinstance(lhs, Sym) or lhs.base not in ("W", "b", "K") or lhs.index is None:
        raise FormulaError(
            "an update rule updates a parameter with its layer: W_2 ← W_2 − α ∂L/∂W_2"
        )
    if not (isinstance(rhs, Bin) and rhs.op in ("sub", "add")) or not same_symbol(rhs.a, lhs):
        raise FormulaError(
            "an update rule is W_2 ← W_2 − α G: the parameter, minus the learning rate "
            "times its gradient"
        )
    step = _without_rate(rhs.b)
    if step is None:
        raise FormulaError(
            "the step of this update rule has no learning rate (α or η): write W_2 ← W_2 − α G"
        )
    if rest:
        raise FormulaError("an update rule is one step: W_2 ← W_2 − α G")
    grads = {"dW": "W", "db": "b", "dK": "K"}
    if isinstance(step, Sym) and grads.get(step.base) == lhs.base and step.index == lhs.index:
        step = Partial(lhs, "L")  # W ← W − α dW: dW is the gradient
    gradient = step if rhs.op == "sub" else Neg(step)
    return [Partial(lhs, "L"), telescoped(gradient)]


def chain_factors(node: Any) -> list[Any] | None:
    """The factors of a product of partial derivatives, or None if ``node`` is not one."""
    if isinstance(node, (Partial, DD)):
        return [node]
    if isinstance(node, Amb) or (isinstance(node, Bin) and node.op in ("mat", "had")):
        a, b = chain_factors(node.a), chain_factors(node.b)
        return a + b if a is not None and b is not None else None
    if isinstance(node, Chain):
        parts = [chain_factors(n) for n in node.items]
        if all(p is not None for p in parts):
            return [f for p in parts for f in p]  # type: ignore[union-attr]
    return None


class TensorLeft(FormulaError):
    """A side with a derivative of a matrix by a matrix left over (``∂Z/∂W``)."""


def telescoped(node: Any) -> Any:
    """``∂L/∂Z_2 ∂Z_2/∂W_2`` (the chain rule, in any order of its factors) is ∂L/∂W_2;
    a derivative of one matrix by another left over has no matrix meaning: an error."""
    factors = chain_factors(node)
    if factors is not None and len(factors) > 1:
        loss = [f for f in factors if isinstance(f, Partial)]
        links = [f for f in factors if isinstance(f, DD)]
        if len(loss) == 1:
            end = loss[0].sym
            while links:
                nxt = next((f for f in links if _linked(f.num, end)), None)
                if nxt is None:
                    break
                links.remove(nxt)
                end = nxt.den
            if not links:
                return Partial(end, loss[0].loss)
    for _, n in nodes(node):
        if isinstance(n, DD):
            raise TensorLeft(
                "a derivative of a matrix by a matrix (∂Z/∂W, a tensor) has no matrix meaning "
                "here; write the chain rule in full, ∂L/∂Z_2 ∂Z_2/∂W_2, or its matrix form"
            )
    return node
