"""Turn formula IR into SymPy expressions over a derivation's own symbols.

Shapes are checked as the expression is built: every width is a distinct symbol, so a
missing transpose is a ``ShapeMismatch`` naming both operands and their shapes. Products
written with an ambiguous operator (``\\cdot``, ``\\times``, ``*`` in LaTeX) are resolved
by shapes: every reading that fits is returned.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sympy
from sympy.matrices.expressions import (
    HadamardPower,
    HadamardProduct,
    MatMul,
    MatrixExpr,
    MatrixSymbol,
    OneMatrix,
)

from derive.activations import TABLE
from derive.derivation import Derivation
from derive.formula.parse import IR, FormulaError
from derive.graph import activation_node
from derive.nodes import (
    ELEMENTWISE,
    ChannelSum,
    Correlate,
    Elementwise,
    Flatten,
    MaxMask,
    Pool,
    Slide,
    Softmax,
    TensorElementwise,
    TensorSymbol,
    Unflatten,
    UpSample,
    hadamard,
    is_tensor,
    rot180,
    tensor_coeff,
    tensor_scale,
    tensor_shape,
    thadamard,
)
from derive.scalar_expr import X as XVAR
from derive.spec import Activation
from derive.text import text

MAX_READINGS = 64
#: Work units (a node read, a product tried) one check may spend reading its formula and
#: its diagnosis's variants: a budget, so that no input makes a check slow.
MAX_PRODUCTS = 6000
SLIDE_COST = 10  # a sliding product costs about ten matrix products to build


class ShapeMismatch(FormulaError):
    """Two operands whose shapes do not fit the operation."""


class UnknownSymbol(FormulaError):
    """A symbol this network (or this layer of it) does not have."""


def shape_text(e: Any) -> str:
    return "×".join(text(d) if d.is_Atom else f"({text(d)})" for d in e.shape)


class TooComplex(FormulaError):
    """A formula whose readings would take too long to enumerate."""


@dataclass
class Budget:
    """How many more products a check may try (shared by every reading of one check)."""

    left: int = MAX_PRODUCTS

    def spend(self, cost: int = 1) -> None:
        self.left -= cost
        if self.left < 0:
            raise TooComplex(
                "the formula is too ambiguous to check: its products (\\cdot, \\times, *) "
                "have too many readings; add brackets, or write \\odot for an elementwise "
                "product"
            )

    @property
    def exhausted(self) -> bool:
        return self.left < 0


@dataclass
class Context:
    """What the symbols of a formula mean: a derivation and the value of ``l``."""

    d: Derivation
    layer: int | None = None  # value of the generic index l
    budget: Budget = field(default_factory=Budget)
    numpy: bool = False  # NumPy's rules: broadcasting, elementwise division
    concrete: dict[str, Any] = field(default_factory=dict)  # n_2 -> 4: the user's widths

    def layer_of(self, idx: IR | None, base: str) -> int | None:
        if idx is None:
            return None
        if idx[0] == "int":
            return int(idx[1])
        var, off = idx[1], idx[2]
        if var == "L":
            return self.d.depth + off
        if self.layer is None:
            raise FormulaError(f"{base}_l: the layer index l is free here; use it on both sides")
        return self.layer + off


def _scalar(e: Any) -> bool:
    return (
        not getattr(e, "is_Matrix", False)
        and not isinstance(e, (MatrixExpr, _Ones))
        and not is_tensor(e)
    )


class _Ones:
    """``\\mathbf{1}``: a ones vector whose length comes from its neighbour in a product,
    or is written (``\\mathbf{1}_m``: then the neighbour must have that length)."""

    def __init__(self, size: Any = None, coeff: Any = 1) -> None:
        self.size = size
        self.coeff = coeff  # (1/m) 1ᵀ δ: a number times the ones vector

    def fits(self, n: Any) -> None:
        if self.size is not None and n not in self.size:
            raise ShapeMismatch(
                f"a ones vector of length {' or '.join(sorted(text(k) for k in self.size))} "
                f"where the length {text(n)} is needed"
            )

    def only(self) -> Any:
        if self.size is None or len(self.size) != 1:
            raise FormulaError("\\mathbf{1} \\mathbf{1}ᵀ: the size of the ones vectors is unknown")
        return next(iter(self.size))


def _matmul(a: Any, b: Any) -> Any:
    if isinstance(a, _Ones) and isinstance(b, _Ones):  # 1_n 1_nᵀ: the n×n ones matrix
        return MatMul(a.coeff * b.coeff, OneMatrix(a.only(), b.only())).doit(deep=False)
    if isinstance(a, _Ones) and isinstance(b, MatrixExpr):
        a.fits(b.shape[0])
        return MatMul(a.coeff, OneMatrix(1, b.shape[0]), b).doit(deep=False)
    if isinstance(b, _Ones) and isinstance(a, MatrixExpr):
        b.fits(a.shape[1])
        return MatMul(b.coeff, a, OneMatrix(a.shape[1], 1)).doit(deep=False)
    if isinstance(a, _Ones) or isinstance(b, _Ones):
        ones, other = (a, b) if isinstance(a, _Ones) else (b, a)
        if not _scalar(other):
            raise ShapeMismatch(f"\\mathbf{{1}} {text(other)}: a ones vector multiplies a matrix")
        return _Ones(ones.size, ones.coeff * other)
    if _scalar(a) or _scalar(b):
        return a * b
    if is_tensor(a) or is_tensor(b):
        raise ShapeMismatch(
            f"{text(a)} {text(b)}: a feature map or kernel has no matrix product "
            f"({text(a)} is {shape_text(_wrap(a))}, {text(b)} is {shape_text(_wrap(b))})"
        )
    if a.shape[1] != b.shape[0]:
        raise ShapeMismatch(
            f"{text(a)} {text(b)}: {text(a)} is {shape_text(a)}, {text(b)} is {shape_text(b)}"
        )
    return MatMul(a, b).doit(deep=False)


def _rewrite_diag(node: IR) -> IR:
    """``diag(v) M`` -> ``v ⊙ M``: the per-sample diagonal matrix acts elementwise on a batch."""
    if not isinstance(node, tuple) or not node or not isinstance(node[0], str):
        return node
    if node[0] == "mat":
        chain: list[IR] = []

        def flatten(n: IR) -> None:
            if n[0] == "mat":
                flatten(n[1])
                flatten(n[2])
            else:
                chain.append(n)

        flatten(node)
        for i, item in enumerate(chain):
            if item[0] == "diag" and i + 1 < len(chain):
                rest: IR = chain[i + 1]
                for nxt in chain[i + 2 :]:
                    rest = ("mat", rest, nxt)
                out: IR = ("had", _rewrite_diag(item[1]), _rewrite_diag(rest))
                for prev in reversed(chain[:i]):
                    out = ("mat", _rewrite_diag(prev), out)
                return out
    return tuple(_rewrite_diag(c) if isinstance(c, tuple) else c for c in node)


def _has_fn(node: IR) -> bool:
    if node[0] == "fn":
        return True
    return any(
        isinstance(c, tuple) and c and isinstance(c[0], str) and _has_fn(c) for c in node[1:]
    )


def _matmul_or_hadamard(a: Any, b: Any) -> Any:
    try:
        return _matmul(a, b)
    except ShapeMismatch:
        return _had(a, b)


def _reading_key(e: Any) -> Any:
    """``(a ⊙ b) ⊙ c`` and ``a ⊙ (b ⊙ c)`` are one reading: Hadamard chains are flattened."""
    if not isinstance(e, HadamardProduct):
        return e
    factors: list[Any] = []
    stack = [e]
    while stack:
        f = stack.pop()
        if isinstance(f, HadamardProduct):
            stack += reversed(f.args)
        else:
            factors.append(f)
    return ("⊙", *factors)


def _surely_misfit(op: Any, a: Any, b: Any) -> bool:
    """Whether ``op(a, b)`` is sure to raise ShapeMismatch: two plain matrices whose shapes
    do not fit. Checked first so that the message of a failure nobody reads (one per
    rejected reading) is not printed.
    """
    plain = all(isinstance(e, MatrixExpr) and not is_tensor(e) for e in (a, b))
    if not plain:
        return False
    if op is _matmul:
        return bool(a.shape[1] != b.shape[0])
    if op is _had:
        return bool(a.shape != b.shape)
    return False


class _Shaped:
    def __init__(self, shape: tuple[Any, ...]) -> None:
        self.shape = shape


def _wrap(e: Any) -> Any:
    return _Shaped(tensor_shape(e)) if is_tensor(e) else e


def _had(a: Any, b: Any, op: str = "⊙") -> Any:
    if _scalar(a) or _scalar(b):
        return a * b
    if isinstance(a, _Ones) or isinstance(b, _Ones):
        return b if isinstance(a, _Ones) else a
    if is_tensor(a) or is_tensor(b):
        if not (is_tensor(a) and is_tensor(b)) or tensor_shape(a) != tensor_shape(b):
            raise ShapeMismatch(
                f"{text(a)} {op} {text(b)}: {text(a)} is {shape_text(_wrap(a))}, "
                f"{text(b)} is {shape_text(_wrap(b))}"
            )
        return thadamard(a, b)
    if a.shape != b.shape:
        raise ShapeMismatch(
            f"{text(a)} {op} {text(b)}: {text(a)} is {shape_text(a)}, {text(b)} is {shape_text(b)}"
        )
    return hadamard(a, b)


def _holds(op: str, c: Any) -> Any:
    """The condition ``x op c`` on the scalar variable."""
    rel = {">": sympy.StrictGreaterThan, ">=": sympy.GreaterThan, "<": sympy.StrictLessThan}
    return rel.get(op, sympy.LessThan)(XVAR, c)


def broadcast(a: Any, b: Any) -> tuple[Any, Any]:
    """NumPy's broadcasting of two matrices: an (n, 1) or (1, n) operand is repeated
    (``s 1ᵀ``, ``1 s``) to the other's shape; anything else is returned as it is."""
    if not all(isinstance(e, MatrixExpr) and not is_tensor(e) for e in (a, b)):
        return a, b
    if a.shape == b.shape:
        return a, b

    def grow(x: Any, shape: tuple[Any, Any]) -> Any:
        r, c = x.shape
        if r == shape[0] and c == 1 and shape[1] != 1:
            return MatMul(x, OneMatrix(1, shape[1])).doit(deep=False)
        if c == shape[1] and r == 1 and shape[0] != 1:
            return MatMul(OneMatrix(shape[0], 1), x).doit(deep=False)
        return x

    return grow(a, b.shape), grow(b, a.shape)


