"""Loose ends of the checker (issue 13, round 6): a network of numbers not judged by matrix
shapes, a program's mode refused when no branch uses it, shape messages in the widths the
user wrote, the learning rate named as written, and ∇L(X) read as ∂L/∂X."""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.cli import main
from derive.formula.check import Checker
from derive.formula.parse import FormulaError
from derive.spec import Activation, dense, load
from derive.spec.reading import loads

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "tests" / "corpus" / "specs"
MASHA = SPECS / "masha_chain.toml"
ONE_HIDDEN = dense([3, 4, 2], [Activation("sigmoid")] * 2, "squared_error", batch=1)


# ------------------------------------------------------------- a chain of scalar neurons
# Ulyankin's problem set (tests/corpus/issues_more.toml, masha-dL-dw*-sign): every layer
# one unit wide, no biases in the source (derive's layers have them). As matrices x·w_1
# does not fit; as the numbers they are it does, and f(x w_1) is not f(Z_1) = f(w_1 x + b_1).


@pytest.mark.parametrize(
    "formula",
    [
        # the source's right form (its label's `right`) and its sign slip: neither may be
        # judged by the matrix shapes, which say nothing about numbers
        r"\frac{\partial L}{\partial w_3} = (\hat{y} - y) \cdot f(f(x\cdot w_1) \cdot w_2)",
        r"\frac{\partial L}{\partial w_3} = (y - \hat{y}) \cdot f(f(x\cdot w_1) \cdot w_2)",
    ],
)
def test_a_network_of_numbers_is_not_judged_by_matrix_shapes(formula: str) -> None:
    with pytest.raises(FormulaError, match="one unit wide") as err:
        Checker(load(str(MASHA))).check(formula)
    assert "pre-activation" in str(err.value)


def test_a_chain_of_numbers_written_with_z_is_still_judged() -> None:
    checker = Checker(load(str(MASHA)))
    right = r"\frac{\partial L}{\partial w_3} = (\hat{y} - y) \cdot f(z_2)"
    assert checker.check(right).correct
    wrong = checker.check(r"\frac{\partial L}{\partial w_3} = (y - \hat{y}) \cdot f(z_2)")
    assert not wrong.correct and "sign" in (wrong.diagnosis or "")


# ------------------------------------------------------------- [backward] mode

SNIPPET = """dropout_param, mask = cache
mode = dropout_param["mode"]
if mode == "train":
    dx = dout * mask
else:
    dx = dout
return dx
"""


def _program(tmp_path: Path, mode: str) -> Path:
    text = (SPECS / "programs" / "dropout_againstentropy.toml").read_text("utf-8")
    assert 'mode = "train"' in text
    spec = tmp_path / "drop.toml"
    spec.write_text(text.replace('mode = "train"', f'mode = "{mode}"'), "utf-8")
    return spec


def test_a_mode_no_branch_uses_is_refused_where_it_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _program(tmp_path, "trian")
    snippet = tmp_path / "backward.py"
    snippet.write_text(SNIPPET, "utf-8")
    assert main(["check", str(spec), "--file", str(snippet)]) == 2
    err = capsys.readouterr().err.strip()
    line = next(
        n
        for n, text in enumerate(spec.read_text("utf-8").splitlines(), 1)
        if text.startswith("mode")
    )
    assert err.startswith(f"derive: error: {spec}:{line}: backward.mode: "), err
    assert "'trian'" in err and "'train'" in err
    assert "\n" not in err


def test_the_mode_a_branch_uses_is_judged(tmp_path: Path) -> None:
    spec = _program(tmp_path, "train")
    snippet = tmp_path / "backward.py"
    snippet.write_text(SNIPPET, "utf-8")
    assert main(["check", str(spec), "--file", str(snippet)]) == 0
    wrong = tmp_path / "wrong.py"
    wrong.write_text(SNIPPET.replace("dout * mask", "dout"), "utf-8")
    assert main(["check", str(spec), "--file", str(wrong)]) == 1


# ------------------------------------------------------------- shapes as the user wrote them


def test_shape_messages_print_the_widths_the_user_wrote() -> None:
    # ng's output layer is 1 unit wide (derive/examples/ng.toml: width = 1)
    assert load("ng").widths[-1] == 1
    result = Checker("ng").check(r"\delta_1 = (\delta_2 W_2) \odot \tanh'(Z_1)")
    said = result.shape_error or ""
    assert "δ₂ is 1×m" in said, said
    assert "n₂" not in said


def test_concrete_widths_of_a_hand_made_network_are_printed() -> None:
    said = Checker(ONE_HIDDEN).check(r"\delta_1 = (\delta_2 W_2) \odot \sigma'(Z_1)")
    assert said.shape_error is not None
    assert "2×1" in said.shape_error and "2×4" in said.shape_error, said.shape_error


# ------------------------------------------------------------- the learning rate as written


