"""Export a derivation as a numeric Python module: SymPy code printers for our nodes.

The module reads like the derivation: one statement per forward equation, per delta and
per gradient, each under the step's formula as a comment. Expressions are printed by a
``NumPyPrinter`` subclass (SymPy's own printer, taught our primitives); only the module's
frame (``def`` lines, the shape check) is a template.

Why not ``lambdify``: SymPy 1.14 prints ``ElementwiseApplyFunction`` as invalid Python and
its ``cse=True`` crashes on it; and a bias ``b 1^T`` must become broadcasting, not a
product with a ones matrix.
"""

from __future__ import annotations

import importlib
import itertools
import linecache
import re
import types
from typing import Any

import sympy
from sympy.matrices.expressions import MatrixSymbol, OneMatrix
from sympy.printing.numpy import JaxPrinter, NumPyPrinter
from sympy.printing.precedence import PRECEDENCE

from derive.derivation import Derivation, derive, rescale, total
from derive.graph import split_name
from derive.nodes import (
    ConvBackInput,
    Elementwise,
    Pool,
    Softmax,
    TensorElementwise,
    TensorHadamard,
    Unpool,
    is_tensor,
    tensor_coeff,
)

BACKENDS = ("numpy", "jax", "torch")
_COUNTER = itertools.count()


class ExportError(ValueError):
    """The derivation cannot be exported (e.g. a symbolic activation has no numeric form)."""


