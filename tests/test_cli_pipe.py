"""A closed pipe (``derive show seed | head -1``) ends the command quietly.

Python's "Note on SIGPIPE" (library/signal): the rest of the output goes to devnull and
the exit status is 141 (128 + SIGPIPE, as a shell reports a process its pipe closed; not
1, which derive uses for "incorrect"); no traceback, no "Exception ignored".
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _into_closed_pipe(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m derive ARGS`` with stdout a pipe whose reader has already gone."""
    read, write = os.pipe()
    os.close(read)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        return subprocess.run(
            [sys.executable, "-m", "derive", *args],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write)


@pytest.mark.parametrize("args", [("show", "seed"), ("latex", "seed"), ("show", "cnn")])
def test_a_closed_pipe_exits_141_without_a_traceback(args: tuple[str, ...]) -> None:
    done = _into_closed_pipe(*args)
    assert done.stderr == ""
    assert done.returncode == 141


def test_head_reads_the_first_line_and_the_command_ends_quietly() -> None:
    """As in a shell: the reader takes one line and closes; the writer ends without noise."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "derive", "show", "seed"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    proc.stderr.close()
    code = proc.wait(timeout=120)
    assert first.startswith(b"seed")
    assert err == b""
    assert code in (0, 1)  # 0 when everything was written before the reader closed
