"""Names that layer APIs give their values, read on a forward program.

NNFS's losses (``class Loss_MeanAbsoluteError: def backward(self, dvalues, y_true)``) count
a sample's outputs as ``len(dvalues[0])`` and store the gradient of their input as
``self.dinputs``. The programs and snippets below are made up for these tests (in NNFS's
spelling); the real entries are in tests/corpus/layers/huber_l1.toml.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.formula.ir import FormulaError
from derive.programs import ProgramDerivation, derive_program

MAE = """
name = "mae"
convention = "row"
[inputs]
y_true = ["N", "K"]
[parameters]
dvalues = ["N", "K"]
[forward]
equations = '''
sample_losses = mean(abs(y_true - dvalues), axis=1)
'''
[loss]
expression = "mean(sample_losses)"
"""

RIGHT = """\
samples = len(dvalues)
outputs = len(dvalues[0])
self.dinputs = -np.sign(y_true - dvalues) / outputs
self.dinputs = self.dinputs / samples
"""


def program(tmp_path: Path, text: str) -> ProgramDerivation:
    path = tmp_path / "p.toml"
    path.write_text(text, "utf-8")
    return derive_program(path)


def test_len_of_a_row_is_the_number_of_columns(tmp_path: Path) -> None:
    """``len(dvalues[0])`` is K (it was refused as an indexing before); ``len(dvalues)`` in
    its place is N, which the checker's points tell apart (N ≠ K at both points)."""
    d = program(tmp_path, MAE)
    assert d.check(RIGHT).correct
    rows = d.check(RIGHT.replace("len(dvalues[0])", "len(dvalues)"))
    assert rows.verdict == "incorrect"


def test_len_of_a_row_is_read_in_an_equation(tmp_path: Path) -> None:
    """The same reading in a program's own equations: mean over a row's entries."""
    text = MAE.replace(
        "mean(abs(y_true - dvalues), axis=1)", "sum(abs(y_true - dvalues), axis=1) / len(y_true[0])"
    )
    assert program(tmp_path, text).check(RIGHT).correct


def test_a_stored_input_gradient_is_the_programs_one_gradient(tmp_path: Path) -> None:
    """``self.dinputs`` names ddvalues, the program's one gradient (it was 'assigns no
    gradient' before); NNFS's reversed sign is named."""
    d = program(tmp_path, MAE)
    right = d.check(RIGHT)
    assert any("read dinputs as ddvalues" in n for n in right.notes)
    wrong = d.check(RIGHT.replace("-np.sign", "np.sign"))
    assert wrong.verdict == "incorrect" and "sign" in (wrong.diagnosis or "")


def test_a_stored_input_gradient_with_several_gradients_is_not_guessed(tmp_path: Path) -> None:
    """Two parameters and no upstream: ``dinputs`` could be either, so it names none."""
    text = MAE.replace('[inputs]\ny_true = ["N", "K"]\n', "").replace(
        'dvalues = ["N", "K"]', 'dvalues = ["N", "K"]\ny_true = ["N", "K"]'
    )
    with pytest.raises(FormulaError, match="assigns no gradient"):
        program(tmp_path, text).check(RIGHT)


LAYER = """
name = "scale"
convention = "row"
[inputs]
x = ["N", "D"]
[parameters]
gamma = [1, "D"]
[forward]
equations = '''
out = gamma * x
'''
[backward]
upstream = "dvalues"
"""


def test_a_layers_stored_input_gradient_is_its_inputs(tmp_path: Path) -> None:
    """With an upstream given, ``self.dinputs`` is the gradient of the one input."""
    d = program(tmp_path, LAYER)
    body = "self.dgamma = np.sum(dvalues * x, axis=0, keepdims=True)\nself.dinputs = dvalues * {}"
    assert d.check(body.format("gamma")).correct
    assert d.check(body.format("x")).verdict == "incorrect"


PICK = """
name = "pick"
convention = "row"
[inputs]
X = ["N", "D"]
[labels]
y = { length = "N", classes = "C" }
[parameters]
W = ["D", "C"]
[forward]
equations = '''
scores = X @ W
s = scores[range(N), y]
'''
[loss]
expression = "sum(exp(s))"
"""


