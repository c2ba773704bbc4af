"""What a ``return`` hands back, read as the quantity the function computes.

Real backward code returns its result instead of naming it: ``def sigmoid_backward(dA,
cache): …; return dZ``, ``return dA * (Z > 0)``, ``return (a-y) * sigmoid_prime(z)``,
``relu_backward = lambda dA, Z: dA * (Z > 0)``. Nothing names the value, so the function's
name and the value's own form say what it is, and only where they leave one kind of
quantity:

- a function named as an activation's backward pass (``sigmoid_backward``,
  ``relu_backward``) returns δ = ∂L/∂Z given ∂L/∂A;
- a value with an activation's derivative as a factor (``sigmoid_prime(z)``, ``(Z > 0)``,
  ``s * (1 - s)``, ``1 - np.square(…)``) is a δ: only the gradient on Z has it;
- a value made from the gradient arriving at the layer's output (``dout``, ``top_diff``,
  ``grad``) is the gradient at its input: δ (through an activation) or ∂L/∂A (through a
  weight matrix);
- a value made from the targets (``y``) is the output layer's δ or ∂L/∂A.

The value is then assigned to a placeholder whose readings (``guesses``) are those
quantities at each layer; the checker tries each against the network and answers only when
the readings that fit agree ("cannot tell" otherwise), saying which it used. A function
that defines an activation's derivative (``def sigmoid_prime(x)``) is refused here: whether
it is right depends on what it is called with, which the snippet does not show
(``derivative_defs`` judges its body where every call would get the same verdict).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from derive.formula.ir import FormulaError
from derive.formula.return_lines import one_return

#: The placeholders a returned value is assigned to: name -> the kind in words.
PLACEHOLDERS = {
    "returned_dz": "the value returned: a gradient through an activation's derivative",
    "returned_grad": "the value returned: the gradient at the layer's input",
    "returned_out": "the value returned: a gradient at the output layer",
    "returned_dz_l": "the value returned: a gradient through an activation's derivative",
    "returned_grad_l": "the value returned: the gradient at the layer's input",
    "returned_dzy": "the value returned: the output layer's δ (or minus it)",
}

_ACTIVATIONS = r"(?:sigmoid|relu|leaky_relu|tanh|softmax|elu|activation|sig|act)"
#: A function defining an activation's derivative (its correctness is in how it is called).
_DERIVATIVE = re.compile(
    rf"(?i)^(?:{_ACTIVATIONS}_?(?:prime|deriv|derivative|der|d|grad|gradient)"
    rf"|(?:der|d|grad|deriv|derivative|dif)_?{_ACTIVATIONS}|nonlin|\w*_(?:prime|derivative))$"
)
_BACKWARD = re.compile(rf"(?i)^({_ACTIVATIONS})_?backward$")
#: Short spellings of an activation's name in a function's name.
_SPELLED = {"sig": "sigmoid", "act": "activation"}
#: Forms of an activation's derivative as a factor of the value.
_FPRIME = re.compile(
    r"prime|deriv|(?<![\w.])(?:der|d)_?(?:sigmoid|tanh|relu)\b|[<>]=?\s*0(?![\w.])"
    r"|\(\s*1(?:\.0*)?\s*-\s*[\w.]+\s*\)|\(\s*1(?:\.0*)?\s*-\s*[\w.]*(?:sigmoid|expit|logistic)\w*\("
    r"|1(?:\.0*)?\s*-\s*np\.square\(|1(?:\.0*)?\s*-\s*[\w.]+\s*\*\*\s*2"
)
_UPSTREAM = re.compile(
    r"(?<![\w.])(?:dout|grad_out|grad_output|output_grad|top_diff|next_dz|grad|upstream"
    r"|upstream_grad|grad_input|dA|da|delta_next)(?!\w)"
)
_NUMBERED = re.compile(r"(?<![\w.])[A-Za-z_]+[0-9]+(?!\w)")
_CACHE = re.compile(r"^[ \t]*Z\s*=\s*(?:activation_)?cache[ \t]*$")
#: The object's own forward pass called in its backward (``output = self.forward(X)``,
#: ``p = self.__call__(x)``): an activation object's output A.
_OWN_FORWARD = re.compile(r"(?<![\w.])self\s*(?:\.\s*(?:forward|__call__)\s*)?\(\s*[\w.]*\s*\)")
_TARGETS = re.compile(r"(?<![\w.])(?:y|Y|t|target|targets|labels|y_true)(?!\w)")


@dataclass(frozen=True)
class Returned:
    """A snippet whose returned value is assigned to a placeholder, and how it was read."""

    text: str
    note: str


def _at_layers(function: str, word: str, activations: tuple[str, ...], code: str) -> str:
    """The placeholder of a named activation's backward pass: derive's layer l when every
    hidden layer has that activation and the code names no layer, else the layers that
    have it; an error if none has."""
    act = _SPELLED.get(word, word)
    if act == "activation" or not activations:
        return "returned_dz" if _NUMBERED.search(code) else "returned_dz_l"
    hidden = activations[:-1]
    if hidden and all(a == act for a in hidden) and not _NUMBERED.search(code):
        return "returned_dz_l"
    layers = [str(k) for k, a in enumerate(activations, 1) if a == act]
    if not layers:
        raise FormulaError(
            f"this snippet defines {function}(), the backward pass of a {act} layer, and this "
            f"network has no {act} layer (its activations: {', '.join(activations)})"
        )
    return "returned_dz_at_" + "_".join(layers)


#: How an activation's derivative is written in its output a (tanh: 1 − a², σ: a(1 − a),
#: ReLU: a > 0), to tell which activation an object's backward is.
_WRITTEN_IN_A = {
    "tanh": re.compile(r"square\(|\*\*\s*2|power\("),
    "sigmoid": re.compile(r"\(\s*1(?:\.0*)?\s*-\s*[\w.]+\s*\)|[\w.]+\s*\*\s*\(\s*1(?:\.0*)?\s*-"),
    "relu": re.compile(r"[<>]=?\s*0(?![\w.])"),
}
#: An object's own parameters: a layer with weights, not an activation object.
_OWN_WEIGHTS = re.compile(r"\bself\.(?:W|w|weights?|params|kernel|b|bias)\b")


def _activation_object(
    name: str, why: str, code: str, activations: tuple[str, ...]
) -> tuple[str, str, str]:
    """An object's backward that multiplies the gradient arriving by a function of its own
    forward's output (``output = self.forward(X); return (1 - output**2) * top_diff``):
    an activation object's, so its value is a δ and its forward's output the activation A
    (an object with weights of its own is a layer, not read so). Where the written form
    names one activation (1 − a² tanh's, a(1 − a) σ's, a > 0 ReLU's) and one hidden layer
    has it, the layer is that one: the placeholder, A and the note say so."""
    if name.startswith("returned_grad") and not _OWN_WEIGHTS.search(code):
        name = "returned_dz" if name == "returned_grad" else "returned_dz_l"
        why = "it multiplies the gradient arriving at an object by its own output (an "
        why += "activation object's backward: a δ)"
    if not name.startswith("returned_dz"):
        return name, "A", why
    acts = [a for a, form in _WRITTEN_IN_A.items() if form.search(code)]
    hidden = activations[:-1]
    layers = [k for k, a in enumerate(hidden, 1) if acts == [a]]
    if name == "returned_dz_l" and len(layers) == 1:
        k = layers[0]
        why += (
            f"; self.forward(…) as A_{k}, the output of layer {k}, the one hidden layer whose "
            f"activation ({acts[0]}) the derivative's written form names"
        )
        return f"returned_dz_at_{k}", f"A{k}", why
    return name, "A", why + "; self.forward(…) as the activation A the object's forward returns"


def is_placeholder(name: str) -> bool:
    """Whether ``name`` is a placeholder of a returned value."""
    return name in PLACEHOLDERS or name.startswith("returned_dz_at_")


def returned_value(text: str, activations: tuple[str, ...] = ()) -> Returned | None:
    """The snippet with its one returned value assigned to a placeholder named by its kind,
    or None if it returns nothing readable so (a tuple, several returns, a condition).
    ``activations``: the network's, layer by layer (a named activation's backward pass is
    read at the layers that have it)."""
    found = one_return(text)
    if found is None:
        return None
    lines, i, header, expr = found.lines, found.at, found.header, found.expr
    if header is not None and _DERIVATIVE.match(header[0]):
        raise FormulaError(
            f"this snippet defines {header[0]}(), an activation's derivative: whether it is "
            "right depends on what it is called with (Z or the activation A), which the "
            f"snippet does not show; check a formula that uses it (dZ = dA * {header[0]}(Z))"
        )
    code = re.sub(r"#[^\n]*", "", "\n".join(lines[: i + 1]))
    code = re.sub(r'"""[\s\S]*?"""', "", code)
    named = _BACKWARD.match(header[0]) if header is not None else None
    if named is not None and header is not None:
        name = _at_layers(header[0], named.group(1).lower(), activations, code)
        why = f"the function's name {header[0]}: an activation's backward pass returns "
        why += "δ = ∂L/∂Z given ∂L/∂A"
    elif header is not None and _of_its_parameter_only(header[1], expr):
        raise FormulaError(
            f"this snippet defines {header[0]}(), a function of its one parameter alone "
            f"(return {expr.strip()}): an activation's derivative, not a gradient, and whether "
            "it is right depends on what it is called with; check a formula that uses it "
            f"(dZ = dA * {header[0]}(Z))"
        )
    elif _FPRIME.search(code) and _TARGETS.search(code):
        name, why = "returned_dzy", "it has an activation's derivative as a factor (a δ) and"
        why += " is made from the targets (the output layer's)"
    elif _FPRIME.search(code):
        name, why = "returned_dz", "it has an activation's derivative as a factor (a δ)"
    elif _UPSTREAM.search(code):
        name, why = "returned_grad", "it is made from the gradient arriving at the layer"
    elif _TARGETS.search(code):
        name, why = "returned_out", "it is made from the targets (the output layer's gradient)"
    else:
        return None
    if name in ("returned_dz", "returned_grad") and not _NUMBERED.search(code):
        name += "_l"  # no layer named: the function is every layer's (derive's layer l)
    for j in range(i):  # Ng's activation backward keeps Z as its cache: Z is Z
        if _CACHE.match(lines[j]):
            lines[j] = " " * len(lines[j])
    own = any(_OWN_FORWARD.search(x) for x in lines[:i])
    if own and _UPSTREAM.search(code):
        # an activation object's backward (the gradient arriving times f'): its forward is
        # its output; without the gradient arriving the value is f' itself, not read so
        name, output, why = _activation_object(name, why, code, activations)
        lines[:i] = [_OWN_FORWARD.sub(output, x) for x in lines[:i]]
    lines[i] = f"{found.indent}{name} = {expr}"
    out = re.sub(r'"""[\s\S]*?"""', lambda d: re.sub(r"[^\n]", " ", d.group(0)), "\n".join(lines))
    return Returned(out, f"read the value returned as a gradient: {why}")


def _of_its_parameter_only(params: str, expr: str) -> bool:
    """Whether a function of one parameter returns an expression of that parameter alone
    (``def derivative(z): return (z > 0) * 1.0``): no gradient arrives, so the value is
    the activation's derivative itself, never a δ."""
    names = [p.split("=")[0].split(":")[0].strip() for p in params.split(",") if p.strip()]
    names = [n for n in names if n not in ("self", "cls")]
    if len(names) != 1:
        return False
    free = {m.group(1) for m in FREE_NAME.finditer(expr)} - MODULE_NAMES
    return free == {names[0]}


