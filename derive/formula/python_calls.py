"""NumPy calls -> IR: the functions, methods and helpers real backprop code calls
(``np.dot``, ``a.sum(axis=0)``, ``np.where``, SciPy's correlate2d, derive's exported
feature-map helpers), each read as the IR node it computes; the activations they name
are in ``python_activations``."""

from __future__ import annotations

import re
from typing import Any

from derive.formula.ir import (
    IR,
    Bin,
    Cmp,
    Conv,
    Dim,
    Fn,
    FormulaError,
    Gt0,
    Helper,
    Ones,
    Reshape,
    Scalar,
    Sym,
    T,
    Where,
)
from derive.formula.ir import Num as NumNode
from derive.formula.ir_walk import nodes
from derive.formula.layer_indices import RelIndex
from derive.formula.numbers import _number_value, integer_of, power
from derive.formula.python_activations import BACKWARD, PY_FUNCS, derivative_flag
from derive.formula.python_arrays import ones
from derive.formula.python_keys import layer_number
from derive.formula.python_nodes import (
    Bool,
    DictRef,
    Eye,
    Func,
    Kw,
    Local,
    Method,
    PyNode,
    RangeCall,
    ShapeOf,
    Str,
    TupleOf,
    UnknownName,
)
from derive.formula.python_reductions import REDUCTIONS, reduction
from derive.formula.snippets import sym

_COMPARISONS = {"greater": ">", "greater_equal": ">=", "less": "<", "less_equal": "<="}


#: The feature-map helpers of derive's exported NumPy modules: name -> (arrays, integers).
HELPERS = {
    "conv2d": (2, 2),  # conv2d(A, K, s, p)
    "conv2d_back_input": (2, 4),  # conv2d_back_input(G, K, s, p, A.shape[2], A.shape[3])
    "conv2d_back_kernel": (2, 3),  # conv2d_back_kernel(A, G, s, p, k)
    "maxpool2d": (1, 2),  # maxpool2d(A, k, s)
    "avgpool2d": (1, 2),
    "maxpool2d_back": (2, 2),  # maxpool2d_back(G, A, k, s)
    "avgpool2d_back": (2, 2),
}


def _helper(name: str, args: list[Any]) -> IR:
    """A call of an exported module's helper: its arrays and its (bounded) integers."""
    arrays, ints = HELPERS[name]
    if len(args) != arrays + ints:
        raise FormulaError(f"{name}() takes {arrays + ints} arguments, not {len(args)}")
    numbers: list[Any] = []
    for a in args[arrays:]:
        if isinstance(a, Dim):
            numbers.append(a)
        else:
            value = integer_of(_number_value(a, f"an argument of {name}()"), "a size")
            if not 0 <= value <= 64:
                raise FormulaError(f"{name}(): the size {value} is out of range (0 to 64)")
            numbers.append(value)
    return Helper(name, tuple(args[:arrays]), tuple(numbers))


def comparison(a: IR, op: str, b: IR) -> IR:
    """``(x > 0)``: ReLU's mask; ``x >= c``, ``x <= c``: a 0/1 mask (for np.where). ``>= 0``
    is no ReLU mask: it holds where ``x = 0``, which ``A = relu(Z)`` is on every inactive
    unit (``A1 >= 0`` is all ones), so it is compared as written."""
    c = _number_value(b, f"the right side of {op}")
    if op == ">" and c == 0:
        return Gt0(a)
    return Cmp(a, op, c)


#: Calls that wrap an array without changing its values (a dtype, a tensor class).
_WRAPPERS = frozenset(
    {"int64", "int32", "float64", "float32", "array", "asarray", "Tensor", "tensor"}
)
#: Methods of a model's own classes (hanbt's ``self.activator.backward(output)``, a
#: framework's ``loss.gradient(…)``): what they compute is defined where the snippet is not.
_CLASS_METHODS = frozenset({"backward", "forward", "gradient", "grad", "derivative", "bprop"})


#: Python's own types, as a dtype (``x.astype(float)``); NumPy's are ``np.float64`` &c.
DTYPES = frozenset({"float", "int", "bool"})
_INTEGER = re.compile(r"u?int[0-9]*|bool_?|long")


