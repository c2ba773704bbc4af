"""The usual mistakes in a layer's derivative factor, each undone once: a factor of one
layer's Z or A that is not its activation's derivative (σ(z)(1 − σ(z)) on a tanh layer),
and such a factor written with its symbol several times taken at A, at the wrong layer or
transposed (every occurrence at once). A base of ``dense_mutations.DenseMutations``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

from derive.formula.cnn_mutations import CnnMutations
from derive.formula.ir import IR, Bin, Chain, Fn, Pow, Sym, T
from derive.formula.ir_walk import at, map_children, nodes, replace, show
from derive.formula.layer_indices import Index, shifted
from derive.formula.quantity import Quantity
from derive.formula.run import Run

Shown = Callable[[IR], str]


def _hadamard_factors(node: IR) -> Iterator[IR]:
    """The factors of a chain of Hadamard products, left to right."""
    if isinstance(node, Bin) and node.op == "had":
        yield from _hadamard_factors(node.a)
        yield from _hadamard_factors(node.b)
    else:
        yield node


class FactorMutations(CnnMutations):
    """The mistakes in a layer's derivative factor (``Mutations`` tries them late)."""

    def one_layer_rewrites(self, run: Run, rhs: IR) -> Iterator[tuple[str, IR]]:
        """A function of one layer's Z or A written with the symbol several times
        (``σ(A1)(1 − σ(A1))``, ``A2 ⊙ (1 − A2)`` in layer 1's delta): every occurrence
        at once taken at Z (f'(A) for f'(Z)), at the next or previous layer (a layer index
        off by one), or without its transpose. (One occurrence alone is ``mutations``'.)"""
        sh = partial(show, python=run.python)
        seen: set[IR] = set()
        for path, node in nodes(rhs):
            # (the factors of a run of ⊙, and where the run starts and ends in them)
            groups: list[tuple[list[IR], int, int]] = []
            if isinstance(node, Bin) and node.op == "had":
                factors = list(_hadamard_factors(node))
                runs = _one_layer_runs(Chain("m" * (len(factors) - 1), tuple(factors)))
                groups += [(factors, i, j) for i, j, _ in runs]
            if isinstance(node, (Bin, Fn, Pow, Chain)) and _one_layer(node) is not None:
                groups.append(([node], 0, 0))
            for factors, i, j in groups:
                whole = _had(factors[i : j + 1])
                syms = [n for _, n in nodes(whole) if isinstance(n, Sym)]
                if len(syms) < 2 or whole in seen:
                    continue
                seen.add(whole)
                for what, new in _layer_group(sh, whole, syms[0]):
                    kept = _had([*factors[:i], new, *factors[j + 1 :]])
                    yield what, replace(rhs, path, kept)

    def derivative_in_products(self, run: Run, rhs: IR) -> Iterator[tuple[str, IR]]:
        """``f'(Z1) W2ᵀ δ2``, ``W2ᵀ δ2 f'(Z1)``: a layer's derivative factor at one end of
        a chain of matrix products, where ⊙ with the product of the rest belongs (the
        product of two alone is ``mutations``')."""
        sh = partial(show, python=run.python)
        for path, node in nodes(rhs):
            if not _is_mat(node) or (path and _is_mat(at(rhs, path[:-1]))):
                continue  # (the top of a chain of products)
            factors = list(_mat_factors(node))
            if len(factors) < 3:
                continue
            for f, rest in ((factors[0], factors[1:]), (factors[-1], factors[:-1])):
                if _one_layer(f) is None:
                    continue
                product = rest[0]
                for x in rest[1:]:
                    product = Bin("mat", product, x)
                yield (
                    "a matrix product is written where the Hadamard product ⊙ belongs "
                    f"({sh(product)} ⊙ {sh(f)})",
                    replace(rhs, path, Bin("had", product, f)),
                )

    def derivative_factors(self, run: Run, rhs: IR, q: Quantity) -> Iterator[tuple[str, IR]]:
        """A factor of one layer's Z or A alone that is not its activation's derivative
        (σ(z)(1 − σ(z)) on a tanh layer, 1 − a on a tanh layer): f'(Z) belongs there."""
        if q.kind != "delta":
            return
        sh = partial(show, python=run.python)
        for path, node in nodes(rhs):
            if isinstance(node, Chain):  # X ⊙ σ(z)(1 − σ(z)): a run of juxtaposed factors
                for i, j, idx in _one_layer_runs(node):
                    z: IR = Sym("Z", idx, False)
                    items = (*node.items[:i], Fn("generic", 1, z), *node.items[j + 1 :])
                    ops = node.ops[:i] + node.ops[j:]
                    new: IR = Chain(ops, items, node.bare) if len(items) > 1 else items[0]
                    shown = " ".join(sh(x) for x in node.items[i : j + 1])
                    yield (
                        f"{shown} is not the derivative of the layer's activation: "
                        f"f'({sh(z)}) belongs here",
                        replace(rhs, path, new),  # (⊙ and juxtaposition shown alike)
                    )
                continue
            if isinstance(node, Bin) and node.op == "had":  # X ⊙ A ⊙ (1 − A): a run of ⊙
                factors = list(_hadamard_factors(node))
                for i, j, layer in _one_layer_runs(Chain("m" * (len(factors) - 1), tuple(factors))):
                    z = Sym("Z", layer, False)
                    kept = [*factors[:i], Fn("generic", 1, z), *factors[j + 1 :]]
                    out = kept[0]
                    for f in kept[1:]:
                        out = Bin("had", out, f)
                    shown = " ⊙ ".join(sh(x) for x in factors[i : j + 1])
                    yield (
                        f"{shown} is not the derivative of the layer's activation: "
                        f"f'({sh(z)}) belongs here",
                        replace(rhs, path, out),
                    )
            one = _one_layer(node) if isinstance(node, (Bin, Fn, Pow)) else None
            if one is None:
                continue
            z = Sym("Z", one, False)
            yield (
                f"{sh(node)} is not the derivative of the layer's activation: "
                f"f'({sh(z)}) belongs here",
                replace(rhs, path, Fn("generic", 1, z)),
            )


