"""Judge a convolution's or pooling's backward pass written as NumPy loops over windows.

The snippet is run (``window_loops``) on small random arrays of each convolutional or
pooling layer of the network (its kernel, stride and padding; small batch, channels and
maps), in both layouts real code uses (NCHW as CS231n, NHWC as Ng's course), and every
gradient array it writes is compared with the derivation's own backward rule for that
layer (``core.rules``: ``ConvBackInput``, ``ConvBackKernel``, ``ChannelSum``, ``Unpool``)
evaluated by the core's NumPy interpreter on the same arrays. A reading is kept only if
the snippet runs in it; readings that disagree are refused, never guessed between.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from derive.core import numeric
from derive.core.nodes import ChannelBias, Correlate, Pool, TensorSymbol
from derive.core.rules import RULES
from derive.formula.answer import CheckResult
from derive.formula.ir import FormulaError
from derive.formula.python_ir import WINDOWS
from derive.formula.window_loops import Block, LoopError, Runner, assigned, blocks, names
from derive.spec.records import Conv2d, Pool2d

#: The gradient arrays real loop code writes, by name: (quantity, padded).
INPUT_GRADS = {"dx": False, "dA_prev": False, "dx_pad": True, "dA_prev_pad": True}
KERNEL_GRADS = ("dw", "dW")
#: Ng's per-example views (``da_prev_pad = dA_prev_pad[i]``): written through, read as.
VIEWS = {"da_prev_pad": "dA_prev_pad", "a_prev_pad": "A_prev_pad"}
#: To NCHW from each layout, for maps (N, ., ., .) and kernels.
MAP_AXES = {"NCHW": (0, 1, 2, 3), "NHWC": (0, 3, 1, 2)}
KERNEL_AXES = {"NCHW": (0, 1, 2, 3), "NHWC": (3, 2, 0, 1)}


@dataclass(frozen=True)
class Layer:
    """One layer the loops may be the backward pass of, at small concrete sizes."""

    number: int
    kind: str  # "conv" or "max"/"avg"
    k: int
    s: int
    p: int
    n: int = 2
    c: int = 3
    f: int = 4

    def sizes(self) -> tuple[int, int]:
        """Input height and width: the smallest two, different, that the windows tile."""
        fits = [
            h
            for h in range(self.k, self.k + 4 * self.s + 4)
            if (h + 2 * self.p - self.k) % self.s == 0
        ]
        fits = [h for h in fits if h >= 3] or fits
        return fits[0], fits[1]


def layers_of(network: Any) -> list[Layer]:
    """The network's convolutional and pooling layers."""
    out = []
    for no, layer in enumerate(network.layers, start=1):
        try:  # a kernel or padding left a symbol has no concrete windows: not run
            if isinstance(layer, Conv2d):
                sizes = (int(layer.kernel), int(layer.stride), int(layer.pad))
                out.append(Layer(no, "conv", *sizes))
            elif isinstance(layer, Pool2d):
                out.append(Layer(no, layer.mode, layer.size, int(layer.stride or layer.size), 0))
        except (TypeError, ValueError):
            continue
    return out


def _draw(layer: Layer, rng: np.random.Generator) -> dict[str, Any]:
    """Random NCHW input, kernel and upstream gradient of the layer's small sizes."""
    h, w = layer.sizes()
    values = {"A": rng.standard_normal((layer.n, layer.c, h, w))}
    if layer.kind == "conv":
        values["K"] = rng.standard_normal((layer.f, layer.c, layer.k, layer.k))
    shape = _node(layer, values)[0].shape
    values["G"] = rng.standard_normal(tuple(int(d) for d in shape))
    return values


