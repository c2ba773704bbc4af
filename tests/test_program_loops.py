"""Back-propagation through time written as NumPy loops (issue 15): CS231n's
``rnn_backward``/``lstm_backward`` read over a program unrolled at a small T, the step
backward called by name read as the program's own step derivation, and the classic
mistakes of the loop (the sum over time, the carried gradient, the order of the steps)
named from the numbers. Before, every ``for``/``while`` was refused ("is not read yet")."""

from __future__ import annotations

import subprocess
import sys
import time
from functools import cache
from pathlib import Path

import pytest

from derive.formula.ir import FormulaError
from derive.formula.program_check import ProgramChecker
from derive.programs import ProgramDerivation, derive_program
from derive.spec.program import loads_program

sys.path.insert(0, str(Path(__file__).parent))
from test_corpus_file import LAYER_ENTRIES, ROOT  # noqa: E402

#: The whole-sequence backward passes of the layer corpus (a loop over the steps).
LOOPS = {
    e["id"]: e for _, e in LAYER_ENTRIES if e["syntax"] == "python" and "_seq_" in e["network"]
}
#: Loops with a program that are refused, and why (what a reader would need).
UNREAD = {
    # the forum's loop lost its indentation; one line of a loop, outside it
    "lstm-dlai-backward-loop": "has no indented body",
    "rnn-dlai-bptt-missing-da": "unknown function rnn_cell_backward()",
}
UNREAD_LOOPS = {k: LOOPS.pop(k) for k in UNREAD}


@cache
def program(network: str) -> ProgramDerivation:
    return derive_program(str(ROOT / network))


def check(entry_id: str, text: str | None = None) -> object:
    e = LOOPS[entry_id]
    return ProgramChecker(program(e["network"])).check(text or e["text"])


def test_the_sequence_entries_have_their_programs() -> None:
    """Six RNN and six LSTM backward passes over time name a program (none did)."""
    assert sum("rnn_seq_" in e["network"] for e in LOOPS.values()) >= 6
    assert sum("lstm_seq_" in e["network"] for e in LOOPS.values()) >= 6


def test_ngs_dict_of_gradients_and_three_axis_arrays_are_read() -> None:
    """deeplearning.ai's form: ``(caches, x) = caches``, ``da[:, :, t]``, a step call's
    dict of gradients read by key (``gradients["dxt"]`` is dx_k, ``["da_prev"]`` da_{k-1},
    ``["dWax"]`` dWax) and the returned dict's keys judged as names."""
    said = check("rnn-ernestng11-bptt")
    assert said.verdict == "correct", str(said)
    assert any("dxt as dx_k, da_prev as da_{k-1}" in n for n in said.notes), said.notes
    assert "da_0" in said.quantity and "dx_1" in said.quantity
    unknown = LOOPS["rnn-ernestng11-bptt"]["text"].replace('gradients["dba"]', 'gradients["dbq"]')
    with pytest.raises(FormulaError) as err:
        check("rnn-ernestng11-bptt", unknown)
    assert "cannot tell which gradient gradients['dbq']" in str(err.value)


@pytest.mark.parametrize("entry_id", sorted(LOOPS))
def test_every_real_loop_is_read_and_right(entry_id: str) -> None:
    """Each real ``rnn_backward``/``lstm_backward`` reads and gets its label (correct):
    ``reversed(range(T))``, ``range(T-1, -1, -1)``, ``range(-1, -T-1, -1)``, ``xrange``,
    ``t = T-1-t``, ``dh[:, t, :]``, ``dh[:, t]``, ``dh.transpose(1, 0, 2)`` then ``dh[t]``,
    ``cache[t]`` and ``cache[0][3]``, a step's cache unpacked, ``dWx += …``."""
    said = check(entry_id)
    assert said.verdict == LOOPS[entry_id]["verdict"], str(said)
    if said.verdict == "incorrect":  # Ng's lstm_backward without the carried gradients
        assert said.diagnosis is not None and "not passed back: the da_k and dc_k" in said.diagnosis
    assert any("own step backward" in n for n in said.notes)
    assert any(n.startswith("unrolled line") for n in said.notes)


