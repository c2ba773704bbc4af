"""The exported program module computes only what the gradients read (issue 15's speed
item): no materialised broadcasts or constants, no unread forward values, shared
subexpressions computed once; and it agrees across the backends."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from derive.programs import derive_program
from derive.spec.program import loads_program
from derive.spec.program_records import PROGRAM_EXAMPLES


def _gradients_body(src: str) -> str:
    return src[src.index("def gradients(") :]


def test_batchnorm_export_is_lean() -> None:
    body = _gradients_body(derive_program("batchnorm").to_source())
    assert "broadcast_to" not in body and "full(" not in body
    assert not re.search(r"^\s+out = ", body, re.M)  # the output itself is never read
    assert body.count("numpy.sum(dout") == 1  # Σ dout is shared by dX and dbeta
    assert body.count("numpy.sqrt(") == 1  # √(var + ε) shared by X̂ and dX


def test_derivative_reads_the_forward_value() -> None:
    text = '''name = "t"
convention = "row"
[inputs]
X = ["N", "D"]
[parameters]
W = ["D", "H"]
[forward]
equations = """
Z = X @ W
h = tanh(Z)
s = sigmoid(h @ W.T)
"""
[loss]
expression = "sum(s)"
'''
    d = derive_program(loads_program(text))
    body = _gradients_body(d.to_source())
    assert body.count("numpy.tanh(") == 1  # tanh' = 1 − h², not 1 − tanh(Z)²
    assert "1 - h**2" in body
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((4, 3)), rng.standard_normal((3, 5))
    got = d.to_function()(x, w)["W"]
    eps = 1e-6

    def loss(w_: np.ndarray) -> float:
        s = 1 / (1 + np.exp(-(np.tanh(x @ w_) @ w_.T)))
        return float(s.sum())

    fd = np.zeros_like(w)
    for idx in np.ndindex(*w.shape):
        e = np.zeros_like(w)
        e[idx] = eps
        fd[idx] = (loss(w + e) - loss(w - e)) / (2 * eps)
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("backend", ["jax", "torch"])
@pytest.mark.parametrize("name", PROGRAM_EXAMPLES)
def test_backends_agree_with_numpy(name: str, backend: str) -> None:
    pytest.importorskip(backend, reason=f"{backend} is not installed")
    d = derive_program(name)
    grads = d.to_function()
    other = d.to_function(backend)
    mod = grads.module
    rng = np.random.default_rng(0)
    sizes: dict[str, int] = {}
    g = d.graph

    def dims(shape: Any) -> list[int]:
        return [int(s) if s.is_Integer else sizes.setdefault(str(s), 3 + len(sizes)) for s in shape]

    arrays = [rng.standard_normal(dims(s.shape)) for s in g.inputs]
    labels = [rng.integers(0, dims([lab.classes])[0], size=dims([lab.n])[0]) for lab in g.labels]
    arrays += [rng.standard_normal(dims(s.shape)) for s in g.parameters]
    if g.upstream is not None:
        arrays.append(rng.standard_normal(dims(g.upstream.shape)))
    arrays = arrays[: len(g.inputs)] + labels + arrays[len(g.inputs) :]
    hyper = {h: 0.1 for h in mod.HYPERPARAMETERS}
    ours = grads(*arrays, **hyper)
    if backend == "torch":
        import torch

        theirs = other(*[torch.tensor(a) for a in arrays], **hyper)
        theirs = {k: v.numpy() for k, v in theirs.items()}
    else:
        import jax

        jax.config.update("jax_enable_x64", True)
        theirs = other(*[jax.numpy.asarray(a) for a in arrays], **hyper)
    for key, value in ours.items():
        np.testing.assert_allclose(np.asarray(theirs[key]), value, rtol=1e-10, atol=1e-12)


def test_shared_values_are_defined_after_what_they_read() -> None:
    # a structure's key once equalled the size 4 of X (4×3): 1 − 𝟙[H0 > 0] was then
    # named before H0 existed (found by the random programs of test_programs)
    text = '''name = "leaky"
[inputs]
X = [4, 3]
[parameters]
W = [3, 5]
[forward]
equations = """
H0 = X @ W
H1 = where(H0 > 0, H0, 0.1 * H0)
H2 = tanh(H1)
"""
[loss]
expression = "sum(H2 * H2) / 2"
'''
    report = derive_program(loads_program(text)).verify()
    assert report.passed, str(report)
