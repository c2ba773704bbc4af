"""The usual mistakes, each undone once: a transpose, a factor, the order, ⊙ vs product,
f', a layer index, a mask, a sum over samples, a square, weight decay, softmax's
Jacobian. ``Diagnosis`` tries the variants in this order."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import sympy

from derive.core.nodes import Softmax
from derive.formula.cnn_mutations import CnnMutations, _is
from derive.formula.ir import (
    IR,
    Bin,
    Cmp,
    Entry,
    Fn,
    Gt0,
    Neg,
    Num,
    Pow,
    Scalar,
    Squeeze,
    Sum,
    Sym,
    T,
    shifted,
)
from derive.formula.ir_walk import at, inside, nodes, replace, show
from derive.formula.quantity import Quantity
from derive.formula.run import Run


def _samples(convention: str) -> str:
    return "columns" if convention == "column" else "rows"


def _is_weight(node: IR) -> bool:
    return isinstance(node, Sym) and node.base == "W"


def _hadamard_factors(node: IR) -> Iterator[IR]:
    """The factors of a chain of Hadamard products, left to right."""
    if isinstance(node, Bin) and node.op == "had":
        yield from _hadamard_factors(node.a)
        yield from _hadamard_factors(node.b)
    else:
        yield node


class Mutations(CnnMutations):
    """Each usual mistake undone once."""

    def mutations(self, run: Run, rhs: IR, q: Quantity) -> Iterator[tuple[str, IR]]:
        """Each usual mistake undone once: (what the mistake is, the formula without it)."""
        sh = partial(show, python=run.python)
        m_scalar: IR = Scalar(str(self.d.program.batch))
        factors: list[tuple[str, IR]] = [
            ("a factor 1/m is missing", Bin("div", rhs, m_scalar)),
            ("a factor 1/m too many", Bin("mat", m_scalar, rhs)),
            ("a factor 1/2 is missing", Bin("div", rhs, Num(sympy.Integer(2)))),
            (
                "a factor 2 is missing (the 1/2 is not in this loss)",
                Bin("mat", Num(sympy.Integer(2)), rhs),
            ),
            ("the sign is wrong", Neg(rhs)),
            ("the whole right-hand side should be transposed", T(rhs)),
        ]
        yield from factors
        for path, node in nodes(rhs):
            if isinstance(node, Sym) and node.base != "Y":
                yield (f"a transpose is missing on {sh(node)}", replace(rhs, path, T(node)))
            if isinstance(node, T):
                yield (f"{sh(node.a)} should not be transposed", replace(rhs, path, node.a))
            if (
                isinstance(node, Bin)
                and node.op == "mat"
                and not isinstance(node.a, (Num, Scalar))
                and not _is(node.a, "div")
            ):
                a, b = node.a, node.b
                yield (
                    f"the product is in the wrong order: {sh(b)} {sh(a)}, not {sh(a)} {sh(b)}",
                    replace(rhs, path, Bin("mat", b, a)),
                )
                yield (
                    "a matrix product is written where the Hadamard product ⊙ belongs "
                    f"({sh(a)} ⊙ {sh(b)})",
                    replace(rhs, path, Bin("had", a, b)),
                )
            if isinstance(node, Bin) and node.op == "had":
                yield (
                    "a Hadamard product ⊙ is written where a matrix product belongs",
                    replace(rhs, path, Bin("mat", node.a, node.b)),
                )
                for side, other in ((node.a, node.b), (node.b, node.a)):
                    if isinstance(side, Fn) and side.order >= 1:
                        yield (
                            f"the factor {sh(side)} does not belong here",
                            replace(rhs, path, other),
                        )
            if isinstance(node, Squeeze):
                yield (
                    f"np.sum without keepdims=True drops the summed axis: {sh(node.a)} "
                    "has shape (n,), not (n, 1) — add keepdims=True",
                    replace(rhs, path, node.a),
                )
            if isinstance(node, Sum) and node.axis in (0, 1):
                axis = 1 - int(node.axis)
                yield (
                    f"the sum is over the wrong axis (axis={axis})",
                    replace(rhs, path, Sum(node.a, axis)),
                )
            if isinstance(node, Fn) and node.order == 0 and q.kind == "delta":
                yield (
                    f"the derivative is missing: {sh(node)} should be the derivative "
                    f"{sh(Fn(node.name, 1, node.arg))}",
                    replace(rhs, path, Fn(node.name, 1, node.arg)),
                )
        for path, node in nodes(rhs):  # a layer index off by one, f'(A) for f'(Z)
            if isinstance(node, Bin) and node.op in ("add", "sub"):  # one term's sign
                minus = node.op == "add"  # the term should be subtracted
                yield (
                    f"the sign of the term {sh(node.b)} is wrong "
                    f"({'−, not +' if minus else '+, not −'})",
                    replace(rhs, path, Bin("sub" if minus else "add", node.a, node.b)),
                )
            if isinstance(node, Num) and node.value not in (0, 1):
                yield (
                    f"the factor {node.value} does not belong here",
                    replace(rhs, path, Num(sympy.Integer(1))),
                )
            if isinstance(node, Sym) and node.base in ("Z", "A") and node.index is not None:
                swap = Sym("A" if node.base == "Z" else "Z", node.index, node.lower)
                what = "the activation" if swap.base == "A" else "the pre-activation"
                yield (
                    f"{sh(node)} is written where {what} {sh(swap)} belongs",
                    replace(rhs, path, swap),
                )
            if (
                isinstance(node, Fn)
                and node.order >= 1
                and isinstance(node.arg, Sym)
                and node.arg.base == "A"
            ):
                at_z = Fn(node.name, node.order, Sym("Z", node.arg.index, node.arg.lower))
                yield (
                    f"{sh(node)} is written where {sh(at_z)} belongs: "
                    "the derivative is taken at the pre-activation Z, not at A",
                    replace(rhs, path, at_z),
                )
            if isinstance(node, Sym) and node.index is not None:
                for by in (-1, 1):
                    other = Sym(node.base, shifted(node.index, by), node.lower)
                    yield (
                        f"a layer index is off by one: {sh(node)} where {sh(other)} belongs",
                        replace(rhs, path, other),
                    )
        if q.kind == "delta":
            z = Sym("Z", q.idx, False)
            yield (
                f"the factor f'(Z) of the layer is missing (⊙ f'({sh(z)}))",
                Bin("had", rhs, Fn("generic", 1, z)),
            )
        yield from self.masks(run, rhs)
        yield from self.sample_sums(run, rhs, q)
        yield from self.squares(run, rhs)
        yield from self.weight_decay(run, rhs, q)
        yield from self.softmax_factors(run, rhs, q)
        if self.network.is_conv:
            yield from self.conv_mutations(run, rhs)
            yield from self.index_mutations(run, rhs)
        else:
            yield from self.entry_swaps(run, rhs)

    def entry_swaps(self, run: Run, rhs: IR) -> Iterator[tuple[str, IR]]:
        """Index forms of dense layers: a weight's two indices swapped (``w_{ik}`` where
        ``w_{ki}`` belongs), the index form of a missing transpose."""
        sh = partial(show, python=run.python)
        for path, node in nodes(rhs):
            if isinstance(node, Entry) and len(node.indices) == 2 and _is_weight(node.a):
                i, k = node.indices
                yield (
                    f"the indices of {sh(node.a)} are swapped (a transpose is missing: the "
                    f"sum runs over its other index)",
                    replace(rhs, path, Entry(node.a, (k, i))),
                )

    def masks(self, run: Run, rhs: IR) -> Iterator[tuple[str, IR]]:
        """ReLU's mask ``(Z > 0)`` where another activation's derivative belongs."""
        sh = partial(show, python=run.python)
        for path, node in nodes(rhs):
            x = node.a if isinstance(node, (Gt0, Cmp)) else None
            if isinstance(x, Sym) and x.base in ("Z", "A") and x.index is not None:
                z = Sym("Z", x.index, x.lower)
                yield (
                    f"the mask ({sh(x)} > 0) is ReLU's derivative; this layer's activation "
                    f"is not ReLU: its derivative f'({sh(z)}) belongs here",
                    replace(rhs, path, Fn("generic", 1, z)),
                )

    def sample_sums(self, run: Run, rhs: IR, q: Quantity) -> Iterator[tuple[str, IR]]:
        """A bias gradient without its sum over samples (``db1 = dZ1 / m``)."""
        if q.kind != "grad" or q.base != "b":
            return
        sh = partial(show, python=run.python)
        for path, node in nodes(rhs):
            if isinstance(node, Sym) and node.base == "delta" and not inside(rhs, path, "sum"):
                summed: IR = Sum(node, None)
                code = (
                    f"np.sum({sh(node)}, axis={1 if self.d.program.column else 0}, keepdims=True)"
                    if run.python
                    else sh(summed)
                )
                yield (
                    f"the sum over samples is missing: {code}, not {sh(node)} (a bias gradient "
                    f"adds up the {_samples(self.sym_network.convention)} of the delta)",
                    replace(rhs, path, summed),
                )

    def squares(self, run: Run, rhs: IR) -> Iterator[tuple[str, IR]]:
        """``(1 − A)²`` for ``1 − A²`` (tanh'), and ``1 − A`` with its square missing."""
        sh = partial(show, python=run.python)
        for path, node in nodes(rhs):
            if isinstance(node, Pow) and node.n == 2 and _is(node.a, "sub"):
                one, x = node.a.a, node.a.b  # type: ignore[union-attr]
                yield (
                    f"(1 − {sh(x)})² is written where 1 − {sh(x)}² belongs: the square is "
                    f"on {sh(x)} alone",
                    replace(rhs, path, Bin("sub", one, Pow(x, 2))),
                )
            if (
                isinstance(node, Bin)
                and node.op == "sub"
                and node.a == Num(sympy.Integer(1))
                and isinstance(node.b, (Sym, Fn))
                and not (path and isinstance(at(rhs, path[:-1]), Pow))
            ):
                yield (
                    f"the square is missing: 1 − {sh(node.b)}², not 1 − {sh(node.b)}",
                    replace(rhs, path, Bin("sub", node.a, Pow(node.b, 2))),
                )

    def weight_decay(self, run: Run, rhs: IR, q: Quantity) -> Iterator[tuple[str, IR]]:
        """The L2 term of a weight gradient: missing, or λ where λ/m belongs (and back)."""
        decay = self.network.loss.weight_decay
        if q.kind != "grad" or q.base not in ("W", "K") or not isinstance(decay, str):
            return
        lam: IR = Scalar(decay)
        m: IR = Scalar(str(self.d.program.batch))
        w: IR = Sym(q.base, q.idx, False)
        sh = partial(show, python=run.python)
        for coeff in (Bin("div", lam, m), lam):
            factor = f"λ/{sh(m)}" if coeff != lam else "λ"
            yield (
                f"the weight-decay term ({factor}) {sh(w)} is missing",
                Bin("add", rhs, Bin("mat", coeff, w)),
            )
        for path, node in nodes(rhs):
            if node == lam and not (path and _is(at(rhs, path[:-1]), "div")):
                yield (
                    f"the weight-decay factor is λ/{sh(m)}, not λ (the decay term of the loss "
                    f"is averaged over the {sh(m)} samples too)",
                    replace(rhs, path, Bin("div", lam, m)),
                )
            if node == Bin("div", lam, m):
                yield (
                    f"the weight-decay factor is λ, not λ/{sh(m)}",
                    replace(rhs, path, lam),
                )

    def softmax_factors(self, run: Run, rhs: IR, q: Quantity) -> Iterator[tuple[str, IR]]:
        """A softmax output's delta with an elementwise derivative (``⊙ A ⊙ (1 − A)``,
        ``⊙ softmax'(Z)``): softmax's Jacobian is not elementwise, and with the
        cross-entropy it cancels, leaving ``A − Y``; the factors are dropped."""
        prog = self.d.program
        out = prog.equation(prog.output).rhs
        if q.kind != "delta" or not isinstance(out, Softmax):
            return
        if q.layers(self.d) != [self.d.depth]:
            return
        factors = list(_hadamard_factors(rhs))
        if len(factors) < 2:
            return
        sh = partial(show, python=run.python)
        for drop in range(1, min(3, len(factors))):
            for i in range(len(factors) - drop + 1):
                kept = factors[:i] + factors[i + drop :]
                gone = factors[i : i + drop]
                node = kept[0]
                for f in kept[1:]:
                    node = Bin("had", node, f)
                yield (
                    "softmax's derivative is not elementwise: its Jacobian diag(a) − a aᵀ "
                    "acts on each sample, and with the cross-entropy it cancels (δ = A − Y); "
                    f"{' ⊙ '.join(sh(g) for g in gone)} does not belong here",
                    node,
                )
