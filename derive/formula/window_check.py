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
from dataclasses import replace
from typing import Any

import numpy as np

from derive.formula.answer import CheckResult
from derive.formula.ir import FormulaError
from derive.formula.python_ir import WINDOWS
from derive.formula.window_corners import corner_verdict
from derive.formula.window_faults import fault_verdict
from derive.formula.window_layers import Layer, draw, gradients, layers_of
from derive.formula.window_lines import Block, LoopError, accumulated, blocks
from derive.formula.window_loops import MAX_STEPS, TooLong
from derive.formula.window_run import run_reading
from derive.formula.window_slips import diagnose, sizes_of, slips


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
    failed: list[tuple[Layer, str, LoopError]] = []
    heard: list[list[str]] = []
    overruled: list[bool] = []  # a reading whose loops' ranges were not all agreed on
    budget = [MAX_STEPS]
    for layer in layers_of(network):
        values = draw(layer, rng)
        grads = gradients(layer, values)
        for layout in ("NCHW", "NHWC"):
            try:
                out = run_reading(body, layer, layout, values, budget)
                flag, said = out.pop("notes")
                for key, (_, arr) in out.items():
                    if arr.shape != grads[key].shape:
                        raise LoopError(f"{key} has shape {arr.shape}, not {grads[key].shape}")
            except TooLong as err:
                raise FormulaError(
                    f"a convolution or pooling written as NumPy loops: {err}"
                ) from None
            except LoopError as err:
                errors.append(str(err))
                failed.append((layer, layout, err))
                continue
            readings.append((layout, layer, out, grads, values))
            heard.append(said)
            overruled.append(bool(flag))
            if all(_same(out[k][1], grads[k]) for k in out):
                break  # every gradient exactly, on random arrays: no reading can do better
        if readings and all(_same(v[1], readings[-1][3][k]) for k, v in readings[-1][2].items()):
            break
    if not readings and (verdict := fault_verdict(body, failed, quantity)) is not None:
        return verdict
    if not readings and (verdict := corner_verdict(network, body)) is not None:
        return verdict
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
    clean = [k for k, flag in enumerate(overruled) if not flag]
    pick = readings.index(right[0]) if right else (clean or [0])[0]
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
        diagnosis=diagnose(
            out[key][0],
            out[key][1],
            grads[key],
            slips(layer, values)[key],
            quantity(key, layer)[0],
            sizes_of(layer, values),
            _ratio_again(body, layer, layout, key, budget),
        ),
        notes=notes,
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
            out = run_reading(fixed, layer, layout, values, budget)
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


def _ratio_again(
    body: list[Block], layer: Layer, layout: str, key: str, budget: list[int]
) -> tuple[int, float] | None:
    """The loops' factor on gradient ``key`` rerun with one sample more: (that batch, the
    factor), so a factor 1/N is told from a constant 1/2 (None: not one factor there)."""
    bigger = replace(layer, n=layer.n + 1)
    values = draw(bigger, np.random.default_rng(1))
    try:
        out = run_reading(body, bigger, layout, values, budget)
    except LoopError:
        return None
    got, want = out[key][1] if key in out else None, gradients(bigger, values)[key]
    if got is None or got.shape != want.shape:
        return None
    nz = np.abs(want) > 1e-12
    ratio = got[nz] / want[nz] if nz.any() and not np.any(got[~nz]) else None
    if ratio is None or not np.allclose(ratio, ratio.flat[0], rtol=1e-9):
        return None
    return bigger.n, float(ratio.flat[0])


def _telling(errors: list[str]) -> str:
    """The reason to show: from a reading that knew every name, if one did (the others
    only show that the names are another layer's or layout's)."""
    known = [e for e in errors if "is not set by the snippet" not in e]
    return (known or errors)[0]


def _same(got: Any, want: Any) -> bool:
    """Whether the loops' array is the derivation's (to rounding)."""
    return bool(got.shape == want.shape and np.allclose(got, want, rtol=1e-9, atol=1e-9))
