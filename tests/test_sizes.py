"""Concrete sizes that fit every layer (issue 10 §2): verify and the checker on CNNs with a
symbolic image side, across kernel / stride / padding / pooling combinations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derive import derive
from derive.formula.check import check, random_env
from derive.oracles.verify import check_grads
from derive.spec import Activation, Conv2d, Flatten, Layer, Loss, Network, Pool2d, SpecError
from derive.spec.sizes import fitting_sizes


def cnn(kernel=3, stride=1, padding="valid", pool=2, pool_stride=None, mode="max", side="h"):
    return Network(
        input_width=(2, side, side),
        layers=(
            Conv2d(3, kernel, stride, padding, Activation("tanh")),
            Pool2d(pool, pool_stride, mode),
            Flatten(),
            Layer(4, Activation("softmax")),
        ),
        loss=Loss("cross_entropy"),
        name="cnn-h",
    )


def _sides_fit(network, sizes) -> bool:
    """The spec's own arithmetic, recomputed here: every side exact and positive."""
    h = sizes["h"]
    for layer in network.layers:
        if isinstance(layer, Conv2d):
            pad = {"valid": 0, "same": (layer.kernel - 1) // 2}.get(layer.padding, layer.padding)
            span = h + 2 * pad - layer.kernel
            if span < 0 or span % layer.stride:
                return False
            h = span // layer.stride + 1
        elif isinstance(layer, Pool2d):
            span = h - layer.size
            if span < 0 or span % (layer.stride or 1):
                return False
            h = span // (layer.stride or 1) + 1
    return h >= 1


def test_the_issue_case_verifies_and_checks() -> None:
    network = cnn()
    report = check_grads(network)
    assert report.passed, str(report)
    d = derive(network)
    expected = check(d, r"\delta_1 = 0").expected
    result = check(d, expected)
    assert result.correct, str(result)


def test_given_sizes_are_kept_and_a_misfit_is_a_clean_error() -> None:
    network = cnn()
    assert fitting_sizes(network, {"h": 6, "m": 3}, fixed={"h"}) == {"h": 6, "m": 3}
    with pytest.raises(SpecError, match="h=5 do not fit"):
        fitting_sizes(network, {"h": 5, "m": 3}, fixed={"h"})


combos = st.tuples(
    st.sampled_from([1, 2, 3, 5]),  # kernel
    st.sampled_from([1, 2, 3]),  # conv stride
    st.sampled_from(["valid", 0, 1]),  # padding
    st.sampled_from([1, 2, 3]),  # pool size
    st.sampled_from([None, 1, 2, 3]),  # pool stride
    st.sampled_from(["max", "avg"]),
)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(combo=combos, start=st.integers(1, 9))
def test_fitting_sizes_fit_and_stay_near(combo, start) -> None:
    network = cnn(*combo)
    sizes = fitting_sizes(network, {"h": start, "m": 4})
    assert _sides_fit(network, sizes)
    nearer = [h for h in range(1, 129) if abs(h - start) < abs(sizes["h"] - start)]
    assert not any(_sides_fit(network, {"h": h}) for h in nearer)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(combo=combos, seed=st.integers(0, 99))
def test_verify_and_checker_draw_sizes_that_fit(combo, seed) -> None:
    network = cnn(*combo)
    d = derive(network)
    env = random_env(d, np.random.default_rng(seed))
    h = next(v for k, v in env.items() if str(k) == "h")
    assert _sides_fit(network, {"h": h})
    report = check_grads(d, seed=seed, stability=False)
    assert report.passed, str(report)
