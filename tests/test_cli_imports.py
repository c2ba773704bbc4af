"""``derive check`` on a network imports only what checking needs (issue 13: end to end
under 1.5 s, most of which is import time): not the exporters, the oracles, the forward
programs or the API object, and it does not derive the network twice."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from derive import cli
from derive.export import BACKENDS

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json, sys
from derive.cli import main
code = main(["check", "seed", sys.argv[1]])
names = sorted(m for m in sys.modules if m.startswith("derive"))
print(json.dumps({"code": code, "modules": names}))
"""


def _modules_after_check(formula: str) -> tuple[int, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, formula],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
    )
    record = json.loads(done.stdout.strip().splitlines()[-1])
    return record["code"], record["modules"]


def test_check_imports_only_the_checker() -> None:
    code, modules = _modules_after_check(r"\delta_1 = (W_2^T \delta_2) \odot f'(Z_1)")
    assert code == 0
    assert "derive.formula.check" in modules
    for heavy in ("derive.export", "derive.programs", "derive.oracles.verify", "derive.api"):
        assert heavy not in modules, heavy


def test_a_wrong_formula_still_exits_1_and_an_unreadable_one_2() -> None:
    assert _modules_after_check(r"\delta_1 = W_2^T \delta_2")[0] == 1
    code = subprocess.run(
        [sys.executable, "-m", "derive", "check", "seed", r"\delta_1 = \frob{"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
    )
    assert code.returncode == 2
    assert code.stderr.startswith("derive: error:")
    assert "Traceback" not in code.stderr


def test_backends_of_the_command_line_are_the_exporters() -> None:
    assert cli.BACKENDS == BACKENDS


def test_lazy_package_names() -> None:
    import derive

    assert derive.derive("seed").network.name
    assert set(derive.__all__) <= set(dir(derive))
    try:
        derive.no_such_name  # noqa: B018
    except AttributeError as err:
        assert "no_such_name" in str(err)
    else:  # pragma: no cover
        raise AssertionError("an unknown name must be an AttributeError")
