"""NumPy statements -> one formula: the transformer's half that reads several
assignments, in-place updates and loops (the rules are in ``snippets``); the
expressions are read by its subclass, ``python_ir.PythonToIR``; the names the statements
assign, before they are read, by ``statement_targets``."""

from __future__ import annotations

import functools
import re
from typing import Any

from lark import Token, Tree, v_args

from derive.formula.ir import IR, Bin, FormulaError, Sym, T, Where
from derive.formula.ir import Num as NumNode
from derive.formula.ir_walk import children, nodes
from derive.formula.latex_lhs import same_symbol, update_rule
from derive.formula.layer_indices import RelIndex
from derive.formula.numbers import _CommonIR
from derive.formula.python_arrays import check_ones
from derive.formula.python_nodes import Aug, Local, Loop, MaskIdx, OneHot, PyNode, finished
from derive.formula.snippets import (
    common_name,
    flip,
    number_layers,
    pin_to_output,
    substitute,
    sym,
)
from derive.formula.statement_targets import is_indexed, target_word, tokens, unpacked

#: At most this many operations in a value once its names are replaced by what they hold
#: (lines that each double the one before grow it exponentially; a real formula has tens).
MAX_NODES = 200


def size(node: Any) -> int:
    """The number of operations in an IR value (shared parts counted each time they occur,
    as the checker reads them), computed without expanding the tree."""
    seen: dict[int, int] = {}

    def count(n: Any) -> int:
        if id(n) not in seen:
            seen[id(n)] = 1 + sum(count(c) for c in children(n))
        return seen[id(n)]

    return count(node)


_AUG = {"+=": "add", "-=": "sub", "*=": "had", "/=": "div"}