@pytest.mark.parametrize("rate", ["lr", "learning_rate"])
def test_a_learning_rate_left_over_is_named_as_written(rate: str) -> None:
    with pytest.raises(FormulaError) as err:
        Checker("ng").check(f"W1 = W1 - {rate} * {rate} * dW1", "python")
    said = str(err.value)
    assert f"'{rate}'" in said and "learning rate" in said
    assert "eta" not in said


def test_one_learning_rate_is_still_read() -> None:
    assert Checker("ng").check("W1 = W1 - lr * dW1", "python").correct


# ------------------------------------------------------------- ∇L(X) as ∂L/∂X


@pytest.mark.parametrize(
    "formula",
    [
        r"\frac{\partial L}{\partial b_2} = \nabla L(Z_2)",
        r"\frac{\partial L}{\partial b_2} = \nabla J(z_2)",
        r"\frac{\partial L}{\partial b_2} = \nabla \mathcal{L}(z^{[2]})",
        r"\frac{\partial L}{\partial b_2} = \nabla L(logits)",
        r"\frac{\partial{loss}}{\partial{\mathit{b2}}} = \nabla loss(scores)",
    ],
)
def test_the_gradient_of_a_loss_at_a_quantity_is_read(formula: str) -> None:
    assert Checker(ONE_HIDDEN).check(formula).correct


def test_the_gradient_at_another_quantity_is_judged_not_rewritten_away() -> None:
    result = Checker(ONE_HIDDEN).check(r"\frac{\partial L}{\partial b_2} = \nabla L(A_2)")
    assert not result.correct


def test_the_gradient_at_an_unknown_word_is_not_guessed() -> None:
    with pytest.raises(FormulaError):
        Checker(ONE_HIDDEN).check(r"\frac{\partial L}{\partial b_2} = \nabla L(foo)")


# ------------------------------------------------------------- corpus labels mended
# Notes of Ng's course that write one example's step (lower-case dz, a): the network of
# one example (ng_relu3_one.toml, batch = 1). On the batch network their fix dz a^T was
# judged INCORRECT ("a factor 1/m is missing"), and the slip named as two mistakes.

PER_EXAMPLE = (
    "fengdu78-notes-dw-missing-transpose",
    "lonewolfc7-dnn-dw-per-sample",
    "zzsean-dW-per-sample",
)


@pytest.mark.parametrize("entry_id", PER_EXAMPLE)
def test_per_example_notes_are_checked_on_one_example(entry_id: str) -> None:
    import sys

    sys.path.insert(0, str(ROOT / "tests"))
    from test_corpus_file import ENTRIES
    from test_corpus_file import load as load_entry

    entry = next(e for _f, e in ENTRIES if e["id"] == entry_id)
    checker = Checker(load_entry(str(entry["network"])))
    assert checker.network.batch == 1
    assert checker.check(str(entry["right"]), "latex").correct
    slip = checker.check(str(entry["text"]), "latex")
    assert not slip.correct
    said = slip.diagnosis or ""
    assert "transpose" in said and "1/m" not in said, said


def test_a_shape_message_never_says_two_equal_shapes_do_not_fit() -> None:
    # made up: a chain of one-unit layers; A₁ and Y are both 1×1 here, but the checker
    # compares shapes with symbolic widths, and "A₁ is 1×1, Y is 1×1" would read as nonsense
    net = loads(
        'name = "scalar_chain"\nconvention = "column"\ndelta = "per_sample"\ninput = 1\n'
        'batch = 1\n[[layers]]\nwidth = 1\nactivation = "sigmoid"\n[[layers]]\nwidth = 1\n'
        'activation = "sigmoid"\n[loss]\nname = "squared_error"\nreduction = "sum"\n'
    )
    with pytest.raises(FormulaError) as err:
        Checker(net).check(r"\delta_1 = (A_1 - Y) \odot \sigma'(Z_1)")
    said = str(err.value)
    assert "A₁ is 1×1, Y is 1×1" not in said, said
    assert "A₁ is n₁×1, Y is n₂×1" in said and "n₁ = 1, n₂ = 1 in your network" in said, said


@pytest.mark.parametrize(
    ("formula", "syntax"),
    [
        (r"\delta_1 = \delta_2 W_2^T \odot relu'(A_1)", "latex"),
        ("dZ1 = dZ2.dot(W2.T) * relu_prime(A1)", "python"),
    ],
)
def test_relu_derivative_at_the_activation_is_right_with_a_note(formula: str, syntax: str) -> None:
    # relu' = [x > 0] (H(0) = 0, as the exported code computes it): relu'(A) = relu'(Z)
    # entry by entry, as CS231n's (A1 > 0) (issue 13 §1); made up on the cs231n example
    result = Checker("cs231n").check(formula, syntax)
    assert result.correct, str(result)
    assert any("ReLU is positive exactly where its input is" in n for n in result.notes)


def test_tanh_derivative_at_the_activation_stays_wrong() -> None:
    result = Checker("ng").check("dZ1 = np.dot(W2.T, dZ2) * tanh_prime(A1)", "python")
    assert not result.correct and "pre-activation" in (result.diagnosis or ""), str(result)
