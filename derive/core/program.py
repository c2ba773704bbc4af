"""A user's forward program as equations over our nodes, and its staged derivation.

``derive.spec.program`` reads the program (names checked, positions kept); here each
assignment becomes one ``Equation`` whose right-hand side is built from the nodes of the
one rule table, with NumPy's broadcasting made explicit (``Broadcast`` nodes, so the
derivation can say that the transpose of a broadcast is a sum). Shapes are checked as the
nodes are built: a mismatch names the file, the line, the equation and both shapes.

The derivation is the same reverse walk as for networks. Its naming hook binds the
cotangent of every assignment to ``d<name>`` — the staged backward pass as courses teach
it (``dXhat``, ``dvar``, ``dmu``, ``dXc``, ``dX``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy
from sympy.core.sorting import default_sort_key
from sympy.matrices.expressions import (
    Determinant,
    HadamardPower,
    Inverse,
    MatAdd,
    MatMul,
    MatrixExpr,
    MatrixSymbol,
    OneMatrix,
    Trace,
    ZeroMatrix,
)
from sympy.matrices.expressions.matadd import factor_of, matrix_of, merge_explicit
from sympy.strategies import condition, do_one, exhaust, flatten, glom, rm_id, sort, unpack

from derive.core import nodes as N
from derive.core.graph import LOSS, Equation, Kind
from derive.spec import program_grammar as G
from derive.spec.records import SpecError

Shape = tuple[Any, ...]


class ProgramError(SpecError):
    """A program whose equations cannot be built (shapes that do not fit)."""


class ProgramReadError(ProgramError):
    """A construct the builder does not read (``x.shape`` whole outside ``ones``): not a
    shape mismatch, so a checked snippet that uses it is unread, never judged wrong."""


def size_symbol(size: int | str) -> sympy.Expr:
    """A size of a declared shape: an Integer, or a positive integer Symbol."""
    if isinstance(size, int):
        return sympy.Integer(size)
    if "*" in size:  # "4*H", read by derive.spec.program_records.size_value
        factor, name = size.split("*", 1)
        return int(factor) * sympy.Symbol(name, integer=True, positive=True)
    return sympy.Symbol(size, integer=True, positive=True)


def matrix_shape(shape: tuple[int | str, ...]) -> tuple[sympy.Expr, sympy.Expr]:
    """A declared shape as rows × columns: a 1-d shape ``[n]`` is a column vector."""
    sizes = [size_symbol(s) for s in shape]
    if len(sizes) == 1:
        return sizes[0], sympy.Integer(1)
    return sizes[0], sizes[1]


def cotangent_name(name: str) -> str:
    """``Xhat`` -> ``dXhat``: the staged backward pass's name of ∂L/∂Xhat."""
    return f"d{name}"


def is_scalar(e: Any) -> bool:
    """A scalar value (a hyperparameter, a number, a norm, a full reduction)."""
    return not isinstance(e, MatrixExpr)


def shape_of(e: Any) -> Shape:
    """The shape of a value; ``()`` for a scalar."""
    return () if is_scalar(e) else tuple(e.shape)


def shape_text(shape: Shape) -> str:
    """``(N, D)`` -> ``N×D``; a scalar is ``a scalar``."""
    return "×".join(str(s) for s in shape) if shape else "a scalar"


