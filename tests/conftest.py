"""Shared network builders for the tests: the activation × loss × convention × delta grid."""

from __future__ import annotations

import importlib.util
import itertools
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from derive import Activation, Loss, dense

#: Optional backends: tests marked with one skip, with this reason, where it is missing.
BACKENDS = {"torch": "pip install torch==2.13.0", "jax": "pip install jax"}


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Skip ``@pytest.mark.torch`` / ``@pytest.mark.jax`` tests whose backend is missing."""
    missing = {name for name in BACKENDS if importlib.util.find_spec(name) is None}
    for item in items:
        for name in sorted(n for n in missing if item.get_closest_marker(n)):
            item.add_marker(pytest.mark.skip(reason=f"{name} not installed ({BACKENDS[name]})"))


#: The three export backends as parameters; jax and torch carry their marker, so they skip
#: with the reason where missing and run in CI's backend pass (``-m "… or torch or jax"``).
BACKEND_PARAMS = [
    "numpy",
    pytest.param("jax", marks=pytest.mark.jax),
    pytest.param("torch", marks=pytest.mark.torch),
]

PDFLATEX = shutil.which("pdflatex")


def compile_tex(tex: str, where: Path, *flags: str) -> tuple[int, str]:
    """Run pdflatex on ``tex`` in ``where``: its exit code and its log."""
    (where / "doc.tex").write_text(tex)
    run = subprocess.run(
        [PDFLATEX or "pdflatex", *flags, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    log = where / "doc.log"
    return run.returncode, log.read_text(errors="replace") if log.exists() else run.stdout


def grid(*axes: Sequence[Any], ids: Any = None) -> list[Any]:
    """The full product of ``axes`` as ``pytest.param``s, all but a covering subset slow.

    The default run keeps a diagonal through the product (every value of every axis at
    least once, every pair of values of the short axes); the rest carry
    ``@pytest.mark.slow`` and run in CI's exhaustive pass (``-m slow``).
    """
    strides, stride = [], 1
    for axis in axes:  # two-valued axes (convention, delta) step at different rates: all pairs
        strides.append(stride if len(axis) == 2 else 1)
        stride *= len(axis) if len(axis) == 2 else 1
    cover = {
        tuple(axis[(i // st) % len(axis)] for st, axis in zip(strides, axes))
        for i in range(max(max(len(axis) for axis in axes), stride))
    }
    out = []
    for combo in itertools.product(*axes):
        name = "-".join((ids or str)(v) for v in combo)
        marks = () if combo in cover else (pytest.mark.slow,)
        out.append(pytest.param(*combo, id=name, marks=marks))
    return out


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