def _add(a: Any, b: Any, sign: int) -> Any:
    if _scalar(a) and _scalar(b):
        return a + sign * b
    if (is_tensor(a) and _scalar(b)) or (_scalar(a) and is_tensor(b)):
        # 1 - A ⊙ A: a number added to every entry
        c, t = (a, b) if _scalar(a) else (b, a)
        t = t if sign > 0 or _scalar(b) else tensor_scale(t, -1)
        c = c if sign > 0 or _scalar(a) else -c
        return TensorElementwise("shift", sympy.Lambda(XVAR, c + XVAR), t)
    if is_tensor(a) or is_tensor(b):
        op = "+" if sign > 0 else "−"
        fits = is_tensor(a) and is_tensor(b)
        if fits and tensor_shape(a) != tensor_shape(b):
            # a per-channel bias b (C,) added to maps (m, C, H, W) broadcasts
            from derive.nodes import ChannelBias

            sa, sb = tensor_shape(a), tensor_shape(b)
            if len(sb) == 1 and len(sa) == 4 and sb[0] == sa[1]:
                b = ChannelBias(b, sa)
            elif len(sa) == 1 and len(sb) == 4 and sa[0] == sb[1]:
                a = ChannelBias(a, sb)
            else:
                fits = False
        if not fits:
            raise ShapeMismatch(
                f"{text(a)} {op} {text(b)}: {text(a)} is {shape_text(_wrap(a))}, "
                f"{text(b)} is {shape_text(_wrap(b))}"
            )
        return a + b if sign > 0 else a + tensor_scale(b, -1)
    if _scalar(a):
        a = a * OneMatrix(*b.shape)
    if _scalar(b):
        b = b * OneMatrix(*a.shape)
    if isinstance(a, _Ones):
        a = OneMatrix(*b.shape)
    if isinstance(b, _Ones):
        b = OneMatrix(*a.shape)
    if a.shape != b.shape:
        op = "+" if sign > 0 else "−"
        raise ShapeMismatch(
            f"{text(a)} {op} {text(b)}: {text(a)} is {shape_text(a)}, {text(b)} is {shape_text(b)}"
        )
    return (a + b) if sign > 0 else (a - b)


