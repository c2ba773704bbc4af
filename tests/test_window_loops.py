"""Convolution and pooling backward passes written as NumPy loops over windows: run on
small random arrays and compared with the derivation's backward rule (``window_check``)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derive.formula.check import Checker
from derive.formula.parse import FormulaError
from derive.formula.window_lines import LoopError, blocks
from derive.formula.window_loops import MAX_STEPS, Runner
from derive.spec.reading import load, loads

NG = """
name = "ng_conv"
convention = "column"
delta = "per_sample"
input = [3, 4, 4]
batch = "m"
[[layers]]
type = "conv2d"
channels = 8
kernel = 2
stride = 2
padding = 2
activation = "relu"
[[layers]]
type = "maxpool2d"
size = 2
[[layers]]
type = "flatten"
[[layers]]
width = 1
activation = "sigmoid"
[loss]
name = "binary_cross_entropy"
reduction = "mean"
"""

NG_DA = """vert_start = h * stride
vert_end = vert_start + f
horiz_start = w * stride
horiz_end = horiz_start + f
da_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :] += W[:,:,:,c] * dZ[i, h, w, c]"""

CS231N = """N, C, H, W = x.shape
for n in range(N):
    for f in range(F):
        for i in range(H_out):
            for j in range(W_out):
                hs = i * stride
                ws = j * stride
                dx_pad[n, :, hs:hs+HH, ws:ws+WW] += w[f] * dout[n, f, i, j]
                dw[f] += x_pad[n, :, hs:hs+HH, ws:ws+WW] * dout[n, f, i, j]
dx = dx_pad[:, :, pad:-pad, pad:-pad]"""


def ng() -> Checker:
    return Checker(loads(NG))


def test_ng_loop_body_is_read_as_the_input_gradient() -> None:
    result = ng().check(NG_DA, "python")
    assert result.verdict == "correct"
    assert "NHWC" in result.notes[-1] and result.quantity == "∂L/∂X"


def test_windows_that_ignore_the_stride_are_incorrect() -> None:
    wrong = NG_DA.replace("h * stride", "h").replace("w * stride", "w")
    result = ng().check(wrong, "python")
    assert result.verdict == "incorrect"
    assert result.diagnosis and result.diagnosis.startswith(
        "the windows move by 1, not by the stride 2"
    )


def test_a_doubled_gradient_is_named_a_factor() -> None:
    result = ng().check(NG_DA.replace("+= W", "+= 2 * W"), "python")
    assert result.verdict == "incorrect"
    assert result.diagnosis and result.diagnosis.startswith("a factor 2")


def test_ng_kernel_and_bias_bodies() -> None:
    assert ng().check("dW[:,:,:,c] += a_slice * dZ[i, h, w, c]", "python").correct
    assert ng().check("db[:,:,:,c] += dZ[i, h, w, c]", "python").correct
    wrong = ng().check("dW[:,:,:,c] += a_slice * dZ[i, h, w, 0]", "python")
    assert wrong.verdict == "incorrect"


def test_max_pooling_routes_to_the_arg_max() -> None:
    code = (
        "dA_prev[i, vert_start:vert_end, horiz_start:horiz_end, c] += "
        "np.multiply(mask, dA[i, h, w, c])"
    )
    assert ng().check(code, "python").correct
    every = code.replace("np.multiply(mask, dA[i, h, w, c])", "dA[i, h, w, c]")
    wrong = ng().check(every, "python")
    assert wrong.verdict == "incorrect"
    assert wrong.diagnosis and "every entry of the window" in wrong.diagnosis


def test_cs231n_naive_loops_with_stride_and_padding() -> None:
    net = loads(
        NG.replace("[3, 4, 4]", "[3, 6, 6]")
        .replace("stride = 2", "stride = 1")
        .replace("padding = 2", "padding = 1")
        .replace("kernel = 2", "kernel = 3")
    )
    result = Checker(net).check(CS231N, "python")
    assert result.verdict == "correct", result
    assert "dx as ∂L/∂X" in result.notes[-1] and "dw as ∂L/∂K_1" in result.notes[-1]
    flipped = CS231N.replace("w[f] * dout", "w[f, :, ::-1, ::-1] * dout")
    wrong = Checker(net).check(flipped, "python")
    assert wrong.verdict == "incorrect"
    assert wrong.diagnosis and wrong.diagnosis.startswith("conv-flip")
    wrong = CS231N.replace("dw[f] +=", "dw[f] =")  # overwritten, not accumulated
    assert Checker(net).check(wrong, "python").verdict == "incorrect"


def test_builtin_cnn_loops() -> None:
    checker = Checker(load("cnn"))
    code = "for f in range(F):\n    db[f] += dout[:, f, :, :].sum()"
    assert checker.check(code, "python").correct


def test_unrolling_is_bounded() -> None:
    runner = Runner({}, {})
    with pytest.raises(LoopError, match="more than"):
        runner.run(blocks(f"for i in range({MAX_STEPS + 5}):\n    x = i"))


def test_unread_loops_say_why() -> None:
    with pytest.raises(FormulaError, match="loops"):
        ng().check(
            "dA_prev[i, vert_start:vert_end, horiz_start:horiz_end, c] += dA[i, h, w, c] + q",
            "python",
        )


CS231N_FULL = """x, w, b, conv_param = cache
stride, pad = conv_param['stride'], conv_param['pad']
N, C, H, W = x.shape
F, _, HH, WW = w.shape
H_out = 1 + (H + 2 * pad - HH) / stride
W_out = 1 + (W + 2 * pad - WW) / stride
x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), 'constant')
dx_pad = np.zeros_like(x_pad)
dw = np.zeros_like(w)
db = np.sum(dout, axis=(0, 2, 3))
for n in range(N):
    for f in range(F):
        for i in range(H_out):
            for j in range(W_out):
                dw[f] += x_pad[n, :, i*stride:i*stride+HH, j*stride:j*stride+WW] * dout[n, f, i, j]
                dx_pad[n, :, i*stride:i*stride+HH, j*stride:j*stride+WW] += w[f] * dout[n, f, i, j]
