"""Python that solutions of CS231n's batch norm write around the maths, read on a program.

A one-line helper (``S = lambda x: x.sum(axis=0)``, ``def S(x): return x.sum(axis=0)``)
written out where it is called; NumPy's positional axis (``x.sum(axis)``, ``np.sum(x, 0)``);
a reshape to a shape the forward cached (``dout.reshape(shape, order='F')`` with
``shape = (N, D)``), which moves no entry. The program and the snippets are made up for
these tests in the spelling of mantasu/cs231n's batchnorm_backward(_alt); the real entries
are in tests/corpus/layers/batchnorm.toml.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.formula.ir import FormulaError
from derive.programs import ProgramDerivation, derive_program
from derive.spec.program_grammar import EquationError, parse_assign
from derive.spec.values import SpecError

BN = """
name = "bn"
convention = "row"
[inputs]
x = ["N", "D"]
[parameters]
gamma = [1, "D"]
beta = [1, "D"]
[hyperparameters]
eps = "epsilon"
bnaxis = 0
[forward]
equations = '''
mu = mean(x, axis=0)
var = mean((x - mu) ** 2, axis=0)
std = sqrt(var + eps)
x_hat = (x - mu) / std
out = gamma * x_hat + beta
'''
[backward]
upstream = "dout"
cache = ["x", "mu", "var", "std", "gamma", "x_hat", "x.shape", "bnaxis"]
"""

ALT = """\
_, _, _, std, gamma, x_hat, shape, axis = cache
S = lambda x: x.sum(axis=0)
dbeta = dout.reshape(shape, order='F').sum(axis)
dgamma = (dout * x_hat).reshape(shape, order='F').sum(axis)
dx = dout * gamma / (len(dout) * std)
dx = len(dout)*dx  - S(dx*x_hat)*x_hat - S(dx)
return dx, dgamma, dbeta
"""


@pytest.fixture(scope="module")
def bn(tmp_path_factory: pytest.TempPathFactory) -> ProgramDerivation:
    path = tmp_path_factory.mktemp("bn") / "bn.toml"
    path.write_text(BN, "utf-8")
    return derive_program(path)


def test_the_alt_backward_reads_as_written(bn: ProgramDerivation) -> None:
    """The lambda, the positional axis from the cache and the reshape to x's own shape:
    CORRECT, each reading said (before: 'a lambda … is not read')."""
    r = bn.check(ALT)
    assert r.correct, r
    said = " ".join(r.notes)
    assert "S(…) as its line 2's body" in said and "shape is its own shape" in said


def test_a_wrong_sign_inside_a_helper_call_is_named(bn: ProgramDerivation) -> None:
    r = bn.check(ALT.replace("- S(dx)", "+ S(dx)"))
    assert r.verdict == "incorrect" and "sign" in (r.diagnosis or "")


def test_a_one_line_def_is_a_helper_too(bn: ProgramDerivation) -> None:
    text = ALT.replace("S = lambda x: x.sum(axis=0)", "def S(x): return x.sum(axis=0)")
    assert bn.check(text).correct


def test_a_helper_keeps_its_arguments_precedence(bn: ProgramDerivation) -> None:
    """``S(a - b)`` is ``(a - b).sum(axis=0)``, not ``a - b.sum(axis=0)``: the argument
    is written in parentheses (a helper over a difference, judged right and wrong)."""
    right = "S = lambda v: v.sum(axis=0)\ndbeta = S(dout - 0 * dout)"
    assert bn.check(right).correct
    assert bn.check(right.replace("0 * dout", "dout / 2")).verdict == "incorrect"


def test_a_helper_called_with_two_arguments_is_refused(bn: ProgramDerivation) -> None:
    with pytest.raises(FormulaError, match="takes one argument"):
        bn.check("S = lambda v: v.sum(axis=0)\ndbeta = S(dout, 1)")


def test_the_positional_axis_is_numpys(bn: ProgramDerivation) -> None:
    """``np.sum(x, 0)`` sums the rows and ``x.sum(1)`` the columns (both were 'takes 1
    argument, got 2'); the wrong axis is a shape the checker names."""
    assert bn.check("dbeta = np.sum(dout, 0)").correct
    assert bn.check("dbeta = dout.sum(0)").correct
    wrong = bn.check("dbeta = dout.sum(1)")
    assert wrong.verdict == "incorrect" and wrong.shape_error


def test_pythons_max_of_two_is_not_an_axis(bn: ProgramDerivation) -> None:
    """``max(0, x)`` is Python's max, not np.max over axis x: still refused as before."""
    with pytest.raises(FormulaError, match="max"):
        bn.check("dbeta = max(0, dout)")


def test_a_reshape_that_changes_the_shape_is_not_read(bn: ProgramDerivation) -> None:
    """``dout.T.reshape(shape, order='F')`` would move entries (F order): no verdict."""
    text = (
        "_, _, _, std, gamma, x_hat, shape, axis = cache\n"
        "dbeta = dout.T.reshape(shape, order='F').sum(1)"
    )
    with pytest.raises(FormulaError, match="changes the shape"):
        bn.check(text)


def test_a_shape_the_program_does_not_cache_cannot_be_told(tmp_path: Path) -> None:
    path = tmp_path / "bn.toml"
    path.write_text(BN.replace('"x.shape"', '"shape"'), "utf-8")
    d = derive_program(path)
    with pytest.raises(FormulaError, match="cannot tell which shape shape holds"):
        d.check(ALT)


def test_a_cached_shape_is_only_for_reshape(bn: ProgramDerivation) -> None:
    with pytest.raises(FormulaError, match="unknown name 'shape'"):
        bn.check("_, _, _, std, gamma, x_hat, shape, axis = cache\ndbeta = shape + dout")


def test_a_programs_equation_does_not_reshape_to_a_name() -> None:
    with pytest.raises(EquationError, match="only in a checked snippet"):
        parse_assign("y = x.reshape(shape)")


def test_a_cached_shape_names_a_program_value(tmp_path: Path) -> None:
    path = tmp_path / "bn.toml"
    path.write_text(BN.replace('"x.shape"', '"2x.shape"'), "utf-8")
    with pytest.raises(SpecError):
        derive_program(path)
