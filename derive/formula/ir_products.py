"""What a product's IR says before it is read: ``diag(v) M`` rewritten as ``v ⊙ M``, and
whether juxtaposed factors are functions of one value (elementwise where the matrix
product does not fit, as ``σ(z)(1 − σ(z))`` is).
"""

from __future__ import annotations

from derive.formula.ir import IR, Bin, Diag, Fn, Sym
from derive.formula.ir_walk import map_children, nodes


def _rewrite_diag(node: IR) -> IR:
    """``diag(v) M`` -> ``v ⊙ M``: the per-sample diagonal matrix acts elementwise on a batch."""
    if isinstance(node, Bin) and node.op == "mat":
        chain: list[IR] = []

        def flatten(n: IR) -> None:
            if isinstance(n, Bin) and n.op == "mat":
                flatten(n.a)
                flatten(n.b)
            else:
                chain.append(n)

        flatten(node)
        for i, item in enumerate(chain):
            if isinstance(item, Diag) and i + 1 < len(chain):
                rest: IR = chain[i + 1]
                for nxt in chain[i + 2 :]:
                    rest = Bin("mat", rest, nxt)
                out: IR = Bin("had", _rewrite_diag(item.a), _rewrite_diag(rest))
                for prev in reversed(chain[:i]):
                    out = Bin("mat", _rewrite_diag(prev), out)
                return out
    return map_children(node, _rewrite_diag)  # type: ignore[no-any-return]


def _has_fn(node: IR) -> bool:
    return any(isinstance(n, Fn) for _, n in nodes(node))


def _one_value(a: IR, b: IR) -> bool:
    """``a_1 (1 − a_1)``: both factors are functions of one layer's A (or Z) alone, the
    derivative written through the activation; elementwise where the matrix product does
    not fit, as ``σ(z)(1 − σ(z))`` is."""
    syms = {(n.base, n.index) for x in (a, b) for _, n in nodes(x) if isinstance(n, Sym)}
    if len(syms) != 1 or next(iter(syms))[0] not in ("A", "Z"):
        return False
    return all(any(isinstance(n, Sym) for _, n in nodes(x)) for x in (a, b))
