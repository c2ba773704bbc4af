"""Loop bodies over windows whose loops are left out, read from Ng's window names, and
loops NumPy itself refuses at the network's own sizes (``window_run.implied_loops``,
``window_faults``).

The snippets marked "real" are the lines of the DeepLearning.AI forum thread 863333 (a
student's conv_backward, quoted in its traceback) and of marsggbo's pool_backward
(marsggbo/deeplearning.ai_JupyterNotebooks issue 6), as the main corpus holds them; the
others are made up for the test.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_window_loops import NG

from derive.formula.check import Checker
from derive.formula.parse import FormulaError
from derive.formula.window_check import quantity
from derive.formula.window_errors import LoopError, NoRange, ShapeFault, Unknown
from derive.formula.window_faults import fault_verdict, reading_names
from derive.formula.window_layers import Layer, draw
from derive.formula.window_lines import blocks
from derive.formula.window_run import implied_loops
from derive.spec.reading import loads

NG_AVG = NG.replace('type = "maxpool2d"', 'type = "avgpool2d"')

#: real: forum thread 863333, the student's three lines (each inside Ng's four loops).
FORUM_DA = "da_prev_pad[h,w, c] += np.dot(W[i,h,w,c], dZ[i, h, w, c])"
FORUM_DW = "dW[i,:,:,c] += np.dot(a_slice[:,:,c], dZ[i, :,:, c])"
FORUM_DB = "db[i, h, w,c] += dZ[i, h, w, c]"
#: real: marsggbo's pool_backward, max and average modes.
MARS_MAX = (
    "dA_prev[i, vert_start: vert_end, horiz_start: horiz_end, c] += "
    "np.multiply(mask, dA[i, vert_start: vert_end, horiz_start: horiz_end, c])"
)
MARS_AVG = """da = np.mean(dA[i, vert_start:vert_end, horiz_start:horiz_end, c])
shape = (f, f)
dA_prev[i, vert_start: vert_end, horiz_start: horiz_end, c] += (distribute_value(da, shape) + da)"""


def check(code: str, spec: str = NG) -> object:
    return Checker(loads(spec)).check(code, "python")


@pytest.mark.parametrize(
    ("code", "quantity_"),
    [(FORUM_DA, "∂L/∂X"), (FORUM_DW, "∂L/∂K_1"), (FORUM_DB, "∂L/∂b_1")],
)
def test_the_forums_conv_lines_fail_in_numpy_and_are_incorrect(code: str, quantity_: str) -> None:
    """Each indexes an array past its axis at the network's sizes (the thread's traceback
    is NumPy's 'shapes (2,2) and (4,4) not aligned'): INCORRECT, saying where. They were
    'cannot tell what range the loop variable … runs over'."""
    result = check(code)
    assert result.verdict == "incorrect" and result.quantity == quantity_
    assert result.diagnosis and "fail in NumPy" in result.diagnosis
    assert "at this network's sizes" in result.diagnosis


def test_a_bias_gradient_indexed_by_position_is_named() -> None:
    result = check(FORUM_DB)
    assert (result.diagnosis or "").startswith("db holds one entry per filter, the sum")


def test_the_forums_dw_fails_as_its_traceback_says() -> None:
    result = check(FORUM_DW)
    assert "shapes (2,2) and (4,4) not aligned" in (result.diagnosis or "")


@pytest.mark.parametrize(
    "code",
    [
        "da_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :] += W[:,:,:,c] * dZ[i, h, w, c]",
        "dW[:,:,:,c] += a_slice * dZ[i, h, w, c]",
        "db[:,:,:,c] += dZ[i, h, w, c]",
    ],
)
def test_the_notebooks_own_lines_stay_correct(code: str) -> None:
    """The lines the forum's were meant to be (the notebook's), read as before."""
    assert check(code).verdict == "correct"


def test_a_window_of_the_output_gradient_is_named() -> None:
    """marsggbo's max pooling takes dA by a window at input coordinates: past dA's extent
    at stride 2, so NumPy refuses the product; the diagnosis says what the window is."""
    result = check(MARS_MAX)
    assert result.verdict == "incorrect" and result.quantity == "∂L/∂A_1"
    assert result.diagnosis and result.diagnosis.startswith("dA is the gradient flowing in")
    # rerun with dA[i, h, w, c]: the window was the one mistake
    assert "with it the loops give the derivation's gradient" in result.diagnosis
    assert any("h in range(2)" in n and "w in range(2)" in n for n in result.notes)


def test_the_mean_of_an_empty_window_is_a_fault_not_a_nan() -> None:
    """marsggbo's average pooling: np.mean of a window past dA is NumPy's NaN."""
    result = check(MARS_AVG, NG_AVG)
    assert result.verdict == "incorrect"
    assert "mean of an empty slice" in (result.diagnosis or "")
    # with dA[i, h, w, c], '+ da' is left: each entry g/4 + g, 5 times average pooling's
    assert result.diagnosis.startswith("two mistakes: dA is the gradient flowing in")
    assert "a factor 5" in result.diagnosis
    right = MARS_AVG.replace(
        "np.mean(dA[i, vert_start:vert_end, horiz_start:horiz_end, c])", "dA[i, h, w, c]"
    ).replace(" + da)", ")")
    assert check(right, NG_AVG).verdict == "correct"


def test_window_names_imply_the_loops_over_the_output() -> None:
    """vert_start stands on h (Ng's h * stride), a_prev_slice on i, h, w and c: each runs
    over the output's examples, rows, columns and channels; a variable the snippet reads
    itself is left to its uses."""
    layer = Layer(1, "max", 2, 2, 0, n=3, c=4, f=4, h=4, w=6)
    values = draw(layer, np.random.default_rng(0))
    from derive.formula.window_layers import ng_names

    lazy = ng_names("NHWC")
    got = implied_loops(blocks("x = a_prev_slice * 2"), lazy, {"x"}, values)
    assert got == {"i": 3, "h": 2, "w": 3, "c": 4}
    got = implied_loops(blocks("x = vert_end + h"), lazy, {"x"}, values)
    assert got == {}  # h is read by the snippet: its uses tell its range
    got = implied_loops(blocks("vert_start = 0\nx = vert_start"), lazy, {"x", "vert_start"}, values)
    assert got == {}  # set by the snippet: no convention


def _net_layer(h: int) -> Layer:
    return Layer(1, "conv", 2, 2, 2, n=2, c=3, f=8, h=h, w=h)


def test_a_fault_is_a_verdict_only_when_every_reading_says_so() -> None:
    """One fault, the other readings not the snippet's (names another reading knows,
    loops they cannot tell): INCORRECT. A name no reading knows, a function not run here,
    or a fault at sizes derive chose: the loops stay unread."""
    body = blocks(FORUM_DB)
    fault = ShapeFault("an index does not fit: index 1 is out of bounds", FORUM_DB)
    at_net = _net_layer(4)
    assert "mask" in reading_names() and "dZ" in reading_names()
    ok = [(at_net, "NHWC", fault), (at_net, "NCHW", Unknown("mask"))]
    ok.append((at_net, "NCHW", NoRange("cannot tell what range the loop variable c runs over")))
    result = fault_verdict(body, ok, quantity)
    assert result is not None and result.verdict == "incorrect"
    assert fault_verdict(body, [*ok[:1], (at_net, "NCHW", Unknown("foo"))], quantity) is None
    other = LoopError("the function einsum() is not run here")
    assert fault_verdict(body, [*ok[:1], (at_net, "NCHW", other)], quantity) is None
    ours = _net_layer(0)  # sizes derive chose: a size the code hard-codes could be to blame
    assert fault_verdict(body, [(ours, "NHWC", fault)], quantity) is None
    assert fault_verdict(blocks("x = dZ[i]"), ok, quantity) is None  # writes no gradient


def test_a_fault_at_sizes_derive_chose_is_not_judged() -> None:
    """The same forum line on a network whose maps are too large to run at their own
    sizes: derive's small sizes are not the code's, so no verdict."""
    big = NG.replace("[3, 4, 4]", "[3, 64, 64]")
    with pytest.raises(FormulaError):
        check(FORUM_DB, big)


def test_disagreeing_ranges_follow_the_gradient_flowing_in() -> None:
    """i indexes db (1 entry) and dZ (m entries): it runs over dZ's examples, and the
    note says so; before, 'cannot tell what range the loop variable i runs over'."""
    result = check(FORUM_DB)
    assert any("the gradient flowing in" in n for n in result.notes)


SNIPPETS = [FORUM_DA, FORUM_DW, FORUM_DB, MARS_MAX, MARS_AVG]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SNIPPETS),
    st.lists(
        st.tuples(
            st.integers(0, 400),
            st.sampled_from(["", "-", ":", "0", "(", "i", "h,", "vert_end", "\n", "[", "]"]),
        ),
        min_size=1,
        max_size=3,
    ),
    st.sampled_from([NG, NG_AVG]),
)
def test_mutated_loop_bodies_are_refused_or_judged_quickly(
    code: str, edits: list[tuple[int, str]], spec: str
) -> None:
    """Mutated loop bodies: a verdict or a FormulaError, never a traceback, under 2 s."""
    for at, text in edits:
        k = at % len(code)
        code = code[:k] + text + code[k + (0 if text else 2) :]
    start = time.perf_counter()
    try:
        result = check(code, spec)
    except FormulaError:
        result = None
    assert time.perf_counter() - start < 2.0
    assert result is None or result.verdict in ("correct", "incorrect")


#: made up, in the form of per-sample layer classes (one example, 3-axis maps): correct
#: for one example, so it fails on the readings' batches for that reason alone.
PER_SAMPLE = """a_prev_pad = A_prev_pad
da_prev_pad = dA_prev_pad
for h in range(n_H):
    for w in range(n_W):
        for c in range(n_C):
            vert_start = h * stride
            vert_end = vert_start + f
            horiz_start = w * stride
            horiz_end = horiz_start + f
            a_slice = a_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :]
            da_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :] += W[:,:,:,c] * dZ[h, w, c]
            dW[:,:,:,c] += a_slice * dZ[h, w, c]"""


def test_code_for_one_example_is_not_judged_by_its_faults_on_a_batch() -> None:
    """dZ read by three indices: the code's maps are one example's, not the readings'
    batches, so NumPy's refusal says nothing about the code: unread, not INCORRECT."""
    with pytest.raises(FormulaError, match="not read"):
        check(PER_SAMPLE)


