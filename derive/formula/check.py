"""Check a hand-written formula against the derivation and say what is wrong with it.

Pipeline: parse (our lark grammar) -> IR -> SymPy over the network's symbols with every
width a distinct symbol (so shapes are checked) -> equivalence with the derived quantity
(structural equality, else random concrete widths and values) -> if wrong, the usual
mistakes are tried one at a time and the one that makes the formula right is named ->
the right formula in the user's own notation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import sympy
from sympy.matrices.expressions import MatrixSymbol

from derive import numeric
from derive.derivation import Derivation, derive
from derive.formula.indexed import IndexForm
from derive.formula.parse import IR, FormulaError, _has_entries, parse
from derive.formula.resolve import (
    Budget,
    Context,
    Resolver,
    ShapeMismatch,
    UnknownSymbol,
    cotangent_symbol,
    unique,
)
from derive.nodes import is_tensor, tensor_shape
from derive.notation import Notation
from derive.spec import Conv2d, Layer, Network, SpecError

RTOL = 1e-7
ATOL = 1e-9
TRIALS = 3


@dataclass
class CheckResult:
    """The verdict on one formula."""

    verdict: str
    quantity: str
    expected: str
    method: str
    diagnosis: str | None = None
    shape_error: str | None = None
    notes: list[str] = field(default_factory=list)
    formula: str = ""

    @property
    def correct(self) -> bool:
        return self.verdict == "correct"

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "quantity": self.quantity,
            "expected": self.expected,
            "method": self.method,
            "diagnosis": self.diagnosis,
            "shape_error": self.shape_error,
            "notes": self.notes,
        }

    def __str__(self) -> str:
        lines = [f"{self.verdict.upper()}: {self.quantity}"]
        if self.shape_error:
            lines.append(f"  shapes do not fit: {self.shape_error}")
        if self.diagnosis:
            lines.append(f"  what is wrong: {self.diagnosis}")
        lines += [f"  note: {n}" for n in self.notes]
        lines.append(f"  derived: {self.expected}")
        lines.append(f"  checked: {self.method}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- quantities


@dataclass(frozen=True)
class Quantity:
    """What the left-hand side names: a delta, a gradient or an activation cotangent."""

    kind: str  # delta | grad | cot | fwd
    base: str  # delta, W, K, b, A, Z
    idx: Any  # ("int", k) | ("rel", "l"|"L", off)
    wrt_loss: str = ""  # "L" for ∂L/∂Z (whole loss), "" for δ
    entries: tuple[str, ...] = ()  # ∂L/∂k_{uv}: the entry indices written on the left

    def layers(self, d: Derivation) -> list[int]:
        """The concrete layers the quantity stands for (all hidden layers for a generic l)."""
        depth = d.depth
        if self.idx[0] == "int":
            ks = [int(self.idx[1])]
        elif self.idx[1] == "L":
            ks = [depth + self.idx[2]]
        else:
            off = self.idx[2]
            if self.kind == "delta":
                ks = [k - off for k in range(1, depth)]  # the recurrence: hidden layers
            elif self.kind == "cot":  # ∂C/∂A_l is a step for the layers that feed another
                ks = [k - off for k in sorted(d.cotangents)]
            else:
                ks = [k - off for k in range(1, depth + 1)]
            if not ks:
                raise FormulaError("this network has no hidden layer, so no generic layer l")
        for k in ks:
            k_abs = k + (self.idx[2] if self.idx[0] == "rel" and self.idx[1] == "l" else 0)
            if not 1 <= k_abs <= depth:
                raise FormulaError(f"no layer {k_abs} in this {depth}-layer network")
        return ks

    def layer_value(self, k: int) -> int:
        return k + (self.idx[2] if self.idx[0] == "rel" and self.idx[1] == "l" else 0)

    def expected(self, d: Derivation, k: int) -> Any:
        k = self.layer_value(k)
        if self.kind == "delta":
            rhs = d.deltas[k].rhs
            if self.wrt_loss == "L" and d.per_sample:
                from derive.nodes import scale

                return scale(rhs, d.program.scale)
            return rhs
        if self.kind == "grad":
            if f"{self.base}_{k}" not in d.gradients:
                raise UnknownSymbol(f"layer {k} has no {self.base}")
            return d.gradients[f"{self.base}_{k}"].rhs
        if self.kind == "fwd":
            for eq in d.program.equations:
                if getattr(eq.out, "name", "") == f"{self.base}_{k}":
                    return eq.rhs
            raise UnknownSymbol(f"no {self.base}_{k} in this network")
        if k not in d.cotangents:
            raise UnknownSymbol(f"∂/∂A_{k} is not a step of this derivation")
        return d.cotangents[k].rhs

    def label(self, d: Derivation) -> str:
        idx = self.idx
        k = str(idx[1]) if idx[0] == "int" else (idx[1] + (f"{idx[2]:+d}" if idx[2] else ""))
        k = k if len(k) == 1 else f"{{{k}}}"  # δ_{l-1}, not δ_l-1
        if self.kind == "delta":
            return f"δ_{k}" if not self.wrt_loss else f"∂L/∂Z_{k}"
        if self.kind == "grad":
            return f"∂L/∂{self.base}_{k}"
        if self.kind == "fwd":
            return f"{self.base}_{k}"
        return f"∂{'C' if d.per_sample else 'L'}/∂A_{k}"


def quantity_of(lhs: IR) -> Quantity:
    """The quantity an LHS names (``\\delta_1``, ``dW2``, ``∂L/∂b_1``, ``∇_{W_2} L``)."""
    loss = ""
    entries: tuple[str, ...] = ()
    if lhs[0] == "entry" or (lhs[0] == "quantity" and lhs[1][0] == "entry"):
        node = lhs if lhs[0] == "entry" else lhs[1]
        for terms in node[2]:
            if len(terms) != 1 or terms[0][0] != 1 or not isinstance(terms[0][1], str):
                raise FormulaError("the left side's entry indices are plain letters, e.g. k_{uv}")
        entries = tuple(terms[0][1] for terms in node[2])
        lhs = node[1] if lhs[0] == "entry" else ("quantity", node[1], lhs[2])
    if lhs[0] == "quantity":
        sym = lhs[1]
        loss = "L" if lhs[2] in ("L", "J") else ""  # ∂C/∂Z is the per-sample δ
        if sym[0] != "sym":
            raise FormulaError("∂L/∂… must name one symbol, such as W_2")
        mapping = {
            "W": ("grad", "W"),
            "b": ("grad", "b"),
            "K": ("grad", "K"),
            "Z": ("delta", "delta"),
            "A": ("cot", "A"),
        }
    elif lhs[0] == "sym":
        sym = lhs
        mapping = {
            "delta": ("delta", "delta"),
            "dW": ("grad", "W"),
            "db": ("grad", "b"),
            "dA": ("cot", "A"),
            "dK": ("grad", "K"),
            "Z": ("fwd", "Z"),
            "A": ("fwd", "A"),
        }
    else:
        raise FormulaError(
            "the left-hand side must name a quantity: δ_l, dZ1, ∂L/∂W_2, dW2, db1, dA1, ∇_{W_2} L"
        )
    base = sym[1]
    if base not in mapping:
        raise FormulaError(
            f"the left-hand side {base} is not a derived quantity "
            "(δ_l, dZ, ∂L/∂W, ∂L/∂b, ∂L/∂K, dW, db, dK, dA, or a forward Z_l, A_l)"
        )
    if sym[2] is None:
        raise FormulaError(f"the left-hand side needs a layer index, e.g. {base}_1")
    kind, qbase = mapping[base]
    return Quantity(kind, qbase, sym[2], loss if kind == "delta" else "", entries)


# --------------------------------------------------------------------------- networks


def symbolic_network(net: Network) -> Network:
    """The same network with every width a distinct symbol (concrete widths get n_k).

    A CNN keeps its image sizes and channels (the conv arithmetic needs numbers); its
    dense widths become symbols. A concrete batch size stays as it is: a network of one
    sample (``batch = 1``) has per-sample formulas (``∂C/∂b = δ``, no sum over samples).
    """
    if net.is_conv:
        used = set(net.size_names)
        layers: list[Any] = []  # the image layers kept, dense widths made symbols
        for k, layer in enumerate(net.layers, start=1):
            if isinstance(layer, Layer) and isinstance(layer.width, int):
                name = f"n_{k}"
                while name in used:
                    name = "n" + name
                used.add(name)
                layer = Layer(name, layer.activation)
            layers.append(layer)
        return net.with_(layers=tuple(layers))
    used = {w for w in (*net.widths, net.batch) if isinstance(w, str)}
    widths = []
    for k, w in enumerate(net.widths):
        if isinstance(w, int):
            name = f"n_{k}"
            while name in used:
                name = "n" + name
            used.add(name)
            widths.append(name)
        else:
            widths.append(w)
    dense = tuple(Layer(w, layer.activation) for w, layer in zip(widths[1:], net.dense_layers))
    return net.with_(input_width=widths[0], layers=dense)


def concrete_widths(net: Network, sym: Network) -> dict[str, Any]:
    """The width each symbol of ``symbolic_network(net)`` stands for (``n_2`` -> 4)."""
    out: dict[str, Any] = {}
    if not net.is_conv:
        out[str(sym.input_width)] = net.input_width
    for mine, theirs in zip(sym.layers, net.layers):
        if isinstance(mine, Layer) and isinstance(theirs, Layer):
            out[str(mine.width)] = theirs.width
    return out


def _flip(net: Network, what: str) -> Network:
    if what == "convention":
        return net.with_(convention="row" if net.convention == "column" else "column")
    return net.with_(delta="mean" if net.delta == "per_sample" else "per_sample")


# --------------------------------------------------------------------------- numbers


def random_env(d: Derivation, rng: np.random.Generator) -> dict[Any, Any]:
    """Random distinct widths, parameters, data, and every derived value, for one trial."""
    prog = d.program
    env: dict[Any, Any] = {}
    symbols = [w for w in (*prog.widths, prog.batch) if isinstance(w, sympy.Symbol)]
    # distinct from each other and from a concrete batch, so shapes tell operands apart
    free = [v for v in range(2, 10) if v != prog.batch]
    sizes = rng.choice(free, size=len(symbols), replace=False)
    env.update({s: int(v) for s, v in zip(symbols, sizes)})

    def dims(sym: Any) -> tuple[int, ...]:
        return tuple(s if isinstance(s, int) else int(s.xreplace(env)) for s in sym.shape)

    for p in prog.params:
        env[p] = rng.normal(0.0, 0.6, size=dims(p))
    x, y = prog.inputs
    env[x] = rng.normal(size=dims(x))
    yshape = dims(y)
    if d.network.loss.name == "cross_entropy":
        axis = 0 if prog.column else 1
        if len(yshape) != 2:
            axis = 1
        raw = rng.uniform(0.1, 1.0, size=yshape)
        env[y] = raw / raw.sum(axis=axis, keepdims=True)
    elif d.network.loss.name == "binary_cross_entropy":
        env[y] = rng.uniform(0.05, 0.95, size=yshape)
    else:
        env[y] = rng.normal(size=yshape)
    for inp in prog.inputs[2:]:  # the generic layer's seed delta
        env[inp] = rng.normal(size=dims(inp))
    for eq in prog.equations:
        for s in eq.rhs.free_symbols:
            if isinstance(s, sympy.Symbol) and s not in env and not isinstance(s, MatrixSymbol):
                env[s] = float(rng.uniform(0.1, 0.6))
    for eq in prog.equations[:-1]:
        env[eq.out] = numeric.evaluate(eq.rhs, env)
    for k in range(d.depth, 0, -1):
        env[d.deltas[k].lhs] = numeric.evaluate(d.deltas[k].rhs, env)
    for k, st in d.cotangents.items():
        env[cotangent_symbol(k, st.lhs.shape)] = numeric.evaluate(st.rhs, env)
    return env


class Checker:
    """Checks formulas against one network; derivations are made once and reused."""

    def __init__(self, spec: Any) -> None:
        base = spec.network if isinstance(spec, Derivation) else derive(spec).network
        self.network = base
        self.sym_network = symbolic_network(base)

    @cached_property
    def d(self) -> Derivation:
        return derive(self.sym_network)

    @cached_property
    def pair(self) -> Derivation | None:
        """For a generic conv formula on a CNN without two conv layers in a row: the same
        network with a second conv layer (stride 1) after its first: unpadded with the same
        kernel if the later layers still fit, else 3×3 'same', else 1×1."""
        net = self.sym_network
        if not net.is_conv:
            return None
        layers = list(net.layers)
        for i, layer in enumerate(layers):
            if isinstance(layer, Conv2d):
                if i + 1 < len(layers) and isinstance(layers[i + 1], Conv2d):
                    return None
                k = layer.kernel if isinstance(layer.kernel, int) else 3
                channels = layer.channels if isinstance(layer.channels, int) else 2
                for kernel, padding in ((k, "valid"), (3, "same"), (1, "valid")):
                    extra = Conv2d(channels + 1, kernel, 1, padding, layer.activation)
                    try:
                        inserted = net.with_(layers=(*layers[: i + 1], extra, *layers[i + 1 :]))
                    except SpecError:
                        continue
                    self._pair_layer = (i + 1, extra)
                    return derive(inserted)
        return None

    def other(self, what: str) -> Derivation:
        key = f"_other_{what}"
        if key not in self.__dict__:
            self.__dict__[key] = derive(_flip(self.sym_network, what))
        return self.__dict__[key]  # type: ignore[no-any-return]

    def envs(self, d: Derivation, n: int = TRIALS) -> list[dict[Any, Any]]:
        key = ("envs", id(d), n)
        cache = self.__dict__.setdefault("_env_cache", {})
        if key not in cache:
            rngs = [np.random.default_rng(1000 + i) for i in range(n)]
            cache[key] = [random_env(d, r) for r in rngs]
        return cache[key]  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ equivalence

    def matches(
        self, d: Derivation, q: Quantity, rhs: IR, trials: int = TRIALS
    ) -> tuple[bool, str]:
        """Whether some shape-consistent reading of ``rhs`` equals the quantity everywhere."""
        if _has_entries(rhs):
            return self.matches_index_form(d, q, rhs, trials)
        per_layer: list[tuple[list[Any], Any]] = []
        generic = q.idx[0] == "rel" and q.idx[1] == "l"
        skipped: UnknownSymbol | None = None
        for k in q.layers(d):
            try:
                want = q.expected(d, k)
                readings = unique(Resolver(self._context(d, k)).readings(rhs))
            except UnknownSymbol as err:
                if not generic or not d.network.is_conv:
                    raise
                skipped = skipped or err  # layer l of a CNN: only layers of the right kind
                continue
            per_layer.append((readings, want))
        if not per_layer:
            return self._on_pair(d, self.matches, q, rhs, trials, skipped)
        self._readings = max(len(readings) for readings, _ in per_layer)
        if all(any(r == want for r in readings) for readings, want in per_layer):
            return True, "symbolic"
        for i in range(max(len(r) for r, _ in per_layer)):
            ok = True
            for readings, want in per_layer:
                r = readings[min(i, len(readings) - 1)]
                if not self._numeric_equal(d, r, want, trials):
                    ok = False
                    break
            if ok:
                return True, "numeric"
        return False, "numeric"

    def matches_index_form(
        self, d: Derivation, q: Quantity, rhs: IR, trials: int
    ) -> tuple[bool, str]:
        """An index-form right side (``Σ_{i,j} δ_{ij} a_{i+u,j+v}``), evaluated on grids."""
        checked = 0
        skipped: UnknownSymbol | None = None
        for k in q.layers(d):
            try:
                want = q.expected(d, k)
                r = Resolver(self._context(d, k))
                base = {"grad": q.base, "delta": "delta", "cot": "A", "fwd": q.base}[q.kind]
                lhs = r.symbol(("sym", base, ("int", q.layer_value(k)), False))
                if isinstance(lhs, MatrixSymbol):  # a dense layer: index forms are for maps
                    raise UnknownSymbol(f"{lhs.name} is not a feature map or kernel")
                for env in self.envs(d, trials):
                    with np.errstate(all="ignore"):
                        b = np.asarray(numeric.evaluate(want, env), dtype=float)
                        a = IndexForm(r, env, lhs, q.entries).run(rhs, b.shape)
                    if a.shape != b.shape or not np.allclose(a, b, rtol=RTOL, atol=ATOL):
                        return False, "numeric (index form)"
            except UnknownSymbol as err:
                skipped = skipped or err
                continue
            checked += 1
        if not checked:
            return self._on_pair(d, self.matches_index_form, q, rhs, trials, skipped)
        return True, "numeric (index form)"

    def _on_pair(
        self, d: Derivation, method: Any, q: Quantity, rhs: IR, trials: int, skipped: Any
    ) -> tuple[bool, str]:
        """No layer of a CNN fitted a formula in l: check it on the stand-in network."""
        if d is self.d and d.network.is_conv and self.pair is not None:
            self._pair_used = True
            return method(self.pair, q, rhs, trials)  # type: ignore[no-any-return]
        raise skipped or FormulaError("no layer of this network fits the formula")

    def _context(self, d: Derivation, k: int | None) -> Context:
        return Context(
            d, k, self._budget, self._numpy, concrete_widths(self.network, self.sym_network)
        )

    def _numeric_equal(self, d: Derivation, got: Any, want: Any, trials: int) -> bool:
        if _shape_of(got) != _shape_of(want):
            return False
        for env in self.envs(d, trials):
            try:
                with np.errstate(all="ignore"):
                    a = np.asarray(numeric.evaluate(got, env), dtype=float)
                    b = np.asarray(numeric.evaluate(want, env), dtype=float)
            except (KeyError, NotImplementedError, TypeError, ValueError):
                return False
            if a.shape != b.shape or not np.allclose(a, b, rtol=RTOL, atol=ATOL):
                return False
        return True

    # ------------------------------------------------------------------ the verdict

    _pair_used = False
    _budget = Budget()
    _numpy = False

    def check(self, formula: str, syntax: str = "latex") -> CheckResult:
        # nothing of an earlier check may leak into this one's verdict
        self._pair_used = False
        self._last_method = "symbolic"
        self._last_notes = []
        self._readings = 1
        self._budget = Budget()  # one budget of products per check: no input makes it slow
        self._numpy = syntax == "python"
        result = self._check(formula, syntax)
        if self._pair_used:
            after, extra = self._pair_layer
            result.notes.append(
                "this network has no two conv layers in a row: the formula in l was checked on "
                f"it with a second conv layer inserted after layer {after} ({extra.kernel}×"
                f"{extra.kernel}, stride 1, padding {extra.padding}), so layer numbers in shape "
                "messages are that network's"
            )
        return result

    def _check(self, formula: str, syntax: str = "latex") -> CheckResult:
        parts = parse(formula, syntax)
        if any(_has_entries(p) for p in parts):
            parts = [default_layers(p) for p in parts]
        q = quantity_of(parts[0])
        d = self.d
        layers = q.layers(d)
        conv = d.network.is_conv and (
            q.base == "K" or any(_mentions(p, "K") or _has_entries(p) for p in parts)
        )
        expected = self.render_expected(q, formula, syntax, parts[0], conv)
        label = q.label(d)
        for rhs in parts[1:]:
            if rhs[0] == "quantity" or (
                rhs[0] == "sym" and rhs[1] in ("delta", "dW", "db") and rhs == parts[0]
            ):
                other = quantity_of(rhs)
                same = all(
                    self._numeric_equal(d, other.expected(d, k), q.expected(d, k), 1)
                    for k in layers
                )
                if not same:
                    return CheckResult(
                        "incorrect",
                        label,
                        expected,
                        "numeric",
                        f"{other.label(d)} is not {label}",
                        formula=formula,
                    )
                continue
            result = self._check_part(q, rhs, label, expected, syntax)
            self._last_notes = result.notes
            if not result.correct:
                result.formula = formula
                return result
        return CheckResult(
            "correct", label, expected, self._last_method, formula=formula, notes=self._last_notes
        )

    _last_method = "symbolic"
    _readings = 1
    _last_notes: list[str] = []

    def _check_part(
        self, q: Quantity, rhs: IR, label: str, expected: str, syntax: str
    ) -> CheckResult:
        d = self.d
        shape_error = None
        try:
            ok, method = self.matches(d, q, rhs)
            self._last_method = method
            if ok:
                notes = []
                if self._readings > 1:
                    notes.append(
                        f"ambiguous: {self._readings} readings of its products (·, ×, * as a "
                        "matrix or an elementwise product) fit the shapes; one of them is the "
                        "derived formula"
                    )
                return CheckResult("correct", label, expected, method, notes=notes)
        except ShapeMismatch as err:
            shape_error = str(err)
            method = "shapes"
        diagnosis, notes = self.diagnose(q, rhs, syntax)
        return CheckResult("incorrect", label, expected, method, diagnosis, shape_error, notes)

    # ------------------------------------------------------------------ diagnosis

    def diagnose(self, q: Quantity, rhs: IR, syntax: str) -> tuple[str | None, list[str]]:
        global _PYTHON_NAMES
        _PYTHON_NAMES = syntax == "python"
        try:
            return self._diagnose(q, rhs)
        finally:
            _PYTHON_NAMES = False

    def _diagnose(self, q: Quantity, rhs: IR) -> tuple[str | None, list[str]]:
        net = self.sym_network
        for what in ("convention", "delta"):
            other = self.other(what)
            try:
                ok, _ = self.matches(other, q, rhs, trials=2)
            except FormulaError:
                ok = False
            if ok:
                also = self._first_mutation(q, rhs)
                notes = [f"equivalently: {also}"] if also else []
                if what == "convention":
                    flip = other.network.convention
                    return (
                        f"this is the {flip}-convention formula; in this {net.convention}-"
                        f"convention network (samples are {_samples(net.convention)}) "
                        f"{q.label(self.d)} is the derived formula below",
                        notes,
                    )
                flip = other.network.delta
                return (
                    f"this is {q.label(self.d)} with the {flip.replace('_', '-')} delta "
                    "definition; "
                    f"this network uses the {net.delta.replace('_', '-')} one "
                    f"({_DELTA_WORDS[net.delta]})",
                    notes,
                )
        found = self._first_mutation(q, rhs)
        if found is not None:
            return found, []
        if self._budget.exhausted:
            return (
                "no usual mistake found among those tried (the formula has too many readings "
                "to try them all; brackets would help)",
                [],
            )
        return (
            "no single usual mistake (transpose, factor, order, ⊙ vs product, f', "
            "convention, delta definition) explains the difference",
            [],
        )

    def _first_mutation(self, q: Quantity, rhs: IR) -> str | None:
        for description, candidate in self.mutations(rhs, q):
            try:
                ok, _ = self.matches(self.d, q, candidate, trials=2)
            except FormulaError:
                continue
            if ok:
                return description
        return None

    def mutations(self, rhs: IR, q: Quantity) -> Iterator[tuple[str, IR]]:
        m_scalar: IR = ("scalar", str(self.d.program.batch))
        factors = [
            ("a factor 1/m is missing", ("div", rhs, m_scalar)),
            ("a factor 1/m too many", ("mat", m_scalar, rhs)),
            ("a factor 1/2 is missing", ("div", rhs, ("num", sympy.Integer(2)))),
            (
                "a factor 2 is missing (the 1/2 is not in this loss)",
                ("mat", ("num", sympy.Integer(2)), rhs),
            ),
            ("the sign is wrong", ("neg", rhs)),
            ("the whole right-hand side should be transposed", ("T", rhs)),
        ]
        yield from factors
        for path, node in _nodes(rhs):
            kind = node[0]
            if kind == "sym" and node[1] != "Y":
                yield (f"a transpose is missing on {_show(node)}", _replace(rhs, path, ("T", node)))
            if kind == "T":
                yield (f"{_show(node[1])} should not be transposed", _replace(rhs, path, node[1]))
            if kind == "mat" and node[1][0] not in ("num", "scalar", "div"):
                yield (
                    "the product is in the wrong order: "
                    f"{_show(node[2])} {_show(node[1])}, not {_show(node[1])} {_show(node[2])}",
                    _replace(rhs, path, ("mat", node[2], node[1])),
                )
                yield (
                    "a matrix product is written where the Hadamard product ⊙ belongs "
                    f"({_show(node[1])} ⊙ {_show(node[2])})",
                    _replace(rhs, path, ("had", node[1], node[2])),
                )
            if kind == "had":
                yield (
                    "a Hadamard product ⊙ is written where a matrix product belongs",
                    _replace(rhs, path, ("mat", node[1], node[2])),
                )
                for side in (1, 2):
                    if node[side][0] == "fn" and node[side][2] >= 1:
                        yield (
                            f"the factor {_show(node[side])} does not belong here",
                            _replace(rhs, path, node[3 - side]),
                        )
            if kind == "squeeze":
                yield (
                    f"np.sum without keepdims=True drops the summed axis: {_show(node[1])} "
                    "has shape (n,), not (n, 1) — add keepdims=True",
                    _replace(rhs, path, node[1]),
                )
            if kind == "sum" and node[2] in (0, 1):
                yield (
                    f"the sum is over the wrong axis (axis={1 - node[2]})",
                    _replace(rhs, path, ("sum", node[1], 1 - node[2])),
                )
            if kind == "fn" and node[2] == 0 and q.kind == "delta":
                yield (
                    f"{_show(node)} should be the derivative {_show(('fn', node[1], 1, node[3]))}",
                    _replace(rhs, path, ("fn", node[1], 1, node[3])),
                )
        if q.kind == "delta":
            z = ("sym", "Z", q.idx, False)
            yield (
                f"the factor f'(Z) of the layer is missing (⊙ f'({_show(z)}))",
                ("had", rhs, ("fn", "generic", 1, z)),
            )
        if self.network.is_conv:
            yield from self.conv_mutations(rhs)
            yield from self.index_mutations(rhs)

    def index_mutations(self, rhs: IR) -> Iterator[tuple[str, IR]]:
        """Index forms: the offsets' sign (i+u: correlation, as the layer; i−u: flipped)."""
        entries = [(path, node) for path, node in _nodes(rhs) if node[0] == "entry"]
        if not any(len(t) > 1 for _, node in entries for t in node[2]):
            return
        flipped = rhs
        shown = []
        for path, node in entries:
            if any(len(t) > 1 for t in node[2]):
                idx = tuple((t[0], *((-s, v) for s, v in t[1:])) for t in node[2])
                flipped = _replace(flipped, path, ("entry", node[1], idx))
                shown.append(_show(node[1]))
        yield (
            f"the offsets in the indices of {', '.join(shown)} have the wrong sign "
            "(i+u where i−u belongs, or back): the kernel is flipped",
            flipped,
        )

    def conv_mutations(self, rhs: IR) -> Iterator[tuple[str, IR]]:
        """The classic CNN mistakes: the flip, the mode, correlation vs convolution, pooling.

        SciPy names the two operations (correlate2d, convolve2d), so for Python formulas the
        swap is tried first; in LaTeX, * and ⋆ are the notes' one sliding product and the
        missing or extra flip is the mistake to name.
        """
        if _PYTHON_NAMES:
            for path, node in _nodes(rhs):
                if node[0] in ("corr", "conv"):
                    kind = node[0]
                    swapped = "conv" if kind == "corr" else "corr"
                    yield (
                        "correlation and convolution are swapped: "
                        + (
                            "correlate2d does not flip the kernel, convolve2d does"
                            if kind == "corr"
                            else "convolve2d flips the kernel, correlate2d does not"
                        ),
                        _replace(rhs, path, (swapped, node[1], node[2], node[3])),
                    )
        modes = {path for path, node in _nodes(rhs) if node[0] == "mode"}
        for path, node in _nodes(rhs):
            kind = node[0]
            if kind == "fn" and node[1] == "rot180":
                yield (
                    f"the kernel should not be rotated here: {_show(node[3])}, "
                    f"not rot180({_show(node[3])})",
                    _replace(rhs, path, node[3]),
                )
            if kind == "sym" and node[1] == "K" and not _inside(rhs, path, "rot180"):
                yield (
                    f"the kernel is not flipped: the full convolution uses "
                    f"rot180({_show(node)}), the kernel rotated by 180°",
                    _replace(rhs, path, ("fn", "rot180", 0, node)),
                )
            if kind == "mode":
                other = "valid" if node[2] == "full" else "full"
                yield (
                    f"'{node[2]}' is written where the '{other}' mode is needed"
                    + (" (δ padded by k − 1, so every overlap counts)" if other == "full" else ""),
                    _replace(rhs, path, ("mode", node[1], other)),
                )
            if kind in ("corr", "conv"):
                mode = node[3] or "valid"
                other = "valid" if mode == "full" else "full"
                yield (
                    f"'{mode}' is written where the '{other}' mode is needed",
                    _replace(rhs, path, (kind, node[1], node[2], other)),
                )
                yield (
                    f"the operands are swapped: {_show(node[2])} and {_show(node[1])}",
                    _replace(rhs, path, (kind, node[2], node[1], node[3])),
                )
            if (
                kind == "amb"
                and path[:-1] not in modes
                and not any(p == path[: len(p)] for p in modes)
            ):
                yield (
                    "the 'valid' correlation is written where the full one is needed "
                    "(δ padded by k − 1, so every overlap counts): (…)_full",
                    _replace(rhs, path, ("mode", node, "full")),
                )
            if kind == "fn" and node[1] == "up" and self._pool_mode(node[3]) == "avg":
                k2 = self._pool_mode(node[3], size=True)
                yield (
                    f"average pooling spreads the delta evenly: each pixel of a window gets "
                    f"1/k² = 1/{k2} of it",
                    _replace(rhs, path, ("div", node, ("num", sympy.Integer(k2)))),
                )
            if kind == "fn" and node[1] == "up":
                pooled = self._pool_input(node[3])
                if pooled is not None:
                    routed: IR = ("had", node, ("fn", "maxmask", 0, pooled))
                    spread = "the delta is spread evenly over each window (average pooling's rule)"
                    yield (
                        f"{spread}; max pooling routes it to each window's arg-max: "
                        f"up({_show(node[3])}) ⊙ 1_max({_show(pooled)})",
                        _replace(rhs, path, routed),
                    )
                    parent = path[:-1]
                    if path and _at(rhs, parent)[0] in ("mat", "div"):
                        yield (
                            f"{spread}; max pooling routes it (no 1/k²) to each window's arg-max: "
                            f"up({_show(node[3])}) ⊙ 1_max({_show(pooled)})",
                            _replace(rhs, parent, routed),
                        )

    def _pool_mode(self, node: IR, size: bool = False) -> Any:
        """The pooling mode (or k²) of the layer whose delta ``node`` is, if numbered."""
        if node[0] != "sym" or node[1] != "delta" or node[2] is None or node[2][0] != "int":
            return None
        k = int(node[2][1])
        eq = next((e for e in self.d.program.equations if e.layer == k), None)
        if eq is None or eq.kind != "pool":
            return None
        return int(eq.rhs.size) ** 2 if size else eq.rhs.mode

    def _pool_input(self, node: IR) -> IR | None:
        """``A_{l}`` for ``up(δ_{l+1})`` when layer l+1 is a max pooling layer."""
        if node[0] != "sym" or node[1] != "delta" or node[2] is None:
            return None
        idx = node[2]
        if idx[0] == "int":
            k = int(idx[1])
            eq = next((e for e in self.d.program.equations if e.layer == k), None)
            if eq is None or eq.kind != "pool" or eq.rhs.mode != "max":
                return None
            return ("sym", "A", ("int", k - 1), False) if k > 1 else ("sym", "X", None, False)
        return ("sym", "A", (idx[0], idx[1], idx[2] - 1), False)

    # ------------------------------------------------------------------ notation

    def render_expected(
        self, q: Quantity, formula: str, syntax: str, lhs_ir: IR, conv: bool = False
    ) -> str:
        d = self.d
        ks = q.layers(d)
        generic = q.idx[0] == "rel" and q.idx[1] == "l"
        g = d.generic_conv if conv or d.generic is None else d.generic
        if generic and g is not None and q.kind != "fwd":
            st = {
                "delta": g.delta,
                "grad": g.grad_w if q.base in ("W", "K") else g.grad_b,
                "cot": g.cotangent_a,
            }[q.kind]
            lhs_expr, rhs_expr = st.lhs, st.rhs
            if q.wrt_loss == "L" and d.per_sample and q.kind == "delta":
                from derive.nodes import scale

                rhs_expr = scale(rhs_expr, d.program.scale)
        else:
            k = q.layer_value(ks[0])
            for k0 in ks:  # the first layer the quantity exists at (a CNN's l: its kind)
                try:
                    rhs_expr = q.expected(d, k0)
                except (UnknownSymbol, KeyError):
                    continue
                k = q.layer_value(k0)
                break
            else:
                rhs_expr = q.expected(d, ks[0])
            lhs_expr = {
                "delta": d.deltas[k].lhs if q.kind == "delta" else None,
                "grad": d.gradients[f"{q.base}_{k}"].lhs if q.kind == "grad" else None,
                "cot": d.cotangents[k].lhs if q.kind == "cot" and k in d.cotangents else None,
                "fwd": next(
                    (e.out for e in d.program.equations if e.out.name == f"{q.base}_{k}"), None
                )
                if q.kind == "fwd"
                else None,
            }[q.kind]
        if syntax == "python":
            return _python_text(lhs_expr, d.through_output(rhs_expr), formula)
        from derive.latex import DeriveLatexPrinter

        p = DeriveLatexPrinter(detect_notation(formula))
        lhs = p.doprint(lhs_expr) if lhs_expr is not None else q.label(d)
        if lhs_ir[0] == "sym" and lhs_ir[1] in ("dW", "db", "dA"):
            idx = lhs_ir[2]
            k_text = str(idx[1]) if idx[0] == "int" else idx[1] + (f"{idx[2]:+d}" if idx[2] else "")
            lhs = p.indexed(lhs_ir[1], k_text)
        elif q.wrt_loss == "L" and q.kind == "delta":
            z = p.doprint(lhs_expr).replace(p.base_tex("delta"), "Z")
            lhs = rf"\frac{{\partial L}}{{\partial {z}}}"
        return f"{lhs} = {p.doprint(rhs_expr)}"


