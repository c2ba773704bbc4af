"""The usual mistakes of particular layers and losses, each undone once: ReLU's mask, the
sum over samples of a bias gradient, tanh's square, weight decay, softmax's Jacobian, a
weight's swapped indices in an index form. A base of ``mutations.Mutations``."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import sympy

from derive.core.nodes import Softmax
from derive.formula.cnn_mutations import _is
from derive.formula.factor_mutations import FactorMutations, _hadamard_factors
from derive.formula.index_layout import used_letters
from derive.formula.ir import IR, Bin, Cmp, Entry, Fn, Gt0, ISum, Num, Pow, Scalar, Sum, Sym, T
from derive.formula.ir_walk import at, inside, nodes, replace, show
from derive.formula.layer_indices import IntIndex
from derive.formula.quantity import Quantity
from derive.formula.run import Run


def _samples(convention: str) -> str:
    return "columns" if convention == "column" else "rows"


def _is_weight(node: IR) -> bool:
    return isinstance(node, Sym) and node.base == "W"


class DenseMutations(FactorMutations):
    """The mistakes of particular layers and losses (``Mutations`` tries them last)."""

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

    def summed_letters(self, run: Run, rhs: IR) -> Iterator[tuple[str, IR]]:
        """Index forms: an entry indexed by a sum's letter where a free letter belongs
        (``Σ_{k≠i} p_k y_k`` for ``Σ_{k≠i} p_i y_k``; for the softmax output, the slip of
        its Jacobian's entry ∂p_k/∂o_i = p_k(δ_ki − p_i))."""
        sh = partial(show, python=run.python)
        summed = {v for _, n in nodes(rhs) if isinstance(n, ISum) for v in n.letters}
        free = sorted(used_letters(rhs) - summed)
        last = self.network.layers[-1] if self.network.layers else None
        softmax = getattr(getattr(last, "activation", None), "name", "") == "softmax"
        for path, node in nodes(rhs):
            if not isinstance(node, Entry):
                continue
            for pos, terms in enumerate(node.indices):
                if len(terms) != 1 or terms[0][0] != 1 or terms[0][1] not in summed:
                    continue
                for other in free:
                    idx = (*node.indices[:pos], ((1, other),), *node.indices[pos + 1 :])
                    name, was = sh(node.a), terms[0][1]
                    name = name if len(name) == 1 else f"({name})"
                    said = f"an entry index: {name}_{was} where {name}_{other} belongs"
                    if softmax and isinstance(node.a, Sym) and node.a.base == "A":
                        said += (
                            f" (the softmax Jacobian: ∂p_{was}/∂o_{other} = "
                            f"p_{was}(δ_{was}{other} − p_{other}))"
                        )
                    yield said, replace(rhs, path, Entry(node.a, idx))

    def masks(self, run: Run, rhs: IR) -> Iterator[tuple[str, IR]]:
        """ReLU's mask ``(Z > 0)`` where another activation's derivative belongs."""
        sh = partial(show, python=run.python)
        for path, node in nodes(rhs):
            if isinstance(node, Cmp) and node.op in ("<", "<=") and node.c == 0:
                yield (
                    f"the condition is the wrong way round: {sh(node.a)} > 0 (where the unit "
                    f"is active), not {sh(node.a)} {node.op} 0",
                    replace(rhs, path, Gt0(node.a)),
                )
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
        for path, written in nodes(rhs):
            # δ, or δᵀ: the sum of δ's samples in place of the transposed δ
            node = written.a if isinstance(written, T) else written
            if not (isinstance(node, Sym) and node.base == "delta") or inside(rhs, path, "sum"):
                continue
            summed: IR = Sum(node, None)
            code = (
                f"np.sum({sh(node)}, axis={1 if self.d.program.column else 0}, keepdims=True)"
                if run.python
                else sh(summed)
            )
            was = sh(written) + (" (without the transpose)" if written is not node else "")
            yield (
                f"the sum over samples is missing: {code}, not {was} (a bias gradient "
                f"adds up the {_samples(self.sym_network.convention)} of the delta)",
                replace(rhs, path, summed),
            )
            m: IR = Scalar(str(self.d.program.batch))
            yield (  # δ for ∂C/∂b: a per-sample textbook's formula
                f"the sum over samples and the factor 1/{sh(m)} are missing (a formula "
                f"for one sample, in a batch of {sh(m)}): {code} / {sh(m)}, not {was}",
                replace(rhs, path, Bin("div", summed, m)),
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
        sh = partial(show, python=run.python)
        yield self._softmax_jacobian(run, rhs)
        factors = list(_hadamard_factors(rhs))
        if len(factors) < 2:
            return
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

    def _softmax_jacobian(self, run: Run, rhs: IR) -> tuple[str, IR]:
        """``∂L/∂A`` written for a softmax output's δ (``A − Y`` with a loss that is not
        the cross-entropy): the Jacobian of each sample, ``A ⊙ (g − Σ_units g ⊙ A)``,
        applied to it is what belongs."""
        a_out: IR = Sym("A", IntIndex(self.d.depth), False)
        units = 0 if self.d.program.column else 1
        if run.python:  # NumPy broadcasts the per-sample sum over the units
            total: IR = Bin("had", a_out, Sum(Bin("had", rhs, a_out), units))
        elif units == 0:  # one sample, a column: (diag(a) − a aᵀ) g = a ⊙ g − a (aᵀ g)
            total = Bin("mat", a_out, Bin("mat", T(a_out), rhs))
        else:  # one sample, a row: g (diag(a) − aᵀ a) = g ⊙ a − (g aᵀ) a
            total = Bin("mat", Bin("mat", rhs, T(a_out)), a_out)
        applied = Bin("sub", Bin("had", a_out, rhs), total)
        return (
            f"softmax's Jacobian is missing after {show(rhs, python=run.python)}: δ = ∂L/∂Z "
            "applies the Jacobian diag(a) − a aᵀ of each sample to the gradient on the "
            "softmax's output (it reduces to A − Y only with the cross-entropy)",
            applied,
        )

    def chain_factors(self, run: Run, rhs: IR) -> Iterator[tuple[str, IR]]:
        """A chain of scalar neurons (every width and the batch 1, read as numbers): one
        factor of the chain rule left out, a weight ``w_k`` or a slope ``f'(z_k)``."""
        net = self.sym_network
        if net.is_conv or net.batch != 1 or any(w != 1 for w in net.widths):
            return
        sh = partial(show, python=run.python)
        for k in range(1, self.d.depth + 1):
            w: IR = Sym("W", IntIndex(k), True)
            slope: IR = Fn("generic", 1, Sym("Z", IntIndex(k), True))
            yield (f"a factor of the chain is missing: {sh(w)}", Bin("mat", rhs, w))
            yield (f"a factor of the chain is missing: {sh(slope)}", Bin("had", rhs, slope))
