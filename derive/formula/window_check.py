"""Judge a convolution's or pooling's backward pass written as NumPy loops over windows.

The snippet is run (``window_loops``) on small random arrays of each convolutional or
pooling layer of the network (its kernel, stride and padding; small batch, channels and
maps), in both layouts real code uses (NCHW as CS231n, NHWC as Ng's course), and every
gradient array it writes is compared with the derivation's own backward rule for that
layer (``core.rules``: ``ConvBackInput``, ``ConvBackKernel``, ``ChannelSum``, ``Unpool``)
evaluated by the core's NumPy interpreter on the same arrays. A reading is kept only if
the snippet runs in it. One that gives every gradient exactly decides CORRECT (on random
arrays that is no accident); INCORRECT needs every reading that runs to find it wrong, of
the same quantities; otherwise the loops are refused, never guessed about.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np

from derive.formula.answer import CheckResult
from derive.formula.ir import FormulaError
from derive.formula.python_ir import WINDOWS
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
    draw,
    gradients,
    layer_env,
    layers_of,
    ng_names,
    padded_truth,
    slips,
)
from derive.formula.window_lines import (
    Block,
    LoopError,
    accumulated,
    assigned,
    blocks,
    names,
    reads,
    subscripts,
)
from derive.formula.window_loops import MAX_STEPS, Runner, TooLong


def _loops(
    body: list[Block], env: dict[str, Any], loop_vars: set[str], bare: list[Any]
) -> list[tuple[str, int]]:
    """The loops the snippet leaves out, each over the extent of the axis its variable
    indexes (all its uses must agree)."""
    loops = []
    for var in sorted(loop_vars):
        extents = {
            env[a].shape[ax]
            for v, a, ax in bare
            if v == var and isinstance(env.get(a), np.ndarray) and ax < env[a].ndim
        }
        if len(extents) != 1:
            raise LoopError(f"cannot tell what range the loop variable {var} runs over")
        loops.append((var, extents.pop()))
    return loops


def _run(
    body: list[Block], layer: Layer, layout: str, values: dict[str, Any], budget: list[int]
) -> dict[str, Any]:
    """Run the snippet in one reading; the gradient arrays it wrote, as NCHW arrays."""
    written_names: set[str] = set()
    for b in body:
        written_names |= assigned(b)
    written_names |= {VIEWS[w] for w in written_names if w in VIEWS}  # written through a view
    inside, bare = subscripts(body)
    loop_vars = {v for v, _, _ in bare} - written_names - {"None", "True", "False"}
    env = layer_env(layer, layout, values, loop_vars)
    lazy = ng_names(layout)
    loop_vars |= {
        v
        for v in inside - written_names - {"None", "True", "False"}
        if v not in env and v not in lazy
    }
    loops = _loops(body, env, loop_vars, bare)
    _fixed_counts(body, layer, values)
    for grad in GRADS:
        if grad not in written_names and grad in env:
            del env[grad]  # read only: a gradient the snippet is given, not one it makes
    given = {"dA_prev_pad": "dA", "dx_pad": "dA"}
    sizes = {k: v for k, v in env.items() if isinstance(v, int)}
    held = frozenset({*INPUTS, *KERNELS, *BIASES, *UPSTREAM, *sizes})
    runner = Runner(env, lazy, sizes, budget, held)
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
    if runner.conventions:
        used = ", ".join(sorted(runner.conventions))
        runner.notes.append(
            f"{used}: not set by the snippet, read as in Ng's conv/pool_backward (vert_start = "
            "h * stride, vert_end = vert_start + f, a_slice and a_prev_slice the window, "
            "mask its arg-max, da_prev_pad = dA_prev_pad[i]; his helpers "
            "create_mask_from_window and distribute_value)"
        )
    if not all(np.isfinite(arr).all() for _, arr in out.values()):
        raise LoopError("the loops give NaN or infinite entries (a window outside its array?)")
    out["notes"] = ("", runner.notes)
    return out


def quantity(key: str, layer: Layer) -> tuple[str, str]:
    """What a gradient array is, in the network's names, and its derived form in derive's
    NumPy helpers (as ``derive export`` writes them)."""
    n = layer.number
    below = "X" if n == 1 else f"A_{n - 1}"
    g = f"dZ{n}" if layer.kind == "conv" else f"dA{n}"
    s, p, k = layer.s, layer.p, layer.k
    if key == "dA" and layer.kind == "conv":
        h, w = (layer.h, layer.w) if layer.h else ("h", "w")
        return f"∂L/∂{below}", f"d{below} = conv2d_back_input({g}, K{n}, {s}, {p}, {h}, {w})"
    if key == "dA":
        return f"∂L/∂{below}", f"d{below} = {layer.kind}pool2d_back({g}, {below}, {k}, {s})"
    if key == "dK":
        return f"∂L/∂K_{n}", f"dK{n} = conv2d_back_kernel({below}, {g}, {s}, {p}, {k})"
    return f"∂L/∂b_{n}", f"db{n} = {g}.sum(axis=(0, 2, 3))"


def check_loops(network: Any, text: str, seed: int = 0) -> CheckResult:
    """The verdict on loop code over windows, or a FormulaError saying why it is not read."""
    body = blocks(text)
    rng = np.random.default_rng(seed)
    readings: list[tuple[str, Layer, dict[str, Any], dict[str, Any], dict[str, Any]]] = []
    errors: list[str] = []
    heard: list[list[str]] = []
    budget = [MAX_STEPS]
    for layer in layers_of(network):
        values = draw(layer, rng)
        grads = gradients(layer, values)
        for layout in ("NCHW", "NHWC"):
            try:
                out = _run(body, layer, layout, values, budget)
                said = out.pop("notes")[1]
                for key, (_, arr) in out.items():
                    if arr.shape != grads[key].shape:
                        raise LoopError(f"{key} has shape {arr.shape}, not {grads[key].shape}")
            except TooLong as err:
                raise FormulaError(
                    f"a convolution or pooling written as NumPy loops: {err}"
                ) from None
            except LoopError as err:
                errors.append(str(err))
                continue
            readings.append((layout, layer, out, grads, values))
            heard.append(said)
            if all(_same(out[k][1], grads[k]) for k in out):
                break  # every gradient exactly, on random arrays: no reading can do better
        if readings and all(_same(v[1], readings[-1][3][k]) for k, v in readings[-1][2].items()):
            break
    if not readings:
        raise FormulaError(
            "a convolution or pooling written as NumPy loops over windows, not read: "
            + (_telling(errors) if errors else "the network has no conv or pooling layer")
        )
    right = [r for r in readings if all(_same(r[2][k][1], r[3][k]) for k in r[2])]
    if not right and len({tuple(sorted(r[2])) for r in readings}) > 1:
        raise FormulaError(
            "cannot tell: the loops are read as different gradients in different readings "
            "(layer, layout NCHW or NHWC), none of them right; check the layer's whole "
            "gradient instead"
        )
    pick = readings.index(right[0]) if right else 0
    layout, layer, out, grads, values = readings[pick]
    heard[0] = heard[pick]
    wrong = [k for k in sorted(out) if not _same(out[k][1], grads[k])]
    kind = "conv" if layer.kind == "conv" else layer.kind + " pooling"
    layer_words = (
        f"layer {layer.number} ({kind}, kernel {layer.k}, stride {layer.s}, padding {layer.p})"
    )
    notes = heard[0] + [
        f"read as loops over the windows of {layer_words}, {layout}; "
        + ", ".join(f"{out[k][0]} as {quantity(k, layer)[0]}" for k in sorted(out))
        + f"; run on random arrays of {layer.n} samples and compared with the derivation's "
        "backward rule"
    ]
    expected = "; ".join(quantity(k, layer)[1] for k in sorted(out))
    names_of = ", ".join(quantity(k, layer)[0] for k in sorted(out))
    if not wrong:
        return CheckResult(
            "correct",
            names_of,
            expected,
            "numeric (loops run)",
            notes=notes,
        )
    key = wrong[0]
    repaired = _summed(body, layout, layer, values, grads, budget)
    if repaired is not None:
        return CheckResult(
            "incorrect",
            names_of,
            expected,
            "numeric (loops run)",
            diagnosis=f"`{repaired}` overwrites what earlier windows added: each window's "
            "contribution must be summed into the gradient (+=), as overlapping windows and "
            "the sum over samples and filters require",
            notes=notes,
        )
    return CheckResult(
        "incorrect",
        names_of,
        expected,
        "numeric (loops run)",
        diagnosis=_diagnose(
            out[key][0], out[key][1], grads[key], slips(layer, values)[key], quantity(key, layer)[0]
        ),
        notes=notes,
    )


def _diagnose(name: str, got: Any, want: Any, slipped: list[tuple[str, Any]], what: str) -> str:
    """What the comparison shows: a usual slip's gradient, a factor, or where they differ."""
    for says, value in slipped:
        if np.allclose(got, value, rtol=1e-9, atol=1e-9):
            return says
    nz = np.abs(want) > 1e-12
    if nz.any() and not np.any(got[~nz]):
        ratio = got[nz] / want[nz]
        if abs(ratio.flat[0]) > 1e-9 and np.allclose(ratio, ratio.flat[0], rtol=1e-9):
            return f"a factor {ratio.flat[0]:.4g}: {name} is {ratio.flat[0]:.4g} × {what}"
    bad = ~np.isclose(got, want, rtol=1e-9, atol=1e-9)
    where = tuple(int(i) for i in np.argwhere(bad)[0])
    return (
        f"{name} is not {what}: the loops give a different array ({int(bad.sum())} of "
        f"{bad.size} entries differ, e.g. at {list(where)} the loops give "
        f"{got[where]:.4g}, the derivation {want[where]:.4g}): no usual slip of loop code "
        "(windows not moved by the stride, a pooling's routing, a factor) explains it"
    )


