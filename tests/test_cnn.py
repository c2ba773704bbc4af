"""Convolutional networks: spec, derivation, the three truths, backends and bad input.

The torch reference below is written from the spec directly with torch's own conv,
pooling and autograd, independent of derive's derivation and of its NumPy helpers.
"""

from __future__ import annotations

import ast

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from derive import (
    Activation,
    AvgPool2d,
    Conv2d,
    Flatten,
    Layer,
    Loss,
    MaxPool2d,
    Network,
    SpecError,
    derive,
    load,
    loads,
)
from derive.cli import main
from derive.export import to_module
from derive.oracles.explicit import compare
from derive.oracles.verify import check_grads, random_point
from derive.render.latex import latex

try:
    import torch
except ImportError:  # the torch reference is optional; everything else runs without it
    torch = None
else:
    F = torch.nn.functional

needs_torch = pytest.mark.torch  # conftest skips it, with the reason, without torch

ACTIVATIONS = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "elu", "silu"]
ACTIVATIONS += ["gelu"]
#: (loss, output activation) pairs
LOSSES = [
    (Loss("squared_error", "half_mean"), "identity"),
    (Loss("squared_error", "sum", weight_decay=0.1), "tanh"),
    (Loss("cross_entropy", "mean"), "softmax"),
    (Loss("binary_cross_entropy", "sum"), "sigmoid"),
]


def cnn(features, inp=(1, 6, 6), out=3, loss_out=LOSSES[0], **kw):
    loss, act = loss_out
    layers = (*features, Flatten(), Layer(out, act))
    return Network(input_width=inp, layers=layers, loss=loss, **kw)


def torch_loss(network, point):
    """The loss written in torch from the spec (conv2d, pooling, autograd)."""
    from test_torch_oracle import TORCH_ACT

    column = network.convention == "column"
    t = {k: torch.tensor(v, requires_grad=True) for k, v in point.params.items()}
    a = torch.tensor(point.X)
    y = torch.tensor(point.Y)
    m = a.shape[0]
    for i, layer in enumerate(network.layers, start=1):
        if isinstance(layer, Conv2d):
            z = F.conv2d(a, t[f"K{i}"], t[f"b{i}"], stride=layer.stride, padding=layer.pad)
            a = TORCH_ACT[layer.activation.name](z, {})
        elif isinstance(layer, Flatten):
            a = a.reshape(m, -1)
            a = a.T if column else a
        elif isinstance(layer, Layer):
            w, b = t[f"W{i}"], t[f"b{i}"]
            z = w @ a + b if column else a @ w + b
            if layer.activation.name == "softmax":
                a = torch.softmax(z, dim=0 if column else 1)
            else:
                a = TORCH_ACT[layer.activation.name](z, {})
        else:
            pool = F.max_pool2d if layer.mode == "max" else F.avg_pool2d
            a = pool(a, layer.size, layer.stride)
    loss = network.loss
    scale = 1.0 / m if loss.is_mean else 1.0
    if loss.name == "squared_error":
        half = 0.5 if loss.reduction.startswith("half") else 1.0
        data = half * torch.sum((a - y) ** 2)
    elif loss.name == "cross_entropy":
        data = -torch.sum(y * torch.log(a))
    else:
        data = F.binary_cross_entropy(a, y, reduction="sum")
    total = scale * data
    if loss.weight_decay is not None:
        weights = [v for k, v in t.items() if k[0] in "WK"]
        total = total + float(loss.weight_decay) / (2 * m) * sum(torch.sum(w**2) for w in weights)
    total.backward()
    return float(total.detach()), {k: v.grad.numpy() for k, v in t.items()}


def assert_matches_torch(network, seed=0, batch=3):
    d = derive(network)
    module = to_module(d)
    point = random_point(d, module, np.random.default_rng(seed), batch=batch)
    value, grads = module.loss_and_gradients(point.X, point.Y, **point.params)
    want_value, want = torch_loss(network, point)
    np.testing.assert_allclose(value, want_value, rtol=1e-10)
    for name, g in want.items():
        np.testing.assert_allclose(grads[name], g, rtol=1e-9, atol=1e-12, err_msg=name)


# --------------------------------------------------------------------------- spec


