"""Index-form formulas of CNN notes, checked by value: ``∂L/∂k_{uv} = Σ_{i,j} δ_{ij} a_{i+u,j+v}``.

Notes write one sample and one channel pair; the network has m samples and channels, so
the implicit indices are filled in by the tensor each symbol is: a map of layer j has
(sample n, channel c_j), a kernel K_j (c_j, c_{j-1}), a bias b_j (c_j). Implicit indices
of the left-hand side are free; the others are summed, within each term that uses them
(the sum over samples of a weight gradient, over the next layer's channels of a delta).
Spatial indices are 0-based; entries outside a map or kernel are 0 (so the full
convolution needs no padding written). Everything is evaluated on NumPy grids, one axis
per index: no loop over entries. Which axes each symbol has is ``index_layout``'s; a Σ
over a letter no entry uses (Nielsen's Σ_x) is the sum over the samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from derive.core import numeric
from derive.formula.index_layout import SAMPLES_NOTE, Layout, used_letters
from derive.formula.ir import (
    IR,
    Amb,
    Bin,
    Cmp,
    Entry,
    Fn,
    FormulaError,
    Gt0,
    ISum,
    Neg,
    Num,
    Partial,
    Pow,
    Scalar,
    Sym,
    Where,
)
from derive.formula.ir_walk import children, nodes, scope_sums


@dataclass
class Value:
    """An array over the grid of index variables, and the variables it depends on."""

    array: Any
    deps: frozenset[str]


class IndexForm(Layout):
    """Evaluates one index-form right-hand side for a left-hand tensor of one layer."""

    def __init__(self, resolver: Any, env: dict[Any, Any], lhs: Any, lhs_entries: tuple[str, ...]):
        self.r = resolver
        self.env = env
        self.lhs = lhs
        # the left side's axes: implicit (n, channels) first, then its written indices
        self.lhs_entries = lhs_entries
        written = iter(lhs_entries)
        layout = self.layout(lhs, len(lhs_entries))
        self.free = [a if a is not None else next(written, "") for a in layout]
        self.free += list(written)  # more written than the left side has: refused in run
        self.sizes: dict[str, int] = {}
        self.samples: dict[str, str] = {}  # a sum's letter that indexes nothing: the samples
        self.notes: list[str] = []  # the readings used, said in the answer

    # -------------------------------------------------------------- evaluation

    def run(self, rhs: IR, want_shape: tuple[int, ...]) -> Any:
        """The value of the index form on the grid of index values."""
        if len(want_shape) != len(self.free) or "" in self.free:
            written = len(want_shape) - len(self.free) + len(self.lhs_entries)
            if "" in self.free:  # fewer written than its entries' axes
                written = self.layout(self.lhs, len(self.lhs_entries)).count(None)
            raise FormulaError(
                f"the left side ({self.lhs.name}) takes {written} entry indices in a formula "
                f"written entry by entry, not {len(self.lhs_entries)}"
            )
        for var, size in zip(self.free, want_shape):
            self.sizes[var] = size
        rhs = scope_sums(rhs)
        self.collect_sizes(rhs)
        self.order = list(self.sizes)
        terms = self.additive(rhs)
        total: Any = 0.0
        for sign, term in terms:
            v = self.value_of(term)
            extra = [x for x in v.deps if x not in self.free]
            arr = v.array
            if extra:  # implicit sums: samples, the other layer's channels
                arr = arr.sum(axis=tuple(self.order.index(x) for x in extra), keepdims=True)
            total = total + sign * arr
        total = np.broadcast_to(total, [self.sizes[x] if x in self.free else 1 for x in self.order])
        out = np.asarray(total).reshape([self.sizes[x] for x in self.order if x in self.free])
        # the grid's axis order -> the left side's axis order
        have = [x for x in self.order if x in self.free]
        return np.transpose(out, [have.index(x) for x in self.free])

    def additive(self, node: IR, sign: int = 1) -> list[tuple[int, IR]]:
        """Whether the form is a sum of terms (each evaluated on its own)."""
        match node:
            case Bin("add", a, b):
                return self.additive(a, sign) + self.additive(b, sign)
            case Bin("sub", a, b):
                return self.additive(a, sign) + self.additive(b, -sign)
            case Neg(a):
                return self.additive(a, -sign)
        return [(sign, node)]

    def collect_sizes(self, node: IR) -> None:
        """The range of each summed index: the size of an axis it indexes plainly."""
        if isinstance(node, Sym):
            node = Entry(node, ())
        if isinstance(node, Partial) and isinstance(node.sym, Entry):
            node = Entry(Partial(node.sym.a, node.loss), node.sym.indices)
        if isinstance(node, Entry):
            sym, values = self.tensor(node.a)
            shape = np.shape(values)
            layout = self.layout(sym, len(node.indices))
            for var, size in zip(layout, shape):
                if var is not None:
                    self.sizes.setdefault(var, size)
            written = [size for a, size in zip(layout, shape) if a is None]
            if len(node.indices) != len(written):
                raise FormulaError(
                    f"{sym.name} takes {len(written)} entry indices, not {len(node.indices)}: "
                    "in a formula written entry by entry each symbol takes its unit's index "
                    "(δ_j, w_{kj}; a letter read as the layer, such as l, is none)"
                )
            for terms, size in zip(node.indices, written):
                if len(terms) == 1 and terms[0][0] == 1 and isinstance(terms[0][1], str):
                    self.sizes.setdefault(terms[0][1], size)
            return
        if isinstance(node, ISum):
            self.collect_sizes(node.a)
            for k, i in node.unless:
                if k not in self.sizes or i not in self.sizes:
                    raise FormulaError(f"Σ_{{{k}≠{i}}}: {i} is no index of an entry")
                if self.sizes[k] != self.sizes[i]:
                    raise FormulaError(f"Σ_{{{k}≠{i}}}: {k} and {i} run over different sizes")
                note = f"Σ_{{{k}≠{i}}} read as the sum over {k} without its term {k} = {i}"
                self.notes += [note] if note not in self.notes else []
            for var in node.letters:
                if var in self.sizes:
                    continue
                samples = "n" in self.sizes and "n" not in node.letters
                if samples and var not in used_letters(node.a):
                    self.samples[var] = "n"  # Σ_x a_k (a_j − y_j): over the training inputs
                    self.notes.append(SAMPLES_NOTE.format(var=var))
                    continue
                raise FormulaError(f"Σ over {var}: {var} indexes no map or kernel plainly")
            return
        for c in children(node):
            self.collect_sizes(c)

    def grid(self, var: str) -> Any:
        """The index values of one symbol's axes."""
        shape = [1] * len(self.order)
        shape[self.order.index(var)] = self.sizes[var]
        return np.arange(self.sizes[var]).reshape(shape)

    def value_of(self, node: IR) -> Value:
        """The array of one symbol's entries, laid out by its axes."""
        match node:
            case Entry():
                return self.entry(node)
            case Partial(Entry(a, indices), loss):  # ∂C/∂a^L_j
                return self.entry(Entry(Partial(a, loss), indices))
            case Sym():  # a bias b^{(l)}: one number per channel, no written index
                return self.entry(Entry(node, ()))
            case Num(value):
                return Value(float(value), frozenset())
            case Scalar(name):
                number = self.r.scalar(name, node.written)
                return Value(float(numeric.evaluate(number, self.env)), frozenset())
            case Amb(a, b, _) | Bin("mat" | "had", a, b):
                x, y = self.value_of(a), self.value_of(b)
                return Value(x.array * y.array, x.deps | y.deps)
            case Bin("div", a, b):
                x, y = self.value_of(a), self.value_of(b)
                if np.any(np.abs(np.asarray(y.array)) < 1e-12):  # ReLU's zeros: no verdict
                    raise FormulaError("division by an entry that is 0 at the checker's values")
                return Value(x.array / y.array, x.deps | y.deps)
            case Bin("add" | "sub" as op, a, b):
                x, y = self.value_of(a), self.value_of(b)
                return Value(x.array + (1 if op == "add" else -1) * y.array, x.deps | y.deps)
            case Neg(a):
                x = self.value_of(a)
                return Value(-x.array, x.deps)
            case ISum(letters, a, unless):
                letters = tuple(dict.fromkeys(self.samples.get(v, v) for v in letters))
                body = self.value_of(a)
                for k, i in unless:  # Σ_{k≠i}: the terms with k = i left out
                    body = Value(body.array * (self.grid(k) != self.grid(i)), body.deps | {k, i})
                axes = tuple(self.order.index(v) for v in letters if v in body.deps)
                arr = np.sum(body.array, axis=axes, keepdims=True) if axes else body.array
                return Value(arr, body.deps - set(letters))
            case Fn(_, _, arg):
                x = self.value_of(arg)
                return Value(self.apply(node, x.array), x.deps)
            case Pow(a, n):
                x = self.value_of(a)
                return Value(x.array ** float(n), x.deps)
            case Where(cond, p, q):  # cases: p where the condition holds, else q
                held, yes, no = self.value_of(cond), self.value_of(p), self.value_of(q)
                array = held.array * yes.array + (1 - held.array) * no.array
                return Value(array, held.deps | yes.deps | no.deps)
            case Gt0(a) | Cmp(a, _, _):  # [z_j > 0]: 1 where it holds, else 0
                x = self.value_of(a)
                rel, c = (">", 0.0) if isinstance(node, Gt0) else (node.op, float(node.c))
                holds = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}
                return Value(holds[rel](x.array, c).astype(float), x.deps)
        raise FormulaError(f"cannot use {node.tag()!r} in an index formula")

    def apply(self, node: Fn, values: Any) -> Any:
        """An activation (or its derivative) entry by entry; f is the layer's own."""
        from sympy.matrices.expressions import MatrixSymbol

        layer = next(
            (self.layer_of(self.r.symbol(n.a)) for _, n in nodes(node.arg) if isinstance(n, Entry)),
            1,
        )
        stand_in = MatrixSymbol(f"Z_{layer}", 1, 1)  # names the layer whose f it is
        f = self.r.activation(node.name, stand_in)
        for _ in range(node.order):
            f = f.derivative()
        return numeric.evaluate(f, {stand_in: np.asarray(values, dtype=float)})

    def tensor(self, node: IR) -> tuple[Any, Any]:
        """The symbol whose layout an indexed node has, and its values in this trial:
        a symbol, or a gradient written on the right (``∂C/∂a^L_j``: dA_L's entries)."""
        if isinstance(node, Partial):
            value = self.r.gradient(node)
            sym = next(iter(value.free_symbols & set(self.env)), None) if value.args else value
            if sym is None or not hasattr(sym, "name"):
                raise FormulaError("cannot index this gradient")
            return sym, numeric.evaluate(value, self.env)
        if not isinstance(node, Sym):
            raise FormulaError("an entry index belongs on a symbol, e.g. δ_{ij}")
        sym = self.r.symbol(node)
        return sym, self.env[sym]

    def entry(self, node: Entry) -> Value:
        """One indexed entry of a symbol (``w^{l}_{jk}``) as an array over the index grid."""
        sym, values = self.tensor(node.a)
        data = np.asarray(values, dtype=float)
        layout = self.layout(sym, len(node.indices))
        index: list[Any] = []
        deps: set[str] = set()
        valid: Any = True
        written = [size for a, size in zip(layout, data.shape) if a is None]
        if len(node.indices) != len(written):
            raise FormulaError(
                f"{sym.name} takes {len(written)} entry indices, not {len(node.indices)}"
            )
        terms_of = iter(node.indices)
        for var, size in zip(layout, data.shape):
            if var is not None:
                if self.sizes.get(var, size) > size:  # an implicit axis the others' is longer
                    raise FormulaError(f"{sym.name}'s axes do not fit the other symbols'")
                index.append(self.grid(var))
                deps.add(var)
                continue
            pos: Any = 0
            for sign, item in next(terms_of):
                if isinstance(item, str):
                    if item not in self.sizes:
                        raise FormulaError(f"index {item} is neither on the left nor summed")
                    pos = pos + sign * self.grid(item)
                    deps.add(item)
                else:
                    pos = pos + sign * item
            inside = (pos >= 0) & (pos < size)
            valid = valid & inside
            index.append(np.clip(pos, 0, size - 1))
        return Value(np.where(valid, data[tuple(index)], 0.0), frozenset(deps))
