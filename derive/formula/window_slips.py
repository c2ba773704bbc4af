"""What is wrong with loop code over windows: the gradients the usual slips give, each
the backward rule of another layer on the same arrays (windows not moved by the stride,
the kernel turned, the other pooling's routing), else a factor, else where it differs."""

from __future__ import annotations

from typing import Any

import numpy as np

from derive.formula.window_layers import Layer, gradients


def slips(layer: Layer, values: dict[str, Any]) -> dict[str, list[tuple[str, Any]]]:
    """The gradients the usual slips of loop code give, by quantity: windows that move by
    one instead of the stride, and for pooling the other pooling's routing. Each is the
    backward rule of another layer on the same arrays, so it is exact."""
    out: dict[str, list[tuple[str, Any]]] = {"dA": [], "dK": [], "db": []}
    grads_k: Any = gradients(layer, values).get("dK")
    k, s, p = layer.k, layer.s, layer.p
    a, g = values["A"], values["G"]
    if s > 1:  # vert_start = h: window (h, w) at (h, w) of the padded map
        ho, wo = g.shape[2], g.shape[3]
        a_pad = np.pad(a, [(0, 0), (0, 0), (p, p), (p, p)])
        part = dict(values, A=a_pad[:, :, : ho + k - 1, : wo + k - 1])
        one = Layer(layer.number, layer.kind, k, 1, 0, layer.n, layer.c, layer.f)
        grads = gradients(one, part)
        full = np.zeros_like(a_pad)
        full[:, :, : ho + k - 1, : wo + k - 1] = grads["dA"]
        says = f"the windows move by 1, not by the stride {s}: window (h, w) starts at "
        says += f"(h·{s}, w·{s}) in the forward pass (vert_start = h * stride)"
        out["dA"].append((says, full[:, :, p : full.shape[2] - p, p : full.shape[3] - p]))
        if "dK" in grads:
            out["dK"].append((says, grads["dK"]))
    if layer.kind == "conv":  # the kernel turned by 180° (a convolution's, not a correlation's)
        turned = gradients(layer, dict(values, K=values["K"][:, :, ::-1, ::-1]))
        says = (
            "conv-flip: the loops add each window's kernel rotated by 180°, but the forward "
            "pass is a cross-correlation: its input gradient adds the kernel as it is "
            "(the full convolution with rot180(K) is the same sum written per output pixel)"
        )
        out["dA"].append((says, turned["dA"]))
        out["dK"].append(
            (
                "conv-flip: the kernel gradient comes out rotated by 180° (rot180): a "
                "cross-correlation's kernel gradient is the input window times the output "
                "gradient, unturned",
                grads_k[:, :, ::-1, ::-1],
            )
        )
    if layer.kind != "conv":
        other = "avg" if layer.kind == "max" else "max"
        spread = gradients(Layer(layer.number, other, k, s, 0, layer.n, layer.c), values)["dA"]
        if layer.kind == "max":
            out["dA"].append(
                (
                    "pooling routing: max pooling passes each gradient entry to its "
                    "window's arg-max only; these loops add it to every entry of the window",
                    spread * k * k,
                )
            )
            out["dA"].append(
                (
                    "pooling routing: max pooling passes each gradient entry to its "
                    "window's arg-max only; these loops spread it evenly (average pooling's "
                    "rule)",
                    spread,
                )
            )
        else:
            out["dA"].append(
                (
                    "pooling routing: average pooling spreads each gradient entry evenly "
                    f"(÷{k * k}) over its window; these loops route it to the arg-max",
                    spread,
                )
            )
    return out


def sizes_of(layer: Layer, values: dict[str, Any]) -> dict[str, int]:
    """The sizes the loops ran at, by the names a factor may be (``1/N``: the mean over
    the batch; ``1/k²``: a window's area)."""
    n, c, h, w = values["A"].shape
    _, f, ho, wo = values["G"].shape
    out = {"N (the samples)": n, "C (the channels)": c, "H": h, "W": w, "H_out": ho}
    out |= {"W_out": wo, "k (the kernel)": layer.k, "k² (a window's area)": layer.k**2}
    if layer.kind == "conv":
        out["F (the filters)"] = f
    return {k: int(v) for k, v in out.items()}


def factor_named(
    ratio: float, sizes: dict[str, int], again: tuple[int, float] | None = None
) -> str:
    """A factor in words: the batch's (``1/N``) when a run with one sample more (``again``:
    its batch, its factor) follows N; a constant when it does not; another size's, said
    as such, when it is one at the sizes run; else its number."""
    n = "N (the samples)"
    if again is not None and n in sizes:
        batch, other = again
        for power, form in ((-1, "1/{}"), (1, "{}")):
            if np.isclose(ratio, float(sizes[n]) ** power) and np.isclose(
                other, float(batch) ** power
            ):
                return form.format(n)
        if np.isclose(other, ratio):  # the same with one sample more: not N's
            sizes = {k: v for k, v in sizes.items() if k != n}
    for power, form in ((-1, "1/{}"), (1, "{}")):
        hits = [k for k, v in sizes.items() if v > 1 and np.isclose(ratio, float(v) ** power)]
        if len(hits) == 1:
            return form.format(hits[0])
        if hits:
            both = " or ".join(form.format(h.split(" ")[0]) for h in hits)
            return f"{ratio:.4g} ({both}: these sizes are equal at the sizes run)"
    return f"{ratio:.4g}"


def _said(ratio: float, sizes: dict[str, int], again: tuple[int, float] | None) -> str:
    """``factor_named``, with the number added when a size other than the batch is named
    (k = 2 in the network: a constant 2 and k cannot be told apart)."""
    named = factor_named(ratio, sizes, again)
    if named.startswith(("1/N ", "N ")) or named[:1].isdigit():
        return named
    return f"{ratio:.4g} (= {named} at the layer's sizes)"


def diagnose(
    name: str,
    got: Any,
    want: Any,
    slipped: list[tuple[str, Any]],
    what: str,
    sizes: dict[str, int] | None = None,
    again: tuple[int, float] | None = None,
) -> str:
    """What the comparison shows: a usual slip's gradient, a factor (named as the size it
    is, when it is one), or where they differ."""
    for says, value in slipped:
        if np.allclose(got, value, rtol=1e-9, atol=1e-9):
            return says
    nz = np.abs(want) > 1e-12
    if nz.any() and not np.any(got[~nz]):
        ratio = got[nz] / want[nz]
        if abs(ratio.flat[0]) > 1e-9 and np.allclose(ratio, ratio.flat[0], rtol=1e-9):
            said = _said(float(ratio.flat[0]), sizes or {}, again)
            return f"a factor {said}: {name} is {ratio.flat[0]:.4g} × {what}"
    bad = ~np.isclose(got, want, rtol=1e-9, atol=1e-9)
    where = tuple(int(i) for i in np.argwhere(bad)[0])
    return (
        f"{name} is not {what}: the loops give a different array ({int(bad.sum())} of "
        f"{bad.size} entries differ, e.g. at {list(where)} the loops give "
        f"{got[where]:.4g}, the derivation {want[where]:.4g}): no usual slip of loop code "
        "(windows not moved by the stride, a pooling's routing, a factor) explains it"
    )
