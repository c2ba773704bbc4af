"""The layers loop code over windows may be the backward pass of, at small sizes.

Each convolutional or pooling layer of the network gives its kernel, stride and padding;
batch, channels and maps are made small. The arrays are drawn at random (NCHW) and given
the names real loop code uses in both layouts (CS231n's NCHW ``x``, ``w``, ``dout``; Ng's
NHWC ``A_prev``, ``W``, ``dZ``, and the window names of his notebook, read lazily). The
derivation's gradients come from the backward rule of the layer's forward node
(``core.rules``), evaluated by the core's NumPy interpreter: no second evaluator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from derive.core import numeric
from derive.core.nodes import ChannelBias, Correlate, Pool, TensorSymbol
from derive.core.rules import RULES
from derive.formula.window_loops import Runner
from derive.spec.records import Conv2d, Pool2d

#: The gradient arrays real loop code writes, by name: (quantity, padded).
INPUT_GRADS = {"dx": False, "dX": False, "dA_prev": False, "d_input": False, "dinput": False}
INPUT_GRADS |= {"dinputs": False, "grad_input": False, "dx_pad": True, "dA_prev_pad": True}
KERNEL_GRADS = ("dw", "dW", "dK", "dfilters", "d_filters", "dweights", "dkernel", "grad_w")
BIAS_GRADS = ("db", "dB", "dbias", "d_bias", "dbiases", "grad_b")
GRADS = (*INPUT_GRADS, *KERNEL_GRADS, *BIAS_GRADS)
#: The layer's own arrays as real code names them (CS231n, Ng, from-scratch CNN classes).
INPUTS = ("x", "X", "A_prev", "inputs", "input")
UPSTREAM = ("dout", "d_out", "grad_output", "dy", "dY", "delta")
KERNELS = ("w", "W", "K", "filters", "weights", "weight", "kernel")
BIASES = ("b", "bias", "biases")
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
    h: int = 0  # the input's height and width: the network's, or chosen (0)
    w: int = 0

    def sizes(self) -> tuple[int, int]:
        """Input height and width: the network's, else the smallest two, different, that
        the windows tile."""
        if self.h and self.w:
            return self.h, self.w
        fits = [
            h
            for h in range(self.k, self.k + 4 * self.s + 4)
            if (h + 2 * self.p - self.k) % self.s == 0
        ]
        fits = [h for h in fits if h >= 3] or fits
        return fits[0], fits[1]


#: The most window visits (batch x filters x output pixels) the network's own
#: sizes may take; beyond, small sizes of our own are used.
MAX_VISITS = 1000


def layers_of(network: Any) -> list[Layer]:
    """The network's convolutional and pooling layers: at the network's own sizes (code
    may write a size as a number) with a small batch, or small sizes where those are
    symbols or too large to run."""
    out = []
    shape: Any = network.input_width if isinstance(network.input_width, tuple) else None
    for no, layer in enumerate(network.layers, start=1):
        try:  # a kernel or padding left a symbol has no concrete windows: not run
            if isinstance(layer, Conv2d):
                k, s, p = int(layer.kernel), int(layer.stride), int(layer.pad)
                found = Layer(no, "conv", k, s, p)
                f: Any = layer.channels
            elif isinstance(layer, Pool2d):
                k, s, p = layer.size, int(layer.stride or layer.size), 0
                found = Layer(no, layer.mode, k, s, 0)
                f = shape[0] if shape else None
            else:
                shape = None
                continue
        except (TypeError, ValueError):
            shape = None
            continue
        out.append(_own(found, shape, f))
        concrete = shape is not None and all(isinstance(d, int) for d in (*shape, f))
        shape = (
            (f, (shape[1] + 2 * p - k) // s + 1, (shape[2] + 2 * p - k) // s + 1)
            if concrete
            else None
        )
    return out


def _own(layer: Layer, shape: Any, f: Any) -> Layer:
    """The layer at the network's sizes, with a batch unlike them, if they are numbers and
    few enough to run; else at sizes of our own."""
    if shape is None or not all(isinstance(d, int) for d in (*shape, f)):
        return _distinct(layer)
    c, h, w = shape
    ho, wo = (h + 2 * layer.p - layer.k) // layer.s + 1, (w + 2 * layer.p - layer.k) // layer.s + 1
    n = next(d for d in (2, 3, 5, 7, 11, 13) if d not in {c, h, w, f, layer.k})
    if n * f * ho * wo > MAX_VISITS or min(ho, wo) < 1:
        return _distinct(layer)
    return replace(layer, n=n, c=c, f=f, h=h, w=w)


def _distinct(layer: Layer) -> Layer:
    """Batch, channels and filters of sizes unlike each other, the kernel's and the maps',
    so that an index on the wrong axis does not fit by chance."""
    taken = {layer.k, *layer.sizes()}
    n, c, f = [d for d in range(2, 12) if d not in taken][:3]
    return replace(layer, n=n, c=c, f=f)


def draw(layer: Layer, rng: np.random.Generator) -> dict[str, Any]:
    """Random NCHW input, kernel and upstream gradient of the layer's small sizes."""
    h, w = layer.sizes()
    values = {"A": rng.standard_normal((layer.n, layer.c, h, w))}
    if layer.kind == "conv":
        values["K"] = rng.standard_normal((layer.f, layer.c, layer.k, layer.k))
    shape = forward_node(layer, values)[0].shape
    values["G"] = rng.standard_normal(tuple(int(d) for d in shape))
    return values


