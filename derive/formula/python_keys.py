"""Dictionary keys built from the layer: ``grads["dW" + str(l)]``, ``parameters['W' + str(l + 1)]``,
``grads[f"dA{l-1}"]`` (Ng's L-layer idiom and the code written after it): the named
quantity at that layer, ``gradients["dZ" + str(l)]`` is δ_l.

``str(l)`` is read as a layer number (``LayerNum``), a string plus it as the key's name
and layer; a dictionary of the code's own (``forward_vars``) indexed only by such keys is
read as one whose keys name its entries, as ``parameters`` is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from derive.formula.ir import Bin, FormulaError, Scalar, Sym
from derive.formula.ir import Num as NumNode
from derive.formula.layer_indices import Index, IntIndex, RelIndex, index_text
from derive.formula.python_nodes import DictRef, Str
from derive.formula.snippets import DICTS

#: Dictionaries of gradients: their keys W, b name ∂L/∂W, ∂L/∂b (grads['W1'] is dW1).
_GRADIENTS = ("grads", "gradients", "change_w")


@dataclass(frozen=True, slots=True)
class LayerNum(Str):
    """``str(l + 1)``: a layer number spelt into a key (a string: no part of a formula)."""

    TAG: ClassVar[str] = "str(layer)"
    index: Index = IntIndex(0)


def _offset(node: Any, letters: tuple[str, ...]) -> tuple[str, int] | None:
    """``l``, ``l + 1``, ``l - 1``, ``L``, ``2`` as (letter, offset); letter '' for a number."""
    match node:
        case Scalar(name) if name in letters:
            return (name if name == "L" else "l"), 0
        case NumNode(value) if value.is_Integer and 0 <= value <= 99:
            return "", int(value)
        case Bin("add" | "sub" as op, a, NumNode(value)) if value.is_Integer and abs(value) <= 9:
            inner = _offset(a, letters)
            if inner is None or not inner[0]:
                return None
            return inner[0], inner[1] + (int(value) if op == "add" else -int(value))
    return None


def layer_number(arg: Any, loop_var: str = "l") -> LayerNum:
    """``str(x)`` in a key: x a layer (l, l ± 1, L, a number)."""
    found = _offset(arg, ("l", "L", loop_var))
    if found is None:
        raise FormulaError(
            "str(…) is read only as a layer number in a dictionary key (grads['dW' + str(l)]): "
            "l, l + 1, l - 1, L or a number"
        )
    letter, offset = found
    index = RelIndex(letter, offset) if letter else IntIndex(offset)
    return LayerNum(index_text(index), index)


def layer_key(obj: Any, subs: list[Any], reading: Any, notes: list[str]) -> Any:
    """``d["dZ" + str(l)]``: the quantity the key names at its layer; None for other
    subscripts. ``reading`` reads a name (``PythonToIR.reading``)."""
    if not (isinstance(obj, DictRef) and len(subs) == 1):
        return None
    match subs[0]:
        case Bin("add", Str(value=prefix), LayerNum(index=index)):
            pass
        case _:
            return None
    node = reading(prefix)
    if not (isinstance(node, Sym) and node.index is None):
        raise FormulaError(f"the key {prefix!r} + str(…) names no quantity of a layer")
    base = node.base
    if obj.name in _GRADIENTS and base in ("W", "b"):
        base = "d" + base  # grads['W' + str(l)] is dW_l
    written = f'{obj.name}["{prefix}" + str(…)]'
    layer = index_text(index)
    shown = ("δ" if base == "delta" else base) + "_" + (layer if len(layer) == 1 else f"({layer})")
    note = f"read {written} as {shown} (the key names the layer's quantity)"
    if note not in notes:
        notes.append(note)
    return Sym(base, index, node.lower)


#: A key built from the layer: "dW" + str(l), 'A' + str(l-1).
_BUILT_KEY = r"\[\s*(?P<q>[\"'])[A-Za-z_]\w*(?P=q)\s*\+\s*str\s*\("


def _own_dict(m: re.Match[str]) -> str:
    """A dictionary of the code's own indexed only by keys built from the layer: read as
    a dictionary of named entries (``cache``)."""
    name = m.group(1)
    if name in DICTS:
        return m.group(0)
    every = re.findall(rf"(?<![\w.]){re.escape(name)}\s*\[", m.string)
    built = re.findall(rf"(?<![\w.]){re.escape(name)}\s*(?={_BUILT_KEY})", m.string)
    return "cache" if len(every) == len(built) else m.group(0)


#: Rewrites of the NumPy text (``source_text``): f-strings as the concatenation they are,
#: the code's own dictionaries of layer-built keys by what they hold.
KEY_TEXT_REWRITES: list[tuple[re.Pattern[str], Any]] = [
    (
        re.compile(r"(?<![\w.])f([\"'])([A-Za-z_]\w*)\{\s*([\w\s+-]+?)\s*\}\1"),
        lambda m: f"{m.group(1)}{m.group(2)}{m.group(1)} + str({m.group(3)})",
    ),
    (re.compile(rf"(?<![\w.])([A-Za-z_]\w*)(?=\s*{_BUILT_KEY})"), _own_dict),
]


#: ``str(l)``, ``str(l - 1)``: the layer variable spelt into a key.
_STR_L = re.compile(r"\bstr\s*\(\s*l\s*(?:([+-])\s*([0-9]))?\s*\)")


def _at_layer(text: str, k: int) -> str:
    """The snippet with its layer variable l set to ``k`` in every key."""

    def number(m: re.Match[str]) -> str:
        shift = int(m.group(2) or 0) * (-1 if m.group(1) == "-" else 1)
        return f"str({k + shift})"

    return _STR_L.sub(number, text)


#: The labels named in a snippet: only the last layer's gradient has them.
_LABELS = re.compile(r"(?<![\w.])[Yy](?![\w])")


def judge_keyed(text: str, depth: int, judge: Any) -> Any:
    """A snippet whose keys are built from the layer variable l, judged: None if it has
    none. Naming the labels Y, l is the last layer (only its gradient has them). Else the
    verdict for every layer l; but wrong so, and right at some layer (Ng's ``if l == L:``
    branch, the hidden layers' ``else:``) or, without an l + 1 that rules it out, not to be
    judged at the last layer: no verdict, the snippet does not say which layer l is.
    ``judge`` judges a text."""
    if not _STR_L.search(text) or depth > 9:
        return None
    if _LABELS.search(re.sub(r"#[^\n]*", "", text)):
        result = judge(_at_layer(text, depth))
        result.notes.append(
            f"the keys' l read as the last layer L = {depth} (the snippet names the labels "
            "Y, which only the last layer's gradient has)"
        )
        return result
    result = judge(text)
    if result.correct:
        return result
    right, unjudged = [], ""
    for k in range(1, depth + 1):
        try:
            if judge(_at_layer(text, k)).correct:
                right.append(k)
        except FormulaError as err:
            if k == depth and not re.search(r"str\s*\(\s*l\s*\+", text):
                unjudged = str(err).splitlines()[0]
    if right or unjudged:
        said = f", but with l = {', '.join(map(str, right))} it is right" if right else ""
        if unjudged:
            said += f"; at the last layer l = {depth} it is not judged ({unjudged})"
        raise FormulaError(
            f"cannot tell: with the keys' l any layer the snippet is wrong{said}; the snippet "
            "does not say which layer l is (a branch such as if l == L): check it with the "
            "layer's number, e.g. grads['dZ2']"
        )
    return result
