"""A tuple unpacked from Ng's backward helpers, read as the helpers' documented returns.

Ng's deep-learning course (C1W4, "Building your Deep Neural Network: Step by Step") has
``dA_prev, dW, db = linear_backward(dZ, cache)`` and
``dA_prev, dW, db = linear_activation_backward(dA, cache, activation)``; the helpers
compute, for the layer ``l`` their cache belongs to (the cache holds A_prev, W, b, Z):

- ``linear_activation_backward``: dZ = relu_backward(dA, Z) (or sigmoid/tanh_backward),
  then ``linear_backward(dZ, …)``;
- ``linear_backward``: dW = dZ A_prevᵀ / m, db = Σ dZ (axis=1, keepdims) / m,
  dA_prev = Wᵀ dZ.

Such a line is rewritten into those assignments (the snippet's own names kept for the
unpacked values' uses further down, derive's names for the quantities), so the usual
reader judges each: the gradient passed in and the activation named are what can be
wrong. The cache's layer is read only where the snippet shows it: ``caches[k]`` (Ng's
list: layer k + 1), or ``cache``/``current_cache`` beside a gradient in derive's names
(``dA2``: layer 2's), else derive's layer l; any other cache or argument the reader cannot
read keeps the refusal. Never evaluated: the line is matched and rebuilt as text.
"""

from __future__ import annotations

import re

from derive.formula.ir import FormulaError
from derive.formula.python_args import call_arguments

#: ``a, b, c = helper(args)`` on one line (the arguments split at top-level commas).
_LINE = re.compile(
    r"^(?P<at>[ \t]*)(?P<a>\w+)\s*,\s*(?P<w>\w+)\s*,\s*(?P<b>\w+)\s*=\s*"
    r"(?P<fn>linear_backward|linear_activation_backward)\s*\((?P<args>.*)\)[ \t]*(?:#.*)?$",
    re.M,
)
_CACHE = re.compile(r"^(?:current_cache|cache|linear_cache|caches\[(?P<k>[0-9])\])$")
_LINEAR_PART = re.compile(r"^(?P<c>.+?)\[0\]$")  # current_cache[0]: its linear cache
#: A gradient argument in derive's names with its layer (dA2, dZ2): the cache's layer.
_NUMBERED = re.compile(r"^d[AZ]([0-9])$")
_ACTIVATION = re.compile(
    r"""^(?:activation\s*=\s*)?(?P<q>["'])(?P<name>relu|sigmoid|tanh)(?P=q)$"""
)


def _layer(cache: str, linear: bool) -> str | None:
    """The layer suffix the cache names ("" for derive's layer l / the layer the shapes
    fit; "2" for ``caches[1]``), or None if the cache is not one Ng's code passes."""
    if linear:
        part = _LINEAR_PART.match(cache)
        if part is not None:
            cache = part.group("c")
        elif cache not in ("cache", "linear_cache"):
            return None
    m = _CACHE.match(cache)
    if m is None:
        return None
    return str(int(m.group("k")) + 1) if m.group("k") else ""


#: An unpacked name in derive's spelling of a gradient: ``dW2``, ``db``, ``dA_prev``, ``dA1``.
_GRADIENT_NAME = re.compile(r"^d(?P<kind>[AWb])(?P<layer>[0-9]+)?(?:_prev)?$")


def _check_targets(m: re.Match[str], mine: dict[str, str], fn: str) -> None:
    """Refuse a tuple whose own names say another quantity than the helper returns there:
    ``dW1, dA0, db1 = …`` (the order is dA_prev, dW, db) or ``dA0, dW2, db2 = …`` with
    layer 1's cache. Read by position, such a line would be judged as if it were right."""
    for key, ours in mine.items():
        word = m.group(key)
        named = _GRADIENT_NAME.match(word)
        if named is None:
            continue  # a name of the snippet's own (grads_W): its position says what it is
        want = _GRADIENT_NAME.match(ours)
        assert want is not None
        same_layer = not named.group("layer") or not want.group("layer")
        if named.group("kind") != want.group("kind") or not (
            same_layer or named.group("layer") == want.group("layer")
        ):
            raise FormulaError(
                f"{fn}(…) returns (dA_prev, dW, db) in this order, for its cache's layer: "
                f"{word} receives {ours}; unpack it as "
                f"{mine['a']}, {mine['w']}, {mine['b']}"
            )


