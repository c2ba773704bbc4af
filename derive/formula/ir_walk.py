"""The walks over the IR: its nodes with their paths, a node replaced, layers renumbered,
and a node as a reader writes it.

A walk goes through a node's children in the order they are written (``Chain``'s items;
never into ``Helper``'s arguments, which the resolver reads by themselves).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

from derive.formula.ir import (
    IR,
    Amb,
    Bin,
    Chain,
    Cmp,
    Conv,
    Entry,
    Fn,
    Gt0,
    Helper,
    ISum,
    Mode,
    Neg,
    Node,
    Num,
    Ones,
    Pow,
    Scalar,
    Sum,
    Sym,
    T,
)
from derive.formula.layer_indices import IntIndex, RelIndex, index_text, shifted


def children(node: Node) -> tuple[Any, ...]:
    """A node's children, in the order they are written."""
    if isinstance(node, Chain):
        return node.items
    if isinstance(node, Helper):
        return ()
    return tuple(
        v
        for v in (getattr(node, f.name) for f in dataclasses.fields(node))  # type: ignore[arg-type]
        if isinstance(v, Node)
    )


def map_children(node: Any, fn: Callable[[Any], Any]) -> Any:
    """The node with ``fn`` applied to each child (the same node if none changes)."""
    if isinstance(node, Chain):
        items = tuple(fn(c) for c in node.items)
        return node if items == node.items else dataclasses.replace(node, items=items)
    if isinstance(node, Helper) or not isinstance(node, Node):
        return node
    changes = {}
    for f in dataclasses.fields(node):  # type: ignore[arg-type]
        v = getattr(node, f.name)
        if isinstance(v, Node):
            new = fn(v)
            if new is not v:
                changes[f.name] = new
    return dataclasses.replace(node, **changes) if changes else node  # type: ignore[type-var]


def with_child(node: Any, i: int, new: Any) -> Any:
    """The node with its ``i``-th child replaced."""
    if isinstance(node, Chain):
        return dataclasses.replace(node, items=(*node.items[:i], new, *node.items[i + 1 :]))
    names = [f.name for f in dataclasses.fields(node) if isinstance(getattr(node, f.name), Node)]
    return dataclasses.replace(node, **{names[i]: new})


def nodes(node: Any, path: tuple[int, ...] = ()) -> Iterator[tuple[tuple[int, ...], Any]]:
    """Every node of the IR with its path, parents before children."""
    yield path, node
    for i, child in enumerate(children(node)):
        yield from nodes(child, (*path, i))


def at(node: Any, path: tuple[int, ...]) -> Any:
    """The node at ``path``."""
    for i in path:
        node = children(node)[i]
    return node


def inside(node: IR, path: tuple[int, ...], fn: str) -> bool:
    """Whether the node at ``path`` sits inside a call of ``fn``."""
    return any(isinstance(up := at(node, path[:i]), Fn) and up.name == fn for i in range(len(path)))


def replace(node: Any, path: tuple[int, ...], new: Any) -> Any:
    """The IR with the node at ``path`` replaced by ``new`` (a new node)."""
    if not path:
        return new
    i = path[0]
    return with_child(node, i, replace(children(node)[i], path[1:], new))


def has_entries(node: Any) -> bool:
    """Whether the formula is an index form (an entry ``δ_{ij}`` anywhere in it)."""
    return any(isinstance(n, Entry) for _, n in nodes(node))


def mentions(node: IR, base: str) -> bool:
    """Whether the formula uses a symbol with this base name."""
    return any(isinstance(n, Sym) and n.base == base for _, n in nodes(node))


def default_layers(node: Any) -> Any:
    """Index forms in notes often drop the layer: k, b, δ, z are layer l's, a its input's."""
    if isinstance(node, Sym) and node.index is None and node.base in ("K", "b", "delta", "Z", "A"):
        return Sym(node.base, RelIndex("l", -1 if node.base == "A" else 0), node.lower)
    return map_children(node, default_layers)


def _product(node: IR) -> bool:
    return isinstance(node, Amb) or (isinstance(node, Bin) and node.op in ("mat", "had"))


