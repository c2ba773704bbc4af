"""A forward program: declared inputs and parameters, then equations, then a loss or an
upstream gradient, read from TOML (or from one expression) into a validated record.

Everything that needs no shapes is checked here, each mistake one SpecError naming the
file, the line, the equation and the problem; ``derive.core.program`` infers the shapes and
derives the record. Nothing a user wrote is evaluated: the equations are read by
``program_grammar`` (our lark grammar).
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from derive.spec.program_grammar import (
    MAX_LINE,
    Assign,
    EquationError,
    Expr,
    Name,
    Pick,
    names,
    parse_assign,
    parse_expression,
    walk,
)
from derive.spec.program_records import (
    MAX_EQUATIONS,
    MAX_NAMES,
    PROGRAM_EXAMPLES,
    Hyper,
    Labels,
    ProgramLoss,
    ProgramSpec,
    Role,
    Shape,
    check_program_name,
    hyper_value,
    shape_value,
    short,
    size_name,
    size_value,
)
from derive.spec.program_sublayers import check_steps, expand, read_sublayers, weight_name
from derive.spec.reading import example_text, printable, read_spec_file
from derive.spec.records import MAX_TITLE, SpecError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

#: The named losses a ``[loss]`` table may give instead of an expression.
NAMED_LOSSES = ("mse", "cross_entropy")
_TOP_KEYS = (
    "name",
    "convention",
    "inputs",
    "labels",
    "parameters",
    "hyperparameters",
    "forward",
    "backward",
    "loss",
    "sublayers",
)


def _fail(problem: str, source: str, line: int | None, key: str = "") -> SpecError:
    return SpecError(problem, key=key, source=source, line=line)


class _Lines:
    """Finds the file line of a key of the TOML text (tomllib gives no positions)."""

    def __init__(self, text: str):
        self.lines = text.splitlines()

    def table(self, name: str) -> int | None:
        header = re.compile(rf"^\s*\[\s*{re.escape(name)}\s*\]\s*(#.*)?$")
        return next((i + 1 for i, ln in enumerate(self.lines) if header.match(ln)), None)

    def find(self, key: str, table: str | None = None) -> int | None:
        start = 0
        if table is not None:
            found = self.table(table)
            if found is None:  # a dotted key or an inline table at the top
                return self.find(table)
            start = found
        pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for i in range(start, len(self.lines)):
            if i > start and table is not None and self.lines[i].lstrip().startswith("["):
                break
            if pattern.match(self.lines[i]):
                return i + 1
        return start or None


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _table(data: Mapping[str, object], key: str, source: str, lines: _Lines) -> dict[str, object]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise _fail(f"[{key}] must be a table", source, lines.find(key), key)
    if len(value) > MAX_NAMES:
        raise _fail(f"more than {MAX_NAMES} names", source, lines.table(key), key)
    return value


def _equation_lines(
    raw: object, source: str, lines: _Lines, table: str | None
) -> list[tuple[str, int]]:
    """The equations' lines (comment cut) with their file lines, blank lines dropped."""
    key_line = lines.find("equations", table) or 1
    if isinstance(raw, list) and all(isinstance(r, str) for r in raw):
        texts = [str(r) for r in raw]
    elif isinstance(raw, str):
        texts = raw.split("\n")
    else:
        raise _fail("equations must be a string, one equation a line", source, key_line)
    found: list[tuple[str, int]] = []
    cursor = key_line - 1
    for offset, text in enumerate(texts):
        body = text.split("#", 1)[0].rstrip()
        if not body.strip():
            continue
        line = key_line + offset + (1 if isinstance(raw, str) else 0)
        for i in range(cursor, min(len(lines.lines), cursor + 10_000)):
            if body.strip() in lines.lines[i]:
                line, cursor = i + 1, i + 1
                break
        if len(found) == MAX_EQUATIONS:
            raise _fail(f"more than {MAX_EQUATIONS} equations", source, line)
        if len(body) > MAX_LINE:
            raise _fail(
                f"the line is {len(body)} characters long; the limit is {MAX_LINE}",
                source,
                line,
                f"equation {short(body.strip())!r}",
            )
        found.append((body, line))
    return found


