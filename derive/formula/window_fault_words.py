"""What a loop body NumPy refuses does wrong, in words (``window_faults`` judges it).

Two faults real loop code makes are named: the gradient flowing in taken by a window at
input coordinates (``dA[i, vert_start:vert_end, …]``, marsggbo's pool_backward) instead
of its one entry at the window's output position, and a bias gradient indexed by the
example and position (``db[i, h, w, c]``, one entry per filter). For the first, the
snippet is run again with that entry (``dA[i, h, w, c]``): if it then gives the
derivation's gradient the window was the one mistake; if not, the rerun's own difference
(a usual slip, a factor) is the second. Any other fault is said as NumPy says it.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from lark import Token, Tree

from derive.formula.window_errors import LoopError, ShapeFault
from derive.formula.window_layers import BIAS_GRADS, UPSTREAM, Layer, draw, gradients
from derive.formula.window_lines import Block, assigned, names
from derive.formula.window_loops import MAX_STEPS
from derive.formula.window_run import run_reading
from derive.formula.window_slips import diagnose, sizes_of, slips

#: The gradient flowing into a conv or pooling layer, as loop code names it.
UPSTREAM_NAMES = frozenset({*UPSTREAM, "dZ", "dA"})


def fault_said(
    body: list[Block], layer: Layer, layout: str, err: ShapeFault, where: str, quantity: Any
) -> str:
    """The diagnosis of loops NumPy refuses on one reading (see the module's docstring)."""
    line = f"`{err.src.strip()}`: " if err.src.strip() else ""
    numpy = f"The loops fail in NumPy on {where}: {line}{str(err).strip()}"
    fault = _statement(body, err.src)
    windowed = _window_of_upstream(fault) if fault is not None else ""
    if windowed:
        said = (
            f"{windowed} is the gradient flowing in, the size of the output: it is indexed "
            "by a window at input coordinates; take its one entry at the output position "
            "the window belongs to"
        )
        rest = _with_the_entry(body, windowed, layer, layout, quantity)
        if rest == "":
            return f"{said} (with it the loops give the derivation's gradient). {numpy}"
        if rest is not None:
            return f"two mistakes: {said}; and with that entry, {rest}. {numpy}"
        return f"{said}. {numpy}"
    target = _bias_target(fault) if fault is not None else ""
    if target:
        return (
            f"{target} holds one entry per filter, the sum over the examples and positions "
            f"of the gradient flowing in: indexing it by the example and position runs past "
            f"its shape; sum each window's entry into the filter's one entry. {numpy}"
        )
    return (
        f"{numpy[0].lower()}{numpy[1:]} — an array is indexed past its extent or with "
        "shapes that do not fit (an index on the wrong axis, a window taken of an array the "
        "output's size, a whole map where one entry belongs)"
    )


def _statement(body: list[Block], src: str) -> Block | None:
    """The block whose statement failed."""
    stack = list(body)
    while stack:
        b = stack.pop()
        if b.src == src and src:
            return b
        stack.extend(b.body)
    return None


def _windows(tree: Tree[Any]) -> list[Tree[Any]]:
    """The index nodes of the gradient flowing in that take a window of it: a slice whose
    bounds are computed from names (``vert_start:vert_end``), not a fixed ``1:``."""
    return [
        t
        for t in tree.iter_subtrees()
        if t.data == "index"
        and t.children[0].data == "name"
        and str(t.children[0].children[0]) in UPSTREAM_NAMES
        and any(_window(sub) for sub in t.children[1].children)
    ]


def _window(sub: Tree[Any]) -> bool:
    """A slice with bounds that read names."""
    return sub.data == "colon" and any(names(c) for c in sub.children if isinstance(c, Tree))


def _window_of_upstream(block: Block) -> str:
    """The upstream gradient's name if the statement slices it by bounds; '' otherwise."""
    found = _windows(block.tree)
    return str(found[0].children[0].children[0]) if found else ""


def _bias_target(block: Block) -> str:
    """The bias gradient the failing statement writes by element, if it does."""
    t = block.tree
    if t.data not in ("chain", "augassign") or t.children[0].data != "index":
        return ""
    base = t.children[0].children[0]
    word = str(base.children[0]) if base.data == "name" else ""
    return word if word in BIAS_GRADS else ""


def _with_the_entry(
    body: list[Block], word: str, layer: Layer, layout: str, quantity: Any
) -> str | None:
    """Run the snippet with each window of ``word`` made its entry at (h, w): '' when it
    then gives every gradient right, the remaining difference in words when it does not,
    None when it cannot be run so (h or w the snippet's own, not two bounded axes)."""
    written: set[str] = set()
    for b in body:
        written |= assigned(b)
    if written & {"h", "w"}:
        return None
    fixed = copy.deepcopy(body)
    stack = list(fixed)
    while stack:
        b = stack.pop()
        stack.extend(b.body)
        for t in _windows(b.tree):
            subs = t.children[1].children
            bounded = [k for k, sub in enumerate(subs) if _window(sub)]
            if len(bounded) != 2:
                return None
            for k, var in zip(bounded, ("h", "w"), strict=True):
                subs[k] = Tree("name", [Token("NAME", var)])
    values = draw(layer, np.random.default_rng(2))
    grads = gradients(layer, values)
    try:
        out = run_reading(fixed, layer, layout, values, [MAX_STEPS // 4])
    except LoopError:
        return None
    out.pop("notes")
    wrong = [k for k in sorted(out) if not _same(out[k][1], grads[k])]
    if not wrong:
        return ""
    key = wrong[0]
    return diagnose(
        out[key][0],
        out[key][1],
        grads[key],
        slips(layer, values)[key],
        quantity(key, layer)[0],
        sizes_of(layer, values),
    )


def _same(got: Any, want: Any) -> bool:
    """Whether the loops' array is the derivation's (to rounding)."""
    return bool(got.shape == want.shape and np.allclose(got, want, rtol=1e-9, atol=1e-9))