def looks_looped(text: str) -> bool:
    """Whether a snippet the statement reader refused may be loops over windows: it
    names a window (``vert_start``, ``x_pad``) or indexes an array by three or more axes."""
    if set(re.findall(r"[A-Za-z_]\w*", text)) & WINDOWS:
        return True
    return re.search(r"\w\[[^\[\]]*,[^\[\]]*,[^\[\]]*\]", text) is not None


def has_loops(text: str) -> bool:
    """Whether the snippet has ``for`` lines of its own."""
    return re.search(r"^\s*for\s+\w+\s+in\b", text, re.MULTILINE) is not None


def _summed(
    body: list[Block],
    layout: str,
    layer: Layer,
    values: dict[str, Any],
    grads: dict[str, Any],
    budget: list[int],
) -> str | None:
    """The statement whose ``=`` made ``+=`` gives every gradient right, if there is one."""
    for src, fixed in accumulated(body):
        try:
            out = _run(fixed, layer, layout, values, budget)
        except TooLong:
            return None
        except LoopError:
            continue
        out.pop("notes")
        if all(
            out[k][1].shape == grads[k].shape
            and np.allclose(out[k][1], grads[k], rtol=1e-9, atol=1e-9)
            for k in out
        ):
            return src
    return None


def _telling(errors: list[str]) -> str:
    """The reason to show: from a reading that knew every name, if one did (the others
    only show that the names are another layer's or layout's)."""
    known = [e for e in errors if "is not set by the snippet" not in e]
    return (known or errors)[0]


def _four_axes(value: Any, name: str) -> Any:
    """A feature map's or kernel's gradient as the loops left it: a 4-axis array."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim != 4:
        raise LoopError(f"{name} has {arr.ndim} axes, not the 4 of a feature map or kernel")
    return arr


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


def _same(got: Any, want: Any) -> bool:
    """Whether the loops' array is the derivation's (to rounding)."""
    return bool(got.shape == want.shape and np.allclose(got, want, rtol=1e-9, atol=1e-9))
