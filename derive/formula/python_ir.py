"""NumPy-style parse tree -> IR (the transformer of ``python.lark``)."""

from __future__ import annotations

import functools
import re
from typing import Any

from lark import Token, Tree, v_args

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
    RelIndex,
    Reshape,
    Scalar,
    Squeeze,
    Sum,
    Sym,
    T,
    Where,
    _CommonIR,
    _index,
    _number_value,
    integer_of,
    parse_number,
    power,
)
from derive.formula.ir import Num as NumNode
from derive.formula.latex_tokens import BASES
from derive.formula.snippets import (
    DICTS,
    LISTS,
    Aug,
    Bool,
    Colon,
    DictRef,
    Func,
    Kw,
    ListRef,
    Local,
    Loop,
    MaskIdx,
    Method,
    Module,
    Obj,
    OneHot,
    PyNode,
    RangeCall,
    ShapeOf,
    Str,
    TupleOf,
    common_name,
    finished,
    flip,
    list_layer,
    number_layers,
    substitute,
    sym,
)

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


#: Ng's dnn_utils: ``relu_backward(dA, cache)`` is dA ⊙ relu'(Z) (the cache holds Z).
_BACKWARD = {"relu_backward": "relu", "sigmoid_backward": "sigmoid", "tanh_backward": "tanh"}


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


def _helper(name: str, args: list[Any]) -> IR:
    """A call of an exported module's helper: its arrays and its (bounded) integers."""
    arrays, ints = _HELPERS[name]
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


def _comparison(a: IR, op: str, b: IR) -> IR:
    """``(x > 0)``: ReLU's mask; ``x > c``, ``x <= c``: a 0/1 mask (for np.where)."""
    c = _number_value(b, f"the right side of {op}")
    if op in (">", ">=") and c == 0:
        return Gt0(a)
    return Cmp(a, op, c)


def _target_word(stmt: Tree[Any]) -> str | None:
    """The plain name a statement assigns (``dscores`` in ``dscores[…] -= 1``), if any."""
    if stmt.data not in ("chain", "augassign") or not stmt.children:
        return None
    node: Any = stmt.children[0]
    while isinstance(node, Tree) and node.data == "index":
        node = node.children[0]
    if isinstance(node, Tree) and node.data == "name":
        word = str(node.children[0])
        return None if word in LISTS or word in DICTS else word
    return None


def _tokens(node: Any) -> list[Token]:
    return (
        list(node.scan_values(lambda v: isinstance(v, Token))) if isinstance(node, Tree) else [node]
    )


def _indexed(node: Any) -> bool:
    return isinstance(node, Tree) and node.data == "index"


_AUG = {"+=": "add", "-=": "sub", "*=": "had", "/=": "div"}