class Resolver:
    """IR -> SymPy in one context; ``readings`` yields every shape-consistent reading."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.d = ctx.d
        prog = self.d.program
        self.symbols: dict[str, Any] = {p.name: p for p in prog.params}
        self.symbols |= {eq.out.name: eq.out for eq in prog.equations if eq.kind != "loss"}
        self.symbols |= {st.lhs.name: st.lhs for st in self.d.deltas.values()}
        self.symbols["X"], self.symbols["Y"] = prog.inputs
        self.symbols["A_0"] = prog.inputs[0]
        self.cotangents = {
            k: cotangent_symbol(k, st.lhs.shape) for k, st in self.d.cotangents.items()
        }
        self.mode: str | None = None  # set inside (…)_{full}
        self.numpy = ctx.numpy

    # ------------------------------------------------------------------ symbols

    def symbol(self, node: IR) -> Any:
        _, base, idx, _lower = node
        if base in ("X", "Y"):
            if idx is not None and not (base == "X" and self.ctx.layer_of(idx, base) == 0):
                raise FormulaError(f"{base} takes no layer index")
            return self.symbols[base]
        k = self.ctx.layer_of(idx, base)
        name = {"delta": "delta", "W": "W", "b": "b", "Z": "Z", "A": "A", "dA": "dA", "K": "K"}.get(
            base
        )
        if name is None:
            raise FormulaError(f"{base} cannot appear on the right-hand side")
        if k is None:
            raise FormulaError(f"{base} needs a layer index (e.g. {base}_1)")
        if base == "dA":
            if k not in self.cotangents:
                raise UnknownSymbol(f"no dA_{k} in this {self.d.depth}-layer network")
            return self.cotangents[k]
        key = f"{name}_{k}"
        if key not in self.symbols:
            raise UnknownSymbol(
                f"no {base}_{k} in this {self.d.depth}-layer network (layers 1 to {self.d.depth})"
            )
        return self.symbols[key]

    def scalar(self, name: str) -> Any:
        prog = self.d.program
        if name in ("m", str(prog.batch)):
            return prog.batch
        if name == "lambda" and self.d.network.loss.weight_decay is not None:
            from derive.graph import scalar_symbol

            return scalar_symbol(self.d.network.loss.weight_decay)
        raise FormulaError(f"unknown symbol {name!r} (the batch size is {text(prog.batch)})")

    def sizes(self, written: str) -> frozenset[Any]:
        """The lengths ``\\mathbf{1}_k`` may stand for: the batch (``m``), or every width of
        the user's network that is ``k`` (the checker's own widths are symbols)."""
        prog = self.d.program
        if written in ("m", str(prog.batch)):
            return frozenset({prog.batch})
        found = {
            w
            for w in prog.widths
            if isinstance(w, sympy.Symbol) and str(self.ctx.concrete.get(str(w))) == written
        }
        if not found:
            raise FormulaError(
                f"\\mathbf{{1}}_{{{written}}}: no width or batch size of this network is {written}"
            )
        return frozenset(found)

    def activation(self, name: str, arg: Any) -> Any:
        """The activation ``name`` applied to ``arg``; ``generic`` (f, g) is the layer's own."""
        axis = 0 if self.d.program.column else 1
        if _scalar(arg) or isinstance(arg, _Ones):
            raise FormulaError(f"{name}({text(arg)}): a function here applies to a matrix or map")
        if name == "generic":
            layer = self._layer_of_z(arg)
            act = self.d.network.layers[layer - 1].activation  # type: ignore[union-attr]
            return activation_node(act, arg, axis)
        if name in ("rot180", "up", "maxmask", "maxpool", "avgpool", "flatten", "unflatten"):
            return self.feature_fn(name, arg)
        if name == "softmax":
            return Softmax(arg, axis)
        if name in ("exp", "log"):
            fn = sympy.exp if name == "exp" else sympy.log
            return Elementwise(name, sympy.Lambda(XVAR, fn(XVAR)), arg)
        if name in TABLE:
            return activation_node(self._network_activation(name, arg), arg, axis)
        raise FormulaError(f"unknown function {name!r}")

    def _network_activation(self, name: str, arg: Any) -> Activation:
        """The network's own activation of this name, with its slope or alpha (the layer of
        ``arg`` first), else the table's defaults: lrelu' of a slope-0.2 net is that one's."""
        own = [
            act
            for act in (getattr(layer, "activation", None) for layer in self.d.network.layers)
            if isinstance(act, Activation) and act.name == name
        ]
        if isinstance(arg, (MatrixSymbol, TensorSymbol)) and arg.name.startswith("Z_"):
            k = int(arg.name.split("_")[1])
            layer_act = getattr(self.d.network.layers[k - 1], "activation", None)
            if getattr(layer_act, "name", None) == name:
                return layer_act  # type: ignore[return-value]
        return own[0] if own else Activation(name)

    def feature_fn(self, name: str, arg: Any) -> Any:
        """rot180, up, the arg-max mask, pooling and (un)flatten, sized by this network."""
        if not is_tensor(arg) and name not in ("unflatten",):
            raise ShapeMismatch(f"{name}({text(arg)}): {text(arg)} is not a feature map or kernel")
        if name == "rot180":
            return rot180(arg)
        eqs = self.d.program.equations
        pools = [eq for eq in eqs if isinstance(eq.rhs, Pool)]
        if name in ("up", "maxmask", "maxpool", "avgpool"):
            # the pooling layer this map goes in (maxmask, pool) or comes out of (up)
            key = "out" if name == "up" else "in"
            for eq in pools:
                if (eq.out.shape if key == "out" else eq.rhs.input.shape) == tensor_shape(arg):
                    pool = eq.rhs
                    break
            else:
                raise ShapeMismatch(
                    f"{name}({text(arg)}): no pooling layer of this network "
                    f"{'gives' if key == 'out' else 'takes'} {shape_text(_wrap(arg))} maps"
                )
            if name == "up":
                return UpSample(arg, pool.input, pool.size, pool.stride)
            if name == "maxmask":
                return MaxMask(arg, pool.size, pool.stride)
            return Pool(arg, name[:3], pool.size, pool.stride)
        for eq in eqs:
            if isinstance(eq.rhs, Flatten):
                if name == "flatten" and eq.rhs.input.shape == tensor_shape(arg):
                    return Flatten(arg, eq.rhs.column)
                if name == "unflatten" and getattr(arg, "shape", None) == eq.out.shape:
                    return Unflatten(arg, eq.rhs.input, eq.rhs.column)
        raise ShapeMismatch(f"{name}({text(arg)}): no flatten layer of this network fits")

    def conv_of(self, e: Any) -> Correlate | None:
        """The Correlate node of the layer a kernel or a delta belongs to."""
        while not isinstance(e, TensorSymbol) and is_tensor(e) and e.args:
            e = next(a for a in e.args if is_tensor(a))
        name = getattr(e, "name", "")
        for eq in self.d.program.equations:
            corr = next((a for a in getattr(eq.rhs, "args", ()) if isinstance(a, Correlate)), None)
            if corr is None:
                continue
            if corr.kernel == e or (eq.out.name.replace("Z_", "delta_", 1) == name):
                return corr
        return None

    def slide(self, p: Any, q: Any, mode: str | None) -> Iterator[Any]:
        """Every reading of a sliding-window product of p and q (see ``Slide``)."""
        mode = mode or self.mode or "valid"
        if not (is_tensor(p) and is_tensor(q)):
            raise ShapeMismatch(f"{text(p)} ⋆ {text(q)}: a sliding product needs feature maps")
        (cp, p), (cq, q) = tensor_coeff(p), tensor_coeff(q)
        if cp * cq != 1:  # (1/m) A ⋆ δ = (1/m) (A ⋆ δ): the product is linear in each side
            for r in self.slide(p, q, mode):
                yield tensor_scale(r, cp * cq)
            return
        m = self.d.program.batch
        sp, sq = tensor_shape(p), tensor_shape(q)
        if len(sp) != 4 or len(sq) != 4:
            raise ShapeMismatch(f"{text(p)} ⋆ {text(q)}: a bias cannot slide")
        if sp[0] != m and sq[0] == m:  # K ⋆ A: the kernel slides over the maps
            p, q, sp, sq = q, p, sq, sp
        readings = []
        if sp[0] == m and sq[0] == m:
            corr = self.conv_of(q)
            s, pad = (corr.stride, corr.padding) if corr is not None else (1, 0)
            k = corr.kernel.shape[2] if corr is not None else None
            full = (sq[2] - 1) * s if k is None else k - 1
            readings.append(Slide(p, q, "kern", s, pad if mode == "valid" else full))
        elif sp[0] == m:
            corr = self.conv_of(q)
            s, pad = (corr.stride, corr.padding) if corr is not None else (1, 0)
            k = sq[2]
            if sq[1] == sp[1]:
                readings.append(Slide(p, q, "fwd", s, pad if mode == "valid" else k - 1))
            if sq[0] == sp[1]:
                if mode == "full":
                    readings.append(Slide(p, q, "bwd", s, k - 1, pad))
                else:
                    readings.append(Slide(p, q, "bwd", s, 0, 0))
        if not readings:
            raise ShapeMismatch(
                f"{text(p)} ⋆ {text(q)}: the channels do not fit "
                f"({text(p)} is {shape_text(_wrap(p))}, {text(q)} is {shape_text(_wrap(q))})"
            )
        yield from readings

    def _layer_of_z(self, arg: Any) -> int:
        if isinstance(arg, (MatrixSymbol, TensorSymbol)) and arg.name.startswith("Z_"):
            return int(arg.name.split("_")[1])
        raise FormulaError(
            f"f, g: the layer's own activation is applied to a pre-activation Z_l, not {text(arg)}"
        )

    # ------------------------------------------------------------------ readings

    def readings(self, node: IR) -> list[Any]:
        node = _rewrite_diag(node)
        out = list(itertools.islice(self._readings(node), MAX_READINGS))
        if not out:
            raise FormulaError("the formula has no reading")
        return out

    def neg(self, a: Any) -> Any:
        if _scalar(a):
            return -a
        return tensor_scale(a, -1) if is_tensor(a) else MatMul(-1, a).doit(deep=False)

    def _readings(self, node: IR) -> Iterator[Any]:
        self.ctx.budget.spend()
        kind = node[0]
        if kind == "sym":
            yield self.symbol(node)
        elif kind == "num":
            yield sympy.Rational(node[1])
        elif kind == "scalar":
            yield self.scalar(node[1])
        elif kind == "ones":
            if len(node) == 1:
                yield _Ones()
            else:  # 1_4 where two widths are 4: one reading per width (they are equal)
                for size in self.sizes(node[1]):
                    yield _Ones(frozenset({size}))
        elif kind == "quantity":
            raise FormulaError("∂L/∂… can only stand on the left-hand side")
        elif kind in ("add", "sub"):
            sign = 1 if kind == "add" else -1
            if self.numpy:
                yield from self._binary(node[1], node[2], lambda a, b: _add(*broadcast(a, b), sign))
            else:
                yield from self._binary(node[1], node[2], lambda a, b: _add(a, b, sign))
        elif kind == "neg":
            for a in self.readings(node[1]):
                yield self.neg(a)
        elif kind == "mat":
            if _has_fn(node[1]) and _has_fn(node[2]):
                # σ(z)(1 - σ(z)): juxtaposed functions of z are the elementwise product
                # wherever the matrix product does not fit
                yield from self._binary(node[1], node[2], _matmul_or_hadamard)
            else:
                yield from self._binary(node[1], node[2], _matmul)
        elif kind == "had":
            if self.numpy:
                yield from self._binary(node[1], node[2], lambda a, b: _had(*broadcast(a, b)))
            else:
                yield from self._binary(node[1], node[2], _had)
        elif kind == "amb":
            yield from self._ambiguous(node)
        elif kind == "chain":
            yield from self._chain(node)
        elif kind == "div":
            for a, b in itertools.product(self.readings(node[1]), self.readings(node[2])):
                if not _scalar(b) and self.numpy and not isinstance(b, _Ones):
                    # NumPy divides entry by entry: a / b = a ⊙ b^(-1)
                    inverse = (
                        TensorElementwise("pow-1", sympy.Lambda(XVAR, 1 / XVAR), b)
                        if is_tensor(b)
                        else HadamardPower(b, -1)
                    )
                    yield _had(*broadcast(a, inverse))
                    continue
                if not _scalar(b):
                    raise FormulaError(f"division by the matrix {text(b)}")
                if is_tensor(a):
                    yield tensor_scale(a, 1 / b)
                else:
                    yield a / b if _scalar(a) else MatMul(1 / b, a).doit(deep=False)
        elif kind == "T":
            for a in self.readings(node[1]):
                if is_tensor(a):
                    raise ShapeMismatch(f"{text(a)}ᵀ: a feature map or kernel has no transpose")
                if isinstance(a, _Ones):
                    yield a
                else:
                    yield a if _scalar(a) else a.T
        elif kind == "pow":
            for a in self.readings(node[1]):
                if is_tensor(a):
                    power = sympy.Lambda(XVAR, XVAR ** node[2])
                    yield TensorElementwise(f"pow{node[2]}", power, a)
                else:
                    yield a ** node[2] if _scalar(a) else HadamardPower(a, node[2])
        elif kind == "fn":
            for a in self.readings(node[3]):
                f = self.activation(node[1], a)
                for _ in range(node[2]):
                    if not isinstance(f, ELEMENTWISE):
                        raise FormulaError("the derivative of softmax is not elementwise")
                    f = f.derivative()
                    scalar_fn = getattr(f, "scalar", None)
                    if scalar_fn is not None and scalar_fn().has(sympy.DiracDelta):
                        raise FormulaError(
                            f"{getattr(f, 'name', node[1])}{chr(39) * node[2]}: this derivative "
                            "is a Dirac delta "
                            "(zero except at the kink), not a function a formula can use"
                        )
                yield f
        elif kind == "sum":
            for a in self.readings(node[1]):
                yield self._sum(a, node[2])
        elif kind == "diag":
            raise FormulaError("diag(v) must be followed by the matrix it multiplies")
        elif kind in ("corr", "conv"):
            for a, b in itertools.product(self.readings(node[1]), self.readings(node[2])):
                # convolve2d(P, Q) is correlate2d(P, rot180(Q)): it flips its kernel
                yield from self.slide(a, b if kind == "corr" else rot180(b), node[3])
        elif kind == "mode":
            saved, self.mode = self.mode, node[2]
            try:
                inner = self.readings(node[1])
            finally:
                self.mode = saved
            yield from inner
        elif kind == "gt0":
            for a in self.readings(node[1]):
                if _scalar(a) or isinstance(a, _Ones):
                    raise FormulaError("(… > 0) compares a matrix, not a number, with 0")
                # [x > 0] is 0 at x = 0 (H(0) = 0): (A > 0) is ReLU's mask even where A = 0
                step = sympy.Lambda(XVAR, sympy.Heaviside(XVAR, 0))
                yield (TensorElementwise if is_tensor(a) else Elementwise)("step", step, a)
        elif kind == "cmp":
            for a in self.readings(node[1]):
                yield self._mask(a, node[2], node[3])
        elif kind == "where":
            yield from self._where(node)
        elif kind == "squeeze":
            for a in self.readings(node[1]):
                yield self._squeezed(a, node[1])
        elif kind == "helper":
            yield from self._helper(node)
        elif kind == "reshape":
            for a, like in itertools.product(self.readings(node[1]), self.readings(node[2])):
                yield self._reshape(a, like)
        elif kind == "slice":
            raise FormulaError("a slice (δ)_{n,:,i,j} is read under a sum: Σ_{n,i,j} (δ)_{n,:,i,j}")
        else:
            raise FormulaError(f"cannot use {kind!r} here")

    def _mask(self, a: Any, op: str, c: Any) -> Any:
        """``x > c`` entry by entry: 1 where it holds, else 0."""
        if _scalar(a) or isinstance(a, _Ones):
            raise FormulaError(f"(… {op} {c}) compares a matrix, not a number")
        holds = _holds(op, c)
        fn = sympy.Lambda(XVAR, sympy.Piecewise((1, holds), (0, True)))
        return (TensorElementwise if is_tensor(a) else Elementwise)(f"mask{op}{c}", fn, a)

    def _where(self, node: IR) -> Iterator[Any]:
        """``np.where(x > c, p, q)``: p where the condition holds, else q (numbers or arrays)."""
        cond = node[1]
        op, c = (">", 0) if cond[0] == "gt0" else (cond[2], cond[3])
        for x in self.readings(cond[1]):
            for p, q in itertools.product(self.readings(node[2]), self.readings(node[3])):
                if _scalar(p) and _scalar(q) and not is_tensor(x):
                    holds = _holds(op, c)
                    fn = sympy.Lambda(XVAR, sympy.Piecewise((p, holds), (q, True)))
                    yield Elementwise("where", fn, x)
                    continue
                mask = self._mask(x, op, c)
                yield _add(_had(mask, p), _had(_add(1, mask, -1), q), 1)

    def _squeezed(self, a: Any, node: IR) -> Any:
        """``np.sum(x, axis=…)`` without keepdims: NumPy's shape (n,), not (n, 1).

        Summed over rows (axis 0) the vector broadcasts as the row it would be with
        keepdims; summed over columns (axis 1) it broadcasts as a row too, where a column
        is meant (b − α·db is then n×n): that is the mistake to name.
        """
        if node[2] == 0:
            return a
        n = a.shape[0]
        raise ShapeMismatch(
            f"np.sum(…, axis=1) without keepdims=True has shape ({text(n)},), not "
            f"({text(n)}, 1): it broadcasts as a row (b − α·db would be {text(n)}×{text(n)}) "
            "— add keepdims=True"
        )

    def _helper(self, node: IR) -> Iterator[Any]:
        """The exported modules' feature-map helpers, read as the nodes they print."""
        from derive.nodes import ConvBackInput, ConvBackKernel, Unpool

        name, arrays, numbers = node[1], node[2], node[3]
        ints = [n for n in numbers if isinstance(n, int)]
        for args in itertools.product(*(self.readings(a) for a in arrays)):
            if not all(is_tensor(a) and len(tensor_shape(a)) == 4 for a in args):
                raise ShapeMismatch(f"{name}(): its arrays are feature maps or kernels")
            if name == "conv2d":
                out: Any = Correlate(args[1], args[0], *ints)
            elif name == "conv2d_back_input":
                like = {self.resolve_one(n[1]) for n in numbers if not isinstance(n, int)}
                if len(like) != 1 or len(ints) != 2:
                    raise FormulaError(
                        "conv2d_back_input(G, K, s, p, A.shape[2], A.shape[3]): the sizes are "
                        "those of the layer input A"
                    )
                out = ConvBackInput(args[0], args[1], ints[0], ints[1], like.pop())
            elif name == "conv2d_back_kernel":
                out = ConvBackKernel(args[0], args[1], *ints)
            elif name.endswith("_back"):
                out = Unpool(args[0], args[1], name[:3], *ints)
            else:
                out = Pool(args[0], name[:3], *ints)
            if any(not sympy.sympify(d).is_integer for d in tensor_shape(out)):  # safe: ours
                raise ShapeMismatch(f"{name}(): the window does not fit the maps")
            yield out

    def resolve_one(self, node: IR) -> Any:
        readings = self.readings(node)
        if len(readings) != 1:
            raise FormulaError("an argument with more than one reading")
        return readings[0]

    def _reshape(self, a: Any, like: Any) -> Any:
        """``G.reshape(A.shape)`` (column layout: ``G.T.reshape``): per-sample vectors as maps."""
        column = self.d.program.column
        if not is_tensor(like) or _scalar(a) or is_tensor(a) or isinstance(a, _Ones):
            raise ShapeMismatch(".reshape(A.shape): a matrix of samples reshaped as feature maps")
        g = a.T if column else a
        want = Flatten(like, column).shape
        if tuple(g.shape) != tuple(want):
            raise ShapeMismatch(
                f"{text(a)}.reshape: {text(a)} is {shape_text(a)}; maps shaped like "
                f"{text(like)} need {'the transpose of ' if column else ''}a "
                f"{'×'.join(text(w) for w in want)} matrix"
            )
        return Unflatten(g, like, column)

    def _binary(self, left: IR, right: IR, op: Any) -> Iterator[Any]:
        errors: list[FormulaError] = []
        found = False
        for a, b in itertools.product(self.readings(left), self.readings(right)):
            self.ctx.budget.spend()
            if errors and _surely_misfit(op, a, b):
                continue
            try:
                yield op(a, b)
                found = True
            except ShapeMismatch as err:
                errors.append(err)
        if not found and errors:
            raise errors[0]

    def _ambiguous(self, node: IR) -> Iterator[Any]:
        """``a · b · c``: every bracketing, each product a matrix or a Hadamard product.

        Shapes compose like a matrix chain, so the readings of each span of operands are
        built once from the readings of its two parts (dynamic programming over spans):
        the work grows with the cube of the operands, not with the Catalan number of
        bracketings. Each span keeps at most ``MAX_READINGS`` distinct readings.
        """
        operands: list[IR] = []
        stack = [node]
        while stack:  # left to right, without recursion
            n = stack.pop()
            if n[0] == "amb":
                stack += [n[2], n[1]]
            else:
                operands.append(n)
        count = len(operands)
        spans: dict[tuple[int, int], list[Any]] = {
            (i, i + 1): list(dict.fromkeys(self.readings(o))) for i, o in enumerate(operands)
        }
        errors: list[FormulaError] = []
        for length in range(2, count + 1):
            # right to left: the first shape error named is the innermost right-hand one,
            # as when the bracketings were enumerated one by one
            for i in reversed(range(count - length + 1)):
                j = i + length
                found: dict[Any, Any] = {}
                for k in range(i + 1, j):
                    for left in spans[(i, k)]:
                        for right in spans[(k, j)]:
                            for result in self._products(left, right, errors):
                                if len(found) < MAX_READINGS:
                                    found.setdefault(_reading_key(result), result)
                spans[(i, j)] = list(found.values())
        if not spans[(0, count)]:
            raise errors[0] if errors else FormulaError("no reading of the product fits")
        yield from spans[(0, count)]

    def _chain(self, node: IR) -> Iterator[Any]:
        """``X ⊙ A B``: every bracketing of the operands, each operator as written (the
        same dynamic programming over spans as ``_ambiguous``)."""
        ops, operands = node[1], node[2:]
        count = len(operands)
        spans: dict[tuple[int, int], list[Any]] = {
            (i, i + 1): list(dict.fromkeys(self.readings(o))) for i, o in enumerate(operands)
        }
        errors: list[FormulaError] = []
        for length in range(2, count + 1):
            for i in reversed(range(count - length + 1)):
                j = i + length
                found: dict[Any, Any] = {}
                for k in range(i + 1, j):
                    op = _had if ops[k - 1] == "h" else _matmul
                    if op is _matmul and _has_fn(operands[k - 1]) and _has_fn(operands[k]):
                        op = _matmul_or_hadamard  # σ(z)(1 − σ(z)), as for a plain product
                    for left in spans[(i, k)]:
                        for right in spans[(k, j)]:
                            self.ctx.budget.spend()
                            if errors and _surely_misfit(op, left, right):
                                continue
                            try:
                                result = op(left, right)
                            except ShapeMismatch as err:
                                errors.append(err)
                                continue
                            if len(found) < MAX_READINGS:
                                found.setdefault(_reading_key(result), result)
                spans[(i, j)] = list(found.values())
        if not spans[(0, count)]:
            raise errors[0] if errors else FormulaError("no reading of the product fits")
        yield from spans[(0, count)]

    def _products(self, left: Any, right: Any, errors: list[FormulaError]) -> Iterator[Any]:
        """Every product of two readings: sliding (maps), matrix, Hadamard."""
        if is_tensor(left) and is_tensor(right):
            # CNN notes write the sliding product of maps and kernels with *
            self.ctx.budget.spend(SLIDE_COST)
            try:
                yield from list(self.slide(left, right, None))
            except ShapeMismatch as err:
                errors.append(err)
        for op in (_matmul, _had):
            self.ctx.budget.spend()
            if errors and _surely_misfit(op, left, right):
                continue
            try:
                yield op(left, right)
            except ShapeMismatch as err:
                errors.append(err)

    def _sum(self, a: Any, axis: Any) -> Any:
        if _scalar(a):
            raise FormulaError("a sum over samples needs a matrix")
        if is_tensor(a):
            if len(tensor_shape(a)) != 4:
                raise ShapeMismatch(f"Σ {text(a)}: a sum per channel needs feature maps")
            coeff, maps = tensor_coeff(a)  # Σ c δ = c Σ δ
            return tensor_scale(ChannelSum(maps), coeff)
        if axis == "channels":
            raise ShapeMismatch(
                f"a sum over axes (0, 2, 3) needs feature maps; {text(a)} is a matrix "
                f"({shape_text(a)})"
            )
        column = self.d.program.column
        if axis is None:
            axis = 1 if column else 0
        if axis == 1:
            return MatMul(a, OneMatrix(a.shape[1], 1)).doit(deep=False)
        return MatMul(OneMatrix(1, a.shape[0]), a).doit(deep=False)


def cotangent_symbol(k: int, shape: tuple[Any, ...]) -> Any:
    """``dA_k``: the cotangent of A_k, a matrix or a tensor like A_k."""
    return MatrixSymbol(f"dA_{k}", *shape) if len(shape) == 2 else TensorSymbol(f"dA_{k}", *shape)


def unique(exprs: list[Any]) -> list[Any]:
    out: list[Any] = []
    for e in exprs:
        if isinstance(e, _Ones):
            continue
        if all(e != o for o in out):
            out.append(e)
    return out
