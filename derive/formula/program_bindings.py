"""How a snippet's names get their values: the program's names, the forward's cache,
unpacked tuples and in-place item assignment (NumPy's semantics, built over the program's
builder). A mixin of the snippet reader (``program_snippet.Reader``), split from it so that
each reads top to bottom."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sympy.matrices.expressions import MatAdd

from derive.core import nodes as N
from derive.core.program import from_end, is_scalar
from derive.core.staged import StagedDerivation
from derive.formula.ir import FormulaError
from derive.formula.program_lines import Names, _Unknown
from derive.formula.program_slips import rebuild
from derive.spec import program_grammar as G


class Bindings:
    """The reader's lookups of names and its item assignments."""

    sd: StagedDerivation
    names: Names

    def set_item(self, st: G.SetItem, old: Any, build: Any) -> Any:
        """``A[A > 0] = 1`` as ``where(A > 0, 1, A)``; ``A[range(N), y] op= v`` as ``A`` with
        each row's label entry replaced (or updated) by ``v``: NumPy's in-place semantics."""
        name = G.Name(st.target, st.line)
        value = st.expr if st.op is None else G.Bin(st.op, name, st.expr, st.line)
        if isinstance(st.index, G.Compare):
            where = G.Call("where", (st.index, value, name), None, st.line)
            return build(where, st.line, st.text)
        if isinstance(st.index, G.SliceOf):  # A[:, a:b] op= v: that block replaced
            if is_scalar(old):
                raise FormulaError(f"line {st.line}: {st.target} is not a matrix to slice")
            block = st.expr if st.op is None else G.Bin(st.op, st.index, st.expr, st.line)
            new = build(block, st.line, st.text)
            idx = st.index
            lo = 0 if idx.start is None else build(idx.start, st.line, st.text)
            hi = old.shape[idx.axis] if idx.stop is None else build(idx.stop, st.line, st.text)
            try:  # NumPy's a[:, -H:] counts from the end
                lo, hi = (from_end(v, old.shape[idx.axis], idx.axis) or v for v in (lo, hi))
                return N.replace_block(old, lo, hi, idx.axis, new)
            except N.ShapeMismatch as err:
                raise FormulaError(f"line {st.line}: {err}") from None
        assert isinstance(st.index, G.Pick)
        if is_scalar(old):
            raise FormulaError(f"line {st.line}: {st.target} is not a matrix to index")
        labels = self.names.find(st.index.labels)
        if labels is None or not isinstance(labels[1], N.Labels):
            raise FormulaError(f"line {st.line}: {st.index.labels!r} are not the program's labels")
        hot = N.OneHot(labels[1], tuple(old.shape))
        pick = G.Pick(name, st.index.labels, st.index.length, st.line)
        entry = st.expr if st.op is None else G.Bin(st.op, pick, st.expr, st.line)
        # each row's entry at its label moves by (new − old): A + onehot ⊙ (new − old)
        change = build(G.Bin("-", entry, pick, st.line), st.line, st.text)
        try:
            fitted = N.fit(change, hot, "'[]='")[0]
        except N.ShapeMismatch as err:  # one line, not a traceback (``-row_sum.T`` of a
            # 1-d sum: the reader has no 1-d arrays, and its row does not fit N entries)
            raise FormulaError(
                f"line {st.line}: the value set at {st.target}'s label entries does not fit them "
                f"({err}); write it as a column, one entry per row (keepdims=True, no .T)"
            ) from None
        # an unevaluated sum: SymPy's canonical MatAdd re-evaluates both sides deeply
        return MatAdd(old, N.hadamard(hot, fitted))

    def known(self) -> str:
        """The program's names, for an error message (the first 20)."""
        shown = ", ".join(list(self.names.values)[:20])
        return f"the program's names are {shown}"

    def value_of(self, name: str, line: int, notes: list[str]) -> Any:
        """The program's value of ``name`` (a loose reading noted), or an unknown-name error."""
        found = self.names.find(name)
        if found is None:
            raise FormulaError(
                f"line {line}: unknown name {name!r}; {self.known()}; "
                f"declare it with --symbol {name}=EXPR"
            )
        real, value = found
        if real != name and name not in self.names.declared:
            note = f"read {name} as the program's {real}"
            if note not in notes:
                notes.append(note)
        return value

    def looked_up(self, lookup: G.Lookup, target: str, line: int, notes: list[str]) -> Any:
        """``x = cache['key']``: the program's value the forward's cache dict names for
        the key (``[backward] cache``), else named by the key, else by the target."""
        named = dict(self.sd.graph.spec.cache_keys).get(lookup.key)
        for name in (named, lookup.key, target) if named else (lookup.key, target):
            found = self.names.find(name)
            if found is not None:
                real, value = found
                note = f"read {lookup.container}[{lookup.key!r}] as {real}"
                if real != lookup.key and note not in notes:
                    notes.append(note)
                return value
        return _Unknown(f"taken from {lookup.container}[{lookup.key!r}] on line {line}")

    def unpack(self, st: G.Unpack, env: dict[str, Any], notes: list[str], build: Any) -> None:
        """``N, D = x.shape`` binds sizes; ``a, b = cache`` binds each name to the
        program's value of that name, or by place where the program names its forward's
        cache (an unknown one is an error only where it is used)."""
        if isinstance(st.expr, G.ShapeOf) and st.expr.axis is None:
            x = build(st.expr.x, st.line, st.text)
            if len(st.targets) != 2 or not hasattr(x, "shape"):
                raise FormulaError(f"line {st.line}: {st.text}: a 2-D shape unpacks to two names")
            for name, size in zip(st.targets, x.shape, strict=True):
                env[name] = size
            return
        if st.values:  # a, b = u, v: every value built before any name is bound
            built = [build(v, st.line, st.text) for v in st.values]
            env.update(zip(st.targets, built, strict=True))
            return
        where = f"unpacked on line {st.line}"
        order = self.sd.graph.spec.cache
        by_place = isinstance(st.expr, G.Name) and len(order) == len(st.targets) > 1
        for k, name in enumerate(st.targets):
            if name == "_":
                continue
            if by_place and order[k].endswith(".shape"):  # a value's shape, cached
                env[name] = self.sizes_of(order[k].removesuffix(".shape"), name, k, notes)
                continue
            if by_place and order[k] != name:  # the forward's cache, in its order
                found = self.names.find(order[k])
                if found is not None:
                    env[name] = found[1]
                    notes.append(f"read {name} as the program's {found[0]} (the cache's #{k + 1})")
                else:
                    env[name] = _Unknown(f"{where}, the forward's {order[k]}")
                continue
            found = self.names.find(name)
            if found is None:
                env[name] = _Unknown(where)
                continue
            real, env[name] = found
            if real != name:
                notes.append(f"read {name} as the program's {real}")

    def sizes_of(self, of: str, name: str, k: int, notes: list[str]) -> Any:
        """The cache's ``x.shape`` entry: x's sizes, for ``y.reshape(name, order=…)``."""
        found = self.names.find(of)
        shape = getattr(found[1], "shape", None) if found is not None else None
        if shape is None:
            return _Unknown(f"the cache's #{k + 1}, the shape of {of}, which is not a matrix")
        notes.append(f"read {name} as the shape of the program's {of} (the cache's #{k + 1})")
        return Sizes(f"the shape of {of}, read only by x.reshape({name})", tuple(shape))