def test_cnn_example_shapes():
    net = load("cnn")
    assert net.is_conv and net.depth == 4
    assert net.image_shapes == [(1, 8, 8), (2, 6, 6), (2, 3, 3)]
    assert net.widths == (18, 10)


def test_python_api_equals_the_toml_example():
    net = Network(
        input_width=(1, 8, 8),
        layers=(Conv2d(2, 3, activation="relu"), MaxPool2d(2), Flatten(), Layer(10, "softmax")),
        loss=Loss("cross_entropy"),
        name="cnn",
    )
    example = load("cnn")
    assert net.layers == example.layers and net.input_width == example.input_width


BAD = [
    (
        'input = [1, 4, 4]\n[[layers]]\ntype = "conv2d"\nchannels = 2\nkernel = 5\n'
        '[[layers]]\ntype = "flatten"\n[[layers]]\nwidth = 2\n',
        "the 5x5 kernel of conv2d layer 1 is larger than its 4x4 input",
        5,
    ),
    (
        'input = [1, 8, 8]\n[[layers]]\ntype = "conv2d"\nchannels = 2\nkernel = 3\nstride = 2\n'
        '[[layers]]\ntype = "flatten"\n[[layers]]\nwidth = 2\n',
        "input 8 - window 3 = 5 is not a multiple of 2",
        6,
    ),
    (
        'input = [1, 7, 7]\n[[layers]]\ntype = "maxpool2d"\nsize = 2\n'
        '[[layers]]\ntype = "flatten"\n[[layers]]\nwidth = 2\n',
        "input 7 - window 2 = 5 is not a multiple of 2",
        4,
    ),
    (
        'input = [1, 8, 8]\n[[layers]]\ntype = "conv2d"\nchannels = 2\nkernel = 4\n'
        'padding = "same"\n[[layers]]\ntype = "flatten"\n[[layers]]\nwidth = 2\n',
        "padding 'same' needs an odd kernel size, got 4",
        6,
    ),
    (
        'input = [1, 8, 8]\n[[layers]]\ntype = "conv2d"\nchannels = 2\n[[layers]]\nwidth = 2\n',
        "a dense layer follows feature maps: add a flatten layer before it",
        5,
    ),
    (
        'input = 5\n[[layers]]\ntype = "maxpool2d"\n[[layers]]\nwidth = 2\n',
        "maxpool2d needs an image input",
        3,
    ),
    ('input = [1, 8, 8]\n[[layers]]\ntype = "conv3d"\n', "unknown layer type 'conv3d'", 3),
    (
        'input = [1, 8, 8]\n[[layers]]\ntype = "conv2d"\nchannels = 2\nwidth = 3\n',
        "unknown key 'width' for a conv2d layer",
        5,
    ),
    ("input = [1, 8]\n[[layers]]\nwidth = 2\n", "an image input is [channels, height, width]", 1),
    ('input = [1, 8, 8]\n[[layers]]\ntype = "conv2d"\nchannels = 2\n', "ends with dense layers", 3),
]


@pytest.mark.parametrize("text,message,line", BAD)
def test_bad_sizes_are_reported_with_sizes_and_line(text, message, line):
    with pytest.raises(SpecError) as err:
        loads(text, source="net.toml")
    assert message in str(err.value)
    assert err.value.line == line, str(err.value)


