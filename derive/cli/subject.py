"""What a command works on (a network, a forward program, or ``--expr``'s expression)
and the options shared by the commands: network-only flags, ``NAME=VALUE`` pairs."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from derive.cli.errors import UserError
from derive.spec import EXAMPLES, printable
from derive.spec.notation import check_tex_name, declared_quantity
from derive.spec.spec_kind import is_program


def spec_help() -> str:
    """The help of a ``spec`` argument: a file, or a built-in example by name."""
    from derive.spec.program_records import PROGRAM_EXAMPLES
    from derive.spec.sequence_layers import SEQUENCE_EXAMPLES

    names = EXAMPLES + PROGRAM_EXAMPLES + SEQUENCE_EXAMPLES
    return f"a TOML spec file or a built-in example ({', '.join(names)})"


def subject(args: argparse.Namespace) -> Any:
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
            f"give {spec_help()}, or --expr with an expression (see derive {args.command} --help)"
        )
    if is_program(args.spec):
        from derive.programs import derive_program

        return derive_program(args.spec)
    from derive.api import derive

    return derive(args.spec)


def is_program_derivation(d: Any) -> bool:
    """Whether ``d`` is a forward program's derivation (``subject`` made it)."""
    from derive.programs import ProgramDerivation

    return isinstance(d, ProgramDerivation)


def network_only(args: argparse.Namespace, d: Any, *flags: str) -> None:
    """Options that only a network's document has are refused for a program, by name."""
    if not is_program_derivation(d):
        return
    given = [f for f in flags if getattr(args, f.lstrip("-").replace("-", "_"), None)]
    if given:
        raise UserError(f"{', '.join(given)}: only for networks, not for a forward program")


def named_pairs(
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


def activation_names(pairs: list[str] | None) -> dict[str, str] | None:
    """``--activation-name NAME=SYMBOL`` flags (each symbol on the notation's allow-list)."""
    out = named_pairs(
        pairs,
        "--activation-name",
        "NAME=SYMBOL, e.g. sigmoid=\\sigma",
        lambda name, tex, flag: check_tex_name(name, tex, key=flag),
    )
    return out or None


def declared_symbols(pairs: list[str] | None) -> dict[str, str]:
    """``--symbol NAME=QUANTITY`` flags: the user's names for this run (``S=Z_2``)."""
    return named_pairs(
        pairs, "--symbol", "NAME=QUANTITY, e.g. S=Z_2 or w=W_1^T", declared_quantity, strip=True
    )
