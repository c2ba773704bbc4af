"""NumPy-style parse tree -> IR (the transformer of ``python.lark``)."""

from __future__ import annotations

import re
from typing import Any

from lark import Token, v_args

from derive.formula.ir import (
    IR,
    FormulaError,
    _CommonIR,
    _index,
    _number_value,
    integer_of,
    parse_number,
    power,
)
from derive.formula.latex_ir import _BASES

_PY_NAME = re.compile(r"^(W|w|b|Z|z|A|a|dW|dw|db|dZ|dz|dA|da|delta|X|x|Y|y|K|dK)_?([0-9]+|l|L)?\Z")


_PY_FUNCS = {
    "sigmoid": ("sigmoid", 0),
    "_sigmoid": ("sigmoid", 0),  # the exported NumPy module's overflow-free sigmoid
    "expit": ("sigmoid", 0),  # scipy.special.expit
    "softplus": ("softplus", 0),
    "tanh": ("tanh", 0),
    "relu": ("relu", 0),
    "softmax": ("softmax", 0),
    "exp": ("exp", 0),
    "erf": ("erf", 0),  # scipy.special.erf (GELU's derivative)
    "log": ("log", 0),
    "sigmoid_prime": ("sigmoid", 1),
    "sigmoid_derivative": ("sigmoid", 1),
    "dsigmoid": ("sigmoid", 1),
    "sigmoid_backward": ("sigmoid", 1),
    "tanh_prime": ("tanh", 1),
    "tanh_derivative": ("tanh", 1),
    "dtanh": ("tanh", 1),
    "relu_prime": ("relu", 1),
    "relu_derivative": ("relu", 1),
    "drelu": ("relu", 1),
    "g_prime": ("generic", 1),
    "f_prime": ("generic", 1),
    "activation_prime": ("generic", 1),
    "g": ("generic", 0),
    "f": ("generic", 0),
    "leaky_relu": ("leaky_relu", 0),
    "lrelu": ("leaky_relu", 0),
    "leaky_relu_prime": ("leaky_relu", 1),
    "lrelu_prime": ("leaky_relu", 1),
}


_COMPARISONS = {"greater": ">", "greater_equal": ">=", "less": "<", "less_equal": "<="}


#: The feature-map helpers of derive's exported NumPy modules: name -> (arrays, integers).
_HELPERS = {
    "conv2d": (2, 2),  # conv2d(A, K, s, p)
    "conv2d_back_input": (2, 4),  # conv2d_back_input(G, K, s, p, A.shape[2], A.shape[3])
    "conv2d_back_kernel": (2, 3),  # conv2d_back_kernel(A, G, s, p, k)
    "maxpool2d": (1, 2),  # maxpool2d(A, k, s)
    "avgpool2d": (1, 2),
    "maxpool2d_back": (2, 2),  # maxpool2d_back(G, A, k, s)
    "avgpool2d_back": (2, 2),
}


def _helper(name: str, args: list[IR]) -> IR:
    """A call of an exported module's helper: its arrays and its (bounded) integers."""
    arrays, ints = _HELPERS[name]
    if len(args) != arrays + ints:
        raise FormulaError(f"{name}() takes {arrays + ints} arguments, not {len(args)}")
    numbers: list[Any] = []
    for a in args[arrays:]:
        if a[0] == "dim":
            numbers.append(a)
        else:
            value = integer_of(_number_value(a, f"an argument of {name}()"), "a size")
            if not 0 <= value <= 64:
                raise FormulaError(f"{name}(): the size {value} is out of range (0 to 64)")
            numbers.append(value)
    return ("helper", name, tuple(args[:arrays]), tuple(numbers))


def _comparison(a: IR, op: str, b: IR) -> IR:
    """``(x > 0)``: ReLU's mask; ``x > c``, ``x <= c``: a 0/1 mask (for np.where)."""
    c = _number_value(b, f"the right side of {op}")
    if op in (">", ">=") and c == 0:
        return ("gt0", a)
    return ("cmp", a, op, c)


