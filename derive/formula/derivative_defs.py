"""A function that defines an activation's derivative, judged by its body.

Real code defines the derivative it uses (``def tanh_d(x): e = np.exp(2*x); return
(e-1)/(e+1)``, ``def relu_prime(z): if z > 0: return 1; return 0``). Whether such a function
is right depends on what it is called with, the pre-activation Z or the activation A (Trask's
``nonlin(l1, deriv=True)`` gets the activation), which a definition does not show. But a
body that is the derivative in neither reading is wrong whatever the call. So the body is
read as one expression of its one parameter (its local names written into the returned
value; ``if c: return a`` then ``return b`` as ``np.where(c, a, b)``) and judged as the
factor of ``dZ_k = dA_k * (…)`` at each layer k whose activation the function's name names
(sigmoid, tanh, relu), with the parameter as Z_k and as A_k: wrong in every reading, it is
wrong (the verdict, saying so); right in one, the refusal stands, saying which reading is
right. A name that names no activation of the network, or a body read otherwise, is not
read here.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from derive.formula.answer import CheckResult
from derive.formula.ir import FormulaError
from derive.formula.returns import FREE_NAME, MODULE_NAMES

#: ``def NAME(PARAM):`` with one parameter and nothing after the colon.
_HEADER = re.compile(r"^def\s+(\w+)\s*\(\s*(\w+)\s*\)\s*:$")
_ASSIGN = re.compile(r"^(\w+)\s*=(?!=)\s*(.+)$")
_RETURN = re.compile(r"^return\s+(.+)$")
_IF = re.compile(r"^if\s+(.+):$")
_TRIPLE = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'')
#: The function's name: an activation's derivative (``sigmoid_prime``, ``tanh_d``,
#: ``der_relu``, ``sigmoid_derivative``), the activation spelled in it.
_NAMED = re.compile(
    r"(?i)^(?:(?P<a>sigmoid|sig|tanh|relu)_?(?:prime|deriv|derivative|der|d|grad|gradient)"
    r"|(?:der|d|deriv|derivative|dif)_?(?P<b>sigmoid|sig|tanh|relu))$"
)
_SPELLED = {"sig": "sigmoid"}
#: Each activation's derivative, in z and in a = f(z), as the diagnosis states it.
_DERIVATIVES = {"sigmoid": "σ(z)(1 − σ(z))", "tanh": "1 − tanh²(z)", "relu": "1 if z > 0, else 0"}
_IN_A = {"sigmoid": "a(1 − a)", "tanh": "1 − a²", "relu": "1 if a > 0, else 0"}
#: Python's types a body may name (``(z > 0).astype(float)``).
_TYPES = frozenset({"float", "int", "bool", "True", "False"})
#: At most this many lines of a body are read.
MAX_LINES = 12


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _body_expression(param: str, body: list[str]) -> str | None:
    """The value the body returns, as one expression of ``param``; None if it is not
    straight-line assignments then a return (or one ``if c: return a`` before it)."""
    local: dict[str, str] = {}

    def inline(expr: str) -> str:
        for name, value in local.items():
            expr = re.sub(rf"(?<![\w.]){re.escape(name)}(?!\w)", f"({value})", expr)
        return expr.strip()

    base = _indent(body[0]) if body else 0
    i = 0
    while i < len(body):
        line, depth = body[i].strip(), _indent(body[i])
        if depth != base:
            return None
        if (m := _RETURN.match(line)) is not None:
            return inline(m.group(1)) if i == len(body) - 1 else None
        if (m := _IF.match(line)) is not None:
            branches = _branches(body[i + 1 :], base)
            if branches is None:
                return None
            a, b = branches
            return f"np.where({inline(m.group(1))}, {inline(a)}, {inline(b)})"
        m = _ASSIGN.match(line)
        if m is None or m.group(1) == param:
            return None
        local[m.group(1)] = inline(m.group(2))
        i += 1
    return None


def _branches(rest: list[str], base: int) -> tuple[str, str] | None:
    """The two values after ``if c:``: ``return a`` indented, then ``return b`` (or
    ``else:`` and ``return b`` indented); None for any other shape."""
    shape = [(_indent(x) > base, x.strip()) for x in rest]
    if len(shape) == 3 and shape[1] == (False, "else:") and shape[2][0]:
        shape = [shape[0], (False, shape[2][1])]
    if len(shape) != 2 or not shape[0][0] or shape[1][0]:
        return None
    a, b = _RETURN.match(shape[0][1]), _RETURN.match(shape[1][1])
    return (a.group(1), b.group(1)) if a is not None and b is not None else None


def defined_derivative(text: str) -> tuple[str, str, str, str] | None:
    """(the function's name, its activation, its parameter, its value as one expression of
    the parameter) for a snippet that defines an activation's derivative; else None."""
    code = _TRIPLE.sub("", re.sub(r"#[^\n]*", "", text.expandtabs(4)))
    lines = [x.rstrip() for x in code.split("\n") if x.strip()]
    if not lines or len(lines) > MAX_LINES:
        return None
    head = _HEADER.match(lines[0].strip())
    named = _NAMED.match(head.group(1)) if head is not None else None
    if head is None or named is None:
        return None
    activation = (named.group("a") or named.group("b")).lower()
    value = _body_expression(head.group(2), lines[1:])
    if value is None:
        return None
    names = {n for n in FREE_NAME.findall(value) if n not in MODULE_NAMES | _TYPES}
    if names != {head.group(2)}:  # a name the body does not define (a global): not read
        return None
    return head.group(1), _SPELLED.get(activation, activation), head.group(2), value


