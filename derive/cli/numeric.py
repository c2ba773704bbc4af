"""``derive export`` and ``derive verify``: the gradients as a numeric module, and that
module checked by finite differences."""

from __future__ import annotations

import argparse
import json
import sys

from derive.cli.errors import UserError
from derive.cli.output import emit
from derive.cli.subject import is_program_derivation, network_only, subject


def cmd_export(args: argparse.Namespace) -> int:
    """``derive export``: the gradients as a Python module for one backend."""
    from derive.export import require_backend, to_source

    d = subject(args)
    require_backend(args.backend)
    source = (
        d.to_source(args.backend)
        if is_program_derivation(d)
        else to_source(d, backend=args.backend)
    )
    emit(source, args.output, args.force)
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

    d = subject(args)
    if is_program_derivation(d):
        network_only(args, d, "--exhaustive")
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
