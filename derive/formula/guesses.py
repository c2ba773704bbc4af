"""The common readings of a NumPy name the checker does not know (``error``, ``dout``,
``hidden_outputs``, ``dLdTheta``), read off its spelling.

Real code names its arrays by role, not by derive's symbols. A name's spelling says what
kind of quantity it usually is (a delta, a gradient on the weights, an activation, the
targets) and often which layer (``out``, ``hidden``, a number); where it does not, every
layer is a candidate. ``Checker.check`` tries each candidate against the network (a
reading whose shapes do not fit is not one the author meant) and answers only when the
readings that fit agree, naming the reading it used; see ``guessed_check``. A reading is
put into the code by ``name_rewrites``.
"""

from __future__ import annotations

import re

from derive.formula.name_rewrites import UNNUMBERED, Reading
from derive.formula.returns import PLACEHOLDERS, is_placeholder

#: Whole names that are the cotangent arriving at a layer's output (``dout``, CS231n's
#: layer API; ``top_diff``, Caffe's): dL/dZ of an affine layer, dL/dA of an activation.
UPSTREAM = frozenset(
    {
        "dout",
        "grad_out",
        "grad_output",
        "output_grad",
        "top_diff",
        "next_dz",
        "grad",
        "upstream",
        "upstream_grad",
        "dupstream",
        "gradient",
        "dy",  # the gradient arriving at the output (Saito, CS231n layer notes)
    }
)
#: Names of the weight-decay strength; derive's loss adds λ/(2m) Σ‖W‖².
REGULARIZATION = frozenset(
    {"reg", "reg_strength", "reg_lambda", "reg_coeff", "regularization", "weight_decay", "l2_reg"}
    | {"reg_param", "lambda_reg", "l2_lambda", "reg_rate"}
)
_GRAD = frozenset({"d", "grad", "grads", "gradient", "delta", "deltas", "nabla", "dl", "dj"})
_WEIGHT = frozenset({"w", "weight", "weights", "theta"})
_BIAS = frozenset({"b", "bias", "biases"})
_DELTA = frozenset({"delta", "deltas", "del", "sigma"})
_ERROR = frozenset({"error", "errors", "err"})
_ACTIVATION = frozenset(
    {"hidden", "output", "outputs", "out", "prediction", "predictions", "pred", "activation"}
    | {"probas", "proba"}
)
_TARGET = frozenset(
    {"target", "targets", "label", "labels", "keys", "expected", "desired", "train", "training"}
)
_INPUT = frozenset({"input", "inputs", "features"})
_LAST = frozenset(
    {"o", "out", "output", "outputs", "final", "last", "top", "prediction", "pred", "probas"}
)
_HIDDEN = frozenset({"h", "hidden", "hid"})


#: Ng's Machine Learning course names its deltas d (d3 = a3 - y, d2 = Theta2' * d3 .*
#: sigmoidGradient(z2)); its other gradients are spelled out (dW, dZ, dA), so a bare d or
#: d with a layer number is read as a delta only.
_NG_D = re.compile(r"d[0-9]?")

#: Short names with one common reading: (kind, text, words, layer: L or hidden).
SHORT = {
    "o": ("an activation", "A", "A", "L"),
    "ao": ("an activation", "A", "A", "L"),
    "ah": ("an activation", "A", "A", "hidden"),
    "sp": ("f'(Z) (Nielsen's sp = sigmoid_prime(z))", "f_prime(Z", "f'(Z", "l"),
    "who": ("a weight matrix", "W", "W", "L"),
    "wo": ("a weight matrix", "W", "W", "L"),
    "wih": ("a weight matrix", "W", "W", "hidden"),
    "wh": ("a weight matrix", "W", "W", "hidden"),
    # the biases beside wo/wh (self.bo, self.bh; min-char-rnn's bh, by)
    "bo": ("a bias vector", "b", "b", "L"),
    "bh": ("a bias vector", "b", "b", "hidden"),
}


