"""SymPy code printers for our nodes: NumPy and JAX here, PyTorch in ``torch_code``.

Each backend is SymPy's own printer (``NumPyPrinter``, ``JaxPrinter``, ``TorchPrinter``)
taught our primitives through the ``ArrayNodes`` mixin; ``stable_scalar`` rewrites an
activation into its numerically stable form before printing.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import sympy
from sympy.matrices.expressions import MatrixSymbol, OneMatrix
from sympy.printing.numpy import JaxPrinter, NumPyPrinter
from sympy.printing.precedence import PRECEDENCE

from derive.core.graph import split_name
from derive.core.nodes import (
    ChannelBias,
    Elementwise,
    Softmax,
    is_tensor,
    tensor_coeff,
)

BACKENDS = ("numpy", "jax", "torch")


class ExportError(ValueError):
    """The derivation cannot be exported (e.g. a symbolic activation has no numeric form)."""


# --------------------------------------------------------------------------- stable forms
# The derivation keeps the textbook formulas (σ = 1/(1 + e^{−x}), softplus = log(1 + e^x));
# evaluated as written they overflow to inf or NaN where the maths is finite (e^{800}).
# The printers rewrite them, in the emitted code only, into forms that never overflow.


# SymPy ships no type information: sympy.Function is Any to mypy, hence the ignores
class StableSigmoid(sympy.Function):  # type: ignore[misc]
    """σ(u), printed with the backend's overflow-free sigmoid."""

    nargs = 1


class StableSoftplus(sympy.Function):  # type: ignore[misc]
    """log(1 + e^u), printed as the backend's log-add-exp (finite, exact for large u)."""

    nargs = 1


def _one_plus_exp(e: Any) -> Any:
    """``v`` when ``e`` is ``1 + exp(v)``, else None."""
    if isinstance(e, sympy.Add) and len(e.args) == 2 and sympy.S.One in e.args:
        other = e.args[0] if e.args[1] == 1 else e.args[1]
        if isinstance(other, sympy.exp):
            return other.args[0]
    return None


def _sigmoid_power(f: Any) -> tuple[Any, int] | None:
    """``(u, k)`` when ``f`` is ``σ(u)**k`` with k ≥ 1."""
    if isinstance(f, StableSigmoid):
        return f.args[0], 1
    if f.is_Pow and isinstance(f.base, StableSigmoid) and f.exp.is_Integer and f.exp > 0:
        return f.base.args[0], int(f.exp)
    return None


def stable_scalar(expr: Any) -> Any:
    """Rewrite a scalar formula so that no sub-expression overflows where the value is finite.

    ``1/(1 + e^v)^k`` -> ``σ(−v)^k``; ``log(1 + e^v)`` -> ``softplus(v)``; and a factor
    ``e^v`` next to ``σ(−v)`` -> ``σ(v)`` (``e^v/(1 + e^v) = σ(v)``), which turns the
    derivatives of sigmoid, softplus and SiLU (``e^{−x}/(1 + e^{−x})²`` = ``σ(x) σ(−x)``)
    into products of bounded factors.
    """
    if not expr.args or isinstance(expr, (sympy.Symbol, sympy.Number)):
        return expr
    args = tuple(stable_scalar(a) for a in expr.args)
    e = expr.func(*args) if args != expr.args else expr
    if isinstance(e, sympy.log):
        v = _one_plus_exp(e.args[0])
        if v is not None:
            return StableSoftplus(v)
    if e.is_Pow and e.exp.is_Integer and e.exp < 0:
        v = _one_plus_exp(e.base)
        if v is not None:
            return StableSigmoid(-v) ** (-e.exp)
    if e.is_Mul:
        factors = list(e.args)
        changed = True
        while changed:
            changed = False
            for i, f in enumerate(factors):
                if not isinstance(f, sympy.exp):
                    continue
                for j, g in enumerate(factors):
                    sp = _sigmoid_power(g)
                    if sp is not None and sp[0] == -f.args[0]:
                        u, k = sp
                        factors[i] = StableSigmoid(f.args[0])
                        factors[j] = StableSigmoid(u) ** (k - 1)
                        changed = True
                        break
                if changed:
                    break
        e = sympy.Mul(*factors)
    return e