class _Names:
    """The names of a program as the equations are read, for every name check."""

    def __init__(self, source: str):
        self.source = source
        self.roles: dict[str, Role] = {}
        self.upstream: str | None = None
        #: The further upstream gradients of a program with several outputs.
        self.more_upstream: list[str] = []
        self.labels: dict[str, Labels] = {}

    def declare(self, name: str, role: Role, line: int | None, key: str) -> None:
        if name in self.roles and not (role == "size" and self.roles[name] == "size"):
            what = self.roles[name]
            raise _fail(f"{name!r} is already {_article(what)} {what}", self.source, line, key)
        for other in self.roles:
            if name == "d" + other and role != "size":
                raise _fail(
                    f"{name!r} would be the name of {other}'s gradient; choose another name",
                    self.source,
                    line,
                    key,
                )
            if other == "d" + name and self.roles[other] != "size":
                raise _fail(
                    f"{other!r} is declared, and d{name} would be the name of {name}'s "
                    "gradient; choose another name",
                    self.source,
                    line,
                    key,
                )
        declared = sum(r not in ("intermediate", "size") for r in self.roles.values())
        if role not in ("intermediate", "size") and declared >= MAX_NAMES:
            raise _fail(f"more than {MAX_NAMES} names", self.source, line, key)
        self.roles[name] = role

    def check_uses(self, expr: Expr, line: int, key: str) -> None:
        for ref in names(expr):
            if ref.id == self.upstream or ref.id in self.more_upstream:
                raise _fail(
                    f"{ref.id!r} is the upstream gradient, given for the backward pass; "
                    "the forward equations cannot use it",
                    self.source,
                    line,
                    key,
                )
            if ref.id not in self.roles:
                hint = _suggest(ref.id, list(self.roles))
                raise _fail(f"unknown name {ref.id!r}{hint}", self.source, line, key)
        for node in walk(expr):
            if isinstance(node, Pick):
                self._check_pick(node, line, key)
            elif isinstance(node, Name) and self.roles.get(node.id) == "label":
                raise _fail(
                    f"the labels {node.id!r} can only index: S[range(N), {node.id}]",
                    self.source,
                    line,
                    key,
                )

    def _check_pick(self, pick: Pick, line: int, key: str) -> None:
        labels = self.labels.get(pick.labels)
        if labels is None:
            raise _fail(
                f"{pick.labels!r} in S[range(…), {pick.labels}] is not declared under [labels]",
                self.source,
                line,
                key,
            )
        if pick.length != labels.length:
            raise _fail(
                f"range({pick.length}) does not match the {labels.length} labels {pick.labels}",
                self.source,
                line,
                key,
            )


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _parse_equation(text: str, line: int, source: str) -> Assign:
    key = f"equation {short(text.strip())!r}"
    try:
        return parse_assign(text, line)
    except EquationError as err:
        raise _fail(err.problem, source, line, key) from None


def _depends(start: list[str], equations: tuple[Assign, ...]) -> set[str]:
    """Every name ``start`` reaches through the equations (targets included)."""
    defs = {eq.target: eq for eq in equations}
    seen: set[str] = set()
    stack = list(start)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in defs:
            stack.extend(ref.id for ref in names(defs[name].expr))
    return seen