def test_choose_is_each_rows_label_entry(tmp_path: Path) -> None:
    """``np.choose(y, scores.T)`` (Burton2000's SVM) is ``scores[range(N), y]``: the
    forward value it assigns is the program's (it was 'unknown function choose()')."""
    d = program(tmp_path, PICK)
    assert d.check("s = np.choose(y, scores.T)").correct
    doubled = d.check("s = 2 * np.choose(y, scores.T)")
    assert doubled.verdict == "incorrect" and "2 times" in (doubled.diagnosis or "")


def test_choose_from_the_untransposed_scores_does_not_fit(tmp_path: Path) -> None:
    """``np.choose(y, scores)`` picks scores[y[i], i]: with N labels and a C×N transpose
    it does not fit (one clear line, not a verdict)."""
    with pytest.raises(FormulaError, match="do not fit for pick"):
        program(tmp_path, PICK).check("s = np.choose(y, scores)")


def test_choose_needs_labels(tmp_path: Path) -> None:
    with pytest.raises(FormulaError, match="np.choose"):
        program(tmp_path, PICK).check("s = np.choose(scores.T, y)")


DICT = """\
dgamma = np.sum(dvalues * x, axis=0, keepdims=True)
dx = dvalues * gamma
gradients = {"dx": dx,
             "dgamma": GAMMA}
return gradients
"""


def test_a_returned_dict_is_judged_key_by_key(tmp_path: Path) -> None:
    """deeplearning.ai's ``gradients = {"dxt": dxt, …}; return gradients``: each value is
    judged as its key names it (a dict literal was 'unexpected character {' before)."""
    d = program(tmp_path, LAYER)
    right = d.check(DICT.replace("GAMMA", "dgamma"))
    assert right.correct and any("dict gradients" in n for n in right.notes)
    wrong = d.check(DICT.replace("GAMMA", "2 * dgamma"))
    assert wrong.verdict == "incorrect" and "dgamma" in (wrong.diagnosis or "")


def test_a_dict_key_that_is_a_program_name_is_not_assigned(tmp_path: Path) -> None:
    """``{"gamma": dgamma}`` would rebind the program's gamma: that key is left out, so
    the dict hands back nothing the checker judges."""
    d = program(tmp_path, LAYER)
    text = "grads = {'gamma': np.sum(dvalues * x, axis=0, keepdims=True)}\nreturn grads"
    with pytest.raises(FormulaError):
        d.check(text)


SVM_DICT = """\
N = len(y)
Y_hat = X @ W
yt = Y_hat[range(N), y][:, np.newaxis]
dW = (np.maximum(0, Y_hat - yt + 1) > 0).astype(int)
dW[range(N), y] -= dW.sum(axis=1)
dW = X.T @ dW / N
RETURN"""


def test_a_returned_dict_keyed_by_a_program_name_is_refused() -> None:
    """mantasu's SVM with its weight decay added in a dict keyed 'W' (made up): the
    dict's value went unjudged and the intermediate dW (no decay) was judged as the
    answer, INCORRECT though the returned value is right; now refused, saying why."""
    d = derive_program(Path(__file__).parent / "corpus/specs/programs/svm_mantasu.toml")
    assert d.check(SVM_DICT.replace("RETURN", "return dW + 2 * reg * W")).correct
    text = SVM_DICT.replace("RETURN", "grads = {'W': dW + 2 * reg * W}\nreturn grads")
    with pytest.raises(FormulaError, match="key 'W' is the program's own name"):
        d.check(text)


def test_a_weights_gradient_is_not_a_stored_input_gradient(tmp_path: Path) -> None:
    """A linear model's loss whose one gradient is the weight's: a layer's ``dinputs``
    would be the data's gradient, which the program does not derive, so it names nothing
    (judging it as dW would call a right formula wrong)."""
    text = """
name = "lin"
convention = "row"
[inputs]
X = ["N", "D"]
y = ["N", 1]
[parameters]
W = ["D", 1]
[forward]
equations = '''
r = X @ W - y
'''
[loss]
expression = "sum(r ** 2)"
"""
    with pytest.raises(FormulaError, match="assigns no gradient"):
        program(tmp_path, text).check("self.dinputs = 2 * r @ W.T")
