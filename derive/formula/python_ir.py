"""NumPy-style parse tree -> IR (the transformer of ``python.lark``): names, operators,
attributes and indexing; statements in ``python_statements``, calls in ``python_calls``."""

import re
from typing import Any

from lark import Token, v_args

from derive.formula.guesses import SHORT, UPSTREAM
from derive.formula.ir import IR, Bin, FormulaError, Scalar, Sym, T
from derive.formula.ir import Num as NumNode
from derive.formula.latex_tokens import BASES
from derive.formula.layer_names import PY_LAYER_NAME
from derive.formula.numbers import _index, _number_value, parse_number, power
from derive.formula.python_activations import BACKWARD, PY_FUNCS
from derive.formula.python_calls import DTYPES, HELPERS, call, comparison
from derive.formula.python_index import LOOPED_MAPS, Indexing
from derive.formula.python_nodes import (
    Bool,
    Colon,
    DictRef,
    Func,
    Kw,
    ListRef,
    Local,
    Method,
    Module,
    Obj,
    PyNode,
    ShapeOf,
    Str,
    TupleOf,
    UnknownName,
)
from derive.formula.snippets import DICTS, LISTS

#: Objects of a model's own layer class (``layer.delta``, ``next_layer.weights``).
LAYER_OBJECTS = frozenset(
    {"layer", "next_layer", "prev_layer", "previous_layer", "this_layer", "current_layer"}
)

#: Names of the learning rate in update rules (``W1 -= learning_rate * dW1``).
_RATES = frozenset(
    {"learning_rate", "lr", "eta", "step_size", "learningRate", "LR", "learn_rate", "LEARNING_RATE"}
    | {"alpha_lr", "learnrate", "l_rate", "lrate"}
)

#: Index arrays that pick the current mini-batch's rows (``X_train[batch_idx]``).
#: Names of the loss and of its weight-decay term (Ng's L2_regularization_cost).
LOSS_WORDS = {"cost": "L", "loss": "L", "J": "L"} | dict.fromkeys(
    ("L2_regularization_cost", "reg_loss", "reg_cost", "regularization_cost", "l2_loss"), "R"
)
BATCH_INDICES = frozenset({"batch_idx", "batch_indices", "batch_mask", "idx_batch"})

_PY_NAME = re.compile(r"^(W|w|b|Z|z|A|a|dW|dw|db|dZ|dz|dA|da|delta|X|x|Y|y|K|dK)_?([0-9]+|l|L)?\Z")

#: Names of the number of classes (a size, as C and K are): ``np.eye(num_classes)[y]``.
CLASS_COUNTS = frozenset(
    {"num_classes", "n_classes", "nb_classes", "number_of_classes", "num_labels", "n_labels"}
)


#: The names of loops over the windows of feature maps (Ng's and CS231n's conv/pool code).
WINDOWS = frozenset(
    {
        "vert_start",
        "vert_end",
        "horiz_start",
        "horiz_end",
        "stride",
        "x_pad",
        "dx_pad",
        "a_prev_pad",
        "da_prev_pad",
        "dA_prev_pad",
        "a_slice",
        "x_pad_masked",
        "x_masked",
    }
)


