"""Count the public functions of each package of ``derive`` and those without a docstring.

Issue 12 asks for a docstring on every public function; this is the measure, before and
after, and ``tests/test_docstrings.py`` holds the packages that are done to zero. Public
means: a module-level function, or a method of a public class (nested public classes
included), whose name does not start with ``_`` (so dunders and SymPy's ``_print_X`` hooks
are private). Functions nested inside functions are local helpers, not API.

``python scripts/docstring_count.py`` prints one line per package; ``--missing`` also lists
each function without a docstring as ``path:line name``.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "derive"
#: The sub-packages and top-level modules that are counted apart (the rest is "derive").
UNITS = ["spec", "core", "render", "export", "oracles", "formula", "cli", "testing", "api"]

FunctionDef = ast.FunctionDef | ast.AsyncFunctionDef


def unit_of(path: Path, root: Path = ROOT) -> str:
    """The package (or top-level module) a file belongs to, as UNITS names it."""
    rel = path.relative_to(root)
    head = rel.parts[0].removesuffix(".py")
    return head if head in UNITS else "derive"


def public_functions(tree: ast.Module) -> Iterator[FunctionDef]:
    """The module's public functions and the public methods of its public classes."""

    def walk(body: list[ast.stmt]) -> Iterator[FunctionDef]:
        for node in body:
            if isinstance(node, FunctionDef) and not node.name.startswith("_"):
                yield node
            elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                yield from walk(node.body)

    return walk(tree.body)


def count(root: Path = ROOT) -> dict[str, tuple[int, list[str]]]:
    """Per unit: how many public functions, and ``path:line name`` of those without a docstring."""
    result: dict[str, tuple[int, list[str]]] = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        unit = unit_of(path, root)
        total, missing = result.get(unit, (0, []))
        for fn in public_functions(tree):
            total += 1
            if ast.get_docstring(fn) is None:
                missing.append(f"{path.relative_to(root.parent)}:{fn.lineno} {fn.name}")
        result[unit] = (total, missing)
    return result


def main(argv: list[str]) -> int:
    """Print the table (and with ``--missing`` every undocumented function)."""
    counts = count()
    units = [u for u in [*UNITS, "derive"] if u in counts]
    print(f"{'package':<10} {'public':>6} {'no docstring':>12}")
    for unit in units:
        total, missing = counts[unit]
        print(f"{unit:<10} {total:>6} {len(missing):>12}")
    print(
        f"{'total':<10} {sum(counts[u][0] for u in units):>6}"
        f" {sum(len(counts[u][1]) for u in units):>12}"
    )
    if "--missing" in argv:
        for unit in units:
            for line in counts[unit][1]:
                print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