@pytest.mark.parametrize("text,message,line", BAD[:3])
def test_cli_reports_bad_sizes_with_exit_code_2(tmp_path, capsys, text, message, line):
    path = tmp_path / "net.toml"
    path.write_text(text)
    assert main(["show", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and f"net.toml:{line}" in err


# --------------------------------------------------------------------------- derivation


def test_cnn_derivation_in_cnn_notation():
    d = derive("cnn")
    nt = d.network.notation
    assert latex(d.program.equations[0].rhs, nt) == r"K^{(1)} \star X + b^{(1)}"
    gc = d.generic_conv
    assert latex(gc.delta.rhs, nt) == (
        r"\left(\delta^{(l+1)} * \operatorname{rot180}\left(K^{(l+1)}\right)\right)_{\text{full}}"
        r" \odot \operatorname{relu}'\left(Z^{(l)}\right)"
    )
    assert latex(gc.grad_w.rhs, nt) == r"\frac{1}{m} A^{(l-1)} \star \delta^{(l)}"
    assert latex(gc.grad_b.rhs, nt) == (
        r"\frac{1}{m} \sum_{n,i,j} \left(\delta^{(l)}\right)_{n,:,i,j}"
    )
    assert latex(d.deltas[1].rhs, nt) == (
        r"\operatorname{up}_{2\times 2}\left(\delta^{(2)}\right) \odot "
        r"\mathbb{1}_{\max}\left(A^{(1)}\right) \odot \operatorname{relu}'\left(Z^{(1)}\right)"
    )
    assert latex(d.deltas[2].rhs, nt) == r"\operatorname{unflatten}\left(\delta^{(3)}\right)"


def test_stride_and_padding_are_stated():
    net = cnn([Conv2d(2, 3, stride=2, padding=1, activation="tanh"), AvgPool2d(3)], inp=(1, 11, 11))
    d = derive(net)
    nt = d.network.notation
    assert latex(d.generic_conv.delta.rhs, nt).startswith(
        r"\left(\delta_{l+1} * \operatorname{rot180}\left(K_{l+1}\right)\right)"
        r"_{\text{full},\,s=2,\,p=1}"
    )
    assert latex(d.gradients["K_1"].rhs, nt) == r"\frac{1}{m} X \star_{s=2,\,p=1} \delta_{1}"
    assert latex(d.deltas[1].rhs, nt).startswith(
        r"\frac{1}{9} \operatorname{up}_{3\times 3}\left(\delta_{2}\right)"
    )
    doc = d.to_markdown()
    assert "dilated" in doc and "cropped by $p$" in doc and "spread evenly" in doc


def test_document_states_routing_and_index_form():
    doc = derive("cnn").to_latex()
    assert r"\mathbb{1}_{\max}(A)$ is 1 at the position of each window's maximum" in doc
    assert (
        r"\frac{\partial L}{\partial k^{(l)}_{o,c,u,v}} &= \frac{1}{m} \sum_{n,i,j} "
        r"\delta^{(l)}_{n,o,i,j}\, a^{(l-1)}_{n,c,i+u,j+v}" in doc
    )


# --------------------------------------------------------------------------- truth 2: explicit


EXPLICIT = {
    "tanh": cnn([Conv2d(2, 2, activation="tanh")], inp=(1, 3, 3), out=2),
    "stride-padding": cnn(
        [Conv2d(1, 3, stride=2, padding=1, activation="sigmoid")], inp=(1, 3, 3), out=2
    ),
    "relu-maxpool": cnn([Conv2d(1, 2, activation="relu"), MaxPool2d(2)], inp=(1, 3, 3), out=2),
    "avgpool-overlap": cnn(
        [Conv2d(1, 2, activation="tanh"), AvgPool2d(2, 1)], inp=(1, 4, 4), out=1
    ),
    "two-conv": cnn(
        [Conv2d(2, 2, activation="tanh"), Conv2d(1, 2, activation="identity")], inp=(2, 4, 4), out=1
    ),
    "softmax-row-mean": cnn(
        [Conv2d(1, 2, activation="tanh")],
        inp=(1, 3, 3),
        out=2,
        loss_out=LOSSES[2],
        convention="row",
        delta="mean",
    ),
    "same-padding-decay": cnn(
        [Conv2d(1, 3, padding="same", activation="elu")], inp=(1, 3, 3), out=1, loss_out=LOSSES[1]
    ),
}


@pytest.mark.parametrize("name", sorted(EXPLICIT))
def test_closed_form_equals_sympy_diff_of_every_entry(name):
    net = EXPLICIT[name].with_(batch=2 if name in ("tanh", "relu-maxpool") else 1)
    result = compare(derive(net), points=1)
    assert result.ok, result.mismatches[:3]


# --------------------------------------------------------------------------- truth 3: FD, torch


GRID = (
    [
        pytest.param(cnn([Conv2d(2, 3, activation=a), MaxPool2d(2)]), id=f"{a}-maxpool")
        for a in ACTIVATIONS
    ]
    + [
        pytest.param(
            cnn(
                [Conv2d(2, 3, padding=1, activation="tanh"), AvgPool2d(2)],
                loss_out=lo,
                convention=c,
                delta=dl,
            ),
            id=f"{lo[0].name}-{lo[0].reduction}-{c}-{dl}",
        )
        for lo in LOSSES
        for c in ("column", "row")
        for dl in ("per_sample", "mean")
    ]
    + [
        pytest.param(
            cnn(
                [
                    Conv2d(2, 3, stride=2, activation="relu"),
                    Conv2d(2, 2, padding=1, activation="silu"),
                    MaxPool2d(2, 1),
                ],
                inp=(2, 7, 7),
            ),
            id="stride2-conv-conv-overlapping-max",
        ),
        pytest.param(
            cnn([Conv2d(3, 3, padding="same", activation="gelu"), AvgPool2d(3, 3)], inp=(1, 6, 6)),
            id="same-avg3",
        ),
    ]
)


@pytest.mark.parametrize("net", GRID)
def test_finite_differences(net):
    report = check_grads(net, mode="entries")
    assert report.passed, str(report)


@needs_torch
@pytest.mark.parametrize("net", GRID)
def test_equals_torch_autograd(net):
    assert_matches_torch(net)


@needs_torch
def test_cnn_example_equals_torch():
    assert_matches_torch(load("cnn"), batch=4)


def test_cnn_example_passes_finite_differences():
    assert check_grads("cnn").passed


@needs_torch
def test_torch_reference_covers_every_activation():
    from test_torch_oracle import TORCH_ACT

    assert list(TORCH_ACT) == ACTIVATIONS


@st.composite
def cnn_networks(draw):
    size = draw(st.integers(4, 9))
    features = []
    for _ in range(draw(st.integers(1, 2))):
        k = draw(st.integers(1, 3))
        pad = (
            draw(st.sampled_from(["valid", "same", 0, 1]))
            if k % 2
            else draw(st.sampled_from(["valid", 1]))
        )
        stride = 1 if pad == "same" else draw(st.integers(1, 2))
        act = draw(st.sampled_from(ACTIVATIONS))
        features.append(Conv2d(draw(st.integers(1, 3)), k, stride, pad, Activation(act)))
    if draw(st.booleans()):
        psize = draw(st.integers(1, 3))
        features.append(
            (MaxPool2d if draw(st.booleans()) else AvgPool2d)(psize, draw(st.integers(1, psize)))
        )
    loss_out = draw(st.sampled_from(LOSSES))
    try:
        return cnn(
            features,
            inp=(draw(st.integers(1, 2)), size, size),
            out=draw(st.integers(1, 3)),
            loss_out=loss_out,
            convention=draw(st.sampled_from(["column", "row"])),
            delta=draw(st.sampled_from(["per_sample", "mean"])),
        )
    except SpecError:
        assume(False)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cnn_networks(), st.integers(0, 10_000))
def test_random_cnns_pass_finite_differences(net, seed):
    report = check_grads(net, seed=seed, mode="directions")
    assert report.passed, str(report)


@pytest.mark.slow
@needs_torch
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cnn_networks(), st.integers(0, 10_000))
def test_random_cnns_equal_torch_and_finite_differences(net, seed):
    assert_matches_torch(net, seed=seed)
    report = check_grads(net, seed=seed, mode="directions")
    assert report.passed, str(report)