@v_args(inline=True)
class PythonToIR(_CommonIR):
    """NumPy-style parse tree -> IR; several statements become the last one's formula
    (``snippets`` has the rules)."""

    def __init__(self, depth: int = 0, column: bool | None = None) -> None:
        super().__init__()
        self.depth = depth  # the network's depth (0: unknown), for hidden_layer and zs[-1]
        self.column = column  # samples are columns (None: unknown)
        self.locals: frozenset[str] = frozenset()
        self.notes: list[str] = []
        self.loop_var = "l"
        self.generic = False  # a layer index relative to the loop (zs[-l]) was read

    def transform(self, tree: Tree[Any]) -> Any:
        """The snippet's own names are known before any line is read: a use of one is a
        ``("local", name)`` until the statements are read in order."""
        stmts = tree.children if tree.data == "program" else [tree]
        many = len(stmts) > 1 or any(
            isinstance(t, Tree)
            and (t.data == "augassign" or (t.data == "chain" and _indexed(t.children[0])))
            for t in stmts
        )
        if not many and isinstance(stmts[0], Tree) and stmts[0].data == "chain":
            word = _target_word(stmts[0])  # delta = W.T @ delta * sp: the earlier delta
            many = word is not None and any(
                str(tok) == word for c in stmts[0].children[1:] for tok in _tokens(c)
            )
        if many:
            words = {_target_word(t) for t in stmts if isinstance(t, Tree)}
            self.locals = frozenset(w for w in words if w is not None)
        return super().transform(tree)

    def _common(self, word: str) -> PyNode | None:
        found = common_name(word, self.depth)
        if found is None:
            return None
        node, words = found
        note = f"read {words}"
        if word not in ("y", "Y", "m") and note not in self.notes:
            self.notes.append(note)
        return node

    # -- statements ------------------------------------------------------------------------

    def augassign(self, target: PyNode, op: Token, value: PyNode) -> Aug:
        """``x op= e``: read as ``x = x op e`` by the snippet reader."""
        return Aug(target, _AUG[str(op)], value)

    def loop(self, var: Token, _range: PyNode) -> Loop:
        """``for l in …:``: the loop variable is the generic layer index."""
        self.loop_var = str(var)
        self.generic = True
        return Loop(str(var))

    def program(self, *stmts: Any) -> list[PyNode]:
        """The statements in order; the formula is the last one's target = its value."""
        if len(stmts) == 1 and isinstance(stmts[0], list) and not self.locals:
            parts = stmts[0]
        else:
            parts = self._statements(list(stmts))
        parts, words = number_layers(parts, self.depth, self.generic)
        if words:
            self.notes.append(f"read {words}")
        for p in parts:
            finished(p)
        return parts

    def _statements(self, stmts: list[Any]) -> list[PyNode]:
        env: dict[str, PyNode] = {}
        gated: set[str] = set()
        last: list[PyNode] | None = None
        for i, st in enumerate(stmts):
            if isinstance(st, Loop):
                continue
            op: str | None
            if isinstance(st, list):
                target, values = st[0], st[1:]
                op = None
            else:
                target, op, values = st.target, st.op, [st.value]
            word = self._word_of(target)
            outside = functools.partial(self._before, target=word)
            values = [substitute(v, env, outside) for v in values]
            if len(values) > 1 and i != len(stmts) - 1:
                raise FormulaError("a chain of '=' (x = y = …) is read only on the last line")
            value = values[0]
            new = self._assigned(target, op, value, env, word)
            if word is not None:
                env[word] = new
                if isinstance(target, MaskIdx) and op is None and value == NumNode(0):
                    gated.add(word)
                else:
                    gated.discard(word)
            last = [self._quantity(target, word, word in gated), new, *values[1:]]
        if last is None:
            raise FormulaError("the snippet assigns nothing")
        return last

    def _word_of(self, target: PyNode) -> str | None:
        while isinstance(target, (MaskIdx, OneHot)):
            target = target.obj
        return target.name if isinstance(target, Local) else None

    def _before(self, word: str, target: str | None) -> PyNode:
        """A snippet's name used before the snippet assigns it: its reading outside (in
        ``delta = W.T @ delta * sp`` in a loop, the right's delta is the next layer's)."""
        node = self.reading(word)
        if word == target and isinstance(node, Sym) and node.base == "delta" and node.index is None:
            self.generic = True
            return sym("delta", RelIndex("l", 1))
        return node

    def _assigned(
        self,
        target: PyNode,
        op: str | None,
        value: PyNode,
        env: dict[str, PyNode],
        word: str | None,
    ) -> PyNode:
        """What the target holds after ``target (op)= value``."""
        if word is None:  # a list entry or a dictionary key: nothing later reads it
            if isinstance(target, (MaskIdx, OneHot)):
                raise FormulaError("an in-place update is read on a plain name (x[mask] = 0)")
            return value if op is None else Bin(op, target, value)  # type: ignore[arg-type]
        prev = env[word] if word in env else self._before(word, None)
        if isinstance(target, Local):
            return value if op is None else Bin(op, prev, value)  # type: ignore[arg-type]
        if isinstance(target, MaskIdx):
            if op is not None:
                raise FormulaError("x[mask] op= …: only x[mask] = value is read")
            cond = target.cond
            if value == NumNode(0):
                return Bin("had", prev, flip(cond))  # type: ignore[arg-type]
            return Where(cond, value, prev)  # type: ignore[arg-type]
        # x[range(N), y] -= 1: the one-hot labels subtracted
        if op not in ("add", "sub") or value != NumNode(1):
            raise FormulaError("x[range(N), y] is read in x[range(N), y] -= 1 (or += 1)")
        if self.column is None:
            raise FormulaError("x[range(N), y] -= 1: the network's convention is not known")
        labels: IR = sym("Y", None)
        assert isinstance(target, OneHot)
        if (target.axis == "rows") != (not self.column):  # the labels on the other axis
            labels = T(labels)
        return Bin(op, prev, labels)  # type: ignore[arg-type]

    def _quantity(self, target: PyNode, word: str | None, gated: bool) -> PyNode:
        """The left side the last line names: its target read as a quantity."""
        if word is None:
            return target
        node = self.reading(word)
        if gated and isinstance(node, Sym) and node.base == "dA":  # the ReLU gate: now ∂L/∂Z
            self.notes.append(
                f"read {word}[…] = 0 as the ReLU gate: {word} then holds the layer's delta"
            )
            return sym("delta", node.index)
        return node

    def matmul(self, a: IR, b: IR) -> IR:
        """``a @ b``, ``a.dot(b)``, ``np.dot(a, b)``: a matrix product."""
        return Bin("mat", a, b)

    def hadamard(self, a: IR, b: IR) -> IR:
        """``a * b``: NumPy's elementwise product."""
        return Bin("had", a, b)

    def div(self, a: IR, b: IR) -> IR:
        """``a / b``."""
        return Bin("div", a, b)

    def power(self, a: IR, b: IR) -> IR:
        """``a ** n`` with a bounded number exponent."""
        return power(a, _number_value(b, "a power"))

    def transpose(self, a: IR) -> IR:
        """``a.T``."""
        return T(a)

    def number(self, tok: Token) -> IR:
        """A number literal, parsed with bounds."""
        return NumNode(parse_number(str(tok)))

    def string(self, tok: Token) -> PyNode:
        """A string literal (a dictionary key such as ``'W1'``)."""
        return Str(str(tok)[1:-1])

    def tuple(self, *items: PyNode) -> PyNode:
        """``(a, b)``: a tuple (shapes, axes)."""
        return TupleOf(items)

    def compare(self, a: IR, op: Token, b: IR) -> IR:
        """``a > 0`` and the like: an indicator."""
        return _comparison(a, str(op), b)

    def name(self, tok: Token) -> PyNode:
        """A name: a local of the snippet, else its reading as a network quantity."""
        word = str(tok)
        if word in self.locals:
            return Local(word)
        return self.reading(word)

    def reading(self, word: str) -> PyNode:
        """What a name means outside the snippet's own assignments (``dW2``, ``probs``)."""
        common = self._common(word)
        if common is not None:
            return common
        grad = re.fullmatch(r"grad_?([Wwb])_?([0-9]+)", word)  # grad_w2: ∂L/∂W_2
        if grad:
            word = ("dW" if grad.group(1) in "Ww" else "db") + grad.group(2)
        m = _PY_NAME.match(word)
        if m:
            base, lower = BASES.get(m.group(1), (m.group(1), False))
            idx = _index(m.group(2)) if m.group(2) else None
            return Sym(base, idx, lower)
        if word in ("True", "False"):
            return Bool(word == "True")
        if word in ("np", "numpy", "jnp", "torch", "scipy", "signal"):
            return Module(word)
        if word in ("range", "xrange", "str", "len"):
            return Func(word)
        if (
            word in _PY_FUNCS
            or word in _HELPERS
            or word in _BACKWARD
            or word in ("correlate2d", "convolve2d", "rot90")
        ):
            return Func(word)
        if word == "self":
            return Obj(word)
        if word in LISTS:
            return ListRef(word)
        if word in DICTS:
            return DictRef(word)
        if word in ("lam", "lambd", "lmbda", "alpha"):
            return Scalar({"alpha": "alpha"}.get(word, "lambda"))
        if re.fullmatch(r"[A-Za-z_]\w*", word) and len(word) <= 2:
            return Scalar(word)
        raise FormulaError(f"unknown name {word!r}")

    def attr(self, obj: PyNode, name: Token) -> PyNode:
        """``obj.name``: ``self.W1``, ``self.weights``, ``x.T`` and methods."""
        word = str(name)
        if isinstance(obj, Obj):  # self.weights, self.params, self.W1
            if word in LISTS:
                return ListRef(word)
            if word in DICTS:
                return DictRef(word)
            try:
                return self.reading(word)
            except FormulaError:  # self.cost_derivative(…), self.num_layers
                return Method(obj, word)
        if isinstance(obj, Module) and word in ("signal", "special"):  # scipy.signal/.special
            return Module(word)
        if isinstance(obj, Module):
            return Func(word)
        if word == "shape" and isinstance(obj, Sym):  # delta3.T.reshape(A2.shape)
            return ShapeOf(obj)
        if word in ("shape", "size"):
            raise FormulaError(
                "array attributes other than .T, .shape and .dtype are not supported"
            )
        return Method(obj, word)

    def subs(self, *items: PyNode) -> list[PyNode]:
        """The subscripts of an index expression."""
        return list(items)

    def colon(self, *ends: PyNode) -> PyNode:
        """``:`` (a whole axis) in a subscript."""
        return Colon()

    def index(self, obj: PyNode, subs: list[PyNode]) -> PyNode:
        """``A0.shape[2]``, ``zs[-1]``, ``params['W1']``, ``x[mask]``, ``x[range(N), y]``."""
        if len(subs) == 1:
            idx = subs[0]
            if isinstance(obj, ShapeOf) and isinstance(idx, NumNode):  # A0.shape[2]: a size
                return Dim(obj.a, integer_of(idx.value, "an axis"))
            if isinstance(obj, DictRef) and isinstance(idx, Str):
                node = self.reading(idx.value)
                if (
                    obj.name in ("grads", "gradients")
                    and isinstance(node, Sym)
                    and node.base in "Wb"
                ):
                    return Sym("d" + node.base, node.index, node.lower)  # grads['W2'] is dW2
                return node
            if isinstance(obj, ListRef) or (
                isinstance(obj, Sym) and obj.index is None and obj.base != "Y"
            ):
                if isinstance(obj, ListRef):
                    base, first = LISTS[obj.name]
                else:
                    base, first = obj.base, int(obj.base != "A")
                layer = list_layer(base, first, idx, self.loop_var)
                if isinstance(layer, RelIndex) and layer.letter == "l":
                    self.generic = True
                return sym(base, layer)
            if isinstance(idx, (Gt0, Cmp)):
                return MaskIdx(obj, idx)
        if len(subs) == 2 and any(isinstance(s, RangeCall) for s in subs):
            rows = isinstance(subs[0], RangeCall)
            labels = subs[1] if rows else subs[0]
            if isinstance(labels, Sym) and labels.base == "Y":
                return OneHot(obj, "rows" if rows else "columns")
        raise FormulaError(
            "this indexing (x[...]) is not read; index per-layer lists (zs[-1]), "
            "masks (x[x <= 0] = 0) or labels (x[range(N), y] -= 1), or write the formula "
            "in matrix form"
        )

    def kwarg(self, name: Token, value: PyNode) -> PyNode:
        """``axis=0`` and the like, in a call."""
        return Kw(str(name), value)

    def args(self, *items: PyNode) -> list[PyNode]:
        """A call's arguments."""
        return list(items)

    def call(self, fn: PyNode, args: list[PyNode] | None = None) -> PyNode:
        """``fn(args)``: NumPy functions and the helpers real code calls."""
        args = args or []
        pos: list[Any] = [a for a in args if not isinstance(a, Kw)]
        kw: dict[str, Any] = {a.name: a.value for a in args if isinstance(a, Kw)}
        if isinstance(fn, Method):
            obj, meth = fn.obj, fn.name
            if meth in ("astype", "copy"):
                return obj  # type: ignore[no-any-return]
            if meth == "transpose" and not pos:
                return T(obj)
            if meth == "cost_derivative" and len(pos) == 2:  # Nielsen's (a - y)
                return Bin("sub", pos[0], pos[1])
            if meth == "dot" and len(pos) == 1:
                return Bin("mat", obj, pos[0])
            if meth == "sum":
                return self._sum(obj, kw)
            if meth == "reshape" and len(pos) == 1 and isinstance(pos[0], ShapeOf):
                return Reshape(obj, pos[0].a)
            raise FormulaError(f"unknown method .{meth}()")
        if not isinstance(fn, Func):
            raise FormulaError("only functions can be called")
        name = fn.name
        if name in ("range", "xrange", "arange"):
            return RangeCall()
        if name == "outer" and len(pos) == 2:  # np.outer(δ, a): δ aᵀ
            return Bin("mat", pos[0], T(pos[1]))
        if name == "maximum" and len(pos) == 2 and pos[1] == NumNode(0):
            return Fn("relu", 0, pos[0])
        if name in _BACKWARD and len(pos) == 2:  # Ng's relu_backward(dA, cache)
            if isinstance(pos[1], DictRef):  # the activation cache holds Z
                pos[1] = sym("Z", None)
            return Bin("had", pos[0], Fn(_BACKWARD[name], 1, pos[1]))
        if name in ("correlate2d", "convolve2d", "correlate", "convolve") and len(pos) == 3:
            kw["mode"] = pos.pop()
        if name in ("dot", "matmul") and len(pos) == 2:
            return Bin("mat", pos[0], pos[1])
        if name == "multiply" and len(pos) == 2:
            return Bin("had", pos[0], pos[1])
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
            if not isinstance(pos[0], (Gt0, Cmp)):
                raise FormulaError("np.where: the condition must compare an array with a number")
            return Where(pos[0], pos[1], pos[2])
        if name in _COMPARISONS and len(pos) == 2:
            return _comparison(pos[0], _COMPARISONS[name], pos[1])
        if name == "maximum" and len(pos) == 2 and pos[0] == NumNode(0):
            return Fn("relu", 0, pos[1])
        if name in ("int64", "int32", "float64", "float32", "array", "asarray") and len(pos) == 1:
            return pos[0]  # type: ignore[no-any-return]
        if name == "transpose" and len(pos) == 1:
            return T(pos[0])
        if name in ("correlate2d", "convolve2d", "correlate", "convolve") and len(pos) == 2:
            mode = kw.get("mode", pos[2] if len(pos) > 2 else Str("full"))
            if not isinstance(mode, Str) or mode.value not in ("full", "valid", "same"):
                raise FormulaError(f"{name}: mode must be 'full', 'valid' or 'same'")
            return Conv(
                "corr" if name.startswith("correlate") else "conv", pos[0], pos[1], mode.value
            )
        if name == "rot90" and len(pos) == 2 and pos[1] == NumNode(2):
            return Fn("rot180", 0, pos[0])
        if name == "flip" and len(pos) == 1:
            return Fn("rot180", 0, pos[0])
        if name in _PY_FUNCS and len(pos) == 1:
            fname, order = _PY_FUNCS[name]
            return Fn(fname, order, pos[0])
        raise FormulaError(f"unknown function {name}() with {len(pos)} argument(s)")

    def _sum(self, x: Any, kw: dict[str, Any]) -> IR:
        out = self._summed(x, kw)
        keep = kw.get("keepdims", Bool(False))
        if not isinstance(keep, Bool):
            raise FormulaError("keepdims must be True or False")
        if out.axis != "channels" and not keep.value:
            return Squeeze(out)  # NumPy drops the summed axis: shape (n,), not (n, 1)
        return out

    def _summed(self, x: Any, kw: dict[str, Any]) -> Sum:
        axis = kw.get("axis")
        if axis is None:
            raise FormulaError("np.sum without axis sums every entry; give axis=0 or axis=1")
        if isinstance(axis, TupleOf):  # feature maps: axis=(0, 2, 3), one sum per channel
            axes = tuple(integer_of(_number_value(a, "an axis"), "an axis") for a in axis.items)
            if axes != (0, 2, 3):
                raise FormulaError(f"a sum over axes {axes}: the bias gradient sums axes (0, 2, 3)")
            return Sum(x, "channels")
        k = integer_of(_number_value(axis, "the axis"), "the axis")
        if k not in (0, 1, -1, -2):
            raise FormulaError(f"axis={k}: a matrix has axes 0 and 1 (or -2 and -1)")
        return Sum(x, k % 2)
