"""The document both printers write: the sections of a derivation and the steps in each.

``derive show`` (text) and ``derive latex`` (LaTeX, Markdown) print the same sections in the
same order: forward pass, loss, output delta, the delta recurrence with each layer's
instance, the gradients (generic, then layer by layer), the update. Which steps go in a
section is decided here once; each printer adds only its own words and layout.
"""

from __future__ import annotations

from dataclasses import dataclass

from derive.core.derivation import Derivation, GenericLayer, Step


@dataclass(frozen=True)
class Outline:
    """The steps of each section of the document, in reading order."""

    forward: list[Step]
    loss: Step
    #: δ of the last layer.
    output_delta: Step
    #: The generic layer(s) l whose recurrence is derived: ("dense", …) and/or ("conv", …).
    recurrences: list[tuple[str, GenericLayer]]
    #: Each hidden layer's δ, from the output down.
    deltas: list[Step]
    #: Every parameter's gradient, in layer order (weight before bias).
    gradients: list[Step]
    updates: list[Step]
    #: A normalisation layer's staged backward pass, by layer (printed before the δ below it).
    stages: dict[int, list[Step]]


def outline(d: Derivation) -> Outline:
    """The sections of ``d``'s document."""
    n = d.depth
    generic = [(kind, g) for kind, g in (("dense", d.generic), ("conv", d.generic_conv)) if g]
    return Outline(
        forward=d.forward(),
        loss=d.loss(),
        output_delta=d.deltas[n],
        recurrences=generic,
        deltas=[d.deltas[k] for k in range(n - 1, 0, -1)],
        gradients=[d.gradients[p.name] for p in d.program.params],
        updates=d.updates(),
        stages=d.stages,
    )