# --------------------------------------------------------------------------- backends


@pytest.mark.parametrize(
    "backend",
    [pytest.param("jax", marks=pytest.mark.jax), pytest.param("torch", marks=needs_torch)],
)
@pytest.mark.parametrize("name", ["cnn", "strided"])
def test_jax_and_torch_modules_equal_numpy(backend, name):
    if backend == "jax":
        jax = pytest.importorskip("jax", reason="jax not installed (pip install jax)")
        jax.config.update("jax_enable_x64", True)
    else:
        pytest.importorskip("torch", reason="torch not installed (pip install torch==2.13.0)")
    net = load("cnn") if name == "cnn" else GRID[-2].values[0]
    d = derive(net)
    ref = to_module(d)
    point = random_point(d, ref, np.random.default_rng(3))
    _, want = ref.loss_and_gradients(point.X, point.Y, **point.params)
    module = to_module(d, backend)
    convert = (lambda v: torch.tensor(v)) if backend == "torch" else (lambda v: v)
    fn = module.loss_and_gradients
    if backend == "jax":
        fn = jax.jit(fn)
    _, got = fn(
        convert(point.X), convert(point.Y), **{k: convert(v) for k, v in point.params.items()}
    )
    for k in want:
        np.testing.assert_allclose(np.asarray(got[k]), want[k], rtol=1e-10, atol=1e-13, err_msg=k)


