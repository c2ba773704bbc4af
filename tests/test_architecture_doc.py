"""docs/architecture.md's "how to add a primitive / a layer type" runs as written.

The page's Python blocks are executed in order, in one namespace, inside
``derive.extend.scratch_registries`` (so the toy node and layer leave nothing behind); the
``text`` block after them is what the example prints.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from derive.core import graph, numeric, rules
from derive.extend import missing, scratch_registries
from derive.oracles import explicit
from derive.render.text import TextPrinter
from derive.spec import LAYER_TYPES

DOC = (Path(__file__).parent.parent / "docs" / "architecture.md").read_text("utf-8")
HOWTO = DOC[DOC.index("## How to add a primitive") :]
BLOCKS = re.findall(r"```python\n(.*?)```", HOWTO, re.S)
PRINTED = re.findall(r"```text\n(.*?)```", HOWTO, re.S)


def run_howto() -> tuple[dict[str, object], str]:
    namespace: dict[str, object] = {"__name__": "architecture_doc"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for block in BLOCKS:
            exec(compile(block, "docs/architecture.md", "exec"), namespace)  # our own docs
    return namespace, out.getvalue()


def test_the_page_has_the_two_worked_examples() -> None:
    assert len(BLOCKS) == 2 and len(PRINTED) == 1


def test_the_worked_examples_run_and_print_what_the_page_says() -> None:
    with scratch_registries():
        namespace, printed = run_howto()
        square = namespace["Square"]
        assert missing(square) == []  # type: ignore[arg-type]
        assert square in rules.RULES and "square" in LAYER_TYPES
    assert printed == PRINTED[0]


def test_scratch_registries_leave_nothing_behind() -> None:
    before = [
        dict(t) for t in (rules.RULES, numeric.EVAL, explicit.EVAL, LAYER_TYPES, graph.LAYERS)
    ]
    with scratch_registries():
        run_howto()
    after = [dict(t) for t in (rules.RULES, numeric.EVAL, explicit.EVAL, LAYER_TYPES, graph.LAYERS)]
    assert before == after
    assert not hasattr(TextPrinter, "_print_Square")


@pytest.mark.parametrize("table", ["rule", "printer"])
def test_a_node_missing_an_entry_is_named(table: str) -> None:
    """Leave one registration out of the worked example: ``missing`` names exactly it."""
    with scratch_registries():
        namespace, _ = run_howto()
        square = namespace["Square"]
        if table == "rule":
            del rules.RULES[square]  # type: ignore[arg-type]
            assert missing(square) == ["a rule in rules.RULES"]  # type: ignore[arg-type]
        else:
            del TextPrinter._print_Square  # type: ignore[attr-defined]
            assert missing(square) == ["_print_ in text.TextPrinter"]  # type: ignore[arg-type]
