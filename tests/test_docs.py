"""The docs cannot rot: their Python runs, their generated blocks are current."""

from __future__ import annotations

import contextlib
import io
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
sys.path.insert(0, str(ROOT / "docs"))


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text("utf-8"), flags=re.S)


@pytest.mark.parametrize("path", [p for p in DOCS if python_blocks(p)], ids=lambda p: p.name)
def test_python_examples_run(path: Path) -> None:
    """A page's blocks run in order in one namespace (a later block may use an earlier
    one's names), with whatever they register undone afterwards."""
    from derive.extend import scratch_registries

    namespace: dict[str, object] = {}
    with scratch_registries(), contextlib.redirect_stdout(io.StringIO()):
        for block in python_blocks(path):
            exec(compile(block, str(path), "exec"), namespace)  # our own docs


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_generated_blocks_are_current(path: Path) -> None:
    from build_docs import render

    text = path.read_text("utf-8")
    assert render(text) == text, f"stale generated block in {path.name}: run docs/build_docs.py"


def test_readme_output_excerpt_is_real() -> None:
    from build_docs import run

    readme = (ROOT / "README.md").read_text("utf-8")
    excerpt = re.search(r"`derive show nielsen`.*?```text\n(.*?)```", readme, flags=re.S)
    assert excerpt
    actual = run("show nielsen")
    for line in excerpt.group(1).splitlines():
        if line.strip() and line.strip() != "…":
            assert line in actual, line
