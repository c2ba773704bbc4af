"""verify knows its resources (issue 11 §4): it estimates memory and work before starting,
refuses with what to pass (--sizes, --max-memory), draws kink-free points at any width,
and its random-direction check stays linear in depth."""

from __future__ import annotations

import numpy as np
import pytest

from derive import Loss, dense, derive
from derive.cli import main
from derive.oracles.verify import (
    MAX_GROUPS,
    ResourceError,
    check_grads,
    estimate,
    parse_memory,
    with_sizes,
)

WIDE = dense([10, 10**6, 10**6, 2], ["tanh", "tanh", "identity"], batch=8, name="wide")


def _toml(tmp_path, text: str):
    path = tmp_path / "net.toml"
    path.write_text(text)
    return str(path)


WIDE_TOML = """
name = "wide"
input = 10
batch = 8
[[layers]]
width = 1000000
activation = "tanh"
[[layers]]
width = 1000000
activation = "tanh"
[[layers]]
width = 2
activation = "identity"
"""


def test_a_huge_layer_is_refused_before_any_allocation() -> None:
    with pytest.raises(ResourceError) as err:
        check_grads(WIDE)
    msg = str(err.value)
    assert "TiB" in msg and "W_2" in msg and "layer 2" in msg
    assert "--max-memory" in msg and "--sizes n_1=100,n_2=100" in msg


def test_the_estimate_counts_the_largest_array() -> None:
    res = estimate(derive(WIDE), {}, "auto")
    assert res.memory >= 8 * 10**12  # W_2 alone: 10^12 float64 entries
    assert res.parameters == 10 * 10**6 + 10**6 + 10**12 + 10**6 + 2 * 10**6 + 2


def test_cli_refuses_in_one_line_and_sizes_shrink_it(tmp_path, capsys) -> None:
    spec = _toml(tmp_path, WIDE_TOML)
    assert main(["verify", spec]) == 2
    err = capsys.readouterr().err
    assert err.startswith("derive: error: verify would need") and err.count("\n") == 1
    assert "--sizes n_1=100" in err
    assert main(["verify", spec, "--sizes", "n_1=20,n_2=10,m=3"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("PASS")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sizes", "n_1=lots"], "NAME=INTEGER"),
        (["--sizes", "q=3"], "unknown size q"),
        (["--sizes", "n_1=0"], "positive"),
        (["--max-memory", "plenty"], "4GiB"),
        (["--max-memory", "1KiB", "--sizes", "n_1=20"], "limit 1.0 KiB"),
    ],
)
def test_cli_size_and_memory_mistakes_are_clean_errors(tmp_path, capsys, args, message) -> None:
    assert main(["verify", _toml(tmp_path, WIDE_TOML), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("derive: error: ") and message in err and err.count("\n") == 1


def test_memory_sizes_parse() -> None:
    assert parse_memory("4GiB") == 4 * 2**30
    assert parse_memory("512MB") == 512 * 2**20
    assert parse_memory("1000") == 1000


def test_exhaustive_on_millions_of_parameters_is_refused_by_time(tmp_path, capsys) -> None:
    net = dense([1000, 2000, 2], ["tanh", "identity"], batch=4)
    with pytest.raises(ResourceError, match="would take about"):
        check_grads(net, mode="entries")


def test_with_sizes_changes_concrete_widths_only_where_named() -> None:
    net, rest = with_sizes(WIDE, {"n_1": 7, "m": 3})
    assert [layer.width for layer in net.layers] == [7, 10**6, 2]
    assert net.batch == 3 and rest == {}


RELU_WIDE = dense([10, 1000, 1000, 2], ["relu", "relu", "identity"], batch=4)


def test_relu_width_1000_draws_a_point_off_the_kinks() -> None:
    report = check_grads(RELU_WIDE, stability=False)
    assert report.passed, str(report)


def test_nudged_points_are_off_the_kinks() -> None:
    from derive.export import to_module
    from derive.oracles.verify import KINK_MARGIN, random_point

    d = derive(RELU_WIDE)
    mod = to_module(d)
    for seed in range(3):
        p = random_point(d, mod, np.random.default_rng(seed))
        values = mod.intermediates(p.X, **p.params)
        assert all(np.min(np.abs(values[z])) > 10 * KINK_MARGIN for z in ("Z1", "Z2"))


def test_random_directions_are_linear_in_depth() -> None:
    """Loss evaluations are bounded by the groups, not the number of parameter arrays."""
    depth = 60
    net = dense([6] * (depth + 1) + [2], ["tanh"] * depth + ["identity"], Loss("squared_error"))
    report = check_grads(net, stability=False)
    assert report.mode == "directions" and report.passed, str(report)
    assert report.evaluations <= 2 * MAX_GROUPS * 6
    assert set(report.errors) == {f"{k}{i}" for i in range(1, depth + 2) for k in "Wb"}


def test_a_long_check_announces_itself_on_stderr(tmp_path, capsys, monkeypatch) -> None:
    import derive.oracles.fd_resources as resources  # where estimate reads RATE

    monkeypatch.setattr(resources, "RATE", 1e4)  # pretend a slow machine: estimate > 3 s
    assert main(["verify", _toml(tmp_path, WIDE_TOML), "--sizes", "n_1=5,n_2=5"]) == 0
    err = capsys.readouterr().err
    assert "verifying" in err and "estimated" in err