@v_args(inline=True)
class PythonToIR(_CommonIR):
    """NumPy-style parse tree -> IR."""

    def matmul(self, a: IR, b: IR) -> IR:
        return ("mat", a, b)

    def hadamard(self, a: IR, b: IR) -> IR:
        return ("had", a, b)

    def div(self, a: IR, b: IR) -> IR:
        return ("div", a, b)

    def power(self, a: IR, b: IR) -> IR:
        return power(a, _number_value(b, "a power"))

    def transpose(self, a: IR) -> IR:
        return ("T", a)

    def number(self, tok: Token) -> IR:
        return ("num", parse_number(str(tok)))

    def string(self, tok: Token) -> IR:
        return ("str", str(tok)[1:-1])

    def tuple(self, *items: IR) -> IR:
        return ("tuple", items)

    def compare(self, a: IR, op: Token, b: IR) -> IR:
        return _comparison(a, str(op), b)

    def name(self, tok: Token) -> IR:
        word = str(tok)
        grad = re.fullmatch(r"grad_?([Wwb])_?([0-9]+)", word)  # grad_w2: ∂L/∂W_2
        if grad:
            word = ("dW" if grad.group(1) in "Ww" else "db") + grad.group(2)
        m = _PY_NAME.match(word)
        if m:
            base, lower = _BASES.get(m.group(1), (m.group(1), False))
            idx = _index(m.group(2)) if m.group(2) else None
            return ("sym", base, idx, lower)
        if word in ("True", "False"):
            return ("bool", word == "True")
        if word in ("np", "numpy", "jnp", "torch", "scipy", "signal"):
            return ("module", word)
        if word in _PY_FUNCS or word in _HELPERS or word in ("correlate2d", "convolve2d", "rot90"):
            return ("func", word)
        if word in ("lam", "lambd", "lmbda", "alpha"):
            return ("scalar", {"alpha": "alpha"}.get(word, "lambda"))
        if re.fullmatch(r"[A-Za-z_]\w*", word) and len(word) <= 2:
            return ("scalar", word)
        raise FormulaError(f"unknown name {word!r}")

    def attr(self, obj: IR, name: Token) -> IR:
        if obj[0] == "module" and str(name) in ("signal", "special"):  # scipy.signal/.special
            return ("module", str(name))
        if obj[0] == "module":
            return ("func", str(name))
        if str(name) == "shape" and obj[0] == "sym":  # delta3.T.reshape(A2.shape)
            return ("shape_of", obj)
        if str(name) in ("shape", "size"):
            raise FormulaError(
                "array attributes other than .T, .shape and .dtype are not supported"
            )
        return ("method", obj, str(name))

    def index(self, obj: IR, idx: IR) -> IR:
        if obj[0] == "shape_of" and idx[0] == "num":  # A0.shape[2]: a size, as the export writes
            return ("dim", obj[1], integer_of(idx[1], "an axis"))
        raise FormulaError("indexing (x[...]) is not supported; write the formula in matrix form")

    def kwarg(self, name: Token, value: IR) -> IR:
        return ("kw", str(name), value)

    def args(self, *items: IR) -> list[IR]:
        return list(items)

    def call(self, fn: IR, args: list[IR] | None = None) -> IR:
        args = args or []
        pos = [a for a in args if a[0] != "kw"]
        kw = {a[1]: a[2] for a in args if a[0] == "kw"}
        if fn[0] == "method":
            obj, meth = fn[1], fn[2]
            if meth == "astype":
                return obj
            if meth == "dot" and len(pos) == 1:
                return ("mat", obj, pos[0])
            if meth == "sum":
                return self._sum(obj, kw)
            if meth == "reshape" and len(pos) == 1 and pos[0][0] == "shape_of":
                return ("reshape", obj, pos[0][1])
            raise FormulaError(f"unknown method .{meth}()")
        if fn[0] != "func":
            raise FormulaError("only functions can be called")
        name = fn[1]
        if name in ("correlate2d", "convolve2d", "correlate", "convolve") and len(pos) == 3:
            kw["mode"] = pos.pop()
        if name in ("dot", "matmul") and len(pos) == 2:
            return ("mat", pos[0], pos[1])
        if name == "multiply" and len(pos) == 2:
            return ("had", pos[0], pos[1])
        if name == "power" and len(pos) == 2:
            return power(pos[0], _number_value(pos[1], "the exponent of np.power"))
        if name == "square" and len(pos) == 1:
            return power(pos[0], 2)
        if name == "sum" and len(pos) >= 1:
            if len(pos) == 2:
                kw["axis"] = pos[1]
            return self._sum(pos[0], kw)
        if name in _HELPERS:
            return _helper(name, pos)
        if name == "where" and len(pos) == 3:
            if pos[0][0] not in ("gt0", "cmp"):
                raise FormulaError("np.where: the condition must compare an array with a number")
            return ("where", pos[0], pos[1], pos[2])
        if name in _COMPARISONS and len(pos) == 2:
            return _comparison(pos[0], _COMPARISONS[name], pos[1])
        if name == "maximum" and len(pos) == 2 and pos[0] == ("num", 0):
            return ("fn", "relu", 0, pos[1])
        if name in ("int64", "int32", "float64", "float32", "array", "asarray") and len(pos) == 1:
            return pos[0]
        if name == "transpose" and len(pos) == 1:
            return ("T", pos[0])
        if name in ("correlate2d", "convolve2d", "correlate", "convolve") and len(pos) == 2:
            mode = kw.get("mode", pos[2] if len(pos) > 2 else ("str", "full"))
            if mode[0] != "str" or mode[1] not in ("full", "valid", "same"):
                raise FormulaError(f"{name}: mode must be 'full', 'valid' or 'same'")
            kind = "corr" if name.startswith("correlate") else "conv"
            return (kind, pos[0], pos[1], mode[1])
        if name == "rot90" and len(pos) == 2 and pos[1] == ("num", 2):
            return ("fn", "rot180", 0, pos[0])
        if name == "flip" and len(pos) == 1:
            return ("fn", "rot180", 0, pos[0])
        if name in _PY_FUNCS and len(pos) == 1:
            fname, order = _PY_FUNCS[name]
            return ("fn", fname, order, pos[0])
        raise FormulaError(f"unknown function {name}() with {len(pos)} argument(s)")

    def _sum(self, x: IR, kw: dict[str, IR]) -> IR:
        out = self._summed(x, kw)
        keep = kw.get("keepdims", ("bool", False))
        if keep[0] != "bool":
            raise FormulaError("keepdims must be True or False")
        if out[2] != "channels" and not keep[1]:
            return ("squeeze", out)  # NumPy drops the summed axis: shape (n,), not (n, 1)
        return out

    def _summed(self, x: IR, kw: dict[str, IR]) -> IR:
        axis = kw.get("axis")
        if axis is None:
            raise FormulaError("np.sum without axis sums every entry; give axis=0 or axis=1")
        if axis[0] == "tuple":  # feature maps: axis=(0, 2, 3), one sum per channel
            axes = tuple(integer_of(_number_value(a, "an axis"), "an axis") for a in axis[1])
            if axes != (0, 2, 3):
                raise FormulaError(f"a sum over axes {axes}: the bias gradient sums axes (0, 2, 3)")
            return ("sum", x, "channels")
        k = integer_of(_number_value(axis, "the axis"), "the axis")
        if k not in (0, 1, -1, -2):
            raise FormulaError(f"axis={k}: a matrix has axes 0 and 1 (or -2 and -1)")
        return ("sum", x, k % 2)