def _is_mat(node: IR) -> bool:
    return isinstance(node, Bin) and node.op == "mat"


def _mat_factors(node: IR) -> Iterator[IR]:
    """The factors of a chain of matrix products, left to right."""
    if _is_mat(node):
        assert isinstance(node, Bin)
        yield from _mat_factors(node.a)
        yield from _mat_factors(node.b)
    else:
        yield node


def _layer_group(sh: Shown, whole: IR, sym: Sym) -> Iterator[tuple[str, IR]]:
    """The rewrites of one layer's factor ``whole`` (see ``one_layer_rewrites``)."""
    layer = sym.index
    assert layer is not None
    if sym.base == "A":
        yield (
            f"{sh(whole)} is taken at the activation {sh(sym)} where the pre-activation "
            f"{sh(Sym('Z', layer, sym.lower))} belongs: the derivative is taken at Z, not at A",
            _rewritten(whole, partial(_renamed, "Z", layer)),
        )
    for by in (-1, 1):
        moved = _rewritten(whole, partial(_renamed, None, shifted(layer, by)))
        yield f"a layer index is off by one: {sh(whole)} where {sh(moved)} belongs", moved
    untransposed = _untransposed(whole)
    if untransposed != whole:
        yield (
            f"{sh(whole)} should not be transposed: the derivative is taken entry by entry "
            "at the layer's own Z (a transpose too many)",
            untransposed,
        )


def _renamed(base: str | None, index: Index, s: Sym) -> IR:
    """The symbol with another base (None: its own) and layer."""
    return Sym(base or s.base, index, s.lower)


def _rewritten(node: IR, fn: Callable[[Sym], IR]) -> IR:
    """The node with every symbol of a layer's Z or A (under a transpose or not) rewritten
    by ``fn`` (``fn`` returns the symbol itself to leave it)."""
    if isinstance(node, T) and isinstance(node.a, Sym):
        new = fn(node.a)
        return node if new is node.a else new
    if isinstance(node, Sym):
        return fn(node)
    return map_children(node, lambda c: _rewritten(c, fn))


def _one_layer(node: IR) -> Index | None:
    """The layer whose Z or A alone a node is a function of (None: another node)."""
    syms = {(n.base, n.index) for _, n in nodes(node) if isinstance(n, Sym)}
    if len(syms) != 1:
        return None
    base, idx = next(iter(syms))
    return idx if base in ("A", "Z") else None


def _had(factors: list[IR]) -> IR:
    """The Hadamard product of the factors, left to right."""
    out = factors[0]
    for f in factors[1:]:
        out = Bin("had", out, f)
    return out


def _untransposed(node: IR) -> IR:
    """The node with the transposes on its symbols taken off."""
    if isinstance(node, T) and isinstance(node.a, Sym):
        return node.a
    return map_children(node, _untransposed)


def _one_layer_runs(node: Chain) -> Iterator[tuple[int, int, Index]]:
    """The runs items[i..j] of factors (juxtaposed or ⊙) that are functions of one layer's
    Z or A alone."""
    n = len(node.items)
    for i in range(n):
        for j in range(i + 1, n):
            layers = {_one_layer(x) for x in node.items[i : j + 1]}
            if len(layers) == 1 and None not in layers:
                yield i, j, next(iter(layers))  # type: ignore[misc]
