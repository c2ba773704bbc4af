"""Four usual slips of ``Mutations``, each undone once: batch norm's ``σ_2 Xc_2`` read as
the sigmoid of Xc_2 where the product σ_2 ⊙ Xc_2 belongs, a δ's derivative taken at a value
that is no layer's Z or A (the error arriving), and a bias gradient written as the weight
gradient's product (``Σ (ŷ − y) hᵀ``); and in index forms a sum over the left-hand side's
own index (``∂L/∂o_i = Σ_i p_i y_i − y_i``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from derive.formula.index_layout import used_letters
from derive.formula.ir import IR, Amb, Bin, Entry, Fn, ISum, Sym, T
from derive.formula.ir_walk import at, map_children, nodes, replace, scope_sums
from derive.formula.quantity import Quantity


def _sigmas(rhs: IR) -> list[Sym]:
    """The σ_k a formula names as a quantity (batch norm's standard deviation), each once:
    ``σ_2 Xc_2`` beside them is read as the sigmoid of Xc_2, where the writer may mean the
    product of the two."""
    found: dict[Sym, None] = {}
    for _, n in nodes(rhs):
        if isinstance(n, Sym) and n.base == "sigma" and n.index is not None:
            found.setdefault(n)
    return list(found)


def sigma_products(
    rhs: IR, path: tuple[int, ...], node: IR, sh: Callable[[IR], str]
) -> Iterator[tuple[str, IR]]:
    """``σ_2 Xc_2`` in a formula that names batch norm's σ_2, read as the sigmoid of Xc_2:
    the product of the two where ⊙ belongs (after ``⊘``, ``a ⊘ σ_2 ⊙ Xc_2`` as written
    left to right, ``(a ⊘ σ_2) ⊙ Xc_2``)."""
    over = isinstance(node, Bin) and node.op == "div" and _is_sigmoid(node.b)
    fn = node.b if over and isinstance(node, Bin) else node
    if not _is_sigmoid(fn):
        return
    assert isinstance(fn, Fn)
    for sigma in _sigmas(rhs):
        if over and isinstance(node, Bin):
            new: IR = Bin("had", Bin("div", node.a, sigma), fn.arg)
        else:
            new = Bin("had", sigma, fn.arg)
        yield (
            "a matrix product is written where the Hadamard product ⊙ belongs "
            f"({sh(sigma)} ⊙ {sh(fn.arg)}: {sh(sigma)} written beside {sh(fn.arg)} is read "
            "as the sigmoid of it)",
            replace(rhs, path, new),
        )


def _is_sigmoid(node: IR) -> bool:
    return isinstance(node, Fn) and node.order == 0 and node.name == "sigmoid"


def derivative_elsewhere(
    rhs: IR, path: tuple[int, ...], node: Fn, q: Quantity, sh: Callable[[IR], str]
) -> Iterator[tuple[str, IR]]:
    """A δ's f'(…) taken at a value that is no layer's Z or A (the error arriving, dA1):
    the derivative belongs at the layer's pre-activation Z (at A and at another layer's
    Z are ``mutations``' own f'(A) and layer-index slips)."""
    arg = node.arg
    if isinstance(arg, Sym) and arg.base in ("Z", "A"):
        return
    z = Sym("Z", q.idx, False)
    if arg == z or q.idx is None:
        return
    at_z = Fn(node.name, node.order, z)
    yield (
        f"{sh(node)} is taken at {sh(arg)}, where the layer's pre-activation {sh(z)} belongs "
        f"({sh(at_z)}): the derivative is of the activation, at its input",
        replace(rhs, path, at_z),
    )


def weight_product_in_bias(
    rhs: IR, q: Quantity, sh: Callable[[IR], str]
) -> Iterator[tuple[str, IR]]:
    """A bias gradient written as the weight gradient's product (``Σ (Â − Y) hᵀ``): the
    factor ``hᵀ`` (the layer's input) does not belong; a bias gradient sums δ alone."""
    if q.kind != "grad" or q.base != "b":
        return
    for path, node in nodes(rhs):
        if not (isinstance(node, Bin) and node.op == "mat"):
            continue
        for kept, gone in ((node.a, node.b), (node.b, node.a)):
            inner = gone.a if isinstance(gone, T) else gone
            if isinstance(inner, Sym) and inner.base in ("A", "X"):
                yield (
                    f"the factor {sh(gone)} does not belong: that is the weight gradient's "
                    f"product; a bias gradient sums the delta alone over the samples",
                    replace(rhs, path, kept),
                )


def clashing_sums(
    rhs: IR, q: Quantity, sh: Callable[[IR], str], softmax: bool
) -> Iterator[tuple[str, IR]]:
    """Index forms: a sum over the left-hand side's own index (``∂L/∂o_i = Σ_i p_i y_i −
    y_i``): the sum takes every entry it covers at the summed index, where one of them
    (``p_i``) belongs at the free one, outside the sum (``p_i Σ_k y_k``). Each entry the
    sum covers is tried back at the free index, the sum's letter renamed. ``softmax``: the
    output is a softmax (its Jacobian's entry is then said)."""
    free = set(q.entries)
    if not free:
        return
    for path, node in nodes(rhs):
        if not isinstance(node, ISum) or not free & set(node.letters):
            continue
        letter = sorted(free & set(node.letters))[0]
        fresh = next((c for c in "kjmnrst" if c not in used_letters(rhs)), None)
        if fresh is None:
            return
        top = path  # the product the sum reaches to the end of
        while top and _is_product(at(rhs, top[:-1])):
            top = top[:-1]
        scoped = _renamed(scope_sums(at(rhs, top)), letter, fresh)
        for inner, entry in nodes(scoped):
            if not isinstance(entry, Entry) or ((1, fresh),) not in entry.indices:
                continue
            back = tuple(((1, letter),) if t == ((1, fresh),) else t for t in entry.indices)
            name = sh(entry.a)
            name = name if len(name) == 1 else f"({name})"
            said = (
                f"an entry index: the sum runs over {letter}, the left-hand side's own index, "
                f"so {name}_{letter} is summed with the rest; it belongs outside the sum"
            )
            if softmax and isinstance(entry.a, Sym) and entry.a.base == "A":
                said += f" (the softmax Jacobian: ∂p_k/∂o_{letter} = p_k(δ_k{letter} − p_{letter}))"
            yield (
                said,
                replace(rhs, top, replace(scoped, inner, Entry(entry.a, back))),
            )


def _is_product(node: IR) -> bool:
    return isinstance(node, Amb) or isinstance(node, Bin) and node.op in ("mat", "had")


def _renamed(node: IR, letter: str, fresh: str) -> IR:
    """``node`` with the entry letter ``letter`` written ``fresh`` (in sums and entries)."""
    if isinstance(node, Entry):
        idx = tuple(tuple((c, fresh if v == letter else v) for c, v in t) for t in node.indices)
        return Entry(_renamed(node.a, letter, fresh), idx)
    if isinstance(node, ISum):
        letters = tuple(fresh if v == letter else v for v in node.letters)
        unless = tuple(
            (fresh if a == letter else a, fresh if b == letter else b) for a, b in node.unless
        )
        return ISum(letters, _renamed(node.a, letter, fresh), unless)
    return map_children(node, lambda c: _renamed(c, letter, fresh))  # type: ignore[no-any-return]
