"""``derive show``, ``derive latex`` and ``derive expr``: the derivation as text, LaTeX or
Markdown."""

from __future__ import annotations

import argparse
import sys

from derive.cli.errors import UserError
from derive.cli.output import emit
from derive.cli.subject import (
    activation_names,
    is_program_derivation,
    network_only,
    subject,
)
from derive.spec import check_activation_names


def cmd_show(args: argparse.Namespace) -> int:
    """``derive show``: the derivation as text."""
    d = subject(args)
    if is_program_derivation(d):
        network_only(args, d, "--output-form")
        sys.stdout.write(d.text())
        return 0
    text = d.text()
    if args.output_form:
        from derive.render.text import render

        text = render(d, through_output=True)
    sys.stdout.write(text)
    return 0


def cmd_latex(args: argparse.Namespace) -> int:
    """``derive latex``: the derivation as LaTeX or Markdown, in the chosen notation."""
    from derive.export import ExportError

    d = subject(args)
    if is_program_derivation(d):
        network_only(
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
        emit(text, args.output, args.force)
        return 0
    names = activation_names(args.activation_name)
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

    emit(text, args.output, args.force)
    return 0


def cmd_expr(args: argparse.Namespace) -> int:
    """``derive expr``: the gradient of a free matrix expression, step by step."""
    args.spec = None
    d = subject(args)
    if args.format == "text":
        sys.stdout.write(d.text())
    elif args.format == "md":
        sys.stdout.write(d.to_markdown())
    else:
        sys.stdout.write(d.to_latex(args.format))
    return 0
