"""The command line: parse arguments, call the API, map user mistakes to exit code 2.

One module per part: ``parser`` (the arguments), the commands (``documents``: show, latex,
expr; ``check`` and ``check_program``; ``numeric``: export, verify), ``subject`` (what a
command works on), ``output`` (files, never overwritten without --force) and ``errors``
(what is a user's mistake, and how it is reported).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from derive.cli.check import cmd_check
from derive.cli.documents import cmd_expr, cmd_latex, cmd_show
from derive.cli.errors import UserError, error_record, run, user_errors
from derive.cli.numeric import cmd_export, cmd_verify
from derive.cli.output import write_output
from derive.cli.parser import BACKENDS, build_parser

# The API, the exporters, the oracles and the checker are imported by the commands that
# use them, not here: each costs import time at every start, and ``derive check`` (whose
# end-to-end time is a target, docs/benchmarks.md) needs only the checker.

__all__ = [
    "BACKENDS",
    "UserError",
    "build_parser",
    "cmd_check",
    "cmd_export",
    "cmd_expr",
    "cmd_latex",
    "cmd_show",
    "cmd_verify",
    "error_record",
    "main",
    "user_errors",
    "write_output",
]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; user mistakes are one line and exit code 2."""
    try:
        code = run(build_parser().parse_args(argv))
        sys.stdout.flush()  # a closed pipe shows here, not at exit with a traceback
    except BrokenPipeError:
        # `derive show seed | head -1`: the reader is gone. Python's "Note on SIGPIPE"
        # (library/signal): send what is still buffered to devnull, so that the flush at
        # exit does not fail again. The status is the shell's for a SIGPIPE (128 + 13),
        # not the note's 1: derive's 1 means "incorrect" to a grader, 2 a user mistake.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    return code
