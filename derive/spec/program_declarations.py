"""The tables of a forward program before its equations: its header and its declarations.

``read_header`` checks the top-level keys, the program's name and its convention;
``read_declarations`` reads ``[inputs]``, ``[labels]``, ``[parameters]`` and
``[hyperparameters]`` into shapes, labels and hyperparameters, and declares each name
(and each size the shapes use) in the program's ``Names``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from derive.spec.program_names import Lines, Names, article, fail, name_table, suggest
from derive.spec.program_records import (
    Hyper,
    Labels,
    Role,
    Shape,
    check_program_name,
    hyper_value,
    shape_value,
    short,
    size_name,
    size_value,
)
from derive.spec.reading import printable
from derive.spec.records import MAX_TITLE, SpecError

TOP_KEYS = (
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


def read_header(data: Mapping[str, object], source: str, lines: Lines) -> tuple[str, str]:
    """The top-level keys checked; the program's name and convention."""
    for key in data:
        if key not in TOP_KEYS and key != "equations":
            hint = suggest(key, list(TOP_KEYS))
            raise fail(
                f"unknown key {key!r} in a program (allowed: {', '.join(TOP_KEYS)}){hint}",
                source,
                lines.find(key),
                key,
            )
    title = data.get("name", printable(Path(source).stem, 60) if source else "program")
    if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
        raise fail(
            f"name must be a text of at most {MAX_TITLE} characters",
            source,
            lines.find("name"),
            "name",
        )
    convention = data.get("convention", "row")
    if convention not in ("row", "column"):
        raise fail(
            f'convention must be "row" or "column", got {short(repr(convention), 40)}',
            source,
            lines.find("convention"),
            "convention",
        )
    return title, str(convention)


def read_declarations(
    data: Mapping[str, object], source: str, lines: Lines
) -> tuple[Names, dict[str, dict[str, Shape]], dict[str, Labels], dict[str, Hyper]]:
    """Inputs, labels, parameters, hyperparameters and sizes, each name checked."""
    known = Names(source)
    tables: dict[str, dict[str, object]] = {}
    for key in ("inputs", "labels", "parameters", "hyperparameters"):
        tables[key] = name_table(data, key, source, lines)

    def at(table: str, name: str) -> int | None:
        return lines.find(name, table)

    def guarded(fn, value: object, table: str, name: str):  # type: ignore[no-untyped-def]
        try:
            return fn(value, f"{table}.{name}")
        except SpecError as err:
            raise fail(err.problem, source, at(table, name), err.key) from None

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
            raise fail(
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
            raise fail(
                f"{size!r} is both a size and {article(known.roles[size])} {known.roles[size]}",
                source,
                lines.find(size),
                size,
            )
        known.declare(size, "size", None, size)
    for name, value in hypers.items():
        if isinstance(value, str) and value != name and value in known.roles:
            raise fail(
                f"the symbol {value!r} is already {article(known.roles[value])} "
                f"{known.roles[value]}",
                source,
                at("hyperparameters", name),
                f"hyperparameters.{name}",
            )
    return known, shapes, labels, hypers
