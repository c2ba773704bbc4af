"""``derive check`` on a network: one formula, or a ``--file`` of them, checked and
diagnosed (a forward program's check is ``check_program``)."""

from __future__ import annotations

import argparse
import json

from derive.cli.check_program import check_program
from derive.cli.errors import UserError, user_errors
from derive.cli.subject import declared_symbols, spec_help
from derive.spec import check_declared_symbols, load, read_regular_file
from derive.spec.spec_kind import is_program

#: The errors of a returned value nothing names, or whose kind the checker cannot tell.
_RETURN_UNNAMED = ("this snippet returns", "cannot tell what the value returned")

#: Marks that cannot be in ``--quantity``: each would end its left-hand side early.
_NOT_IN_QUANTITY = ("=", "#", "%", ";")


def cmd_check(args: argparse.Namespace) -> int:
    """``derive check``: one formula, or a file of them, checked and diagnosed."""
    from derive.formula.check import Checker, CheckResult
    from derive.formula.detect import detect_syntax
    from derive.formula.file_blocks import blocks
    from derive.formula.parse import FormulaError, NoEquation
    from derive.formula.return_lines import assign_returned

    # The quantity is joined to the formula as ``LHS = RHS``: a mark that ends the
    # left-hand side there (a comment ``#``/``%``, ``;``, a line break) would swallow or
    # split the formula, which would then be judged as something the user did not write.
    if args.quantity is not None and (
        any(c in args.quantity for c in _NOT_IN_QUANTITY)
        or not args.quantity.isprintable()
        or not args.quantity.strip()
        or len(args.quantity) > 100
    ):
        raise UserError(
            "--quantity names a left-hand side alone, e.g. --quantity dW_2 or "
            "--quantity '\\delta_1' (at most 100 characters, on one line, without "
            "'=', '#', '%' or ';')"
        )

    def error_record(err: Exception) -> dict[str, object]:
        """An error as JSON: its first line, and the column (1-based) when it is known."""
        return {
            "verdict": "error",
            "error": str(err).splitlines()[0] if str(err) else type(err).__name__,
            "column": getattr(err, "column", None),
        }

    _GUESSED = ("read the value returned", "read as a layer's", "read as a loss layer's")

    def check_one(checker: Checker, formula: str) -> CheckResult:
        """One formula; a right-hand side alone with ``--quantity`` as its left-hand side;
        a snippet's one returned value, which nothing names, as ``--quantity`` (the user's
        word over the checker's guess from the function's name or the value's form)."""
        returned = None if args.quantity is None else assign_returned(formula, args.quantity)
        try:
            result = check_as_written(checker, formula)
        except NoEquation:
            if args.quantity is None:
                raise
        except FormulaError as err:
            if returned is None or not str(err).startswith(_RETURN_UNNAMED):
                raise
            return as_returned(checker, returned)
        else:
            guessed = any(n.startswith(_GUESSED) for n in result.notes)
            return as_returned(checker, returned) if returned and guessed else result
        result = check_as_written(checker, f"{args.quantity} = {formula}")
        result.notes.insert(0, f"the right-hand side alone, read as {args.quantity} (--quantity)")
        return result

    def as_returned(checker: Checker, assigned: str) -> CheckResult:
        """The snippet with its returned value assigned to ``--quantity``."""
        result = check_as_written(checker, assigned)
        result.notes.insert(0, f"the value returned, read as {args.quantity} (--quantity)")
        return result

    def check_as_written(checker: Checker, formula: str) -> CheckResult:
        """One formula in ``--syntax``, or (auto) in the syntax its marks show (said when
        the marks were unclear)."""
        alone = args.quantity is None  # else --quantity says what a side alone is
        if args.syntax != "auto":
            return checker.check(formula, args.syntax, alone)
        syntax, sure = detect_syntax(formula)
        try:
            result = checker.check(formula, syntax, alone)
        except FormulaError:
            if sure:
                raise
            syntax = "latex" if syntax == "python" else "python"
            try:
                result = checker.check(formula, syntax, alone)
            except FormulaError:
                pass
            else:
                sure = True
            if not sure:
                raise
        if not sure:
            other = "LaTeX" if syntax == "python" else "NumPy"
            shown = "NumPy" if syntax == "python" else "LaTeX"
            result.notes.insert(0, f"read as {shown} (it could be {other}; --syntax chooses)")
        return result

    def check_file(checker: Checker) -> int:
        """``derive check --file``: each block of the file (``file_blocks``: a LaTeX line, a
        NumPy statement or snippet over several lines) checked as one; a line that is not
        UTF-8 is unreadable."""
        data = read_regular_file(args.file, "formula")
        counts = {"correct": 0, "incorrect": 0, "unreadable": 0}
        found: list[tuple[int, dict[str, object], str]] = []  # (line, record, summary)
        lines = []
        for number, raw in enumerate(data.splitlines(), start=1):
            try:
                lines.append(raw.decode("utf-8"))
            except UnicodeDecodeError as err:
                lines.append("")  # (a block ends here)
                counts["unreadable"] += 1
                message = (
                    f"not valid UTF-8 (byte 0x{raw[err.start]:02x} at column {err.start + 1}); "
                    "save the file as UTF-8"
                )
                shown = raw.decode("utf-8", "replace").strip()
                record = {
                    "line": number,
                    "formula": shown,
                    "verdict": "unreadable",
                    "error": message,
                    "column": err.start + 1,
                }
                found.append((number, record, f"{number}: unreadable: " + message))
        syntax = "" if args.syntax == "auto" else args.syntax
        for block in blocks("\n".join(lines), syntax):
            formula = block.text
            where: dict[str, object] = {"line": block.first}
            if block.last != block.first:
                where["last_line"] = block.last
            try:
                result = check_one(checker, formula)
                counts[result.verdict] += 1
                record = {**where, "formula": formula, **result.as_dict()}
                summary = result.verdict + (f": {result.diagnosis}" if result.diagnosis else "")
            except FormulaError as err:
                counts["unreadable"] += 1
                record = {
                    **where,
                    "formula": formula,
                    "verdict": "unreadable",
                    "error": str(err),
                    "column": err.column,
                }
                summary = "unreadable: " + str(err).splitlines()[0]
            found.append((block.first, record, f"{block.where}: {summary}"))
        found.sort(key=lambda f: f[0])
        records = [record for _, record, _ in found]
        if not args.json:
            for _, _, summary in found:
                print(f"{args.file}:{summary}")
        total = sum(counts.values())
        if args.json:
            print(json.dumps({"results": records, "summary": counts}, indent=2, ensure_ascii=False))
        else:
            print(
                f"{total} formulas: {counts['correct']} correct, {counts['incorrect']} incorrect, "
                f"{counts['unreadable']} unreadable"
            )
        if counts["unreadable"]:
            return 2
        return 0 if counts["incorrect"] == 0 else 1

    try:
        if args.expr is not None and args.formula is None:
            args.formula, args.spec = args.spec, None  # derive check --expr E 'dw = ...'
        if (args.formula is None) == (args.file is None):
            raise UserError("give one formula, or --file with one formula per line")
        if args.expr is not None or (args.spec is not None and is_program(args.spec)):
            return check_program(args)
        if args.spec is None:
            raise UserError(f"give {spec_help()}, or --expr with an expression")
        symbols = declared_symbols(args.symbol)
        network = load(args.spec)  # the checker derives it once, every width a symbol
        if symbols:  # the run's own names, over the spec's [notation.symbols]
            check_declared_symbols(network, symbols, "--symbol")
            network = network.with_(notation=network.notation.merge(symbols=symbols))
        checker = Checker(network)
        if args.formula is None:
            return check_file(checker)
        result = check_one(checker, args.formula)
    except user_errors() as err:
        if not args.json:
            raise
        print(json.dumps(error_record(err), indent=2, ensure_ascii=False))
        return 2
    if args.json:
        print(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
    else:
        print(result)
    return 0 if result.correct else 1
