"""The usual mistakes, each undone once: a transpose, a factor, the order, ⊙ vs product,
f', a layer index, then those of ``dense_mutations`` (a mask, a sum over samples, a
square, weight decay, softmax's Jacobian). ``Diagnosis`` tries the variants in this order."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

import sympy

from derive.formula.cnn_mutations import _is
from derive.formula.ir import (
    IR,
    Amb,
    Bin,
    Cmp,
    Fn,
    Gt0,
    ISum,
    Neg,
    Num,
    Scalar,
    Squeeze,
    Sum,
    Sym,
    T,
)
from derive.formula.ir_walk import at, nodes, replace, show
from derive.formula.layer_indices import shifted
from derive.formula.layer_mutations import LayerMutations
from derive.formula.missing_factors import missing_derivatives, missing_layer_derivative
from derive.formula.quantity import Quantity
from derive.formula.run import Run
from derive.formula.slip_mutations import (
    clashing_sums,
    derivative_elsewhere,
    sigma_products,
    weight_product_in_bias,
)


class Mutations(LayerMutations):
    """Each usual mistake undone once."""

    def mutations(self, run: Run, rhs: IR, q: Quantity) -> Iterator[tuple[str, IR]]:
        """Each usual mistake undone once: (what the mistake is, the formula without it)."""
        sh = partial(show, python=run.python)
        yield from self.scale_mutations(rhs)
        yield from self._node_mutations(run, rhs, q, sh)

    def scale_mutations(self, rhs: IR) -> list[tuple[str, IR]]:
        """The mistakes of the whole right-hand side (a factor, the sign, a transpose):
        the first tried, and paired with every other mistake first (``diagnose``)."""
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
        return factors

    def _node_mutations(
        self, run: Run, rhs: IR, q: Quantity, sh: Callable[[IR], str]
    ) -> Iterator[tuple[str, IR]]:
        """The mistakes at one node of the formula, and those of particular layers."""
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
                if not isinstance(a, ISum):  # (Σ_j y_j) p_j: the sum reaches to the end
                    yield (  # of its product, so the swap moves its scope, not an order
                        f"the product is in the wrong order: {sh(b)} {sh(a)}, not {sh(a)} {sh(b)}",
                        replace(rhs, path, Bin("mat", b, a)),
                    )
                yield (
                    "a matrix product is written where the Hadamard product ⊙ belongs "
                    f"({sh(a)} ⊙ {sh(b)})",
                    replace(rhs, path, Bin("had", a, b)),
                )
            if isinstance(node, Amb):  # `·` read either way: its order may be wrong
                yield (
                    f"the product is in the wrong order: {sh(node.b)} {sh(node.a)}, not "
                    f"{sh(node.a)} {sh(node.b)}",
                    replace(rhs, path, Amb(node.b, node.a, node.sign)),
                )
            yield from sigma_products(rhs, path, node, sh)
            if isinstance(node, Bin) and node.op == "had":
                yield (
                    "a Hadamard product ⊙ is written where a matrix product belongs",
                    replace(rhs, path, Bin("mat", node.a, node.b)),
                )
            if isinstance(node, Amb) or (isinstance(node, Bin) and node.op == "had"):
                for side, other in ((node.a, node.b), (node.b, node.a)):
                    if isinstance(side, Fn) and side.order >= 1:
                        yield (
                            f"the factor {sh(side)} does not belong here (an f'(z) factor "
                            f"too many{self._cancels(q)})",
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
                    self._wrong_axis(run, int(node.axis)),
                    replace(rhs, path, Sum(node.a, axis)),
                )
            if isinstance(node, Fn) and node.order == 0 and q.kind == "delta":
                yield (
                    f"the derivative is missing: {sh(node)} should be the derivative "
                    f"{sh(Fn(node.name, 1, node.arg))}",
                    replace(rhs, path, Fn(node.name, 1, node.arg)),
                )
        yield from weight_product_in_bias(rhs, q, sh)  # (before a layer index: Σ (Â − Y) Âᵀ)
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
            if (
                isinstance(node, Sym)
                and node.base in ("Z", "A")
                and node.index is not None
                and not _derivative_at_z(rhs, path, node)
            ):
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
            if isinstance(node, Fn) and node.order >= 1 and q.kind == "delta":
                yield from derivative_elsewhere(rhs, path, node, q, sh)
            if isinstance(node, Sym) and node.index is not None:
                for by in (-1, 1):
                    other = Sym(node.base, shifted(node.index, by), node.lower)
                    yield (
                        f"a layer index is off by one: {sh(node)} where {sh(other)} belongs",
                        replace(rhs, path, other),
                    )
        yield from self.one_layer_rewrites(run, rhs)  # each Z/A of a factor at once
        yield from self.derivative_in_products(run, rhs)  # f'(Z1) W2ᵀ δ2
        if q.kind == "delta" and not _has_derivative_at(rhs, q.idx):
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
        yield from self.layer_mutations(run, rhs, q)  # residual skips, dropout's 1/p
        if self.network.is_conv:
            yield from self.conv_mutations(run, rhs)
            yield from self.index_mutations(run, rhs)
        else:
            yield from self.entry_swaps(run, rhs)
            yield from self.summed_letters(run, rhs)
            last = self.network.layers[-1] if self.network.layers else None
            softmax = getattr(getattr(last, "activation", None), "name", "") == "softmax"
            yield from clashing_sums(rhs, q, sh, softmax)  # Σ_i p_i y_i − y_i for ∂L/∂o_i
            yield from self.derivative_factors(run, rhs, q)
            yield from self.chain_factors(run, rhs)
        yield from missing_derivatives(rhs, run.python)  # relu'(M) on one term, not another
        if not self.network.is_conv:  # δ_2 W_2ᵀ where δ_1 belongs in ∂L/∂W_1
            yield from missing_layer_derivative(rhs, q, run.python)
        outer = q.kind == "grad" and q.base == "W"  # a weight gradient is an outer product
        for path, node in nodes(rhs) if outer else ():  # last: four variants of each ⊙
            if isinstance(node, Bin) and node.op == "had":
                yield from self._hadamard_for_outer(run, rhs, path, node)
            if isinstance(node, Sum) and node.axis is None and _is(node.a, "had"):
                yield from self._sample_outer(run, rhs, path, node.a)

    def _cancels(self, q: Quantity) -> str:
        """Why σ'(Z_L) is too many in an output δ with the cross-entropy: it cancels there
        (the squared error's δ keeps it: the commonest source of the extra factor)."""
        loss, last = self.network.loss.name, self.network.layers[-1]
        if q.kind != "delta" or q.layers(self.d) != [self.d.depth]:
            return ""
        fused = {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid"}.get(loss)
        if fused is None or getattr(getattr(last, "activation", None), "name", None) != fused:
            return ""
        return (
            f": with the {loss.replace('_', '-')} loss the {fused} output's derivative "
            "cancels, δ_L = A_L − Y; the factor belongs to the squared error's δ"
        )

    def _hadamard_for_outer(
        self, run: Run, rhs: IR, path: tuple[int, ...], node: Bin
    ) -> Iterator[tuple[str, IR]]:
        """``a ⊙ b`` where the product ``b aᵀ`` (or ``a bᵀ``, …) belongs: ⊙ is commutative,
        so its order is no mistake, but the missing transpose is a second one."""
        sh = partial(show, python=run.python)
        a, b = node.a, node.b
        for x, y in ((a, b), (b, a)):
            for tx, ty, on in ((False, True, y), (True, False, x)):
                left = T(x) if tx else x
                right = T(y) if ty else y
                yield (
                    "two mistakes: a Hadamard product ⊙ is written where a matrix product "
                    f"belongs; and the transpose on {sh(on)} is missing ({sh(left)} "
                    f"{sh(right)})",
                    replace(rhs, path, Bin("mat", left, right)),
                )

    def _wrong_axis(self, run: Run, written: int) -> str:
        """A sum over the wrong axis, said in the formula's own language: NumPy's axis=k
        for a snippet, the units or the samples for a LaTeX formula."""
        column = self.d.program.column
        axes = ("units", "samples") if column else ("samples", "units")
        over, belongs = axes[written], axes[1 - written]
        if run.python:
            return (
                f"the sum is over the wrong axis (axis={1 - written}, not axis={written}: "
                f"axis={written} sums over the {over}, not the {belongs})"
            )
        return f"summed over the wrong axis: over the {over}, not the {belongs}"

    def _sample_outer(
        self, run: Run, rhs: IR, path: tuple[int, ...], node: IR
    ) -> Iterator[tuple[str, IR]]:
        """``Σ_x δ^x ⊙ a^x`` where the sum of the outer products ``Σ_x δ^x (a^x)ᵀ = δ Aᵀ``
        belongs (the two vectors of a sample have different lengths)."""
        assert isinstance(node, Bin)
        sh = partial(show, python=run.python)
        for x, y in ((node.a, node.b), (node.b, node.a)):
            yield (
                "a Hadamard product ⊙ is written where the outer product of each sample "
                f"belongs (summed over the samples, the outer products are {sh(x)} {sh(y)}ᵀ)",
                replace(rhs, path, Bin("mat", x, T(y))),
            )


def _derivative_at_z(rhs: IR, path: tuple[int, ...], node: Sym) -> bool:
    """Whether ``node`` is a Z that a derivative or a mask is taken at (``abs'(Z1)``,
    np.sign(Z1), ``Z1 < 0``): f'(Z) is where a derivative belongs, so "Z1 where A1 belongs"
    is never the mistake, even where a ReLU layer makes sign(A1) equal its derivative
    (A ≥ 0); a derivative of another activation is (``derivative_factors``)."""
    if node.base != "Z" or not path:
        return False
    parent = at(rhs, path[:-1])
    return isinstance(parent, (Gt0, Cmp)) or isinstance(parent, Fn) and parent.order >= 1


def _has_derivative_at(rhs: IR, idx: object) -> bool:
    """Whether the formula has a derivative factor or a mask at the layer's Z (``abs'(Z1)``,
    ``(Z1 > 0) - (Z1 < 0)``): then
    f'(Z) is not missing but another (a ReLU's ⊙ f'(Z1) would "fix" np.sign(Z1) only
    because sign is 1 where ReLU's derivative is)."""
    z = Sym("Z", idx, False)  # type: ignore[arg-type]
    return any(
        isinstance(n, Fn) and n.order >= 1 and n.arg == z or isinstance(n, (Gt0, Cmp)) and n.a == z
        for _, n in nodes(rhs)
    )
