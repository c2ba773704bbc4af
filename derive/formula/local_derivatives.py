"""Names that spell a derivative of one quantity by another: ``d_a_h__d_z_h``, ``dAdZ``.

Raschka's NeuralNetMLP (Machine Learning with PyTorch and Scikit-Learn, ch. 11) names
every factor of the chain rule ``d_X__d_Y``: ∂X/∂Y. Such a name is the loss's gradient
only when X is the loss (``d_loss__d_w_h``, ``dLdA``); otherwise it is a local
derivative (``d_a_h__d_z_h`` = ∂a_h/∂z_h = f'(Z_1), ``d_z_out__a_h`` = ∂z/∂a = W), never
a gradient of the loss. The one local derivative with a matrix meaning the checker reads
is an activation's by its pre-activation, f'(Z); any other is refused with the name to
declare. ``name_readings`` asks this before the spelling's usual readings (``guesses``).
"""

from __future__ import annotations

import re

from derive.formula.guesses import _layers as layers_spelled
from derive.formula.guesses import tokens
from derive.formula.ir import FormulaError
from derive.formula.name_rewrites import Reading

#: The loss's names: ∂(loss)/∂Y is a gradient, read as usual.
LOSS = frozenset({"l", "loss", "j", "c", "e", "cost", "err", "error"})
#: An activation's names, and a pre-activation's (∂a/∂z = f'(Z)).
ACTIVATED = frozenset({"a", "h", "act", "activation", "activations", "out", "output", "o"})
PRE = frozenset({"z", "net", "logit", "logits", "pre", "preact", "s"})
#: Words that only name the layer (``h`` hidden, ``out`` last, a number).
LAYER_WORDS = frozenset({"h", "hidden", "hid", "o", "out", "output", "last", "final"})


def parts_of(name: str) -> tuple[list[str], list[str]] | None:
    """The words of X and Y in a name spelled ``d_X__d_Y``, ``d_X__Y``, ``dXdY`` or
    ``d_X_d_Y``; None if it does not spell two parts."""
    if "__" in name:
        left, right = name.split("__", 1)
        top, bottom = tokens(left), tokens(right)
        if len(top) < 2 or top[0] != "d" or not bottom:
            return None
        return top[1:], bottom[1:] if bottom[0] == "d" and len(bottom) > 1 else bottom
    camel = re.fullmatch(r"d([A-Z][a-z0-9_]*)d([A-Z]\w*)", name)  # dAdZ, dLdW
    if camel:
        return tokens(camel.group(1)), tokens(camel.group(2))
    toks = tokens(name)
    if len(toks) < 4 or toks[0] != "d" or "d" not in toks[2:]:
        return None
    at = toks.index("d", 2)
    if at == len(toks) - 1:
        return None
    return toks[1:at], toks[at + 1 :]


def letters_fixed(formula: str) -> bool:
    """Whether a name of ``formula`` spells ∂a/∂z (``d_a_h__d_z_h``): then its letters
    say which is the activation and which the pre-activation."""
    spelled = (parts_of(word) for word in set(re.findall(r"[A-Za-z_]\w*", formula)))
    return any(
        f is not None and f[0] and f[1] and f[0][0] in ACTIVATED and f[1][0] in PRE for f in spelled
    )


def local_derivative(name: str, depth: int, formula: str = "") -> tuple[str, list[Reading]] | None:
    """The readings of a name spelling ∂X/∂Y for X not the loss: ∂a/∂z as f'(Z) at the
    layers its spelling allows; a FormulaError for any other; None if the name spells no
    such derivative. The loss's gradient by a or z is read by those letters only where
    the formula fixes them (a name spelling ∂a/∂z beside it); elsewhere its usual
    readings apply (a is the pre-activation in some books' letters: the shapes decide)."""
    found = parts_of(name)
    if found is None:
        return None
    top, bottom = found
    if not top or not bottom:
        return None
    # the layer the rest of the spelling names: ``h`` hidden, ``out`` the last
    rest = [t for t in top[1:] + bottom[1:] if t in LAYER_WORDS or t.isdigit()]
    if top[0] in LOSS:  # the loss's gradient: by an activation ∂L/∂A, by z δ
        if len(top) > 1 or bottom[0] not in ACTIVATED | PRE or not letters_fixed(formula):
            return None  # by the weights, the biases: the usual readings
        if bottom[0] in PRE:
            return "a gradient at a pre-activation (∂L/∂z)", [
                Reading(f"dZ{k}", f"δ_{k}") for k in layers_spelled(rest, depth, "Z")
            ]
        return "a gradient at an activation (∂L/∂a)", [
            Reading(f"dA{k}", f"∂L/∂A_{k}") for k in layers_spelled(rest, depth, "Z")
        ]
    if top[0] in ACTIVATED and bottom[0] in PRE:
        # each side's own layer (∂a_out/∂z_h is a product of the chain rule, not f'(Z))
        above, below = ([t for t in part[1:] if t in LAYER_WORDS or t.isdigit()] for part in found)
        if (
            above
            and below
            and layers_spelled(above, depth, "Z") != layers_spelled(below, depth, "Z")
        ):
            raise FormulaError(
                f"cannot tell what `{name}` is: its spelling is the derivative of "
                f"{'_'.join(top)} by {'_'.join(bottom)}, an activation by the pre-activation "
                "of another layer (a product of the chain rule's factors, not f'(Z)); write "
                f"what it computes or declare it (--symbol {name}=QUANTITY)"
            )
        return "an activation's derivative by its pre-activation (∂a/∂z)", [
            Reading(f"f_prime(Z{k})", f"f'(Z_{k}) (∂a/∂z)")
            for k in layers_spelled(rest, depth, "Z")
        ]
    raise FormulaError(
        f"cannot tell what `{name}` is: its spelling is the derivative of "
        f"{'_'.join(top)} by {'_'.join(bottom)}, a local derivative of the chain rule, not "
        f"the loss's gradient; write what it computes or declare it (--symbol {name}="
        "QUANTITY, e.g. W_2 for ∂z/∂a)"
    )
