"""The checker's own nodes: what a hand-written CNN formula may say that the derivation
never writes.

A kernel rotated by 180 degrees, a sliding-window product in either orientation and mode,
an upsampling and an arg-max mask. The checker compares them with the derived forms by
value, so each has a NumPy evaluator (registered in the core's interpreter) and a text
form; the core knows nothing of them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sympy.core.symbol import Str

from derive.core import convops
from derive.core.interpret import Env
from derive.core.nodes import TensorExpr, _int
from derive.core.numeric import _ints, evaluate, on


class Rot180(TensorExpr):
    """The kernel rotated by 180 degrees in its two spatial axes."""

    role = "reading"

    arg = property(lambda self: self.args[0])

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        return tuple(self.arg.shape)


def rot180(x: Any) -> Any:
    """``rot180(rot180(K)) = K``."""
    return x.arg if isinstance(x, Rot180) else Rot180(x)


class Slide(TensorExpr):
    """A sliding-window product (cross-correlation) of P with Q, as formulas write it.

    ``orient``: ``fwd`` (P maps (m,C,H,W), Q kernels (O,C,k,k) -> (m,O,·,·)), ``bwd`` (P is
    a delta (m,O,H',W'), Q kernels (O,C,k,k) -> (m,C,·,·); P dilated by the stride) or
    ``kern`` (P maps, Q a delta -> kernels (O,C,·,·)). P is zero-padded by ``pad`` and the
    result cropped by ``crop`` on every side.
    """

    role = "reading"

    def __new__(cls, p: Any, q: Any, orient: str, stride: Any, pad: Any, crop: Any = 0) -> Any:
        return super().__new__(cls, p, q, Str(orient), _int(stride), _int(pad), _int(crop))

    p = property(lambda self: self.args[0])
    q = property(lambda self: self.args[1])
    orient = property(lambda self: str(self.args[2]))
    stride = property(lambda self: self.args[3])
    pad = property(lambda self: self.args[4])
    crop = property(lambda self: self.args[5])

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        p, q, s, pad, crop = self.p.shape, self.q.shape, self.stride, self.pad, self.crop
        if self.orient == "fwd":
            k = q[2]
            side = [(d + 2 * pad - k) / s + 1 for d in p[2:]]
            return (p[0], q[0], *side)
        if self.orient == "bwd":
            k = q[2]
            side = [(d - 1) * s + 1 + 2 * pad - k + 1 - 2 * crop for d in p[2:]]
            return (p[0], q[1], *side)
        side = [d + 2 * pad - (e - 1) * s for d, e in zip(p[2:], q[2:])]
        return (q[1], p[1], *side)


class UpSample(TensorExpr):
    """Each entry copied to every pixel of its k x k window (``like``: the pooled maps)."""

    role = "reading"

    def __new__(cls, g: Any, like: Any, size: Any, stride: Any) -> Any:
        return super().__new__(cls, g, like, _int(size), _int(stride))

    arg = property(lambda self: self.args[0])
    like = property(lambda self: self.args[1])
    size = property(lambda self: self.args[2])
    stride = property(lambda self: self.args[3])

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        return tuple(self.like.shape)


class MaxMask(TensorExpr):
    """1 where an entry of A is the maximum of its pooling window, 0 elsewhere."""

    role = "reading"

    def __new__(cls, a: Any, size: Any, stride: Any) -> Any:
        return super().__new__(cls, a, _int(size), _int(stride))

    arg = property(lambda self: self.args[0])
    size = property(lambda self: self.args[1])
    stride = property(lambda self: self.args[2])

    @property
    def shape(self) -> tuple[Any, ...]:
        """The node's shape, from its operands."""
        return tuple(self.arg.shape)


# --------------------------------------------------------------------------- their values


@on(Rot180)
def _rot180(e: Rot180, env: Env) -> Any:
    return evaluate(e.arg, env)[:, :, ::-1, ::-1]


@on(Slide)
def _slide(e: Slide, env: Env) -> Any:
    p, q = evaluate(e.p, env), evaluate(e.q, env)
    s, pad, crop = _ints(e.stride, e.pad, e.crop)
    if e.orient == "fwd":
        return convops.conv2d(p, q, s, pad)
    if e.orient == "bwd":
        full = convops._pad(convops._dilate(p, s), pad)
        out = convops.conv2d(full, q.transpose(1, 0, 2, 3), 1, 0)
        h, w = out.shape[2] - 2 * crop, out.shape[3] - 2 * crop
        return out[:, :, crop : crop + h, crop : crop + w]
    k = p.shape[2] + 2 * pad - (q.shape[2] - 1) * s
    return convops.conv2d_back_kernel(p, q, s, pad, k)


@on(UpSample)
def _upsample(e: UpSample, env: Env) -> Any:
    g, like = evaluate(e.arg, env), evaluate(e.like, env)
    ones = np.ones(like.shape)
    return convops.avgpool2d_back(g, ones, *_ints(e.size, e.stride)) * int(e.size) ** 2


@on(MaxMask)
def _maxmask(e: MaxMask, env: Env) -> Any:
    a = evaluate(e.arg, env)
    k, s = _ints(e.size, e.stride)
    h, w = (a.shape[2] - k) // s + 1, (a.shape[3] - k) // s + 1
    return convops.maxpool2d_back(np.ones((a.shape[0], a.shape[1], h, w)), a, k, s)