def judge_definition(
    defined: tuple[str, str, str, str],
    activations: tuple[str, ...],
    check_one: Callable[[str], CheckResult],
    right_as_written: Callable[[str], bool] | None = None,
) -> CheckResult | None:
    """The verdict on a defined derivative: wrong at every layer with its activation, with
    its parameter as Z and as A, it is wrong; right in any reading, refused (saying which);
    None where it is not judged here (no layer has the activation, a body not read). Only
    the first reading is diagnosed (the one shown); the others need their verdict alone
    (``right_as_written``, where given: no diagnosis searched for them)."""
    name, activation, param, value = defined
    layers = [k for k, a in enumerate(activations, 1) if a == activation]
    word = re.compile(rf"(?<![\w.]){re.escape(param)}(?!\w)")
    judged: list[tuple[str, bool]] = []
    shown: CheckResult | None = None
    for k in layers:
        for given in (f"Z{k}", f"A{k}"):
            text = f"dZ{k} = dA{k} * ({word.sub(given, value)})"
            try:
                if shown is None or right_as_written is None:
                    result = check_one(text)
                    shown = shown or result
                    judged.append((given, result.correct))
                else:
                    judged.append((given, right_as_written(text)))
            except FormulaError:
                return None
    if not judged or shown is None:
        return None
    readings = ", ".join(f"{g[0]}_{g[1:]}" for g, _ in judged)
    right = [g for g, r in judged if r]
    wrong = [g for g, r in judged if not r]
    if right and wrong:
        raise FormulaError(
            f"this snippet defines {name}(), {activation}'s derivative: whether it is right "
            "depends on what it is called with, which the snippet does not show (right with "
            f"`{param}` as {_words(right)}, wrong with it as {_words(wrong)}); check a formula "
            f"that uses it (dZ = dA * {name}(Z))"
        )
    said = "right" if shown.correct else "wrong"
    shown.notes[:0] = [
        f"read {name}() as {activation}'s derivative, the factor of dZ = dA * (…): its body "
        f"{value} is checked with `{param}` as each of {readings} (the layers with "
        f"{activation}), and is {said} in each, so whatever it is called with"
    ]
    if not shown.correct:
        shown.notes.insert(
            1,
            f"with `{param}` as {judged[0][0][0]}_{judged[0][0][1:]}: "
            f"{shown.diagnosis or 'not the derived formula'}",
        )
        shown.diagnosis = (
            f"{name}() is not {activation}'s derivative f'(z) = {_DERIVATIVES[activation]}, "
            f"whether `{param}` is the pre-activation z or the activation a = f(z) "
            f"(f'(z) = {_IN_A[activation]})"
        )
    return shown


def _words(given: list[str]) -> str:
    """``Z1``, ``A1`` as "the pre-activation Z_1", "the activation A_1"."""
    return " or ".join(
        f"{'the pre-activation' if g[0] == 'Z' else 'the activation'} {g[0]}_{g[1:]}" for g in given
    )
