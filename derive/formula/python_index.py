"""NumPy subscripts -> IR: the transformer's half that reads ``x[...]``: per-layer lists
(``zs[-1]``, ``self.weights[-l]``), dictionaries by their keys (``grads['W1']``,
``cache['Z1']``), Ng's linear cache by position (``cache[0]``), masks (``x[x <= 0]``),
labels (``x[range(N), y]``) and a batch's rows (``X[batch_idx]``). Names and operators are
read by its subclass, ``python_ir.PythonToIR``; statements by its base,
``python_statements.Statements``."""

from __future__ import annotations

from lark import v_args

from derive.formula.ir import Cmp, Dim, FormulaError, Gt0, Scalar, Sym, T
from derive.formula.ir import Num as NumNode
from derive.formula.layer_indices import RelIndex
from derive.formula.numbers import integer_of
from derive.formula.python_keys import layer_key
from derive.formula.python_nodes import (
    Colon,
    DictRef,
    Eye,
    ListRef,
    MaskIdx,
    OneHot,
    PyNode,
    RangeCall,
    ShapeOf,
    Str,
)
from derive.formula.python_statements import Statements
from derive.formula.snippets import LISTS, list_layer, sym

LOOPED_MAPS = (
    "a convolution or pooling written as NumPy loops over windows and entries "
    "(x[i, h, w, c], vert_start:vert_end) is not read: check the whole gradient instead, "
    "e.g. dA_prev = maxpool2d_back(dA, A_prev, k, s) or "
    "dK1 = conv2d_back_kernel(X, delta1, s, p, k) (derive's NumPy helpers; see `derive "
    "export`)"
)


#: Names of the number of classes that ``np.eye(K)[y]`` is sized by.
CLASS_COUNTS = frozenset(
    {
        "C",
        "K",
        "c",
        "k",
        "num_classes",
        "n_classes",
        "nclasses",
        "classes",
        "num_class",
        "n_class",
        "num_labels",
        "n_labels",
        "n_y",
        "ny",
        "num_outputs",
        "n_outputs",
        "n_output",
        "output_size",
        "output_dim",
        "out_dim",
        "n_out",
    }
)


@v_args(inline=True)
class Indexing(Statements):
    """Subscripts of the NumPy transformer (``PythonToIR`` reads the names)."""

    def reading(self, word: str) -> PyNode:
        """What a name means outside the snippet (``PythonToIR.reading``)."""
        raise NotImplementedError

    def subs(self, *items: PyNode) -> list[PyNode]:
        """The subscripts of an index expression."""
        return list(items)

    def colon(self, *ends: PyNode) -> PyNode:
        """``:`` (a whole axis) in a subscript."""
        return Colon()

    def index(self, obj: PyNode, subs: list[PyNode]) -> PyNode:
        """``A0.shape[2]``, ``zs[-1]``, ``params['W1']``, ``x[mask]``, ``x[range(N), y]``."""
        if (keyed := layer_key(obj, subs, self.reading, self.notes)) is not None:
            return keyed  # grads["dW" + str(l)] (``python_keys``)
        whole = len(subs) == 1 and isinstance(subs[0], Colon)
        if whole and isinstance(obj, Sym) and obj.base in ("X", "Y") and obj.index is None:
            note = f"read {obj.base}[batch_idx] as the batch's {obj.base}"  # its rows
            if note not in self.notes:
                self.notes.append(note)
            return obj
        if isinstance(obj, Eye):
            return self._eye(obj, subs)
        if len(subs) == 1:
            idx = subs[0]
            if isinstance(obj, ShapeOf) and isinstance(idx, NumNode):  # A0.shape[2]: a size
                return Dim(obj.a, integer_of(idx.value, "an axis"))
            linear = isinstance(obj, DictRef) and obj.name in ("cache", "linear_cache")
            if linear and not isinstance(idx, Str):  # cache['Z1']: Ng's dict, by its key
                return self._linear_cache(idx)
            if isinstance(obj, DictRef) and isinstance(idx, Str):
                node = self.reading(idx.value)
                if (
                    obj.name in ("grads", "gradients", "change_w")
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
        if len(subs) >= 3:  # dW[:, :, :, c] += a_slice * dZ[i, h, w, c]
            raise FormulaError(LOOPED_MAPS)
        raise FormulaError(
            "this indexing (x[...]) is not read; index per-layer lists (zs[-1]), "
            "masks (x[x <= 0] = 0) or labels (x[range(N), y] -= 1), or write the formula "
            "in matrix form"
        )

    def _eye(self, eye: Eye, subs: list[PyNode]) -> PyNode:
        """``np.eye(K)[y]``: row k of the identity for each label k, the one-hot labels with
        the samples on rows (``np.eye(K)[:, y]``: on columns), as NumPy code writes them
        (CS231n's and many tutorials' one-hot encoding); Y in the network's convention."""
        rows = len(subs) == 1 or (len(subs) == 2 and isinstance(subs[1], Colon))
        labels: PyNode | None = subs[0] if rows else None
        if len(subs) == 2 and isinstance(subs[0], Colon):  # np.eye(K)[:, y]
            labels = subs[1]
        if not (isinstance(labels, Sym) and labels.base == "Y" and labels.index is None):
            raise FormulaError(
                "np.eye(K) is read only indexed by the labels: np.eye(K)[y], the one-hot labels"
            )
        if self.column is None:
            raise FormulaError("np.eye(K)[y]: the network's convention is not known")
        if not self._class_count(eye.size):  # np.eye(N)[y], np.eye(H)[y]: not C columns
            raise FormulaError(
                "np.eye(K)[y] is the one-hot labels only when K is the number of classes: "
                "write it as a number, C, K or num_classes (a batch size, a layer's width or "
                "another array's dimension gives another shape)"
            )
        size = eye.size.value if isinstance(eye.size, NumNode) else "K"
        note = (
            f"read np.eye({size}) indexed by the labels as the one-hot labels Y "
            f"(the samples on {'rows' if rows else 'columns'})"
        )
        if note not in self.notes:
            self.notes.append(note)
        on_rows = not self.column
        return labels if rows == on_rows else T(labels)

    def _class_count(self, size: PyNode) -> bool:
        """Whether ``np.eye(size)`` has one column per class: a number (the spec's widths
        may be symbols), a name of the class count, or the labels' own class axis."""
        if isinstance(size, NumNode):  # the output's width where the spec gives a number
            return self.classes is None or size.value == self.classes
        if isinstance(size, Scalar):
            return size.name in CLASS_COUNTS
        if isinstance(size, Sym):
            return size.index is None and size.base in CLASS_COUNTS
        if isinstance(size, Dim):  # Y.shape[1] on rows, Y.shape[0] on columns
            label = isinstance(size.a, Sym) and size.a.base == "Y" and size.a.index is None
            return label and size.axis == (0 if self.column else 1)
        return False

    def _linear_cache(self, idx: PyNode) -> PyNode:
        """``cache[0]`` in Ng's linear_backward: the cache is (A_prev, W, b) of layer l."""
        k = integer_of(idx.value, "a cache index") if isinstance(idx, NumNode) else -1
        if k not in (0, 1, 2):
            raise FormulaError("Ng's linear cache is (A_prev, W, b): index it by 0, 1 or 2")
        node = sym("A", RelIndex("l", -1)) if k == 0 else sym("Wb"[k - 1], None)
        note = f"read cache[{k}] as {('A_(l-1)', 'W_l', 'b_l')[k]} (Ng's cache (A_prev, W, b))"
        if note not in self.notes:
            self.notes.append(note)
        return node
