"""pytest helpers for people testing their own backprop (homework graders, reference code).

``assert_gradients(spec, my_fn)`` runs ``my_fn`` and the derived gradients on the same
random points and fails with a message that names each wrong parameter and, where it can
tell, what is wrong (a constant factor such as a missing 1/m, a transpose, a sign).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from derive.core.derivation import Derivation, derive
from derive.export import to_module
from derive.oracles.verify import random_point

__tracebackhide__ = True


def _diagnose(got: np.ndarray, want: np.ndarray, m: int | None) -> str:
    if got.shape == want.T.shape and np.allclose(got.T, want, rtol=1e-6, atol=1e-12):
        return "it is the transpose of the right gradient"
    if got.shape != want.shape:
        return f"its shape is {got.shape}, the parameter's is {want.shape}"
    flat_w, flat_g = want.ravel(), got.ravel()
    denom = float(flat_w @ flat_w)
    if denom > 0:
        c = float(flat_g @ flat_w) / denom
        if c != 0 and np.allclose(got, c * want, rtol=1e-6, atol=1e-12):
            if np.isclose(c, -1):
                return "it has the wrong sign"
            names = {2.0: "2", 0.5: "1/2"}
            if m:
                names |= {float(m): "m", 1 / m: "1/m", 2.0 * m: "2m", 1 / (2 * m): "1/(2m)"}
            for value, name in names.items():
                if np.isclose(c, value):
                    return f"it is {name} times the right gradient"
            return f"it is {c:.6g} times the right gradient"
    return "it differs from the right gradient"


def assert_gradients(
    spec: Any,
    fn: Callable[..., Any],
    *,
    seeds: int = 3,
    rtol: float = 1e-7,
    atol: float = 1e-10,
    sizes: Mapping[str, int] | None = None,
) -> None:
    """Assert that ``fn(X, Y, W1=…, b1=…, …)`` returns the derived gradients.

    ``fn`` returns a dict name -> array, or a sequence in ``PARAMETERS`` order, or
    ``(loss, dict)``. It is called on ``seeds`` random points (float64) with the spec's
    shapes; symbolic widths take ``sizes`` or small defaults.
    """
    d = spec if isinstance(spec, Derivation) else derive(spec)
    module = to_module(d)
    problems: list[str] = []
    for seed in range(seeds):
        point = random_point(d, module, np.random.default_rng(seed), sizes)
        want = module.gradients(point.X, point.Y, **point.params, **point.hyper)
        got = fn(point.X, point.Y, **point.params, **point.hyper)
        if isinstance(got, tuple) and len(got) == 2 and isinstance(got[1], Mapping):
            got = got[1]
        if not isinstance(got, Mapping):
            got = dict(zip(module.PARAMETERS, got))
        m = point.X.shape[1 if d.program.column else 0]
        for name in module.PARAMETERS:
            if name not in got:
                problems.append(f"{name}: missing from the result (it has {sorted(got)})")
                continue
            g, w = np.asarray(got[name], dtype=np.float64), want[name]
            if g.shape == w.shape and np.allclose(g, w, rtol=rtol, atol=atol):
                continue
            err = float(np.max(np.abs(g - w))) if g.shape == w.shape else float("nan")
            problems.append(f"{name}: {_diagnose(g, w, m)} (max abs error {err:.3g}, seed {seed})")
        if problems:
            break
    if problems:
        raise AssertionError(
            f"gradients of {d.network.name!r} do not match the derived ones:\n  "
            + "\n  ".join(problems)
        )


def assert_formula(spec: Any, formula: str, syntax: str = "latex") -> None:
    """Assert that a hand-written formula is right for ``spec``; fail saying what is wrong."""
    from derive.formula.check import Checker

    d = spec if isinstance(spec, Derivation) else derive(spec)
    result = Checker(d).check(formula, syntax)
    if not result.correct:
        raise AssertionError(f"{formula}\n{result}")


__all__ = ["assert_formula", "assert_gradients"]