# --------------------------------------------------------------------------- stable forms
# The derivation keeps the textbook formulas (σ = 1/(1 + e^{−x}), softplus = log(1 + e^x));
# evaluated as written they overflow to inf or NaN where the maths is finite (e^{800}).
# The printers rewrite them, in the emitted code only, into forms that never overflow.


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
    #: The module with this backend's conv/pool helpers (same names as derive.convops).
    _convops = "derive.convops"

    # --- hooks a backend may override
    def fn(self, name: str) -> str:
        """A function of the backend's array module, fully qualified (``numpy.exp``)."""
        return self._module_format(f"{self._module}.{name}")  # type: ignore[attr-defined]

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

    # --- symbols
    def _print_MatrixSymbol(self, expr: MatrixSymbol) -> str:
        return code_name(expr.name)

    _print_TensorSymbol = _print_MatrixSymbol

    def _print_Symbol(self, expr: sympy.Symbol) -> str:
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
            code = self._print(f)  # type: ignore[attr-defined]
            if isinstance(f, (sympy.MatAdd, sympy.HadamardProduct)) and not _wrapped(code):
                code = f"({code})"
            if pending_left_ones is not None:
                # 1_{r×k} M: the column sums, broadcast over r rows (k = 1: M itself).
                k = pending_left_ones.shape[1]
                code = code if k == 1 else self.reduce_sum(self._print(f), 0)  # type: ignore[attr-defined]
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
            return f"{code} / {self.parenthesize(den, PRECEDENCE['Mul'] + 1)}"  # type: ignore[attr-defined]
        return f"{self.parenthesize(coeff, PRECEDENCE['Mul'])} * {code}"  # type: ignore[attr-defined]

    def _print_MatAdd(self, expr: Any) -> str:
        from derive.text import join_signed, ordered_terms

        return join_signed([self._print(t) for t in ordered_terms(expr)], " - ")  # type: ignore[attr-defined]

    def _print_OneMatrix(self, expr: Any) -> str:
        return "1"

    def _print_Transpose(self, expr: Any) -> str:
        return f"{self.parenthesize(expr.arg, PRECEDENCE['Func'])}.T"  # type: ignore[attr-defined]

    def _print_HadamardProduct(self, expr: Any) -> str:
        parts = []
        for a in expr.args:
            code = self._print(a)  # type: ignore[attr-defined]
            if " " in code and not _wrapped(code):
                code = f"({code})"
            parts.append(code)
        return " * ".join(parts)

    def _print_HadamardPower(self, expr: Any) -> str:
        base = self.parenthesize(expr.base, PRECEDENCE["Pow"])  # type: ignore[attr-defined]
        return f"{base}**{self._print(expr.exp)}"  # type: ignore[attr-defined]

    def _print_Pow(self, expr: Any, rational: bool = False) -> str:
        if expr.is_number and not expr.is_Rational:
            # a Python float, not numpy.sqrt(2): a NumPy float64 scalar would promote float32
            return repr(float(expr))
        base = self.parenthesize(expr.base, PRECEDENCE["Pow"], strict=False)  # type: ignore[attr-defined]
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
    def _print_Elementwise(self, expr: Elementwise) -> str:
        fn = expr.scalar()
        if any(type(f).__module__ == "derive.activations" for f in fn.expr.atoms(sympy.Function)):
            raise ExportError(
                f"activation {expr.name} is symbolic and has no numeric form; "
                "choose a concrete activation (or a custom formula) to export"
            )
        arg = self._print(expr.arg)  # type: ignore[attr-defined]
        if not re.fullmatch(r"\w+", arg):
            arg = f"({arg})"
        (x,) = fn.variables
        saved, self._dtype_ref = self._dtype_ref, arg
        body = stable_scalar(fn.expr.xreplace({x: sympy.Symbol(arg, real=True)}))
        try:
            return self._print(body)  # type: ignore[attr-defined]
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
        args = [self._print(a) for a in expr.args]  # type: ignore[attr-defined]
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
        out = self._print(last.expr)  # type: ignore[attr-defined]
        ref = self._dtype_ref

        def scalar(e: Any) -> bool:  # a branch free of the array itself (1, slope, …)
            return bool(ref) and not any(s.name == ref for s in e.free_symbols)

        if scalar(last.expr):
            out = self.scalar_like(out, ref or "")
        for piece in reversed(pieces):
            cond, val = self._print(piece.cond), self._print(piece.expr)  # type: ignore[attr-defined]
            if scalar(piece.expr):
                val = self.scalar_like(val, ref or "")
            out = f"{self.fn('where')}({cond}, {val}, {out})"
        # where() of Python numbers would give the default dtype: keep the input's.
        return self.cast_like(out, self._dtype_ref) if self._dtype_ref else out

    def _print_StableSigmoid(self, expr: Any) -> str:
        return self.sigmoid(self._print(expr.args[0]))  # type: ignore[attr-defined]

    def _print_StableSoftplus(self, expr: Any) -> str:
        return self.softplus(self._print(expr.args[0]))  # type: ignore[attr-defined]

    def _print_Heaviside(self, expr: Any) -> str:
        arg = self._print(expr.args[0])  # type: ignore[attr-defined]
        return self.cast_like(f"({arg} > 0)", self._dtype_ref or arg)

    def _print_Softmax(self, expr: Any) -> str:
        return self.softmax(self._print(expr.arg), expr.axis)  # type: ignore[attr-defined]

    # --- feature maps: calls of the backend's helpers (whose source the module includes)
    def helper(self, name: str, *args: Any) -> str:
        """A call of a conv/pool helper, recorded so the module includes its source."""
        if not hasattr(self, "helpers"):
            self.helpers: list[str] = []
        if name not in self.helpers:
            self.helpers.append(name)
        return f"{name}({', '.join(self._group(a) if not isinstance(a, str) else a for a in args)})"

    def _group(self, e: Any) -> str:
        code = self._print(e)  # type: ignore[attr-defined]
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

    def _print_TensorElementwise(self, e: Any) -> str:
        return self._print_Elementwise(e)

    def _print_TensorHadamard(self, e: Any) -> str:
        return self._print_HadamardProduct(e)

    def _print_Mul(self, expr: Any) -> str:
        if not is_tensor(expr):
            return str(super()._print_Mul(expr))  # type: ignore[misc]
        coeff, rest = tensor_coeff(expr)
        return self.scaled(coeff, self._group(rest))

    def _print_Add(self, expr: Any, order: Any = None) -> str:
        if not is_tensor(expr):
            return str(super()._print_Add(expr, order))  # type: ignore[misc]
        from derive.text import join_signed

        terms = sorted(expr.args, key=lambda t: type(t).__name__ == "ChannelBias")
        return join_signed([self._print(t) for t in terms], " - ")  # type: ignore[attr-defined]

    # --- losses
    def _print_FrobeniusSq(self, expr: Any) -> str:
        return self.total(f"{self.fn('square')}({self._print(expr.arg)})")  # type: ignore[attr-defined]

    #: The equation that defines each forward value (set by ``to_source``): a loss of
    #: ``softmax(Z)`` or ``σ(Z)`` is computed from the logits Z, where it stays finite.
    producers: dict[Any, Any] = {}

    def _producer(self, a: Any) -> Any:
        return self.producers.get(a)

    def _print_CrossEntropy(self, expr: Any) -> str:
        y, a = self._print(expr.target), self._print(expr.probs)  # type: ignore[attr-defined]
        src = self._producer(expr.probs)
        if isinstance(src, Softmax):
            # log softmax(Z) = Z − logsumexp(Z): finite where softmax underflows to 0
            logp = self.log_softmax(self._print(src.arg), int(src.axis))  # type: ignore[attr-defined]
            return "-" + self.total(f"{y} * {logp}")
        log = self.fn("log")
        return "-" + self.total(f"{y} * {log}({a})")

    def _print_BinaryCrossEntropy(self, expr: Any) -> str:
        y, a = self._print(expr.target), self._print(expr.probs)  # type: ignore[attr-defined]
        src = self._producer(expr.probs)
        if _is_sigmoid(src):
            # from the logits: log σ(Z) = −softplus(−Z), log(1 − σ(Z)) = −softplus(Z)
            z = self._print(src.arg)  # type: ignore[attr-defined]
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


