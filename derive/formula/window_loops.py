"""Run a convolution's or pooling's backward pass written as NumPy loops over windows.

CS231n's ``conv_backward_naive`` and Ng's ``conv_backward`` (and their copies) accumulate
the gradient window by window: ``dx_pad[n, :, hs:hs+HH, ws:ws+WW] += w[f] * dout[n, f, i, j]``.
Such code is read here by running it on concrete arrays: each statement, parsed by our
own grammar (``window_lines``), is interpreted over NumPy values with NumPy's own
indexing (views, broadcasting, ``+=`` on a slice), within a bound on the statements run.
Loops the snippet leaves out are added by ``window_check``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from lark import Tree

from derive.formula.window_errors import LoopError, Unknown, fault
from derive.formula.window_lines import Block
from derive.formula.window_ops import (
    BINARY,
    COMPARE,
    METHODS,
    NUMPY,
    apply,
    as_int,
    small,
    whole,
)

#: The element types an array may be made with, by name (a string names the type, it is
#: never evaluated; an object array of Python integers could grow without bound).
SAFE_DTYPES = ("float", "float64", "int", "int64", "bool")

#: The most statements one check may execute (loops unrolled, every reading together),
#: so that a check stays well under 2 s.
MAX_STEPS = 10_000


class TooLong(LoopError):
    """The loops run more statements than a check may: no reading is tried further."""


class Runner:
    """Interprets parsed statements over NumPy values; ``lazy`` names (a convention's
    window bounds) are computed from the current values each time they are read."""

    def __init__(
        self,
        env: dict[str, Any],
        lazy: dict[str, Callable[[Runner], Any]],
        sizes: dict[str, int] | None = None,
        budget: list[int] | None = None,
        cached: frozenset[str] = frozenset(),
    ) -> None:
        self.env = env
        self.given = dict(env)
        self.read_given: set[str] = set()  # names read while they hold the layer's value
        self.sizes = sizes or {}
        self.cached = cached & set(env)  # names a cache may hold: the layer's, not gradients
        self.lazy = lazy
        self.budget = budget if budget is not None else [MAX_STEPS]  # shared by readings
        self.written: list[str] = []
        self.notes: list[str] = []
        self.conventions: set[str] = set()  # the lazy names read
        self.at = ""  # the statement being run (said when NumPy refuses it)

    def run(self, body: list[Block]) -> None:
        """Execute the blocks in order."""
        for block in body:
            self.statement(block)

    def statement(self, block: Block) -> None:
        """One statement (a loop runs its body once per value)."""
        self.budget[0] -= 1
        if self.budget[0] < 0:
            raise TooLong(
                f"the loops run more than {MAX_STEPS} statements at the smallest sizes "
                "derive tries: too many to run"
            )
        t = block.tree
        self.at = block.src
        if t.data in ("def", "return", "pass"):  # a function's frame
            self.run(block.body)
        elif t.data == "loop":
            var = str(t.children[0])
            for value in self.value(t.children[1]):
                self.env[var] = value
                self.run(block.body)
        elif t.data == "chain":
            if self._from_cache(t):
                return
            value = self.value(t.children[-1])
            for target in t.children[:-1]:
                self.store(target, value)
        elif t.data == "augassign":
            target, op, rhs = t.children
            value = self.value(rhs)
            self.store(target, value, str(op)[0])
        elif t.data == "unpack":  # N, C, H, W = x.shape
            if self._from_cache(t):
                return
            parts = self.value(t.children[-1])
            if not isinstance(parts, tuple) or len(parts) != len(t.children) - 1:
                raise LoopError("the values unpacked do not match the names")
            for target, part in zip(t.children[:-1], parts, strict=True):
                self.store(target, part)
        else:
            raise LoopError(f"a statement of kind {t.data} is not run here")

    def _from_cache(self, t: Tree[Any]) -> bool:
        """``x, w, b, conv_param = cache`` (or ``x = self.cache``): what the snippet does not
        show, unpacked into names of the layer's own arrays and sizes (they keep them)."""
        rhs = t.children[-1]
        if rhs.data != "name" or str(rhs.children[0]) in self.env:
            return False
        targets = t.children[:-1]
        words = [str(x.children[0]) for x in targets if x.data == "name"]
        if len(words) != len(targets) or not all(
            w in self.cached or w.endswith("_param") or w == "_" for w in words
        ):
            return False
        note = f"read {', '.join(words)} = {rhs.children[0]} as the layer's own {', '.join(words)}"
        if note not in self.notes:
            self.notes.append(note)
        return True

    def store(self, target: Any, value: Any, op: str = "") -> None:
        """``x = v``, ``x[s] = v`` and ``x[s] += v`` (in place, through views)."""
        if target.data == "name":
            word = str(target.children[0])
            self.env[word] = apply(op, self.value(target), value) if op else value
            size = self.sizes.get(word)
            number = whole(self.env[word])  # a size, not a local of that name (m = max)
            if size is not None and isinstance(number, (int, np.integer)) and number != size:
                raise LoopError(  # N, C, H, W = x.shape in the other layout
                    f"the snippet's {word} is {self.env[word]!r}, the layer's {size}"
                )
            self.written.append(word)
            return
        if target.data == "tuple" and not op:  # (m, n_H, n_W, n_C) = A.shape
            if not isinstance(value, tuple) or len(value) != len(target.children):
                raise LoopError("the values unpacked do not match the names")
            for part_target, part in zip(target.children, value, strict=True):
                self.store(part_target, part)
            return
        if target.data != "index":
            raise LoopError("only names and indexed arrays can be assigned here")
        obj = self.value(target.children[0])
        subs = self.subs(target.children[1])
        if not isinstance(obj, np.ndarray):
            raise LoopError("only arrays can be indexed on the left")
        try:
            obj[subs] = apply(op, obj[subs], value) if op else value
        except (ValueError, IndexError, TypeError) as err:
            raise fault("the assignment does not fit", err, self.at) from None
        base = target.children[0]
        while base.data == "index":
            base = base.children[0]
        if base.data == "name":
            self.written.append(str(base.children[0]))

    def lookup(self, word: str) -> Any:
        """A name's value: set by the snippet, the layer's, or a convention's (lazy)."""
        if word in self.env:
            value = self.env[word]
            if value is self.given.get(word):
                self.read_given.add(word)
            return value
        if word in self.lazy:
            self.conventions.add(word)
            return self.lazy[word](self)
        if word.endswith("_param"):  # CS231n's conv_param, pool_param: the layer's own
            keys = ("stride", "pad", "pool_height", "pool_width")
            return {k: self.env[k] for k in keys if k in self.env}
        if word in ("None", "False", "True"):
            return {"None": None, "False": False, "True": True}[word]
        raise Unknown(word)

    def nest(self, loops: list[tuple[str, int]], body: list[Block]) -> None:
        """``body`` inside loops over the given variables (loops the snippet leaves out)."""
        if not loops:
            self.run(body)
            return
        var, extent = loops[0]
        for value in range(extent):
            self.env[var] = value
            self.nest(loops[1:], body)

    def subs(self, tree: Tree[Any]) -> Any:
        """A subscript: a tuple of ints, slices and ``None``."""
        parts: list[Any] = []
        for s in tree.children:
            if s.data == "colon":
                bounds: list[Any] = [None, None]
                for c in s.children:
                    first = c.meta.start_pos == s.meta.start_pos
                    bounds[0 if first else 1] = as_int(self.value(c))
                parts.append(slice(*bounds))
            elif s.data == "stepped":  # a:b:c, each part optional (placeholders None)
                parts.append(
                    slice(*(None if c is None else as_int(self.value(c)) for c in s.children))
                )
            else:
                v = self.value(s)
                parts.append(v if v is None else as_int(v))
        return tuple(parts)

    def value(self, t: Any) -> Any:
        """The value of an expression."""
        kind = t.data
        if kind == "name":
            return self.lookup(str(t.children[0]))
        if kind == "number":
            text = str(t.children[0])
            if len(text) > 12:
                raise LoopError(f"the number {text} is too long")
            return float(text) if any(ch in text for ch in ".eE") else int(text)
        if kind == "string":
            return str(t.children[0])[1:-1]
        if kind in BINARY:
            a, b = (self.value(c) for c in t.children)
            try:
                return small(BINARY[kind](a, b))
            except (ValueError, TypeError) as err:
                raise fault("the shapes do not fit", err, self.at) from None
        if kind == "compare":  # window == np.max(window): a mask
            a, op, b = t.children
            return COMPARE[str(op)](self.value(a), self.value(b))
        if kind == "neg":
            return -self.value(t.children[0])
        if kind == "transpose":
            return np.transpose(self.value(t.children[0]))
        if kind == "index":
            obj = self.value(t.children[0])
            if isinstance(obj, (tuple, dict)) and len(t.children[1].children) == 1:
                key = self.value(t.children[1].children[0])  # idx[0], conv_param['pad']
                if key not in (obj if isinstance(obj, dict) else range(-len(obj), len(obj))):
                    raise LoopError(f"no entry {key!r} here")
                return obj[key]
            try:
                return obj[self.subs(t.children[1])]
            except (IndexError, TypeError) as err:
                raise fault("an index does not fit", err, self.at) from None
        if kind == "call":
            return self.call(t)
        if kind == "attr":
            base = t.children[0]
            if base.data == "name" and str(base.children[0]) in ("np", "numpy"):
                return None if str(t.children[1]) == "newaxis" else ("np", str(t.children[1]))
            obj = self.value(base)
            if isinstance(obj, np.ndarray) and str(t.children[1]) == "shape":
                return tuple(obj.shape)
            return ("method", obj, str(t.children[1]))
        if kind == "tuple":
            return tuple(self.value(c) for c in t.children)
        raise LoopError(f"an expression of kind {kind} is not run here")

    def call(self, t: Tree[Any]) -> Any:
        """NumPy's functions and array methods the loops use."""
        fn = self.value(t.children[0]) if t.children[0].data != "name" else None
        raw = t.children[1].children if len(t.children) > 1 and t.children[1] else []
        args = [self.value(a) for a in raw if a.data != "kwarg"]
        kw = {str(a.children[0]): self.value(a.children[1]) for a in raw if a.data == "kwarg"}
        if "dtype" in kw and kw["dtype"] not in SAFE_DTYPES:  # an object array: unbounded ints
            raise LoopError("dtype= other than 'float', 'int', 'bool' is not run here")
        if fn is None:
            word = str(t.children[0].children[0])
            if word in ("range", "xrange") and 1 <= len(args) <= 3:  # xrange: Python 2's
                return range(*(as_int(whole(a)) for a in args))
            if word == "int" and len(args) == 1:
                return as_int(whole(args[0]))
            helper = self.lazy.get(word)
            if helper is None:
                raise Unknown(word, f"the function {word}() is not run here")
            self.conventions.add(word)
            try:  # a course's own helper (Ng's create_mask_from_window)
                return helper(self)(*args, **kw)
            except (ValueError, TypeError) as err:
                raise LoopError(f"a call of {word}() does not fit: {err}") from None
        try:
            if fn[0] == "np" and fn[1] in NUMPY:
                return small(NUMPY[fn[1]](*args, **kw))
            if fn[0] == "method" and fn[2] in METHODS:
                return small(METHODS[fn[2]](fn[1], *args, **kw))
        except (ValueError, TypeError) as err:
            raise fault("a call does not fit", err, self.at) from None
        raise LoopError(f"the call {fn[-1]}() is not run here")
