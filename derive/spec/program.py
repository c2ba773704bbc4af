"""A forward program: declared inputs and parameters, then equations, then a loss or an
upstream gradient, read from TOML (or from one expression) into a validated record.

Everything that needs no shapes is checked here, each mistake one SpecError naming the
file, the line, the equation and the problem; ``derive.core.program`` infers the shapes and
derives the record. Nothing a user wrote is evaluated: the equations are read by
``program_grammar`` (our lark grammar).

This module reads the equations and puts the program together (its outputs, what each
depends on, the warnings); the tables around the equations are read by
``program_declarations`` (header, inputs, parameters, …) and ``program_ends`` (the loss
or the backward table), the names checked in ``program_names``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from pathlib import Path

from derive.spec.program_declarations import read_declarations, read_header
from derive.spec.program_ends import (
    read_cache,
    read_cache_keys,
    read_loss,
    read_mode,
    read_upstream,
)
from derive.spec.program_grammar import Assign, EquationError, names, parse_assign
from derive.spec.program_names import Lines, Names, article, depends, equation_lines, fail
from derive.spec.program_records import (
    PROGRAM_EXAMPLES,
    ProgramLoss,
    ProgramSpec,
    check_program_name,
    short,
)
from derive.spec.program_sublayers import check_steps, expand, read_sublayers, weight_name
from derive.spec.reading import example_text, printable, read_spec_file
from derive.spec.records import SpecError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

#: The named losses a ``[loss]`` table may give instead of an expression.


def _parse_equation(text: str, line: int, source: str) -> Assign:
    key = f"equation {short(text.strip())!r}"
    try:
        return parse_assign(text, line)
    except EquationError as err:
        raise fail(err.problem, source, line, key) from None


def _equations(
    data: Mapping[str, object], known: Names, upstream: str | None, source: str, lines: Lines
) -> tuple[Assign, ...]:
    """The equations read and their names checked, in order."""
    forward = data.get("forward")
    ftable: str | None = None
    if forward is not None:
        if not isinstance(forward, dict) or set(forward) != {"equations"}:
            raise fail(
                '[forward] holds one key: equations = """…"""',
                source,
                lines.table("forward"),
                "forward",
            )
        raw, ftable = forward["equations"], "forward"
    else:
        raw = data.get("equations")
    equations: list[Assign] = []
    for body, line in equation_lines(raw, source, lines, ftable):
        eq = _parse_equation(body, line, source)
        key = f"equation {short(eq.text)!r}"
        known.check_uses(eq.expr, line, key)
        if eq.target[1:] in known.roles and eq.target[0] == "d":
            raise fail(
                f"{eq.target!r} would be the name of {eq.target[1:]}'s gradient; "
                "choose another name",
                source,
                line,
                key,
            )
        try:
            check_program_name(eq.target, key)
        except SpecError as err:
            raise fail(err.problem, source, line, key) from None
        if eq.target == upstream or eq.target in known.more_upstream:
            raise fail(
                f"{eq.target!r} is the upstream gradient, not a name to assign", source, line, key
            )
        has = known.roles.get(eq.target)
        if has == "intermediate":
            first = next(e.line for e in equations if e.target == eq.target)
            raise fail(
                f"{eq.target!r} is assigned twice (first on line {first})", source, line, key
            )
        if has is not None:
            raise fail(
                f"cannot assign to {eq.target!r}: it is {article(has)} {has}",
                source,
                line,
                key,
            )
        known.declare(eq.target, "intermediate", line, key)
        equations.append(eq)
    if not equations:
        raise fail(
            'the program has no equations: give [forward] equations = """…"""',
            source,
            lines.table("forward") or lines.find("equations"),
            "forward",
        )
    return tuple(equations)


def from_program_dict(data: Mapping[str, object], source: str = "", text: str = "") -> ProgramSpec:
    """A ProgramSpec from parsed TOML (``text``, when given, places errors on lines)."""
    lines = Lines(text)
    title, convention = read_header(data, source, lines)
    known, shapes, labels, hypers = read_declarations(data, source, lines)
    upstream = read_upstream(data, known, source, lines)
    sublayers = read_sublayers(
        data.get("sublayers"),
        _targets(data, source, lines),
        shapes["inputs"],
        lambda problem, line, key: fail(problem, source, line, key),
        lambda name: lines.find(name, "sublayers") if name else lines.table("sublayers"),
    )
    stand_ins = expand(
        sublayers,
        known,
        shapes["inputs"],
        str(convention),
        lambda problem, line, key: fail(problem, source, line, key),
    )
    eqs = (*stand_ins, *_equations(data, known, upstream, source, lines))
    check_steps(sublayers, known.roles, lambda problem, line, key: fail(problem, source, line, key))
    backward = data.get("backward")
    has_loss = "loss" in data
    if has_loss == (backward is not None):
        raise fail(
            'a program needs exactly one of [backward] upstream = "dout" (a layer\'s backward '
            "pass) and a [loss]" + (", not both" if has_loss else ""),
            source,
            lines.table("loss") if has_loss else None,
            "loss" if has_loss else "backward",
        )
    output: str | None = None
    loss: ProgramLoss | None = None
    more_upstream: tuple[tuple[str, str], ...] = ()
    if isinstance(backward, dict):
        output = backward.get("output", eqs[-1].target)
        outputs = output if isinstance(output, list) else [output]
        if len(outputs) != 1 + len(known.more_upstream):
            raise fail(
                f"{1 + len(known.more_upstream)} upstream gradients need as many outputs: "
                'output = ["out1", "out2", …], one per upstream gradient, in order',
                source,
                lines.find("output", "backward") or lines.find("upstream", "backward"),
                "backward.output",
            )
        for out in outputs:
            if not isinstance(out, str) or known.roles.get(out) != "intermediate":
                raise fail(
                    f"output {short(repr(out), 40)} is not the target of an equation",
                    source,
                    lines.find("output", "backward"),
                    "backward.output",
                )
        if len(set(outputs)) != len(outputs):
            raise fail(
                "an output is listed twice",
                source,
                lines.find("output", "backward"),
                "backward.output",
            )
        output = outputs[0]
        more_upstream = tuple(zip(outputs[1:], known.more_upstream, strict=True))
        for out, up in more_upstream:
            if up[0] == "d" and up[1:] in known.roles and up[1:] != out:
                raise fail(
                    f"the upstream gradient {up!r} would be the name of {up[1:]}'s "
                    f"gradient; name it after its output (d{out})",
                    source,
                    lines.find("upstream", "backward"),
                    "backward.upstream",
                )
        assert upstream is not None
        if upstream[0] == "d" and upstream[1:] in known.roles and upstream[1:] != output:
            raise fail(
                f"the upstream gradient {upstream!r} would be the name of {upstream[1:]}'s "
                f"gradient; name it after the output (d{output})",
                source,
                lines.find("upstream", "backward"),
                "backward.upstream",
            )
        used = depends([output, *(o for o, _ in more_upstream)], eqs)
        what = f"the output {output!r}" if not more_upstream else "the outputs"
        where = next(eq.line for eq in eqs if eq.target == output)
    else:
        loss = read_loss(data, known, eqs, str(convention), source, lines)
        used = depends([n.id for n in names(loss.expr)], eqs)
        what, where = "the loss", loss.line
    if not any(known.roles.get(n) in ("input", "parameter") for n in used):
        raise fail(
            f"{what} depends on no input or parameter: there is nothing to differentiate",
            source,
            where,
            "backward" if loss is None else "loss",
        )
    warnings = [
        f"{source or 'line'}:{eq.line}: {eq.target!r} is computed but not used by {what}"
        for eq in eqs
        if eq.target not in used
    ]
    cache = read_cache(backward, source, lines)
    warnings += [
        f"parameter {p!r} is not used by {what} (its gradient is zero)"
        for p in shapes["parameters"]
        if p not in used
    ]
    return ProgramSpec(
        name=title,
        convention="row" if convention == "row" else "column",
        inputs=shapes["inputs"],
        labels=labels,
        parameters=shapes["parameters"],
        hyperparameters=hypers,
        equations=eqs,
        upstream=upstream,
        output=output,
        loss=loss,
        source=source,
        warnings=tuple(warnings),
        cache=cache,
        cache_keys=read_cache_keys(backward, source, lines),
        mode=read_mode(backward, source, lines),
        mode_at=str(
            SpecError("", key="backward.mode", source=source, line=lines.find("mode", "backward"))
        ).removesuffix(": "),
        more_upstream=more_upstream,
        sublayers=tuple((sl.name, sl.input, sl.output) for sl in sublayers if not sl.absent),
        fixed=tuple(weight_name(sl.name) for sl in sublayers if sl.opaque),
        absent=tuple(sl.name for sl in sublayers if sl.absent),
    )


def _targets(data: Mapping[str, object], source: str, lines: Lines) -> set[str]:
    """The names the equations assign, read ahead (a line that does not parse is left to
    the reading proper, which says why)."""
    forward = data.get("forward")
    raw = forward.get("equations") if isinstance(forward, dict) else data.get("equations")
    found: set[str] = set()
    try:
        for body, line in equation_lines(raw, source, lines, None):
            found.add(parse_assign(body, line).target)
    except (SpecError, EquationError):
        pass
    return found


def is_program(data: Mapping[str, object]) -> bool:
    """Whether parsed TOML describes a forward program (rather than a network)."""
    return isinstance(data, Mapping) and ("forward" in data or "equations" in data)


def loads_program(text: str, source: str = "<string>") -> ProgramSpec:
    """A ProgramSpec from TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        msg = str(err)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        problem = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg)
        col = f", column {m.group(2)}" if m else ""
        line = int(m.group(1)) if m else None
        raise fail(f"TOML syntax error{col}: {problem}", source, line) from None
    except (ValueError, RecursionError) as err:
        raise fail(
            f"TOML value out of range or nested too deeply: {short(str(err))}", source, None
        ) from None
    if not is_program(data):
        raise fail('not a forward program: give [forward] equations = """…"""', source, None)
    return from_program_dict(data, source=source, text=text)


def load_program(spec: str | Path | ProgramSpec) -> ProgramSpec:
    """A ProgramSpec from a built-in example's name, a TOML file path, or a ProgramSpec."""
    if isinstance(spec, ProgramSpec):
        return spec
    name = str(spec)
    if name in PROGRAM_EXAMPLES:
        return loads_program(example_text(name), source=f"<example {name}>")
    if not name:
        raise SpecError(f"the program is empty: give a TOML file or {', '.join(PROGRAM_EXAMPLES)}")
    return loads_program(read_spec_file(name), source=printable(name))
