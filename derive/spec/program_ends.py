"""What a forward program ends with: a ``[loss]``, or a ``[backward]`` table.

``read_loss`` reads the loss (an expression, or a named loss written out as one);
``read_upstream`` the upstream gradients a layer's backward pass is given (one per
output); ``read_mode``, ``read_cache`` and ``read_cache_keys`` the rest of ``[backward]``
(the forward's mode word and its cache tuple or dict).
"""

from __future__ import annotations

from collections.abc import Mapping

from derive.spec.program_grammar import Assign, EquationError, parse_expression
from derive.spec.program_names import Lines, Names, article, fail, suggest
from derive.spec.program_records import ProgramLoss, check_program_name, short
from derive.spec.records import SpecError

#: The named losses a ``[loss]`` table may give instead of an expression.
NAMED_LOSSES = ("mse", "cross_entropy")


def read_loss(
    data: Mapping[str, object],
    known: Names,
    equations: tuple[Assign, ...],
    convention: str,
    source: str,
    lines: Lines,
) -> ProgramLoss:
    """The ``[loss]`` table: an expression, or a named loss written out as one."""
    table = data["loss"]
    if isinstance(table, str):
        table = {"expression": table}
    if not isinstance(table, dict):
        raise fail("[loss] must be a table", source, lines.find("loss"), "loss")
    allowed = {"expression", "name", "output", "target"}
    for key in table:
        if key not in allowed:
            hint = suggest(key, sorted(allowed))
            raise fail(
                f"unknown key {key!r} in [loss] (allowed: {', '.join(sorted(allowed))}){hint}",
                source,
                lines.find(key, "loss"),
                "loss",
            )
    if ("expression" in table) == ("name" in table):
        raise fail(
            '[loss] needs either expression = "…" or name = "mse"|"cross_entropy"',
            source,
            lines.table("loss") or lines.find("loss"),
            "loss",
        )
    if "expression" in table:
        text, kind = table["expression"], "expression"
        line = lines.find("expression", "loss")
        if not isinstance(text, str):
            raise fail("the loss expression must be a string", source, line, "loss")
    else:
        kind = table["name"]
        line = lines.find("name", "loss")
        if kind not in NAMED_LOSSES:
            raise fail(
                f"unknown loss {kind!r} (known: {', '.join(NAMED_LOSSES)}, or expression = …)"
                + suggest(str(kind), list(NAMED_LOSSES)),
                source,
                line,
                "loss",
            )
        out = table.get("output", equations[-1].target if equations else None)
        target = table.get("target")
        for key, value in (("output", out), ("target", target)):
            if not isinstance(value, str) or value not in known.roles:
                raise fail(
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
                raise fail(
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
        raise fail(err.problem, source, line, key) from None
    known.check_uses(expr, line or 0, key)
    return ProgramLoss(expr, text.strip(), line or 0, kind)


#: The most upstream gradients a program is given (one per output).
MAX_UPSTREAM = 8


def read_upstream(
    data: Mapping[str, object], known: Names, source: str, lines: Lines
) -> str | None:
    """The upstream gradient's name of a ``[backward]`` table (None without one)."""
    backward = data.get("backward")
    if backward is not None:
        if (
            not isinstance(backward, dict)
            or "upstream" not in backward
            or set(backward) - {"upstream", "output", "cache", "mode"}
        ):
            raise fail(
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
            raise fail(
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
                raise fail(err.problem, source, up_line, err.key) from None
            if name in known.roles or name in all_given:
                kind = known.roles.get(name, "upstream gradient")
                raise fail(
                    f"the upstream gradient {name!r} clashes with {article(kind)} {kind} "
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


def read_mode(backward: object, source: str, lines: Lines) -> str:
    """``[backward] mode = "train"``: the mode this forward is (a word)."""
    if not isinstance(backward, dict) or "mode" not in backward:
        return ""
    value = backward["mode"]
    if not isinstance(value, str) or not value.isidentifier() or len(value) > 40:
        raise fail(
            'mode is one word, e.g. mode = "train"',
            source,
            lines.find("mode", "backward"),
            "backward.mode",
        )
    return value


#: The most names of a forward's cache tuple.
MAX_CACHE = 32


def read_cache_keys(backward: object, source: str, lines: Lines) -> tuple[tuple[str, str], ...]:
    """``[backward] cache = {mean = "mu", axis = "layernorm"}``: a forward's cache dict,
    each key to the program's name of its value."""
    if not isinstance(backward, dict) or not isinstance(backward.get("cache"), dict):
        return ()
    table: dict[str, object] = backward["cache"]
    line = lines.find("cache", "backward")
    if not 0 < len(table) <= MAX_CACHE or not all(
        isinstance(k, str) and k.isidentifier() and len(k) <= 40 for k in table
    ):
        raise fail(
            f"cache is a table of 1 to {MAX_CACHE} keys, each a name",
            source,
            line,
            "backward.cache",
        )
    try:
        return tuple((k, check_program_name(v, f"backward.cache.{k}")) for k, v in table.items())
    except SpecError as err:
        raise fail(err.problem, source, line, err.key) from None


def _cached(value: object) -> str:
    """One entry of a cache tuple: a name, or ``x.shape`` (the forward cached a value's
    shape, as CS231n's ``shape = bn_param.get('shape', (N, D))``)."""
    if isinstance(value, str) and value.endswith(".shape"):
        return check_program_name(value.removesuffix(".shape"), "backward.cache") + ".shape"
    return check_program_name(value, "backward.cache")


def read_cache(backward: object, source: str, lines: Lines) -> tuple[str, ...]:
    """``[backward] cache = ["x", "mu", "x.shape"]``: the forward's cache tuple in order;
    a name the program does not have (an axis) is kept and never bound, ``x.shape`` is
    the shape of the program's ``x``."""
    if not isinstance(backward, dict) or "cache" not in backward:
        return ()
    value = backward["cache"]
    line = lines.find("cache", "backward")
    if isinstance(value, dict):
        return ()
    if not isinstance(value, list) or not 0 < len(value) <= MAX_CACHE:
        raise fail(
            f"cache is a list of 1 to {MAX_CACHE} names (the forward's cache tuple, in order)",
            source,
            line,
            "backward.cache",
        )
    try:
        return tuple(_cached(v) for v in value)
    except SpecError as err:
        raise fail(err.problem, source, line, err.key) from None