_DELTA_WORDS = {"per_sample": "no 1/m in δ", "mean": "δ = ∂L/∂Z of the batch loss"}


def _samples(convention: str) -> str:
    return "columns" if convention == "column" else "rows"


def detect_notation(formula: str) -> Notation:
    """The user's notation, read off their formula."""
    index = (
        "bracket"
        if re.search(r"\^\{?\[", formula)
        else ("paren" if re.search(r"\^\{\(", formula) else "subscript")
    )
    transpose = "top" if "\\top" in formula else ("intercal" if "\\intercal" in formula else "T")
    hadamard = "circ" if "\\circ" in formula else "odot"
    delta = "dZ" if re.search(r"\bdZ", formula) else "delta"
    return Notation(index=index, transpose=transpose, hadamard=hadamard, delta=delta)


def _python_text(lhs: Any, rhs: Any, formula: str) -> str:
    from derive.export import ExportError, NumPyCode, code_name
    from derive.text import text

    try:
        code = NumPyCode().doprint(rhs).replace("numpy.", "np.")
    except ExportError:  # a symbolic activation f has no NumPy form: say it in plain text
        code = text(rhs)
    name = (
        code_name(lhs.name)
        if hasattr(lhs, "name")
        else ("d" + code_name(lhs.wrt.name) if hasattr(lhs, "wrt") else "?")
    )
    if re.search(r"\bdZ", formula):
        code = re.sub(r"\bdelta(\w*)", r"dZ\1", code)
        name = re.sub(r"^delta", "dZ", name)
    return f"{name} = {code}"


