"""Layers named by a letter rather than a number: ``o`` for the output layer and ``h`` for
the hidden one (``\\delta^o``, ``W^o``, ``A^h``), as many notes and READMEs write a network
with one hidden layer. A reading, not the literal text: the answer says which layer each
letter was taken for, and ``h`` in a network with several hidden layers is refused. So is
the one layer of a network that has one (the unit letters of notes without layer numbers
are ``latex_units``')."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from derive.formula.ir import FormulaError, Partial, Sym, T
from derive.formula.ir_walk import map_children, nodes
from derive.formula.layer_indices import Index, IntIndex, RelIndex
from derive.formula.numbers import _index


@dataclass(frozen=True)
class Alternative:
    """Another reading of the whole formula that may change its verdict: taken (with
    ``note``) where the shapes rule out the literal one and fit it, else a verdict that
    differs between the two is refused with ``refusal``."""

    parts: list[Any]
    note: str
    refusal: str
    kind: str = ""  # "otimes": ⊗ as the outer product (``latex_ir.LatexToIR``)
    row_parts: list[Any] | None = None  # that reading for row vectors (aᵀ b)
    also: Alternative | None = None  # a second reading, checked the same way


@dataclass(frozen=True, slots=True)
class Letter:
    """An entry or sample index (``i``, ``j``) where a layer index may stand."""

    c: str


def layer_or_letter(text: str) -> Index | Letter:
    """A layer index (2, l, l+1, L), or an entry or sample index (i, j, k)."""
    t = text.strip()
    if re.fullmatch(r"[A-Za-z]", t) and t not in "lL":
        return Letter(t)
    return _index(t)


#: The letters read as layer names, and what they name.
LAYER_LETTERS = {"o": "the output layer", "h": "the hidden layer"}


def named_layer(letter: str, depth: int, notes: list[str]) -> Index | None:
    """The layer ``o`` or ``h`` names in a network of ``depth`` layers (None for any other
    letter); the reading is added to ``notes`` once."""
    letter = letter.strip()
    if letter not in LAYER_LETTERS:
        return None
    if letter == "o":
        idx: Index = RelIndex("L", 0)
        layer = depth
    else:
        if depth != 2:
            hidden = max(depth - 1, 0)
            raise FormulaError(
                f"'h' as the hidden layer: this network has {hidden} hidden layers; write the "
                "layer's number"
            )
        idx, layer = IntIndex(1), 1
    note = f"'{letter}' read as {LAYER_LETTERS[letter]} (layer {layer})"
    if note not in notes:
        notes.append(note)
    return idx


def _capital_to_generic(node: Any) -> Any:
    if isinstance(node, Sym) and isinstance(node.index, RelIndex) and node.index.letter == "L":
        return Sym(node.base, RelIndex("l", node.index.offset), node.lower)
    return map_children(node, _capital_to_generic)


def _writes_past_output(node: Any) -> bool:
    return any(
        isinstance(n, Sym)
        and isinstance(n.index, RelIndex)
        and n.index.letter == "L"
        and n.index.offset > 0
        for _, n in nodes(node)
    )


def capital_as_generic(parts: list[Any], notes: list[str], has_output: bool) -> list[Any]:
    """``δ^L = W^{L+1} δ^{L+1} ⊙ σ'(Z^L)``: a layer past the output (``L+1``) means the
    formula's ``L`` is any layer, the generic ``l`` (a reading, said in ``notes``). Not
    where ŷ (the output itself) is written, which needs ``L`` as the last layer."""
    if has_output or not any(_writes_past_output(p) for p in parts):
        return parts
    notes.append("L read as any layer (the generic l), since the formula writes layer L+1")
    return [_capital_to_generic(p) for p in parts]


#: Symbols that name one layer's quantity and may be written without their layer where
#: the network has one layer (logistic regression: b, z, a); a weight has two readings,
#: since notes write w as a column, the transpose of W_1 (``one_layer_weight``).
_ONE_LAYER = ("b", "Z", "A", "delta", "db", "dA")


def _first_layer(node: Any) -> Any:
    if isinstance(node, Sym) and node.index is None and node.base in _ONE_LAYER:
        return Sym(node.base, IntIndex(1), node.lower)
    return map_children(node, _first_layer)


def _weight_of_layer_1(node: Any, transposed: bool) -> Any:
    if isinstance(node, Sym) and node.index is None and node.base == "W" and node.lower:
        w = Sym("W", IntIndex(1), True)
        return T(w) if transposed else w
    return map_children(node, lambda c: _weight_of_layer_1(c, transposed))


def one_layer_weight(
    parts: list[Any], notes: list[str], depth: int
) -> tuple[list[Any], Alternative | None]:
    """``∂J/∂w = (1/m) X (A − Y)ᵀ`` in a network of one layer (logistic regression): w is
    its weight, as written (W_1) or, as Ng and most notes write it, a column (wᵀ = W_1,
    A = σ(wᵀX + b)); the shapes tell which (``Alternative``)."""
    lhs: Any = parts[0].sym if isinstance(parts[0], Partial) else parts[0]
    unnumbered = [
        n
        for p in parts
        for _, n in nodes(p)
        if isinstance(n, Sym) and n.index is None and n.base in ("W", "dW") and n.lower
    ]
    if depth != 1 or not unnumbered:
        return parts, None
    gradient = (
        isinstance(lhs, Sym)
        and lhs.index is None
        and lhs.lower
        and (lhs.base == "dW" or (lhs.base == "W" and parts[0] is not lhs))
    )
    if not gradient and any(n.base == "dW" for n in unnumbered):
        return parts, None
    head = parts[0]
    if gradient:
        numbered = Sym(lhs.base, IntIndex(1), True)
        head = Partial(numbered, parts[0].loss) if isinstance(parts[0], Partial) else numbered
    plain = [head, *(_weight_of_layer_1(p, False) for p in parts[1:])]
    column = [_weight_of_layer_1(p, True) for p in parts[1:]]
    notes.append("this network has one layer: w without a layer read as its weights")
    alternative = Alternative(
        [head, *(T(p) if gradient else p for p in column)],
        "w read as a column, the transpose of W_1 (A = σ(wᵀX + b)), since W_1's shape does "
        "not fit: checked as "
        + ("∂L/∂W_1 = (right-hand side)ᵀ" if gradient else "W_1ᵀ wherever w is written"),
        "cannot tell whether w is W_1 or its transpose (a column, A = σ(wᵀX + b)): the "
        "verdicts differ; write W_1",
    )
    return plain, alternative


#: A parameter and its gradient, updated without a layer (``W ← W − α dW``).
_PARAMETERS = ("W", "b", "dW", "db")


def _parameter_of_layer_1(node: Any) -> Any:
    parameter = isinstance(node, Sym) and node.index is None and node.base in _PARAMETERS
    if parameter and not (node.base in ("W", "dW") and node.lower):  # w: W_1ᵀ, a column
        return Sym(node.base, IntIndex(1), node.lower)
    return map_children(node, _parameter_of_layer_1)


def one_layer_update(parts: list[Any], notes: list[str], depth: int) -> list[Any]:
    """``W ← W − α G`` in a network of one layer: W and b without a layer are its own."""
    if depth != 1:
        return parts
    out = [_parameter_of_layer_1(p) for p in parts]
    if out != parts:
        notes.append("this network has one layer: W, b without a layer read as layer 1's")
    return out


def one_layer(parts: list[Any], notes: list[str], depth: int) -> list[Any]:
    """``∂J/∂b = (1/m) Σ_i (a^{(i)} − y^{(i)})`` in a network of one layer: the symbols
    written without a layer are that layer's (a reading, said in ``notes``)."""
    if depth != 1:
        return parts
    out = [_first_layer(p) for p in parts]
    if out != parts:
        notes.append("this network has one layer: b, z, a, δ without a layer read as layer 1's")
    return out