def test_a_fixed_slice_of_the_gradient_is_not_called_a_window() -> None:
    """Made up: dZ[i, :, 1:, c] slices by a number, not by window bounds: the fault is
    said as NumPy says it, not as a window at input coordinates."""
    code = "dW[i,:,:,c] += np.dot(a_slice[:,:,c], dZ[i, :, 1:, c])"
    result = check(code)
    assert result.verdict == "incorrect"
    assert "gradient flowing in, the size of the output" not in (result.diagnosis or "")


#: made up: Ng's loops with db held as a vector of n_C (db = np.zeros(n_C)), right.
DB_VECTOR = """for i in range(m):
    for h in range(n_H):
        for w in range(n_W):
            for c in range(n_C):
                db[c] += dZ[i, h, w, c]"""


@pytest.mark.parametrize("code", [DB_VECTOR, "db[c] += dZ[i, h, w, c]"])
def test_an_nhwc_bias_gradient_held_as_a_vector_is_right(code: str) -> None:
    """db[c] indexes a vector of n_C by the filter: right in NHWC. It was INCORRECT ('db
    holds one entry per filter … indexing it by the example and position runs past its
    shape'), the NHWC reading holding db as Ng's 1×1×1×n_C only."""
    assert check(code).verdict == "correct"
    wrong = check(code.replace("+= dZ", "+= 2 * dZ"))
    assert wrong.verdict == "incorrect" and "a factor 2" in (wrong.diagnosis or "")