class NumPyCode(ArrayNodes, NumPyPrinter):
    """NumPy: SymPy's NumPyPrinter taught our primitives."""

    def __init__(self) -> None:
        NumPyPrinter.__init__(self, {"fully_qualified_modules": True})

    def _print_erf(self, expr: Any) -> str:
        return f"{self._module_format('scipy.special.erf')}({self._print(expr.args[0])})"


class JaxCode(ArrayNodes, JaxPrinter):
    """jax.numpy: SymPy's JaxPrinter taught our primitives (jit-able: no Python branches)."""

    def __init__(self) -> None:
        JaxPrinter.__init__(self, {"fully_qualified_modules": True})

    _convops = "derive.convops_jax"

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


def printer_for(backend: str) -> ArrayNodes:
    """The printer of a backend (PyTorch's is imported only when asked for: SymPy's
    ``sympy.printing.pytorch`` imports torch itself, which takes seconds)."""
    if backend == "torch":
        from derive.export_torch import TorchCode

        return TorchCode()
    return {"numpy": NumPyCode, "jax": JaxCode}[backend]()


#: What each backend's module imports (besides what its printer registers).
BACKEND_IMPORT = {"numpy": "numpy", "jax": "jax.numpy", "torch": "torch"}
#: Which pip package brings a backend.
BACKEND_PACKAGE = {"numpy": "numpy", "jax": "jax", "torch": "torch==2.13.0"}


SOFTMAX_HELPER = '''

def _softmax(Z, axis):
    """Softmax over one axis, shifted by the maximum for stability."""
    E = numpy.exp(Z - numpy.max(Z, axis=axis, keepdims=True))
    return E / numpy.sum(E, axis=axis, keepdims=True)
'''

#: NumPy helpers of the stable forms, included when the printed code calls them.
NUMPY_HELPERS = {
    "_log_softmax": '''

def _log_softmax(Z, axis):
    """log softmax(Z) = (Z − max) − log Σ exp(Z − max): finite where softmax underflows."""
    S = Z - numpy.max(Z, axis=axis, keepdims=True)
    return S - numpy.log(numpy.sum(numpy.exp(S), axis=axis, keepdims=True))
''',
    "_sigmoid": '''

def _sigmoid(Z):
    """σ(Z) = 1/(1 + e^(−Z)) in one array. Where e^(−Z) overflows (Z < −709 in float64)
    the value is 1/inf = 0, which is σ there to float precision: finite at every Z."""
    E = numpy.asarray(numpy.negative(Z))
    with numpy.errstate(over="ignore"):
        numpy.exp(E, out=E)
    E += 1
    return numpy.reciprocal(E, out=E)
''',
}

