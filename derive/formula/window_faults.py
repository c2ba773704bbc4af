"""Loops over windows that NumPy itself refuses at the network's own sizes.

A conv's or pooling's backward pass written as loops may index an array past its axis
(``db[i, h, w, c]`` on a bias gradient of shape 1×1×1×n_C), take a window of the
output-sized gradient at input coordinates (``dA[i, vert_start:vert_end, …]``), or
multiply shapes that do not align (``np.dot`` of a window and a whole map). Such code
fails as it stands: the DeepLearning.AI forum's tracebacks quote the very NumPy errors.
The verdict INCORRECT is given only when that is what every reading says: no reading
runs, at least one fails with NumPy's own index or shape error at the network's own
sizes (not sizes derive chose, where a number the code hard-codes could be to blame),
and every other reading fails only because its layer or layout is not the snippet's (a
name another reading knows, or loops whose range that reading cannot tell); and the
snippet reads the gradient flowing in by four indices, as a batch of maps (code written
for one example fails on a batch for that alone). Anything else (a function not run
here, a name no reading knows) leaves the loops unread.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from derive.formula.answer import CheckResult
from derive.formula.window_errors import LoopError, NoRange, ShapeFault, Unknown
from derive.formula.window_fault_words import UPSTREAM_NAMES, fault_said
from derive.formula.window_layers import (
    BIAS_GRADS,
    INPUT_GRADS,
    KERNEL_GRADS,
    VIEWS,
    Layer,
    draw,
    layer_env,
    ng_names,
)
from derive.formula.window_lines import Block, assigned, index_arities


@cache
def reading_names() -> frozenset[str]:
    """Every name some reading gives (a conv's or a pooling's, NCHW or NHWC)."""
    out: set[str] = set()
    for kind in ("conv", "max"):
        layer = Layer(0, kind, 2, 1, 0)
        values = draw(layer, np.random.default_rng(0))
        for layout in ("NCHW", "NHWC"):
            out |= set(layer_env(layer, layout, values, set())) | set(ng_names(layout))
    return frozenset(out)


def written_keys(body: list[Block]) -> list[str]:
    """The gradients the snippet writes, as the checker keys them (dA, dK, db)."""
    wrote: set[str] = set()
    for b in body:
        wrote |= assigned(b)
    wrote = {VIEWS.get(w, w) for w in wrote}
    return [
        key
        for key, names in (("dA", INPUT_GRADS), ("dK", KERNEL_GRADS), ("db", BIAS_GRADS))
        if wrote & set(names)
    ]


def fault_verdict(
    body: list[Block],
    failed: list[tuple[Layer, str, LoopError]],
    quantity: Any,
) -> CheckResult | None:
    """INCORRECT when every reading that is the snippet's fails in NumPy (see the module's
    docstring); None when the loops stay unread. ``quantity(key, layer)`` names a
    gradient and its derived form."""
    faults = [(layer, layout, e) for layer, layout, e in failed if isinstance(e, ShapeFault)]
    if not faults or not all(layer.h for layer, _, _ in faults):
        return None
    known = reading_names()
    for _, _, err in failed:
        if isinstance(err, (ShapeFault, NoRange)):
            continue
        if isinstance(err, Unknown) and err.word in known:
            continue
        return None
    keys = written_keys(body)
    if not keys or not _batch_rank(body):
        return None
    faults.sort(key=lambda f: "too many indices" in str(f[2]))  # that one: the layout's
    layer, layout, err = faults[0]
    assert isinstance(err, ShapeFault)
    kind = "conv" if layer.kind == "conv" else layer.kind + " pooling"
    where = (
        f"layer {layer.number} ({kind}, kernel {layer.k}, stride {layer.s}, padding "
        f"{layer.p}) at this network's sizes, {layout}"
    )
    others = len({(la.number, lay) for la, lay, _ in faults}) - 1
    return CheckResult(
        "incorrect",
        ", ".join(quantity(k, layer)[0] for k in keys),
        "; ".join(quantity(k, layer)[1] for k in keys),
        "numeric (loops run)",
        diagnosis=fault_said(body, layer, layout, err, where, quantity),
        notes=[*err.notes]
        + [
            f"read as loops over the windows of {where}"
            + (f"; {others} other reading(s) fail the same way" if others else "")
            + "; the readings of other layers or layouts do not know the snippet's names"
        ],
    )


def _batch_rank(body: list[Block]) -> bool:
    """Whether the snippet reads the gradient flowing in by four indices, every time, as
    the readings hold it (a batch of maps): code for one example (``dZ[h, w, c]``, a class
    that runs per sample) fails on a batch for that reason alone, so its faults are not
    the code's and no verdict is given."""
    counts = index_arities(body, UPSTREAM_NAMES)
    return bool(counts) and all(c == 4 for c in counts)
