"""Hand-written NumPy backward passes, the baselines the exported code is measured against.

Written from the standard derivations (CS231n's ``rnn_layers.py``: ``rnn_step_forward``,
``rnn_step_backward``, ``temporal_affine_*``, ``temporal_softmax_loss``; the attention
backward with the softmax Jacobian ``dS = P ⊙ (dP − rowsum(dP ⊙ P))``), independently of
derive. ``tests/test_sequence.py`` checks each equal to derive's export (rtol 1e-10), so a
benchmark compares like with like.
"""

from __future__ import annotations

import numpy as np


def rnn_loss_and_grads(
    xs: list[np.ndarray],
    h0: np.ndarray,
    ys: list[np.ndarray],
    wx: np.ndarray,
    wh: np.ndarray,
    b: np.ndarray,
    wy: np.ndarray,
    by: np.ndarray,
) -> tuple[float, dict[str, np.ndarray]]:
    """A tanh RNN, a linear read-out at every step and the softmax cross-entropy (mean
    over the batch, summed over time): the loss and every parameter's gradient (BPTT)."""
    n = h0.shape[0]
    hs = [h0]
    loss = 0.0
    dscores = []
    for x, y in zip(xs, ys):
        h = np.tanh(x @ wx + hs[-1] @ wh + b)
        hs.append(h)
        s = h @ wy + by
        s = s - s.max(axis=1, keepdims=True)
        p = np.exp(s)
        p /= p.sum(axis=1, keepdims=True)
        loss -= np.log(p[np.arange(n), y]).sum() / n
        p[np.arange(n), y] -= 1
        dscores.append(p / n)
    dwx, dwh = np.zeros_like(wx), np.zeros_like(wh)
    db, dwy, dby = np.zeros_like(b), np.zeros_like(wy), np.zeros_like(by)
    dnext = np.zeros_like(h0)
    for t in reversed(range(len(xs))):
        ds = dscores[t]
        dwy += hs[t + 1].T @ ds
        dby += ds.sum(axis=0, keepdims=True)
        dh = ds @ wy.T + dnext
        dz = dh * (1 - hs[t + 1] ** 2)
        dwx += xs[t].T @ dz
        dwh += hs[t].T @ dz
        db += dz.sum(axis=0, keepdims=True)
        dnext = dz @ wh.T
    grads = {"W_xh": dwx, "W_hh": dwh, "b": db, "W_hy": dwy, "b_y": dby}
    return loss, grads


def attention_backward(
    x: np.ndarray,
    wq: np.ndarray,
    wk: np.ndarray,
    wv: np.ndarray,
    dout: np.ndarray,
) -> dict[str, np.ndarray]:
    """Single-head scaled dot-product attention ``softmax(Q Kᵀ/√d) V`` with ``Q = X W_Q``,
    ``K = X W_K``, ``V = X W_V``: the gradients of X and the three weights given the
    upstream ``dout``."""
    d = wq.shape[1]
    q, k, v = x @ wq, x @ wk, x @ wv
    s = (q @ k.T) / np.sqrt(d)
    s = s - s.max(axis=1, keepdims=True)
    p = np.exp(s)
    p /= p.sum(axis=1, keepdims=True)
    dp = dout @ v.T
    dv = p.T @ dout
    ds = p * (dp - (dp * p).sum(axis=1, keepdims=True)) / np.sqrt(d)
    dq = ds @ k
    dk = ds.T @ q
    dx = dq @ wq.T + dk @ wk.T + dv @ wv.T
    return {"X": dx, "W_Q": x.T @ dq, "W_K": x.T @ dk, "W_V": x.T @ dv}