CHECK_HELPER = '''

def _check_shapes(arrays):
    """Check every array against SHAPES once per call; bind the symbolic widths."""
    sizes = {}
    source = {}
    for name, array in arrays.items():
        expected = SHAPES[name]
        shape = getattr(array, "shape", None)
        if shape is None or len(shape) != len(expected):
            raise ValueError(
                f"{name} must be a {len(expected)}-d array of shape {expected}, got {shape}"
            )
        for got, want in zip(shape, expected):
            if isinstance(want, int):
                ok = got == want
            elif want.isidentifier():
                ok = sizes.setdefault(want, got) == got
                source.setdefault(want, name)
            else:  # a size computed from others, e.g. C*(h - 2)**2 after flatten
                ok = True
            if not ok:
                # widths bound by the arrays before this one, never by this array itself
                known = [w for w in dict.fromkeys(expected) if source.get(w, name) != name]
                why = [f"{w} = {sizes[w]} from {source[w]}" for w in known]
                if not isinstance(want, int) and source[want] == name:
                    why.append(f"{want} = {sizes[want]} earlier in {name} itself")
                raise ValueError(
                    f"{name} has shape {tuple(shape)}, expected {expected}"
                    + (f" with {', '.join(why)}" if why else "")
                )
    return sizes
'''


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


def _comment(text: str) -> str:
    """A comment line: line breaks and other control characters become spaces."""
    return "    # " + "".join(ch if ch.isprintable() else " " for ch in text)


def _docstring(text: str) -> str:
    """``text`` as a docstring literal: triple-quoted when that is safe, else ``repr``
    (then a name with three double quotes, a backslash or a control character cannot end
    the docstring early)."""
    body = text.replace("\n", "")
    if '"' in text or "\\" in text or not body.isprintable():
        return repr(text)
    return f'"""{text}"""'


def _fresh(e: Any, printer: Any) -> bool:
    """Whether the code for ``e`` makes a new array (safe to update in place): a product of
    matrices, a sum, or a helper call — never a named array or a view of one (a bias
    ``b 1ᵀ`` prints as ``b`` itself, a transpose as ``X.T``)."""
    if isinstance(e, sympy.MatMul):
        _, factors = e.as_coeff_matrices()
        made = len(factors) >= 2 and not any(isinstance(f, OneMatrix) for f in factors)
    else:
        made = isinstance(e, (sympy.MatAdd, Unpool, ConvBackInput))
    return made and not re.fullmatch(r"[\w.]+", printer.doprint(e))


def _factors(e: Any) -> list[Any]:
    """The factors of a (nested) Hadamard product, in order."""
    if isinstance(e, (sympy.HadamardProduct, TensorHadamard)):
        return [f for a in e.args for f in _factors(a)]
    return [e]