def tokens(name: str) -> list[str]:
    """``dLdTheta`` -> d, l, d, theta; ``layer_1_delta`` -> layer, 1, delta; ``deltao`` ->
    delta, o; ``relu2deriv`` -> relu, to, deriv."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    # a 2 between letters is "to" (relu2deriv, h2o, i2h), not a layer; then every
    # boundary of letters and digits (a lookaround split: substituting u2 would consume
    # the 2 and leave 2deriv whole)
    spaced = re.sub(r"(?<=[A-Za-z])2(?=[A-Za-z])", "_to_", spaced)
    spaced = re.sub(r"(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])", "_", spaced)
    out: list[str] = []
    words = {"one": "1", "two": "2", "three": "3", "four": "4"}
    for part in spaced.lower().split("_"):
        part = words.get(part, part)
        m = re.fullmatch(r"(delta|del|error|grad)([a-z])", part)  # deltao, delh, errorh
        out += [m.group(1), m.group(2)] if m else [part] if part else []
    return out


def _layers(toks: list[str], depth: int, kind: str) -> list[int]:
    """The layers the spelling allows: ``out`` the last, ``hidden`` the others, a number
    itself or one less (numbered from the input; a number beyond the network's layers
    says none: every layer), else every layer."""
    first = 0 if kind == "A" else 1
    numbers = [int(t) for t in toks if t.isdigit() and len(t) <= 2]
    if numbers:
        k = numbers[-1]
        spelled = [j for j in (k, k - 1) if first <= j <= depth]
        # l8_delta in a 3-layer network: the source numbers its sub-layers (conv, pool,
        # …) too, so the number says no layer of this network: every layer is tried
        return spelled or list(range(first, depth + 1))
    # the first qualifier names the layer (hidden_outputs: the hidden layer's outputs),
    # for weights the last (w_h_o: from the hidden layer into the output layer)
    said = [t for t in toks if t in _LAST or t in _HIDDEN]
    if said and (said[-1] if kind == "W" else said[0]) in _LAST:
        return [depth]
    if said and depth > 1:
        return list(range(max(first, 1), depth))
    return list(range(first, depth + 1))


def _returned(name: str, depth: int) -> list[Reading]:
    """The quantities a returned value may be (``returns``), at each layer."""
    deltas = [Reading(f"dZ{k}", f"δ_{k}") for k in range(1, depth + 1)]
    grads = [Reading(f"dA{k}", f"∂L/∂A_{k}") for k in range(1, depth + 1)]
    if name == "returned_dz":
        return deltas
    if name.startswith("returned_dz_at_"):  # a named activation's layers
        return [Reading(f"dZ{k}", f"δ_{k}") for k in name.split("_")[3:]]
    if name == "returned_dz_l":
        return [Reading("dZ", "δ_l")]
    if name == "returned_grad_l":  # through an activation, or a weight matrix (A_(l-1))
        return [Reading("dZ", "δ_l"), Reading("dA", "∂L/∂A_l"), Reading("dA_prev", "∂L/∂A_(l-1)")]
    if name in ("returned_out", "returned_dzy"):  # code that adds its updates returns
        out = [deltas[-1], grads[-1]] if name == "returned_out" else [deltas[-1]]  # y - a
        return out + [
            Reading(f"(-{r.text})", f"−{r.words} (minus the gradient)", True) for r in out
        ]
    return [*deltas, *grads]


def _theta(toks: list[str], base: str, words: str) -> list[Reading]:
    """Θ as Wᵀ too: softmax regression's Θ is D × K in ``O = Θᵀ X`` (janch's dLdTheta),
    K × D in UFLDL's θ_jᵀ x; both orientations are tried and the shapes tell. Only for a
    name with no layer of its own (one weight matrix: ``theta``, ``dLdTheta``)."""
    if "theta" not in toks or any(t.isdigit() for t in toks):
        return []
    return [Reading(f"{base}1.T", f"{words}_1ᵀ (Θ = Wᵀ)", lhs=f"{base}1", transposed=True)]


def readings(name: str, depth: int) -> tuple[str, list[Reading]]:
    """The kind of quantity ``name`` usually is (in words) and its readings, or ("", [])
    when its spelling says nothing."""
    if is_placeholder(name):  # a returned value (``returns``): the kinds its form allows
        return PLACEHOLDERS.get(name, PLACEHOLDERS["returned_dz"]), _returned(name, depth)
    if name in ("w", "dw") and depth == 1:  # Ng's logistic regression: w is W_1ᵀ
        base = "W" if name == "w" else "dW"
        words = "W_1" if name == "w" else "∂L/∂W_1"
        return "a weight vector", [
            Reading(f"{base}1", words),
            Reading(f"{base}1.T", f"{words}ᵀ (a weight column)", lhs=f"{base}1", transposed=True),
        ]
    if name == UNNUMBERED:  # dz, z beside dA2: all of one layer, which the shapes tell
        return "a layer", [Reading(str(k), f"layer {k}'s") for k in range(1, depth + 1)]
    toks = tokens(name)
    low = name.lower()

    def of(
        kind: str, text: str, words: str, signs: bool = False, every: bool = False
    ) -> list[Reading]:
        out: list[Reading] = []
        for k in _layers([] if every else toks, depth, kind):
            out.append(Reading(f"{text}{k}", f"{words}_{k}"))
        if signs:  # code that adds its updates keeps minus the gradient as its "error"
            out += [Reading(f"(-{r.text})", f"−{r.words} (minus the gradient)", True) for r in out]
        return out

    if set(toks) & {"derivative", "deriv", "prime", "der"}:  # sigmoid_derivative_h = f'(z_h)
        return "an activation's derivative", [
            Reading(f"f_prime(Z{k})", f"f'(Z_{k})") for k in _layers(toks, depth, "Z")
        ]
    grad = bool(set(toks) & _GRAD) or bool(re.match(r"d[lj]?d?[wb]", low))
    if grad and set(toks) & _WEIGHT or re.fullmatch(r"d[lj]?d?(w|theta)[0-9]?", low):
        return "a gradient on weights", of("W", "dW", "∂L/∂W") + _theta(toks, "dW", "∂L/∂W")
    if grad and set(toks) & _BIAS or re.fullmatch(r"d[lj]?d?b[0-9]?", low):
        return "a gradient on biases", of("b", "db", "∂L/∂b")
    short = [SHORT[t] for t in toks if t in SHORT and SHORT[t][1] in ("W", "b")]
    if grad and len(short) == 1 and (short[0][3] == "L" or depth == 2):  # grad_wh, grad_bo
        k = depth if short[0][3] == "L" else 1
        base = short[0][1]
        return f"a gradient on {'weights' if base == 'W' else 'biases'}", [
            Reading(f"d{base}{k}", f"∂L/∂{base}_{k}")
        ]
    if low in UPSTREAM:  # any layer's: Caffe's top_diff, grad_output are a layer's own
        return "the gradient arriving at a layer's output", [
            *of("Z", "dZ", "δ", every=True),
            *of("Z", "dA", "∂L/∂A", every=True),
        ]
    strict = bool(set(toks) & (_GRAD - _DELTA - {"deltas"}))
    if (
        strict
        and set(toks) & (_ACTIVATION | {"a", "h", "relu"})
        or re.fullmatch(r"(grad_y_pred|dl_?da|dl_?dh[0-9]?|grad_h(_relu)?)", low)
    ):
        # the gradient at an activation (dRelu1, grad_h): before or after its f'
        return "a gradient at an activation", [*of("Z", "dA", "∂L/∂A"), *of("Z", "dZ", "δ")]
    if grad and set(toks) & {"logits", "scores"}:  # grad_logits: ∂L/∂Z_L
        return "a gradient on the scores", [Reading(f"dZ{depth}", f"δ_{depth}")]
    if grad and set(toks) & {"soft", "softmax"}:  # dSoft: at the softmax, before or after it
        return "a gradient at the softmax", [
            Reading(f"dZ{depth}", f"δ_{depth}"),
            Reading(f"dA{depth}", f"∂L/∂A_{depth}"),
        ]
    if low in ("diff", "difference"):  # hunkim's diff = hypothesis - Y
        return "the output minus the targets", [
            Reading(f"(A{depth} - Y)", f"A_{depth} − Y"),
            Reading(f"(Y - A{depth})", f"Y − A_{depth}", True),
        ]
    if low in REGULARIZATION:  # 0.5*reg*ΣW² (CS231n's notes) or reg*ΣW² (assignment 1)
        return "the weight-decay strength", [
            Reading("(lambd/m)", "λ/m (the loss adds reg/2 ‖W‖²)"),
            Reading("(lambd/(2*m))", "λ/(2m) (the loss adds reg ‖W‖²)"),
        ]
    if set(toks) & _ERROR:  # the output's error is a delta, a hidden one often W.T @ δ
        # The output's "error" is as often the residual itself (error = yhat - y) as δ:
        # they differ by the loss's factor (2/N for a mean squared error), so both are
        # tried, and a verdict is given only where they agree (dvgodoy's 2 * error.mean()).
        residual = (
            [
                Reading(f"(A{depth} - Y)", f"A_{depth} − Y"),
                Reading(f"(Y - A{depth})", f"Y − A_{depth}", True),
            ]
            if depth in _layers(toks, depth, "Z")
            else []
        )
        return "an error (a delta or a gradient on activations)", [
            *of("Z", "dZ", "δ", signs=True),
            *of("Z", "dA", "∂L/∂A", signs=True),
            *residual,
        ]
    if set(toks) & _DELTA or re.fullmatch(r"d_?l(ayer)?_?[0-9]", low) or _NG_D.fullmatch(name):
        return "a delta", of("Z", "dZ", "δ", signs=True)
    if set(toks) & _INPUT or "x" in toks:
        return "the input", [Reading("X", "X")]
    predicted = bool(set(toks) & {"pred", "hat", "prediction", "predictions", "predicted"})
    # gradient_y is a gradient with respect to y (the output), not the targets
    if (set(toks) & _TARGET or "y" in toks or "t" in toks) and not predicted and not grad:
        return "the targets", [Reading("Y", "Y")]
    if low in ("dhidden", "d_hidden", "grad_hidden") and depth == 2:  # before or after
        return "the gradient at the hidden layer", [  # the ReLU gate (CS231n reuses it)
            Reading("dA1", "∂L/∂A_1"),
            Reading("dZ1", "δ_1"),
        ]
    if low == "h" and depth == 2:  # h = x.dot(w1) or its activation: both tried
        return "a hidden layer", [Reading("A1", "A_1"), Reading("Z1", "Z_1")]
    if low in SHORT:
        kind, text, words, layer = SHORT[low]
        if layer == "l":  # in the loop over layers: layer l's
            return kind, [Reading(f"{text})", f"{words}_l)")]
        k = depth if layer == "L" else 1
        if layer == "hidden" and depth != 2:
            return "", []
        return kind, [Reading(f"{text}{k}", f"{words}_{k}")]
    if len(toks) == 2 and toks[0] in ("a", "z") and toks[1] in _LAST | _HIDDEN:  # a_h, z_out
        base = toks[0].upper()  # Raschka's names: the letter and the layer's word
        return ("an activation" if base == "A" else "a pre-activation"), of(base, base, base)
    if set(toks) & _WEIGHT and not grad:
        return "a weight matrix", of("W", "W", "W") + _theta(toks, "W", "W")
    if set(toks) & _ACTIVATION or (toks and toks[0] == "layer" and len(toks) == 2):
        return "an activation", of("A", "A", "A")
    return "", []