def forward_node(layer: Layer, values: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The layer's forward node over named tensors of the values' shapes."""
    a = TensorSymbol("A_prev", *values["A"].shape)
    if layer.kind == "conv":
        k = TensorSymbol("K", *values["K"].shape)
        return Correlate(k, a, layer.s, layer.p), {"A": a, "K": k}
    return Pool(a, layer.kind, layer.k, layer.s), {"A": a}


def gradients(layer: Layer, values: dict[str, Any]) -> dict[str, Any]:
    """The derivation's gradients: the backward rule of the layer's forward node
    (``core.rules``), evaluated by the core's NumPy interpreter."""
    node, leaves = forward_node(layer, values)
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


def layer_env(
    layer: Layer, layout: str, values: dict[str, Any], loop_vars: set[str]
) -> dict[str, Any]:
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
    env: dict[str, Any] = dict.fromkeys(INPUTS, a) | {"x_pad": a_pad, "A_prev_pad": a_pad}
    env |= dict.fromkeys(UPSTREAM, g) | {("dZ" if layer.kind == "conv" else "dA"): g}
    env |= {name: np.zeros_like(a_pad if padded else a) for name, padded in INPUT_GRADS.items()}
    if layer.kind == "conv":
        kt = tuple(KERNEL_AXES[layout].index(i) for i in range(4))
        kernel = values["K"].transpose(kt)
        env |= dict.fromkeys(KERNELS, kernel)
        env |= {name: np.zeros_like(kernel) for name in KERNEL_GRADS}
        bias = np.zeros(f) if layout == "NCHW" else np.zeros((1, 1, 1, f))
        env |= {name: bias.copy() for name in BIAS_GRADS}
        env |= dict.fromkeys(BIASES, bias)  # the bias: no part of any gradient
    sizes = {"N": n, "m": n, "C": c, "n_C_prev": c, "H": h, "n_H_prev": h, "n_W_prev": w}
    sizes |= {"F": f, "n_C": f, "HH": layer.k, "WW": layer.k, "f": layer.k, "pool_size": layer.k}
    sizes |= {"pool_height": layer.k, "pool_width": layer.k}
    sizes |= {"H_out": ho, "W_out": wo, "n_H": ho, "n_W": wo, "Hout": ho, "Wout": wo}
    sizes |= {"stride": layer.s, "pad": layer.p, "P": layer.p, "S": layer.s, "padding": layer.p}
    sizes |= {"kernel_size": layer.k}
    env |= sizes
    return {k: v for k, v in env.items() if k not in loop_vars}


def ng_names(layout: str) -> dict[str, Callable[[Runner], Any]]:
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
    table["mask"] = lambda r: _max_mask(v(r, "a_prev_slice"))
    table["create_mask_from_window"] = lambda r: _max_mask
    table["distribute_value"] = lambda r: _spread
    return table


def _max_mask(x: Any) -> Any:
    """Ng's create_mask_from_window: 1 where the window has its maximum."""
    return (x == np.max(x)).astype(float)


def _spread(dz: Any, shape: Any) -> Any:
    """Ng's distribute_value: dz spread evenly over a window of that shape."""
    n_h, n_w = shape
    return np.ones(shape) * dz / (n_h * n_w)


def padded_truth(values: dict[str, Any], layer: Layer, layout: str) -> Any:
    """∂L/∂(padded input), for code that only unpads it: the backward rule on the padded map."""
    a = values["A"]
    p = layer.p
    padded = dict(values, A=np.pad(a, [(0, 0), (0, 0), (p, p), (p, p)]))
    grads = gradients(
        Layer(layer.number, layer.kind, layer.k, layer.s, 0, layer.n, layer.c, layer.f), padded
    )
    back = tuple(MAP_AXES[layout].index(i) for i in range(4))
    return grads["dA"].transpose(back)
