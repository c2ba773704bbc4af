"""A loss layer's backward as code writes it, read as the network's output gradient.

``class Loss_CategoricalCrossentropy: def backward(self, dvalues, y_true): …
self.dinputs = -y_true / dvalues / samples``, ``class SoftmaxWithLoss: def backward(self,
dout=1): …``, ``class MSE: def backward(self): return 2 * (self.pred - self.y) / n``: the
class's name says which loss (and, for a softmax or sigmoid fused with its loss, that the
value is the output layer's δ_L rather than ∂L/∂A_L); it must be the network's own loss.
The predictions (``dvalues``, ``y_pred``, ``self.output``, ``probs``) are A_L and the targets
(``y_true``, ``self.t``, ``labels``) Y, or the labels y where they index a row's entry
(``dinputs[range(samples), y_true] -= 1``); ``y`` alone is whichever of the two the
other names leave. An ``if`` that only re-encodes the targets (one-hot to labels) is a
format, not maths, and is left out. The snippet is then the network checker's, with the
value assigned to ``dZ_L`` or ``dA_L``; the answer says how it was read.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from typing import Any

from derive.formula.answer import CheckResult
from derive.formula.ir import FormulaError
from derive.formula.layer_code import read_layer_code, returned

#: A class's or function's name -> the loss it names.
_LOSSES = (
    (re.compile(r"binary|bce|logloss"), "binary_cross_entropy"),
    (re.compile(r"crossentropy|categorical|xent|nll|softmaxloss|softmaxwithloss"), "cross_entropy"),
    (re.compile(r"mse|meansquared|squarederror|l2loss|quadratic"), "squared_error"),
)
_LOSS_WORD = re.compile(r"loss|cost|entropy|mse|bce|xent|nll|criterion|squared")
#: The name of a function that returns the loss's gradient (not Nielsen's ``delta``,
#: which returns δ_L, nor ``fn``, the loss itself).
_GRADIENT = re.compile(r"(?i)backward|bprop|backprop|grad|gradient|deriv|derivative|prime")
_FUSED = {"softmax": "softmax", "sigmoid": "sigmoid", "logistic": "sigmoid"}
_PREDICTIONS = (
    "y_pred", "pred", "preds", "prediction", "predictions", "predicted", "output", "outputs",
    "out", "y_hat", "yhat", "probs", "prob", "dvalues", "activations", "a", "A",
)  # fmt: skip
_TARGETS = ("y_true", "t", "target", "targets", "label", "labels", "y_train", "T")
#: An ``if`` that only re-encodes the targets: ``if len(y_true.shape) == 2:``.
_FORMAT_IF = re.compile(r"^if\s+(?:len\(\s*[\w.]+\.shape\s*\)|[\w.]+\.(?:ndim|size)(?!\w)).*:$")


#: np.clip(p, 1e-7, 1 - 1e-7): a guard that leaves a probability away from 0 and 1 as it is.
_CLIP = re.compile(
    r"(?:np|numpy)\.clip\(\s*(A\d+)\s*,\s*(1e-\d+|0\.0*1)\s*,\s*1(?:\.0*)?\s*-\s*\2\s*\)"
)


def _loss_of(hint: str) -> tuple[str, str | None] | None:
    """(the loss, the activation fused with it or None) a name names; None if not a loss."""
    word = re.sub(r"[^a-z0-9]", "", hint.lower())
    if not _LOSS_WORD.search(word):
        return None
    for pattern, loss in _LOSSES:
        if pattern.search(word):
            fused = next((act for w, act in _FUSED.items() if w in word), None)
            return loss, fused
    return None


def _word(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w.])(?:self\.)?{re.escape(name)}(?!\w)")


def _without_formats(body: list[str]) -> tuple[list[str], list[str]]:
    """The body without its target re-encoding ``if`` blocks, and what was left out."""
    out: list[str] = []
    left: list[str] = []
    i = 0
    while i < len(body):
        line = body[i]
        if _FORMAT_IF.match(line.strip()) and not line[:1].isspace():
            j = i + 1
            while j < len(body) and body[j][:1].isspace():
                j += 1
            inner = textwrap.dedent("\n".join(body[i + 1 : j])).split("\n")
            if all(re.match(r"^[\w.]+\s*=\s*np\.(?:argmax|eye)\b", x) for x in inner):
                left.append(line.strip())
                i = j
                continue
        out.append(line)
        i += 1
    return out, left


def check_loss_code(
    text: str, network: Any, check_one: Callable[[str], CheckResult]
) -> CheckResult | None:
    """The verdict on a loss layer's backward, read as the network's output gradient; None
    where the snippet is not one (the caller's error stands)."""
    code = read_layer_code(text, need_upstream=False)
    named = _loss_of(code.hint) if code is not None else None
    if code is None or named is None or not _GRADIENT.search(code.function):
        return None
    loss, fused = named
    last = network.layers[-1]
    activation = str(getattr(getattr(last, "activation", None), "name", ""))
    if loss != network.loss.name or (fused is not None and fused != activation):
        what = f"{fused} with {loss}" if fused else loss
        raise FormulaError(
            f"this snippet is the backward of a {what} loss layer ({code.hint}), and this "
            f"network's output is {activation} with {network.loss.name}"
        )
    body, left = _without_formats(code.body)
    source = "\n".join(body) + "\n"
    params = [*([code.upstream] if code.upstream else []), *code.inputs]
    if params and params[0] in ("dout", "grad") and not _word(params[0]).search(source):
        params = params[1:]  # SoftmaxWithLoss.backward(self, dout=1): ∂L/∂L, unused
    given = [p for p in params if p in _PREDICTIONS or p in _TARGETS or p == "y"]
    if len(given) != len(params):
        return None  # a parameter neither the predictions nor the targets
    local = {x.split("=")[0].strip() for x in body if re.match(r"^\w+\s*=(?!=)", x)}
    local -= set(given)  # samples = len(dvalues), labels = len(dvalues[0]): sizes, not data
    found = [
        p for p in (*given, *_PREDICTIONS, *_TARGETS) if p not in local and _word(p).search(source)
    ]
    preds = [p for p in found if p in _PREDICTIONS and p != "y"]
    targets = [t for t in found if t in _TARGETS]
    if _word("y").search(source):
        if preds and not targets:
            targets.append("y")
        elif targets and not preds:
            preds.append("y")
        else:
            return None  # y beside both: which one it is, the code does not say
    preds = list(dict.fromkeys(p for p in preds if p not in ("dout", "self")))
    targets = list(dict.fromkeys(targets))
    if len(preds) != 1 or len(targets) != 1:
        return None
    depth = network.depth
    quantity = f"dZ{depth}" if fused else f"dA{depth}"
    source = re.sub(r"(?<![\w.])len\(\s*([\w.]+)\[0\]\s*\)", r"\1.shape[1]", source)
    source = re.sub(r"(?<![\w.])len\(\s*([\w.]+)\s*\)", r"\1.shape[0]", source)
    source = re.sub(  # the labels where they pick a row's entry, else the one-hot targets
        rf"(\[\s*(?:range|np\.arange)\([^()\]]*\)\s*,\s*)(?:self\.)?{re.escape(targets[0])}(?=\s*\])",
        r"\1y",
        source,
    )
    source = _word(targets[0]).sub("Y", source)
    source = _word(preds[0]).sub(f"A{depth}", source)
    for attr in ("dinputs", "grad_x", "dX", "dx", "grad_input", "input_gradient"):
        source = _word(attr).sub(quantity, source)
    source, guards = _CLIP.subn(r"\1", source)
    lines = [x for x in source.split("\n") if x.strip()]
    handed = returned(lines)
    if handed is not None:
        at, values = handed
        if len(values) != 1:
            return None
        lines[at] = f"{quantity} = {values[0]}"
    try:
        result = check_one("\n".join(lines))
    except FormulaError as err:
        why = re.sub(r" at column \d+$", "", str(err).splitlines()[0])  # the rewritten text's
        if why.startswith("cannot tell"):
            raise
        raise FormulaError(f"read as a loss layer's backward ({code.hint}): {why}") from None
    how = "δ_L = ∂L/∂Z_L (the loss fused with its " + fused + ")" if fused else "∂L/∂A_L"
    note = (
        f"read as a loss layer's backward (by its name {code.hint}): `{preds[0]}` as A_{depth} "
        f"(the predictions), `{targets[0]}` as the targets (Y, or the labels y where they "
        f"index a row), the value as {how}"
    )
    result.notes[:0] = [note, *(f"left out `{x}` (it only re-encodes the targets)" for x in left)]
    if guards:
        result.notes.insert(1, "np.clip(p, ε, 1 − ε) read as p (a guard against log 0 and 1/0)")
    return result
