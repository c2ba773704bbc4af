"""A helper the NumPy reader does not know, named after an activation (``applySigmoid(x,
True)``, ``der_sigmoid(x)``, ``grad_tanh(h)``), read in the definitions such helpers have:
the derivative at its argument, or the derivative written in the activation it is given
(σ' = a(1 − a)); without a derivative word or flag, the activation itself. The checker
tries each (``name_readings``) and answers where they agree. ReLU's has one reading:
[x > 0] is its derivative whether x is Z or A = relu(Z) (Trask's relu2deriv(layer_1))."""

from __future__ import annotations

import re

from derive.formula.guesses import tokens
from derive.formula.name_rewrites import Reading
from derive.formula.python_args import CALL_ARGS, call_arguments

#: An activation's name inside a helper's name (``applySigmoid``, ``der_sigmoid``).
_ACTIVATION_WORDS = {"sigmoid": "sigmoid", "sig": "sigmoid", "tanh": "tanh", "relu": "relu"}
#: Words that make a helper an activation's derivative (``grad_tanh``, ``der_sigmoid``).
_DERIVATIVE_WORDS = frozenset(
    {"der", "derv", "deriv", "derivative", "derivate", "prime", "grad", "gradient", "dif", "diff"}
)
#: Words that leave a helper the activation itself (``applySigmoid``, ``sigmoid_fn``). A
#: word outside both sets (``derv`` before it was listed, ``dash``, ``back``) may mean the
#: derivative: such a helper is not read rather than read as the activation.
_PLAIN_WORDS = frozenset(
    {"apply", "activation", "act", "func", "fn", "function", "f", "calc", "compute", "my", "np"}
)
#: Words that join a derivative helper's name (``relu2deriv``, ``sigmoid_output_to_derivative``,
#: ``inplace_relu_derivative``). Any other word may name another activation (``leaky_relu_deriv``,
#: ``hard_tanh_grad``, ``log_sigmoid_prime``): such a helper is not read as relu', tanh', σ'.
_LINK_WORDS = frozenset({"to", "of", "output", "out", "inplace", "in", "at", "wrt", "d", "from"})
#: The derivative written in the activation a = f(z) it is given (σ' = a(1 − a)).
_IN_ACTIVATION = {
    "sigmoid": ("({x}) * (1 - ({x}))", "a(1 − a)"),
    "tanh": ("(1 - ({x}) ** 2)", "1 − a²"),
    "relu": ("(({x}) > 0)", "a > 0"),
}
_FLAG = re.compile(r"^(?:(?:deriv|derivative|prime|derivate)\s*=\s*)?(?P<v>True|False|1|0)$")


def function_readings(name: str, formula: str) -> tuple[str, list[Reading]]:
    """The readings of a helper the reader does not know, called in ``formula``, whose
    spelling names an activation (``applySigmoid(x, True)``, ``der_sigmoid(x)``,
    ``grad_tanh(h)``): asked for the derivative (by its name or a True flag), it may take
    the pre-activation (σ'(x)) or the activation it has already computed (x(1 − x)); both
    are tried. Not asked: the activation itself. ("", []) when the spelling or the calls
    say nothing sure (calls that differ in their flag, other arguments)."""
    toks = tokens(name)
    acts = {_ACTIVATION_WORDS[t] for t in toks if t in _ACTIVATION_WORDS}
    if len(acts) != 1:
        return "", []
    act = acts.pop()
    asked: set[bool] = set()
    word = re.escape(name)
    for m in re.finditer(rf"(?<![\w.])(?:self\.)?{word}\s*{CALL_ARGS}", formula):
        args = call_arguments(m.group("args"))
        if args is None or not args[0] or len(args) > 2:
            return "", []
        flag = _FLAG.match(args[1]) if len(args) == 2 else None
        if len(args) == 2 and flag is None:
            return "", []
        asked.add(
            bool(set(toks) & _DERIVATIVE_WORDS) or (flag is not None and flag["v"] in ("True", "1"))
        )
    if len(asked) != 1:
        return "", []
    if not asked.pop():
        if not set(toks) <= set(_ACTIVATION_WORDS) | _PLAIN_WORDS:
            return "", []  # derv_sigmoid, sigmoid_dash: not surely the activation
        return "the activation", [Reading("", f"{act}(x)", call=f"{act}({{x}})")]
    if not set(toks) <= set(_ACTIVATION_WORDS) | _PLAIN_WORDS | _DERIVATIVE_WORDS | _LINK_WORDS:
        return "", []  # leaky_relu_deriv: another activation's derivative, maybe
    form, words = _IN_ACTIVATION[act]
    if act == "relu":  # relu'(z) = [z > 0] = [relu(z) > 0]: one reading, Z or A given
        return "an activation's derivative", [
            Reading("", "relu'(x) = (x > 0), the same at Z and at A = relu(Z)", call=form)
        ]
    return "an activation's derivative", [
        Reading("", f"{act}'(x) (the derivative at its argument)", call=f"{act}_prime({{x}})"),
        Reading("", f"{words} of the activation a it is given", call=form),
    ]