@v_args(inline=True)
class Statements(_CommonIR):
    """NumPy-style parse tree -> IR: the statements; several become the last one's formula."""

    def __init__(self, depth: int = 0, column: bool | None = None) -> None:
        super().__init__()
        self.depth = depth  # the network's depth (0: unknown), for hidden_layer and zs[-1]
        self.column = column  # samples are columns (None: unknown)
        self.classes: int | None = None  # the output's width, where a number (np.eye(K)[y])
        self.locals: frozenset[str] = frozenset()
        self.labelled: set[str] = set()  # names that had the one-hot labels subtracted
        self.notes: list[str] = []
        self.loop_var = "l"
        self.generic = False  # a layer index relative to the loop (zs[-l]) was read

    def reading(self, word: str) -> PyNode:
        """What a name means outside the snippet's own assignments (``PythonToIR``)."""
        raise NotImplementedError

    def transform(self, tree: Tree[Any]) -> Any:
        """The snippet's own names are known before any line is read: a use of one is a
        ``("local", name)`` until the statements are read in order."""
        stmts = tree.children if tree.data == "program" else [tree]
        for t in stmts:
            if isinstance(t, Tree) and t.data == "unpack":
                raise unpacked(t)
        many = len(stmts) > 1 or any(
            isinstance(t, Tree)
            and (t.data == "augassign" or (t.data == "chain" and is_indexed(t.children[0])))
            for t in stmts
        )
        if not many and isinstance(stmts[0], Tree) and stmts[0].data == "chain":
            word = target_word(stmts[0])  # delta = W.T @ delta * sp: the earlier delta
            many = word is not None and any(
                str(tok) == word for c in stmts[0].children[1:] for tok in tokens(c)
            )
        if many:
            words = {target_word(t) for t in stmts if isinstance(t, Tree)}
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
        parts, words = pin_to_output(parts)
        if words:
            self.notes.append(f"read {words}")
        parts = _update(parts)
        for p in parts:
            finished(p)
            check_ones(p)  # np.ones((m, 1)): a column, as NumPy has it
        return parts

    def _statements(self, stmts: list[Any]) -> list[PyNode]:
        env: dict[str, PyNode] = {}
        gated: set[str] = set()
        self.labelled = set()
        last: tuple[Any, str | None, bool, list[PyNode]] | None = None
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
            if any(size(v) > MAX_NODES for v in values):  # a = x + x; b = a + a; …
                raise FormulaError(
                    f"line {i + 1}: the value this line assigns, its names replaced by what "
                    f"they hold, is over {MAX_NODES} operations; check a shorter snippet"
                )
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
                if isinstance(target, OneHot):
                    self.labelled.add(word)
                elif isinstance(target, Local) and op is None:
                    self.labelled.discard(word)
            # only the last statement's target is read as a quantity (tmp = …, sp = … are not)
            last = (target, word, word in gated, [new, *values[1:]])
        if last is None:
            raise FormulaError("the snippet assigns nothing")
        target, word, was_gated, sides = last
        return [self._quantity(target, word, was_gated), *sides]

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
        if isinstance(target, Local) and op is None:  # a fresh value: the name's reading
            return value  # outside the snippet is never needed (tmp = …, sp = …)
        prev = env[word] if word in env else self._prior(word, target)
        if isinstance(target, Local):
            return Bin(op, prev, value)  # type: ignore[arg-type]
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

    def _prior(self, word: str, target: PyNode) -> PyNode:
        """What ``word`` holds before the snippet updates it in place; a matrix of softmax
        outputs (``softmax_matrix``, ``prob_matrix``) about to have the labels subtracted
        is the network's output A_L."""
        try:
            return self._before(word, None)
        except FormulaError:
            spelled = re.search(r"softmax|prob", word, re.IGNORECASE)
            if not (isinstance(target, OneHot) and spelled):
                raise
        self.notes.append(
            f"read {word} (before its labels are subtracted) as A_L, the softmax's output"
        )
        return sym("A", RelIndex("L", 0))

    def _quantity(self, target: PyNode, word: str | None, gated: bool) -> PyNode:
        """The left side the last line names: its target read as a quantity."""
        if word is None:
            return target
        if word in self.labelled:  # probs[range(N), y] -= 1: the softmax's output minus
            try:  # the one-hot labels, the gradient on the scores (dx, softmax_matrix)
                known: PyNode | None = self.reading(word)
            except FormulaError:
                known = None
            if not (isinstance(known, Sym) and known.base in ("delta", "dA", "dW", "db")):
                self.notes.append(
                    f"read {word} as δ_L: {word}[range(N), y] -= 1 subtracts the one-hot "
                    "labels from the softmax's output, which makes the gradient on the scores"
                )
                return sym("delta", RelIndex("L", 0))
        node = self.reading(word)
        if gated and isinstance(node, Sym) and node.base == "dA":  # the ReLU gate: now ∂L/∂Z
            self.notes.append(
                f"read {word}[…] = 0 as the ReLU gate: {word} then holds the layer's delta"
            )
            return sym("delta", node.index)
        return node


def _update(parts: list[Any]) -> list[Any]:
    """``W1 = W1 - learning_rate * G`` (or ``W1 -= lr * G``): an update rule, whose step
    ``G`` is checked as ∂L/∂W_1 as in LaTeX (``latex_lhs.update_rule``)."""
    if len(parts) != 2:
        return parts
    lhs, rhs = parts
    param = isinstance(lhs, Sym) and lhs.base in ("W", "b", "K")
    if param and isinstance(rhs, Bin) and rhs.op in ("sub", "add") and same_symbol(rhs.a, lhs):
        grads = {"dW", "db", "dK"}
        if rhs.op == "add" and any(isinstance(n, Sym) and n.base in grads for _, n in nodes(rhs.b)):
            raise FormulaError(
                f"{lhs.base} += rate * gradient climbs the loss; code that adds its updates "
                "names minus the gradient (error = y - a), so which it is cannot be told: "
                "write the update with -= or check the gradient's own formula"
            )
        return update_rule(lhs, rhs, [])
    return parts
