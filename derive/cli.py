"""The command line: parse arguments, call the API, map user mistakes to exit code 2."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from derive.spec import (
    EXAMPLES,
    SpecError,
    check_activation_names,
    check_declared_symbols,
    load,
    printable,
    read_regular_file,
)
from derive.spec.notation import (
    DELTA_SYMBOLS,
    HADAMARD,
    INDEX_STYLES,
    TRANSPOSE,
    NotationError,
    check_tex_name,
    declared_quantity,
)
from derive.spec.scalar_expr import ScalarExprError
from derive.spec.spec_kind import is_program

if TYPE_CHECKING:
    from derive.formula.program_check import ProgramChecker

# The API, the exporters, the oracles and the checker are imported by the commands that
# use them, not here: each costs import time at every start, and ``derive check`` (whose
# end-to-end time is a target, docs/benchmarks.md) needs only the checker.

#: ``derive export --backend`` (``derive.export.BACKENDS``; a test keeps the two equal,
#: so that building the command line does not import the exporters).
BACKENDS = ("numpy", "jax", "torch")


def user_errors() -> tuple[type[Exception], ...]:
    """The exceptions that are a user's mistake (exit code 2, one line), not a crash."""
    from derive.export import ExportError
    from derive.formula.parse import FormulaError

    return (SpecError, ExportError, ScalarExprError, NotationError, FormulaError, UserError)


class UserError(Exception):
    """A mistake in the command line itself (existing output file, unwritable path)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a wrong option is one ``derive: error: …`` line like every other
    mistake (no usage block), still exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"derive: error: {message} (see {self.prog} --help)\n")


def _seed(text: str) -> int:
    """A random seed: a non-negative integer (NumPy refuses negative ones)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("derive")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree, not installed
        return "unknown (not installed)"


class _VersionAction(argparse.Action):
    """``--version``: the installed version, looked up only when asked (reading the
    package metadata costs ~50 ms at every start otherwise)."""

    def __call__(self, parser: argparse.ArgumentParser, *_args: Any) -> NoReturn:
        print(f"derive {_version()}")  # on stdout, as argparse's own version action
        parser.exit(0)


def _spec_help() -> str:
    from derive.spec.program_records import PROGRAM_EXAMPLES
    from derive.spec.sequence_layers import SEQUENCE_EXAMPLES

    names = EXAMPLES + PROGRAM_EXAMPLES + SEQUENCE_EXAMPLES
    return f"a TOML spec file or a built-in example ({', '.join(names)})"


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


def error_record(err: Exception) -> dict[str, object]:
    """``{"verdict": "error", "error": message, ...}`` plus where the error is, when known."""
    record: dict[str, object] = {"verdict": "error", "error": str(err)}
    for field in ("source", "line", "key", "column"):
        value = getattr(err, field, None)
        if value not in (None, ""):
            record[field] = value
    return record


def _subject(args: argparse.Namespace) -> Any:
    """What a command works on: a network, a forward program, or ``--expr``'s expression."""
    expr = getattr(args, "expr", None)
    if expr is not None:
        if args.spec is not None:
            raise UserError("give a spec or --expr, not both")
        from derive.programs import derive_expression
        from derive.spec.program_expr import parse_shape_flag

        shapes = dict(parse_shape_flag(flag) for flag in args.shape or [])
        return derive_expression(expr, list(args.wrt or []), shapes)
    if args.spec is None:
        raise UserError(
            f"give {_spec_help()}, or --expr with an expression (see derive {args.command} --help)"
        )
    if is_program(args.spec):
        from derive.programs import derive_program

        return derive_program(args.spec)
    from derive.api import derive

    return derive(args.spec)


def _is_program_derivation(d: Any) -> bool:
    """Whether ``d`` is a forward program's derivation (``_subject`` made it)."""
    from derive.programs import ProgramDerivation

    return isinstance(d, ProgramDerivation)


def _network_only(args: argparse.Namespace, d: Any, *flags: str) -> None:
    """Options that only a network's document has are refused for a program, by name."""
    if not _is_program_derivation(d):
        return
    given = [f for f in flags if getattr(args, f.lstrip("-").replace("-", "_"), None)]
    if given:
        raise UserError(f"{', '.join(given)}: only for networks, not for a forward program")


def cmd_show(args: argparse.Namespace) -> int:
    """``derive show``: the derivation as text."""
    d = _subject(args)
    if _is_program_derivation(d):
        _network_only(args, d, "--output-form")
        sys.stdout.write(d.text())
        return 0
    text = d.text()
    if args.output_form:
        from derive.render.text import render

        text = render(d, through_output=True)
    sys.stdout.write(text)
    return 0


