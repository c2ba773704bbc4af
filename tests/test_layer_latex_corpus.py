"""The layer corpus's LaTeX formulas checked on their sources' own programs (issue 15).

Each LaTeX entry of tests/corpus/layers/*.toml whose ``network`` is a forward program
(d2l's and Goodfellow's RNN, planckeon's attention) is read over that program's names at
each time step (``derive.formula.program_latex_check``); every verdict must be its label.
"""

from __future__ import annotations

import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_corpus_file import LAYER_ENTRIES, is_program_spec, load_program, same_page

from derive.formula.ir import FormulaError
from derive.formula.program_check import ProgramChecker
from derive.formula.program_latex_check import check_latex
from derive.programs import derive_program

ROOT = Path(__file__).resolve().parent.parent
#: The LaTeX entries read (of 42): 22 when this test was written, 31 in round 8.
READ_FLOOR = 31

LATEX = [
    e
    for _, e in LAYER_ENTRIES
    if e["syntax"] == "latex" and e["network"] and is_program_spec(str(e["network"]))
]


@cache
def _checker(network: str) -> ProgramChecker:
    return ProgramChecker(load_program(network))


@cache
def _builtin(name: str) -> ProgramChecker:
    return ProgramChecker(derive_program(name))


def test_every_read_verdict_is_its_label_and_the_floor_holds() -> None:
    read = 0
    for entry in LATEX:
        try:
            result = check_latex(
                _checker(str(entry["network"])), str(entry["text"]), same_page(entry)
            )
        except FormulaError:
            continue
        read += 1
        assert result.verdict == entry["verdict"], (entry["id"], str(result))
    assert read >= READ_FLOOR


@pytest.mark.parametrize(
    "formula",
    [
        r"dW_{hh} = \sum_{t=1}^T h_{t-1}^T dz_t",
        r"\frac{\partial L}{\partial W_{hh}} = \sum_{t=1}^{T} h_{t-1}^\top dz_{t}",
        r"\nabla_{\mathbf{W}_{hh}} L = \sum_t \mathbf{h}^{(t-1)^\top} dz^{(t)}",
        r"dz_t = (dS_t W_{hy}^T + dz_{t+1} W_{hh}^T) \odot (1 - h_t^2)",
        r"dh_T = dS_T W_{hy}^\top",
    ],
)
def test_bptt_at_a_symbolic_step_is_correct(formula: str) -> None:
    assert check_latex(_builtin("rnn_net"), formula).correct


def test_bptt_without_the_sum_over_time_is_named() -> None:
    result = check_latex(_builtin("rnn_net"), r"dW_{hh} = h_{t-1}^T dz_t")
    assert not result.correct
    assert "terms of dW_hh are missing" in str(result.diagnosis)


def test_the_recurrence_without_the_next_step_is_named() -> None:
    result = check_latex(_builtin("rnn_net"), r"dz_t = dS_t W_{hy}^T \odot (1 - h_t^2)")
    assert not result.correct and "dz₂ Wₕₕᵀ" in str(result.diagnosis)


def test_attention_matrix_forms() -> None:
    attention = _builtin("attention_net")
    assert check_latex(attention, r"dV = P^T dout").correct
    assert check_latex(attention, r"dQ = dS K / \sqrt{d_k}").correct
    assert check_latex(attention, r"dQ = \frac{1}{\sqrt{d_k}} dS K").correct
    assert not check_latex(attention, r"dQ = dS K").correct


def test_a_diagonal_on_the_right_of_a_column_is_the_order() -> None:
    """Goodfellow eq. 10.21 as printed: W^T (∇h L) diag(1 - h^2) is not defined."""
    goodfellow = _checker("tests/corpus/specs/programs/rnn_goodfellow.toml")
    wrong = (
        r"\nabla_{\Vh^{(t)}} L = \MW^\top (\nabla_{\Vh^{(t+1)}} L) \text{diag}(1 - (\Vh^{(t+1)})^2)"
        r" + \MV^\top (\nabla_{\Vo^{(t)}} L)"
    )
    result = check_latex(goodfellow, wrong)
    assert not result.correct and "order" in str(result.diagnosis)
    right = (
        r"\nabla_{\Vh^{(t)}} L = \MW^\top \text{diag}(1 - (\Vh^{(t+1)})^2) (\nabla_{\Vh^{(t+1)}} L)"
        r" + \MV^\top (\nabla_{\Vo^{(t)}} L)"
    )
    assert check_latex(goodfellow, right).correct