def _loss(
    data: Mapping[str, object],
    known: _Names,
    equations: tuple[Assign, ...],
    convention: str,
    source: str,
    lines: _Lines,
) -> ProgramLoss:
    table = data["loss"]
    if isinstance(table, str):
        table = {"expression": table}
    if not isinstance(table, dict):
        raise _fail("[loss] must be a table", source, lines.find("loss"), "loss")
    allowed = {"expression", "name", "output", "target"}
    for key in table:
        if key not in allowed:
            hint = _suggest(key, sorted(allowed))
            raise _fail(
                f"unknown key {key!r} in [loss] (allowed: {', '.join(sorted(allowed))}){hint}",
                source,
                lines.find(key, "loss"),
                "loss",
            )
    if ("expression" in table) == ("name" in table):
        raise _fail(
            '[loss] needs either expression = "…" or name = "mse"|"cross_entropy"',
            source,
            lines.table("loss") or lines.find("loss"),
            "loss",
        )
    if "expression" in table:
        text, kind = table["expression"], "expression"
        line = lines.find("expression", "loss")
        if not isinstance(text, str):
            raise _fail("the loss expression must be a string", source, line, "loss")
    else:
        kind = table["name"]
        line = lines.find("name", "loss")
        if kind not in NAMED_LOSSES:
            raise _fail(
                f"unknown loss {kind!r} (known: {', '.join(NAMED_LOSSES)}, or expression = …)"
                + _suggest(str(kind), list(NAMED_LOSSES)),
                source,
                line,
                "loss",
            )
        out = table.get("output", equations[-1].target if equations else None)
        target = table.get("target")
        for key, value in (("output", out), ("target", target)):
            if not isinstance(value, str) or value not in known.roles:
                raise _fail(
                    f"the {kind} loss needs {key} = the name of "
                    + ("an equation's target" if key == "output" else "the targets"),
                    source,
                    lines.find(key, "loss") if key in table else line,
                    "loss",
                )
        axis = 1 if convention == "row" else 0
        if kind == "mse":
            text = f"mean(({out} - {target}) ** 2)"
        else:
            lab = known.labels.get(str(target))
            if lab is None:
                raise _fail(
                    "the cross_entropy loss needs target = labels declared under [labels]",
                    source,
                    lines.find("target", "loss") or line,
                    "loss",
                )
            picked = f"log_softmax({out}, axis={axis})" + (".T" if axis == 0 else "")
            text = f"-mean({picked}[range({lab.length}), {target}])"
    key = f"loss {short(text.strip())!r}"
    try:
        expr = parse_expression(text, line or 0)
    except EquationError as err:
        raise _fail(err.problem, source, line, key) from None
    known.check_uses(expr, line or 0, key)
    return ProgramLoss(expr, text.strip(), line or 0, kind)


def _header(data: Mapping[str, object], source: str, lines: _Lines) -> tuple[str, str]:
    """The top-level keys checked; the program's name and convention."""
    for key in data:
        if key not in _TOP_KEYS and key != "equations":
            hint = _suggest(key, list(_TOP_KEYS))
            raise _fail(
                f"unknown key {key!r} in a program (allowed: {', '.join(_TOP_KEYS)}){hint}",
                source,
                lines.find(key),
                key,
            )
    title = data.get("name", printable(Path(source).stem, 60) if source else "program")
    if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
        raise _fail(
            f"name must be a text of at most {MAX_TITLE} characters",
            source,
            lines.find("name"),
            "name",
        )
    convention = data.get("convention", "row")
    if convention not in ("row", "column"):
        raise _fail(
            f'convention must be "row" or "column", got {short(repr(convention), 40)}',
            source,
            lines.find("convention"),
            "convention",
        )
    return title, str(convention)


