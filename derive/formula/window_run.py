"""One reading of loop code over windows: the snippet run on one layer in one layout.

The loops a copied loop body leaves out are added (each over the extent of the axis its
variable indexes); a gradient the snippet only reads (it unpads it) is given as the
derivation's; the arrays it writes under a gradient's name are taken back to NCHW, a
padded one cropped. ``window_check`` weighs the readings.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from derive.formula.window_errors import LoopError, NoRange, ShapeFault
from derive.formula.window_layers import (
    BIAS_GRADS,
    BIASES,
    GRADS,
    INPUT_GRADS,
    INPUTS,
    KERNEL_AXES,
    KERNEL_GRADS,
    KERNELS,
    MAP_AXES,
    UPSTREAM,
    VIEWS,
    Layer,
    layer_env,
    ng_names,
    padded_truth,
)
from derive.formula.window_lines import (
    Block,
    assigned,
    index_arities,
    names,
    reads,
    subscripts,
)
from derive.formula.window_loops import Runner


def run_reading(
    body: list[Block], layer: Layer, layout: str, values: dict[str, Any], budget: list[int]
) -> dict[str, Any]:
    """Run the snippet in one reading; the gradient arrays it wrote, as NCHW arrays."""
    written_names: set[str] = set()
    for b in body:
        written_names |= assigned(b)
    written_names |= {VIEWS[w] for w in written_names if w in VIEWS}  # written through a view
    inside, bare = subscripts(body)
    loop_vars = {v for v, _, _ in bare} - written_names - {"None", "True", "False"}
    lazy = ng_names(layout)
    implied = implied_loops(body, lazy, written_names, values)
    loop_vars |= set(implied)
    env = layer_env(layer, layout, values, loop_vars)
    if layout == "NHWC" and _bias_arity(body) == {1}:  # db = np.zeros(n_C): db[c]
        env |= {name: np.zeros(env[name].size) for name in (*BIAS_GRADS, *BIASES) if name in env}
    loop_vars |= {
        v
        for v in inside - written_names - {"None", "True", "False"}
        if v not in env and v not in lazy
    }
    loops, overruled = _loops(env, loop_vars, bare, implied)
    _fixed_counts(body, layer, values)
    for grad in GRADS:
        if grad not in written_names and grad in env:
            del env[grad]  # read only: a gradient the snippet is given, not one it makes
    given = {"dA_prev_pad": "dA", "dx_pad": "dA"}
    sizes = {k: v for k, v in env.items() if isinstance(v, int)}
    held = frozenset({*INPUTS, *KERNELS, *BIASES, *UPSTREAM, *sizes})
    runner = Runner(env, lazy, sizes, budget, held)
    if implied:
        runner.notes.append(
            "the loops the snippet leaves out read from its window names, as in Ng's "
            "conv/pool_backward: " + ", ".join(f"{v} in range({e})" for v, e in implied.items())
        )
    if overruled:
        runner.notes.append(
            ", ".join(overruled) + ": indexes arrays of different extents; run over the "
            "axis of the gradient flowing in (the loops run over the output's positions)"
        )
    handed = False  # a gradient the snippet is given (it only unpads it)
    for name in set(given) - written_names:
        if reads(body, name) or (name == "dA_prev_pad" and reads(body, "da_prev_pad")):
            env[name] = padded_truth(values, layer, layout)
            handed = True
    uses = [
        bool(names(b.tree) & (loop_vars | set(lazy)))
        or any(names(x.tree) & (loop_vars | set(lazy)) for x in b.body)
        for b in body
    ]
    if not any(uses):  # its own for loops only
        uses = [True] * len(body)
    first, last = uses.index(True), len(uses) - 1 - uses[::-1].index(True)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # the mean of an empty window: told below, as NaN
        try:
            runner.run(body[:first])
            runner.nest(loops, body[first : last + 1])
            runner.run(body[last + 1 :])
        except ShapeFault as err:
            err.notes = [*runner.notes, *_conventions(runner)]
            raise
        except LoopError:
            raise
        except (TypeError, ValueError, IndexError, KeyError, ArithmeticError) as err:
            raise LoopError(f"the code fails on the layer's arrays: {err}") from None
    wrote = {VIEWS.get(w, w) for w in runner.written}
    out: dict[str, Any] = {}
    to = MAP_AXES[layout]
    for name in INPUT_GRADS:  # the unpadded first: dx when both dx_pad and dx are written
        if name in wrote and "dA" not in out:
            arr = _four_axes(runner.env[name], name).transpose(to)
            if INPUT_GRADS[name] and layer.p:
                arr = arr[:, :, layer.p : -layer.p, layer.p : -layer.p]
            out["dA"] = (name, arr)
    if "dA" in out and layer.kind == "conv" and not handed and not set(KERNELS) & runner.read_given:
        raise LoopError(f"{out['dA'][0]} is made without the kernel: not a convolution's")
    for name in KERNEL_GRADS:
        if name in wrote and layer.kind == "conv" and "dK" not in out:
            kernel = _four_axes(runner.env[name], name).transpose(KERNEL_AXES[layout])
            out["dK"] = (name, kernel)
    for name in BIAS_GRADS:
        if name in wrote and layer.kind == "conv" and "db" not in out:
            out["db"] = (name, np.asarray(runner.env[name], dtype=float).reshape(-1))
    if not out:
        raise LoopError("the loops write no gradient array (dx, dx_pad, dA_prev, dW, dw, db)")
    runner.notes += _conventions(runner)
    if not all(np.isfinite(arr).all() for _, arr in out.values()):
        raise LoopError("the loops give NaN or infinite entries (a window outside its array?)")
    out["notes"] = ("overruled" if overruled else "", runner.notes)
    return out


def _bias_arity(body: list[Block]) -> set[int]:
    """How many indices the snippet gives the bias or its gradient, wherever it indexes
    one: NHWC code holds db as Ng's 1×1×1×n_C or as a vector of n_C (``db[c]``), and only
    the snippet's own indexing says which (a vector indexed so is no fault of the code)."""
    return set(index_arities(body, (*BIAS_GRADS, *BIASES)))