def test_a_step_cache_built_as_a_tuple_is_read_by_the_programs_cache_order() -> None:
    """lightaime's ``step_cache = (xt, prev_h, Wh, Wx, b, next_h)``: at each turn its items
    are step k's cache as the program lists it (his rnn_step_forward's order), so the call
    is the program's step k. It was refused ('a step's cache built by the snippet'). The
    tuple with two items swapped is no step's cache (the step backward would read Wh as
    Wx), and is refused still."""
    said = check("rnn-lightaime-bptt")
    assert said.verdict == "correct", str(said)
    assert any(
        "tuple as step 3's cache" in n and "x_3, h_2, Wh, Wx, b, h_3" in n for n in said.notes
    )
    text = LOOPS["rnn-lightaime-bptt"]["text"]
    swapped = text.replace("(xt, prev_h, Wh, Wx, b, next_h)", "(xt, prev_h, Wx, Wh, b, next_h)")
    with pytest.raises(FormulaError, match="a step's cache built by the snippet"):
        check("rnn-lightaime-bptt", swapped)
    stale = text.replace("next_h = prev_h", "next_h = next_h")  # stays step T's h
    assert stale != text
    with pytest.raises(FormulaError, match="a step's cache built by the snippet"):
        check("rnn-lightaime-bptt", stale)


def test_a_keyed_cache_entry_of_three_sizes_is_an_inputs_shape() -> None:
    """israfelsr's ``N, T, D = cache['dims']`` (his forward stores x.shape there): the
    program writes each step of x as N × D, so the entry is x's shape, T the time axis.
    It was 'cannot tell which time step 'dims' is'. Sizes the program gives no input
    (N, T, Q) are refused, as is a key unpacked into other than three names."""
    said = check("rnn-israfelsr-bptt")
    assert said.verdict == "correct", str(said)
    assert any("as x.shape: the program writes each step of x as N, D" in n for n in said.notes)
    text = LOOPS["rnn-israfelsr-bptt"]["text"]
    for other in ("N, T, Q = cache['dims']", "N, D, H = cache['dims']"):
        with pytest.raises(FormulaError, match="cannot tell what .* holds"):
            check("rnn-israfelsr-bptt", text.replace("N, T, D = cache['dims']", other))
    wrong = text.replace("dWh += dWht", "dWh = dWht")  # the sum over time lost
    assert check("rnn-israfelsr-bptt", wrong).verdict == "incorrect"


def test_the_step_call_is_the_programs_own_step() -> None:
    """The step backward's results are the gradients of the step's input, carried states
    and parameters: swapping two of them (dWx, dWh) makes the snippet wrong."""
    text = LOOPS["rnn-burton2000-bptt"]["text"]
    swapped = text.replace("dprev_h, dWx_temp, dWh_temp", "dprev_h, dWh_temp, dWx_temp")
    assert swapped != text
    said = check("rnn-burton2000-bptt", swapped)
    assert said.verdict == "incorrect", str(said)


MISTAKES = [
    # the sum over time missing: the weight's gradient overwritten at every step
    ("rnn-burton2000-bptt", "dWx += dWx_temp", "dWx = dWx_temp", "the sum over time is missing"),
    ("rnn-jariasf-bptt", "dWh += dWhc", "dWh = dWhc", "the sum over time is missing"),
    ("lstm-burton2000-bptt", "dWx += dWx_temp", "dWx = dWx_temp", "the sum over time is missing"),
    # dprev_h not carried: each step given its own dh[:, t, :] only
    (
        "rnn-burton2000-bptt",
        "cur_dh = dprev_h + dh[:,t_step,:]",
        "cur_dh = dh[:,t_step,:]",
        "not passed back: the dh_k",
    ),
    (
        "rnn-jariasf-bptt",
        "rnn_step_backward(dh[:,i,:]+dprev_h, cache[i])",
        "rnn_step_backward(dh[:,i,:], cache[i])",
        "not passed back: the dh_k",
    ),
    (
        "lstm-mantasu-bptt",
        "lstm_step_backward(dh0 + dh[:, t], dc0, cache[t])",
        "lstm_step_backward(dh0 + dh[:, t], 0 * dc0, cache[t])",
        "not passed back: the dc_k",
    ),
    # the time order reversed
    ("rnn-burton2000-bptt", "reversed(range(T))", "range(T)", "the loop runs forward in time"),
    ("lstm-burton2000-bptt", "reversed(range(T))", "range(T)", "the loop runs forward in time"),
    ("rnn-mantasu-bptt", "range(T-1, -1, -1)", "range(T)", "the loop runs forward in time"),
]