def _named_pairs(
    pairs: list[str] | None,
    option: str,
    example: str,
    check: Callable[[str, str, str], object],
    strip: bool = False,
) -> dict[str, str]:
    """``--option NAME=VALUE`` flags as a dict: each pair well formed, checked by ``check``
    (name, value, flag), a name given twice with two values an error."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if strip:
            name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise UserError(f"{option} {printable(pair, 60)}: write {example}")
        flag = f"{option} {printable(name, 40)}"
        if name in out and out[name] != value:
            raise UserError(f"{flag}: given twice ({out[name]!r} and {value!r}); give it once")
        check(name, value, flag)
        out[name] = value
    return out


def _activation_names(pairs: list[str] | None) -> dict[str, str] | None:
    """``--activation-name NAME=SYMBOL`` flags (each symbol on the notation's allow-list)."""
    out = _named_pairs(
        pairs,
        "--activation-name",
        "NAME=SYMBOL, e.g. sigmoid=\\sigma",
        lambda name, tex, flag: check_tex_name(name, tex, key=flag),
    )
    return out or None


def _declared_symbols(pairs: list[str] | None) -> dict[str, str]:
    """``--symbol NAME=QUANTITY`` flags: the user's names for this run (``S=Z_2``)."""
    return _named_pairs(
        pairs, "--symbol", "NAME=QUANTITY, e.g. S=Z_2 or w=W_1^T", declared_quantity, strip=True
    )


def cmd_latex(args: argparse.Namespace) -> int:
    """``derive latex``: the derivation as LaTeX or Markdown, in the chosen notation."""
    from derive.export import ExportError

    d = _subject(args)
    if _is_program_derivation(d):
        _network_only(
            args,
            d,
            "--index",
            "--hadamard",
            "--transpose",
            "--delta-symbol",
            "--activation-name",
            "--output-form",
            "--with-code",
        )
        text = d.to_markdown() if args.format == "md" else d.to_latex(args.format)
        if args.output in (None, "-"):
            sys.stdout.write(text)
        else:
            write_output(args.output, text, args.force)
            print(f"wrote {printable(args.output)}", file=sys.stderr)
        return 0
    names = _activation_names(args.activation_name)
    if names:
        check_activation_names(d.network, names, "--activation-name")
    notation = d.network.notation.merge(
        index=args.index,
        hadamard=args.hadamard,
        transpose=args.transpose,
        delta=args.delta_symbol,
        activations=names,
        output_form=True if args.output_form else None,
    )
    try:
        if args.format == "md":
            text = d.to_markdown(notation, with_code=args.with_code)
        else:
            text = d.to_latex(args.format, notation, with_code=args.with_code)
    except ExportError as err:  # only --with-code exports; say that the flag needs it
        raise UserError(
            f"--with-code shows the exported code, and it cannot be made: {err}"
        ) from None

    if args.output in (None, "-"):
        sys.stdout.write(text)
    else:
        write_output(args.output, text, args.force)
        print(f"wrote {printable(args.output)}", file=sys.stderr)
    return 0


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
            return _check_program(args)
        if args.spec is None:
            raise UserError(f"give {_spec_help()}, or --expr with an expression")
        symbols = _declared_symbols(args.symbol)
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


def _check_program(args: argparse.Namespace) -> int:
    """``derive check`` on a forward program or ``--expr``: a NumPy snippet (a formula, or
    a whole ``--file``) checked against the staged derivation."""
    from derive.formula.detect import detect_syntax
    from derive.formula.program_check import ProgramChecker

    if args.quantity is not None:  # it was ignored: the formula's own error misled
        raise UserError(
            "--quantity is read for a network's formulas; a forward program's formula writes "
            "its left-hand side (dV = P^T dout, dV = P.T @ dout)"
        )
    d = _subject(args)
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
    symbols = _named_pairs(
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


def cmd_export(args: argparse.Namespace) -> int:
    """``derive export``: the gradients as a Python module for one backend."""
    from derive.export import require_backend, to_source

    d = _subject(args)
    require_backend(args.backend)
    source = (
        d.to_source(args.backend)
        if _is_program_derivation(d)
        else to_source(d, backend=args.backend)
    )
    if args.output in (None, "-"):
        sys.stdout.write(source)
    else:
        write_output(args.output, source, args.force)
        print(f"wrote {printable(args.output)}", file=sys.stderr)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """``derive verify``: the exported gradients against finite differences."""
    import time

    from derive.api import derive
    from derive.export import ExportError
    from derive.oracles.verify import (
        ResourceError,
        Resources,
        check_grads,
        parse_memory,
        parse_sizes,
        with_sizes,
    )

    d = _subject(args)
    if _is_program_derivation(d):
        _network_only(args, d, "--exhaustive")
        program_report = d.verify(parse_sizes(args.sizes), args.seed)
        if args.json:
            print(json.dumps(program_report.as_dict(), indent=2))
        else:
            print(program_report)
        return 0 if program_report.passed else 1
    network, sizes = with_sizes(d.network, parse_sizes(args.sizes))
    if network != d.network:
        d = derive(network)
    shown = {"started": 0.0, "lines": 0.0}
    progress = None
    if not args.json:

        def progress(done: int, total: int) -> None:
            # a progress line on stderr once a check runs for more than a few seconds
            if time.monotonic() - shown["started"] < 3 and not shown["lines"]:
                return
            if done == total or done % max(total // 50, 1) == 0:
                shown["lines"] = 1
                print(f"\r  {done}/{total} evaluations", end="", file=sys.stderr, flush=True)
                if done == total:
                    print(file=sys.stderr)

    def notify(res: Resources) -> None:
        shown["started"] = time.monotonic()
        if res.seconds > 3 and not args.json:
            print(
                f"verifying {res.parameters} parameters: about {res.evaluations} loss "
                f"evaluations, {res.seconds:.0f} s estimated",
                file=sys.stderr,
            )

    try:
        report = check_grads(
            d,
            seed=args.seed,
            sizes=sizes,
            mode="entries" if args.exhaustive else "auto",
            progress=progress,
            max_memory=parse_memory(args.max_memory),
            notify=notify,
        )
    except ResourceError as err:
        raise UserError(str(err)) from None
    except ExportError as err:  # verify runs the exported module: it needs numeric code
        raise UserError(f"verify runs the exported code, and it cannot be made: {err}") from None
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(report)
    return 0 if report.passed else 1


def _expression_options(parser: argparse.ArgumentParser) -> None:
    """``--expr``, ``--wrt`` and ``--shape``: a free matrix expression instead of a spec."""
    parser.add_argument(
        "--expr",
        metavar="EXPRESSION",
        help="a scalar expression instead of a spec, e.g. 'norm(X @ w - y)^2 + lambda * norm(w)^2'",
    )
    parser.add_argument(
        "--wrt", action="append", metavar="NAME", help="differentiate by NAME (repeatable)"
    )
    parser.add_argument(
        "--shape",
        action="append",
        metavar="NAME=R,C",
        help="the shape of a matrix in --expr, e.g. X=m,n (repeatable); unshaped names are scalars",
    )


def cmd_expr(args: argparse.Namespace) -> int:
    """``derive expr``: the gradient of a free matrix expression, step by step."""
    args.spec = None
    d = _subject(args)
    if args.format == "text":
        sys.stdout.write(d.text())
    elif args.format == "md":
        sys.stdout.write(d.to_markdown())
    else:
        sys.stdout.write(d.to_latex(args.format))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per job, help on every option."""
    parser = _Parser(
        prog="derive",
        description="Derive neural-network backpropagation symbolically, print it, "
        "check it and export it.",
    )
    parser.add_argument(
        "--version", action=_VersionAction, nargs=0, help="show program's version number and exit"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    show = sub.add_parser("show", help="print the derivation as readable text")
    show.add_argument("spec", nargs="?", help=_spec_help())
    _expression_options(show)
    show.add_argument(
        "--output-form",
        action="store_true",
        help="write activation derivatives through the output (σ' = A ⊙ (1 - A))",
    )
    show.set_defaults(run=cmd_show)

    latex = sub.add_parser("latex", help="write the derivation as LaTeX or Markdown")
    latex.add_argument("spec", nargs="?", help=_spec_help())
    _expression_options(latex)
    latex.add_argument("-o", "--output", help="output file (default: standard output)")
    latex.add_argument(
        "--format",
        choices=("tex", "md", "fragment"),
        default="tex",
        help="tex: standalone document; md: Markdown with $$ math; "
        "fragment: LaTeX to paste into a document",
    )
    latex.add_argument("--force", action="store_true", help="overwrite an existing file")
    latex.add_argument(
        "--with-code",
        action="store_true",
        help="add the exported NumPy algorithm, rendered by latexify",
    )
    latex.add_argument(
        "--index",
        choices=tuple(INDEX_STYLES),
        help="layer index: W_l (subscript), W^{[l]} (bracket), W^{(l)} (paren)",
    )
    latex.add_argument("--hadamard", choices=tuple(HADAMARD), help="elementwise product symbol")
    latex.add_argument(
        "--transpose", choices=tuple(TRANSPOSE), help="transpose: ^T, ^\\top, ^\\intercal"
    )
    latex.add_argument("--delta-symbol", choices=tuple(DELTA_SYMBOLS), help="delta or dZ")
    latex.add_argument(
        "--activation-name",
        action="append",
        metavar="NAME=SYMBOL",
        help="how to write an activation, e.g. sigmoid=g (repeatable)",
    )
    latex.add_argument(
        "--output-form",
        action="store_true",
        help="write derivatives through the output (σ' = A ⊙ (1 - A))",
    )
    latex.set_defaults(run=cmd_latex)

    check = sub.add_parser("check", help="check a hand-written formula and say what is wrong")
    check.add_argument("spec", nargs="?", help=_spec_help())
    check.add_argument(
        "formula", nargs="?", help="LHS = RHS, e.g. '\\delta_1 = ...' or 'dW1 = ...'"
    )
    check.add_argument(
        "--syntax",
        choices=("auto", "latex", "python"),
        default="auto",
        help="how the formula is written: auto (default: told from its marks, line by line "
        "with --file), LaTeX or NumPy-style Python",
    )
    check.add_argument("--json", action="store_true", help="print the verdict as JSON")
    check.add_argument(
        "--symbol",
        action="append",
        metavar="NAME=QUANTITY",
        help="read NAME as QUANTITY in this check (repeatable), e.g. --symbol S=Z_2 "
        "--symbol dout=dZ_2 --symbol w=W_1^T --symbol E=L",
    )
    check.add_argument(
        "--quantity",
        metavar="LHS",
        help="the left-hand side of a formula written as its right-hand side alone, or "
        "what a NumPy snippet's one `return` hands back, e.g. --quantity dW_2 (formulas "
        "with their own '=' keep theirs)",
    )
    check.add_argument(
        "--file",
        help="check every formula of a file: a LaTeX formula a line, a NumPy statement or "
        "snippet over its lines (brackets, indented bodies, and lines reading a name an "
        "earlier line assigns are one block; blank lines separate); for a forward program, "
        "the whole file is one NumPy snippet",
    )
    _expression_options(check)
    check.set_defaults(run=cmd_check)

    export = sub.add_parser("export", help="write the gradients as a numeric Python module")
    export.add_argument("spec", nargs="?", help=_spec_help())
    _expression_options(export)
    export.add_argument("-o", "--output", help="output .py file (default: standard output)")
    export.add_argument(
        "--backend",
        choices=BACKENDS,
        default="numpy",
        help="array library of the module: numpy (default), jax or torch",
    )
    export.add_argument("--force", action="store_true", help="overwrite an existing file")
    export.set_defaults(run=cmd_export)

    verify = sub.add_parser("verify", help="check the exported gradients by finite differences")
    verify.add_argument("spec", nargs="?", help=_spec_help())
    _expression_options(verify)
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.add_argument(
        "--seed", type=_seed, default=0, help="random seed, an integer >= 0 (default 0)"
    )
    verify.add_argument(
        "--exhaustive", action="store_true", help="every parameter entry, not random directions"
    )
    verify.add_argument(
        "--sizes",
        metavar="NAME=N,…",
        help="verify at these sizes: symbolic ones, or concrete widths n_l, image sides h/w, "
        "batch m made smaller (e.g. n_1=100,m=4)",
    )
    verify.add_argument(
        "--max-memory",
        default="4GiB",
        help="refuse a check that would need more memory than this (default 4GiB)",
    )
    verify.set_defaults(run=cmd_verify)

    expr = sub.add_parser(
        "expr",
        help="differentiate a free matrix expression, with steps (latex, export, "
        "verify take it too, with --expr)",
    )
    expr.add_argument(
        "expr", metavar="EXPRESSION", help="e.g. 'norm(X @ w - y)^2 + lambda * norm(w)^2'"
    )
    expr.add_argument("--wrt", action="append", metavar="NAME", help="differentiate by NAME")
    expr.add_argument(
        "--shape", action="append", metavar="NAME=R,C", help="a matrix's shape, e.g. X=m,n"
    )
    expr.add_argument(
        "--format",
        choices=("text", "tex", "md", "fragment"),
        default="text",
        help="text (default), a LaTeX document, Markdown or a LaTeX fragment",
    )
    expr.set_defaults(run=cmd_expr)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; user mistakes are one line and exit code 2."""
    try:
        code = _run(build_parser().parse_args(argv))
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


def _run(args: argparse.Namespace) -> int:
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
