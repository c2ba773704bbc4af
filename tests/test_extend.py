"""``derive.extend``: trial registrations undone, derive's own kept."""

from __future__ import annotations


def test_scratch_registries_keeps_what_derive_registers_on_first_import() -> None:
    # In a new process: the checker's conv nodes are registered in numeric.EVAL when
    # derive.formula.nodes is first imported; imported inside scratch_registries (as a
    # docs example first checking a formula does), they were removed on exit, and every
    # later CNN check in the process could not evaluate them (docs/cnn.md's check then
    # exited 2 when test_docs.py ran alone).
    import subprocess
    import sys

    code = (
        "from derive.extend import scratch_registries\n"
        "from derive.core import numeric\n"
        "with scratch_registries():\n"
        "    from derive.formula.nodes import Rot180\n"
        "assert Rot180 in numeric.EVAL\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
