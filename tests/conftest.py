"""Shared network builders for the tests: the activation × loss × convention × delta grid."""

from __future__ import annotations

from derive import Activation, Loss, dense

HIDDEN_ACTIVATIONS = [
    Activation("identity"),
    Activation("sigmoid"),
    Activation("tanh"),
    Activation("relu"),
    Activation("leaky_relu", params=(("slope", "a"),)),
    Activation("leaky_relu", params=(("slope", 0.2),)),
    Activation("softplus"),
    Activation("elu"),
    Activation("silu"),
    Activation("gelu"),
    Activation("custom", expr="x / (1 + abs(x))", symbol="g"),
    Activation("custom", expr="x^3 / 3 + x"),
]

#: (loss, output activation) pairs: every loss with the outputs it allows.
LOSSES = [
    (Loss("squared_error", "half_mean"), "identity"),
    (Loss("squared_error", "half_sum"), "sigmoid"),
    (Loss("squared_error", "mean"), "tanh"),
    (Loss("squared_error", "sum"), "softmax"),
    (Loss("squared_error", "half_mean", weight_decay="lambda"), "identity"),
    (Loss("cross_entropy", "mean"), "softmax"),
    (Loss("cross_entropy", "sum", weight_decay=0.1), "softmax"),
    (Loss("binary_cross_entropy", "mean"), "sigmoid"),
    (Loss("binary_cross_entropy", "sum"), "sigmoid"),
]
CONVENTIONS = ["column", "row"]
DELTAS = ["per_sample", "mean"]


def net(widths, hidden, loss_out, convention="column", delta="per_sample"):
    """A network with ``hidden`` on every hidden layer and the loss's output activation."""
    loss, out = loss_out
    acts = [hidden] * (len(widths) - 2) + [Activation(out)]
    return dense(widths, acts, loss, convention=convention, delta=delta)


def label(obj) -> str:
    if isinstance(obj, Activation):
        return obj.label.replace(" ", "")
    if isinstance(obj, tuple):
        loss, out = obj
        decay = f"+wd{loss.weight_decay}" if loss.weight_decay is not None else ""
        return f"{out}-{loss.name}-{loss.reduction}{decay}"
    return str(obj)
