"""What is a user's mistake (exit code 2, one line) and how it is reported: one
``derive: error: …`` line, or a JSON record for a script that asked for JSON."""

from __future__ import annotations

import argparse
import json
import sys

from derive.spec import SpecError
from derive.spec.notation import NotationError
from derive.spec.scalar_expr import ScalarExprError


def user_errors() -> tuple[type[Exception], ...]:
    """The exceptions that are a user's mistake (exit code 2, one line), not a crash."""
    from derive.export import ExportError
    from derive.formula.parse import FormulaError

    return (SpecError, ExportError, ScalarExprError, NotationError, FormulaError, UserError)


class UserError(Exception):
    """A mistake in the command line itself (existing output file, unwritable path)."""


def error_record(err: Exception) -> dict[str, object]:
    """``{"verdict": "error", "error": message, ...}`` plus where the error is, when known."""
    record: dict[str, object] = {"verdict": "error", "error": str(err)}
    for field in ("source", "line", "key", "column"):
        value = getattr(err, field, None)
        if value not in (None, ""):
            record[field] = value
    return record


def run(args: argparse.Namespace) -> int:
    """One command; a user mistake is one line (or a JSON record) and exit code 2."""
    try:
        return int(args.run(args))
    except user_errors() as err:
        if getattr(args, "json", False):
            # a script that asked for JSON gets JSON for a mistake too
            print(json.dumps(error_record(err), indent=2, ensure_ascii=False))
        else:
            print(f"derive: error: {err}", file=sys.stderr)
        return 2
