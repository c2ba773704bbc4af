"""NumPy code as people write it: several statements -> the one formula they compute.

Real backprop code spreads a formula over lines (``dscores = probs.copy()`` /
``dscores[range(N), y] -= 1`` / ``dscores /= N``), updates arrays in place, keeps layers in
lists (``zs[-2]``, ``self.weights[-l+1]``) and names things its own way (``scores``,
``hidden_layer``, ``A_prev``). This module holds those readings; ``python_ir`` applies them.

The rules (documented in docs/formulas.md and tested in
tests/test_checker_numpy_reading.py):

- the formula read is the target of the **last** assignment; earlier lines define names
  that later lines use, and each use is replaced by what the name holds at that point
  (``snippet_check`` reads the snippet up to each quantity's last assignment, so that
  every quantity a snippet assigns is checked);
- an in-place update ``x op= e`` is ``x = x op e``; ``x[mask] = 0`` keeps ``x`` where the
  mask is false (``dhidden[hidden_layer <= 0] = 0`` is ``dhidden ⊙ (hidden_layer > 0)``,
  the ReLU gate, and turns a gradient on an activation into the delta of that layer);
  ``x[range(N), y] -= 1`` subtracts the one-hot labels (samples on rows: the row
  convention; ``x[y, range(m)]`` has them on columns);
- per-layer lists as Nielsen's network.py keeps them: ``zs[-1]`` is ``Z_L``,
  ``activations[-2]`` is ``A_(L-1)``, ``self.weights[-l+1]`` with the loop's ``l`` is
  ``W_(k+1)`` where ``k = L - l + 1`` is the layer the loop is at (so the formula is
  checked as derive's generic layer ``l``);
- names without a layer number (``delta``, ``dZ``, ``W``, ``A_prev``) are layer ``l``'s in a
  formula that names no fixed layer (``A_prev`` is ``A_(l-1)``; ``delta`` on the right of
  ``delta = …`` is the previous step's, ``δ_(l+1)``), layer 1's in a one-layer network;
- common names with one reading are read so, and said in a note: ``scores``/``logits`` are
  ``Z_L``, ``probs`` is ``A_L``, ``dscores`` is ``δ_L``, ``hidden_layer``/``hidden`` are
  ``A_1`` of a two-layer network, ``N``/``num_examples``/``batch_size`` the batch; other
  names are tried in their common readings (``guesses``: ``dhidden`` is ∂L/∂A_1 or, once
  gated, δ_1) or need a declaration (``--symbol dout=dZ_2``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from derive.formula.ir import IR, Bin, Cmp, FormulaError, Gt0, Neg, Num, Scalar, Sym
from derive.formula.ir_walk import map_children, nodes
from derive.formula.layer_indices import Index, IntIndex, RelIndex
from derive.formula.name_rewrites import UNNUMBERED
from derive.formula.python_nodes import Local, UnknownName

#: Per-layer lists: name -> (the symbol's base, the layer of the list's first element).
LISTS: dict[str, tuple[str, int]] = {
    "zs": ("Z", 1),
    "activations": ("A", 0),
    "weights": ("W", 1),
    "biases": ("b", 1),
    "nabla_w": ("dW", 1),
    "nabla_b": ("db", 1),
    "delta_nabla_w": ("dW", 1),
    "delta_nabla_b": ("db", 1),
    "deltas": ("delta", 1),
}

#: Containers whose string keys are the names of their entries (``params['W1']``).
DICTS = frozenset(
    {"params", "parameters", "grads", "gradients", "cache", "linear_cache", "model", "change_w"}
)

#: Names of the batch size.
BATCH_NAMES = frozenset(
    {"N", "num_examples", "num_train", "batch_size", "n_samples", "m", "num_samples", "n_examples"}
    | {"batch_num"}
)

#: The symbols a name reads as when it has no layer number (filled in by ``number_layers``).
LAYERED = frozenset({"W", "b", "Z", "A", "delta", "dW", "db", "dA", "K", "dK"})


#: ``NAME_curr``/``NAME_prev``: a layered name at layer l or l-1 (``dW_curr``, ``A_prev``).
_STEP = re.compile(r"(W|b|Z|A|dW|db|dZ|dA)_(curr|prev)")
_STEP_WORDS = {
    "W": "W",
    "b": "b",
    "Z": "Z",
    "A": "A",
    "dW": "∂L/∂W",
    "db": "∂L/∂b",
    "dZ": "δ",
    "dA": "∂L/∂A",
}


def sym(base: str, idx: Index | None) -> IR:
    """A plain symbol node of the IR."""
    return Sym(base, idx, False)


def common_name(word: str, depth: int) -> tuple[IR, str] | None:
    """A real variable name with one common reading: (its IR, the reading in words)."""
    last = RelIndex("L", 0)
    table: dict[str, tuple[IR, str]] = {
        "scores": (sym("Z", last), "scores as Z_L (the last layer's pre-activation)"),
        "logits": (sym("Z", last), "logits as Z_L (the last layer's pre-activation)"),
        "probs": (sym("A", last), "probs as A_L (the network's output)"),
        "probabilities": (sym("A", last), "probabilities as A_L (the network's output)"),
        "y_hat": (sym("A", last), "y_hat as A_L (the network's output)"),
        "yhat": (sym("A", last), "yhat as A_L (the network's output)"),
        "Y_hat": (sym("A", last), "Y_hat as A_L (the network's output)"),
        "Yhat": (sym("A", last), "Yhat as A_L (the network's output)"),
        "yHat": (sym("A", last), "yHat as A_L (the network's output)"),  # Welch's
        "Y_pred": (sym("A", last), "Y_pred as A_L (the network's output)"),
        "y_pred": (sym("A", last), "y_pred as A_L (the network's output)"),
        "dscores": (sym("delta", last), "dscores as δ_L (the gradient on the scores Z_L)"),
        "dlogits": (sym("delta", last), "dlogits as δ_L (the gradient on the logits Z_L)"),
        "dprobs": (sym("dA", last), "dprobs as ∂L/∂A_L"),
        "labels": (sym("Y", None), "labels as Y"),
        "A_prev": (sym("A", RelIndex("l", -1)), "A_prev as A_(l-1), the input of layer l"),
        "dA_prev": (sym("dA", RelIndex("l", -1)), "dA_prev as ∂L/∂A_(l-1)"),
        "activation_cache": (sym("Z", None), "activation_cache as Z_l (Ng's cache holds Z)"),
    }
    if word in BATCH_NAMES:
        return Scalar("m"), f"{word} as the batch size"
    step = _STEP.fullmatch(word)
    if step and word not in (
        "A_prev",
        "dA_prev",
    ):  # dW_curr, W_prev (SkalskiP's numpy deep learning): layer l and l-1
        base, when = step.group(1), step.group(2)
        idx = RelIndex("l", 0 if when == "curr" else -1)
        return sym("delta" if base == "dZ" else base, idx), (
            f"{word} as {_STEP_WORDS[base]}_{'l' if when == 'curr' else '(l-1)'} "
            "(_curr as layer l, _prev as layer l-1)"
        )
    if word in ("hidden_layer", "hidden"):
        if depth != 2:
            raise FormulaError(
                f"{word}: which hidden layer? this network has {depth} layers; declare it, "
                f"e.g. --symbol {word}=A_1"
            )
        return sym("A", IntIndex(1)), f"{word} as A_1 (the hidden layer's activation)"
    return table.get(word)


def list_layer(base: str, first: int, index: Any, loop_var: str) -> Index:
    """The layer index of ``lst[index]``: ``[-1]`` is the last layer, ``[-l+c]`` layer l+c."""
    coeff, const = _linear(index, loop_var)
    if coeff == 0 and const >= 0:
        return IntIndex(const + first)
    if coeff == 0:  # from the end: a list of L layers (or L+1 activations from A_0)
        return RelIndex("L", const + 1)
    if coeff == -1:  # [-l + c]: the loop walks back from the end; derive's l is L - l + 1
        return RelIndex("l", const)
    raise FormulaError(
        f"{base}[…]: a per-layer list is indexed by a number or -{loop_var} + a number"
    )


def _linear(node: Any, var: str) -> tuple[int, int]:
    """``-l + 1`` as (-1, 1): an index that is a number plus or minus the loop variable."""
    match node:
        case Num(value) if value.is_Integer:
            return 0, int(value)
        case Scalar(name) if name == var:
            return 1, 0
        case Neg(a):
            coeff, const = _linear(a, var)
            return -coeff, -const
        case Bin("add" | "sub" as op, a, b):
            a1, c1 = _linear(a, var)
            a2, c2 = _linear(b, var)
            sign = 1 if op == "add" else -1
            return a1 + sign * a2, c1 + sign * c2
    raise FormulaError(f"a list index must be a number or {var} plus or minus a number")


def _is_unnumbered(n: Any) -> bool:
    return isinstance(n, Sym) and n.base in LAYERED and n.index is None


def _renumber(node: Any, idx: Index) -> Any:
    if _is_unnumbered(node):
        return Sym(node.base, idx, node.lower)
    return map_children(node, lambda c: _renumber(c, idx))


#: The reading of names without a layer number in a formula that names the labels.
LABELS_LAST = (
    "the names without a layer number as the last layer's (the formula names the labels Y, "
    "which only the last layer's gradient has)"
)


def number_layers(parts: list[Any], depth: int, generic: bool) -> tuple[list[Any], str | None]:
    """Names without a layer number given layer l (or 1 in a one-layer network)."""
    found = [n for p in parts for _, n in nodes(p) if _is_unnumbered(n)]
    if not found:
        return parts, None
    vectors = [n for n in found if n.base in ("W", "dW") and n.lower]
    if vectors and depth == 1:  # Ng's logistic regression: w is W_1 or its column W_1ᵀ
        word = "dw" if any(n.base == "dW" for n in vectors) else "w"
        raise UnknownName(  # both tried by ``guesses``: the shapes tell (n_x × 1 or 1 × n_x)
            "a lower-case w without a layer number is often a weight vector (Wᵀ): declare "
            "it, e.g. --symbol w=W_1^T, or write W1",
            word,
        )
    if vectors:  # Ng's logistic regression: w is the column n_x × 1, derive's W_1 transposed
        raise FormulaError(
            "a lower-case w without a layer number is often a weight vector (Wᵀ): declare "
            "it, e.g. --symbol w=W_1^T, or write W1"
        )
    fixed = [
        n
        for p in parts
        for _, n in nodes(p)
        if isinstance(n, Sym)
        and (
            (
                n.base in LAYERED
                and n.index is not None
                and not (isinstance(n.index, RelIndex) and n.index.letter == "l")
            )
            or n.base == "X"
        )
    ]
    if depth == 1:
        return [
            _renumber(p, IntIndex(1)) for p in parts
        ], "the names without a layer number as layer 1's"
    if fixed and not generic:  # the checker tries it at each layer (``name_readings``)
        raise UnknownName(
            f"{found[0].base} has no layer number, and the formula names a fixed layer: write "
            f"the layer ({found[0].base}1) or declare the name (--symbol NAME=QUANTITY)",
            UNNUMBERED,  # tried at each layer by ``guesses``
        )
    if any(isinstance(n, Sym) and n.base == "Y" for p in parts for _, n in nodes(p)):
        return [_renumber(p, RelIndex("L", 0)) for p in parts], LABELS_LAST  # dZ = A - Y
    words = "the names without a layer number as layer l's (checked for every layer l)"
    return [_renumber(p, RelIndex("l", 0)) for p in parts], words


def flip(cond: Any) -> IR:
    """The mask where ``cond`` is false: ``x <= 0`` -> ``x > 0`` (ReLU's step)."""
    if isinstance(cond, Gt0):
        return Cmp(cond.a, "<=", 0)
    other = {"<=": ">", "<": ">=", ">": "<=", ">=": "<"}[cond.op]
    if other == ">" and cond.c == 0:
        return Gt0(cond.a)
    return Cmp(cond.a, other, cond.c)


def substitute(node: Any, env: dict[str, Any], outside: Callable[[str], Any]) -> Any:
    """Every ``Local(name)`` replaced by what the name holds (``outside(name)`` if the
    snippet has not assigned it yet)."""
    if isinstance(node, Local):
        return env[node.name] if node.name in env else outside(node.name)
    return map_children(node, lambda c: substitute(c, env, outside))


def pin_to_output(parts: list[Any]) -> tuple[list[Any], str | None]:
    """A target named relative to the generic layer (``dA_prev``, ``delta``) whose value
    names the last layer and no generic one (SkalskiP's ``dA_prev = -(Y/Y_hat - …)``
    before the loop) is the last layer's: nothing else can be computed from A_L and Y."""
    if len(parts) != 2 or not isinstance(parts[0], Sym):
        return parts, None
    lhs = parts[0]
    if not (isinstance(lhs.index, RelIndex) and lhs.index.letter == "l"):
        return parts, None
    layers = {n.index for _, n in nodes(parts[1]) if isinstance(n, Sym) and n.index is not None}
    if layers != {RelIndex("L", 0)}:
        return parts, None
    pinned = Sym(lhs.base, RelIndex("L", 0), lhs.lower)
    return [pinned, parts[1]], (
        "the target as the last layer's: it names no fixed layer, and its value only the "
        "last layer's quantities"
    )