@dataclass
class ProgramGraph:
    """The built program: every name's symbol, the equations, and what is differentiated.

    ``wrt`` are the values that get a gradient (the inputs and the parameters, not the
    labels, not the upstream gradient); ``seed`` starts the walk: ``{L: 1}`` for a loss,
    ``{out: dout}`` for a layer's backward pass.
    """

    spec: Any
    values: dict[str, Any]
    equations: list[Equation]
    inputs: list[Any]
    labels: list[Any]
    parameters: list[Any]
    hyper: dict[str, sympy.Symbol]
    output: Any
    upstream: Any | None
    loss: Any | None
    sizes: dict[str, sympy.Expr] = field(default_factory=dict)
    #: Values named by derive, not by the user (``u1`` in an expression): a closed form
    #: is written without them.
    auto: dict[Any, Any] = field(default_factory=dict)
    #: Further outputs with their given gradients (an LSTM step's ``next_c`` and
    #: ``dnext_c`` next to ``next_h`` and ``dnext_h``).
    more_upstream: dict[Any, Any] = field(default_factory=dict)

    @property
    def wrt(self) -> list[Any]:
        """What gets a gradient: a layer's backward pass passes one to its inputs too
        (``dX``); a loss is differentiated by the parameters only (not by the data)."""
        if self.loss is not None:
            return list(self.parameters)
        fixed = getattr(self.spec, "fixed", ())  # an opaque sub-layer's random weight
        return [s for s in [*self.inputs, *self.parameters] if s.name not in fixed]

    @property
    def seed(self) -> dict[Any, Any]:
        """The walk's starting cotangent."""
        if self.loss is not None:
            return {LOSS: sympy.Integer(1)}
        return {self.output: self.upstream, **self.more_upstream}

    @property
    def forward_equations(self) -> list[Equation]:
        """Every assignment (not the loss)."""
        return [eq for eq in self.equations if eq.kind is not Kind.LOSS]