def test_only_jacobians_is_refused_in_one_line() -> None:
    with pytest.raises(FormulaError, match="chain-rule product of Jacobians"):
        check_latex(
            _builtin("rnn_net"),
            r"\frac{\partial L}{\partial h_t}"
            r" = \frac{\partial L}{\partial h_{t+1}} \frac{\partial h_{t+1}}{\partial h_t}",
        )


def test_the_command_line_reads_latex_on_a_program() -> None:
    """On main a LaTeX formula on a program exited 2 ("checked as NumPy code")."""
    run = subprocess.run(
        [sys.executable, "-m", "derive", "check", "attention_net", r"dV = P^T dout"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("CORRECT")


LSTM = "tests/corpus/specs/programs/lstm_arunmallya.toml"


def test_tanh_of_the_activation_is_named() -> None:
    """Mallya's δâ^t before 757a397: tanh² of a^t where a^t = tanh(â^t)."""
    lstm = _checker(LSTM)
    wrong = check_latex(lstm, r"\delta \hat{a}^t &= \delta a^t \odot (1-\tanh^2(a^t))")
    assert not wrong.correct and "the activation (a_1 = tanh(ahat_1))" in str(wrong.diagnosis)
    right = r"\delta \hat{a}^t &= \delta a^t \odot (1-\tanh^2(\hat{a}^t))"
    assert check_latex(lstm, right).correct


def test_the_cell_gradient_without_the_next_step_is_named() -> None:
    """Mallya's δc^t before 451649b: the += of δc^{t+1} ⊙ f^{t+1} left out."""
    lstm = _checker(LSTM)
    wrong = check_latex(lstm, r"\delta c^t &= \delta h^t \odot o^t \odot (1-\tanh^2(c^t))")
    assert not wrong.correct and "comes back from step t+1" in str(wrong.diagnosis)
    right = (
        r"\delta c^t = \delta h^t \odot o^t \odot (1-\tanh^2(c^t))"
        r" + \delta c^{t+1} \odot f^{t+1}"
    )
    assert check_latex(lstm, right).correct


def test_a_first_output_read_by_later_steps_gets_their_terms() -> None:
    """On main the staged derivation took the first output's given gradient as its whole
    cotangent: h_1 of an unrolled LSTM lost the terms through step 2 (dc_1 = Delta_1 …)."""
    sd = load_program(LSTM)
    dc1 = next(st for st in sd.cotangents if st.lhs.name == "dc_1")
    assert "Delta_1_total" in str(dc1.rhs)
    total = next(st for st in sd.cotangents if st.lhs.name == "Delta_1_total")
    assert "U_c" in str(total.rhs) and "Delta_1" in str(total.rhs)


def test_the_sources_own_names_declared() -> None:
    """Goubasarian's ζ_k: undeclared, one clear line; declared, read (and his dK's
    missing transpose named)."""
    net = "tests/corpus/specs/programs/attention_goubasarian.toml"
    with pytest.raises(FormulaError, match="zeta_7 is not a name of this program"):
        check_latex(_checker(net), r"\frac{\partial L}{\partial K} = \zeta_7 \frac{Q}{\sqrt{d_k}}")
    declared = ProgramChecker(load_program(net), {"zeta_7": "dW"})
    wrong = check_latex(declared, r"\frac{\partial L}{\partial K} = \zeta_7 \frac{Q}{\sqrt{d_k}}")
    assert not wrong.correct and "transpose" in str(wrong.diagnosis)
    assert check_latex(
        declared, r"\frac{\partial L}{\partial Q} = \zeta_7\frac{K}{\sqrt{d_k}}"
    ).correct


def test_cdot_is_a_product_or_hadamard_as_the_shapes_fit() -> None:
    goodfellow = _checker("tests/corpus/specs/programs/rnn_goodfellow.toml")
    assert check_latex(goodfellow, r"dh_T = V^T \cdot do_T").correct  # a matrix product
    assert check_latex(goodfellow, r"da_T = dh_T \cdot (1 - h_T^2)").correct  # entry by entry


@given(
    st.lists(
        st.sampled_from(
            [
                r"h_t",
                r"h_{t+1}",
                r"h^{(t)}",
                r"dz_t",
                r"W_{hh}",
                r"^T",
                r"\odot",
                r"\cdot",
                "+",
                "-",
                "(",
                ")",
                "{",
                "}",
                r"\sum_{t=1}^T",
                r"\frac{\partial L}{\partial h_t}",
                r"\frac{\partial h_t}{\partial h_{t-1}}",
                "=",
                "2",
                r"\tanh",
                r"\text{diag}",
                r"\delta",
                "c^t",
                r"\zeta_1",
                "dS_T",
                "^{-1}",
                "&",
                r"\\",
                "_",
                "^",
            ]
        ),
        min_size=1,
        max_size=7,
    )
)
@settings(max_examples=40, deadline=None)
def test_any_latex_on_a_program_is_a_verdict_or_one_clear_error(tokens: list[str]) -> None:
    try:
        check_latex(_builtin("rnn_net"), "dz_t = " + " ".join(tokens))
    except FormulaError as err:
        assert str(err) and "\n" not in str(err).strip()


def test_a_sum_to_another_bound_is_not_read_as_over_time() -> None:
    with pytest.raises(FormulaError):
        check_latex(_builtin("rnn_net"), r"dW_{hh} = \sum_{t=1}^N h_{t-1}^T dz_t")


def test_ones_vectors_sum_and_repeat() -> None:
    """`X 1_n` sums the rows, `x 1_nᵀ` repeats a column: Goubasarian's staged softmax."""
    net = load_program("tests/corpus/specs/programs/attention_goubasarian.toml")
    declared = ProgramChecker(net, {"zeta_2": "dB", "zeta_3": "dB_4", "zeta_5": "dB_2"})
    db3 = (
        r"\frac{\partial L}{\partial B_3} = \zeta_3\bold{1_n}"
        r" = \zeta_4 \in \mathbb{R}^{n \times 1}"
    )
    assert check_latex(declared, db3).correct
    db1 = r"\frac{\partial L}{\partial B_1} = \zeta_5\bold{1_n^T} +  {} \odot B_4"
    assert check_latex(declared, db1.replace("{}", r"\zeta_2")).correct
    assert not check_latex(declared, db1.replace("{}", r"\zeta_3")).correct  # his slip
    attention = _builtin("attention_net")
    assert check_latex(
        attention, r"dS = P \odot (dP - (P \odot dP) \mathbf{1}_n \mathbf{1}_n^T)"
    ).correct


def test_the_softmax_jacobian_cut_to_its_diagonal_is_named() -> None:
    result = check_latex(_builtin("attention_net"), r"dS = P \odot dP")
    assert not result.correct and "softmax Jacobian" in str(result.diagnosis)


@pytest.mark.parametrize(
    ("formula", "said"),
    [
        (r"dh_t = dS_t W_{hy}^T + dz_t W_{hh}^T", "dz is one time step off"),
        (r"dW_{hh} = \sum_{t=1}^T h_t^T dz_t", "h is one time step off"),
    ],
)
def test_a_name_one_time_step_off_is_named(formula: str, said: str) -> None:
    result = check_latex(_builtin("rnn_net"), formula)
    assert not result.correct and said in str(result.diagnosis)


def test_a_gradient_used_for_another_is_named() -> None:
    """Goubasarian's dB = ζ_1 Vᵀ: ζ_1 (his ∂L/∂V) where ∂L/∂C belongs."""
    net = load_program("tests/corpus/specs/programs/attention_goubasarian.toml")
    declared = ProgramChecker(net, {"zeta_1": "B.T @ dC"})
    result = check_latex(declared, r"\frac{\partial L}{\partial B} = \zeta_1 V^T")
    assert not result.correct and "zeta_1 is used where dC belongs" in str(result.diagnosis)
