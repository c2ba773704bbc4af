"""Unknown NumPy names read by their role in the snippet, where their spelling says
nothing (``guesses``) or says too much: what they are subtracted from, and the d-prefix
that ties a gradient's name to its variable's.

- The targets by the network's structure: a name the output's activation is subtracted
  from, or that is subtracted from it (``o - l``, ``predicted - t``), has the output's
  shape and is the targets (no other quantity of a network is the output's minus
  something in a gradient). Only when the other side reads as the output's activation.
- The d-prefix (CS231n's convention, shared by most NumPy backprop code: ``dx`` is ∂L/∂x):
  where the snippet assigns ``d_X``/``dX``/``grad_X`` and reads ``X`` only where a
  derivative or a mask is taken (``sigma_prime(X)``, ``X > 0``), the two are read
  together: ``d_l2`` as δ_2 makes ``l2`` Z_2 (δ is ∂L/∂Z), as the structure says too. A
  name both pre-activation and activation would fit is read the one way its gradient's
  name fixes, and the answer says so; used otherwise, both are tried.

- An activation's output form: ``h * (1 - h)`` on a sigmoid layer, ``1 - h**2`` on a tanh
  layer is that layer's f'(z) written in its activation (Nielsen, Rashid, most tutorials);
  a name read as either the layer's pre-activation or its activation (``h``) that the
  formula uses so is its activation: the pre-activation reading is dropped.

``name_readings._explore`` asks this after the spelling; each reading is still checked
against the shapes, and readings that fit must still agree.
"""

from __future__ import annotations

import re
from typing import Any

from derive.formula.guesses import readings
from derive.formula.name_rewrites import Reading

#: The kind of quantity such a name is, in the answer's words.
ROLE = "read by its role in the snippet"

#: A gradient's name for ``X`` (d_X, dX, grad_X): the prefixes of the d convention.
_PREFIXES = ("d_", "d", "grad_")


def _output_like(word: str, depth: int) -> bool:
    """Whether ``word`` reads as the output's activation alone (``o``, ``output``, ``A2``)."""
    if re.fullmatch(rf"[Aa]_?{depth}", word):
        return True
    _, found = readings(word, depth)
    return bool(found) and all(r.text == f"A{depth}" for r in found)


def targets_by_structure(name: str, formula: str, depth: int) -> list[Reading]:
    """``l`` in ``o - l``: the targets, where the other side of the subtraction is the
    output's activation."""
    word = re.escape(name)
    for m in re.finditer(
        rf"(?<![\w.])(?:(?P<a>\w+)\s*-\s*{word}|{word}\s*-\s*(?P<b>\w+))(?![\w.(\[])", formula
    ):
        other = m.group("a") or m.group("b")
        if other and other != name and _output_like(other, depth):
            return [Reading("Y", f"Y (the targets: the output {other} minus it, by the shapes)")]
    return []


def _gradient_names(name: str) -> list[str]:
    return [p + name for p in _PREFIXES]


def _assigned(formula: str, name: str) -> bool:
    word = re.escape(name)
    return re.search(rf"(?m)^[ \t]*{word}\s*(?:\[[^\]\n]*\])?\s*[-+*/]?=(?!=)", formula) is not None


def _at_z(formula: str, var: str) -> bool:
    """Whether every use of ``var`` is where a derivative or a mask is taken (the argument
    of a call, ``sigma_prime(l2)``; a comparison, ``h > 0``): the pre-activation's place by
    the network's structure, so the d-prefix and the structure agree. A variable used in
    arithmetic (``h * (1 - h)``, an activation's output form) is not tied: code that
    names the gradient at Z after the activation h exists, and both readings are tried."""
    word = re.escape(var)
    uses = list(re.finditer(rf"(?<![\w.]){word}(?!\w)", formula))
    return bool(uses) and all(
        re.search(r"\w\(\s*$", formula[: m.start()])
        or re.match(r"\s*[<>]=?\s*0", formula[m.end() :])
        for m in uses
    )