@pytest.mark.parametrize(("entry_id", "old", "new", "named"), MISTAKES)
def test_the_classic_mistakes_are_named(entry_id: str, old: str, new: str, named: str) -> None:
    """Each classic BPTT mistake, made in a correct real entry, is judged wrong and named
    in time-step words."""
    text = LOOPS[entry_id]["text"]
    assert old in text
    said = check(entry_id, text.replace(old, new))
    assert said.verdict == "incorrect"
    assert said.diagnosis is not None and named in said.diagnosis, said.diagnosis


def test_the_worst_check_is_under_two_seconds() -> None:
    """The LSTM's mistake with the slowest diagnosis (the order tried by a second run)."""
    text = LOOPS["lstm-burton2000-bptt"]["text"].replace("reversed(range(T))", "range(T)")
    d = program(LOOPS["lstm-burton2000-bptt"]["network"])
    start = time.perf_counter()
    ProgramChecker(d).check(text)
    assert time.perf_counter() - start < 2.0 * 3  # generous: a loaded machine


SEQ = """
name = "seq"
convention = "row"
[inputs]
{inputs}
h_0 = ["N", "H"]
[parameters]
Wx = ["D", "H"]
Wh = ["H", "H"]
[forward]
equations = \"\"\"
{equations}
\"\"\"
[backward]
upstream = [{ups}]
output = [{outs}]
"""


def _seq(steps: int) -> ProgramDerivation:
    text = SEQ.format(
        inputs="\n".join(f'x_{k} = ["N", "D"]' for k in range(1, steps + 1)),
        equations="\n".join(
            f"h_{k} = tanh(x_{k} @ Wx + h_{k - 1} @ Wh)" for k in range(1, steps + 1)
        ),
        ups=", ".join(f'"dh_{k}"' for k in range(1, steps + 1)),
        outs=", ".join(f'"h_{k}"' for k in range(1, steps + 1)),
    )
    return derive_program(loads_program(text))


LOOP = """N, T, H = dh.shape
dWx = np.zeros_like(Wx)
dWh = np.zeros_like(Wh)
dprev_h = np.zeros((N, H))
for t in reversed(range(T)):
    dx[:, t, :], dprev_h, dWx_t, dWh_t = rnn_step_backward(dh[:, t, :] + dprev_h, cache[t])
    dWx += dWx_t
    dWh += dWh_t
return dWx, dWh, dprev_h"""


def test_a_program_written_at_two_or_four_steps_reads_the_same_loop() -> None:
    """Nothing depends on T = 3: the same loop is right over two and over four steps."""
    for steps in (2, 4):
        said = ProgramChecker(_seq(steps)).check(LOOP.replace("dx[:, t, :], ", "_, "))
        assert said.verdict == "correct", str(said)


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("for t in range(7):\n    dWx = dh[:, t, :]", "outside the program's T = 3 steps"),
        ("for t in enumerate(x):\n    dWx = 0", "cannot tell the steps of"),
        ("t = 2\nwhile t >= 0:\n    t += 1", "the loop runs over"),
        (
            "for t in range(3):\n    a, b = rnn_step_backward(dh[:, t, :], cache[t])",
            "rnn_step_backward() returns 4 gradients here (x_1, h_0, Wx, Wh",
        ),
        ("for t in range(3):\n    a = dh[:, t, t]", "is not one time step of dh"),
        ("for t in range(3):\ndWx = 0", "has no indented body"),
        ("for t in range(2, -1, 0):\n    dWx = 0", "steps by 0"),
        ("for t in range(3):\n    dWx = 0\nreturn dWx, -dWh", "returns '-dWh': assign it"),
        ("for t in range(3):\n    dWx = 0\nreturn dWx, dWh", "returns dWh, which no line assigns"),
    ],
)
def test_what_is_not_read_is_one_clear_line(snippet: str, message: str) -> None:
    """A loop that cannot be unrolled is refused saying why (no verdict, no traceback)."""
    with pytest.raises(FormulaError) as err:
        ProgramChecker(_seq(3)).check(snippet)
    assert message in str(err.value)


def test_a_long_program_is_refused_not_unrolled() -> None:
    """A program written over more steps than the bound is refused with the bound."""
    with pytest.raises(FormulaError) as err:
        ProgramChecker(_seq(7)).check(LOOP)
    assert "a loop is unrolled over at most 6" in str(err.value)