def _declarations(
    data: Mapping[str, object], source: str, lines: _Lines
) -> tuple[_Names, dict[str, dict[str, Shape]], dict[str, Labels], dict[str, Hyper]]:
    """Inputs, labels, parameters, hyperparameters and sizes, each name checked."""
    known = _Names(source)
    tables: dict[str, dict[str, object]] = {}
    for key in ("inputs", "labels", "parameters", "hyperparameters"):
        tables[key] = _table(data, key, source, lines)

    def at(table: str, name: str) -> int | None:
        return lines.find(name, table)

    def guarded(fn, value: object, table: str, name: str):  # type: ignore[no-untyped-def]
        try:
            return fn(value, f"{table}.{name}")
        except SpecError as err:
            raise _fail(err.problem, source, at(table, name), err.key) from None

    shapes: dict[str, dict[str, Shape]] = {"inputs": {}, "parameters": {}}
    labels: dict[str, Labels] = {}
    hypers: dict[str, Hyper] = {}
    declared: list[tuple[str, Role, str]] = []
    for table, role in (("inputs", "input"), ("parameters", "parameter")):
        for name, value in tables[table].items():
            guarded(check_program_name, name, table, name)
            shapes[table][name] = guarded(shape_value, value, table, name)
            declared.append((name, role, table))  # type: ignore[arg-type]
    for name, value in tables["labels"].items():
        guarded(check_program_name, name, "labels", name)
        if not isinstance(value, dict) or set(value) != {"length", "classes"}:
            raise _fail(
                'labels are declared as {length = "N", classes = "C"}',
                source,
                at("labels", name),
                f"labels.{name}",
            )
        length = guarded(size_value, value["length"], "labels", name)
        classes = guarded(size_value, value["classes"], "labels", name)
        labels[name] = Labels(length, classes)
        declared.append((name, "label", "labels"))
    for name, value in tables["hyperparameters"].items():
        guarded(check_program_name, name, "hyperparameters", name)
        hypers[name] = guarded(hyper_value, value, "hyperparameters", name)
        declared.append((name, "hyperparameter", "hyperparameters"))
    for name, role, table in declared:
        known.declare(name, role, at(table, name), f"{table}.{name}")
    known.labels = labels
    size_names = [
        size_name(s)
        for shape in [*shapes["inputs"].values(), *shapes["parameters"].values()]
        for s in shape
        if isinstance(s, str)
    ]
    size_names += [
        s for lab in labels.values() for s in (lab.length, lab.classes) if isinstance(s, str)
    ]
    for size in dict.fromkeys(size_names):
        if size in known.roles:
            raise _fail(
                f"{size!r} is both a size and {_article(known.roles[size])} {known.roles[size]}",
                source,
                lines.find(size),
                size,
            )
        known.declare(size, "size", None, size)
    for name, value in hypers.items():
        if isinstance(value, str) and value != name and value in known.roles:
            raise _fail(
                f"the symbol {value!r} is already {_article(known.roles[value])} "
                f"{known.roles[value]}",
                source,
                at("hyperparameters", name),
                f"hyperparameters.{name}",
            )
    return known, shapes, labels, hypers


#: The most upstream gradients a program is given (one per output).
MAX_UPSTREAM = 8


def _upstream(data: Mapping[str, object], known: _Names, source: str, lines: _Lines) -> str | None:
    """The upstream gradient's name of a ``[backward]`` table (None without one)."""
    backward = data.get("backward")
    if backward is not None:
        if (
            not isinstance(backward, dict)
            or "upstream" not in backward
            or set(backward) - {"upstream", "output", "cache", "mode"}
        ):
            raise _fail(
                '[backward] holds upstream = "dout" and optionally output = "out" and '
                'cache = ["x", "mu", …] (a tuple) or {mean = "mu", …} (a dict) and mode = "train"',
                source,
                lines.table("backward") or lines.find("backward"),
                "backward",
            )
        up_line = lines.find("upstream", "backward")
        given = backward["upstream"]
        several = isinstance(given, list)
        if several and not 1 <= len(given) <= MAX_UPSTREAM:
            raise _fail(
                f"upstream lists one to {MAX_UPSTREAM} gradients, one per output",
                source,
                up_line,
                "backward.upstream",
            )
        all_given: list[str] = []
        for item in given if several else [given]:
            try:
                name = check_program_name(item, "backward.upstream")
            except SpecError as err:
                raise _fail(err.problem, source, up_line, err.key) from None
            if name in known.roles or name in all_given:
                kind = known.roles.get(name, "upstream gradient")
                raise _fail(
                    f"the upstream gradient {name!r} clashes with {_article(kind)} {kind} "
                    "of the same name",
                    source,
                    up_line,
                    "backward.upstream",
                )
            all_given.append(name)
        upstream: str | None = all_given[0]
        known.upstream = upstream
        known.more_upstream = all_given[1:]
    else:
        upstream = None
    return upstream