def test_numpy_module_has_no_loop_over_pixels():
    src = derive("cnn").to_source()
    assert "sliding_window_view" in src and "einsum" in src and "tensordot" in src
    loops = 0
    for fn in ast.parse(src).body:
        if isinstance(fn, ast.FunctionDef) and fn.name != "_check_shapes":
            for node in ast.walk(fn):
                if isinstance(node, (ast.For, ast.While)):
                    # the only loop runs over a pooling window's k x k offsets
                    assert isinstance(node, ast.For), ast.unparse(node)
                    assert ast.unparse(node.iter) == "enumerate(slices)", ast.unparse(node.iter)
                    loops += 1
    assert loops == 1  # maxpool2d_back: its k² offsets (the slices of _offsets)


@pytest.mark.jax
def test_jax_module_uses_jax_conv_ops():
    assert "jax.lax.conv_general_dilated" in derive("cnn").to_source("jax")


@needs_torch
def test_torch_module_uses_torch_conv_ops():
    src = derive("cnn").to_source("torch")
    assert "torch.nn.functional.conv2d" in src and "torch.nn.functional.max_pool2d" in src


def test_cli_export_and_verify_cnn(tmp_path, capsys):
    out = tmp_path / "cnn_grads.py"
    assert main(["export", "cnn", "-o", str(out)]) == 0
    assert "def loss_and_gradients" in out.read_text()
    assert main(["verify", "cnn"]) == 0
    assert "PASS" in capsys.readouterr().out


def test_symbolic_sizes_derive_and_verify():
    net = Network(
        input_width=("c", "h", "w"),
        layers=(
            Conv2d("F", 3, activation="tanh"),
            MaxPool2d(2),
            Flatten(),
            Layer("n_4", "identity"),
        ),
    )
    d = derive(net)
    assert "m×F×(h − 2)×(w − 2)" in d.text()
    report = check_grads(d, sizes={"c": 2, "h": 6, "w": 8, "F": 3, "n_4": 2})
    assert report.passed, str(report)


@pytest.mark.parametrize("k,s", [(2, 2), (3, 3), (2, 1), (3, 2), (3, 1)])
def test_maxpool_back_routes_to_the_first_maximum_of_each_window(k: int, s: int) -> None:
    """Against a plain per-window loop: ties (many, on a coarse grid) go to the first
    maximum in row-major window order; overlapping windows add their shares."""
    from derive.core.convops import maxpool2d, maxpool2d_back

    rng = np.random.default_rng(k * 10 + s)
    A = np.round(rng.normal(size=(2, 3, 7, 7)))  # coarse values: ties in most windows
    h = (7 - k) // s + 1
    A = A[:, :, : (h - 1) * s + k, : (h - 1) * s + k]
    G = rng.normal(size=(2, 3, h, h))
    want = np.zeros_like(A)
    for n, c, i, j in np.ndindex(G.shape):
        window = A[n, c, i * s : i * s + k, j * s : j * s + k]
        u, v = np.unravel_index(np.argmax(window), window.shape)
        want[n, c, i * s + u, j * s + v] += G[n, c, i, j]
        assert maxpool2d(A, k, s)[n, c, i, j] == window.max()
    np.testing.assert_allclose(maxpool2d_back(G, A, k, s), want, rtol=1e-12, atol=1e-15)


@needs_torch
def test_torch_module_keeps_the_forward_arg_max_for_the_backward_pass():
    """Max pooling runs once per pass: its indices feed the backward (no second pooling)."""
    src = derive("cnn").to_source("torch")
    backprop = src.split("def _backprop")[1]
    assert backprop.count("maxpool2d_index(") == 1 and "maxpool2d_back_index(" in backprop
    assert "maxpool2d_back(" not in backprop
