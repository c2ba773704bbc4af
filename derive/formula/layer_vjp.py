"""A layer's backward pass judged as the vector-Jacobian product of one step of the network.

``class Sigmoid: def backward(self, grad): return grad * self.out * (1 - self.out)``,
``def affine_backward(dout, cache): …; return dx, dw, db``, ``return np.matmul(grad,
self._W.T)``: the code is one step's backward, written in the step's own names (its input,
its output, its parameters, the gradient arriving). Which step it is comes from the class's
or function's name (Sigmoid, relu_backward, Linear, Dense, FullyConnected, affine_…),
else from the code (weights: an affine step; otherwise each activation the network has).
Each such step is written as a one-step program (``out = sigmoid(x)``, ``out = x @ W + b``
in the network's convention, ``dout`` the gradient arriving) whose derivation is the rule
table's VJP; the code, its names mapped to the program's (``layer_code`` reads them), is
judged by the program checker at its random points, i.e. as a function of the gradient
arriving and the step's input. Where several steps fit (a network with two sigmoid layers
has two sigmoid steps: one VJP) the readings must agree; where they disagree the answer
is "cannot tell", naming the class or function name that would decide.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from derive.core.staged import StagedDerivation, derive_program
from derive.formula.answer import CheckResult
from derive.formula.ir import FormulaError
from derive.formula.layer_code import LayerCode, read_layer_code
from derive.formula.layer_loss import check_loss_code
from derive.formula.layer_rewrite import STALE, STORED, snippet
from derive.formula.program_check import ProgramChecker
from derive.spec.program import loads_program

#: Words of a class's or function's name -> the kind of step.
_KINDS = {
    "softmax": "softmax",
    "sigmoid": "sigmoid",
    "logistic": "sigmoid",
    "tanh": "tanh",
    "relu": "relu",
    **dict.fromkeys(("linear", "dense", "fullyconnected", "affine", "fc"), "affine"),
}
#: Words around a step's name that leave it that step (Activation_ReLU, sigmoid_backward).
_AROUND = re.compile(
    r"^(?:activation|layer|nn)|(?:backward|bprop|backprop|forward|layer|activation|function"
    r"|gradient|grad|op)$"
)
#: Names that say nothing of the step (the code then says which it is).
_GENERIC = frozenset({"", "layer", "activation", "module", "backward", "bprop", "backprop"})


def _named(hint: str) -> str | None:
    """The kind of step a class's or function's name names (LeakyReLU, LogSoftmax,
    affine_relu_backward name none: not read); "" for a name that names no step."""
    word = re.sub(r"[^a-z0-9]", "", hint.lower())
    if word in _GENERIC:
        return ""
    while (stripped := _AROUND.sub("", word, count=1)) != word and stripped:
        word = stripped
    return _KINDS.get(word, "" if word in _GENERIC else None)


_LOSS = re.compile(r"(?i)loss|cost|entropy|mse|criterion|error")
ACTIVATIONS = ("sigmoid", "tanh", "relu", "softmax")
_SHOWN = {
    "sigmoid": "σ(z)",
    "tanh": "tanh(z)",
    "relu": "ReLU(z)",
    "softmax": "softmax(z)",
}


@dataclass(frozen=True)
class Step:
    """The network's facts a step's program needs."""

    convention: str
    batch: object
    per_sample: bool
    kinds: tuple[str, ...]
    layers: dict[str, tuple[int, ...]]


def step_of(network: Any) -> Step | None:
    """The steps a dense network has (None for a conv network: not read here)."""
    if getattr(network, "is_conv", False):
        return None
    acts = [str(getattr(getattr(x, "activation", None), "name", "")) for x in network.layers]
    layers = {k: tuple(i for i, a in enumerate(acts, 1) if a == k) for k in ACTIVATIONS}
    layers = {k: v for k, v in layers.items() if v}
    layers["affine"] = tuple(range(1, len(acts) + 1))
    per_sample = network.delta == "per_sample" and network.loss.is_mean and network.batch != 1
    return Step(network.convention, network.batch, per_sample, (*layers,), layers)


_PROGRAMS: dict[tuple[str, str, bool], StagedDerivation] = {}


def program(kind: str, convention: str, one: bool) -> StagedDerivation:
    """The one-step program of ``kind`` (its derivation: the rule table's VJP)."""
    key = (kind, convention, one)
    if key not in _PROGRAMS:
        n = 1 if one else '"N"'
        row = convention == "row"
        x = f'[{n}, "D"]' if row else f'["D", {n}]'
        if kind == "affine":
            extra = 'W = ["D", "H"]\nb = [1, "H"]' if row else 'W = ["H", "D"]\nb = ["H", 1]'
            eq = "out = x @ W + b" if row else "out = W @ x + b"
        else:
            extra = ""
            axis = f", axis={1 if row else 0}" if kind == "softmax" else ""
            eq = f"out = {kind}(x{axis})"
        text = (
            f'name = "{kind}_step"\nconvention = "{convention}"\n[inputs]\nx = {x}\n{extra}\n'
            f'[forward]\nequations = """\n{eq}\n"""\n[backward]\nupstream = "dout"\n'
        )
        _PROGRAMS[key] = derive_program(loads_program(text, source=f"<{kind} step>"))
    return _PROGRAMS[key]


def _where(kind: str, step: Step) -> str:
    layers = step.layers[kind]
    at = ", ".join(map(str, layers))
    if kind == "affine":
        form = "z = x W + b" if step.convention == "row" else "z = W x + b"
        return f"the affine step {form} (layers {at} of this network)"
    s = "s" if len(layers) > 1 else ""
    same = ": one VJP" if len(layers) > 1 else ""
    return f"the {kind} step a = {_SHOWN[kind]} (layer{s} {at} of this network{same})"


_CONTROL = re.compile(r"^\s*(?:if|elif|else|for|while|try|with)\b")
#: An activation's derivative as code writes it in its output a (or its input, ReLU's).
_WRITTEN = {
    "tanh": re.compile(r"(?<![\w.])1(?:\.0*)?\s*-\s*(?:np\.square\(|[\w.]+\s*\*\*\s*2)"),
    "sigmoid": re.compile(
        r"([\w.]+)\s*\*\s*\(\s*1(?:\.0*)?\s*-\s*\1\s*\)|\(\s*1(?:\.0*)?\s*-\s*([\w.]+)\s*\)\s*\*\s*\2"
        r"|([\w.]+)\s*-\s*np\.square\(\s*\3\s*\)"
    ),
    "relu": re.compile(r"[<>]=?\s*0(?![\w.])"),
}
#: The steps whose backward such a form may be (a(1 − a) is also softmax's diagonal).
_FITS = {"tanh": ("tanh",), "sigmoid": ("sigmoid", "softmax"), "relu": ("relu",)}


def _kinds(code: LayerCode, step: Step) -> tuple[list[str], str]:
    kind = _named(code.hint)
    if kind:
        if kind not in step.layers:
            raise FormulaError(
                f"this snippet is the backward of a {kind} step ({code.hint}), and this "
                f"network has no {kind} layer"
            )
        return [kind], f"by its name {code.hint}"
    text = "\n".join(code.body)
    stores = "|".join(k for k, v in STORED.items() if v != "dx")
    if re.search(rf"self\.(?:{stores})\s*=", text) or (
        re.search(r"self\.(?:_?W|w|weights?)\b|=\s*cache\b.*|\b(?:dW|dw)\b", text)
        and re.search(r"\b(?:W|w|_W|weights?)\b", text)
    ):
        return ["affine"], "by its weights"
    kinds = [k for k in step.kinds if k != "affine"]
    written = {k for k, form in _WRITTEN.items() if form.search(text)}
    fits = {k for w in written for k in _FITS[w]}
    if written and not fits & set(kinds):  # 1 − a²: a tanh's backward, and no tanh here
        return [], ""
    return kinds, "each activation step of this network in turn"


def _only_stale(code: LayerCode, kind: str, step: Step, scaled: bool) -> bool:
    """Whether the code is right with its updates read as coming after its gradients
    (then reading a parameter after its update is the one mistake)."""
    made = snippet(code, kind, stale=False)
    if made is None:
        return False
    source = _per_sample(made[0]) if scaled else made[0]
    try:
        return ProgramChecker(program(kind, step.convention, step.batch == 1)).check(source).correct
    except FormulaError:
        return False


#: The note of the second reading of an affine step's code on a per-sample-δ network.
PER_SAMPLE = (
    "read with the gradients arriving and leaving as the per-sample δ this network defines "
    "(N times ∂L/∂z and ∂L/∂x: the code divides its parameters' gradients by N)"
)


def _per_sample(source: str) -> str:
    """The code with its ``dout`` N times the program's and its ``dx`` N times the program's
    (per-sample δ in, per-sample δ out; its dW and db then the true gradients)."""
    source = re.sub(r"(?<![\w.])dout(?!\w)", "(N * dout)", source)
    if not re.search(r"^dx\s*[-+*/]?=", source, flags=re.M):
        return source
    return re.sub(r"(?<![\w.])dx(?!\w)", "dx_per_sample", source) + "\ndx = dx_per_sample / N"


def check_layer_code(
    text: str, network: Any, check_one: Callable[[str], CheckResult]
) -> CheckResult | None:
    """The verdict on a layer's backward code read as one step's VJP; None where the
    snippet is not such code (the caller's own error stands)."""
    if not re.search(r"\bdef\b|\bclass\b|\bself\.|\breturn\b", text):
        return None
    step = step_of(network)
    if step is None:
        return None
    loss = check_loss_code(text, network, check_one)  # SoftmaxWithLoss, MSE: the output's
    if loss is not None:
        return loss
    code = read_layer_code(text)
    if code is not None and any(_CONTROL.match(x) for x in code.body):
        return None  # if/for/while in a step's backward: not one formula
    if code is None or _LOSS.search(code.hint) or _named(code.hint) is None:
        return None  # a loss's backward not read so, a step derive has no row for
    kinds, how = _kinds(code, step)
    read: list[tuple[str, CheckResult, list[str]]] = []
    errors: list[str] = []
    scaled_results: dict[int, bool] = {}
    tries = [(k, False) for k in kinds]
    if step.per_sample and "affine" in kinds:  # the code's dout may be the per-sample δ
        tries.append(("affine", True))
    for kind, scaled in tries:
        made = snippet(code, kind)
        if made is None:
            continue
        source, notes = made
        if scaled:
            source, notes = _per_sample(source), [*notes, PER_SAMPLE]
        try:
            result = ProgramChecker(program(kind, step.convention, step.batch == 1)).check(source)
        except FormulaError as err:
            errors.append(f"as {_where(kind, step)}: {str(err).splitlines()[0]}")
            continue
        if result.shape_error and not how.startswith("by its name"):
            errors.append(f"as {_where(kind, step)}: {result.shape_error}")
            continue  # a step guessed from the code whose shapes do not fit: not that step
        read.append((kind, result, notes))
        scaled_results[id(result)] = scaled
    if len(read) == 2 and tries[-1][1] and read[0][1].verdict != read[1][1].verdict:
        raise FormulaError(
            "cannot tell what the gradient arriving is: as ∂L/∂z the code is "
            f"{read[0][1].verdict}, as the per-sample δ this network defines (N ∂L/∂z) it is "
            f"{read[1][1].verdict}; "
            "the code's own convention decides (its dW = xᵀ dout / N is right for the per-sample δ)"
        )
    if not read:
        if code.header and errors:
            raise FormulaError(f"read as a layer's backward, {errors[0]}")
        return None
    verdicts = {r.verdict for _, r, _ in read}
    if len(verdicts) > 1:
        said = "; ".join(f"as {_where(k, step)} it is {r.verdict}" for k, r, _ in read)
        raise FormulaError(
            f"cannot tell which step this backward is: {said}; name it (class Sigmoid, "
            "def relu_backward, …)"
        )
    vague = "no single usual mistake"
    read.sort(key=lambda r: vague in (r[1].diagnosis or ""))
    kind, result, notes = read[0]
    stale = [n for n in notes if n.endswith(STALE[-30:])]
    if stale and not result.correct and _only_stale(code, kind, step, scaled_results[id(result)]):
        result.diagnosis = stale[0]  # right had the gradients come before the update
        notes = [n for n in notes if n not in stale]
    steps = " and ".join(dict.fromkeys(_where(k, step) for k, _, _ in read))
    up = f"`{code.upstream}` as the gradient arriving at its output (dout)"
    result.notes[:0] = [
        f"read as a layer's backward ({how}): the vector-Jacobian product of {steps}; {up}",
        *notes,
    ]
    return result