def _conventions(runner: Runner) -> list[str]:
    """The note on Ng's window names the run read without the snippet setting them."""
    if not runner.conventions:
        return []
    used = ", ".join(sorted(runner.conventions))
    return [
        f"{used}: not set by the snippet, read as in Ng's conv/pool_backward (vert_start = "
        "h * stride, vert_end = vert_start + f, a_slice and a_prev_slice the window, "
        "mask its arg-max, da_prev_pad = dA_prev_pad[i]; his helpers "
        "create_mask_from_window and distribute_value)"
    ]


def implied_loops(
    body: list[Block], lazy: dict[str, Any], written: set[str], values: dict[str, Any]
) -> dict[str, int]:
    """The loop variables Ng's window names stand on (``vert_start = h * stride``,
    ``da_prev_pad = dA_prev_pad[i]``, ``a_prev_slice``'s channel ``c``) when the snippet
    reads those names without setting them and never reads the variable itself: his loops
    run over the output's examples, rows, columns and channels, so each is that extent."""
    n, _, _, _ = values["A"].shape
    _, f, ho, wo = values["G"].shape
    extent = {"i": n, "h": ho, "w": wo, "c": f}
    read: set[str] = set()
    for b in body:
        read |= reads_all(b)
    out: dict[str, int] = {}
    for name in sorted((read & set(lazy)) - written):
        for var in CONVENTION_LOOPS.get(name, ()):
            if var not in read and var not in written:
                out[var] = extent[var]
    return out


def reads_all(block: Block) -> set[str]:
    """Every name a block and its nested blocks read."""
    out = names(block.tree)
    for inner in block.body:
        out |= reads_all(inner)
    return out


#: The loop variables each of Ng's window names is computed from (``ng_names``).
CONVENTION_LOOPS = {
    "vert_start": ("h",),
    "vert_end": ("h",),
    "horiz_start": ("w",),
    "horiz_end": ("w",),
    "da_prev_pad": ("i",),
    "a_prev_pad": ("i",),
    "a_prev": ("i",),
    "a_slice": ("i", "h", "w"),
    "a_prev_slice": ("i", "h", "w", "c"),
    "mask": ("i", "h", "w", "c"),
}


def _loops(
    env: dict[str, Any],
    loop_vars: set[str],
    bare: list[Any],
    implied: dict[str, int],
) -> tuple[list[tuple[str, int]], list[str]]:
    """The loops the snippet leaves out, each over the extent of the axis its variable
    indexes (all its uses must agree), and the variables whose uses disagreed. Where they
    do not, a variable that indexes the gradient flowing in runs over that axis: the loops
    of a conv's or pooling's backward pass (CS231n's, Ng's) run over the output's
    positions, and an array indexed past its own extent is the code's mistake, told when
    it runs."""
    loops, overruled = [], []
    upstream = {*UPSTREAM, "dZ", "dA"}
    for var in sorted(loop_vars):
        uses = [
            (a, ax, env[a].shape[ax])
            for v, a, ax in bare
            if v == var and isinstance(env.get(a), np.ndarray) and ax < env[a].ndim
        ]
        extents = {e for _, _, e in uses} | ({implied[var]} if var in implied else set())
        if len(extents) != 1:
            flowing = {e for a, _, e in uses if a in upstream}
            if len(flowing) != 1 or (var in implied and implied[var] not in flowing):
                raise NoRange(f"cannot tell what range the loop variable {var} runs over")
            extents = flowing
            overruled.append(var)
        loops.append((var, extents.pop()))
    return loops, overruled


def _fixed_counts(body: list[Block], layer: Layer, values: dict[str, Any]) -> None:
    """Refuse a loop over a fixed count (``range(26)``) that is none of the layer's sizes
    as run: the code would cover a part of the arrays, or run past them, only because
    derive runs it at sizes other than the ones it was written for."""
    n, c, h, w = values["A"].shape
    _, f, ho, wo = values["G"].shape
    known = {n, c, h, w, f, ho, wo, layer.k, layer.s, h + 2 * layer.p, w + 2 * layer.p}
    stack = list(body)
    while stack:
        b = stack.pop()
        stack.extend(b.body)
        for t in b.tree.iter_subtrees():
            if t.data != "call" or t.children[0].data != "name" or len(t.children) < 2:
                continue
            if str(t.children[0].children[0]) not in ("range", "xrange") or not t.children[1]:
                continue
            for arg in t.children[1].children[:2]:
                if arg.data == "number" and str(arg.children[0]).isdigit():
                    count = int(str(arg.children[0]))
                    if count >= 2 and count not in known:
                        raise LoopError(
                            f"range({count}) is a fixed count, none of the layer's sizes at "
                            f"the sizes derive runs it ({n} samples, {c} channels, {h}x{w}): "
                            "write the size by name (range(H_out))"
                        )


def _four_axes(value: Any, name: str) -> Any:
    """A feature map's or kernel's gradient as the loops left it: a 4-axis array."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim != 4:
        raise LoopError(f"{name} has {arr.ndim} axes, not the 4 of a feature map or kernel")
    return arr