def _equations(
    data: Mapping[str, object], known: _Names, upstream: str | None, source: str, lines: _Lines
) -> tuple[Assign, ...]:
    """The equations read and their names checked, in order."""
    forward = data.get("forward")
    ftable: str | None = None
    if forward is not None:
        if not isinstance(forward, dict) or set(forward) != {"equations"}:
            raise _fail(
                '[forward] holds one key: equations = """…"""',
                source,
                lines.table("forward"),
                "forward",
            )
        raw, ftable = forward["equations"], "forward"
    else:
        raw = data.get("equations")
    equations: list[Assign] = []
    for body, line in _equation_lines(raw, source, lines, ftable):
        eq = _parse_equation(body, line, source)
        key = f"equation {short(eq.text)!r}"
        known.check_uses(eq.expr, line, key)
        if eq.target[1:] in known.roles and eq.target[0] == "d":
            raise _fail(
                f"{eq.target!r} would be the name of {eq.target[1:]}'s gradient; "
                "choose another name",
                source,
                line,
                key,
            )
        try:
            check_program_name(eq.target, key)
        except SpecError as err:
            raise _fail(err.problem, source, line, key) from None
        if eq.target == upstream or eq.target in known.more_upstream:
            raise _fail(
                f"{eq.target!r} is the upstream gradient, not a name to assign", source, line, key
            )
        has = known.roles.get(eq.target)
        if has == "intermediate":
            first = next(e.line for e in equations if e.target == eq.target)
            raise _fail(
                f"{eq.target!r} is assigned twice (first on line {first})", source, line, key
            )
        if has is not None:
            raise _fail(
                f"cannot assign to {eq.target!r}: it is {_article(has)} {has}",
                source,
                line,
                key,
            )
        known.declare(eq.target, "intermediate", line, key)
        equations.append(eq)
    if not equations:
        raise _fail(
            'the program has no equations: give [forward] equations = """…"""',
            source,
            lines.table("forward") or lines.find("equations"),
            "forward",
        )
    return tuple(equations)