def code_name(name: str) -> str:
    """``W_1`` -> ``W1``, ``delta_{l+1}`` -> ``delta_l1``; ``lambda`` -> ``lam``."""
    base, idx = split_name(name)
    ident = base + re.sub(r"[^0-9A-Za-z]", "", idx)
    return {"lambda": "lam"}.get(ident, ident)


class ArrayNodes:
    """Our primitives as array code, shared by the NumPy, JAX and PyTorch printers.

    A backend printer mixes this into SymPy's own printer for that library and overrides
    the few hooks where the libraries differ (reductions, casts, softmax).
    """

    _module: str
    _dtype_ref: str | None = None
    #: The module with this backend's conv/pool helpers (same names as derive.core.convops).
    _convops = "derive.core.convops"

    if TYPE_CHECKING:
        # What the SymPy printer this is mixed into provides, with the signatures SymPy
        # documents (SymPy ships no type information). Its ``super()._print_X`` calls reach
        # that printer through the MRO, which mypy cannot see: hence their ignores.
        def _module_format(self, fqn: str, register: bool = True) -> str: ...
        def parenthesize(self, item: object, level: int, strict: bool = False) -> str: ...

    # --- hooks a backend may override
    def fn(self, name: str) -> str:
        """A function of the backend's array module, fully qualified (``numpy.exp``)."""
        return self._module_format(f"{self._module}.{name}")

    def reduce_sum(self, code: str, axis: int) -> str:
        """A sum over one axis that keeps it (the bias gradient ``δ 1``)."""
        return f"{self.fn('sum')}({code}, axis={axis}, keepdims=True)"

    def total(self, code: str) -> str:
        """The sum of every entry."""
        return f"{self.fn('sum')}({code})"

    def cast_like(self, code: str, ref: str) -> str:
        """A boolean mask as numbers of the reference array's dtype (and device)."""
        return f"{code}.astype({ref}.dtype)"

    def softmax(self, code: str, axis: int) -> str:
        """The backend's softmax over one axis."""
        return f"_softmax({code}, {axis})"

    def scalar_like(self, code: str, ref: str) -> str:
        """A scalar branch of where(): NumPy and JAX broadcast Python numbers as they are."""
        return code

    def sigmoid(self, code: str) -> str:
        """The backend's overflow-free sigmoid."""
        return f"_sigmoid({code})"

    def softplus(self, code: str) -> str:
        """The backend's overflow-free softplus, log(1 + e^x)."""
        return f"{self.fn('logaddexp')}(0, {code})"

    def log_softmax(self, code: str, axis: int) -> str:
        """The backend's log-softmax over one axis (finite where softmax underflows)."""
        return f"_log_softmax({code}, {axis})"

    def maximum(self, a: str, b: str) -> str:
        """The entrywise maximum of two operands."""
        return f"{self.fn('maximum')}({a}, {b})"

    def channel_sum(self, code: str) -> str:
        """The sum over samples and pixels, one number per channel (a conv bias gradient)."""
        return f"{code}.sum(axis=(0, 2, 3))"

    def reduce(self, op: str, code: str, axis: int) -> str:
        """``sum``/``mean``/``max`` over one axis, the axis kept (``Reduce``)."""
        return f"{self.fn(op)}({code}, axis={axis}, keepdims=True)"

    def reduce_all(self, op: str, code: str) -> str:
        """``sum``/``mean``/``max`` of every entry (``ReduceAll``)."""
        return f"{self.fn(op)}({code})"

    def arange(self, n: str, like: str) -> str:
        """``0, 1, …, n−1`` (on the device of ``like`` where that matters)."""
        return f"{self.fn('arange')}({n})"

    def numel(self, code: str) -> str:
        """The number of entries of an array."""
        return f"{code}.size"

    def argmax(self, code: str, axis: int | None) -> str:
        """The index of the first maximum (over one axis, kept; or of the flattened array)."""
        if axis is None:
            return f"{self.fn('argmax')}({code})"
        return f"{self.fn('argmax')}({code}, axis={axis}, keepdims=True)"

    def broadcast(self, code: str, rows: str, cols: str, scalar: bool) -> str:
        """A row, column or scalar repeated to rows×cols."""
        if scalar:
            return f"{self.fn('full')}(({rows}, {cols}), {code})"
        return f"{self.fn('broadcast_to')}({code}, ({rows}, {cols}))"

    def concat(self, codes: list[str], axis: int) -> str:
        """Matrices joined along an axis (``Concat``)."""
        return f"{self.fn('concatenate')}(({', '.join(codes)},), axis={axis})"

    def as_float(self, code: str) -> str:
        """A boolean mask with no reference array as numbers of the default float type."""
        return f"{code}.astype(float)"

    def gather(self, s: str, index: str, axis: int) -> str:
        """``S`` at one index per row (axis 1) or per column (axis 0), the axis kept."""
        return f"{self.fn('take_along_axis')}({s}, {index}, axis={axis})"

    def linalg(self, name: str) -> str:
        """A function of the backend's linear-algebra module (``numpy.linalg.inv``)."""
        return self._module_format(f"{self._module}.linalg.{name}")

    # --- symbols
    def _print_MatrixSymbol(self, expr: MatrixSymbol) -> str:
        return code_name(expr.name)

    _print_TensorSymbol = _print_MatrixSymbol

    def _print_Symbol(self, expr: sympy.Symbol) -> str:
        if expr.name == self._dtype_ref:  # an entrywise function's argument, printed already
            return str(expr.name)
        return code_name(expr.name)

    # --- linear algebra
    def _print_MatMul(self, expr: Any) -> str:
        coeff, factors = expr.as_coeff_matrices()
        acc: str | None = None
        pending_left_ones: Any = None
        for f in factors:
            if isinstance(f, OneMatrix):
                if acc is None:
                    pending_left_ones = f
                    continue
                # M 1_{k×c}: the row sums, broadcast over c columns (k = 1: M itself).
                acc = acc if f.shape[0] == 1 else self.reduce_sum(acc, 1)
                continue
            code = self._print(f)
            if _binds_looser_than_matmul(code):  # f'(Z) as 1 - A**2, σ(−Z)*σ(Z), A ⊙ B
                code = f"({code})"
            if pending_left_ones is not None:
                # 1_{r×k} M: the column sums, broadcast over r rows (k = 1: M itself).
                k = pending_left_ones.shape[1]
                code = code if k == 1 else self.reduce_sum(self._print(f), 0)
                pending_left_ones = None
            acc = code if acc is None else f"{acc} @ {code}"
        if acc is None:
            acc = "1"
        if coeff == 1:
            return acc
        if " " in acc and not _wrapped(acc):
            acc = f"({acc})"
        return self.scaled(coeff, acc)

    def scaled(self, coeff: Any, code: str) -> str:
        """``c * code``; (1/m) M is written M / m: one pass, and it reads as the formula."""
        if coeff == -1:
            return f"-{code}"
        num, den = sympy.fraction(coeff)
        if num == 1:
            return f"{code} / {self.parenthesize(den, PRECEDENCE['Mul'] + 1)}"
        return f"{self.parenthesize(coeff, PRECEDENCE['Mul'])} * {code}"

    def _print_MatAdd(self, expr: Any) -> str:
        from derive.render.text import join_signed, ordered_terms

        return join_signed([self._print(t) for t in ordered_terms(expr)], " - ")

    def _print_OneMatrix(self, expr: Any) -> str:
        return "1"

    def _print_Transpose(self, expr: Any) -> str:
        return f"{self.parenthesize(expr.arg, PRECEDENCE['Func'])}.T"

    def _print_TensorHadamard(self, expr: Any) -> str:
        return self._print_HadamardProduct(expr)

    def _print_HadamardProduct(self, expr: Any) -> str:
        parts = []
        for a in expr.args:
            code = self._print(a)
            if " " in code and not _wrapped(code):
                code = f"({code})"
            parts.append(code)
        return " * ".join(parts)

    def _print_HadamardPower(self, expr: Any) -> str:
        base = self.parenthesize(expr.base, PRECEDENCE["Pow"])
        exp = self._print(expr.exp)
        if not (expr.exp.is_Integer or expr.exp.is_Symbol):
            exp = f"({exp})"  # X**(1/2), not X**1/2 = X/2
        return f"{base}**{exp}"

    def _print_Pow(self, expr: Any, rational: bool = False) -> str:
        if expr.is_number and not expr.is_Rational:
            # a Python float, not numpy.sqrt(2): a NumPy float64 scalar would promote float32
            return repr(float(expr))
        base = self.parenthesize(expr.base, PRECEDENCE["Pow"], strict=False)
        if expr.exp == -1:
            return f"1/{base}"
        if expr.exp.is_Integer and expr.exp > 0:
            return f"{base}**{expr.exp}"
        return self.pow_fallback(expr, rational)

    def pow_fallback(self, expr: Any, rational: bool) -> str:
        """SymPy's own power printing (the PyTorch printer's takes no ``rational``)."""
        return str(super()._print_Pow(expr, rational=rational))  # type: ignore[misc]

    def _print_Integer(self, expr: Any) -> str:
        # an integer past 2**53 (a slope of 1e308, read exactly) is a float to the arrays:
        # as a Python int it overflows NumPy's C long and is not exact in float64 anyway
        if abs(int(expr)) > 2**53:
            return repr(float(expr))
        return str(super()._print_Integer(expr))  # type: ignore[misc]

    def _print_Identity(self, expr: Any) -> str:
        # A 1×1 identity (1 − A² at width 1 and batch 1) is the number 1: numpy.eye(1)
        # would make float32 inputs float64, torch.eye(1) a CPU tensor on any device.
        if expr.shape == (1, 1):
            return "1"
        if not expr.shape[0].is_Integer:  # SymPy's printers refuse a symbolic size
            return f"{self.fn('eye')}({self._print(expr.shape[0])})"
        return str(super()._print_Identity(expr))  # type: ignore[misc]

    def _print(self, expr: Any, **kwargs: Any) -> str:
        if (
            isinstance(expr, sympy.Expr)
            and not isinstance(expr, sympy.MatrixExpr)
            and expr.is_number
            and not expr.is_Rational
            and expr.is_real
        ):
            # log(2), π, √2 as Python floats: a NumPy float64 scalar would promote float32
            return repr(float(expr))
        return str(super()._print(expr, **kwargs))  # type: ignore[misc]

    # --- activations
    def _print_ElementwiseOf(self, expr: Any) -> str:
        fn = expr.scalar()
        if any(
            type(f).__module__ == "derive.spec.activations" for f in fn.expr.atoms(sympy.Function)
        ):
            raise ExportError(
                f"activation {expr.name} is symbolic and has no numeric form; "
                "choose a concrete activation (or a custom formula) to export"
            )
        arg = self._print(expr.arg)
        if not re.fullmatch(r"\w+", arg):
            arg = f"({arg})"
        (x,) = fn.variables
        # The argument's code stands in as a placeholder symbol, put back after printing: a
        # symbol's name goes through code_name, which would mangle code such as
        # numpy.broadcast_to(mu, (N, C)) (a column broadcast inside exp, relu, …).
        hole = "ELEMENTWISEARGUMENT"
        saved, self._dtype_ref = self._dtype_ref, hole
        body = stable_scalar(fn.expr.xreplace({x: sympy.Symbol(hole, real=True)}))
        try:
            return self._print(body).replace(hole, arg)
        finally:
            self._dtype_ref = saved

    def _print_Max(self, expr: Any) -> str:
        return self._extremum(expr, "max")

    def _print_Min(self, expr: Any) -> str:
        return self._extremum(expr, "min")

    def _extremum(self, expr: Any, kind: str) -> str:
        ref = self._dtype_ref
        scalar = [
            not any(getattr(s, "name", None) == ref for s in a.free_symbols) if ref else a.is_number
            for a in expr.args
        ]
        args = [self._print(a) for a in expr.args]
        return self.extremum(kind, args, scalar)

    def extremum(self, kind: str, args: list[str], scalar: list[bool]) -> str:
        """``max``/``min`` of several arrays and numbers (NumPy and JAX broadcast numbers)."""
        op = self.maximum if kind == "max" else self.minimum
        out = args[-1]
        for a in reversed(args[:-1]):
            out = op(a, out)
        return out

    def minimum(self, a: str, b: str) -> str:
        """The entrywise minimum of two operands."""
        return f"{self.fn('minimum')}({a}, {b})"

    def _print_Piecewise(self, expr: Any) -> str:
        *pieces, last = expr.args
        out = self._print(last.expr)
        ref = self._dtype_ref

        def scalar(e: Any) -> bool:  # a branch free of the array itself (1, slope, …)
            return bool(ref) and not any(s.name == ref for s in e.free_symbols)

        if scalar(last.expr):
            out = self.scalar_like(out, ref or "")
        for piece in reversed(pieces):
            cond, val = self._print(piece.cond), self._print(piece.expr)
            if scalar(piece.expr):
                val = self.scalar_like(val, ref or "")
            out = f"{self.fn('where')}({cond}, {val}, {out})"
        # where() of Python numbers would give the default dtype: keep the input's.
        return self.cast_like(out, self._dtype_ref) if self._dtype_ref else out

    def _print_StableSigmoid(self, expr: Any) -> str:
        return self.sigmoid(self._print(expr.args[0]))

    def _print_StableSoftplus(self, expr: Any) -> str:
        return self.softplus(self._print(expr.args[0]))

    def _print_Heaviside(self, expr: Any) -> str:
        arg = self._print(expr.args[0])
        return self.cast_like(f"({arg} > 0)", self._dtype_ref or arg)

    def _print_Softmax(self, expr: Any) -> str:
        return self.softmax(self._print(expr.arg), expr.axis)

    # --- feature maps: calls of the backend's helpers (whose source the module includes)
    def helper(self, name: str, *args: Any) -> str:
        """A call of a conv/pool helper, recorded so the module includes its source."""
        if not hasattr(self, "helpers"):
            self.helpers: list[str] = []
        if name not in self.helpers:
            self.helpers.append(name)
        return f"{name}({', '.join(self._group(a) if not isinstance(a, str) else a for a in args)})"

    def _group(self, e: Any) -> str:
        code = self._print(e)
        return code if re.fullmatch(r"[\w.]+", code) or _wrapped(code) else f"({code})"

    def _print_Correlate(self, e: Any) -> str:
        return self.helper("conv2d", e.input, e.kernel, e.stride, e.padding)

    def _print_ConvBackInput(self, e: Any) -> str:
        like = self._group(e.like)
        return self.helper(
            "conv2d_back_input",
            e.cot,
            e.kernel,
            e.stride,
            e.padding,
            f"{like}.shape[2]",
            f"{like}.shape[3]",
        )

    def _print_ConvBackKernel(self, e: Any) -> str:
        return self.helper("conv2d_back_kernel", e.input, e.cot, e.stride, e.padding, e.args[4])

    def _print_ChannelBias(self, e: Any) -> str:
        return f"{self._group(e.bias)}.reshape(1, -1, 1, 1)"

    def _print_ChannelSum(self, e: Any) -> str:
        return self.channel_sum(self._group(e.arg))

    def _print_Pool(self, e: Any) -> str:
        return self.helper(f"{e.mode}pool2d", e.input, e.size, e.stride)

    def _print_Unpool(self, e: Any) -> str:
        return self.helper(f"{e.mode}pool2d_back", e.cot, e.input, e.size, e.stride)

    def _print_Flatten(self, e: Any) -> str:
        a = self._group(e.input)
        return f"{a}.reshape({a}.shape[0], -1)" + (".T" if e.column else "")

    def _print_Unflatten(self, e: Any) -> str:
        g = self._group(e.arg)
        return f"{g}{'.T' if e.column else ''}.reshape({self._group(e.like)}.shape)"

    def _print_Mul(self, expr: Any) -> str:
        if not is_tensor(expr):
            return str(super()._print_Mul(expr))  # type: ignore[misc]
        coeff, rest = tensor_coeff(expr)
        return self.scaled(coeff, self._group(rest))

    def _print_Add(self, expr: Any, order: Any = None) -> str:
        if not is_tensor(expr):
            return str(super()._print_Add(expr, order))  # type: ignore[misc]
        from derive.render.text import join_signed

        terms = sorted(expr.args, key=lambda t: isinstance(t, ChannelBias))
        return join_signed([self._print(t) for t in terms], " - ")

    # --- issue 14 primitives: reductions, broadcasts, masks, norms, determinants, indexing
    def _print_Reduce(self, e: Any) -> str:
        return self.reduce(e.op, self._print(e.arg), e.axis)

    def _print_ReduceAll(self, e: Any) -> str:
        return self.reduce_all(e.op, self._print(e.arg))

    def _mask(self, x: str, axis: int) -> str:
        """1 at the first maximum of ``x`` along ``axis``: arange == argmax, broadcast."""
        n = f"{x}.shape[{axis}]"
        idx = self.arange(n, x) + ("[:, None]" if axis == 0 else "[None, :]")
        return self.cast_like(f"({idx} == {self.argmax(x, axis)})", x)

    def _print_ArgMaxMask(self, e: Any) -> str:
        return self._mask(self._group(e.arg), e.axis)

    def _print_ArgMaxAllMask(self, e: Any) -> str:
        x = self._group(e.arg)
        idx = f"{self.arange(self.numel(x), x)}.reshape({x}.shape)"
        return self.cast_like(f"({idx} == {self.argmax(x, None)})", x)

    def _print_Broadcast(self, e: Any) -> str:
        rows, cols = (self._print(d) for d in e.shape)
        scalar = not isinstance(e.arg, sympy.MatrixExpr)
        return self.broadcast(self._group(e.arg), rows, cols, scalar)

    def _print_Slice(self, e: Any) -> str:
        span = f"{self._print(e.start)}:{self._print(e.stop)}"
        x = self._group(e.arg)
        return f"{x}[:, {span}]" if e.axis == 1 else f"{x}[{span}, :]"

    def _print_Concat(self, e: Any) -> str:
        return self.concat([self._print(p) for p in e.parts], e.axis)

    def _print_Indicator(self, e: Any) -> str:
        lhs, rhs = self._group(e.lhs), self._group(e.rhs)
        ref = lhs if isinstance(e.lhs, sympy.MatrixExpr) else rhs
        return self.cast_like(f"({lhs} {e.op} {rhs})", ref)

    def _print_LogSoftmax(self, e: Any) -> str:
        return self.log_softmax(self._print(e.arg), e.axis)

    def _print_Norm(self, e: Any) -> str:
        # the square root of the sum of squares (no hypot-style rescaling needed in float64)
        squares = f"{self.fn('square')}({self._print(e.arg)})"
        return f"{self.fn('sqrt')}({self.total(squares)})"

    def _print_Trace(self, e: Any) -> str:
        return f"{self.fn('trace')}({self._print(e.arg)})"

    def _print_Inverse(self, e: Any) -> str:
        return f"{self.linalg('inv')}({self._print(e.arg)})"

    def _print_LogDet(self, e: Any) -> str:
        # log|det X| from slogdet: finite where det itself under- or overflows
        return f"{self.linalg('slogdet')}({self._print(e.arg)})[1]"

    def _print_Determinant(self, e: Any) -> str:
        return f"{self.linalg('det')}({self._print(e.arg)})"

    def _print_Labels(self, e: Any) -> str:
        return code_name(e.name)

    def _print_Pick(self, e: Any) -> str:
        y = self._group(e.labels)
        index = f"{y}.reshape(-1, 1)" if e.axis == 1 else f"{y}.reshape(1, -1)"
        return self.gather(self._group(e.arg), index, e.axis)

    def _print_OneHot(self, e: Any) -> str:
        y = self._group(e.labels)
        k = self._print(e.shape[e.axis])
        if e.axis == 1:
            code = f"({self.arange(k, y)}[None, :] == {y}.reshape(-1, 1))"
        else:
            code = f"({self.arange(k, y)}[:, None] == {y}.reshape(1, -1))"
        if e.like is not None:
            return self.cast_like(code, self._group(e.like))
        return self.as_float(code)

    # --- losses
    def _print_FrobeniusSq(self, expr: Any) -> str:
        return self.total(f"{self.fn('square')}({self._print(expr.arg)})")

    #: The equation that defines each forward value (set by ``to_source``): a loss of
    #: ``softmax(Z)`` or ``σ(Z)`` is computed from the logits Z, where it stays finite.
    producers: dict[Any, Any] = {}

    def _producer(self, a: Any) -> Any:
        return self.producers.get(a)

    def _print_CrossEntropy(self, expr: Any) -> str:
        y, a = self._print(expr.target), self._print(expr.probs)
        src = self._producer(expr.probs)
        if isinstance(src, Softmax):
            # log softmax(Z) = Z − logsumexp(Z): finite where softmax underflows to 0
            logp = self.log_softmax(self._print(src.arg), int(src.axis))
            return "-" + self.total(f"{y} * {logp}")
        log = self.fn("log")
        return "-" + self.total(f"{y} * {log}({a})")

    def _print_BinaryCrossEntropy(self, expr: Any) -> str:
        y, a = self._print(expr.target), self._print(expr.probs)
        src = self._producer(expr.probs)
        if _is_sigmoid(src):
            # from the logits: log σ(Z) = −softplus(−Z), log(1 − σ(Z)) = −softplus(Z)
            z = self._print(src.arg)
            z = z if re.fullmatch(r"\w+", z) else f"({z})"
            sp_neg, sp_pos = self.softplus(f"-{z}"), self.softplus(z)
            return self.total(f"{y} * {sp_neg} + (1 - {y}) * {sp_pos}")
        log = self.fn("log")
        return "-" + self.total(f"{y} * {log}({a}) + (1 - {y}) * {log}(1 - {a})")