dx = dx_pad[:, :, pad:pad+H, pad:pad+W]"""

POOL_FULL = """x, pool_param = cache
N, C, H, W = x.shape
pool_height, pool_width = pool_param['pool_height'], pool_param['pool_width']
stride = pool_param['stride']
H_out = 1 + (H - pool_height) / stride
W_out = 1 + (W - pool_width) / stride
dx = np.zeros_like(x)
for n in range(N):
    for c in range(C):
        for i in range(H_out):
            for j in range(W_out):
                window = x[n, c, i*stride:i*stride+pool_height, j*stride:j*stride+pool_width]
                idx = np.unravel_index(np.argmax(window), window.shape)
                dx[n, c, i*stride+idx[0], j*stride+idx[1]] += dout[n, c, i, j]"""


def cs231n_net() -> Checker:
    return Checker(
        loads(
            NG.replace("[3, 4, 4]", "[3, 6, 6]")
            .replace("stride = 2", "stride = 1")
            .replace("padding = 2", "padding = 1")
            .replace("kernel = 2", "kernel = 3")
        )
    )


def test_a_whole_cs231n_conv_backward() -> None:
    result = cs231n_net().check(CS231N_FULL, "python")
    assert result.verdict == "correct", result
    assert result.quantity == "∂L/∂X, ∂L/∂K_1, ∂L/∂b_1"
    assert any("= cache as the layer's own" in n for n in result.notes)
    averaged = CS231N_FULL.replace("axis=(0, 2, 3))", "axis=(0, 2, 3)) / N")
    wrong = cs231n_net().check(averaged, "python")
    assert wrong.verdict == "incorrect"
    assert wrong.diagnosis and wrong.diagnosis.startswith("a factor 1/N (the samples): db is 0.5")


def test_a_factor_is_the_batch_only_when_it_follows_the_batch() -> None:
    """The reviewer's "a factor 0.5" for a mean over N = 2 samples: a rerun with one
    sample more tells 1/N (above) from a constant 1/2, which is never called 1/N."""
    halved = CS231N_FULL.replace("axis=(0, 2, 3))", "axis=(0, 2, 3)) / 2")
    wrong = cs231n_net().check(halved, "python")
    assert wrong.verdict == "incorrect"
    assert wrong.diagnosis and wrong.diagnosis.startswith("a factor 0.5: db"), wrong.diagnosis


def test_a_whole_cs231n_max_pool_backward() -> None:
    result = cs231n_net().check(POOL_FULL, "python")
    assert result.verdict == "correct", result
    assert "max pooling" in result.notes[-1] and "NCHW" in result.notes[-1]
    window = "i*stride:i*stride+pool_height, j*stride:j*stride+pool_width"
    every = POOL_FULL.replace("i*stride+idx[0], j*stride+idx[1]", window)
    wrong = cs231n_net().check(every, "python")
    assert wrong.verdict == "incorrect"
    assert wrong.diagnosis and wrong.diagnosis.startswith("pooling routing")


def test_sizes_the_snippet_sets_must_be_the_layers() -> None:
    """N, C, H, W = x.shape read in NHWC would loop over the wrong axes: that reading is
    dropped (the snippet's C is not the layer's), so the NCHW one decides alone."""
    from derive.formula.window_check import check_loops

    result = check_loops(cs231n_net().network, POOL_FULL)
    assert "NCHW" in result.notes[-1]


def test_ng_names_the_snippet_does_not_set_are_said() -> None:
    result = ng().check("dW[:,:,:,c] += a_slice * dZ[i, h, w, c]", "python")
    assert any("a_slice" in n and "Ng's" in n for n in result.notes)


def test_long_loops_are_refused_for_every_reading_at_once() -> None:
    code = "for n in range(m * 100000):\n    db[0, 0, 0, 0] += dZ[0, 0, 0, 0]"
    with pytest.raises(FormulaError, match="more than"):
        ng().check(code, "python")


def test_a_max_pool_mask_by_equality_and_sizes_by_floor_division() -> None:
    """``==``, ``//`` and ``x[::-1]`` are what loop code writes beyond python.lark: read by
    window.lark, which extends it."""
    code = (
        POOL_FULL.replace("/ stride", "// stride")
        .replace(
            "idx = np.unravel_index(np.argmax(window), window.shape)",
            "mask = (window == np.max(window))",
        )
        .replace(
            "dx[n, c, i*stride+idx[0], j*stride+idx[1]] += dout[n, c, i, j]",
            "dx[n, c, i*stride:i*stride+pool_height, j*stride:j*stride+pool_width] += "
            "mask * dout[n, c, i, j]",
        )
    )
    assert "==" in code and "//" in code
    assert cs231n_net().check(code, "python").correct
    spread = code.replace("mask * dout[n, c, i, j]", "dout[n, c, i, j] / 4")
    wrong = cs231n_net().check(spread, "python")
    assert wrong.verdict == "incorrect"
    assert wrong.diagnosis and "average pooling" in wrong.diagnosis


PY2_CONV = """x, w, b, conv_param = cache
pad = conv_param['pad']
s = conv_param['stride']
F, C, HH, WW = w.shape
N, C, H, W = x.shape
Hn = 1 + (H + 2 * pad - HH) / s
Wn = 1 + (W + 2 * pad - WW) / s
dw = np.zeros_like(w)
db = np.zeros_like(b)
xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), 'constant')
dxp = np.zeros_like(xp)
for n in xrange(N):  # each image
    for f in xrange(F):
        for r in xrange(Hn):
            for q in xrange(Wn):
                patch = xp[n, :, r*s:HH+r*s, q*s:WW+q*s]
                db[f] += dout[n, f, r, q]
                dw[f] += patch * dout[n, f, r, q]
                dxp[n, :, r*s:HH+r*s, q*s:WW+q*s] += w[f] * dout[n, f, r, q]