def _shape_of(e: Any) -> Any:
    return tensor_shape(e) if is_tensor(e) else getattr(e, "shape", None)


def default_layers(node: IR) -> IR:
    """Index forms in notes often drop the layer: k, b, δ, z are layer l's, a its input's."""
    if not isinstance(node, tuple) or not node or not isinstance(node[0], str):
        return node
    if node[0] == "sym" and node[2] is None and node[1] in ("K", "b", "delta", "Z", "A"):
        return ("sym", node[1], ("rel", "l", -1 if node[1] == "A" else 0), node[3])
    return tuple(default_layers(c) if isinstance(c, tuple) else c for c in node)


def _mentions(node: IR, base: str) -> bool:
    return any(n[0] == "sym" and n[1] == base for _, n in _nodes(node))


def _nodes(node: IR, path: tuple[int, ...] = ()) -> Iterator[tuple[tuple[int, ...], IR]]:
    yield path, node
    for i, child in enumerate(node):
        if isinstance(child, tuple) and child and isinstance(child[0], str) and i > 0:
            yield from _nodes(child, (*path, i))


def _at(node: IR, path: tuple[int, ...]) -> IR:
    for i in path:
        node = node[i]
    return node


def _inside(node: IR, path: tuple[int, ...], fn: str) -> bool:
    return any(
        _at(node, path[:i])[0] == "fn" and _at(node, path[:i])[1] == fn for i in range(len(path))
    )


