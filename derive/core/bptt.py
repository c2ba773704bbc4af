"""Back-propagation through time at a symbolic step t (issue 15): the generic-T form.

Nothing here is a template. One step of the recurrent cell is derived as a program
(``derive.spec.sequence.step_text``) whose loss is the step's own loss plus a linear term
``Σ(G_h ⊙ h_t)`` for each carried state: ``G_h`` stands for the cotangent step t+1 sends
back. The same step's derived gradient of its previous state ``h_{t-1}`` *is* that
cotangent one step later, so ``G_h`` is replaced by that gradient with every index moved
from t to t+1. The last step (no t+1) is a second derivation without the linear terms,
and each weight's gradient is the step's term summed over t = 1…T.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sympy
from sympy.matrices.expressions import MatrixSymbol

from derive.core.nodes import Labels
from derive.core.staged import StagedDerivation, inline
from derive.spec.sequence import CARRIED


@dataclass(frozen=True)
class Line:
    """One printed line ``lhs = rhs``; ``summed``: the right side is summed over t = 1…T."""

    lhs: Any
    rhs: Any
    summed: bool = False


@dataclass(frozen=True)
class Recurrence:
    """The BPTT equations at a symbolic step: what step t+1 sends back (``carried``), the
    staged cotangents of step t, the one-line recurrence of the pre-activation's
    cotangent (``delta``, the RNN's δ_t), the last step (``boundary``) and the gradients
    summed over time."""

    kind: str
    carried: list[Line]
    step: list[Line]
    delta: Line | None
    boundary: list[Line]
    gradients: list[Line]


_STEP = re.compile(r"^(?P<base>.+)_(?P<index>[tp])$")


def _renamed(expr: Any, mapping: dict[str, str]) -> Any:
    """``expr`` with each named leaf (matrix, scalar, labels) of this step renamed by its
    index: ``t`` (this step) and ``p`` (the previous one) to ``mapping[t]``/``mapping[p]``."""
    subs: dict[Any, Any] = {}
    for leaf in expr.atoms(MatrixSymbol, sympy.Symbol, Labels):
        name = leaf.name if not isinstance(leaf, MatrixSymbol) else str(leaf.name)
        m = _STEP.match(name)
        if not m:
            continue
        new = f"{m['base']}_{mapping[m['index']]}"
        if isinstance(leaf, MatrixSymbol):
            subs[leaf] = MatrixSymbol(new, *leaf.shape)
        elif isinstance(leaf, Labels):
            subs[leaf] = Labels(new, leaf.n, None if leaf.classes == -1 else leaf.classes)
        else:
            subs[leaf] = sympy.Symbol(new, **leaf.assumptions0)
    return expr.xreplace(subs) if subs else expr


#: Where a step's indices go: at t (``_p`` is t−1), one step later, at the last step T.
AT_T = {"t": "t", "p": "{t-1}"}
NEXT = {"t": "{t+1}", "p": "t"}
AT_LAST = {"t": "T", "p": "{T-1}"}


def _param(sd: StagedDerivation, name: str) -> Any:
    return next(p for p in sd.graph.parameters if p.name == name)


def recurrence(kind: str, interior: StagedDerivation, boundary: StagedDerivation) -> Recurrence:
    """The generic-T form from the derived interior step (with the ``G`` inputs) and the
    derived last step (without)."""
    states = CARRIED[kind]
    given = {g.name: g for g in interior.graph.inputs}
    carried: list[Line] = []
    subs: dict[Any, Any] = {}
    for state in states:
        back = interior.gradients[f"{state}_p"]  # what step t sends to step t−1
        sent = _renamed(back.rhs, NEXT)
        cot = MatrixSymbol(f"d{state}_t", *_param(interior, f"{state}_p").shape)
        carried.append(Line(MatrixSymbol(f"G_{state}", *cot.shape), sent))
        subs[given[f"G_{state}"]] = sent
    step = [
        Line(_renamed(st.lhs, AT_T), _renamed(st.rhs.xreplace(subs), AT_T))
        for st in interior.cotangents
    ]
    delta = None
    if kind == "rnn":
        dz = interior.cotangent("z_t")
        dh = interior.cotangent("h_t")
        one_line = inline(dz.rhs, [dh]).xreplace(subs)
        delta = Line(_renamed(dz.lhs, AT_T), _renamed(one_line, AT_T))
    last = [
        Line(_renamed(st.lhs, AT_LAST), _renamed(st.rhs, AT_LAST)) for st in boundary.cotangents
    ]
    gradients: list[Line] = []
    prev = {f"{s}_p" for s in states}
    weights = {p.name for p in boundary.graph.parameters} - prev
    for name, st in boundary.gradients.items():
        if name not in weights:
            continue  # the previous state, or an input of a layer's backward pass
        if name in interior.gradients:
            g = interior.gradients[name]
            gradients.append(Line(g.lhs, _renamed(g.rhs.xreplace(subs), AT_T), summed=True))
        else:  # read only at the last step (a loss at the last step only)
            gradients.append(Line(st.lhs, _renamed(st.rhs, AT_LAST)))
    return Recurrence(kind, carried, step, delta, last, gradients)
