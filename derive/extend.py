"""Extending derive: what a new node or layer type needs, and a scratch registry to try one.

A node is a SymPy class with a ``role`` (``derive.core.nodes.ROLES``); ``requirements``
lists, for its role, each registry entry it needs and whether it has it (the coverage
test asserts every node has all of them, so adding a node is a guided edit). A layer type
is a spec record, a reader in ``derive.spec.LAYER_TYPES`` and a builder in
``derive.core.graph.LAYERS``. ``scratch_registries`` undoes every registration made inside
it (docs/architecture.md's worked examples run in one).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from derive.core import graph, numeric, rules
from derive.core.nodes import ROLES
from derive.export.printers import ArrayNodes
from derive.oracles import explicit
from derive.render.latex import DeriveLatexPrinter
from derive.render.text import TextPrinter
from derive.spec import LAYER_TYPES

#: The printer classes a node is printed by (text, LaTeX, and code for every backend).
PRINTERS: dict[str, type] = {
    "text.TextPrinter": TextPrinter,
    "latex.DeriveLatexPrinter": DeriveLatexPrinter,
    "export.ArrayNodes (NumPy/JAX/torch code)": ArrayNodes,
}
#: Bases that are not nodes themselves (their subclasses are).
ABSTRACT_NAMES = {
    "TensorExpr",
    "ScalarOfMatrices",
    "ProbsVersusTargets",
    "ElementwiseOf",
    "PartialOf",
}


def printed(printer: type, cls: type) -> bool:
    """A ``_print_`` method for the class or a derive base of it, the way SymPy's printers
    dispatch (SymPy's generic ``_print_Expr`` fallbacks do not count: they print a
    constructor call)."""
    ours = [c for c in cls.__mro__ if c.__module__.startswith("derive.") or c is cls]
    return any(hasattr(printer, f"_print_{c.__name__}") for c in ours)


def requirements(cls: type) -> dict[str, bool]:
    """What a node of ``cls``'s role must have, and whether it has it."""
    role = getattr(cls, "role", None)
    evaluators = {"NumPy evaluator (numeric.EVAL)": cls in numeric.EVAL}
    oracle = {"explicit-oracle evaluator (explicit.EVAL)": cls in explicit.EVAL}
    printers = {f"_print_ in {name}": printed(p, cls) for name, p in PRINTERS.items()}
    text = {k: v for k, v in printers.items() if k.startswith("_print_ in text")}
    latex = {k: v for k, v in printers.items() if k.startswith("_print_ in latex")}
    if role == "primitive":
        return {"a rule in rules.RULES": cls in rules.RULES} | evaluators | oracle | printers
    if role in ("backward", "leaf"):
        return evaluators | oracle | printers
    if role == "reading":
        return evaluators | text
    if role == "lhs":
        return text | latex
    return {f"a role (one of {ROLES} or 'lhs')": False}


def missing(cls: type) -> list[str]:
    """What ``cls`` still lacks (empty when it is complete)."""
    return [what for what, ok in requirements(cls).items() if not ok]


@contextmanager
def scratch_registries() -> Iterator[None]:
    """Every rule, evaluator, printer method, spec layer type and builder registered inside
    is removed on exit, so a trial node or layer leaves derive as it was. The modules that
    register derive's own entries when first imported are imported before the tables are
    saved: imported inside, their entries would be removed on exit with the trial's, and
    lost for the rest of the process (the checker's conv nodes could no longer be
    evaluated, and a CNN formula's diagnosis silently failed)."""
    import derive.formula.nodes  # noqa: F401  (registers Rot180, Slide, … in numeric.EVAL)

    tables: list[dict[Any, Any]] = [
        rules.RULES,
        numeric.EVAL,
        explicit.EVAL,
        LAYER_TYPES,
        graph.LAYERS,
    ]
    saved = [dict(t) for t in tables]
    methods = {p: set(vars(p)) for p in PRINTERS.values()}
    try:
        yield
    finally:
        for table, old in zip(tables, saved):
            table.clear()
            table.update(old)
        for p, names in methods.items():
            for name in set(vars(p)) - names:
                delattr(p, name)
