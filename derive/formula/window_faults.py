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
name another reading knows, or loops whose range that reading cannot tell). Anything
else (a function not run here, a name no reading knows) leaves the loops unread.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from derive.formula.answer import CheckResult
from derive.formula.window_errors import LoopError, NoRange, ShapeFault, Unknown
from derive.formula.window_layers import (
    BIAS_GRADS,
    INPUT_GRADS,
    KERNEL_GRADS,
    UPSTREAM,
    VIEWS,
    Layer,
    draw,
    layer_env,
    ng_names,
)
from derive.formula.window_lines import Block, assigned

#: The gradient flowing into a conv or pooling layer, as loop code names it.
UPSTREAM_NAMES = frozenset({*UPSTREAM, "dZ", "dA"})


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
    if not keys:
        return None
    faults.sort(key=lambda f: "too many indices" in str(f[2]))  # that one: the layout's
    layer, layout, err = faults[0]
    assert isinstance(err, ShapeFault)
    windowed = _window_of_upstream(body, err.src)
    kind = "conv" if layer.kind == "conv" else layer.kind + " pooling"
    where = (
        f"layer {layer.number} ({kind}, kernel {layer.k}, stride {layer.s}, padding "
        f"{layer.p}) at this network's sizes, {layout}"
    )
    line = f"`{err.src.strip()}`: " if err.src.strip() else ""
    others = len({(la.number, lay) for la, lay, _ in faults}) - 1
    return CheckResult(
        "incorrect",
        ", ".join(quantity(k, layer)[0] for k in keys),
        "; ".join(quantity(k, layer)[1] for k in keys),
        "numeric (loops run)",
        diagnosis=(
            f"{windowed} is the gradient flowing in, the size of the output: it is indexed "
            "by a window at input coordinates; take its one entry at the output position "
            "the window belongs to. "
            if windowed
            else ""
        )
        + f"The loops fail in NumPy on {where}: {line}{err}"
        + (
            ""
            if windowed
            else " — an array is indexed past its extent or with shapes that do not fit (an "
            "index on the wrong axis, a window taken of an array the output's size, a whole "
            "map where one entry belongs)"
        ),
        notes=[*err.notes]
        + [
            f"read as loops over the windows of {where}"
            + (f"; {others} other reading(s) fail the same way" if others else "")
            + "; the readings of other layers or layouts do not know the snippet's names"
        ],
    )


def _window_of_upstream(body: list[Block], src: str) -> str:
    """The upstream gradient's name if the failing statement slices it by bounds
    (``dA[i, vert_start:vert_end, …]``): loops over windows read that gradient one entry
    per output position; '' otherwise."""
    stack = list(body)
    while stack:
        b = stack.pop()
        stack.extend(b.body)
        if b.src != src:
            continue
        for t in b.tree.iter_subtrees():
            if t.data != "index" or t.children[0].data != "name":
                continue
            word = str(t.children[0].children[0])
            if word in UPSTREAM_NAMES and any(
                sub.data == "colon" and sub.children for sub in t.children[1].children
            ):
                return word
    return ""
