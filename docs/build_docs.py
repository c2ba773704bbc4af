"""Regenerate the generated blocks of docs/*.md: ``python docs/build_docs.py``.

A block is the text between ``<!-- derive: ARGS -->`` and ``<!-- end -->``; it is replaced
by the output of ``derive ARGS``. tests/test_docs.py fails when a block is stale.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import sys
from pathlib import Path

from derive.cli import main

BLOCK = re.compile(r"(<!-- derive: (.*?) -->\n)(.*?)(<!-- end -->)", re.S)


def run(args: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(shlex.split(args))
    if code != 0 and not (args.startswith("check") and code == 1):
        raise SystemExit(f"derive {args} exited {code}")
    return out.getvalue()


def render(text: str) -> str:
    def fill(match: re.Match[str]) -> str:
        body = run(match.group(2))
        fence = "" if "--format md" in match.group(2) else "```text\n"
        close = "" if not fence else "```\n"
        return f"{match.group(1)}{fence}{body}{close}{match.group(4)}"

    return BLOCK.sub(fill, text)


if __name__ == "__main__":
    for path in sorted(Path(__file__).parent.glob("*.md")):
        text = path.read_text("utf-8")
        new = render(text)
        if new != text:
            path.write_text(new, "utf-8")
            print(f"updated {path}", file=sys.stderr)
