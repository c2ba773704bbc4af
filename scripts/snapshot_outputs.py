"""Write every user-visible output of every built-in example into one folder.

Run it before and after a change that must not change behaviour, then ``diff -r`` the
two folders: ``python scripts/snapshot_outputs.py /tmp/before`` … ``/tmp/after``. It covers
``show``, LaTeX (tex, fragment, Markdown, with code, the notation variants), every
exported module (numpy/jax/torch, fast and as the formulas say) and the checker's answers
to every derived quantity and to a few wrong formulas (text and JSON).
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

from derive.cli import main

EXAMPLES = sorted(
    p.stem for p in (Path(__file__).parents[1] / "derive" / "examples").glob("*.toml")
)
NOTATIONS = [
    "",
    "--index bracket",
    "--index paren",
    "--hadamard circ",
    "--delta-symbol dZ",
    "--transpose top",
    "--transpose intercal",
]
WRONG = [
    "\\delta_1 = W_2 \\delta_2 \\odot f'(Z_1)",
    "dW1 = dZ1 @ X / m",
    "\\frac{\\partial L}{\\partial b_1} = \\delta_1",
]


def run(args: list[str]) -> str:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except SystemExit as e:  # argparse
            code = e.code
    return f"exit {code}\n--- stdout\n{out.getvalue()}--- stderr\n{err.getvalue()}"


def snapshot(folder: Path) -> None:
    """One file per (command, example, options)."""
    from derive import derive
    from derive.export import ExportError, to_source

    folder.mkdir(parents=True, exist_ok=True)
    for ex in EXAMPLES:
        outs = {f"show-{ex}": ["show", ex]}
        for i, nt in enumerate(NOTATIONS):
            for fmt in ("tex", "md", "fragment"):
                outs[f"latex-{ex}-{fmt}-{i}"] = ["latex", ex, "--format", fmt, *nt.split()]
        outs[f"latex-{ex}-code"] = ["latex", ex, "--with-code"]
        outs[f"export-cli-{ex}"] = ["export", ex]
        outs[f"verify-{ex}"] = ["verify", ex, "--json"]
        for j, f in enumerate(WRONG):
            outs[f"check-{ex}-wrong{j}"] = ["check", ex, f]
            outs[f"check-{ex}-wrong{j}-json"] = ["check", ex, f, "--json"]
            outs[f"check-{ex}-wrong{j}-py"] = ["check", ex, f, "--syntax", "python"]
        for name, args in outs.items():
            (folder / f"{name}.txt").write_text(run(args), "utf-8")
        d = derive(ex)
        for backend in ("numpy", "jax", "torch"):
            for fast in (True, False):
                try:
                    src = to_source(d, backend, fast=fast)
                except ExportError as e:
                    src = f"ExportError: {e}"
                (folder / f"export-{ex}-{backend}-{'fast' if fast else 'plain'}.py").write_text(src)
        answers = []
        for step in d.steps:
            answers.append(repr(step))
            answers.append(step.text)
            answers.append(step._repr_latex_())
        (folder / f"steps-{ex}.txt").write_text("\n".join(answers), "utf-8")
        (folder / f"repr-{ex}.txt").write_text(d._repr_latex_() + "\n" + d._repr_markdown_())


if __name__ == "__main__":
    snapshot(Path(sys.argv[1]))
