"""Window corners copied alone (``window_corners``): Ng's four lines judged against the
forward pass's windows of each conv or pooling layer.

KULBEAR is real: Kulbear/deep-learning-coursera, 'Convolution model - Step by Step - v1'
pool_backward (commit 997fdb2e2db67acd45d29ae418212463a54be06d), as the main corpus holds
it (ng-c4w1-pool-no-stride-kulbear); the other forms are made up for the test.
"""

from __future__ import annotations

import pytest
from test_window_loops import NG

from derive.formula.check import Checker
from derive.formula.parse import FormulaError
from derive.spec.reading import loads

KULBEAR = """vert_start = h
vert_end = vert_start + f
horiz_start = w
horiz_end = horiz_start + f"""


def check(code: str, spec: str = NG) -> object:
    return Checker(loads(spec)).check(code, "python")


def test_corners_without_the_stride_are_incorrect() -> None:
    """At stride 2 window (h, w) starts at (2h, 2w): the lines move it by one. Before,
    'h' is not set by the snippet nor a name of the layer."""
    result = check(KULBEAR)
    assert result.verdict == "incorrect"
    assert (result.diagnosis or "").startswith("the windows move by 1, not by the stride 2")


def test_the_notebooks_corners_are_correct() -> None:
    right = KULBEAR.replace("= h\n", "= h * stride\n").replace("= w\n", "= w * stride\n")
    result = check(right)
    assert result.verdict == "correct"
    assert any("window corners of layer 1" in n for n in result.notes)


def test_corners_right_for_a_stride_1_layer_are_correct_there() -> None:
    """With a stride-1 pooling layer in the network the unstrided lines are its windows."""
    spec = NG.replace('type = "maxpool2d"\nsize = 2', 'type = "maxpool2d"\nsize = 2\nstride = 1')
    assert spec != NG
    assert check(KULBEAR, spec).verdict == "correct"


def test_a_wrong_width_is_said_as_the_window_that_differs() -> None:
    wide = KULBEAR.replace("= h\n", "= h * stride\n").replace("= w\n", "= w * stride\n")
    result = check(wide.replace("vert_start + f", "vert_start + f + 1"))
    assert result.verdict == "incorrect"
    assert "vert_end = 3, the forward's vert_end = 2" in (result.diagnosis or "")
    assert "move by 1" not in (result.diagnosis or "")


@pytest.mark.parametrize(
    "code",
    [
        KULBEAR.replace("= h\n", "= h * strideh\n"),  # a name no layer gives
        KULBEAR + "\ndx = 0",  # more than the corners
        "vert_end = h + f",  # no start
    ],
)
def test_other_lines_are_not_read_as_corners(code: str) -> None:
    with pytest.raises(FormulaError):
        check(code)
