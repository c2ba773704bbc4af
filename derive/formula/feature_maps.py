"""Feature maps in a formula: rot180, pooling, (un)flatten, sliding products, the
exported modules' helpers."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import sympy

from derive.core.nodes import (
    Correlate,
    Flatten,
    Pool,
    TensorSymbol,
    Unflatten,
    is_tensor,
    tensor_coeff,
    tensor_scale,
    tensor_shape,
)
from derive.formula.algebra import (
    ShapeMismatch,
    _Ones,
    _scalar,
    _wrap,
    shape_text,
)
from derive.formula.ir import Dim, FormulaError, Helper
from derive.formula.nodes import MaxMask, Slide, UpSample, rot180
from derive.formula.symbols import Symbols
from derive.render.text import text


class FeatureMaps(Symbols):
    """The CNN operations, sized by this network."""

    def feature_fn(self, name: str, arg: Any) -> Any:
        """rot180, up, the arg-max mask, pooling and (un)flatten, sized by this network."""
        if not is_tensor(arg) and name not in ("unflatten",):
            raise ShapeMismatch(f"{name}({text(arg)}): {text(arg)} is not a feature map or kernel")
        if name == "rot180":
            return rot180(arg)
        eqs = self.d.program.equations
        pools = [eq for eq in eqs if isinstance(eq.rhs, Pool)]
        if name in ("up", "maxmask", "maxpool", "avgpool"):
            # the pooling layer this map goes in (maxmask, pool) or comes out of (up)
            key = "out" if name == "up" else "in"
            for eq in pools:
                if (eq.out.shape if key == "out" else eq.rhs.input.shape) == tensor_shape(arg):
                    pool = eq.rhs
                    break
            else:
                raise ShapeMismatch(
                    f"{name}({text(arg)}): no pooling layer of this network "
                    f"{'gives' if key == 'out' else 'takes'} {shape_text(_wrap(arg))} maps"
                )
            if name == "up":
                return UpSample(arg, pool.input, pool.size, pool.stride)
            if name == "maxmask":
                return MaxMask(arg, pool.size, pool.stride)
            return Pool(arg, name[:3], pool.size, pool.stride)
        for eq in eqs:
            if isinstance(eq.rhs, Flatten):
                if name == "flatten" and eq.rhs.input.shape == tensor_shape(arg):
                    return Flatten(arg, eq.rhs.column)
                if name == "unflatten" and getattr(arg, "shape", None) == eq.out.shape:
                    return Unflatten(arg, eq.rhs.input, eq.rhs.column)
        raise ShapeMismatch(f"{name}({text(arg)}): no flatten layer of this network fits")

    def conv_of(self, e: Any) -> Correlate | None:
        """The Correlate node of the layer a kernel or a delta belongs to."""
        while not isinstance(e, TensorSymbol) and is_tensor(e) and e.args:
            e = next(a for a in e.args if is_tensor(a))
        name = getattr(e, "name", "")
        for eq in self.d.program.equations:
            corr = next((a for a in getattr(eq.rhs, "args", ()) if isinstance(a, Correlate)), None)
            if corr is None:
                continue
            if corr.kernel == e or (eq.out.name.replace("Z_", "delta_", 1) == name):
                return corr
        return None

    def slide(self, p: Any, q: Any, mode: str | None) -> Iterator[Any]:
        """Every reading of a sliding-window product of p and q (see ``Slide``)."""
        mode = mode or self.mode or "valid"
        if not (is_tensor(p) and is_tensor(q)):
            raise ShapeMismatch(f"{text(p)} ⋆ {text(q)}: a sliding product needs feature maps")
        (cp, p), (cq, q) = tensor_coeff(p), tensor_coeff(q)
        if cp * cq != 1:  # (1/m) A ⋆ δ = (1/m) (A ⋆ δ): the product is linear in each side
            for r in self.slide(p, q, mode):
                yield tensor_scale(r, cp * cq)
            return
        m = self.d.program.batch
        sp, sq = tensor_shape(p), tensor_shape(q)
        if len(sp) != 4 or len(sq) != 4:
            raise ShapeMismatch(f"{text(p)} ⋆ {text(q)}: a bias cannot slide")
        if sp[0] != m and sq[0] == m:  # K ⋆ A: the kernel slides over the maps
            p, q, sp, sq = q, p, sq, sp
        readings = []
        if sp[0] == m and sq[0] == m:
            corr = self.conv_of(q)
            s, pad = (corr.stride, corr.padding) if corr is not None else (1, 0)
            k = corr.kernel.shape[2] if corr is not None else None
            full = (sq[2] - 1) * s if k is None else k - 1
            readings.append(Slide(p, q, "kern", s, pad if mode == "valid" else full))
        elif sp[0] == m:
            corr = self.conv_of(q)
            s, pad = (corr.stride, corr.padding) if corr is not None else (1, 0)
            k = sq[2]
            if sq[1] == sp[1]:
                readings.append(Slide(p, q, "fwd", s, pad if mode == "valid" else k - 1))
            if sq[0] == sp[1]:
                if mode == "full":
                    readings.append(Slide(p, q, "bwd", s, k - 1, pad))
                else:
                    readings.append(Slide(p, q, "bwd", s, 0, 0))
        if not readings:
            raise ShapeMismatch(
                f"{text(p)} ⋆ {text(q)}: the channels do not fit "
                f"({text(p)} is {shape_text(_wrap(p))}, {text(q)} is {shape_text(_wrap(q))})"
            )
        yield from readings

    def _helper(self, node: Helper) -> Iterator[Any]:
        """The exported modules' feature-map helpers, read as the nodes they print."""
        from derive.core.nodes import ConvBackInput, ConvBackKernel, Unpool

        name, arrays, numbers = node.name, node.arrays, node.numbers
        ints = [n for n in numbers if isinstance(n, int)]
        for args in itertools.product(*(self.readings(a) for a in arrays)):
            if not all(is_tensor(a) and len(tensor_shape(a)) == 4 for a in args):
                raise ShapeMismatch(f"{name}(): its arrays are feature maps or kernels")
            if name == "conv2d":
                out: Any = Correlate(args[1], args[0], *ints)
            elif name == "conv2d_back_input":
                like = {self.resolve_one(n.a) for n in numbers if isinstance(n, Dim)}
                if len(like) != 1 or len(ints) != 2:
                    raise FormulaError(
                        "conv2d_back_input(G, K, s, p, A.shape[2], A.shape[3]): the sizes are "
                        "those of the layer input A"
                    )
                out = ConvBackInput(args[0], args[1], ints[0], ints[1], like.pop())
            elif name == "conv2d_back_kernel":
                out = ConvBackKernel(args[0], args[1], *ints)
            elif name.endswith("_back"):
                out = Unpool(args[0], args[1], name[:3], *ints)
            else:
                out = Pool(args[0], name[:3], *ints)
            if any(not sympy.sympify(d).is_integer for d in tensor_shape(out)):  # safe: ours
                raise ShapeMismatch(f"{name}(): the window does not fit the maps")
            yield out

    def _reshape(self, a: Any, like: Any) -> Any:
        """``G.reshape(A.shape)`` (column layout: ``G.T.reshape``): per-sample vectors as maps."""
        column = self.d.program.column
        same = not is_tensor(like) and not _scalar(like) and not is_tensor(a) and not _scalar(a)
        if same and getattr(a, "shape", None) == like.shape:  # dx.reshape(x.shape): as it is
            return a
        if not is_tensor(like) or _scalar(a) or is_tensor(a) or isinstance(a, _Ones):
            raise ShapeMismatch(".reshape(A.shape): a matrix of samples reshaped as feature maps")
        g = a.T if column else a
        want = Flatten(like, column).shape
        if tuple(g.shape) != tuple(want):
            raise ShapeMismatch(
                f"{text(a)}.reshape: {text(a)} is {shape_text(a)}; maps shaped like "
                f"{text(like)} need {'the transpose of ' if column else ''}a "
                f"{'×'.join(text(w) for w in want)} matrix"
            )
        return Unflatten(g, like, column)
