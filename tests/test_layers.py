"""Issue 15's layers and losses: residual, batch/layer norm, dropout; l1, mae, huber, hinge.

Three truths on each (the closed form against the explicit SymPy oracle at tiny sizes, and
finite differences on the exported code), torch.autograd on the same networks written
from the spec by hand (``nn.BatchNorm1d`` in training mode, ``nn.LayerNorm``,
``F.l1_loss``, ``F.huber_loss``, ``F.multi_margin_loss``), the highway in the printed
recurrence, and one clear line for the combinations that do not fit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import PDFLATEX, compile_tex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derive import derive, loads
from derive.cli import main
from derive.export import to_module, to_source
from derive.oracles.explicit import compare
from derive.oracles.verify import check_grads, random_point
from derive.render.text import text
from derive.spec import Dropout, Layer, Norm, Residual
from derive.spec.records import Activation, Loss, Network

NEW_EXAMPLES = ("resnet_mlp", "bn_mlp", "svm")
NEW_LOSSES = ("l1", "mae", "huber", "multiclass_hinge")


def dense(width: int, act: str = "identity") -> str:
    return f'[[layers]]\nwidth = {width}\nactivation = "{act}"\n'


def network(layers: str, loss: str = "squared_error", conv: str = "column", extra: str = ""):
    """A small network from its [[layers]] tables."""
    return loads(
        f'name = "t"\ninput = 2\nbatch = 3\nconvention = "{conv}"\n{layers}'
        f'[loss]\nname = "{loss}"\n{extra}'
    )


NORM = dense(2) + '[[layers]]\ntype = "{kind}"\nactivation = "tanh"\n' + dense(1)
RESIDUAL = (
    dense(2, "tanh")
    + '[[layers]]\ntype = "residual"\nwidth = 2\nskip_from = 1\nactivation = "tanh"\n'
    + '[[layers]]\ntype = "residual"\nwidth = 1\nskip_from = 0\nprojection = true\n'
    + 'activation = "identity"\n'
)
DROPOUT = dense(2, "tanh") + '[[layers]]\ntype = "dropout"\np = 0.5\n' + dense(2)
TINY = {
    "batchnorm": NORM.format(kind="batchnorm"),
    "layernorm": NORM.format(kind="layernorm"),
    "residual": RESIDUAL,
    "dropout": DROPOUT,
}


# --------------------------------------------------------------------------- three truths


@pytest.mark.parametrize("name", NEW_EXAMPLES)
def test_examples_pass_finite_differences(name: str) -> None:
    assert check_grads(derive(name)).passed


@pytest.mark.parametrize("conv", ["column", "row"])
@pytest.mark.parametrize("kind", list(TINY))
def test_layers_against_the_explicit_oracle(kind: str, conv: str) -> None:
    d = derive(network(TINY[kind], conv=conv))
    assert compare(d, points=1).mismatches == []
    assert check_grads(d).passed


@pytest.mark.parametrize("loss", NEW_LOSSES)
def test_losses_against_the_explicit_oracle(loss: str) -> None:
    d = derive(network(dense(2, "tanh") + dense(3), loss=loss))
    assert compare(d, points=1).mismatches == []
    assert check_grads(d).passed


# --------------------------------------------------------------------------- what it prints


def test_residual_delta_shows_the_highway() -> None:
    # δ_1 = (W_2ᵀ δ_2 + δ_2) ⊙ f'(Z_1): the skip adds δ_2 to the cotangent of A_1
    d = derive("resnet_mlp")
    assert text(d.delta(1).rhs) == "(W₂ᵀ δ₂ + δ₂) ⊙ relu'(Z₁)"


def test_projection_skip_adds_its_transpose() -> None:
    layers = (
        dense(3, "tanh")
        + dense(2, "tanh")
        + '[[layers]]\ntype = "residual"\nwidth = 2\nskip_from = 1\nprojection = true\n'
    )
    d = derive(network(layers))
    assert "P₃ᵀ δ₃" in text(d.delta(1).rhs)
    assert "∂L/∂P₃" in [text(st.lhs) for st in d.steps]


def test_batch_norm_cancels_the_bias_before_it() -> None:
    # the mean over the batch removes b_1: its gradient is zero at every point
    d = derive(network(TINY["batchnorm"]))
    module = to_module(d)
    rng = np.random.default_rng(1)
    point = random_point(d, module, rng, {"m": 3})
    _, grads = module.loss_and_gradients(point.X, point.Y, **point.params, **point.hyper)
    np.testing.assert_allclose(grads["b1"], 0, atol=1e-12)
    assert np.abs(grads["W1"]).max() > 1e-6


def test_dropout_mask_routes_delta() -> None:
    d = derive(network(DROPOUT))
    module = to_module(d)
    point = random_point(d, module, np.random.default_rng(2), {"m": 3})
    mask = np.ones((2, 3))
    mask[0, :] = 0.0  # unit 1 of layer 1 dropped for every sample
    hyper = {**point.hyper, "M2": mask}
    _, grads = module.loss_and_gradients(point.X, point.Y, **point.params, **hyper)
    np.testing.assert_allclose(grads["W1"][0], 0, atol=1e-15)  # no δ reaches it
    np.testing.assert_allclose(grads["b1"][0], 0, atol=1e-15)
    assert np.abs(grads["W1"][1]).max() > 1e-6


@pytest.mark.parametrize("name", NEW_EXAMPLES)
def test_examples_show_latex_export(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["show", name], ["latex", name], ["export", name]):
        assert main(args) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.torch
@pytest.mark.parametrize("name", NEW_EXAMPLES)
def test_examples_export_for_torch(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch", reason="the torch backend needs torch (pip install torch==2.13.0)")
    assert main(["export", name, "--backend", "torch"]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex not installed (apt-get install texlive)")
@pytest.mark.parametrize("name", NEW_EXAMPLES)
def test_examples_latex_compiles(name: str, tmp_path: Path) -> None:
    code, log = compile_tex(derive(name).to_latex(), tmp_path)
    assert code == 0, log[-2000:]


# --------------------------------------------------------------------------- bad input

BAD = [
    (
        dense(4) + '[[layers]]\ntype = "residual"\nwidth = 5\nskip_from = 1\n',
        9,
        "layers[2].skip_from",
        "set projection = true",
    ),
    (
        dense(4) + '[[layers]]\ntype = "residual"\nwidth = 4\nskip_from = 7\n',
        9,
        "layers[2].skip_from",
        "earlier layer",
    ),
    (
        dense(4) + '[[layers]]\ntype = "residual"\nwidth = 4\n',
        7,
        "layers[2].type",
        "needs skip_from",
    ),
    ('[[layers]]\ntype = "batchnorm"\n' + dense(2), 4, "layers[1].type", "dense layer"),
    (dense(4) + '[[layers]]\ntype = "dropout"\np = 1.5\n', 8, "layers[2].p", "keep probability"),
    (
        dense(4) + '[[layers]]\ntype = "layernorm"\nactivation = "softmax"\n',
        8,
        "layers[2].activation",
        "softmax",
    ),
]


@pytest.mark.parametrize(("layers", "line", "key", "phrase"), BAD)
def test_bad_layers_one_line_exit_2(
    layers: str,
    line: int,
    key: str,
    phrase: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(f"input = 3\nbatch = 2\n{layers}")
    assert main(["show", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"derive: error: {path}:{line}: {key}: ")
    assert phrase in err


def test_batch_norm_on_a_conv_layer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "conv.toml"
    path.write_text(
        'input = [1, 6, 6]\n[[layers]]\ntype = "conv2d"\nchannels = 2\n'
        '[[layers]]\ntype = "batchnorm"\n[[layers]]\ntype = "flatten"\n' + dense(2)
    )
    assert main(["show", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"derive: error: {path}:6: layers[2].type: ")
    assert "spatial batch norm" in err and "does not exist yet" in err


def test_loss_parameter_of_another_loss(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "l1.toml"
    path.write_text("input = 3\n" + dense(2) + '[loss]\nname = "l1"\ndelta = 2\n')
    assert main(["show", str(path)]) == 2
    assert "loss.delta: delta is a parameter of the huber loss" in capsys.readouterr().err


# --------------------------------------------------------------------------- torch oracle

torch_mark = pytest.mark.torch


def _torch_loss(net, point, torch):  # noqa: ANN001 - torch is the imported module
    """The loss written from the spec by hand in torch (not from derive's equations)."""
    F = torch.nn.functional
    col = net.convention == "column"
    t = {
        k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in point.params.items()
    }
    hyper = point.hyper

    def act(name: str, z):  # noqa: ANN001
        return {
            "identity": lambda: z,
            "tanh": lambda: torch.tanh(z),
            "relu": lambda: torch.relu(z),
        }[name]()

    a = torch.tensor(point.X, dtype=torch.float64)
    outs = [a]
    for i, layer in enumerate(net.layers, start=1):
        if isinstance(layer, Norm):
            eps = hyper.get(str(layer.eps), layer.eps)
            rows = a.T if col else a  # samples × features
            n = rows.shape[1]
            if layer.over == "batch":
                bn = torch.nn.BatchNorm1d(n, eps=float(eps), dtype=torch.float64)
                bn.train()
                with torch.no_grad():
                    bn.weight.copy_(t[f"gamma{i}"].detach().reshape(-1))
                    bn.bias.copy_(t[f"beta{i}"].detach().reshape(-1))
                normed = F.batch_norm(
                    rows,
                    None,
                    None,
                    t[f"gamma{i}"].reshape(-1),
                    t[f"beta{i}"].reshape(-1),
                    training=True,
                    eps=float(eps),
                )
                torch.testing.assert_close(bn(rows), normed, rtol=1e-12, atol=1e-12)
            else:
                ln = torch.nn.LayerNorm(n, eps=float(eps), dtype=torch.float64)
                with torch.no_grad():
                    ln.weight.copy_(t[f"gamma{i}"].detach().reshape(-1))
                    ln.bias.copy_(t[f"beta{i}"].detach().reshape(-1))
                normed = F.layer_norm(
                    rows,
                    (n,),
                    t[f"gamma{i}"].reshape(-1),
                    t[f"beta{i}"].reshape(-1),
                    eps=float(eps),
                )
                torch.testing.assert_close(ln(rows), normed, rtol=1e-12, atol=1e-12)
            a = act(layer.activation.name, normed.T if col else normed)
        elif isinstance(layer, Dropout):
            mask = torch.tensor(hyper[f"M{i}"], dtype=torch.float64)
            a = a * mask / float(hyper.get(str(layer.p), layer.p))
        elif isinstance(layer, Layer):
            w, b = t[f"W{i}"], t[f"b{i}"]
            z = w @ a + b if col else a @ w + b
            if isinstance(layer, Residual):
                src = outs[layer.skip_from]
                if layer.projection:
                    p = t[f"P{i}"]
                    src = p @ src if col else src @ p
                z = z + src
            a = act(layer.activation.name, z)
        outs.append(a)
    y = torch.tensor(point.Y, dtype=torch.float64)
    m = a.shape[1] if col else a.shape[0]
    loss = net.loss
    scores, target = (a.T, y.T) if col else (a, y)
    if loss.name == "squared_error":
        half = 0.5 if loss.reduction.startswith("half") else 1.0
        value = half * ((a - y) ** 2).sum() / m
    elif loss.name == "l1":
        value = F.l1_loss(a, y, reduction="sum") / m
    elif loss.name == "mae":
        value = F.l1_loss(a, y, reduction="mean")
    elif loss.name == "huber":
        delta = float(loss.delta if loss.delta is not None else 1)
        value = F.huber_loss(a, y, reduction="sum", delta=delta) / m
    else:  # multiclass_hinge: torch divides each sample's sum by the number of classes
        labels = target.argmax(dim=1)
        margin = float(loss.margin if loss.margin is not None else 1)
        classes = scores.shape[1]
        value = F.multi_margin_loss(scores, labels, margin=margin, reduction="sum") * classes / m
    if loss.reduction in ("sum", "half_sum"):
        value = value * m
    return value, t


def _against_torch(net, seed: int = 0) -> None:  # noqa: ANN001
    torch = pytest.importorskip("torch", reason="torch not installed (pip install torch==2.13.0)")
    d = derive(net)
    module = to_module(d)
    point = random_point(d, module, np.random.default_rng(seed), {})
    if net.loss.name == "multiclass_hinge":  # one-hot targets
        y = np.zeros_like(point.Y)
        idx = np.random.default_rng(seed).integers(
            0, y.shape[0 if d.program.column else 1], y.shape[1 if d.program.column else 0]
        )
        for s, c in enumerate(idx):
            y[(c, s) if d.program.column else (s, c)] = 1.0
        point.Y = y
    for k, v in point.hyper.items():
        if isinstance(v, np.ndarray):
            point.hyper[k] = (v > 0).astype(float)
    L, grads = module.loss_and_gradients(point.X, point.Y, **point.params, **point.hyper)
    value, t = _torch_loss(net, point, torch)
    value.backward()
    np.testing.assert_allclose(L, value.item(), rtol=1e-9)
    for name, g in grads.items():
        np.testing.assert_allclose(g, t[name].grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


@torch_mark
@pytest.mark.parametrize("name", NEW_EXAMPLES)
def test_examples_against_torch(name: str) -> None:
    net = derive(name).network.concrete({"D": 3, "H": 4, "C": 3, "n_0": 3, "n_1": 4, "n_3": 2}, 4)
    if name == "bn_mlp":  # cross-entropy: torch written here for the new losses only
        net = net.with_(
            layers=(*net.layers[:2], Layer(3, "identity")), loss=net.loss.__class__("huber")
        )
    _against_torch(net)


@torch_mark
@pytest.mark.parametrize("conv", ["column", "row"])
@pytest.mark.parametrize("kind", list(TINY))
def test_layers_against_torch(kind: str, conv: str) -> None:
    _against_torch(network(TINY[kind], conv=conv))


@torch_mark
@pytest.mark.parametrize("conv", ["column", "row"])
@pytest.mark.parametrize("loss", NEW_LOSSES)
def test_losses_against_torch(loss: str, conv: str) -> None:
    extra = "delta = 0.7\n" if loss == "huber" else ""
    _against_torch(network(dense(3, "tanh") + dense(3), loss=loss, conv=conv, extra=extra))


# --------------------------------------------------------------------------- drawn networks


@st.composite
def configurations(draw: st.DrawFn):
    """A small network with one of the new layers and one of the new losses."""
    conv = draw(st.sampled_from(["column", "row"]))
    kind = draw(st.sampled_from(["batchnorm", "layernorm", "residual", "dropout"]))
    act = draw(st.sampled_from(["tanh", "identity", "relu"]))
    width = draw(st.integers(2, 3))
    layers = dense(width, "identity" if kind.endswith("norm") else "tanh")
    if kind.endswith("norm"):
        layers += f'[[layers]]\ntype = "{kind}"\nactivation = "{act}"\n'
    elif kind == "residual":
        proj = draw(st.booleans())
        w2 = width + 1 if proj else width
        layers += (
            f'[[layers]]\ntype = "residual"\nwidth = {w2}\nskip_from = 1\n'
            f'projection = {"true" if proj else "false"}\nactivation = "{act}"\n'
        )
    else:
        layers += '[[layers]]\ntype = "dropout"\np = 0.8\n'
    loss = draw(st.sampled_from(["squared_error", *NEW_LOSSES]))
    reduction = draw(st.sampled_from(["mean", "sum"])) if loss != "mae" else "mean"
    layers += dense(draw(st.integers(2, 3)))
    return network(layers, loss=loss, conv=conv, extra=f'reduction = "{reduction}"\n')


SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}


def _three_ways(net) -> None:  # noqa: ANN001
    d = derive(net)
    assert check_grads(d).passed
    pytest.importorskip("torch", reason="torch not installed (pip install torch==2.13.0)")
    _against_torch(net)


test_drawn_configurations = settings(max_examples=4, **SETTINGS)(
    given(configurations())(_three_ways)
)
test_drawn_configurations_long = pytest.mark.slow(
    settings(max_examples=60, **SETTINGS)(given(configurations())(_three_ways))
)


@pytest.mark.slow
@settings(max_examples=10, **SETTINGS)
@given(configurations())
def test_drawn_configurations_explicit(net) -> None:  # noqa: ANN001
    assert compare(derive(net.with_(batch=2)), points=1).mismatches == []


def test_entrywise_argument_with_an_underscore_exports() -> None:
    # relu(1 + A₂ − broadcast_to(…)): the printed argument holds "broadcast_to", which the
    # printer once mangled as a symbol name (numpy.broadcasttonumpysum…): a SyntaxError
    src = to_source(derive("svm"))
    compile(src, "svm", "exec")
    assert "numpy.broadcast_to(numpy.sum(" in src


@pytest.mark.parametrize("conv", ["column", "row"])
@pytest.mark.parametrize("kind", ["batchnorm", "layernorm"])
def test_staged_norm_backward_is_the_inlined_one(kind: str, conv: str) -> None:
    # dXhat, dvar, dXc, dmu, then dA_{l-1}: evaluated in order they give ∂C/∂A_{l-1}
    from derive.core import numeric

    d = derive(network(TINY[kind], conv=conv))
    module = to_module(d)
    point = random_point(d, module, np.random.default_rng(3), {"m": 3})
    env = {p: point.params[p.name.replace("_", "")] for p in d.program.params}
    env |= dict(zip(d.program.inputs, (point.X, point.Y)))
    for eq in d.program.equations:
        for s in eq.rhs.free_symbols:
            if s.name in point.hyper:
                env[s] = point.hyper[s.name]
    for eq in d.program.equations[:-1]:
        env[eq.out] = numeric.evaluate(eq.rhs, env)
    for k in range(d.depth, 0, -1):
        env[d.delta(k).lhs] = numeric.evaluate(d.delta(k).rhs, env)
    stages = d.stages[2]
    assert [s.lhs.name for s in stages] == [
        "dXhat_2",
        "dsigma_2",
        "dvar_2",
        "dXc_2",
        "dmu_2",
        "dA_1",
    ]
    for stage in stages:
        env[stage.lhs] = numeric.evaluate(stage.rhs, env)
    np.testing.assert_allclose(env[stages[-1].lhs], numeric.evaluate(d.cotangents[1].rhs, env))
    np.testing.assert_allclose(env[stages[-1].lhs], env[d.delta(1).lhs])  # identity layer 1


@pytest.mark.parametrize(
    ("body", "phrase"),
    [
        (dense(2) + '[[layers]]\ntype = "batchnorm"\neps = -1\n' + dense(2), "it must be > 0"),
        (dense(2) + '[loss]\nname = "huber"\ndelta = 0\n', "delta must be > 0"),
        (dense(2) + '[loss]\nname = "huber"\ndelta = -2\n', "delta must be > 0"),
    ],
)
def test_non_positive_eps_and_delta_are_refused(
    body: str, phrase: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A negative ε made verify crash with a RuntimeError; a Huber δ ≤ 0 is no loss."""
    path = tmp_path / "bad.toml"
    path.write_text("input = 3\nbatch = 2\n" + body)
    assert main(["show", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and phrase in err


def test_the_explicit_oracle_agrees_on_batch_norm_of_two_samples() -> None:
    """Found by hypothesis in CI: identity layers around a batch norm, a batch of 2, ε = 1.
    Exact arithmetic at rational points left √(var + ε) uncancelled, so equal entries
    'differed'; finite differences agreed. The oracle now compares radicals to 60 digits."""
    identity = Activation("identity")
    net = Network(
        input_width=2,
        layers=(
            Layer(width=2, activation=identity),
            Norm(over="batch", activation=identity, eps="epsilon"),
            Layer(width=2, activation=identity),
        ),
        loss=Loss(name="squared_error", reduction="mean"),
        batch=2,
    )
    assert compare(derive(net), points=1).mismatches == []