def _node(layer: Layer, values: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The layer's forward node over named tensors of the values' shapes."""
    a = TensorSymbol("A_prev", *values["A"].shape)
    if layer.kind == "conv":
        k = TensorSymbol("K", *values["K"].shape)
        return Correlate(k, a, layer.s, layer.p), {"A": a, "K": k}
    return Pool(a, layer.kind, layer.k, layer.s), {"A": a}


def _grads(layer: Layer, values: dict[str, Any]) -> dict[str, Any]:
    """The derivation's gradients: the backward rule of the layer's forward node
    (``core.rules``), evaluated by the core's NumPy interpreter."""
    node, leaves = _node(layer, values)
    g = TensorSymbol("G", *values["G"].shape)
    env = {s: values[name] for name, s in leaves.items()} | {g: values["G"]}
    grads = {}
    for arg, expr in RULES[type(node)](node, g, None):
        grads["dA" if arg == leaves["A"] else "dK"] = np.asarray(numeric.evaluate(expr, env))
    if layer.kind == "conv":
        bias = ChannelBias(TensorSymbol("b", layer.f), tuple(node.shape))
        ((_, expr),) = RULES[ChannelBias](bias, g, None)
        grads["db"] = np.asarray(numeric.evaluate(expr, env))
    return grads


def _env(layer: Layer, layout: str, values: dict[str, Any], loop_vars: set[str]) -> dict[str, Any]:
    """The names of the layer's arrays and sizes in one layout (both CS231n's and Ng's)."""
    to = MAP_AXES[layout]
    back = tuple(to.index(i) for i in range(4))
    a = values["A"].transpose(back)
    pad = [(0, 0)] * 4
    for ax in (2, 3):
        pad[to[ax]] = (layer.p, layer.p)
    a_pad = np.pad(a, pad)
    g = values["G"].transpose(back)
    n, c, h, w = values["A"].shape
    _, f, ho, wo = values["G"].shape
    env: dict[str, Any] = {"x": a, "A_prev": a, "x_pad": a_pad, "A_prev_pad": a_pad}
    env |= {"dout": g, ("dZ" if layer.kind == "conv" else "dA"): g}
    env |= {"dx": np.zeros_like(a), "dA_prev": np.zeros_like(a)}
    env |= {"dx_pad": np.zeros_like(a_pad), "dA_prev_pad": np.zeros_like(a_pad)}
    if layer.kind == "conv":
        kt = tuple(KERNEL_AXES[layout].index(i) for i in range(4))
        kernel = values["K"].transpose(kt)
        env |= {"w": kernel, "W": kernel, "dw": np.zeros_like(kernel), "dW": np.zeros_like(kernel)}
        env["db"] = np.zeros(f) if layout == "NCHW" else np.zeros((1, 1, 1, f))
    sizes = {"N": n, "m": n, "C": c, "n_C_prev": c, "H": h, "n_H_prev": h, "n_W_prev": w}
    sizes |= {"F": f, "n_C": f, "HH": layer.k, "WW": layer.k, "f": layer.k, "pool_size": layer.k}
    sizes |= {"H_out": ho, "W_out": wo, "n_H": ho, "n_W": wo, "Hout": ho, "Wout": wo}
    sizes |= {"stride": layer.s, "pad": layer.p, "P": layer.p, "S": layer.s}
    env |= sizes
    return {k: v for k, v in env.items() if k not in loop_vars}


def _ng_names(layout: str) -> dict[str, Callable[[Runner], Any]]:
    """The window names of Ng's course (shared by every copy of its notebook), read from
    the current loop values when the snippet uses them without setting them."""
    v: Callable[[Runner, str], Any] = lambda r, word: r.lookup(word)  # noqa: E731
    table: dict[str, Callable[[Runner], Any]] = {
        "vert_start": lambda r: v(r, "h") * v(r, "stride"),
        "vert_end": lambda r: v(r, "vert_start") + v(r, "f"),
        "horiz_start": lambda r: v(r, "w") * v(r, "stride"),
        "horiz_end": lambda r: v(r, "horiz_start") + v(r, "f"),
    }
    if layout != "NHWC":
        return table

    def window(r: Runner, a: Any) -> Any:
        return a[v(r, "vert_start") : v(r, "vert_end"), v(r, "horiz_start") : v(r, "horiz_end")]

    table |= {
        "da_prev_pad": lambda r: v(r, "dA_prev_pad")[v(r, "i")],
        "a_prev_pad": lambda r: v(r, "A_prev_pad")[v(r, "i")],
        "a_prev": lambda r: v(r, "A_prev")[v(r, "i")],
        "a_slice": lambda r: window(r, v(r, "a_prev_pad")),
        "a_prev_slice": lambda r: window(r, v(r, "a_prev"))[..., v(r, "c")],
    }
    table["mask"] = lambda r: (lambda s: (s == np.max(s)).astype(float))(v(r, "a_prev_slice"))
    return table


def _subscripts(body: list[Block]) -> tuple[set[str], list[tuple[str, str, int]]]:
    """Every name inside a subscript, and each bare one with its array and axis."""
    inside: set[str] = set()
    bare: list[tuple[str, str, int]] = []
    trees = []
    stack = list(body)
    while stack:
        b = stack.pop()
        trees.append(b.tree)
        stack.extend(b.body)
    for tree in trees:
        for t in tree.iter_subtrees():
            if t.data != "index":
                continue
            obj, subs = t.children
            inside |= names(subs)
            for axis, sub in enumerate(subs.children):
                if sub.data == "name" and obj.data == "name":
                    bare.append((str(sub.children[0]), str(obj.children[0]), axis))
    return inside, bare


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


def _run(body: list[Block], layer: Layer, layout: str, values: dict[str, Any]) -> dict[str, Any]:
    """Run the snippet in one reading; the gradient arrays it wrote, as NCHW arrays."""
    written_names: set[str] = set()
    for b in body:
        written_names |= assigned(b)
    written_names |= {VIEWS[w] for w in written_names if w in VIEWS}  # written through a view
    inside, bare = _subscripts(body)
    loop_vars = {v for v, _, _ in bare} - written_names - {"None", "True", "False"}
    env = _env(layer, layout, values, loop_vars)
    lazy = _ng_names(layout)
    loop_vars |= {
        v
        for v in inside - written_names - {"None", "True", "False"}
        if v not in env and v not in lazy
    }
    loops = _loops(body, env, loop_vars, bare)
    for grad in ("dx", "dA_prev", "dx_pad", "dA_prev_pad", "dw", "dW", "db"):
        if grad not in written_names and grad in env:
            del env[grad]  # read only: a gradient the snippet is given, not one it makes
    given = {"dA_prev_pad": "dA", "dx_pad": "dA"}
    runner = Runner(env, lazy)
    for name in set(given) - written_names:
        if _reads(body, name) or (name == "dA_prev_pad" and _reads(body, "da_prev_pad")):
            env[name] = _padded_truth(values, layer, layout)
    uses = [
        bool(names(b.tree) & (loop_vars | set(lazy)))
        or any(names(x.tree) & (loop_vars | set(lazy)) for x in b.body)
        for b in body
    ]
    if not any(uses):  # its own for loops only
        uses = [True] * len(body)
    first, last = uses.index(True), len(uses) - 1 - uses[::-1].index(True)
    runner.run(body[:first])
    runner.nest(loops, body[first : last + 1])
    runner.run(body[last + 1 :])
    wrote = {VIEWS.get(w, w) for w in runner.written}
    out: dict[str, Any] = {}
    to = MAP_AXES[layout]
    for name in ("dx", "dA_prev", "dx_pad", "dA_prev_pad"):
        if name in wrote and "dA" not in out:
            arr = np.asarray(runner.env[name]).transpose(to)
            if INPUT_GRADS[name] and layer.p:
                arr = arr[:, :, layer.p : -layer.p, layer.p : -layer.p]
            out["dA"] = (name, arr)
    for name in KERNEL_GRADS:
        if name in wrote and layer.kind == "conv":
            out["dK"] = (name, np.asarray(runner.env[name]).transpose(KERNEL_AXES[layout]))
    if "db" in wrote and layer.kind == "conv":
        out["db"] = ("db", np.asarray(runner.env["db"]).reshape(-1))
    if not out:
        raise LoopError("the loops write no gradient array (dx, dx_pad, dA_prev, dW, dw, db)")
    return out


def _reads(body: list[Block], name: str) -> bool:
    """Whether a statement reads ``name``."""
    stack = list(body)
    while stack:
        b = stack.pop()
        if name in names(b.tree):
            return True
        stack.extend(b.body)
    return False


def _padded_truth(values: dict[str, Any], layer: Layer, layout: str) -> Any:
    """∂L/∂(padded input), for code that only unpads it: the backward rule on the padded map."""
    a = values["A"]
    p = layer.p
    padded = dict(values, A=np.pad(a, [(0, 0), (0, 0), (p, p), (p, p)]))
    grads = _grads(
        Layer(layer.number, layer.kind, layer.k, layer.s, 0, layer.n, layer.c, layer.f), padded
    )
    back = tuple(MAP_AXES[layout].index(i) for i in range(4))
    return grads["dA"].transpose(back)


QUANTITY = {
    "dA": ("∂L/∂A_{l-1}", "dA_prev = {up}(dZ, K_l, {s}, {p})"),
    "dK": ("∂L/∂K_l", "dK = conv2d_back_kernel(A_prev, dZ, {s}, {p}, {k})"),
    "db": ("∂L/∂b_l", "db = dZ.sum(axis=(0, 2, 3))"),
}


def check_loops(network: Any, text: str, seed: int = 0) -> CheckResult:
    """The verdict on loop code over windows, or a FormulaError saying why it is not read."""
    body = blocks(text)
    rng = np.random.default_rng(seed)
    readings: list[tuple[str, Layer, dict[str, Any], dict[str, Any]]] = []
    errors: list[str] = []
    for layer in layers_of(network):
        values = _draw(layer, rng)
        grads = _grads(layer, values)
        for layout in ("NCHW", "NHWC"):
            try:
                out = _run(body, layer, layout, values)
                for key, (_, arr) in out.items():
                    if arr.shape != grads[key].shape:
                        raise LoopError(f"{key} has shape {arr.shape}, not {grads[key].shape}")
            except LoopError as err:
                errors.append(str(err))
                continue
            readings.append((layout, layer, out, grads))
    if not readings:
        raise FormulaError(
            "a convolution or pooling written as NumPy loops over windows, not read: "
            + (errors[0] if errors else "the network has no conv or pooling layer")
        )
    verdicts = {
        tuple(np.allclose(out[k][1], grads[k], rtol=1e-9, atol=1e-9) for k in sorted(out))
        for _, _, out, grads in readings
    }
    if len(verdicts) > 1:
        raise FormulaError(
            "cannot tell: the loops give the gradient in one reading (layer, layout NCHW or "
            "NHWC) and not in another; check the layer's whole gradient instead"
        )
    layout, layer, out, grads = readings[0]
    wrong = [k for k in sorted(out) if not np.allclose(out[k][1], grads[k], rtol=1e-9, atol=1e-9)]
    kind = "conv" if layer.kind == "conv" else layer.kind + " pooling"
    layer_words = (
        f"layer {layer.number} ({kind}, kernel {layer.k}, stride {layer.s}, padding {layer.p})"
    )
    notes = [
        f"read as loops over the windows of {layer_words}, {layout}; "
        + ", ".join(f"{out[k][0]} as {QUANTITY[k][0]}" for k in sorted(out))
        + f"; run on random arrays of {layer.n} samples and compared with the derivation's "
        "backward rule"
    ]
    up = "conv2d_back_input" if layer.kind == "conv" else f"{layer.kind}pool2d_back"
    expected = "; ".join(
        QUANTITY[k][1].format(up=up, s=layer.s, p=layer.p, k=layer.k) for k in sorted(out)
    )
    if not wrong:
        return CheckResult(
            "correct",
            ", ".join(QUANTITY[k][0] for k in sorted(out)),
            expected,
            "numeric (loops run)",
            notes=notes,
        )
    key = wrong[0]
    return CheckResult(
        "incorrect",
        ", ".join(QUANTITY[k][0] for k in sorted(out)),
        expected,
        "numeric (loops run)",
        diagnosis=_diagnose(out[key][0], out[key][1], grads[key], layer, key),
        notes=notes,
    )


def _diagnose(name: str, got: Any, want: Any, layer: Layer, key: str) -> str:
    """What the comparison shows: a factor, the pooling's routing, or where they differ."""
    what = QUANTITY[key][0]
    nz = np.abs(want) > 1e-12
    if nz.any() and not np.any(got[~nz]):
        ratio = got[nz] / want[nz]
        if np.allclose(ratio, ratio.flat[0], rtol=1e-9):
            return f"a factor {ratio.flat[0]:.4g}: {name} is {ratio.flat[0]:.4g} × {what}"
    bad = ~np.isclose(got, want, rtol=1e-9, atol=1e-9)
    where = tuple(int(i) for i in np.argwhere(bad)[0])
    return (
        f"{name} is not {what}: the loops give a different array ({int(bad.sum())} of "
        f"{bad.size} entries differ, e.g. at {list(where)} the loops give "
        f"{got[where]:.4g}, the derivation {want[where]:.4g}); the windows, their offsets "
        f"(stride {layer.s}, padding {layer.p}) or what is added into them are not the "
        "forward pass's"
    )


def looks_looped(text: str) -> bool:
    """Whether a snippet the statement reader refused may be loops over windows: it
    names a window (``vert_start``, ``x_pad``) or indexes an array by three or more axes."""
    if set(re.findall(r"[A-Za-z_]\w*", text)) & WINDOWS:
        return True
    return re.search(r"\w\[[^\[\]]*,[^\[\]]*,[^\[\]]*\]", text) is not None
