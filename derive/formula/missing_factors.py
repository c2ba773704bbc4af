"""A derivative factor the formula writes in one place and misses in another.

The multiclass hinge's δ has ``relu'(M)`` in two terms, ``(1 − Y) ⊙ relu'(M)`` and
``Σ_cols((1 − Y) ⊙ relu'(M)) ⊙ Y``; a formula that drops it from one of them still writes it
in the other. Each node (or run of terms of a ``+``/``−``) that is not inside such a factor
is tried with ⊙ the factor: the mistake undone is "the derivative factor is missing there".
(A δ without its layer's f'(Z) at all is ``Mutations``' own "the factor f'(Z) is missing".)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

from derive.formula.ir import IR, Bin, Cmp, Fn, Gt0, Neg, Num, Ones, Scalar, Sym
from derive.formula.ir_walk import at, nodes, replace, show
from derive.formula.layer_indices import shifted
from derive.formula.quantity import Quantity

Shown = Callable[[IR], str]


def missing_derivatives(rhs: IR, python: bool) -> Iterator[tuple[str, IR]]:
    """Each node or run of terms not inside a derivative factor the formula writes, with
    ⊙ that factor: (what the mistake is, the formula without it)."""
    factors = _derivative_factors(rhs)
    if not factors:
        return
    sh = partial(show, python=python)
    under = {p for p, n in nodes(rhs) if n in factors}  # (the factors' own nodes)
    for path, node in nodes(rhs):
        if any(path[:i] in under for i in range(len(path) + 1)):
            continue
        top = _is_sum(node) and not (path and _is_sum(at(rhs, path[:-1])))
        terms = _terms(node) if top else []  # (the top of a run of + and −)
        for f in factors:
            for i, j in _runs(len(terms)):  # a run of its terms (1 − Y in −S ⊙ Y + 1 − Y)
                group = _summed(terms[i : j + 1])
                if not _has(group, f):
                    new = _summed([*terms[:i], (False, Bin("had", group, f)), *terms[j + 1 :]])
                    yield _missing(sh, f, group), replace(rhs, path, new)
            if not isinstance(node, (Num, Scalar, Ones)) and not _has(node, f):
                yield _missing(sh, f, node), replace(rhs, path, Bin("had", node, f))


def _derivative_factors(rhs: IR) -> list[IR]:
    """The derivative factors a formula writes (``relu'(M)``, ``f'(Z_1)``, ``(M > 0)``),
    each once, in the order written."""
    found: dict[IR, None] = {}
    for _, node in nodes(rhs):
        if (isinstance(node, Fn) and node.order >= 1) or isinstance(node, (Gt0, Cmp)):
            found.setdefault(node)
    return list(found)


def _terms(node: IR) -> list[tuple[bool, IR]]:
    """The terms of a run of ``+`` and ``−`` (``a + 1 − Y``), each with its sign (True: −)."""
    if isinstance(node, Bin) and _is_sum(node):
        right = _terms(node.b)
        if node.op == "sub":
            right = [(not neg, t) for neg, t in right]
        return [*_terms(node.a), *right]
    return [(False, node)]


def _is_sum(node: IR) -> bool:
    return isinstance(node, Bin) and node.op in ("add", "sub")


def _summed(terms: list[tuple[bool, IR]]) -> IR:
    """The terms added up again, left to right."""
    neg, out = terms[0]
    if neg:
        out = Neg(out)
    for minus, t in terms[1:]:
        out = Bin("sub" if minus else "add", out, t)
    return out


def _runs(n: int) -> Iterator[tuple[int, int]]:
    """The runs i..j of two or more of n terms, but all n (the whole is a node itself)."""
    for i in range(n):
        for j in range(i + 1, n):
            if (i, j) != (0, n - 1):
                yield i, j


def _has(node: IR, part: IR) -> bool:
    return any(n == part for _, n in nodes(node))


def _missing(sh: Shown, factor: IR, node: IR) -> str:
    return (
        f"the derivative factor {sh(factor)} is missing on {sh(node)} (the formula "
        "writes it elsewhere; here too, ⊙ it belongs)"
    )


def missing_layer_derivative(rhs: IR, q: Quantity, python: bool) -> Iterator[tuple[str, IR]]:
    """A weight's or bias's gradient whose error reaching the layer lacks the layer's own
    f'(Z): the product through the next layer's weight (``δ_2 W_2ᵀ``, ``W_2ᵀ δ_2``) is
    ∂L/∂A_l, and ⊙ f'(Z_l) makes it δ_l (the "grad_h for grad_htilde" slip: the
    activation's derivative skipped). A δ without it is ``Mutations``' own."""
    if q.kind != "grad" or q.base not in ("W", "b") or q.idx is None:
        return
    z, w_next = Sym("Z", q.idx, False), Sym("W", shifted(q.idx, 1), False)
    if any(isinstance(n, Fn) and n.order >= 1 and n.arg == z for _, n in nodes(rhs)):
        return  # (the derivative is there: another mistake)
    sh = partial(show, python=python)
    for path, node in nodes(rhs):
        if not (isinstance(node, Bin) and node.op == "mat"):
            continue
        if not any(n == w_next for _, n in nodes(node)):
            continue
        yield (
            f"the factor f'(Z) of the layer is missing (⊙ f'({sh(z)})): {sh(node)} is the "
            f"gradient on the layer's activation, ∂L/∂A, not δ (the activation's derivative "
            "is skipped)",
            replace(rhs, path, Bin("had", node, Fn("generic", 1, z))),
        )