def _replace(node: IR, path: tuple[int, ...], new: IR) -> IR:
    if not path:
        return new
    i = path[0]
    return (*node[:i], _replace(node[i], path[1:], new), *node[i + 1 :])


_PYTHON_NAMES = False


def _show(node: IR) -> str:
    kind = node[0]
    if kind == "sym":
        base = str({"delta": "dZ" if _PYTHON_NAMES else "δ"}.get(node[1], node[1]))
        idx = node[2]
        if idx is None:
            return base
        k = str(idx[1]) if idx[0] == "int" else idx[1] + (f"{idx[2]:+d}" if idx[2] else "")
        if _PYTHON_NAMES:
            return f"{base}{k}"
        return f"{base}_{{{k}}}" if len(k) > 1 else f"{base}_{k}"
    if kind == "T":
        return _show(node[1]) + "ᵀ"
    if kind == "fn":
        name = {"generic": "f", "sigmoid": "σ"}.get(node[1], node[1])
        return f"{name}{chr(39) * node[2]}({_show(node[3])})"
    if kind == "mat":
        if node[1][0] in ("div", "num", "scalar"):
            return f"({_show(node[1])}) {_show(node[2])}"
        return f"({_show(node[1])} {_show(node[2])})"
    if kind == "had":
        return f"({_show(node[1])} ⊙ {_show(node[2])})"
    if kind == "num":
        return str(node[1])
    if kind == "scalar":
        return str(node[1])
    if kind == "div":
        return f"{_show(node[1])}/{_show(node[2])}"
    if kind == "sum":
        return f"Σ {_show(node[1])}"
    if kind in ("corr", "conv"):
        return f"({_show(node[1])} {'⋆' if kind == 'corr' else '*'} {_show(node[2])})"
    if kind == "amb":
        return f"({_show(node[1])} {node[3]} {_show(node[2])})"
    if kind == "chain":
        signs = [" " if op == "m" else " ⊙ " for op in node[1]]
        return "(" + "".join(_show(o) + sign for o, sign in zip(node[2:], [*signs, ""])) + ")"
    if kind == "mode":
        return f"{_show(node[1])}_{node[2]}"
    return "(…)"


def check(spec: Any, formula: str, syntax: str = "latex") -> CheckResult:
    """Check one formula against a spec (a name, a TOML path, a Network or a Derivation)."""
    return Checker(spec).check(formula, syntax)


__all__ = ["CheckResult", "Checker", "FormulaError", "check"]
