"""Every node class has everything its role needs; a failure names exactly what is missing.

Adding a node is a guided edit: give it a ``role`` (see ``derive.core.nodes.ROLES``), and this
test lists the rule, evaluator entries and printer methods it still lacks.
"""

from __future__ import annotations

import inspect

import pytest
import sympy
from sympy.matrices.expressions import HadamardProduct, MatAdd, MatMul, Transpose

import derive.core.derivation
import derive.core.nodes
import derive.formula.nodes
from derive.core import (
    block_nodes,
    conv_nodes,
    function_nodes,
    layer_nodes,
    numeric,
    reduce_nodes,
    rules,
    steps,
    tensor_nodes,
)
from derive.extend import requirements
from derive.oracles import explicit

ABSTRACT = {
    derive.core.nodes.TensorExpr,
    derive.core.nodes.ScalarOfMatrices,
    derive.core.nodes.ProbsVersusTargets,
    derive.core.nodes.ElementwiseOf,
    derive.core.derivation.PartialOf,
}
#: SymPy's own classes that forward programs use as primitives.
SYMPY_PRIMITIVES = [MatAdd, MatMul, Transpose, HadamardProduct, sympy.Add, sympy.Mul]


def our_nodes() -> list[type]:
    """Concrete node classes defined by derive (abstract bases have no role); the core's
    nodes are defined in the modules ``derive.core.nodes`` re-exports, the partials in
    ``derive.core.steps`` (``derive.core.derivation`` re-exports them)."""
    out = []
    core = (layer_nodes, function_nodes, reduce_nodes, block_nodes, tensor_nodes, conv_nodes)
    for module in (*core, steps, derive.core.derivation, derive.formula.nodes):
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and issubclass(cls, sympy.Basic):
                out.append(cls)
    return out


@pytest.mark.parametrize(
    "cls", [c for c in our_nodes() if c not in ABSTRACT], ids=lambda c: c.__name__
)
def test_every_node_has_what_its_role_needs(cls: type) -> None:
    missing = [what for what, ok in requirements(cls).items() if not ok]
    assert not missing, f"{cls.__name__} ({getattr(cls, 'role', 'no role')}) lacks: " + (
        "; ".join(missing)
    )


@pytest.mark.parametrize("cls", SYMPY_PRIMITIVES, ids=lambda c: c.__name__)
def test_sympy_primitives_have_rules_and_evaluators(cls: type) -> None:
    assert cls in rules.RULES, f"{cls.__name__}: no rule"
    assert cls in numeric.EVAL or cls in (sympy.Add, sympy.Mul), f"{cls.__name__}: no evaluator"
    assert cls in explicit.EVAL, f"{cls.__name__}: no explicit-oracle evaluator"


def test_only_primitives_have_rules() -> None:
    """A backward node is never differentiated: a rule for it would be dead code."""
    ours = {c for c in rules.RULES if c.__module__.startswith("derive.")}
    assert {c for c in ours if getattr(c, "role", None) != "primitive"} == set()


def test_the_coverage_test_names_what_a_new_node_lacks() -> None:
    """A toy primitive with nothing registered: every requirement is reported."""

    class Toy(derive.core.nodes.TensorExpr):
        role = "primitive"

    missing = [what for what, ok in requirements(Toy).items() if not ok]
    assert len(missing) == 6 and missing[0] == "a rule in rules.RULES"