def unpack_helpers(text: str, depth: int) -> tuple[str, list[str]] | None:
    """The snippet with each line unpacking Ng's helpers rewritten into the helpers'
    documented formulas, and the notes saying so; None if no line can be read so."""
    notes: list[str] = []
    lines = text.split("\n")
    changed = False
    for i, line in enumerate(lines):
        m = _LINE.match(line)
        if m is None:
            continue
        args = call_arguments(m.group("args"))
        if args is None:
            return None
        fn = m.group("fn")
        linear = fn == "linear_backward"
        if len(args) != (2 if linear else 3) or not args[0]:
            return None
        k = _layer(args[1], linear)
        if k is None:
            return None
        if k and not 1 <= int(k) <= depth:
            return None  # caches[k] past the network: the reader says no such layer
        grad = args[0]
        named = _NUMBERED.match(grad)
        where = f"layer {k}'s (Ng's caches[{int(k) - 1}])" if k else "the layer of its cache"
        if not k and named is not None:  # dA2 with current_cache: layer 2's cache
            k = named.group(1)
            where = f"layer {k}'s (the layer of {grad})"
        at = m.group("at")
        prev = str(int(k) - 1) if k else ""
        a_prev = ("X" if prev == "0" else f"A{prev}") if k else "A_prev"
        if linear:
            dz = grad
            how = f"{fn}(dZ, cache)"
        else:
            act = _ACTIVATION.match(args[2])
            if act is None:
                return None
            dz = f"{act.group('name')}_backward({grad}, Z{k})"
            how = (
                f"{fn}(dA, cache, '{act.group('name')}'): dZ = {act.group('name')}_backward(dA, Z)"
            )
        m_ = f"{a_prev}.shape[1]"  # Ng's m = A_prev.shape[1]
        out: list[str] = []
        if re.fullmatch(r"\w+", dz):
            z = dz
        elif re.search(rf"(?<![\w.])dZ{k}(?!\w)", dz):
            z = f"({dz})"  # inlined: `dZ = dZ * 2` would read as a recurrence
        else:  # the δ itself judged too (the activation named is the usual slip)
            z = f"dZ{k}"
            out.append(f"{at}dZ{k} = {dz}")
        out += [
            f"{at}dW{k} = np.dot({z}, {a_prev}.T) / {m_}",
            f"{at}db{k} = np.sum({z}, axis=1, keepdims=True) / {m_}",
        ]
        if prev != "0":  # the input's gradient is no quantity a check judges
            out.append(f"{at}dA{prev if k else '_prev'} = np.dot(W{k}.T, {z})")
        mine = {"a": f"dA{prev}" if k else "dA_prev", "w": f"dW{k}", "b": f"db{k}"}
        _check_targets(m, mine, fn)
        for key, ours in mine.items():  # the unpacked names' later uses: derive's names
            word = m.group(key)
            if word != ours:
                rest = "\n".join(lines[i + 1 :])
                rest = re.sub(rf"(?<![\w.]){re.escape(word)}(?!\w)", ours, rest)
                lines[i + 1 :] = rest.split("\n")
        lines[i] = "\n".join(out)
        changed = True
        notes.append(
            f"read {m.group('a')}, {m.group('w')}, {m.group('b')} = {how} as the helper's "
            f"documented returns at {where}: dA_prev = Wᵀ dZ, dW = dZ A_prevᵀ / m, "
            "db = Σ dZ / m (axis 1, keepdims)"
        )
    if not changed:
        return None
    return "\n".join(lines), notes