class _Builder:
    """Builds node expressions from the typed AST, one equation at a time."""

    def __init__(self, spec: Any) -> None:
        self.spec = spec
        self.env: dict[str, Any] = {}
        self.sizes: dict[str, sympy.Expr] = {}
        self.where = ""
        #: A checked snippet's NumPy (``Reader``): a reduction without keepdims is 1-d
        self.numpy_1d = False
        #: Names whose value is a 0/1 mask (``mse_mask = l1 < delta``): ``~`` reads them
        self.masks: set[Any] = set()
        #: A checked snippet's sub-layer calls (``self.softmax.backward(d)``), read by
        #: the checker (``formula.program_sublayers``): (fn, args, node) -> value
        self.layers: Callable[[str, list[Any], Any], Any] | None = None

    # ------------------------------------------------------------------ errors

    def fail(self, problem: str, line: int | None, *, reading: bool = False) -> ProgramError:
        kind = ProgramReadError if reading else ProgramError
        return kind(
            f"{self.where}: {problem}" if self.where else problem,
            source=self.spec.source,
            line=line,
        )

    # ------------------------------------------------------------------ values

    def declare(self, name: str, shape: tuple[int | str, ...]) -> MatrixSymbol:
        rows, cols = matrix_shape(shape)
        for s in shape:
            if isinstance(s, str):
                base = s.split("*", 1)[-1]  # "4*H" declares the size H
                self.sizes[base] = size_symbol(base)
        sym = MatrixSymbol(name, rows, cols)
        self.env[name] = sym
        return sym

    def build(self, node: Any) -> Any:
        method: Callable[[Any], Any] = getattr(self, f"_{type(node).__name__.lower()}")
        try:
            return method(node)
        except N.ShapeMismatch as err:
            raise self.fail(str(err), getattr(node, "line", None)) from None

    def _num(self, node: Any) -> Any:
        return sympy.sympify(node.value)  # safe: a SymPy number our parser built

    def _name(self, node: Any) -> Any:
        if node.id not in self.env and node.id in self.sizes:
            return self.sizes[node.id]  # a size as a number: Q Kᵀ / sqrt(d)
        return self.env[node.id]

    def _unary(self, node: Any) -> Any:
        x = self.build(node.x)
        if node.op == "~":  # NumPy's logical not of a boolean mask
            return OneMatrix(*x.shape) - self.mask(x, "~", node)
        return -x if is_scalar(x) else N.scale(x, sympy.Integer(-1))

    def _transpose(self, node: Any) -> Any:
        x = self.build(node.x)
        return x if is_scalar(x) else x.T

    def _bin(self, node: Any) -> Any:
        a, b = self.build(node.left), self.build(node.right)
        op = node.op
        if op == "@":
            return self.matmul(a, b, node)
        if op in ("**", "^"):
            return self.power(a, b, node)
        if is_scalar(a) and is_scalar(b):
            return {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[op]
        if op == "*" and (is_scalar(a) or is_scalar(b)):
            s, m = (a, b) if is_scalar(a) else (b, a)
            return N.scale(m, s)
        if op == "/" and is_scalar(b):
            return N.scale(a, 1 / b)
        if self.numpy_1d:
            self.no_row_of_sums(node)
        a, b = self.broadcast(a, b, node)
        if op == "+":
            return flat_add([a, b])
        if op == "-":
            return flat_add([a, N.scale(b, sympy.Integer(-1))])
        if op == "*":
            return N.hadamard(a, b)
        return N.divide(a, b)

    def no_row_of_sums(self, node: Any) -> None:
        """A checked snippet's ``np.sum(x, axis=1)`` without ``keepdims=True`` beside a
        matrix: NumPy's 1-d result broadcasts as a row, not down the rows (Ng's classic
        bug; on a square x it runs and is wrong), so it is not read as the column. Beside a
        pick ``x[range(N), y]`` (N values too: ``m[range(N), y] = -np.sum(m, axis=1)``) the
        two are 1-d alike."""
        if isinstance(node.left, G.Pick) or isinstance(node.right, G.Pick):
            return
        for side in (node.left, node.right):
            while isinstance(side, G.Unary) and side.op == "-":
                side = side.x
            if (
                isinstance(side, G.Call)
                and side.fn in ("sum", "mean", "max")
                and side.axis == 1
                and not side.keepdims
            ):
                raise self.fail(
                    f"{side.fn}(…, axis=1) without keepdims=True is a 1-d array, which NumPy "
                    "broadcasts as a row beside a matrix, not as a column: add keepdims=True",
                    node.line,
                )

    def matmul(self, a: Any, b: Any, node: Any) -> Any:
        if is_scalar(a) or is_scalar(b):
            raise self.fail("@ needs two matrices; use * for a scalar", node.line)
        if a.shape[1] != b.shape[0]:
            raise self.fail(
                f"{shape_text(a.shape)} @ {shape_text(b.shape)} do not fit: "
                f"{a.shape[1]} columns against {b.shape[0]} rows",
                node.line,
            )
        return MatMul(a, b).doit(deep=False)

    def power(self, a: Any, b: Any, node: Any) -> Any:
        if not is_scalar(b):
            raise self.fail("an exponent must be a number or a hyperparameter", node.line)
        if is_scalar(a):
            if a.is_Number and b.is_Number and abs(b) > MAX_EXPONENT and abs(a) != 1:
                raise self.fail(
                    f"a number to a power beyond ±{MAX_EXPONENT} (…**{_short_number(b)})",
                    node.line,
                    reading=True,
                )
            return a**b
        return HadamardPower(a, b)

    def broadcast(self, a: Any, b: Any, node: Any) -> tuple[Any, Any]:
        """NumPy's broadcasting of two operands, made explicit (``Broadcast`` nodes)."""
        return N.fit(a, b, f"'{getattr(node, 'op', None) or getattr(node, 'fn', '')}'")

    # ------------------------------------------------------------------ calls

    def _call(self, node: Any) -> Any:
        if node.fn in FILLS:  # ones(x.shape): no x.shape on its own
            return self.ones(node.fn, node)
        if "." in node.fn:  # layer.backward(d): a sub-layer's method
            if self.layers is None:
                raise self.fail(
                    f"{node.fn}() calls a sub-layer: a program's equations name the "
                    "layer's value (declare it under [sublayers])",
                    node.line,
                    reading=True,
                )
            return self.layers(node.fn, [self.build(a) for a in node.args], node)
        return self.call(node.fn, [self.build(a) for a in node.args], node)

    def _shapeof(self, node: Any) -> Any:
        x = self.build(node.x)
        if is_scalar(x):
            raise self.fail("a scalar has no .shape", node.line)
        if node.axis is None:
            raise self.fail(
                "x.shape is read only to unpack it (N, D = x.shape)", node.line, reading=True
            )
        return x.shape[node.axis]

    def _sliceof(self, node: Any) -> Any:
        """``x[:, a:b]`` / ``x[a:b, :]``: bounds that are sizes (``H``, ``2*H``) or whole
        numbers, or those negated (``-H``: counted from the end, as NumPy reads it, so
        ``a[:, -H:]`` of a 4H-wide ``a`` is ``a[:, 3H:4H]``); one past the width, backwards
        or empty is refused with the line."""
        x = self.build(node.x)
        if is_scalar(x):
            raise self.fail("a slice of a scalar: only a matrix has rows and columns", node.line)
        bounds: list[Any] = []
        read: list[str] = []  # the negative bounds, as read from the end
        width = x.shape[node.axis]
        for b, default in ((node.start, sympy.Integer(0)), (node.stop, width)):
            if b is None:
                bounds.append(default)
                continue
            v = self.build(b)
            end = from_end(v, width, node.axis)
            if end is not None:
                read.append(f"{v} as {end}")
                v = end
            elif not (_is_size(v) or v == 0):
                raise self.fail(
                    "a slice's bounds are sizes (H, 2*H), whole numbers from 0 to "
                    f"{MAX_LITERAL_SIZE}, or those negated (counted from the end: -H)",
                    node.line,
                    reading=True,
                )
            bounds.append(v)
        try:
            return N.Slice(x, bounds[0], bounds[1], node.axis)
        except N.ShapeMismatch as err:
            if not read:
                raise
            raise self.fail(f"{err} (read {', '.join(read)}, from the end)", node.line) from None

    def _lookup(self, node: Any) -> Any:
        raise self.fail(
            f"{node.container}[{node.key!r}]: a program names its values; "
            "only a checked snippet takes them from a container",
            node.line,
        )

    def call(self, fn: str, args: list[Any], node: Any) -> Any:
        x: Any = args[0] if args else None
        if getattr(node, "axis_from", None) is not None:
            raise self.fail(f"{fn}(): axis must be 0, 1 or None", node.line)
        if fn == "concat":  # np.hstack / np.vstack / np.concatenate
            return N.Concat(node.axis, *args)
        if fn == "dot":
            return self.matmul(x, args[1], node)
        if fn == "square":
            return self.power(x, sympy.Integer(2), node)
        if fn == "power":
            return self.power(x, args[1], node)
        if fn == "len":
            if isinstance(x, N.Labels):  # N = len(y): the number of labels
                return x.n
            if is_scalar(x):
                raise self.fail("len() of a scalar", node.line)
            return x.shape[0]
        if fn == "transpose":
            return x if is_scalar(x) else x.T
        if fn == "float":
            if not is_scalar(x):
                raise self.fail("float() of a matrix", node.line)
            return x
        if fn in FILLS:
            return self.ones(fn, node)
        if fn == "reshape":
            return self.reshape(x, args[1], args[2], node)
        if fn == "astype":
            return self.mask(x, ".astype()", node)
        if fn == "sign":  # sign(x) = 𝟙[x > 0] − 𝟙[x < 0]; its derivative is zero
            if is_scalar(x):
                return sympy.sign(x)
            return N.Indicator(x, ">", 0) - N.Indicator(x, "<", 0)
        if fn == "absolute":
            fn = "abs"
        if fn in ("sum", "mean", "max"):
            if is_scalar(x):
                raise self.fail(f"{fn}() of a scalar", node.line)
            if node.axis is None:
                return N.ReduceAll(x, fn)
            return N.Reduce(x, fn, node.axis)
        if fn == "maximum":
            zero, x = args
            if zero != 0:
                raise self.fail(
                    "maximum(0, x) is the only maximum supported", node.line, reading=True
                )
            fn = "relu"
        if fn in N.ELEMENTWISE_NAMES:  # a scalar argument gets the scalar function
            return N.elementwise(fn, x)
        if fn in ("softmax", "log_softmax"):
            axis = 1 if node.axis is None else node.axis
            return (N.Softmax if fn == "softmax" else N.LogSoftmax)(x, axis)
        if fn == "norm":
            return N.Norm(x)
        if fn in ("trace", "inv", "det", "logdet"):
            if is_scalar(x) or x.shape[0] != x.shape[1]:
                raise self.fail(
                    f"{fn}() needs a square matrix, got {shape_text(shape_of(x))}", node.line
                )
            return {"trace": Trace, "inv": Inverse, "det": Determinant, "logdet": N.LogDet}[fn](x)
        if fn == "where":
            cond, a, b = args
            cond = self.mask(cond, "where()'s condition", node)
            a, b = self.broadcast(a, b, node) if not (is_scalar(a) and is_scalar(b)) else (a, b)
            return N.where(cond, a, b)
        raise self.fail(f"unknown function {fn}()", node.line, reading=True)

    def reshape(self, x: Any, rows: Any, cols: Any, node: Any) -> Any:
        """``x.reshape(r, c)`` between vector shapes (NumPy's ``(D,)`` row read as 1×D):
        the same vector, or its transpose; any other reshape is not read."""
        if is_scalar(x):
            raise self.fail("reshape() of a scalar", node.line, reading=True)
        n, m = x.shape
        length = n * m
        r = length if rows == -1 else rows
        c = length if cols == -1 else cols
        if -1 in (rows, cols) and 1 not in (rows, cols):
            raise self.fail(
                "reshape() is read only to a row (1, -1) or a column (-1, 1)",
                node.line,
                reading=True,
            )
        if (r, c) == (n, m):
            return x
        if (r, c) == (m, n) and 1 in (n, m):
            return x.T
        raise self.fail(
            f"reshape() to ({r}, {c}) of a {shape_text(shape_of(x))} value: only a vector to a "
            "row or a column is read",
            node.line,
            reading=True,
        )

    def ones(self, fn: str, node: Any) -> Any:
        """``ones_like(x)`` / ``ones(x.shape)``: a one repeated to ``x``'s shape (zeros:
        a zero matrix, the start of an accumulation ``dW = np.zeros_like(W)``)."""
        fill = sympy.Integer(0 if fn.startswith("zeros") else 1)
        if fn in ("ones", "zeros") and len(node.args) == 2:  # ones((N, D)): NumPy's tuple
            rows, cols = (self.build(a) for a in node.args)
            if not all(_is_size(d) for d in (rows, cols)):
                raise self.fail(
                    f"{fn}((rows, cols)) takes two sizes: the program's sizes, or whole "
                    f"numbers from 1 to {MAX_LITERAL_SIZE}",
                    node.line,
                    reading=True,
                )
            return ZeroMatrix(rows, cols) if fn == "zeros" else N.Broadcast(fill, rows, cols)
        arg = node.args[0]
        if fn in ("ones", "zeros"):
            if type(arg).__name__ != "ShapeOf" or arg.axis is not None:
                raise self.fail(f"{fn}() is read as {fn}(x.shape)", node.line, reading=True)
            arg = arg.x
        x = self.build(arg)
        if is_scalar(x):
            return fill
        return ZeroMatrix(*x.shape) if fill == 0 else N.Broadcast(fill, *x.shape)

    def _compare(self, node: Any) -> Any:
        """``a op b`` as a 0/1 mask; ``!=`` is ``𝟙[a > b] + 𝟙[a < b]``, ``==`` one minus it."""
        a, b = self.build(node.left), self.build(node.right)
        if is_scalar(a) and is_scalar(b):
            raise self.fail("a comparison needs a matrix side", node.line)
        a, b = self.broadcast(a, b, node)
        if node.op not in ("==", "!="):
            return N.Indicator(a, node.op, b)
        differ = MatAdd(N.Indicator(a, ">", b), N.Indicator(a, "<", b))
        return differ if node.op == "!=" else OneMatrix(*differ.shape) - differ

    def mask(self, x: Any, what: str, node: Any) -> Any:
        """``x`` if it is a 0/1 mask (made of comparisons), else a reading error: NumPy's
        ``~`` and ``astype`` mean something else on numbers."""
        if is_scalar(x) or not _is_mask(x, self.masks):
            raise self.fail(
                f"{what} is read only on a mask (a comparison such as x > 0)",
                node.line,
                reading=True,
            )
        return x

    def _pick(self, node: Any) -> Any:
        s = self.build(node.matrix)
        y = self.env[node.labels]
        if not isinstance(y, N.Labels):
            raise self.fail(
                f"{node.labels} is not an integer label input ([labels]): S[range(N), y] "
                "picks each row's entry at its label",
                node.line,
                reading=True,
            )
        return N.Pick(s, y)


#: The largest exponent of a number by a number (10**10**10 would never finish).
MAX_EXPONENT = 100
#: The largest size written as a number in ones((rows, cols)) / zeros((rows, cols)).
MAX_LITERAL_SIZE = 4096


def _short_number(x: Any) -> str:
    text = str(x)
    return text if len(text) <= 20 else text[:17] + "…"


#: The calls that make a matrix of one number shaped like another.
FILLS = ("ones_like", "zeros_like", "ones", "zeros")


def from_end(bound: Any, width: Any, axis: int) -> Any:
    """A negative slice bound (``-H``, ``-2``) read as NumPy reads it, from the end:
    ``width + bound``; None when ``bound`` is not known to be negative."""
    if not (isinstance(bound, sympy.Expr) and bound.is_negative and _is_size(-bound)):
        return None
    end = sympy.expand(width + bound)
    if end.is_negative:
        what = "columns" if axis == 1 else "rows"
        raise N.ShapeMismatch(
            f"the slice bound {bound} counts back past the first of the {width} {what} "
            "(a negative bound is read from the end, as NumPy does)"
        )
    return end


def _is_size(d: Any) -> bool:
    """A size symbol (or an expression of them: sizes are positive integer symbols), or a
    whole number in 1..MAX_LITERAL_SIZE."""
    if not is_scalar(d) or not isinstance(d, sympy.Expr):
        return False
    if d.is_Number:
        return bool(d.is_Integer and 1 <= int(d) <= MAX_LITERAL_SIZE)
    return bool(d.free_symbols) and all(s.is_integer and s.is_positive for s in d.free_symbols)


def stage_expression(loss: Any, taken: set[str]) -> tuple[list[Equation], Any]:
    """Name the matrix each scalar node of a free expression reads (``u1 = X w − y`` in
    ``‖X w − y‖²``), so its derivation has steps: ``du1``, then the gradient."""
    equations: list[Equation] = []
    names: dict[Any, MatrixSymbol] = {}

    def name(node: Any) -> Any:
        if not isinstance(node, N.ScalarOfMatrices) and not isinstance(node, (Trace, Determinant)):
            return node
        args = list(node.args)
        for k, arg in enumerate(args):
            if isinstance(arg, MatrixExpr) and not isinstance(arg, MatrixSymbol):
                if arg not in names:
                    i = len(names) + 1
                    while f"u{i}" in taken:
                        i += 1
                    taken.add(f"u{i}")
                    names[arg] = MatrixSymbol(f"u{i}", *arg.shape)
                    equations.append(Equation(names[arg], arg, Kind.MAP))
                args[k] = names[arg]
        return node.func(*args)

    staged = loss.replace(lambda e: isinstance(e, (N.ScalarOfMatrices, Trace, Determinant)), name)
    return equations, staged


def build_program(spec: Any) -> ProgramGraph:
    """The equations of a read program, shapes checked as each is built."""
    b = _Builder(spec)
    inputs = [b.declare(n, s) for n, s in spec.inputs.items()]
    labels = []
    for name, lab in spec.labels.items():
        length = size_symbol(lab.length)
        classes = size_symbol(lab.classes)
        sym = N.Labels(name, length, classes)
        b.env[name] = sym
        labels.append(sym)
    parameters = [b.declare(n, s) for n, s in spec.parameters.items()]
    hyper: dict[str, sympy.Symbol] = {}
    for name, value in spec.hyperparameters.items():
        if isinstance(value, str):
            sym = sympy.Symbol(value, positive=True)
            hyper[name] = sym
            b.env[name] = sym
        else:
            b.env[name] = sympy.sympify(value)  # safe: a SymPy number our parser built
    for name, size in b.sizes.items():  # a size the equations use, e.g. mu = 1 / N * sum(x)
        b.env.setdefault(name, size)
    equations: list[Equation] = []
    for assign in spec.equations:
        b.where = f"equation '{assign.text}'"
        rhs = b.build(assign.expr)
        out: Any
        if is_scalar(rhs):
            out = sympy.Symbol(assign.target, real=True)
        else:
            out = MatrixSymbol(assign.target, *rhs.shape)
            if _is_mask(rhs, b.masks):
                b.masks.add(out)
        b.env[assign.target] = out
        equations.append(Equation(out, rhs, Kind.MAP))
    b.where = ""
    upstream = loss = None
    auto: dict[Any, Any] = {}
    output = b.env[spec.output] if spec.output else (equations[-1].out if equations else None)
    if spec.loss is not None:
        b.where = f"the loss '{spec.loss.text}'"
        loss = b.build(spec.loss.expr)
        if not is_scalar(loss):
            raise b.fail(
                f"the loss must be a scalar, got {shape_text(shape_of(loss))}; "
                "sum or mean it, or take a norm",
                spec.loss.line or None,
            )
        if not equations:  # an expression: name what each scalar node reads, for steps
            staged, loss = stage_expression(loss, set(b.env))
            equations += staged
            auto = {eq.out: eq.rhs for eq in staged}
        equations.append(Equation(LOSS, loss, Kind.LOSS))
    elif spec.upstream is not None:
        upstream = _given(spec.upstream, output)
    more_upstream = {b.env[o]: _given(u, b.env[o]) for o, u in spec.more_upstream}
    return ProgramGraph(
        spec=spec,
        values=dict(b.env),
        equations=equations,
        inputs=inputs,
        labels=labels,
        parameters=parameters,
        hyper=hyper,
        output=output,
        upstream=upstream,
        loss=loss,
        sizes=b.sizes,
        auto=auto,
        more_upstream=more_upstream,
    )


def _given(name: str, output: Any) -> Any:
    """The upstream gradient ``name`` = ∂L/∂output, shaped like the output."""
    if output is None or is_scalar(output):
        return sympy.Symbol(name, real=True)
    return MatrixSymbol(name, *output.shape)


def dims_of(sym: Any, env: Mapping[Any, int]) -> tuple[int, int]:
    """A value's shape as ints, its size symbols looked up in ``env``."""
    return tuple(_dim(d, env) for d in sym.shape)  # type: ignore[return-value]


def _dim(d: Any, env: Mapping[Any, int]) -> int:
    """A size as an int: a number, a size symbol, or a multiple of one (``4 H``)."""
    if d.is_Integer:
        return int(d)
    if d in env:
        return int(env[d])
    return int(d.xreplace({s: sympy.Integer(env[s]) for s in d.free_symbols}))


def random_point(
    graph: ProgramGraph, dims: Mapping[Any, int], rng: np.random.Generator
) -> dict[Any, Any]:
    """Random values for every input, label, parameter, hyperparameter and upstream.

    Square matrices are kept well conditioned (``n I + noise``: inverses and log-dets
    exist); other entries are drawn in [0.5, 1.5] when the program takes logs or square
    roots of them, else in [-1, 1].
    """
    positive = _needs_positive(graph)
    env: dict[Any, Any] = dict(dims)
    fixed = getattr(graph.spec, "fixed", ())
    for sym in [*graph.inputs, *graph.parameters]:
        r, c = dims_of(sym, dims)
        if r == c and r > 1 and sym.name not in fixed:
            env[sym] = r * np.eye(r) + 0.3 * rng.standard_normal((r, c))
        elif positive:
            env[sym] = rng.uniform(0.5, 1.5, (r, c))
        else:
            env[sym] = rng.uniform(-1, 1, (r, c))
    for lab in graph.labels:
        n = int(lab.n) if lab.n.is_Integer else dims[lab.n]
        k = int(lab.classes) if lab.classes.is_Integer else dims[lab.classes]
        env[lab] = rng.integers(0, k, n)
    for sym in graph.hyper.values():
        env[sym] = float(rng.uniform(0.2, 0.5))
    for up in [graph.upstream, *graph.more_upstream.values()]:
        if up is not None:
            shape = (1, 1) if is_scalar(up) else dims_of(up, dims)
            env[up] = rng.uniform(-1, 1, shape)
    return env


def _needs_positive(graph: ProgramGraph) -> bool:
    names = {
        getattr(f, "name", "") for eq in graph.equations for f in sympy.preorder_traversal(eq.rhs)
    }
    return bool(names & {"log", "sqrt"})


def sample_point(graph: ProgramGraph, seed: int = 0, default: int = 3) -> dict[Any, Any]:
    """A random point with every size bound to ``default``: where a closed form found by
    algebra is compared with the stages before it is shown."""
    dims: dict[Any, int] = {sym: default + i for i, sym in enumerate(graph.sizes.values())}
    for lab in graph.labels:
        for d in (lab.n, lab.classes):
            if isinstance(d, sympy.Symbol) and d not in dims:
                dims[d] = default
    return random_point(graph, dims, np.random.default_rng(seed))


@functools.lru_cache(maxsize=4096)
def _times(count: Any, mat: Any) -> Any:
    """SymPy's ``c * M`` of a canonical sum's like terms (a deep ``doit`` of ``M``), made
    once per term: the same terms come back at every ``+`` of a long expression."""
    return mat if count == 1 else count * mat


#: SymPy's canonical form of a ``MatAdd`` (``sympy.matrices.expressions.matadd``), rule
#: for rule, with its ``combine`` (``c * M``) made once per term (``_times``).
_canonical_sum = exhaust(
    condition(
        lambda x: isinstance(x, MatAdd),
        do_one(
            rm_id(lambda x: x == 0 or isinstance(x, ZeroMatrix)),
            unpack,
            flatten,
            glom(matrix_of, factor_of, _times),
            merge_explicit,
            sort(default_sort_key),
        ),
    )
)


def _is_mask(x: Any, named: set[Any] | frozenset[Any] = frozenset()) -> bool:
    """Whether ``x`` is built from comparisons alone (their sums, differences, ones, and
    the ``named`` masks of earlier equations)."""
    if isinstance(x, N.Indicator | OneMatrix) or x in named:
        return True
    if isinstance(x, MatAdd):
        return all(_is_mask(t, named) for t in x.args)
    if isinstance(x, MatMul) and len(x.args) == 2 and x.args[0] == -1:
        return _is_mask(x.args[1], named)
    return False


def mask_names(graph: ProgramGraph) -> set[Any]:
    """The program's equations whose value is a 0/1 mask, in order (a mask of masks too)."""
    out: set[Any] = set()
    for eq in graph.equations:
        if not is_scalar(eq.rhs) and _is_mask(eq.rhs, out):
            out.add(eq.out)
    return out


def flat_add(terms: list[Any]) -> Any:
    """``nodes.add`` (SymPy's canonical ``MatAdd``), the same form made faster.

    SymPy's canonical sum multiplies each term's coefficient back into its matrix with
    ``c * M``, which re-evaluates all of ``M`` (``doit`` all the way down) at every ``+``:
    a snippet that adds to a long expression line after line took seconds. The same
    rules in the same order, with ``c * M`` made once per term.
    """
    if len(terms) == 1 or N.is_tensor(terms[0]):
        return N.add(terms)
    return _canonical_sum(MatAdd(*terms))
