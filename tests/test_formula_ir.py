"""The checker's typed IR (issue 13 §4): both grammars build the same frozen nodes, and the
walks over them (paths, replace) agree with each other."""

from __future__ import annotations

import dataclasses

import pytest

from derive.formula.ir import IR, Bin, Fn, Num, Partial, Scalar, Sym, T
from derive.formula.ir_walk import at, nodes, replace, shift_layers, show
from derive.formula.layer_indices import IntIndex, RelIndex
from derive.formula.parse import parse

FORMULAS = [
    (r"\delta_1 = (W_2^T \delta_2) \odot \sigma'(Z_1)", "latex"),
    (r"\frac{\partial L}{\partial W_2} = \frac{1}{m} \delta_2 A_1^T", "latex"),
    (r"\delta_l = W_{l+1}^T \delta_{l+1} \odot f'(Z_l)", "latex"),
    ("dZ1 = np.dot(W2.T, dZ2) * sigmoid_prime(Z1)", "python"),
    ("db1 = np.sum(dZ1, axis=1, keepdims=True) / m", "python"),
    ("dZ1 = np.where(Z1 > 0, dA1, 0)", "python"),
]


def test_latex_and_numpy_build_the_same_nodes() -> None:
    """The same formula in both syntaxes is one IR: the consumers are written once."""
    latex = parse(r"\delta_1 = (W_2^T \delta_2) \odot \sigma'(Z_1)")
    numpy = parse("dZ1 = np.dot(W2.T, dZ2) * sigmoid_prime(Z1)", "python", depth=2)
    w2, d2 = Sym("W", IntIndex(2)), Sym("delta", IntIndex(2))
    expected: list[IR] = [
        Sym("delta", IntIndex(1)),
        Bin("had", Bin("mat", T(w2), d2), Fn("sigmoid", 1, Sym("Z", IntIndex(1)))),
    ]
    assert list(latex) == expected
    assert list(numpy) == expected


def test_a_gradient_on_the_left_is_a_partial_node() -> None:
    lhs = parse(r"\frac{\partial L}{\partial W_2} = \delta_2 A_1^T")[0]
    assert lhs == Partial(Sym("W", IntIndex(2)), "L")
    generic = parse(r"\delta_{l} = W_{l+1}^T \delta_{l+1}")[0]
    assert generic == Sym("delta", RelIndex("l", 0))


@pytest.mark.parametrize(("formula", "syntax"), FORMULAS)
def test_nodes_are_frozen_and_hashable(formula: str, syntax: str) -> None:
    for part in parse(formula, syntax, depth=2):
        for _, node in nodes(part):
            hash(node)
            field = dataclasses.fields(node)[0].name
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(node, field, None)


@pytest.mark.parametrize(("formula", "syntax"), FORMULAS)
def test_each_path_leads_to_its_node(formula: str, syntax: str) -> None:
    """``at`` finds the node ``nodes`` yields at a path, and putting a node back where it
    was gives the formula back; putting another there changes only that place."""
    for part in parse(formula, syntax, depth=2):
        walked = list(nodes(part))
        assert walked[0] == ((), part)
        for path, node in walked:
            assert at(part, path) == node
            assert replace(part, path, node) == part
            marked = replace(part, path, Scalar("marker"))
            assert at(marked, path) == Scalar("marker")
            assert sum(1 for _, n in nodes(marked) if n == Scalar("marker")) == 1


def test_an_unbracketed_product_equals_its_bracketed_form() -> None:
    """``bare`` (written without brackets) changes how a ⊙ next to it binds, not the value."""
    a, b = Sym("A", IntIndex(1)), Sym("W", IntIndex(2))
    assert Bin("mat", a, b, bare=True) == Bin("mat", a, b)
    assert hash(Bin("mat", a, b, bare=True)) == hash(Bin("mat", a, b))


def test_renumbering_moves_only_the_numbered_symbols_asked_for() -> None:
    part = parse(r"\delta_1 = W_2^T \delta_2 \odot f'(Z_1)")[1]
    moved = shift_layers(part, -1, frozenset({"delta"}))
    assert show(moved) == show(part).replace("δ_2", "δ_1")
    assert show(moved) != show(part)


def test_a_numeric_node_compares_by_value() -> None:
    """``Num(1)`` written as 1, 1.0 or 10e-1 is one node (an exact Rational)."""
    values = [parse(f"dW1 = {n} * dZ1 @ X.T", "python", depth=1)[1] for n in ("1", "1.0", "10e-1")]
    assert values[0] == values[1] == values[2]
    assert values[0].a.a == Num(1)  # type: ignore[union-attr]