def _astype(obj: Any, pos: list[Any], kw: dict[str, Any]) -> Any:
    """``x.astype(float)``: the same values, except a cast to integers of an array that is
    not an indicator (it truncates: ``(0.5 * Z).astype(int)`` is not ``0.5 * Z``); a
    snippet's own name (``mask.astype(int)``) and ``np.where`` are taken as masks."""
    dtype = pos[0] if pos else kw.get("dtype")
    name = dtype.name if isinstance(dtype, Func) else dtype.value if isinstance(dtype, Str) else ""
    if _INTEGER.fullmatch(name) and not isinstance(obj, (Gt0, Cmp, Bool, Local, Where)):
        raise FormulaError(
            f".astype({name}) of an array that is not a comparison truncates its values: "
            "not read (cast a mask such as (Z1 > 0).astype(int), or leave the values float)"
        )
    return obj


def call(fn: PyNode, args: list[PyNode] | None = None) -> PyNode:
    """``fn(args)``: NumPy functions and the helpers real code calls."""
    args = args or []
    pos: list[Any] = [a for a in args if not isinstance(a, Kw)]
    kw: dict[str, Any] = {a.name: a.value for a in args if isinstance(a, Kw)}
    if isinstance(fn, Method):
        obj, meth = fn.obj, fn.name
        if meth == "astype":
            return _astype(obj, pos, kw)
        if meth == "copy":
            return obj  # type: ignore[no-any-return]
        if meth in ("transpose", "t") and not pos:  # PyTorch's x.t()
            return T(obj)
        if meth in ("mm", "matmul") and len(pos) == 1:  # PyTorch's a.mm(b)
            return Bin("mat", obj, pos[0])
        if meth == "delta" and len(pos) in (2, 3):  # network2.py: the cost's own δ_L
            return sym("delta", RelIndex("L", 0))
        if meth == "cost_derivative" and len(pos) == 2:  # Nielsen's (a - y)
            return Bin("sub", pos[0], pos[1])
        if meth == "dot" and len(pos) == 1:
            return Bin("mat", obj, pos[0])
        if meth in REDUCTIONS:  # x.sum(0), x.mean(axis=1), x.squeeze()
            return reduction(meth, [obj, *pos], kw)
        if meth == "reshape" and len(pos) == 1 and isinstance(pos[0], ShapeOf):
            return Reshape(obj, pos[0].a)
        if meth in _CLASS_METHODS:
            raise FormulaError(
                f"`.{meth}(…)` is a method of the code's own class (an activation or layer "
                "object), which derive cannot see: write what it returns instead, e.g. "
                "sigmoid_prime(Z1) or A1 * (1 - A1) for an activator's backward"
            )
        raise FormulaError(f"unknown method .{meth}()")
    if not isinstance(fn, Func):
        raise FormulaError("only functions can be called")
    name = fn.name
    if name in ("range", "xrange", "arange"):
        return RangeCall()
    if name == "len" and len(pos) == 1 and not isinstance(pos[0], (Str, TupleOf, Func)):
        return Dim(pos[0], 0)  # len(y): y.shape[0], as NumPy has it
    if name in ("outer", "outer_prod") and len(pos) == 2:  # np.outer(δ, a): δ aᵀ
        return Bin("mat", pos[0], T(pos[1]))
    if name == "maximum" and len(pos) == 2 and pos[1] == NumNode(0):
        return Fn("relu", 0, pos[0])
    if name in BACKWARD and len(pos) == 2:  # Ng's relu_backward(dA, cache)
        if isinstance(pos[1], DictRef):  # the activation cache holds Z
            pos[1] = sym("Z", None)
        return Bin("had", pos[0], Fn(BACKWARD[name], 1, pos[1]))
    if name in ("correlate2d", "convolve2d", "correlate", "convolve") and len(pos) == 3:
        kw["mode"] = pos.pop()
    if name == "divide" and len(pos) == 2:
        return Bin("div", pos[0], pos[1])
    if name in ("dot", "matmul", "mm") and len(pos) == 2:  # np, tf.matmul, torch.mm
        return Bin("mat", pos[0], pos[1])
    if name in ("dot", "matmul") and len(pos) == 3:  # NumPy's third is out=: a @ b still
        return Bin("mat", pos[0], pos[1])
    if name == "multiply" and len(pos) == 2:
        return Bin("had", pos[0], pos[1])
    if name == "power" and len(pos) == 2:
        return power(pos[0], _number_value(pos[1], "the exponent of np.power"))
    if name == "square" and len(pos) == 1:
        return power(pos[0], 2)
    if name in REDUCTIONS and pos:  # np.sum(x, axis=0), np.mean, np.squeeze
        return reduction(name, pos, kw)
    if name in HELPERS:
        return _helper(name, pos)
    if name == "where" and len(pos) == 3:
        if not isinstance(pos[0], (Gt0, Cmp)):
            raise FormulaError("np.where: the condition must compare an array with a number")
        return Where(pos[0], pos[1], pos[2])
    if name in _COMPARISONS and len(pos) == 2:
        return comparison(pos[0], _COMPARISONS[name], pos[1])
    if name == "maximum" and len(pos) == 2 and pos[0] == NumNode(0):
        return Fn("relu", 0, pos[1])
    if name in _WRAPPERS and len(pos) == 1:  # np.array(x), Tensor(x): the same values
        return pos[0]  # type: ignore[no-any-return]
    if name == "broadcast_to" and len(pos) == 2 and isinstance(pos[1], TupleOf):
        return _broadcast_to(pos[0], pos[1])
    if name == "transpose" and len(pos) == 1:
        return T(pos[0])
    if name in ("eye", "identity") and len(pos) == 1 and not kw:  # np.eye(K)[y]: one-hot
        return Eye(pos[0])
    if name == "ones":  # np.ones((m, 1)): the ones vector of a bias gradient
        return ones(pos, kw)
    if name in ("correlate2d", "convolve2d", "correlate", "convolve") and len(pos) == 2:
        mode = kw.get("mode", pos[2] if len(pos) > 2 else Str("full"))
        if not isinstance(mode, Str) or mode.value not in ("full", "valid", "same"):
            raise FormulaError(f"{name}: mode must be 'full', 'valid' or 'same'")
        return Conv("corr" if name.startswith("correlate") else "conv", pos[0], pos[1], mode.value)
    if name == "rot90" and len(pos) == 2 and pos[1] == NumNode(2):
        return Fn("rot180", 0, pos[0])
    if name == "flip" and len(pos) == 1:
        return Fn("rot180", 0, pos[0])
    if name in PY_FUNCS and len(pos) == 2 and isinstance(pos[1], Bool) and not kw:
        kw = {"derivative": pos.pop()}  # sigmoid(x, True): the flag by position
    if name in PY_FUNCS and len(pos) == 1:
        fname, order = PY_FUNCS[name]
        flag = derivative_flag(name, kw)
        if flag and any(isinstance(n, Sym) and n.base == "A" for _, n in nodes(pos[0])):
            # sigmoid(a1, deriv=True): σ'(a1), or a1 (1 - a1) as trask's nonlin defines it;
            # both are tried as a helper's readings (``python_helpers``)
            raise UnknownName(
                f"{name}(…, derivative=True) of an activation: its derivative at the "
                "activation, or the derivative written in the activation it is given",
                name,
            )
        return Fn(fname, order + flag, pos[0])
    if name == "str" and len(pos) == 1:  # grads["dW" + str(l)] (``python_keys``)
        return layer_number(pos[0])
    raise FormulaError(f"unknown function {name}() with {len(pos)} argument(s)")


def _broadcast_to(x: Any, shape: TupleOf) -> IR:
    """``np.broadcast_to(x, (r, c))``: ``x ⊙ 1_r 1_cᵀ`` under NumPy's broadcasting (a row
    or column repeated to r×c; any other shape does not fit)."""
    if len(shape.items) != 2:
        raise FormulaError("np.broadcast_to: a matrix's shape has two sizes")
    sizes = []
    for item in shape.items:
        if isinstance(item, Scalar):
            sizes.append(item.name)
        elif isinstance(item, NumNode):
            sizes.append(str(integer_of(_number_value(item, "a size"), "a size")))
        else:
            raise FormulaError("np.broadcast_to: the shape's sizes are names or numbers")
    return Bin("had", x, Bin("mat", Ones(sizes[0]), T(Ones(sizes[1]))))
