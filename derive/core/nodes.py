"""The primitives SymPy lacks: elementwise activations, softmax and the scalar losses.

Each is a small SymPy node, so equations stay ordinary SymPy expressions that every
printer and the rule table can dispatch on by class.
"""

from __future__ import annotations

from typing import Any

import sympy
from sympy.core.symbol import Str
from sympy.core.sympify import _sympify
from sympy.matrices.expressions import (
    HadamardProduct,
    MatAdd,
    MatMul,
    MatrixExpr,
    OneMatrix,
    ZeroMatrix,
)


class ElementwiseOf:
    """``f^{(k)}(Z)``: the k-th derivative of a scalar function applied entry by entry.

    Args are ``(name, Lambda(x, body), Z, k)``; the name is the activation's name in the
    table (or a user's symbol) so printers can write ``\\sigma'(Z_1)``. The one body of
    ``Elementwise`` (Z a matrix) and ``TensorElementwise`` (Z a feature map): printers,
    rules and evaluators registered for this class serve both.
    """

    args: tuple[Any, ...]

    def __new__(cls, name: Any, fn: sympy.Lambda, arg: Any, order: int = 0) -> Any:
        name = Str(name) if isinstance(name, str) else name
        arg = _sympify(arg)  # safe: arg is one of our SymPy expressions, never text
        return super().__new__(cls, name, fn, arg, sympy.Integer(order))  # type: ignore[call-arg]

    @property
    def name(self) -> str:
        """The activation's name in the table (or the user's symbol)."""
        return str(self.args[0])

    def _sympystr(self, printer: Any) -> str:
        """``str()`` reads ``tanh'(Z_1)``, not the constructor with its Lambda."""
        return f"{self.name}{chr(39) * int(self.args[3])}({printer._print(self.arg)})"

    @property
    def fn(self) -> sympy.Lambda:
        """The scalar function, as a SymPy Lambda of one variable."""
        return self.args[1]

    @property
    def arg(self) -> Any:
        """The argument the node applies to."""
        return self.args[2]

    @property
    def order(self) -> int:
        """Which derivative of the function (0: the function itself)."""
        return int(self.args[3])

    def scalar(self) -> sympy.Lambda:
        """The scalar function this node applies (the order-th derivative)."""
        (x,) = self.fn.variables
        return sympy.Lambda(x, sympy.diff(self.fn.expr, x, self.order))

    def next_derivative(self) -> Any:
        """The constant ``f^{(k+1)}`` when it is one, else the node of ``f^{(k+1)}(Z)``."""
        (x,) = self.fn.variables
        d = sympy.diff(self.fn.expr, x, self.order + 1)
        if x not in d.free_symbols and not d.has(sympy.Function):
            return d
        return type(self)(self.args[0], self.fn, self.arg, self.order + 1)

    def derivative(self) -> Any:
        """``f^{(k+1)}(Z)``, or the constant when that derivative is one (``G ⊙ c`` is
        ``c G``, so a feature map of a constant is never needed)."""
        return self.next_derivative()


class Elementwise(ElementwiseOf, MatrixExpr):  # type: ignore[misc]
    """``f^{(k)}(Z)`` on a matrix Z."""

    role = "primitive"

    @property
    def shape(self) -> tuple[Any, Any]:
        """The node's shape, from its operands."""
        return tuple(self.arg.shape)

    def derivative(self) -> MatrixExpr:
        """``f^{(k+1)}(Z)``, or ``c 1`` when that derivative is a constant c."""
        d = self.next_derivative()
        if isinstance(d, Elementwise):
            return d
        return d * OneMatrix(*self.shape) if d != 0 else ZeroMatrix(*self.shape)

    def _eval_transpose(self) -> MatrixExpr:
        return Elementwise(self.args[0], self.fn, self.arg.T, self.order)


class Softmax(MatrixExpr):  # type: ignore[misc]
    """Softmax over ``axis`` (0: each column is a sample; 1: each row is a sample)."""

    role = "primitive"

    def __new__(cls, arg: MatrixExpr, axis: int) -> Any:
        return super().__new__(cls, _sympify(arg), sympy.Integer(axis))  # safe: a SymPy expression

    @property
    def arg(self) -> MatrixExpr:
        """The argument the node applies to."""
        return self.args[0]

    @property
    def axis(self) -> int:
        """The axis the softmax normalises over (0: columns are samples, 1: rows)."""
        return int(self.args[1])

    @property
    def shape(self) -> tuple[Any, Any]:
        """The node's shape, from its operands."""
        return tuple(self.arg.shape)