def in_place(printer: Any, lhs: str, rhs: Any) -> list[str] | None:
    """NumPy statements that build ``rhs`` in one array, or None to print it as one line.

    ``Z = W @ A + b`` becomes ``Z = W @ A; Z += b`` and ``δ = (Wᵀ δ') ⊙ f'(Z)`` becomes
    ``δ = Wᵀ @ δ'; δ *= f'(Z)`` (a ReLU mask as the boolean ``Z > 0``): one allocation
    per statement instead of one per operation (measured in benchmarks/gradients.py).
    """
    if isinstance(rhs, (sympy.HadamardProduct, TensorHadamard)):
        factors = _factors(rhs)
        base = next((f for f in factors if _fresh(f, printer)), None)
        if base is None:
            return None
        out = [f"    {lhs} = {printer.doprint(base)}"]
        for f in factors:
            if f is base:
                continue
            if (
                isinstance(f, (Elementwise, TensorElementwise))
                and f.name == "relu"
                and f.order == 1
            ):
                out.append(f"    {lhs} *= {printer._group(f.arg)} > 0")
            else:
                out.append(f"    {lhs} *= {printer._group(f)}")
        return out
    if isinstance(rhs, sympy.MatAdd):
        from derive.text import ordered_terms

        terms = ordered_terms(rhs)
        if not _fresh(terms[0], printer) or isinstance(terms[0], sympy.MatAdd):
            return None
        out = [f"    {lhs} = {printer.doprint(terms[0])}"]
        for t in terms[1:]:
            code = printer.doprint(t)
            if code.startswith("-"):
                out.append(f"    {lhs} -= {printer._group(-t)}")
            else:
                out.append(f"    {lhs} += {printer._group(t)}")
        return out
    return None


def _without_batch_factor(rhs: Any, s: Any, deltas: set[Any]) -> Any:
    """A gradient's terms that hold a delta, divided by the batch factor ``s`` (the code's
    deltas carry it); other terms (weight decay) as they are."""
    terms = list(rhs.args) if isinstance(rhs, (sympy.Add, sympy.MatAdd)) else [rhs]
    out = [rescale(t, 1 / s) if t.has(*deltas) else t for t in terms]
    return out[0] if len(out) == 1 else total(out)


