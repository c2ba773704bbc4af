"""The argument parser: one subcommand per job, help on every option; a wrong option is
one ``derive: error: …`` line."""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from derive.cli.check import cmd_check
from derive.cli.documents import cmd_expr, cmd_latex, cmd_show
from derive.cli.numeric import cmd_export, cmd_verify
from derive.cli.subject import spec_help
from derive.spec.notation import DELTA_SYMBOLS, HADAMARD, INDEX_STYLES, TRANSPOSE

#: ``derive export --backend`` (``derive.export.BACKENDS``; a test keeps the two equal,
#: so that building the command line does not import the exporters).
BACKENDS = ("numpy", "jax", "torch")


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
    show.add_argument("spec", nargs="?", help=spec_help())
    _expression_options(show)
    show.add_argument(
        "--output-form",
        action="store_true",
        help="write activation derivatives through the output (σ' = A ⊙ (1 - A))",
    )
    show.set_defaults(run=cmd_show)

    latex = sub.add_parser("latex", help="write the derivation as LaTeX or Markdown")
    latex.add_argument("spec", nargs="?", help=spec_help())
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
    check.add_argument("spec", nargs="?", help=spec_help())
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
    export.add_argument("spec", nargs="?", help=spec_help())
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
    verify.add_argument("spec", nargs="?", help=spec_help())
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
