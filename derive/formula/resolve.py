"""Turn formula IR into SymPy expressions over a derivation's own symbols.

Shapes are checked as the expression is built: every width is a distinct symbol, so a
missing transpose is a ``ShapeMismatch`` naming both operands and their shapes. Products
written with an ambiguous operator (``\\cdot``, ``\\times``, ``*`` in LaTeX) are resolved
by shapes: every reading that fits is returned.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sympy
from sympy.matrices.expressions import (
    HadamardPower,
    MatMul,
    MatrixExpr,
    MatrixSymbol,
    OneMatrix,
)

from derive.activations import TABLE
from derive.derivation import Derivation
from derive.formula.parse import IR, FormulaError
from derive.graph import activation_node
from derive.nodes import Elementwise, Softmax, hadamard
from derive.scalar_expr import X as XVAR
from derive.spec import Activation
from derive.text import text

MAX_READINGS = 64


class ShapeMismatch(FormulaError):
    """Two operands whose shapes do not fit the operation."""


def shape_text(e: Any) -> str:
    rows, cols = e.shape
    return f"{text(rows)}×{text(cols)}"


@dataclass
class Context:
    """What the symbols of a formula mean: a derivation and the value of ``l``."""

    d: Derivation
    layer: int | None = None  # value of the generic index l

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
    return not getattr(e, "is_Matrix", False) and not isinstance(e, (MatrixExpr, _Ones))


class _Ones:
    """``\\mathbf{1}``: a ones vector whose length comes from its neighbour in a product."""


def _matmul(a: Any, b: Any) -> Any:
    if isinstance(a, _Ones) and isinstance(b, _Ones):
        raise FormulaError("\\mathbf{1} \\mathbf{1}: the size of the ones vectors is unknown")
    if isinstance(a, _Ones):
        return MatMul(OneMatrix(1, b.shape[0]), b).doit(deep=False)
    if isinstance(b, _Ones):
        return MatMul(a, OneMatrix(a.shape[1], 1)).doit(deep=False)
    if _scalar(a) or _scalar(b):
        return a * b
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


def _had(a: Any, b: Any, op: str = "⊙") -> Any:
    if _scalar(a) or _scalar(b):
        return a * b
    if isinstance(a, _Ones) or isinstance(b, _Ones):
        return b if isinstance(a, _Ones) else a
    if a.shape != b.shape:
        raise ShapeMismatch(
            f"{text(a)} {op} {text(b)}: {text(a)} is {shape_text(a)}, {text(b)} is {shape_text(b)}"
        )
    return hadamard(a, b)


def _add(a: Any, b: Any, sign: int) -> Any:
    if _scalar(a) and _scalar(b):
        return a + sign * b
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
            k: MatrixSymbol(f"dA_{k}", *st.lhs.shape) for k, st in self.d.cotangents.items()
        }

    # ------------------------------------------------------------------ symbols

    def symbol(self, node: IR) -> Any:
        _, base, idx, _lower = node
        if base in ("X", "Y"):
            if idx is not None and not (base == "X" and self.ctx.layer_of(idx, base) == 0):
                raise FormulaError(f"{base} takes no layer index")
            return self.symbols[base]
        k = self.ctx.layer_of(idx, base)
        name = {"delta": "delta", "W": "W", "b": "b", "Z": "Z", "A": "A", "dA": "dA"}.get(base)
        if name is None:
            raise FormulaError(f"{base} cannot appear on the right-hand side")
        if k is None:
            raise FormulaError(f"{base} needs a layer index (e.g. {base}_1)")
        if base == "dA":
            if k not in self.cotangents:
                raise FormulaError(f"no dA_{k} in this {self.d.depth}-layer network")
            return self.cotangents[k]
        key = f"{name}_{k}"
        if key not in self.symbols:
            raise FormulaError(
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

    def activation(self, name: str, arg: Any) -> Any:
        """The activation ``name`` applied to ``arg``; ``generic`` (f, g) is the layer's own."""
        axis = 0 if self.d.program.column else 1
        if name == "generic":
            layer = self._layer_of_z(arg)
            act = self.d.network.layers[layer - 1].activation
            return activation_node(act, arg, axis)
        if name == "softmax":
            return Softmax(arg, axis)
        if name in ("exp", "log"):
            fn = sympy.exp if name == "exp" else sympy.log
            return Elementwise(name, sympy.Lambda(XVAR, fn(XVAR)), arg)
        if name in TABLE:
            return activation_node(Activation(name), arg, axis)
        raise FormulaError(f"unknown function {name!r}")

    def _layer_of_z(self, arg: Any) -> int:
        if isinstance(arg, MatrixSymbol) and arg.name.startswith("Z_"):
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

    def _readings(self, node: IR) -> Iterator[Any]:
        kind = node[0]
        if kind == "sym":
            yield self.symbol(node)
        elif kind == "num":
            yield sympy.Rational(node[1])
        elif kind == "scalar":
            yield self.scalar(node[1])
        elif kind == "ones":
            yield _Ones()
        elif kind == "quantity":
            raise FormulaError("∂L/∂… can only stand on the left-hand side")
        elif kind in ("add", "sub"):
            yield from self._binary(
                node[1], node[2], lambda a, b: _add(a, b, 1 if kind == "add" else -1)
            )
        elif kind == "neg":
            for a in self.readings(node[1]):
                yield -a if _scalar(a) else MatMul(-1, a).doit(deep=False)
        elif kind == "mat":
            if _has_fn(node[1]) and _has_fn(node[2]):
                # σ(z)(1 - σ(z)): juxtaposed functions of z are the elementwise product
                # wherever the matrix product does not fit
                yield from self._binary(node[1], node[2], _matmul_or_hadamard)
            else:
                yield from self._binary(node[1], node[2], _matmul)
        elif kind == "had":
            yield from self._binary(node[1], node[2], _had)
        elif kind == "amb":
            yield from self._ambiguous(node)
        elif kind == "div":
            for a, b in itertools.product(self.readings(node[1]), self.readings(node[2])):
                if not _scalar(b):
                    raise FormulaError(f"division by the matrix {text(b)}")
                yield a / b if _scalar(a) else MatMul(1 / b, a).doit(deep=False)
        elif kind == "T":
            for a in self.readings(node[1]):
                if isinstance(a, _Ones):
                    yield a
                else:
                    yield a if _scalar(a) else a.T
        elif kind == "pow":
            for a in self.readings(node[1]):
                yield a ** node[2] if _scalar(a) else HadamardPower(a, node[2])
        elif kind == "fn":
            for a in self.readings(node[3]):
                f = self.activation(node[1], a)
                for _ in range(node[2]):
                    if not isinstance(f, Elementwise):
                        raise FormulaError("the derivative of softmax is not elementwise")
                    f = f.derivative()
                yield f
        elif kind == "sum":
            for a in self.readings(node[1]):
                yield self._sum(a, node[2])
        elif kind == "diag":
            raise FormulaError("diag(v) must be followed by the matrix it multiplies")
        elif kind == "gt0":
            for a in self.readings(node[1]):
                yield Elementwise("step", sympy.Lambda(XVAR, sympy.Heaviside(XVAR)), a)
        else:
            raise FormulaError(f"cannot use {kind!r} here")

    def _binary(self, left: IR, right: IR, op: Any) -> Iterator[Any]:
        errors: list[FormulaError] = []
        found = False
        for a, b in itertools.product(self.readings(left), self.readings(right)):
            try:
                yield op(a, b)
                found = True
            except ShapeMismatch as err:
                errors.append(err)
        if not found and errors:
            raise errors[0]

    def _ambiguous(self, node: IR) -> Iterator[Any]:
        """``a · b · c``: every bracketing, each product a matrix or a Hadamard product."""
        operands: list[IR] = []

        def flatten(n: IR) -> None:
            if n[0] == "amb":
                flatten(n[1])
                flatten(n[2])
            else:
                operands.append(n)

        flatten(node)
        values = [self.readings(o) for o in operands]
        errors: list[FormulaError] = []
        found = False
        for choice in itertools.product(*values):
            for result in self._bracketings(list(choice), errors):
                found = True
                yield result
        if not found:
            raise errors[0] if errors else FormulaError("no reading of the product fits")

    def _bracketings(self, items: list[Any], errors: list[FormulaError]) -> Iterator[Any]:
        if len(items) == 1:
            yield items[0]
            return
        for split in range(1, len(items)):
            for left in self._bracketings(items[:split], errors):
                for right in self._bracketings(items[split:], errors):
                    for op in (_matmul, _had):
                        try:
                            yield op(left, right)
                        except ShapeMismatch as err:
                            errors.append(err)

    def _sum(self, a: Any, axis: int | None) -> Any:
        if _scalar(a):
            raise FormulaError("a sum over samples needs a matrix")
        column = self.d.program.column
        if axis is None:
            axis = 1 if column else 0
        if axis == 1:
            return MatMul(a, OneMatrix(a.shape[1], 1)).doit(deep=False)
        return MatMul(OneMatrix(1, a.shape[0]), a).doit(deep=False)


def unique(exprs: list[Any]) -> list[Any]:
    out: list[Any] = []
    for e in exprs:
        if isinstance(e, _Ones):
            continue
        if all(e != o for o in out):
            out.append(e)
    return out
