"""Expression mode: one matrix expression (``norm(X @ w - y)^2 + lambda * norm(w)^2``),
the names to differentiate for, and shapes given as ``--shape X=m,n`` flags, read into the
same ProgramSpec a TOML program gives (no equations; the expression is the loss).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from derive.spec.program_grammar import EquationError, Pick, names, parse_expression, walk
from derive.spec.program_records import (
    Hyper,
    ProgramLoss,
    ProgramSpec,
    Shape,
    Size,
    check_program_name,
    short,
    size_value,
)
from derive.spec.records import SpecError

SOURCE = "<expression>"


def _size(text: str, key: str) -> Size:
    word = text.strip()
    if not word:
        raise SpecError("a size is empty", key=key)
    return size_value(word, key)


def parse_shape_flag(text: str) -> tuple[str, Shape]:
    """``"X=m,n"`` -> ``("X", ("m", "n"))``; ``"w=n"`` -> ``("w", ("n",))``."""
    key = f"--shape {short(text, 60)!r}"
    if not isinstance(text, str) or "=" not in text:
        raise SpecError("expected NAME=SIZES, e.g. --shape X=m,n or --shape w=n,1", key=key)
    name, _, sizes = text.partition("=")
    name = check_program_name(name.strip(), key)
    parts = sizes.split(",")
    if not 1 <= len(parts) <= 2:
        raise SpecError(
            f"a shape has one or two sizes, got {len(parts)}, e.g. X=m,n or w=n", key=key
        )
    return name, tuple(_size(p, key) for p in parts)


def expression_program(
    expr: str,
    wrt: Sequence[str],
    shapes: Mapping[str, Shape],
    *,
    name: str = "expression",
    convention: str = "column",
) -> ProgramSpec:
    """The program of one expression: names with a shape are inputs, those in ``wrt`` the
    parameters, other names scalar hyperparameters (shown as themselves); the expression
    is the loss."""
    key = f"expression {short(str(expr).strip())!r}"
    if not isinstance(expr, str) or not expr.strip():
        raise SpecError("the expression is empty", key="expression")
    try:
        tree = parse_expression(expr, 1)
    except EquationError as err:
        raise SpecError(err.problem, key=key, source=SOURCE) from None
    if any(isinstance(p, Pick) for p in walk(tree)):
        raise SpecError(
            "one-hot indexing needs labels declared in a TOML program", key=key, source=SOURCE
        )
    used = list(dict.fromkeys(n.id for n in names(tree)))
    if not wrt:
        raise SpecError("give at least one name to differentiate for (--wrt)", key=key)
    for target in wrt:
        flag = f"--wrt {short(str(target), 40)}"
        if target not in used:
            raise SpecError(f"{target!r} does not appear in the expression", key=flag)
        if target not in shapes:
            raise SpecError(f"{target!r} has no shape; give --shape {target}=…", key=flag)
    checked: dict[str, Shape] = {}
    for label, shape in shapes.items():
        flag = f"--shape {short(str(label), 40)}"
        check_program_name(label, flag)
        if not 1 <= len(shape) <= 2:
            raise SpecError("a shape has one or two sizes", key=flag)
        checked[label] = tuple(_size(str(s), flag) for s in shape)
        if label not in used:
            raise SpecError(f"{label!r} does not appear in the expression", key=flag)
    sizes = {s for shape in checked.values() for s in shape if isinstance(s, str)}
    clash = sizes & set(checked)
    if clash:
        bad = sorted(clash)[0]
        raise SpecError(f"{bad!r} is both a size and a name with a shape", key=f"--shape {bad}")
    hypers: dict[str, Hyper] = {}
    for word in used:
        if word not in checked and word not in sizes:
            hypers[word] = check_program_name(word, key)
    inputs = {k: v for k, v in checked.items() if k not in wrt}
    parameters = {k: checked[k] for k in dict.fromkeys(wrt)}
    if convention not in ("row", "column"):
        raise SpecError('convention must be "row" or "column"', key="convention")
    return ProgramSpec(
        name=name,
        convention=convention,  # type: ignore[arg-type]
        inputs=inputs,
        labels={},
        parameters=parameters,
        hyperparameters=hypers,
        equations=(),
        upstream=None,
        output=None,
        loss=ProgramLoss(tree, expr.strip(), 1, "expression"),
        source=SOURCE,
    )