def tied(name: str, formula: str, chosen: tuple[Any, ...]) -> list[Reading] | None:
    """The one reading of ``name`` its pair under the d convention fixes (``l2`` as Z_2
    where ``d_l2`` was read as δ_2; ``d_l2`` as δ_2 where ``l2`` was read as Z_2); None
    where no pair was read. Only where the snippet assigns the gradient's name and not
    the variable's (a variable it reassigns may be another thing by then)."""
    for other, _, r in chosen:
        if other in _gradient_names(name):  # name is X, other its gradient d_X
            grad, var = other, name
            m = re.fullmatch(r"d([ZA])([0-9]+)", r.text)
            made = (f"{m.group(1)}{m.group(2)}", f"{m.group(1)}_{m.group(2)}") if m else None
        elif name in _gradient_names(other):  # name is d_X, other the variable X
            grad, var = name, other
            m = re.fullmatch(r"([ZA])([0-9]+)", r.text)
            made = (
                (
                    f"d{m.group(1)}{m.group(2)}",
                    ("δ_" if m.group(1) == "Z" else "∂L/∂A_") + m.group(2),
                )
                if m
                else None
            )
        else:
            continue
        if not _assigned(formula, grad) or _assigned(formula, var) or not _at_z(formula, var):
            return None
        if made is None:
            return []
        return [Reading(made[0], f"{made[1]} (`{grad}` is ∂L/∂{var}: the d-prefix ties them)")]
    return None


def role_readings(name: str, formula: str, depth: int) -> list[Reading]:
    """The readings of a name its spelling says nothing of, by its role: the targets
    (``targets_by_structure``), or a variable whose gradient the snippet assigns under
    the d convention (pre-activation or activation, at each layer: its pair decides)."""
    found = targets_by_structure(name, formula, depth)
    if found:
        return found
    if any(_assigned(formula, g) for g in _gradient_names(name)) and not _assigned(formula, name):
        return [Reading(f"{b}{k}", f"{b}_{k}") for k in range(1, depth + 1) for b in ("Z", "A")]
    return []


def short_names_by_role(
    formula: str, depth: int, seen: set[str]
) -> list[tuple[str, list[Reading]]]:
    """The one- and two-letter names the reader took for numbers (``l``, ``t``, ``l2``) that
    have a reading by their role, for a formula whose shapes did not fit so read."""
    out = []
    for word in dict.fromkeys(re.findall(r"(?<![\w.])([A-Za-z_][A-Za-z_0-9]?)(?![\w(])", formula)):
        if word in seen or re.fullmatch(r"[WbZzAaXxYyK]_?[0-9]?|d[0-9]?|[mnN]|lr|np", word):
            continue
        found = role_readings(word, formula, depth)
        if found:
            out.append((word, found))
    return out


#: An activation's derivative written in its output a, by the activation: a's forms.
_OUTPUT_FORMS = {
    "sigmoid": (
        r"{a}\s*\*\s*\(\s*1(?:\.0?)?\s*-\s*{a}\s*\)",
        r"\(\s*1(?:\.0?)?\s*-\s*{a}\s*\)\s*\*\s*{a}",
    ),
    "tanh": (
        r"1(?:\.0?)?\s*-\s*{a}\s*(?:\*\*\s*2|\*\s*{a})(?![\w.(\[])",
        r"1(?:\.0?)?\s*-\s*np\.square\(\s*{a}\s*\)",
    ),
}


def in_output_form(
    name: str, formula: str, found: list[Reading], activations: tuple[str, ...]
) -> list[Reading]:
    """``found`` without its pre-activation readings (Z_k) where an activation reading
    (A_k) is among them and the formula writes ``name`` in layer k's activation's output
    form (``h * (1 - h)``, sigmoid; ``1 - h**2``, tanh)."""
    word = re.escape(name)
    keep = []
    dropped: dict[str, str] = {}  # the activation readings kept for the form, by text
    for r in found:
        m = re.fullmatch(r"Z([0-9]+)", r.text)
        if m and any(a.text == f"A{m.group(1)}" for a in found):
            k = int(m.group(1))
            act = activations[k - 1] if 0 < k <= len(activations) else ""
            forms = _OUTPUT_FORMS.get(act, ())
            if any(re.search(f.format(a=rf"(?<![\w.]){word}(?!\w)"), formula) for f in forms):
                dropped[f"A{k}"] = act
                continue
        keep.append(r)
    return [
        Reading(r.text, f"{r.words} (written in its {dropped[r.text]}'s output form)")
        if r.text in dropped
        else r
        for r in keep
    ]