dx = dxp[:, :, pad:pad+H, pad:pad+W]"""


def test_python2_loops_with_their_own_names() -> None:
    """xrange, sizes by / (whole numbers in Python 2), the code's own names for the padded
    arrays: only dx, dw, db are judged, the rest are the code's locals."""
    for checker in (cs231n_net(), ng()):
        result = checker.check(PY2_CONV, "python")
        assert result.verdict == "correct", result
        assert result.quantity == "∂L/∂X, ∂L/∂K_1, ∂L/∂b_1"


def test_a_window_overwritten_instead_of_summed_is_named() -> None:
    wrong = ng().check(PY2_CONV.replace("dw[f] += patch", "dw[f] = patch"), "python")
    assert wrong.verdict == "incorrect"
    assert wrong.diagnosis and wrong.diagnosis.startswith("`dw[f] = patch * dout[n, f, r, q]`")


def test_a_local_named_like_a_size_is_a_local() -> None:
    """m = np.max(window) is the window's maximum, not Ng's batch size m."""
    code = POOL_FULL.replace(
        "idx = np.unravel_index(np.argmax(window), window.shape)", "m = np.max(window)"
    ).replace(
        "dx[n, c, i*stride+idx[0], j*stride+idx[1]] += dout[n, c, i, j]",
        "dx[n, c, i*stride:i*stride+pool_height, j*stride:j*stride+pool_width] += "
        "(window == m) * dout[n, c, i, j]",
    )
    assert ng().check(code, "python").correct


def test_ngs_average_pooling_helper() -> None:
    net = Checker(loads(NG.replace('type = "maxpool2d"', 'type = "avgpool2d"')))
    code = (
        "da = dA[i, h, w, c]\nshape = (f, f)\n"
        "dA_prev[i, vert_start:vert_end, horiz_start:horiz_end, c] += distribute_value(da, shape)"
    )
    result = net.check(code, "python")
    assert result.verdict == "correct", result
    assert any("distribute_value" in n for n in result.notes)
    wrong = net.check(code.replace("distribute_value(da, shape)", "da"), "python")
    assert wrong.verdict == "incorrect"
    assert wrong.diagnosis and wrong.diagnosis.startswith("a factor 4")