#: What a node is, for the coverage test (tests/test_node_coverage.py) and for readers:
#: "primitive" appears in forward programs (a rule in rules.RULES, evaluators, printers);
#: "backward" is made by a rule and appears only in gradients (linear in its cotangent,
#: never differentiated: evaluators and printers); "leaf" is a named value; "reading" is
#: the checker's reading of a user's formula (the NumPy evaluator and the text printer).
ROLES = ("primitive", "backward", "leaf", "reading")


class ScalarOfMatrices(sympy.Expr):  # type: ignore[misc]
    """Base of scalar-valued nodes over matrices (the losses)."""

    is_commutative = True
    is_real = True


class FrobeniusSq(ScalarOfMatrices):
    """``||E||_F^2``, the sum of squared entries."""

    role = "primitive"

    @property
    def arg(self) -> MatrixExpr:
        """The argument the node applies to."""
        return self.args[0]


class ProbsVersusTargets(ScalarOfMatrices):
    """Base of the losses of probabilities A against targets Y (args ``(A, Y)``)."""

    @property
    def probs(self) -> MatrixExpr:
        """The predicted probabilities (the output activation)."""
        return self.args[0]

    @property
    def target(self) -> MatrixExpr:
        """The targets Y."""
        return self.args[1]


class CrossEntropy(ProbsVersusTargets):
    """``-sum(Y ⊙ log A)`` over all entries: the cross-entropy of probabilities A."""

    role = "primitive"


class BinaryCrossEntropy(ProbsVersusTargets):
    """``-sum(Y ⊙ log A + (1 - Y) ⊙ log(1 - A))`` over all entries."""

    role = "primitive"


# --------------------------------------------------------------------------- helpers


def split_coeff(e: MatrixExpr) -> tuple[sympy.Expr, MatrixExpr]:
    """``c M`` -> ``(c, M)`` so scalar factors can be kept outside Hadamard products."""
    if isinstance(e, MatMul):
        coeff, rest = e.as_coeff_mmul()
        rest = rest.doit() if isinstance(rest, MatMul) and len(rest.args) == 1 else rest
        if isinstance(rest, MatMul) and len(rest.args) == 1:
            rest = rest.args[0]
        return coeff, rest
    return sympy.Integer(1), e


def hadamard(*factors: Any) -> Any:
    """The Hadamard product of matrices or feature maps, with scalar factors pulled out
    and all-ones (or constant) factors dropped."""
    if any(is_tensor(f) for f in factors):
        return _tensor_hadamard(factors)
    coeff: sympy.Expr = sympy.Integer(1)
    kept: list[MatrixExpr] = []
    shape = factors[0].shape
    for f in factors:
        c, rest = split_coeff(f)
        if isinstance(rest, ZeroMatrix):
            return ZeroMatrix(*shape)
        c2, rest = split_coeff(rest) if isinstance(rest, MatMul) else (sympy.Integer(1), rest)
        coeff *= c * c2
        if isinstance(rest, OneMatrix):
            continue
        kept.append(rest)
    if not kept:
        body: MatrixExpr = OneMatrix(*shape)
    elif len(kept) == 1:
        body = kept[0]
    else:
        body = HadamardProduct(*kept)
    return body if coeff == 1 else MatMul(coeff, body).doit(deep=False)


def add(terms: list[Any]) -> Any:
    """Sum of contributions (matrices or feature maps), in the order they arrived."""
    if len(terms) == 1:
        return terms[0]
    if is_tensor(terms[0]):
        return sympy.Add(*terms)
    return MatAdd(*terms).doit(deep=False)


def scale(e: Any, c: sympy.Expr) -> Any:
    """``c e``, multiplying into a sum term by term so coefficients cancel."""
    if is_tensor(e):
        return tensor_scale(e, c)
    if c == 1:
        return e
    if isinstance(e, MatAdd):
        return add([scale(t, c) for t in e.args])
    coeff, rest = split_coeff(e)
    total = coeff * c
    if total == 1:
        return rest
    return MatMul(total, rest).doit(deep=False)


# --------------------------------------------------------------------------- feature maps
#
# Convolutional layers work on 4-d tensors (samples, channels, height, width), which
# SymPy's matrix expressions cannot hold. These nodes are plain SymPy expressions with a
# ``shape``; they are non-commutative so SymPy keeps the order of a product, and a scalar
# times a tensor is an ordinary ``Mul`` (so 1/m and m cancel as they do for matrices).


