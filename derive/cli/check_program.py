"""``derive check`` on a forward program or ``--expr``: a NumPy snippet, one LaTeX formula,
or a page of LaTeX formulas, checked against the staged derivation."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from derive.cli.errors import UserError, user_errors
from derive.cli.subject import named_pairs, subject
from derive.spec import printable, read_regular_file

if TYPE_CHECKING:
    from derive.formula.program_check import ProgramChecker


def check_program(args: argparse.Namespace) -> int:
    """``derive check`` on a forward program or ``--expr``: a NumPy snippet (a formula, or
    a whole ``--file``) checked against the staged derivation."""
    from derive.formula.detect import detect_syntax
    from derive.formula.program_check import ProgramChecker

    if args.quantity is not None:  # it was ignored: the formula's own error misled
        raise UserError(
            "--quantity is read for a network's formulas; a forward program's formula writes "
            "its left-hand side (dV = P^T dout, dV = P.T @ dout)"
        )
    d = subject(args)
    latex = args.syntax == "latex" or (
        args.syntax == "auto"
        and args.formula is not None
        and detect_syntax(args.formula) == ("latex", True)
    )
    text = args.formula if args.file is None else _read_snippet(args.file)
    page = None if args.file is None else _latex_page(text, args.syntax)
    if latex and args.formula is None and page is None:
        raise UserError(
            "a forward program's backward pass is checked as NumPy code (--syntax python) "
            "in a --file; one LaTeX formula is given on the command line"
        )
    symbols = named_pairs(
        args.symbol, "--symbol", "NAME=EXPR, e.g. ivar=1/sqrt(var + eps)", _no_check, strip=True
    )
    checker = ProgramChecker(d, symbols)
    if page is not None:
        return _check_latex_page(args, checker, page)
    if latex:  # over the program's own names, at each time step (program_latex_check)
        from derive.formula.program_latex_check import check_latex

        result = check_latex(checker, args.formula)
        print(json.dumps(result.as_dict(), indent=2, ensure_ascii=False) if args.json else result)
        return 0 if result.correct else 1
    result = checker.check(text)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
    else:
        print(result)
    return 0 if result.correct else 1


def _read_snippet(path: str) -> str:
    """A ``--file`` given to a program's check, as text (one clear line if it is not UTF-8)."""
    data = read_regular_file(path, "snippet")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise UserError(
            f"{printable(path)}: not valid UTF-8 (byte {err.start + 1}); save it as UTF-8"
        ) from None


def _latex_page(text: str, syntax: str) -> list[tuple[int, str]] | None:
    """A ``--file`` of LaTeX formulas over a program (every block LaTeX, or ``--syntax
    latex``), as (line, formula) pairs; None for a NumPy snippet, which is read whole."""
    from derive.formula.detect import detect_syntax
    from derive.formula.file_blocks import blocks

    if syntax == "python":
        return None
    found = blocks(text, "latex" if syntax == "latex" else "")
    if not found or (syntax != "latex" and any(detect_syntax(b.text)[0] != "latex" for b in found)):
        return None
    return [(b.first, b.text) for b in found]


def _check_latex_page(
    args: argparse.Namespace, checker: ProgramChecker, page: list[tuple[int, str]]
) -> int:
    """A page of LaTeX formulas over a program, each judged with the formulas above it as
    its context: an equation may name its result (``∂L/∂V = Bᵀ ∂L/∂C = ζ_1``) for the
    formulas after it, as a page of notes does."""
    from derive.formula.program_latex_check import check_latex

    counts = {"correct": 0, "incorrect": 0, "unreadable": 0}
    records: list[dict[str, object]] = []
    for i, (line, formula) in enumerate(page):
        context = [f for _, f in page[:i]]
        try:
            result = check_latex(checker, formula, context)
        except user_errors() as err:
            counts["unreadable"] += 1
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            records.append(
                {"line": line, "formula": formula, "verdict": "unreadable", "error": first}
            )
            summary = "unreadable: " + first
        else:
            counts[result.verdict] += 1
            records.append({"line": line, "formula": formula, **result.as_dict()})
            summary = result.verdict + (f": {result.diagnosis}" if result.diagnosis else "")
        if not args.json:
            print(f"{args.file}:{line}: {summary}")
    if args.json:
        print(json.dumps({"results": records, "summary": counts}, indent=2, ensure_ascii=False))
    else:
        print(
            f"{len(page)} formulas: {counts['correct']} correct, {counts['incorrect']} "
            f"incorrect, {counts['unreadable']} unreadable"
        )
    if counts["unreadable"]:
        return 2
    return 0 if counts["incorrect"] == 0 else 1


def _no_check(name: str, value: str, flag: str) -> None:
    """``--symbol`` values of a program check are read by the program grammar later."""