def to_source(spec: Any, backend: str = "numpy", fast: bool = True) -> str:
    """The exported module's source (see the module docstring).

    ``fast=False`` prints every statement as exactly the formula in its comment: no
    in-place updates, and the batch factor 1/m where the derivation has it (the fast
    module divides the output delta by m once, so its deltas are ∂L/∂Z).
    """
    if backend not in BACKENDS:
        raise ExportError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    d = spec if isinstance(spec, Derivation) else derive(spec)
    from derive.text import text

    printer: Any = printer_for(backend)
    prog = d.program
    printer.producers = {eq.out: eq.rhs for eq in prog.equations}
    net = d.network
    params = [code_name(p.name) for p in prog.params]
    x, y = prog.inputs
    hyper = sorted(
        {s for eq in prog.equations for s in eq.rhs.free_symbols if isinstance(s, sympy.Symbol)}
        - set(prog.widths)
        - {prog.batch},
        key=str,
    )
    hyper_args = "".join(f", {code_name(h.name)}" for h in hyper)
    kw = f", *{hyper_args}" if hyper else ""
    pass_hyper = "".join(f", {code_name(h.name)}={code_name(h.name)}" for h in hyper)
    # forward/intermediates take only what the forward pass uses (a slope, not λ)
    used = set().union(*(eq.rhs.free_symbols for eq in prog.equations[:-1]))
    fwd_hyper = [h for h in hyper if h in used]
    fwd_kw = f", *{''.join(f', {code_name(h.name)}' for h in fwd_hyper)}" if fwd_hyper else ""
    fwd_pass = "".join(f", {code_name(h.name)}={code_name(h.name)}" for h in fwd_hyper)

    def shape_of(sym: Any) -> tuple[Any, ...]:
        return tuple(int(d) if d.is_Integer else str(d) for d in sym.shape)

    pool_index: dict[Any, str] = {}
    if backend == "torch" and fast:  # keep each max pool's arg-max for its backward pass
        for eq in prog.equations:
            if isinstance(eq.rhs, Pool) and eq.rhs.mode == "max":
                pool_index[eq.out] = f"_index{eq.layer}"
    printer.pool_index = pool_index

    def stmt(lhs: str, rhs: Any, comment: str) -> list[str]:
        if isinstance(rhs, Pool) and rhs.mode == "max" and pool_index:
            index = next(v for k, v in pool_index.items() if code_name(k.name) == lhs)
            call = printer.helper("maxpool2d_index", rhs.input, rhs.size, rhs.stride)
            return [_comment(comment + "   (and its arg-max)"), f"    {lhs}, {index} = {call}"]
        rhs = d.through_output(rhs)
        if backend in ("numpy", "torch") and fast:
            steps = in_place(printer, lhs, rhs)
            if steps is not None:
                return [_comment(comment + "   (in place)"), *steps]
        return [_comment(comment), f"    {lhs} = {printer.doprint(rhs)}"]

    batch_axis = 1 if prog.column and not net.is_conv else 0
    forward_body: list[str] = []
    m_line = []
    if isinstance(prog.batch, sympy.Symbol):
        m_line = [f"    {code_name(prog.batch.name)} = X.shape[{batch_axis}]"]
    for eq in prog.equations[:-1]:
        forward_body += stmt(code_name(eq.out.name), eq.rhs, f"{text(eq.out)} = {text(eq.rhs)}")
    out_name = code_name(prog.equations[-2].out.name)
    loss_eq = prog.equations[-1]
    loss_lines = stmt("L", loss_eq.rhs, f"L = {text(loss_eq.rhs)}")
    backward: list[str] = []
    # Per-sample deltas and a mean loss: every gradient is (1/m)·(something linear in a δ).
    # The code divides the small output delta by m once instead of every gradient after its
    # product, so its deltas are the mean loss's (∂L/∂Z); the comments say where.
    s = prog.scale
    moved = fast and d.per_sample and s != 1
    for k in range(d.depth, 0, -1):
        st = d.deltas[k]
        comment = f"{text(st.lhs)} = {text(st.rhs)}"
        rhs = st.rhs
        if moved and k == d.depth:  # one product with the whole delta, not per term
            rhs = sympy.Mul(s, rhs) if is_tensor(rhs) else sympy.MatMul(s, rhs)
            comment += f"   (code: times {text(s)}, so every delta below carries it)"
        backward += stmt(code_name(st.lhs.name), rhs, comment)
    delta_names = {st.lhs for st in d.deltas.values()}
    for p in prog.params:
        st = d.gradients[p.name]
        comment = f"{text(st.lhs)} = {text(st.rhs)}"
        rhs = st.rhs
        if moved:
            rhs = _without_batch_factor(rhs, s, delta_names)
            if rhs != st.rhs:
                comment += f"   (code: the {text(s)} is in the deltas)"
        backward += stmt("d" + code_name(p.name), rhs, comment)

    # symbolic sizes a statement uses (a kernel side k, …), read off the arrays' shapes
    code = "\n".join(forward_body + loss_lines + backward)
    bound = {prog.batch}
    for sym in [x, *prog.params]:
        for axis, dim in enumerate(sym.shape):
            name = code_name(dim.name) if isinstance(dim, sympy.Symbol) else ""
            if name and dim not in bound and re.search(rf"\b{name}\b", code):
                bound.add(dim)
                m_line.append(f"    {name} = {code_name(sym.name)}.shape[{axis}]")
    helpers = _helper_source(printer)
    shapes = {"X": shape_of(x), "Y": shape_of(y)}
    shapes.update({code_name(p.name): shape_of(p) for p in prog.params})
    imports = [
        f"import {mod}" for mod in sorted({BACKEND_IMPORT[backend], *printer.module_imports})
    ]
    sig = ", ".join(params)
    check_fwd = "    _check_shapes({" + ", ".join(f'"{n}": {n}' for n in ["X", *params]) + "})"
    check_all = "    _check_shapes({" + ", ".join(f'"{n}": {n}' for n in ["X", "Y", *params]) + "})"
    inter = ", ".join(
        f'"{code_name(eq.out.name)}": {code_name(eq.out.name)}' for eq in prog.equations[:-1]
    )
    grads = ", ".join(f'"{n}": d{n}' for n in params)
    header = (
        _docstring(
            f"Backpropagation for the network {net.name!r}, exported by derive ({backend}).\n\n"
            f"Convention: {net.convention} "
            f"({'samples are columns' if prog.column else 'samples are rows'}).\n"
            f"Delta: {net.delta}. Loss: {net.loss.name} ({net.loss.reduction}).\n"
            "Every statement is one step of the derivation; its formula is the comment above "
            "it.\n"
        )
        + "\n\n"
    )
    lines = [header + "from __future__ import annotations\n\n" + "\n".join(imports)]
    lines.append("")
    lines.append(f"PARAMETERS = {tuple(params)!r}")
    lines.append(f"SHAPES = {shapes!r}")
    lines.append(f"HYPERPARAMETERS = {tuple(code_name(h.name) for h in hyper)!r}")
    src = "\n".join(lines) + "\n" + CHECK_HELPER
    if "_softmax(" in "\n".join(forward_body):
        src += SOFTMAX_HELPER
    if backend == "numpy":
        src += "".join(h for name, h in NUMPY_HELPERS.items() if re.search(rf"\b{name}\(", code))
    src += helpers
    src += f'''

def intermediates(X, {sig}{fwd_kw}):
    """Every forward value (Z1, A1, …) by name."""
{check_fwd}
{chr(10).join(m_line)}
{chr(10).join(forward_body)}
    return {{{inter}}}


def forward(X, {sig}{fwd_kw}):
    """The network output {code_name(prog.equations[-2].out.name)}."""
    return intermediates(X, {sig}{fwd_pass})[{out_name!r}]


def loss(X, Y, {sig}{kw}):
    """The scalar loss L (forward pass only)."""
{check_all}
{chr(10).join(m_line)}
{chr(10).join(forward_body)}
{chr(10).join(loss_lines)}
    return L


def _backprop(X, Y, {sig}{kw}):
    # Forward pass, loss, deltas and gradients: the derivation, one step a line.
{chr(10).join(m_line)}
{chr(10).join(forward_body)}
{chr(10).join(loss_lines)}
{chr(10).join(backward)}
    return L, {", ".join("d" + n for n in params)}


def loss_and_gradients(X, Y, {sig}{kw}):
    """The loss and every parameter's gradient, in one forward and one backward pass."""
{check_all}
    L, {", ".join("d" + n for n in params)} = _backprop(X, Y, {sig}{pass_hyper})
    return L, {{{grads}}}


def gradients(X, Y, {sig}{kw}):
    """dict parameter name -> dL/d(parameter), shaped like the parameter."""
    return loss_and_gradients(X, Y, {sig}{pass_hyper})[1]
'''
    return src.replace("\n\n\n\n", "\n\n\n")


