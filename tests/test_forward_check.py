"""Forward passes and losses judged against a program's forward (``formula.forward_check``).

The made-up programs and snippets below (labelled so) are minimal cases of each reading;
the real snippets are the layer corpus' loss and forward entries (huber_l1.toml,
residual.toml), checked through the same program checker the benchmark uses.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from derive.formula.framework_calls import as_numpy
from derive.formula.ir import FormulaError
from derive.formula.program_check import ProgramChecker
from derive.programs import derive_program

sys.path.insert(0, str(Path(__file__).parent))
from test_corpus_file import ENTRIES, LAYER_ENTRIES, load_program  # noqa: E402

# Made up: a residual block y = x + tanh(x W) with a squared loss.
BLOCK = """
name = "block"
convention = "row"
[inputs]
x = ["n", "d"]
[parameters]
W = ["d", "d"]
[forward]
equations = '''
h = tanh(x @ W)
y = x + h
'''
[loss]
expression = "sum(y ** 2) / 2"
"""

# Made up: the Huber loss of a residual r with threshold k, per element.
HUBER = """
name = "huber_made_up"
convention = "row"
[parameters]
r = ["n", "d"]
[hyperparameters]
k = "k"
[forward]
equations = '''
hub = where(abs(r) <= k, r ** 2 / 2, k * (abs(r) - k / 2))
'''
[loss]
expression = "sum(hub)"
"""


def _checker(tmp_path: Path, text: str) -> ProgramChecker:
    spec = tmp_path / "p.toml"
    spec.write_text(text)
    return ProgramChecker(derive_program(str(spec)))


def test_made_up_forward_output_and_loss_correct(tmp_path: Path) -> None:
    pc = _checker(tmp_path, BLOCK)
    r = pc.check("h = np.tanh(x @ W)\nreturn x + h")
    assert r.verdict == "correct", r
    assert "forward" in r.quantity and any("judged a forward value" in n for n in r.notes)
    r = pc.check("y = x + np.tanh(x.dot(W))\nreturn 0.5 * np.sum(y ** 2)")
    assert r.verdict == "correct", r
    assert r.quantity.startswith("loss L")


def test_made_up_skip_missing_is_named(tmp_path: Path) -> None:
    r = _checker(tmp_path, BLOCK).check("out = np.tanh(x @ W)\nreturn out")
    assert r.verdict == "incorrect", r
    assert "a term is missing: + x" in (r.diagnosis or "")
    assert "skip connection" in (r.diagnosis or "")


def test_made_up_loss_with_a_factor(tmp_path: Path) -> None:
    r = _checker(tmp_path, BLOCK).check("y = x + np.tanh(x @ W)\nloss = np.sum(y ** 2)")
    assert r.verdict == "incorrect", r
    assert "factor" in (r.diagnosis or "") and "2" in (r.diagnosis or "")


def test_made_up_abs_missing_in_a_condition(tmp_path: Path) -> None:
    pc = _checker(tmp_path, HUBER)
    right = (
        "a = (abs(r) <= k).float()\nb = (abs(r) > k).float()\nreturn a*r**2/2 + b*k*(abs(r)-k/2)"
    )
    assert pc.check(right).verdict == "correct"
    r = pc.check(right.replace("b = (abs(r) > k)", "b = (r > k)"))
    assert r.verdict == "incorrect", r
    assert "branch condition differs" in (r.diagnosis or "") and "abs" in (r.diagnosis or "")


def test_made_up_torch_where_read_as_numpy(tmp_path: Path) -> None:
    pc = _checker(tmp_path, HUBER)
    r = pc.check("return torch.where(torch.abs(r) <= k, r ** 2 / 2, k * (torch.abs(r) - k / 2))")
    assert r.verdict == "correct", r
    assert any("torch.where as np.where" in n for n in r.notes)
    r = pc.check("return torch.where(torch.abs(r) <= k, r ** 2 / 2, k * (torch.abs(r) - 0.5))")
    assert r.verdict == "incorrect", r
    assert "one branch differs" in (r.diagnosis or "")


def test_made_up_backward_snippet_still_judged_as_the_gradient(tmp_path: Path) -> None:
    # the gradient of the Huber loss is returned: not read as the forward value
    pc = _checker(tmp_path, HUBER)
    r = pc.check("return np.where(np.abs(r) <= k, r, k * np.sign(r))")
    assert r.verdict == "correct", r
    assert r.quantity == "dr"
    # a wrong gradient stays a gradient's verdict (no forward mistake explains it)
    r = pc.check("return np.where(np.abs(r) <= k, r, np.sign(r))")
    assert r.verdict == "incorrect" and r.quantity == "dr", r


def test_made_up_scalar_without_a_loss_is_refused(tmp_path: Path) -> None:
    spec = BLOCK.split("[loss]")[0] + '[backward]\nupstream = "dy"\n'
    with pytest.raises(FormulaError):
        _checker(tmp_path, spec).check("return np.sum(x)")


def test_tf_where_keywords_put_in_place() -> None:
    notes: list[str] = []
    line = as_numpy(
        "h = tf.where(condition=(tf.abs(d) < config.c), x=(0.5 * a), y=(tf.abs(d) - 0.5))",
        lambda name: name == "c",
        notes,
    )
    assert line == "h = np.where((np.abs(d) < c), (0.5 * a), (np.abs(d) - 0.5))"
    assert any("tf.where as np.where" in n for n in notes)
    assert any("config.c as the program's c" in n for n in notes)
    # a hyperparameter the program does not have, and a function not NumPy's, are left
    assert as_numpy("z = config.other + tf.reduce_sum(a)", lambda n: False, []) == (
        "z = config.other + tf.reduce_sum(a)"
    )
    # torch's keyword names; a keyword where() does not have is left to the grammar
    assert as_numpy("z = torch.where(m, other=b, input=a)", lambda n: False, []) == (
        "z = np.where(m, a, b)"
    )
    assert as_numpy("z = tf.where(m, a, b, foo=1)", lambda n: False, []) == (
        "z = tf.where(m, a, b, foo=1)"
    )


def test_module_called_is_its_forward() -> None:
    notes: list[str] = []
    layers = {"conv1": frozenset(), "norm1": frozenset({"c1", "gamma", "beta"})}
    assert as_numpy("o = self.conv1(x)", lambda n: False, notes, layers) == (
        "o = self.conv1.forward(x)"
    )
    # the norm's gamma and beta are the program's own, which its step reads: dropped
    assert as_numpy("o = self.norm1(o, gamma, beta)", lambda n: False, notes, layers) == (
        "o = self.norm1.forward(o)"
    )
    # an argument the step does not read is not dropped (the grammar refuses the call)
    assert "w2" in as_numpy("o = self.norm1(o, w2)", lambda n: False, [], layers)
    assert as_numpy("o = self.relu(o)", lambda n: False, [], layers) == "o = self.relu(o)"


# --------------------------------------------------------------------------- real entries

REAL = {
    "huber-marl-onpolicy-loss-bug": ("incorrect", ("branch condition differs", "abs")),
    "huber-marl-onpolicy-loss-fixed": ("correct", ()),
    "huber-tensorforce-qmodel-loss": ("incorrect", ("one branch differs",)),
    "huber-mlglossary-code": ("correct", ()),
    "huber-tinynn-loss": ("correct", ()),
    "res-ugatit-block-no-skip": ("incorrect", ("a term is missing: + x", "skip connection")),
    "res-ugatit-block-fixed": ("correct", ()),
}


@pytest.mark.parametrize("entry_id", sorted(REAL))
def test_real_forward_entries(entry_id: str) -> None:
    entry = next(e for _, e in LAYER_ENTRIES if e["id"] == entry_id)
    verdict, words = REAL[entry_id]
    assert entry["verdict"] == verdict
    r = ProgramChecker(load_program(str(entry["network"]))).check(str(entry["text"]))
    assert r.verdict == verdict, r
    assert "forward" in r.quantity, r
    for word in words:
        assert word in (r.diagnosis or ""), r


# --------------------------------------------------------------------------- what is handed back

# Made up: a batch-norm-like layer with an upstream gradient (a layer's backward pass).
SCALE = """
name = "scale_made_up"
convention = "row"
[inputs]
x = ["N", "D"]
[parameters]
gamma = [1, "D"]
beta = [1, "D"]
[forward]
equations = '''
out = gamma * x + beta
'''
[backward]
upstream = "grad"
"""


def test_made_up_returned_value_is_the_gradient_not_assigned(tmp_path: Path) -> None:
    pc = _checker(tmp_path, SCALE)
    body = (
        "self.gamma_grad = np.sum(grad * x, axis=0, keepdims=True)\n"
        "self.beta_grad = np.sum(grad, axis=0, keepdims=True)\n"
    )
    r = pc.check(body + "return grad * self.gamma")
    assert r.verdict == "correct" and "dx" in r.quantity, r
    assert any("returns as dx" in n for n in r.notes)
    r = pc.check(body + "return grad")  # gamma missing from dx: judged, not ignored
    assert r.verdict == "incorrect" and "dx" in r.quantity, r


def test_made_up_layer_backward_returns_its_inputs_gradient(tmp_path: Path) -> None:
    pc = _checker(tmp_path, SCALE)
    assert pc.check("return grad * gamma").verdict == "correct"
    # the upstream's own variable assigned last, no return (ML-From-Scratch's accum_grad)
    r = pc.check("grad = grad * gamma")
    assert r.verdict == "correct" and r.quantity == "dx", r
    assert any("the value passed back" in n for n in r.notes)
    assert pc.check("grad = grad * gamma * 2").verdict == "incorrect"


# Made up: layer norm written as batch norm on the transpose, a cache unpacked by place.
LN_T = """
name = "ln_t_made_up"
convention = "row"
[inputs]
x = ["N", "D"]
[parameters]
gamma = [1, "D"]
beta = [1, "D"]
[forward]
equations = '''
xt = x.T
mu = mean(xt, axis=0)
xc = xt - mu
out_t = gamma.T * xc + beta.T
out = out_t.T
'''
[backward]
upstream = "dout"
cache = ["xc", "gamma"]
"""


def test_made_up_one_d_sum_is_compared_as_the_row(tmp_path: Path) -> None:
    pc = _checker(tmp_path, LN_T)
    # dbeta = np.sum(dout.T, axis=1) is NumPy's 1-d (D,): the entries of the 1 x D row
    r = pc.check("(x_c, g) = cache\ndbeta = np.sum(np.transpose(dout, (1, 0)), axis=1)")
    assert r.verdict == "correct", r
    r = pc.check("(x_c, g) = cache\ndgamma = np.sum(dout.T * x_c, axis=1)")
    assert r.verdict == "correct", r
    r = pc.check("(x_c, g) = cache\ndgamma = np.sum(dout.T, axis=1)")
    assert r.verdict == "incorrect", r
    # kept as a column where it is used beside a matrix (NumPy broadcasts it as a row)
    r = pc.check("dx = dout - np.sum(dout, axis=1)")
    assert r.verdict == "incorrect" and "keepdims" in (r.shape_error or ""), r


def test_parenthesised_targets_and_swapped_axes() -> None:
    assert as_numpy("(a, b) = cache", lambda n: False, []) == "a, b = cache"
    assert as_numpy("y = np.transpose(z, (1, 0))", lambda n: False, []) == "y = np.transpose(z)"
    assert as_numpy("y = np.transpose(z, (0, 1))", lambda n: False, []) == (
        "y = np.transpose(z, (0, 1))"
    )


def test_made_up_gradient_with_an_abs_missing_in_its_condition(tmp_path: Path) -> None:
    # the backward diagnosis finds no usual mistake: the branch condition is named
    pc = _checker(tmp_path, HUBER)
    r = pc.check("return np.where(r <= k, r, k * np.sign(r))")
    assert r.verdict == "incorrect" and r.quantity == "dr", r
    assert "branch condition differs" in (r.diagnosis or "") and "abs" in (r.diagnosis or "")
    r = pc.check("return np.where(np.abs(r) >= k, r, k * np.sign(r))")
    assert "the other way round" in (r.diagnosis or ""), r


# --------------------------------------------------------------------------- a network's loss


def _net_check(network: str, formula: str, syntax: str = "python") -> object:
    from test_corpus_file import load

    from derive.formula.check import Checker

    return Checker(load(network)).check(formula, syntax)


def test_made_up_network_loss_in_numpy() -> None:
    # the seed network's loss is (1/(2m)) ‖A₃ − Y‖²
    r = _net_check("seed", "loss = np.sum((A3 - Y)**2) / (2*m)")
    assert r.verdict == "correct" and r.quantity.startswith("L"), r  # type: ignore[attr-defined]
    r = _net_check("seed", "cost = np.sum((A3 - Y)**2) / m")
    assert r.verdict == "incorrect", r  # type: ignore[attr-defined]
    assert "factor 1/2" in (r.diagnosis or ""), r  # type: ignore[attr-defined]


def test_real_ng_regularization_cost() -> None:
    entry = next(e for _, e in ENTRIES if e["id"] == "ng-c2w1-reg-cost")
    r = _net_check(str(entry["network"]), str(entry["text"]))
    assert r.verdict == entry["verdict"] == "correct", r  # type: ignore[attr-defined]
    assert r.quantity.startswith("R"), r  # type: ignore[attr-defined]
    # made up from it: the 1/2 left out
    wrong = str(entry["text"]).replace("(2 * m)", "m")
    r = _net_check(str(entry["network"]), wrong)
    assert r.verdict == "incorrect", r  # type: ignore[attr-defined]


def test_a_loss_in_latex_is_refused() -> None:
    with pytest.raises(FormulaError, match="not judged yet"):
        _net_check(
            "ng", r"J = -\frac{1}{m} \sum (Y \odot \log A_2 + (1-Y) \odot \log(1-A_2))", "latex"
        )


def test_made_up_loss_differing_without_a_usual_slip(tmp_path: Path) -> None:
    r = _checker(tmp_path, HUBER).check("return np.sum(r ** 3)")
    assert r.verdict == "incorrect" and r.quantity.startswith("loss L"), r
    assert "no usual forward slip" in (r.diagnosis or ""), r
