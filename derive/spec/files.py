"""The files a spec comes from: built-in examples, and a user's file read with bounds.

A user's file is opened only when it is a regular file (a device, a pipe or a socket is
refused before it is opened) and read up to ``MAX_SPEC_BYTES``; a file name is made
printable before it goes into a one-line message.
"""

from __future__ import annotations

import difflib
from importlib import resources

from derive.spec.values import SpecError

EXAMPLES = ("seed", "nielsen", "ng", "cs231n", "cnn", "resnet_mlp", "bn_mlp", "svm")


def example_text(name: str) -> str:
    """The TOML text of a built-in example."""
    folder = resources.files("derive").joinpath("examples")
    return folder.joinpath(f"{name}.toml").read_text("utf-8")


#: The largest spec file read (a spec is a few hundred bytes; this stops /dev/zero).
MAX_SPEC_BYTES = 1 << 20


def printable(text: str, limit: int = 200) -> str:
    """A file name fit for a one-line message: escapes, cut to ``limit`` characters."""
    shown = text.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
    shown = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in shown)
    return shown if len(shown) <= limit else shown[: limit - 10] + "…" + shown[-9:]


def read_regular_file(path_text: str, what: str, limit: int = MAX_SPEC_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (``what``: "spec", "formula").

    A device, pipe or socket is refused before it is opened (``/dev/zero`` would never
    end, a FIFO would block), and at most ``limit + 1`` bytes are read.
    """
    import os
    import stat

    where = printable(path_text)
    try:
        info = os.stat(path_text)
    except FileNotFoundError:
        hint = ""
        if what == "spec":
            close = difflib.get_close_matches(path_text.lower(), EXAMPLES, n=1, cutoff=0.6)
            hint = f", and not a built-in example ({', '.join(EXAMPLES)})"
            hint += f"; did you mean {close[0]!r}?" if close else ""
        raise SpecError(f"no such {what} file{hint}", source=where) from None
    except (OSError, ValueError) as err:  # too long, NUL byte, unencodable, no permission
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise SpecError(f"cannot open the {what} file: {reason}", source=where) from None
    if stat.S_ISDIR(info.st_mode):
        raise SpecError(f"is a directory, not a {what} file", source=where)
    if not stat.S_ISREG(info.st_mode):
        raise SpecError("is not a regular file (a device, a pipe or a socket)", source=where)
    try:
        with open(path_text, "rb") as f:
            data = f.read(limit + 1)
    except OSError as err:
        raise SpecError(
            f"cannot read the {what} file: {err.strerror or err}", source=where
        ) from None
    if len(data) > limit:
        raise SpecError(f"the {what} file is larger than {limit // 1024} KiB", source=where)
    return data


def read_spec_file(path_text: str) -> str:
    """The text of a spec file: a regular UTF-8 file of at most MAX_SPEC_BYTES bytes."""
    where = printable(path_text)
    data = read_regular_file(path_text, "spec")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SpecError(
            f"cannot read the spec: not UTF-8 text (byte {err.start})", source=where
        ) from None
