"""The closed forms the walk derives, checked against the textbook identities."""

from __future__ import annotations

import pytest
import sympy
from sympy.matrices.expressions import HadamardProduct, MatrixSymbol, OneMatrix

from derive import Activation, Loss, Network, dense, derive
from derive.core.derivation import Derivation
from derive.core.graph import L_INDEX
from derive.core.nodes import Elementwise
from derive.core.rules import MissingRule, vjp
from derive.oracles.explicit import evaluate, explicit_network


def sym(d: Derivation, name: str) -> MatrixSymbol:
    """The derivation's own symbol called ``name`` (parameters, Z, A, deltas)."""
    for eq in d.program.equations:
        if getattr(eq.out, "name", None) == name:
            return eq.out
    for p in [*d.program.params, *d.program.inputs]:
        if p.name == name:
            return p
    for step in d.deltas.values():
        if step.lhs.name == name:
            return step.lhs
    raise KeyError(name)


def fprime(d: Derivation, z: str) -> Elementwise:
    a_eq = next(
        eq for eq in d.program.equations if eq.kind == "activation" and eq.rhs.arg.name == z
    )
    return a_eq.rhs.derivative()


@pytest.mark.parametrize("convention", ["column", "row"])
def test_nielsen_recurrence_and_gradients(convention: str) -> None:
    d = derive(derive("nielsen").network.with_(convention=convention))
    W2, d2, d1, A1, X = (sym(d, n) for n in ("W_2", "delta_2", "delta_1", "A_1", "X"))
    m = d.program.batch
    if convention == "column":
        assert d.delta(1).rhs == HadamardProduct(W2.T * d2, fprime(d, "Z_1"))
        assert d.grad("W_2").rhs == d2 * A1.T
        assert d.grad("W_1").rhs == d1 * X.T
        assert d.grad("b_1").rhs == d1 * OneMatrix(m, 1)
    else:
        assert d.delta(1).rhs == HadamardProduct(d2 * W2.T, fprime(d, "Z_1"))
        assert d.grad("W_2").rhs == A1.T * d2
        assert d.grad("b_1").rhs == OneMatrix(1, m) * d1


def test_mean_loss_puts_one_over_m_in_the_gradient_not_the_per_sample_delta() -> None:
    d = derive("seed")
    m = d.program.batch
    A3, Y, d3, A2 = (sym(d, n) for n in ("A_3", "Y", "delta_3", "A_2"))
    assert d.delta(3).rhs == A3 - Y
    assert d.grad("W_3").rhs == (1 / m) * d3 * A2.T
    mean = derive(d.network.with_(delta="mean"))
    assert mean.delta(3).rhs == (1 / m) * (A3 - Y)
    assert mean.grad("W_3").rhs == sym(mean, "delta_3") * A2.T


def test_weight_decay_adds_lambda_over_m_w() -> None:
    net = dense([2, 3, 1], ["tanh", "sigmoid"], Loss("binary_cross_entropy", weight_decay="lambda"))
    d = derive(net)
    lam = sympy.Symbol("lambda", real=True, positive=True)
    m = d.program.batch
    W1, d1, X = sym(d, "W_1"), sym(d, "delta_1"), sym(d, "X")
    assert d.grad("W_1").rhs == (1 / m) * d1 * X.T + (lam / m) * W1
    # the bias is not decayed
    assert not d.grad("b_1").rhs.has(lam)


def test_fused_softmax_cross_entropy_gives_a_minus_y() -> None:
    d = derive("cs231n")
    A2, Y = sym(d, "A_2"), sym(d, "Y")
    assert d.delta(2).rhs == (1 / d.program.batch) * (A2 - Y)


def test_unfused_softmax_rule_used_under_squared_error() -> None:
    d = derive(dense([2, 3], ["softmax"], Loss("squared_error", "sum")))
    assert d.delta(1).rhs.has(OneMatrix(3, 3))  # the 1 1^T (A ⊙ G) term of the softmax VJP


def test_generic_recurrence_is_derived_with_a_symbolic_index() -> None:
    d = derive("nielsen")
    g = d.generic
    assert g is not None
    names = {s.name for s in g.delta.rhs.atoms(MatrixSymbol)}
    assert names == {"W_{l+1}", "delta_{l+1}", "Z_l"}
    assert g.delta.layer == L_INDEX


@pytest.mark.parametrize("spec", ["seed", "nielsen", "ng", "cs231n"])
def test_generic_recurrence_instantiates_to_every_hidden_layer(spec: str) -> None:
    d = derive(spec)
    assert d.generic is not None
    for k in range(1, d.depth):
        assert d.instantiate(d.generic.delta.rhs, k) == d.delta(k).rhs
        assert d.instantiate(d.generic.grad_w.rhs, k) == d.grad(f"W_{k}").rhs
        assert d.instantiate(d.generic.grad_b.rhs, k) == d.grad(f"b_{k}").rhs


@pytest.mark.parametrize("act", ["sigmoid", "tanh", "identity"])
def test_output_form_equals_the_derivative(act: str) -> None:
    d = derive(dense([2, 3, 2], [act, "identity"], "squared_error"))
    ex = explicit_network(d, {"m": 2})
    expr = d.delta(1).rhs
    rewritten = d.through_output(expr)
    assert rewritten != expr or act == "identity"
    env = dict(ex.env)
    env[sym(d, "delta_2")] = evaluate(d.delta(2).rhs, env)
    diff = (evaluate(expr, env) - evaluate(rewritten, env)).applyfunc(sympy.simplify)
    assert diff == sympy.zeros(*diff.shape)


def test_missing_rule_fails_loudly_naming_the_primitive() -> None:
    A = MatrixSymbol("A", 2, 2)
    with pytest.raises(MissingRule, match="no derivative rule for primitive MatPow"):
        vjp(A**3, A)


def test_expression_size_is_linear_in_depth() -> None:
    """Named deltas keep every equation the same size however deep the network."""
    sizes = {}
    for depth in (4, 16, 64):
        d = derive(dense([3] * (depth + 1), "sigmoid", "squared_error"))
        sizes[depth] = sum(sympy.count_ops(st.rhs) for st in d.steps)
    per_layer = {k: v / k for k, v in sizes.items()}
    assert per_layer[64] <= per_layer[4] * 1.1


def test_depth_one_has_no_recurrence() -> None:
    d = derive(dense([2, 1], ["sigmoid"], "binary_cross_entropy"))
    assert d.generic is None
    assert set(d.gradients) == {"W_1", "b_1"}


def test_mixed_hidden_activations_give_a_symbolic_generic_f() -> None:
    d = derive(dense([2, 3, 3, 1], ["tanh", "relu", "identity"], "squared_error"))
    assert d.generic is not None
    (e,) = [n for n in sympy.preorder_traversal(d.generic.delta.rhs) if isinstance(n, Elementwise)]
    assert e.name == "f" and e.order == 1


def test_symbolic_widths_and_batch_come_from_the_spec() -> None:
    d = derive(
        Network(
            "d_in",
            (dense([1, 1], "sigmoid").layers[0].__class__("h", Activation("tanh")),),
            Loss(),
            batch="B",
        )
    )
    W1 = d.program.params[0]
    assert [str(s) for s in W1.shape] == ["h", "d_in"]
    assert str(d.program.batch) == "B"
