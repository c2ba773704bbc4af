"""The spec: TOML and Python build the same frozen records; bad input says where and why."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from derive import Activation, Layer, Loss, Network, SpecError, dense, load, loads
from derive.spec import EXAMPLES, example_text

GOOD = """
name = "demo"
convention = "row"
delta = "mean"
input = 4
batch = "B"

[[layers]]
width = "h"
activation = { name = "leaky_relu", slope = "a" }

[[layers]]
width = 3
activation = "softmax"

[loss]
name = "cross_entropy"
reduction = "sum"
weight_decay = 0.01
"""


def test_toml_and_python_build_equal_records() -> None:
    from_toml = loads(GOOD, source="demo.toml")
    by_hand = Network(
        input_width=4,
        layers=(
            Layer("h", Activation("leaky_relu", params=(("slope", "a"),))),
            Layer(3, Activation("softmax")),
        ),
        loss=Loss("cross_entropy", "sum", weight_decay=0.01),
        batch="B",
        convention="row",
        delta="mean",
        name="demo",
    )
    assert from_toml == by_hand


def test_records_are_frozen() -> None:
    net = load("nielsen")
    with pytest.raises(dataclasses.FrozenInstanceError):
        net.convention = "row"  # type: ignore[misc]


def test_defaults_are_symbolic_widths_and_m() -> None:
    net = loads('[[layers]]\nactivation = "tanh"\n[[layers]]\nactivation = "identity"\n')
    assert net.widths == ("n_0", "n_1", "n_2") and net.batch == "m"
    assert net.loss == Loss("squared_error", "half_mean")


@pytest.mark.parametrize("name", EXAMPLES)
def test_builtin_examples_load(name: str) -> None:
    assert load(name).name == name
    assert "[[layers]]" in example_text(name)


def test_load_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "net.toml"
    path.write_text(GOOD)
    assert load(path).name == "demo"


def test_dense_helper() -> None:
    net = dense(["d", 5, 1], ["relu", "sigmoid"], "binary_cross_entropy", delta="mean")
    assert net.depth == 2 and net.layers[0].width == 5 and net.delta == "mean"


BAD = [
    # (toml text, expected key in message, expected line, expected phrase)
    (
        '[[layers]]\nwidth = 3\nactivation = "swish2"\n',
        "layers[1].activation",
        3,
        "unknown activation 'swish2'",
    ),
    (
        '[[layers]]\nwidth = 3\nactivation = "sigmoid"\n[loss]\nname = "hinge"\n',
        "loss.name",
        5,
        "unknown loss 'hinge'",
    ),
    (
        '[[layers]]\nwidth = 3\nactivation = "softmax"\n'
        '[[layers]]\nwidth = 2\nactivation = "identity"\n',
        "layers[1].activation",
        3,
        "softmax is only allowed on the output layer",
    ),
    ('[[layers]]\nwidth = "n 1"\n', "layers[1].width", 2, "neither a positive integer"),
    ("[[layers]]\nwidth = 0\n", "layers[1].width", 2, "positive integer"),
    ('[[layers]]\nwidth = "W"\n', "layers[1].width", 2, "reserved"),
    ('name = "empty"\n', "layers", None, "no layers"),
    ("[[layers]\nwidth = 3\n", "", 1, "TOML syntax error"),
    ('convention = "diagonal"\n[[layers]]\nwidth = 2\n', "convention", 1, "unknown convention"),
    ('delta = "avg"\n[[layers]]\nwidth = 2\n', "delta", 1, "unknown delta definition"),
    ('colour = "red"\n[[layers]]\nwidth = 2\n', "colour", 1, "unknown key 'colour'"),
    (
        '[[layers]]\nwidth = 2\nactivation = { name = "custom", expr = "x +* 2" }\n',
        "layers[1].activation.expr",
        3,
        "^",
    ),
    (
        '[[layers]]\nwidth = 2\nactivation = { name = "custom", expr = "__import__(\'os\')" }\n',
        "layers[1].activation.expr",
        3,
        "unexpected character",
    ),
    (
        '[[layers]]\nwidth = 2\nactivation = { name = "tanh", slope = 2 }\n',
        "layers[1].activation.slope",
        3,
        "takes no parameter 'slope'",
    ),
    (
        '[[layers]]\nwidth = 2\nactivation = "tanh"\n[loss]\nname = "cross_entropy"\n',
        "loss.name",
        5,
        "output layer must use softmax",
    ),
    (
        '[[layers]]\nwidth = 2\nactivation = "tanh"\n[loss]\nreduction = "median"\n',
        "loss.reduction",
        5,
        "reduction 'median'",
    ),
    ('batch = "n_1"\n[[layers]]\nwidth = "n_1"\n', "batch", 1, "also used as a layer width"),
]


@pytest.mark.parametrize(("text", "key", "line", "phrase"), BAD)
def test_bad_specs_name_the_key_the_line_and_the_problem(text, key, line, phrase) -> None:
    with pytest.raises(SpecError) as info:
        loads(text, source="bad.toml")
    err = info.value
    assert err.key == key
    assert err.line == line
    assert phrase in str(err)
    assert str(err).startswith("bad.toml")


def test_custom_activation_parse_error_points_at_the_column() -> None:
    with pytest.raises(SpecError) as info:
        Activation("custom", expr="x * (1 + ")
    lines = str(info.value).splitlines()
    assert lines[-2].strip() == "x * (1 +"
    assert lines[-1].index("^") == lines[-2].index("x * (1 +") + len("x * (1 + ")


def test_python_api_validates_too() -> None:
    with pytest.raises(SpecError, match="no layers"):
        Network(2, ())
    with pytest.raises(SpecError, match="unknown activation"):
        Layer(3, Activation("sigmoidd"))


def test_missing_file_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such spec file"):
        load(tmp_path / "nope.toml")
