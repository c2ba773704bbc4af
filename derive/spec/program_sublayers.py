"""A forward program's sub-layers: the layer objects a hand-written backward pass calls.

Residual blocks and attention layers are written as objects holding other layers:
``return dx_out + self.layer.backward(dx_out)``, ``self.softmax.backward(d_scores)``. A
program names them under ``[sublayers]``, each an inline table:

- ``softmax = { input = "S", output = "A" }``: the layer is a step of the equations
  (``A = softmax(S, axis=1)``); its ``.backward(d)`` is that step's vector-Jacobian
  product with respect to ``S``.
- ``layer = { input = "x", output = "Fx" }`` with ``Fx`` assigned by no equation: an opaque
  sub-layer ``Fx = F(x)``, for every F. The program holds it as a concrete smooth function,
  ``Fx = tanh(x @ W_layer)`` (``tanh(W_layer @ x)`` in the column convention) with a fixed
  random weight ``W_layer`` that gets no gradient: a backward pass right for every F is
  right for this one, and one that drops F's term shows. ``width`` (a size) gives F's output
  width when it is not the input's.

Only the reading is here (each mistake one error with file, line and key); the builder
uses the steps, the checker the ``(name, input, output)`` triples.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from derive.spec.program_grammar import Assign, EquationError, parse_assign
from derive.spec.program_records import MAX_NAMES, Shape, check_program_name, size_value
from derive.spec.records import SpecError

#: A layer's name (``self.NAME``).
_LAYER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
#: A table's keys.
_KEYS = ("input", "output", "width")


@dataclass(frozen=True)
class Sublayer:
    """A sub-layer: ``name`` (``self.name`` in a snippet) maps ``input`` to ``output``;
    ``opaque``: no equation computes it, the program holds its random stand-in."""

    name: str
    input: str
    output: str
    opaque: bool
    line: int | None = None
    #: An opaque sub-layer's output width (a size), None: its input's.
    width: int | str | None = None
    #: Declared absent (``projection = false``): a snippet's ``if self.projection:`` is false.
    absent: bool = False


def weight_name(layer: str) -> str:
    """The fixed random weight of an opaque sub-layer's stand-in."""
    return "W_" + layer.replace("_", "")


def read_sublayers(
    raw: object,
    targets: set[str],
    inputs: Mapping[str, Shape],
    fail: Callable[[str, int | None, str], SpecError],
    line_of: Callable[[str], int | None],
) -> list[Sublayer]:
    """The ``[sublayers]`` table read (``targets``: the names the equations assign, so an
    output no equation assigns is an opaque sub-layer, which needs an input of its own)."""
    if raw is None:
        return []
    if not isinstance(raw, dict):
        raise fail("[sublayers] must be a table", line_of(""), "sublayers")
    if len(raw) > MAX_NAMES:
        raise fail(f"more than {MAX_NAMES} sub-layers", line_of(""), "sublayers")
    out: list[Sublayer] = []
    for name, value in raw.items():
        key, line = f"sublayers.{name}", line_of(name)
        if not _LAYER.fullmatch(name):  # its own namespace: self.softmax beside softmax()
            raise fail(f"{name[:40]!r} is not a layer's name (letters, digits, _)", line, key)
        if value is False:  # the forward has no such layer: `if self.projection:` is false
            out.append(Sublayer(name, "", "", False, line, absent=True))
            continue
        if not isinstance(value, dict) or not {"input", "output"} <= set(value):
            raise fail(
                'a sub-layer is { input = "x", output = "y" }: the value it reads and the '
                "value it gives (or false: the program has no such layer)",
                line,
                key,
            )
        extra = sorted(set(value) - set(_KEYS))
        if extra:
            raise fail(f"unknown key {extra[0]!r} (known: {', '.join(_KEYS)})", line, key)
        inp, outp = value["input"], value["output"]
        if not isinstance(inp, str) or not isinstance(outp, str):
            raise fail("input and output are names (strings)", line, key)
        opaque = outp not in targets
        if opaque:
            try:
                check_program_name(weight_name(name), key)
            except SpecError as err:
                raise fail(err.problem, line, key) from None
        if opaque and inp not in inputs:
            raise fail(
                f"{outp!r} is assigned by no equation, so {name} is an opaque sub-layer; "
                f"its input must be one of [inputs], not {inp!r}",
                line,
                key,
            )
        if not opaque and "width" in value:
            raise fail(
                f"width is only for an opaque sub-layer; {outp!r} is an equation's", line, key
            )
        width = None
        if "width" in value:
            try:
                width = size_value(value["width"], f"{key}.width")
            except SpecError as err:
                raise fail(err.problem, line, key) from None
        if any(s.output == outp for s in out):
            raise fail(f"{outp!r} is the output of two sub-layers", line, key)
        out.append(Sublayer(name, inp, outp, opaque, line, width))
    return out


def stand_in(layer: Sublayer, shape: Shape, convention: str) -> tuple[Shape, Assign]:
    """An opaque sub-layer's random weight shape and its equation."""
    if len(shape) != 2:
        raise EquationError(f"the input {layer.input!r} of an opaque sub-layer must be a matrix")
    wide = layer.width if layer.width is not None else shape[1 if convention == "row" else 0]
    w = weight_name(layer.name)
    if convention == "row":
        text, w_shape = f"{layer.output} = tanh({layer.input} @ {w})", (shape[1], wide)
    else:
        text, w_shape = f"{layer.output} = tanh({w} @ {layer.input})", (wide, shape[0])
    return w_shape, parse_assign(text, layer.line or 0)


def expand(
    sublayers: list[Sublayer],
    known: Any,
    inputs: dict[str, Shape],
    convention: str,
    fail: Callable[[str, int | None, str], SpecError],
) -> list[Assign]:
    """Each opaque sub-layer's stand-in: its weight declared as a fixed input, its output
    as an intermediate (``known``: the program reader's names), its equation returned."""
    out: list[Assign] = []
    for layer in sublayers:
        if not layer.opaque or layer.absent:
            continue
        key = f"sublayers.{layer.name}"
        try:
            w_shape, eq = stand_in(layer, inputs[layer.input], convention)
        except EquationError as err:
            raise fail(err.problem, layer.line, key) from None
        for size in w_shape:
            if isinstance(size, str) and known.roles.get(size.split("*")[-1], "size") != "size":
                raise fail(f"the width {size!r} is already a name of the program", layer.line, key)
            if isinstance(size, str):
                known.declare(size.split("*")[-1], "size", layer.line, key)
        known.declare(weight_name(layer.name), "input", layer.line, key)
        known.declare(layer.output, "intermediate", layer.line, key)
        inputs[weight_name(layer.name)] = w_shape
        out.append(eq)
    return out


def check_steps(
    sublayers: list[Sublayer],
    roles: Mapping[str, str],
    fail: Callable[[str, int | None, str], SpecError],
) -> None:
    """A step sub-layer's input is a matrix value of the program (read after the equations)."""
    for layer in sublayers:
        if layer.opaque or layer.absent:
            continue
        if roles.get(layer.input) not in ("input", "parameter", "intermediate"):
            raise fail(
                f"the input {layer.input!r} is not an input, parameter or equation of the program",
                layer.line,
                f"sublayers.{layer.name}",
            )