@pytest.mark.parametrize(
    "code",
    [
        "for f in range(F):\n    db[f] += dout[:, f, :, :].sum() * 10 ** 100",
        "big = np.zeros((100000, 100000))\nfor f in range(F):\n    db[f] += big[0, 0]",
        "x_pad = np.pad(x, 100000)\nfor f in range(F):\n    db[f] += x_pad[0, 0, 0, 0]",
        "v = x.reshape(-1)\no = np.outer(np.outer(v, v), np.outer(v, v))\nfor f in range(F):\n"
        "    db[f] += o[0, 0]",
        "k = 2\nfor f in range(F):\n    k = k * k * k * k\n    db[f] += k",
    ],
)
def test_what_a_run_may_make_is_bounded(code: str) -> None:
    """A power, an allocation or an integer beyond bounds is refused before it is made."""
    with pytest.raises(FormulaError, match="beyond|larger|more than"):
        cs231n_net().check(code, "python")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([CS231N_FULL, POOL_FULL, PY2_CONV, NG_DA]),
    st.lists(
        st.tuples(st.integers(0, 2000), st.sampled_from(["", "-", "::", "0", "(", "**", "\n"])),
        min_size=1,
        max_size=3,
    ),
)
def test_broken_loop_code_is_refused_or_judged_never_a_crash(
    code: str, edits: list[tuple[int, str]]
) -> None:
    from derive.formula.window_check import check_loops

    for at, text in edits:
        k = at % len(code)
        code = code[:k] + text + code[k + (0 if text else 2) :]
    try:
        result = check_loops(cs231n_net().network, code)
    except FormulaError:
        return
    assert result.verdict in ("correct", "incorrect")


def test_a_fixed_count_that_is_none_of_the_layers_sizes_is_refused() -> None:
    """range(26) was written for another image size: run at derive's sizes it would cover
    part of the arrays, so it is refused rather than judged."""
    code = CS231N_FULL.replace("for i in range(H_out):", "for i in range(26):")
    with pytest.raises(FormulaError, match=r"range\(26\) is a fixed count"):
        cs231n_net().check(code, "python")
    same = CS231N_FULL.replace("for i in range(H_out):", "for i in range(6):")
    assert cs231n_net().check(same, "python").correct  # the network's H_out is 6


CLASS_CONV = '''def backward(self, dout):
    """The layer's backward pass."""
    x = self.cache
    N, C, H, W = x.shape
    F, _, HH, WW = self.weight.shape
    s, p = self.stride, self.padding
    Hn = (H + 2 * p - HH) // s + 1
    Wn = (W + 2 * p - WW) // s + 1
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode='constant')
    dxp = np.zeros_like(xp)
    self.dw = np.zeros_like(self.weight)
    self.db = np.sum(dout, axis=(0, 2, 3))
    for n in range(N):
        for f in range(F):
            for i in range(Hn):
                for j in range(Wn):
                    win = xp[n, :, i * s:i * s + HH, j * s:j * s + WW]
                    self.dw[f] += win * dout[n, f, i, j]
                    dxp[n, :, i * s:i * s + HH, j * s:j * s + WW] += \
                        self.weight[f] * dout[n, f, i, j]
    self.dx = dxp[:, :, p:p + H, p:p + W]
    return self.dx'''


def test_a_layer_classs_backward_method() -> None:
    """def/return frame the body; self.W is the name W; x = self.cache keeps the layer's x
    (said in a note); the gradients are judged by their names (self.dx, self.dw, self.db)."""
    for checker in (cs231n_net(), ng()):
        result = checker.check(CLASS_CONV, "python")
        assert result.verdict == "correct", result
        assert result.quantity == "∂L/∂X, ∂L/∂K_1, ∂L/∂b_1"
        assert any("x = cache as the layer's own x" in n for n in result.notes)
    late = CLASS_CONV.replace("    return self.dx", "    return self.dx\n    dxp = 0")
    with pytest.raises(FormulaError, match="return before the end"):
        ng().check(late, "python")


def test_a_cache_is_never_read_as_a_gradient() -> None:
    """dx = cache is not the layer's dx: what the cache holds is read only for the layer's
    inputs, kernel, bias and sizes."""
    with pytest.raises(FormulaError):
        ng().check("dx = self.cache\nfor f in range(F):\n    dw[f] += x[0, 0, 0, 0]", "python")