def _is_sigmoid(node: Any) -> bool:
    """True for ``σ(Z)`` itself (the table's sigmoid, not a derivative of it)."""
    if not isinstance(node, Elementwise) or node.order != 0:
        return False
    (x,) = node.fn.variables
    return (
        isinstance(stable_scalar(node.fn.expr), StableSigmoid)
        and stable_scalar(node.fn.expr).args[0] == x
    )


# SymPy ships no type information: NumPyPrinter is Any to mypy, hence the ignore
class NumPyCode(ArrayNodes, NumPyPrinter):  # type: ignore[misc]
    """NumPy: SymPy's NumPyPrinter taught our primitives."""

    def __init__(self) -> None:
        NumPyPrinter.__init__(self, {"fully_qualified_modules": True})

    def _print_erf(self, expr: Any) -> str:
        return f"{self._module_format('scipy.special.erf')}({self._print(expr.args[0])})"


# SymPy ships no type information: JaxPrinter is Any to mypy, hence the ignore
class JaxCode(ArrayNodes, JaxPrinter):  # type: ignore[misc]
    """jax.numpy: SymPy's JaxPrinter taught our primitives (jit-able: no Python branches)."""

    def __init__(self) -> None:
        JaxPrinter.__init__(self, {"fully_qualified_modules": True})

    _convops = "derive.export.convops_jax"

    def softmax(self, code: str, axis: int) -> str:
        """The backend's softmax over one axis."""
        return f"{self._module_format('jax.nn.softmax')}({code}, axis={axis})"

    def log_softmax(self, code: str, axis: int) -> str:
        """The backend's log-softmax over one axis (finite where softmax underflows)."""
        return f"{self._module_format('jax.nn.log_softmax')}({code}, axis={axis})"

    def sigmoid(self, code: str) -> str:
        """The backend's overflow-free sigmoid."""
        return f"{self._module_format('jax.nn.sigmoid')}({code})"

    def _print_erf(self, expr: Any) -> str:
        return f"{self._module_format('jax.scipy.special.erf')}({self._print(expr.args[0])})"


def _binds_looser_than_matmul(code: str) -> bool:
    """Whether ``code`` as an operand of ``@`` needs brackets: an operator outside brackets
    that binds as loosely as ``@`` or looser (``+ - * / @``, comparisons; not ``**``, not
    a leading unary minus): ``W2.T @ delta2 @ 1 - A1**2`` is not the product with 1 − A1²."""
    depth = 0
    for i, ch in enumerate(code):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth or i == 0:
            continue
        if ch == "*" and (code[i - 1] == "*" or code[i + 1 : i + 2] == "*"):
            continue  # a power
        if ch == "-" and code[i - 1] in "eE" and code[i - 2 : i - 1].isdigit():
            continue  # 1e-05
        if ch in "+-*/@<>=&|%":
            return True
    return False


def _wrapped(code: str) -> bool:
    """True when ``code`` is one group: ``(A2 - Y)`` or a call ``numpy.sum(M, axis=1)``."""
    call = re.match(r"^[\w.]+(?=\()", code)
    if call:
        code = code[call.end() :]
    if not (code.startswith("(") and code.endswith(")")):
        return False
    depth = 0
    for i, ch in enumerate(code):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and i < len(code) - 1:
            return False
    return True