def from_program_dict(data: Mapping[str, object], source: str = "", text: str = "") -> ProgramSpec:
    """A ProgramSpec from parsed TOML (``text``, when given, places errors on lines)."""
    lines = _Lines(text)
    title, convention = _header(data, source, lines)
    known, shapes, labels, hypers = _declarations(data, source, lines)
    upstream = _upstream(data, known, source, lines)
    sublayers = read_sublayers(
        data.get("sublayers"),
        _targets(data, source, lines),
        shapes["inputs"],
        lambda problem, line, key: _fail(problem, source, line, key),
        lambda name: lines.find(name, "sublayers") if name else lines.table("sublayers"),
    )
    stand_ins = expand(
        sublayers,
        known,
        shapes["inputs"],
        str(convention),
        lambda problem, line, key: _fail(problem, source, line, key),
    )
    eqs = (*stand_ins, *_equations(data, known, upstream, source, lines))
    check_steps(
        sublayers, known.roles, lambda problem, line, key: _fail(problem, source, line, key)
    )
    backward = data.get("backward")
    has_loss = "loss" in data
    if has_loss == (backward is not None):
        raise _fail(
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
            raise _fail(
                f"{1 + len(known.more_upstream)} upstream gradients need as many outputs: "
                'output = ["out1", "out2", …], one per upstream gradient, in order',
                source,
                lines.find("output", "backward") or lines.find("upstream", "backward"),
                "backward.output",
            )
        for out in outputs:
            if not isinstance(out, str) or known.roles.get(out) != "intermediate":
                raise _fail(
                    f"output {short(repr(out), 40)} is not the target of an equation",
                    source,
                    lines.find("output", "backward"),
                    "backward.output",
                )
        if len(set(outputs)) != len(outputs):
            raise _fail(
                "an output is listed twice",
                source,
                lines.find("output", "backward"),
                "backward.output",
            )
        output = outputs[0]
        more_upstream = tuple(zip(outputs[1:], known.more_upstream, strict=True))
        for out, up in more_upstream:
            if up[0] == "d" and up[1:] in known.roles and up[1:] != out:
                raise _fail(
                    f"the upstream gradient {up!r} would be the name of {up[1:]}'s "
                    f"gradient; name it after its output (d{out})",
                    source,
                    lines.find("upstream", "backward"),
                    "backward.upstream",
                )
        assert upstream is not None
        if upstream[0] == "d" and upstream[1:] in known.roles and upstream[1:] != output:
            raise _fail(
                f"the upstream gradient {upstream!r} would be the name of {upstream[1:]}'s "
                f"gradient; name it after the output (d{output})",
                source,
                lines.find("upstream", "backward"),
                "backward.upstream",
            )
        used = _depends([output, *(o for o, _ in more_upstream)], eqs)
        what = f"the output {output!r}" if not more_upstream else "the outputs"
        where = next(eq.line for eq in eqs if eq.target == output)
    else:
        loss = _loss(data, known, eqs, str(convention), source, lines)
        used = _depends([n.id for n in names(loss.expr)], eqs)
        what, where = "the loss", loss.line
    if not any(known.roles.get(n) in ("input", "parameter") for n in used):
        raise _fail(
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
    cache = _cache(backward, source, lines)
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
        cache_keys=_cache_keys(backward, source, lines),
        mode=_mode(backward, source, lines),
        mode_at=str(
            SpecError("", key="backward.mode", source=source, line=lines.find("mode", "backward"))
        ).removesuffix(": "),
        more_upstream=more_upstream,
        sublayers=tuple((sl.name, sl.input, sl.output) for sl in sublayers if not sl.absent),
        fixed=tuple(weight_name(sl.name) for sl in sublayers if sl.opaque),
        absent=tuple(sl.name for sl in sublayers if sl.absent),
    )


def _targets(data: Mapping[str, object], source: str, lines: _Lines) -> set[str]:
    """The names the equations assign, read ahead (a line that does not parse is left to
    the reading proper, which says why)."""
    forward = data.get("forward")
    raw = forward.get("equations") if isinstance(forward, dict) else data.get("equations")
    found: set[str] = set()
    try:
        for body, line in _equation_lines(raw, source, lines, None):
            found.add(parse_assign(body, line).target)
    except (SpecError, EquationError):
        pass
    return found


def _mode(backward: object, source: str, lines: _Lines) -> str:
    """``[backward] mode = "train"``: the mode this forward is (a word)."""
    if not isinstance(backward, dict) or "mode" not in backward:
        return ""
    value = backward["mode"]
    if not isinstance(value, str) or not value.isidentifier() or len(value) > 40:
        raise _fail(
            'mode is one word, e.g. mode = "train"',
            source,
            lines.find("mode", "backward"),
            "backward.mode",
        )
    return value


#: The most names of a forward's cache tuple.
MAX_CACHE = 32


def _cache_keys(backward: object, source: str, lines: _Lines) -> tuple[tuple[str, str], ...]:
    """``[backward] cache = {mean = "mu", axis = "layernorm"}``: a forward's cache dict,
    each key to the program's name of its value."""
    if not isinstance(backward, dict) or not isinstance(backward.get("cache"), dict):
        return ()
    table: dict[str, object] = backward["cache"]
    line = lines.find("cache", "backward")
    if not 0 < len(table) <= MAX_CACHE or not all(
        isinstance(k, str) and k.isidentifier() and len(k) <= 40 for k in table
    ):
        raise _fail(
            f"cache is a table of 1 to {MAX_CACHE} keys, each a name",
            source,
            line,
            "backward.cache",
        )
    try:
        return tuple((k, check_program_name(v, f"backward.cache.{k}")) for k, v in table.items())
    except SpecError as err:
        raise _fail(err.problem, source, line, err.key) from None


def _cache(backward: object, source: str, lines: _Lines) -> tuple[str, ...]:
    """``[backward] cache = ["x", "mu", "shape"]``: the forward's cache tuple in order;
    a name the program does not have (a shape, an axis) is kept and never bound."""
    if not isinstance(backward, dict) or "cache" not in backward:
        return ()
    value = backward["cache"]
    line = lines.find("cache", "backward")
    if isinstance(value, dict):
        return ()
    if not isinstance(value, list) or not 0 < len(value) <= MAX_CACHE:
        raise _fail(
            f"cache is a list of 1 to {MAX_CACHE} names (the forward's cache tuple, in order)",
            source,
            line,
            "backward.cache",
        )
    try:
        return tuple(check_program_name(v, "backward.cache") for v in value)
    except SpecError as err:
        raise _fail(err.problem, source, line, err.key) from None


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
        raise _fail(f"TOML syntax error{col}: {problem}", source, line) from None
    except (ValueError, RecursionError) as err:
        raise _fail(
            f"TOML value out of range or nested too deeply: {short(str(err))}", source, None
        ) from None
    if not is_program(data):
        raise _fail('not a forward program: give [forward] equations = """…"""', source, None)
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