class Sizes(_Unknown):
    """A shape a snippet holds in a name: read only by ``x.reshape(name)`` (any other use
    is an unknown name's error)."""

    def __init__(self, where: str, sizes: tuple[Any, ...]) -> None:
        super().__init__(where)
        self.sizes = sizes


def own_shapes(
    expr: G.Expr, env: dict[str, Any], line: int, value: Callable[[G.Expr], Any], notes: list[str]
) -> G.Expr:
    """``expr`` with each ``y.reshape(shape, order=…)`` read as ``y`` itself, where
    ``shape`` holds y's own shape (a reshape to the same shape moves no entry, in either
    order); any other reshape to a named shape is not read."""
    while True:
        node = next(
            (n for n in G.walk(expr) if isinstance(n, G.Call) and n.fn == "reshape_as"), None
        )
        if node is None:
            return expr
        x, named = node.args
        assert isinstance(named, G.Name)
        sizes = env.get(named.id)
        if not isinstance(sizes, Sizes):
            raise FormulaError(
                f"line {line}: x.reshape({named.id}): cannot tell which shape {named.id} holds "
                "(a program names a cached shape as x.shape in [backward] cache)"
            )
        got = getattr(value(x), "shape", None)
        if got is None or tuple(got) != sizes.sizes:
            raise FormulaError(
                f"line {line}: x.reshape({named.id}) changes the shape of its value: not read "
                "(the order of the entries decides where each goes); write it in matrix form"
            )
        note = f"read x.reshape({named.id}, …) as x: {named.id} is its own shape"
        if note not in notes:
            notes.append(note)
        expr = rebuild(expr, node, x)