#: A name in a bare expression (not a function called, not an attribute, not ``np``).
FREE_NAME = re.compile(r"(?<![\w.])([A-Za-z_]\w*)(?![\w(])(?!\s*\()")
MODULE_NAMES = frozenset({"np", "numpy", "math", "torch", "jnp", "e", "pi"})


def derivative_readings(text: str) -> tuple[str, tuple[str, str]] | None:
    """A bare expression of one name (``1. + values**2``, ``np.exp(-x)/((1 +
    np.exp(-x))**2)``), as real threads propose an activation's derivative: the name
    read as the pre-activation Z (f'(z)) and as the activation A it is often given
    (f'(z) from a = f(z)), each as the factor of ``dZ = dA * (…)`` at derive's layer l.
    None if it is not one such expression (an assignment, a return, several names)."""
    code = re.sub(r"#[^\n]*", "", text).strip()
    if not code or "\n" in code or "=" in code.replace("==", "") or ":" in code:
        return None
    names = {n for n in FREE_NAME.findall(code) if n not in MODULE_NAMES}
    if len(names) != 1:
        return None
    name = names.pop()
    word = re.compile(rf"(?<![\w.]){re.escape(name)}(?!\w)")
    given = tuple(f"dZ = dA * ({word.sub(x, code)})" for x in ("Z", "A"))
    return name, (given[0], given[1])