def test_a_loop_against_a_program_without_steps_says_so() -> None:
    """A one-step program has no x_1 … x_T: the loop is refused naming what it needs."""
    d = program("tests/corpus/specs/programs/rnn_jariasf.toml")
    with pytest.raises(FormulaError) as err:
        ProgramChecker(d).check(LOOP)
    assert "a program written out per step" in str(err.value)


def test_the_cli_judges_a_loop_and_exits_one_on_a_mistake(tmp_path: Path) -> None:
    """End to end: exit 0 for the real loop, 1 for the loop without the sum over time."""
    e = LOOPS["rnn-burton2000-bptt"]
    right = tmp_path / "right.py"
    right.write_text(e["text"])
    wrong = tmp_path / "wrong.py"
    wrong.write_text(e["text"].replace("dWx += dWx_temp", "dWx = dWx_temp"))
    codes = []
    for f in (right, wrong):
        run = subprocess.run(
            [sys.executable, "-m", "derive", "check", str(ROOT / e["network"]), "--file", str(f)],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        codes.append(run.returncode)
    assert codes == [0, 1]


@pytest.mark.parametrize(
    ("entry_id", "old", "new", "message"),
    [
        (  # the returned dx left time-first: handed back in the wrong layout
            "rnn-cthorey-bptt",
            "dx = dx.transpose(1, 0, 2)",
            "dx = dx.transpose(0, 2, 1)",
            "dx is handed back with its time on axis 0, where the given arrays have it on axis 1",
        ),
        (  # a step written into dx (N, T, D) along its batch axis
            "rnn-burton2000-bptt",
            "dx[:, t_step, :], dprev_h",
            "dx[t_step, :, :], dprev_h",
            "indexes axis 0 of dx, whose time axis is 1",
        ),
    ],
)
def test_arrays_over_time_are_read_in_their_layout(
    entry_id: str, old: str, new: str, message: str
) -> None:
    """A time index on another axis than the array's time axis (after its transposes) is
    not read as a step: the snippet is refused, never judged as if it were right."""
    text = LOOPS[entry_id]["text"]
    assert old in text
    with pytest.raises(FormulaError) as err:
        check(entry_id, text.replace(old, new))
    assert message in str(err.value)


def test_a_loop_that_skips_the_last_step_says_so() -> None:
    """The reviewer's ``reversed(range(T-1))``: step T's backward is never called; said
    as the step skipped (it was "the carried gradient is not passed back", or nothing)."""
    said = ProgramChecker(_seq(3)).check(LOOP.replace("range(T)", "range(T-1)"))
    assert said.verdict == "incorrect"
    assert said.diagnosis and said.diagnosis.startswith("the loop skips step 3 (t = 2)")


@pytest.mark.parametrize(
    ("fn", "words"),
    [
        ("my_cell_backward", "its name names no cell"),
        ("lstm_step_backward", "it names an LSTM cell"),
        ("gru_step_backward", "it names a GRU cell"),
    ],
)
def test_a_step_function_not_the_programs_is_refused(fn: str, words: str) -> None:
    """The reviewer: any function called in the loop was read as the program's own step.
    One whose name does not name the program's cell (one carried state: an RNN's) is
    refused, and so is one the snippet defines itself (its definition is not read)."""
    with pytest.raises(FormulaError) as err:
        ProgramChecker(_seq(3)).check(LOOP.replace("rnn_step_backward", fn))
    assert f"cannot tell that {fn}() is this program's step backward: {words}" in str(err.value)
    own = "def rnn_step_backward(dnext_h, cache):\n    return 0\n" + LOOP
    with pytest.raises(FormulaError) as err:
        ProgramChecker(_seq(3)).check(own)
    assert "the snippet defines rnn_step_backward() itself" in str(err.value)


def test_a_size_unpacked_from_a_shape_is_a_number_in_a_value() -> None:
    """The reviewer's ``db += db_temp / T`` with T from ``dh.shape``: it was "unknown name
    'T'"; T is the program's step count, and the factor is named 1/T, not 1/3."""
    averaged = LOOP.replace("dWx += dWx_t", "dWx += dWx_t / T")
    said = ProgramChecker(_seq(3)).check(averaged)
    assert said.verdict == "incorrect"
    assert said.diagnosis and said.diagnosis.startswith("a factor 1/T too many"), said.diagnosis