class TensorExpr(sympy.Expr):  # type: ignore[misc]
    """Base of the tensor-valued nodes."""

    is_commutative = False
    is_Tensor = True

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        raise NotImplementedError


def _int(v: Any) -> Any:
    return sympy.Integer(v) if isinstance(v, int) else v


class TensorSymbol(TensorExpr):
    """A named tensor: ``K_1`` (C_out, C_in, k, k), ``b_1`` (C_out,), ``A_1`` (m, C, H, W)."""

    role = "leaf"

    def __new__(cls, name: str, *shape: Any) -> Any:
        return super().__new__(cls, Str(name), *(_int(d) for d in shape))

    @property
    def name(self) -> str:
        """The activation's name in the table (or the user's symbol)."""
        return str(self.args[0])

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        return tuple(self.args[1:])

    @property
    def free_symbols(self) -> set[Any]:
        """A named tensor is a free symbol itself (as a MatrixSymbol is)."""
        return {self}

    def _hashable_content(self) -> tuple[Any, ...]:
        return (self.name, *self.shape)


class Correlate(TensorExpr):
    """``K ⋆ A``: the cross-correlation of each sample with each filter, channels summed.

    ``Z[n,o,i,j] = Σ_{c,u,v} K[o,c,u,v] A[n,c,s i+u-p, s j+v-p]`` (zero outside A).
    """

    role = "primitive"

    def __new__(cls, kernel: Any, inp: Any, stride: Any = 1, padding: Any = 0) -> Any:
        return super().__new__(cls, kernel, inp, _int(stride), _int(padding))

    kernel = property(lambda self: self.args[0])
    input = property(lambda self: self.args[1])
    stride = property(lambda self: self.args[2])
    padding = property(lambda self: self.args[3])

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        o, _, k, _ = self.kernel.shape
        m, _, h, w = self.input.shape
        s, p = self.stride, self.padding
        return (m, o, (h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1)


class ConvBackInput(TensorExpr):
    """``(G * rot180(K))_full``: the full convolution of G with the flipped kernel.

    With stride s, G is first dilated (s - 1 zeros between entries); with padding p, the
    result is cropped by p on every side. ``like`` is the layer input, whose shape it has.
    """

    role = "backward"

    def __new__(cls, g: Any, kernel: Any, stride: Any, padding: Any, like: Any) -> Any:
        return super().__new__(cls, g, kernel, _int(stride), _int(padding), like)

    cot = property(lambda self: self.args[0])
    kernel = property(lambda self: self.args[1])
    stride = property(lambda self: self.args[2])
    padding = property(lambda self: self.args[3])
    like = property(lambda self: self.args[4])

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        return tuple(self.like.shape)


class ConvBackKernel(TensorExpr):
    """``A ⋆ G``: the input correlated with the cotangent, summed over samples.

    ``K_bar[o,c,u,v] = Σ_{n,i,j} G[n,o,i,j] A[n,c,s i+u-p, s j+v-p]``: shaped like K.
    """

    role = "backward"

    def __new__(cls, inp: Any, g: Any, stride: Any, padding: Any, k: Any) -> Any:
        return super().__new__(cls, inp, g, _int(stride), _int(padding), _int(k))

    input = property(lambda self: self.args[0])
    cot = property(lambda self: self.args[1])
    stride = property(lambda self: self.args[2])
    padding = property(lambda self: self.args[3])

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        k = self.args[4]
        return (self.cot.shape[1], self.input.shape[1], k, k)


class ChannelBias(TensorExpr):
    """The bias b (one number per channel) broadcast over samples, rows and columns."""

    role = "primitive"

    def __new__(cls, bias: Any, like: tuple[Any, ...]) -> Any:
        return super().__new__(cls, bias, sympy.Tuple(*like))

    bias = property(lambda self: self.args[0])

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        return tuple(self.args[1])


class ChannelSum(TensorExpr):
    """``Σ_{n,i,j} G[n,o,i,j]``: one sum per channel (the bias gradient)."""

    role = "backward"

    arg = property(lambda self: self.args[0])

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        return (tensor_shape(self.arg)[1],)


class Pool(TensorExpr):
    """Max or average pooling of each channel over size x size windows."""

    role = "primitive"

    def __new__(cls, inp: Any, mode: str, size: Any, stride: Any) -> Any:
        return super().__new__(cls, inp, Str(mode), _int(size), _int(stride))

    input = property(lambda self: self.args[0])
    mode = property(lambda self: str(self.args[1]))
    size = property(lambda self: self.args[2])
    stride = property(lambda self: self.args[3])

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        m, c, h, w = self.input.shape
        k, s = self.size, self.stride
        return (m, c, (h - k) / s + 1, (w - k) / s + 1)


class Unpool(TensorExpr):
    """The pooling's transpose: average spreads G evenly over each window (``G / k²`` on
    each of its k² pixels); max routes G to the arg-max pixel of the window in A."""

    role = "backward"

    def __new__(cls, g: Any, inp: Any, mode: str, size: Any, stride: Any) -> Any:
        return super().__new__(cls, g, inp, Str(mode), _int(size), _int(stride))

    cot = property(lambda self: self.args[0])
    input = property(lambda self: self.args[1])
    mode = property(lambda self: str(self.args[2]))
    size = property(lambda self: self.args[3])
    stride = property(lambda self: self.args[4])

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        return tuple(self.input.shape)


class Flatten(MatrixExpr):  # type: ignore[misc]
    """Feature maps (m, C, H, W) as a matrix: one column (or row) of C H W entries per sample."""

    role = "primitive"

    def __new__(cls, inp: Any, column: bool) -> Any:
        return super().__new__(cls, inp, sympy.true if column else sympy.false)

    input = property(lambda self: self.args[0])
    column = property(lambda self: bool(self.args[1]))

    @property
    def shape(self) -> tuple[Any, Any]:
        """The node's shape, from its operands."""
        m, c, h, w = self.input.shape
        n = c * h * w
        return (n, m) if self.column else (m, n)


class Unflatten(TensorExpr):
    """A matrix of per-sample vectors back in the (m, C, H, W) layout of ``like``."""

    role = "backward"

    def __new__(cls, g: Any, like: Any, column: bool) -> Any:
        return super().__new__(cls, g, like, sympy.true if column else sympy.false)

    arg = property(lambda self: self.args[0])
    like = property(lambda self: self.args[1])
    column = property(lambda self: bool(self.args[2]))

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        return tuple(self.like.shape)


class TensorElementwise(ElementwiseOf, TensorExpr):
    """``f^{(k)}(Z)`` on a feature map Z."""

    role = "primitive"

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        return tensor_shape(self.arg)


class TensorHadamard(TensorExpr):
    """``X ⊙ Y`` of tensors."""

    role = "primitive"

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        return tensor_shape(self.args[0])


def tensor_shape(e: Any) -> tuple[Any, ...]:
    """The shape of a tensor expression: a node, or a scalar multiple or sum of nodes."""
    if isinstance(e, TensorExpr):
        return e.shape
    return next(tensor_shape(a) for a in e.args if is_tensor(a))


def is_tensor(e: Any) -> bool:
    """True for a tensor node or a scalar multiple or sum of them."""
    return bool(getattr(e, "is_Tensor", False)) or (
        isinstance(e, (sympy.Mul, sympy.Add)) and any(is_tensor(a) for a in e.args)
    )


def tensor_coeff(e: Any) -> tuple[Any, Any]:
    """``c T`` -> ``(c, T)`` for a tensor, ``c M`` -> ``(c, M)`` for a matrix."""
    if isinstance(e, sympy.Mul) and is_tensor(e):
        c, nc = e.args_cnc()
        if len(nc) != 1:
            raise ValueError(f"a product of tensors is not defined: {e}")
        return sympy.Mul(*c), nc[0]
    return split_coeff(e)


def tensor_scale(e: Any, c: Any) -> Any:
    """``c e`` for a tensor (a SymPy Mul, so coefficients cancel)."""
    return e if c == 1 else sympy.Mul(c, e)


def _tensor_hadamard(factors: tuple[Any, ...]) -> Any:
    """``G ⊙ D ⊙ …`` of feature maps, scalar factors (and constant factors) pulled out."""
    coeff: Any = sympy.Integer(1)
    kept = []
    for f in factors:
        if not is_tensor(f):
            if f == 0:
                return sympy.Integer(0)
            coeff *= f
            continue
        c, body = tensor_coeff(f)
        coeff *= c
        kept.append(body)
    body = kept[0] if len(kept) == 1 else TensorHadamard(*kept)
    return tensor_scale(body, coeff)


def linear(node: Any, g: Any, *rest: Any) -> Any:
    """``node(c G, …) = c node(G, …)`` for the linear nodes (keeps 1/m outside)."""
    c, g = tensor_coeff(g)
    return tensor_scale(node(g, *rest), c)
