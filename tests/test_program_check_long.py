"""The program checker on long recurrent programs (issue 15, speed): the diagnosis' search
recomputes only what a dropped term changes, a weight summed over many steps cut to one
step is named, and the generic-T recurrence is derived only when it is used."""

from __future__ import annotations

from functools import cache

import numpy as np

from derive.formula.program_check import ProgramChecker
from derive.programs import ProgramDerivation, derive_program
from derive.spec.sequence_layers import from_sequence_dict


def _recurrent(kind: str, steps: int) -> ProgramDerivation:
    data = {
        "name": f"{kind}{steps}",
        "input": "D",
        "batch": "N",
        "layers": [
            {"type": kind, "steps": steps, "hidden": "H", "loss_at": "every"},
            {"type": "dense", "width": "C", "activation": "softmax"},
        ],
        "loss": "cross_entropy",
    }
    return derive_program(from_sequence_dict(data, source="<test>"))


@cache
def rnn(steps: int) -> ProgramDerivation:
    return _recurrent("rnn", steps)


def test_dropped_term_values_equal_the_full_recomputation() -> None:
    """``dropped`` (only the stages between the dropped term and the judged value) gives
    what recomputing every stage with that term left out gives, for every term."""
    c = ProgramChecker(rnn(3))
    c.expected_now = c.expected()
    tried = 0
    for sym in [c.sd.gradients["W_hh"].lhs, c.sd.gradients["b_y"].lhs]:
        for stage, terms in c.sd.terms.items():
            if len(terms) < 2:
                continue
            for k in range(len(terms)):
                full = [v[sym] for v in c.expected(drop=(stage, k))]
                fast = c.dropped(sym, (stage, k))
                if fast is None:  # the stage does not reach sym: the derived values
                    fast = [v[sym] for v in c.expected_now]
                for a, b in zip(full, fast, strict=True):
                    np.testing.assert_allclose(np.asarray(b, float), np.asarray(a, float))
                tried += 1
    assert tried > 10


def test_a_weight_summed_over_many_steps_cut_to_one_step_is_named() -> None:
    """More steps than the subsets tried (8): the sum over time cut to the last step's
    term is still named (before, no usual mistake was found)."""
    result = ProgramChecker(rnn(10)).check("db_y = np.sum(dS_10, axis=0)")
    assert not result.correct
    said = str(result)
    assert "9 of the 10 terms of" in said and "only" in said, said
    assert "sums the terms of all of them" in said


def test_the_generic_recurrence_is_derived_on_first_use() -> None:
    d = _recurrent("rnn", 2)
    assert d.recurrence_of is not None  # not derived yet
    rec = d.recurrence
    assert rec is not None and d.recurrence_of is None
    assert rec.kind == "rnn" and rec.gradients
    assert d.recurrence is rec


def test_a_loop_over_time_is_unrolled_not_refused() -> None:
    """``for t in reversed(range(3)):`` is unrolled at the program's T (tests/
    test_program_loops.py; it was refused as "not read yet"); a ``while`` over a counter
    too; a name that starts with "for" is still an assignment."""
    import pytest

    from derive.formula.ir import FormulaError

    c = ProgramChecker(rnn(3))
    said = c.check("dW_hh = np.zeros_like(W_hh)\nfor t in reversed(range(3)):\n    dW_hh += dz_1")
    assert said.verdict == "incorrect"  # H×H += N×H: a verdict, the loop read
    with pytest.raises(FormulaError) as err:  # read, but it assigns no gradient
        c.check("t = 2\nwhile t >= 0:\n    t -= 1")
    assert "assigns no gradient" in str(err.value)
    assert c.check("forward_b = dz_3\ndb = np.sum(forward_b, axis=0)") is not None


def test_the_cell_state_highway_left_out_is_named_at_fifty_steps() -> None:
    """The judged value's own terms are tried first: an LSTM's dc_1 without the highway
    term f_2 ⊙ dc_2 is named even at T = 50 (before, the bounded search ran out of time
    on the thousand terms of the other stages)."""
    said = str(
        ProgramChecker(_recurrent("lstm", 50)).check("dc_1 = dh_1 * o_1 * (1 - np.tanh(c_1)**2)")
    )
    assert "INCORRECT" in said
    assert "the term dc₂ ⊙ f₂ of dc_1 is missing" in said, said