def scope_sums(node: IR) -> IR:
    """``Σ_{i,j} δ_{ij} a_{i+u,j+v}``: a sum reaches to the end of its product, not one factor."""
    if isinstance(node, (Amb, Bin)) and _product(node):
        factors: list[IR] = []

        def flat(n: IR) -> None:
            if isinstance(n, (Amb, Bin)) and _product(n):
                flat(n.a)
                flat(n.b)
            else:
                factors.append(scope_sums(n))

        flat(node)
        out = factors[-1]
        for f in reversed(factors[:-1]):
            out = (
                dataclasses.replace(f, a=Bin("mat", f.a, out))
                if isinstance(f, ISum)
                else Bin("mat", f, out)
            )
        return out
    return map_children(node, scope_sums)  # type: ignore[no-any-return]


def shift_layers(node: Any, by: int, bases: frozenset[str], relative: bool = False) -> Any:
    """Every numbered symbol of ``bases`` ``S_k`` as ``S_(k+by)`` (another numbering);
    with ``relative`` also ``S_l`` as ``S_(l+by)`` (only some symbols renumbered, so a
    formula in l means something else too)."""
    if isinstance(node, Sym) and node.base in bases and isinstance(node.index, IntIndex):
        return Sym(node.base, IntIndex(node.index.k + by), node.lower)
    if relative and isinstance(node, Sym) and node.base in bases and node.index is not None:
        return Sym(node.base, shifted(node.index, by), node.lower)
    return map_children(node, lambda c: shift_layers(c, by, bases, relative))


def show(node: IR, python: bool = False) -> str:
    """A node as a reader writes it (``dZ2`` in NumPy formulas, ``δ_2`` in LaTeX)."""
    match node:
        case Sym(base, idx, _):
            name = str({"delta": "dZ" if python else "δ"}.get(base, base))
            if idx is None:
                return name
            k = index_text(idx)
            if python:
                return f"{name}{k}"
            return f"{name}_{{{k}}}" if len(k) > 1 else f"{name}_{k}"
        case T(a):
            return show(a, python) + "ᵀ"
        case Fn(name, order, arg):
            shown = {"generic": "f", "sigmoid": "σ"}.get(name, name)
            return f"{shown}{chr(39) * order}({show(arg, python)})"
        case Bin("mat", a, b):
            if isinstance(a, (Num, Scalar)) or (isinstance(a, Bin) and a.op == "div"):
                return f"({show(a, python)}) {show(b, python)}"
            return f"({show(a, python)} {show(b, python)})"
        case Bin("had", a, b):
            return f"({show(a, python)} ⊙ {show(b, python)})"
        case Num(value):
            return str(value)
        case Scalar(name):
            return str(name)
        case Bin("div", a, b):
            return f"{show(a, python)}/{show(b, python)}"
        case Sum(a, _):
            return f"Σ {show(a, python)}"
        case Bin(op, a, b):
            return f"({show(a, python)} {'+' if op == 'add' else '−'} {show(b, python)})"
        case Pow(a, n):
            return f"{show(a, python)}^{n}"
        case Neg(a):
            return f"−{show(a, python)}"
        case Conv(op, a, b, _):
            return f"({show(a, python)} {'⋆' if op == 'corr' else '*'} {show(b, python)})"
        case Amb(a, b, sign):
            return f"({show(a, python)} {sign} {show(b, python)})"
        case Chain(ops, items):
            signs = [" " if op == "m" else " ⊙ " for op in ops]
            return "(" + "".join(show(o, python) + s for o, s in zip(items, [*signs, ""])) + ")"
        case Mode(a, mode):
            return f"{show(a, python)}_{mode}"
        case Ones():
            return "1"
        case Gt0(a):
            return f"({show(a, python)} > 0)"
        case Cmp(a, op, c):
            return f"({show(a, python)} {op} {c})"
        case Entry(a, indices):  # w_{ki}: an entry of an index form
            written = ",".join(
                "".join(
                    ("−" if sg < 0 else "+" if n else "") + str(v) for n, (sg, v) in enumerate(t)
                )
                for t in indices
            )
            return f"{show(a, python)}[{written}]"
    return "(…)"