def _helper_source(printer: Any) -> str:
    """The source of the conv/pool helpers the printed code calls (from the backend's
    ``convops`` module: one implementation for the checker and the export)."""
    import inspect

    used = getattr(printer, "helpers", [])
    if not used:
        return ""
    ops = importlib.import_module(printer._convops)
    names = list(dict.fromkeys(n for u in used for n in ops.NEEDS[u]))
    return "".join("\n\n" + inspect.getsource(getattr(ops, n)) for n in names)


def require_backend(backend: str) -> None:
    """Fail with the package to install when a backend's library is missing."""
    if backend not in BACKENDS:
        raise ExportError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    try:
        importlib.import_module(BACKEND_IMPORT[backend])
    except ImportError:
        pkg = BACKEND_PACKAGE[backend]
        raise ExportError(
            f"the {backend} backend needs {backend} installed: pip install '{pkg}'"
        ) from None


def to_module(spec: Any, backend: str = "numpy", fast: bool = True) -> types.ModuleType:
    """The exported module, compiled in memory (for verification and ``to_function``)."""
    require_backend(backend)
    src = to_source(spec, backend, fast)
    mod = types.ModuleType("derive_exported")
    # Registered with linecache so inspect.getsource (and latexify) can read the functions.
    filename = f"<derive export {next(_COUNTER)}>"
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    code = compile(src, filename, "exec")
    exec(code, mod.__dict__)  # safe: source printed from our own expressions, not user text
    mod.__source__ = src  # type: ignore[attr-defined]
    return mod