@v_args(inline=True)
class PythonToIR(Indexing):
    """NumPy-style parse tree -> IR; several statements become the last one's formula
    (``snippets`` has the rules)."""

    #: Whether the snippet names a window (vert_start, x_pad): loop code over windows,
    #: whose h is the row of a window, not the hidden layer.
    windowed = False

    def transform(self, tree: Any) -> Any:
        """The IR of ``tree``, noting first whether its names are a window loop's."""
        words = {str(t) for t in tree.scan_values(lambda v: isinstance(v, Token))}
        self.windowed = bool(words & WINDOWS) or {"h", "w"} <= words  # x[i, h, w, c]
        return super().transform(tree)

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
        return comparison(a, str(op), b)

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
        m = _PY_NAME.match(word) or PY_LAYER_NAME.match(word)  # gamma2, dP4, Xhat2
        if m:
            base, lower = BASES.get(m.group(1), (m.group(1), False))
            idx = _index(m.group(2)) if m.group(2) else None
            return Sym(base, idx, lower)
        if word in ("True", "False"):
            return Bool(word == "True")
        if word in ("np", "numpy", "jnp", "torch", "scipy", "signal", "tf"):
            return Module(word)
        if word in ("range", "xrange", "str", "len", "Tensor") or word == "outer_prod":
            return Func(word)
        if word in DTYPES:  # x.astype(float): a dtype (a type of Python's own)
            return Func(word)
        if word in BATCH_INDICES:  # X_train[batch_idx]: the rows of this batch
            return Colon()
        if (
            word in PY_FUNCS
            or word in HELPERS
            or word in BACKWARD
            or word in ("correlate2d", "convolve2d", "rot90")
        ):
            return Func(word)
        if word == "self" or word in LAYER_OBJECTS:
            return Obj(word)
        if word in LISTS:
            return ListRef(word)
        if word in DICTS:
            return DictRef(word)
        if word in _RATES:  # W1 -= learning_rate * dW1: the update rule's α
            return Scalar("eta", written=word)
        if word.startswith("_") and not word.startswith("__") and len(word) > 1:
            return self.reading(word[1:])  # _W1: a private attribute's name (frixoe's)
        if word in LOSS_WORDS:  # cost = …: the loss (a forward quantity, ``quantity``)
            return Scalar(LOSS_WORDS[word], written=word)
        if word in ("lam", "lambd", "lmbda", "alpha"):
            return Scalar({"alpha": "alpha"}.get(word, "lambda"))
        if word in WINDOWS:  # pooling or a convolution as loops over windows
            raise FormulaError(LOOPED_MAPS)
        hidden = word == "h" and not self.windowed  # h: the hidden layer (not a window's row)
        ng_delta = re.fullmatch(r"d[0-9]?", word)  # Ng's ML course's d, d3: deltas
        if word in SHORT or word in UPSTREAM or hidden or ng_delta:  # o, h, who, dy, d3
            raise UnknownName(f"unknown name {word!r}", word)
        if re.fullmatch(r"[A-Za-z_]\w*", word) and len(word) <= 2 or word in CLASS_COUNTS:
            return Scalar(word)  # a size: C, K, num_classes (np.eye(num_classes)[y])
        raise UnknownName(f"unknown name {word!r}", word)

    def attr(self, obj: PyNode, name: Token) -> PyNode:
        """``obj.name``: ``self.W1``, ``self.weights``, ``x.T`` and methods."""
        word = str(name)
        if isinstance(obj, Obj) and obj.name in LAYER_OBJECTS:
            if word in ("T", "dot", "shape"):  # the name is an array here (packt's layer.T)
                raise UnknownName(f"unknown name {obj.name!r}", obj.name)
            raise FormulaError(
                f"{obj.name}.{word}: an attribute of the code's own layer object; which "
                "quantity it holds (a layer's weights, its delta, the next layer's), and in "
                "which shape, its class defines, which the snippet does not show: write the "
                "formula in the network's names (W2, dZ2, A1)"
            )
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

    def kwarg(self, name: Token, value: PyNode) -> PyNode:
        """``axis=0`` and the like, in a call."""
        return Kw(str(name), value)

    def args(self, *items: PyNode) -> list[PyNode]:
        """A call's arguments."""
        return list(items)

    def call(self, fn: PyNode, args: list[PyNode] | None = None) -> PyNode:
        """``fn(args)``: NumPy functions and the helpers real code calls."""
        if isinstance(fn, Method) and fn.name == "delta":
            note = (
                "read cost.delta(…) as δ_L, the output delta of the network's own cost (as "
                "Nielsen's network2.py defines it)"
            )
            if note not in self.notes:
                self.notes.append(note)
        return call(fn, args)
