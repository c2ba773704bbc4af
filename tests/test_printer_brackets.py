"""The NumPy printer's brackets around an operand of ``@`` (issue 13's mutation grid
printed ``W2.T @ delta2 @ 1 - A1**2`` for the product with 1 − A1²), and the output form
of f'(Z) only where A = f(Z) with the same f.

The expressions are made up: products the grid builds by mutating a printed formula
(a ⊙ written as a matrix product), which no derivation prints itself.
"""

from __future__ import annotations

import ast

import pytest
from sympy.matrices.expressions import HadamardProduct, MatMul, MatrixSymbol

from derive import derive
from derive.core.nodes import ElementwiseOf
from derive.export.printers import NumPyCode
from derive.formula.networks import symbolic_network


def _d(name: str = "ng"):
    return derive(symbolic_network(derive(name).network))


def _named(d, name):
    prog = d.program
    found = {p.name: p for p in prog.params}
    found |= {eq.out.name: eq.out for eq in prog.equations if eq.kind != "loss"}
    found |= {st.lhs.name: st.lhs for st in d.deltas.values()}
    return found[name]


def _derivative(d, z: str) -> ElementwiseOf:
    """f'(Z) of the layer whose pre-activation is ``z``, as the derivation writes it."""
    found = [
        e
        for st in d.deltas.values()
        for e in st.rhs.atoms(ElementwiseOf)
        if e.order == 1 and str(e.arg) == z
    ]
    assert found, z
    return found[0]


def _top(code: str) -> ast.expr:
    return ast.parse(code.replace("numpy.", "np."), mode="eval").body


@pytest.mark.parametrize(
    ("network", "z", "at"),
    [("ng", "Z_1", "A_1"), ("nielsen", "Z_1", "A_1")],  # 1 - tanh(A1)**2; σ(−A1)*σ(A1)
)
def test_a_derivative_factor_of_a_matrix_product_is_bracketed(network, z, at) -> None:
    d = _d(network)
    w, delta = _named(d, "W_2"), _named(d, "delta_2")
    f = _derivative(d, z)
    if at is not None:  # f'(A) for f'(Z): printed by the sigmoid's own formula
        f = f.func(f.args[0], f.args[1], _named(d, at), f.args[3])
    expr = MatMul(w.T, delta, f, evaluate=False)
    code = NumPyCode().doprint(d.through_output(expr))
    top = _top(code)
    # the product of three: ((W2.T @ delta2) @ (…)); the last operand is the whole f'
    assert isinstance(top, ast.BinOp) and isinstance(top.op, ast.MatMult), code
    assert isinstance(top.left, ast.BinOp) and isinstance(top.left.op, ast.MatMult), code
    alone = NumPyCode().doprint(d.through_output(f))
    assert ast.unparse(top.right) == ast.unparse(_top(alone)), code


def test_the_output_form_is_used_only_where_the_activation_is_the_same() -> None:
    d = _d()
    tanh_p = _derivative(d, "Z_1")  # layer 1 is tanh, layer 2 the sigmoid output
    at_z2 = tanh_p.func(tanh_p.args[0], tanh_p.args[1], _named(d, "Z_2"), tanh_p.args[3])
    assert d.through_output(at_z2) == at_z2  # tanh'(Z_2) is not 1 − A_2² when A_2 = σ(Z_2)
    assert d.through_output(tanh_p) != tanh_p  # tanh'(Z_1) is 1 − A_1²
    assert _named(d, "A_1") in d.through_output(tanh_p).atoms(MatrixSymbol)


def test_hadamard_operands_keep_their_printing() -> None:
    d = _d()
    w, delta = _named(d, "W_2"), _named(d, "delta_2")
    f = _derivative(d, "Z_1")
    code = NumPyCode().doprint(d.through_output(HadamardProduct(MatMul(w.T, delta), f)))
    assert code == "(W2.T @ delta2) * (1 - A1**2)"
