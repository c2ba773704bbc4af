"""A snippet that only sets a window's corners, as Ng's course names them.

Every copy of Ng's ``conv_backward`` and ``pool_backward`` finds the window of output
position (h, w) by four lines: ``vert_start = h * stride``, ``vert_end = vert_start + f``,
``horiz_start = w * stride``, ``horiz_end = horiz_start + f``; a slip there (the stride
left out, so the windows move by one) sends every gradient to the wrong windows. Such
lines, copied alone, are judged against the forward pass's own windows: run for each
output position of each conv or pooling layer of the network (its kernel and stride),
they must give the window the forward pass used. CORRECT if they do for some layer (the
snippet's); INCORRECT if they do for none, said with the first window that differs.
"""

from __future__ import annotations

from typing import Any

from derive.formula.answer import CheckResult
from derive.formula.window_errors import LoopError
from derive.formula.window_layers import Layer, layers_of
from derive.formula.window_lines import Block
from derive.formula.window_loops import MAX_STEPS, Runner

#: Ng's corner names, and each one's value at output position (h, w).
CORNERS = ("vert_start", "vert_end", "horiz_start", "horiz_end")


def corner_verdict(network: Any, body: list[Block]) -> CheckResult | None:
    """The verdict on a snippet of corner lines alone; None when it is not one."""
    targets = [_target(b) for b in body]
    if not body or None in targets or not {"vert_start", "horiz_start"} <= set(targets):
        return None
    budget = [MAX_STEPS]
    found: list[tuple[Layer, str]] = []
    for layer in layers_of(network):
        try:
            differs = _first_difference(body, layer, budget)
        except LoopError:
            return None
        if differs == "":
            kind = "conv" if layer.kind == "conv" else f"{layer.kind} pooling"
            return CheckResult(
                "correct",
                f"the windows of layer {layer.number}",
                _ng(layer),
                "numeric (loops run)",
                notes=[
                    f"read as the window corners of layer {layer.number} ({kind}, kernel "
                    f"{layer.k}, stride {layer.s}) for every output position (h, w), as in "
                    "Ng's conv/pool_backward"
                ],
            )
        found.append((layer, differs))
    if not found:
        return None
    layer, differs = found[0]
    slip = (
        f"the windows move by 1, not by the stride {layer.s}: "
        if layer.s > 1 and _unstrided(body, layer, budget)
        else ""
    )
    return CheckResult(
        "incorrect",
        f"the windows of layer {layer.number}",
        _ng(layer),
        "numeric (loops run)",
        diagnosis=f"{slip}{differs}; in the forward pass window (h, w) starts at "
        f"(h·{layer.s}, w·{layer.s}) and is {layer.k} wide (vert_start = h * stride), so "
        "the backward pass routes each gradient entry to another window"
        + ("" if len(found) == 1 else f" (the same in the network's {len(found)} layers)"),
        notes=[
            "read as the window corners of each conv or pooling layer for every output "
            "position (h, w), as in Ng's conv/pool_backward; none gives the forward's windows"
        ],
    )


def _target(block: Block) -> str | None:
    """The corner a top-level line sets (``vert_start = …``), else None."""
    t = block.tree
    if block.body or t.data != "chain" or len(t.children) != 2:
        return None
    target = t.children[0]
    word = str(target.children[0]) if target.data == "name" else ""
    return word if word in CORNERS else None


def _truth(layer: Layer, h: int, w: int) -> dict[str, int]:
    s, k = layer.s, layer.k
    return {
        "vert_start": h * s,
        "vert_end": h * s + k,
        "horiz_start": w * s,
        "horiz_end": w * s + k,
    }


def _run(body: list[Block], layer: Layer, h: int, w: int, budget: list[int]) -> dict[str, Any]:
    """The corners the lines give at output position (h, w) of the layer."""
    env: dict[str, Any] = {"h": h, "w": w, "stride": layer.s, "f": layer.k}
    runner = Runner(env, {}, {}, budget)
    runner.run(body)
    return {name: env[name] for name in CORNERS if name in env}


def _first_difference(body: list[Block], layer: Layer, budget: list[int]) -> str:
    """'' if the lines give every window of the layer, else the first that differs."""
    ho, wo = _out(layer)
    for h in range(ho):
        for w in range(wo):
            got, want = _run(body, layer, h, w, budget), _truth(layer, h, w)
            bad = [k for k in got if got[k] != want[k]]
            if bad:
                return (
                    f"at output position (h, w) = ({h}, {w}) the lines give "
                    + ", ".join(f"{k} = {got[k]}" for k in bad)
                    + ", the forward's "
                    + ", ".join(f"{k} = {want[k]}" for k in bad)
                )
    return ""


def _unstrided(body: list[Block], layer: Layer, budget: list[int]) -> bool:
    """Whether the lines give the windows of the same layer with stride 1."""
    one = Layer(layer.number, layer.kind, layer.k, 1, layer.p, h=layer.h, w=layer.w)
    ho, wo = _out(layer)
    for h in range(ho):
        for w in range(wo):
            got, want = _run(body, layer, h, w, budget), _truth(one, h, w)
            if any(got[k] != want[k] for k in got):
                return False
    return True


def _out(layer: Layer) -> tuple[int, int]:
    """The layer's output height and width at its sizes."""
    h, w = layer.sizes()
    return (
        (h + 2 * layer.p - layer.k) // layer.s + 1,
        (w + 2 * layer.p - layer.k) // layer.s + 1,
    )


def _ng(layer: Layer) -> str:
    """The forward's window of output (h, w), in Ng's lines."""
    return (
        "vert_start = h * stride; vert_end = vert_start + f; horiz_start = w * stride; "
        f"horiz_end = horiz_start + f (stride {layer.s}, f = {layer.k})"
    )
