"""Output files: written only where the user said, never over an existing file without
--force, never through a dangling symbolic link."""

from __future__ import annotations

import os
import sys

from derive.cli.errors import UserError
from derive.spec import printable


def write_output(path: str, text: str, force: bool) -> None:
    """Write ``text`` to ``path``; never overwrite an existing file without --force.

    The file is opened exclusively (``"x"``) unless --force, so nothing created between a
    check and the write is lost, and a dangling symbolic link is never followed (it would
    create a file somewhere else).
    """
    if path == "":
        raise UserError("the output path is empty: give a file name, or - for standard output")
    shown = printable(path)
    try:
        os.fsencode(path)
        if os.path.isdir(path):
            raise UserError(f"{shown}: is a directory")
        if os.path.islink(path) and not os.path.exists(path):
            target = printable(os.readlink(path))
            raise UserError(
                f"{shown}: a symbolic link to {target}, which does not exist; "
                "not following it (write to the target itself)"
            )
        with open(path, "w" if force else "x", encoding="utf-8") as out:
            out.write(text)
    except FileExistsError:
        raise UserError(f"{shown}: exists; pass --force to overwrite it") from None
    except IsADirectoryError:
        raise UserError(f"{shown}: is a directory") from None
    except FileNotFoundError:
        parent = printable(os.path.dirname(path) or ".")
        raise UserError(f"{shown}: directory {parent} does not exist") from None
    except OSError as err:  # too long, no permission, read-only file system, …
        raise UserError(f"{shown}: cannot write: {err.strerror or err}") from None
    except ValueError:  # a NUL byte, or a name that is not valid in the file system encoding
        raise UserError(f"{shown}: not a usable file name") from None


def emit(text: str, output: str | None, force: bool) -> None:
    """A command's document: on standard output (no ``-o``, or ``-o -``), else written to
    the file with a ``wrote FILE`` line on standard error."""
    if output is None or output == "-":
        sys.stdout.write(text)
    else:
        write_output(output, text, force)
        print(f"wrote {printable(output)}", file=sys.stderr)
