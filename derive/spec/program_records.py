"""The records of a forward program (``ProgramSpec``) and the checks of its declared
values: names, sizes, shapes and hyperparameters.

``program`` reads TOML into these records, ``program_expr`` one expression; both place
the SpecErrors raised here on the line of the spec they come from.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Literal, Union

from derive.spec.program_grammar import FUNCTIONS, KEYWORDS, Assign, Expr
from derive.spec.records import MAX_INT, SpecError, check_name

Size = Union[int, str]  # noqa: UP007 - a runtime alias
Shape = tuple[Size, ...]
Hyper = Union[int, float, str]  # noqa: UP007
Role = Literal["input", "label", "parameter", "hyperparameter", "size", "intermediate"]

#: Built-in forward programs (derive/examples/<name>.toml).
PROGRAM_EXAMPLES = (
    "batchnorm",
    "layernorm",
    "ridge",
    "logreg",
    "softmax_layer",
    "rnn",
    "lstm",
    "attention",
)
#: At most this many equations, and declared names (inputs, labels, parameters and
#: hyperparameters), in one program.
MAX_EQUATIONS = 400
MAX_NAMES = 256
#: The largest concrete size.
MAX_SIZE = 10**6
#: Names a network spec reserves for its own layers that mean nothing special in a
#: program, where X, W, b or lambda are what users write.
PROGRAM_NAMES = frozenset(
    {"X", "Y", "W", "b", "Z", "A", "K", "x", "l", "m", "delta", "alpha", "lambda"}
)


@dataclass(frozen=True)
class Labels:
    """Integer class labels: ``length`` of them, each in ``range(classes)``."""

    length: Size
    classes: Size


@dataclass(frozen=True)
class ProgramLoss:
    """The scalar a program is differentiated for; ``kind`` is ``expression`` or a named
    loss (``mse``, ``cross_entropy``) written out as the expression ``text``."""

    expr: Expr
    text: str
    line: int = field(default=0, compare=False)
    kind: str = "expression"


@dataclass(frozen=True)
class ProgramSpec:
    """A validated forward program. Shapes are tuples of sizes (an int or a size symbol);
    one-element shapes are kept as given (``convention`` decides row or column).

    Exactly one of ``upstream`` (a layer's backward pass: the cotangent of ``output`` is
    the given input ``upstream``) and ``loss`` is set. ``warnings`` lists what is computed
    and not used (not an error). ``cache``: the names of the forward's cache tuple in its
    order (``[backward] cache = [...]``), so that a backward pass unpacking it under its
    own names (``gamma, x, u_b, … = cache``) is read by position; ``cache_keys``: a cache
    dict's keys, each to the program's name (``cache['mean']`` is ``mu``).
    """

    name: str
    convention: Literal["row", "column"]
    inputs: dict[str, Shape]
    labels: dict[str, Labels]
    parameters: dict[str, Shape]
    hyperparameters: dict[str, Hyper]
    equations: tuple[Assign, ...]
    upstream: str | None
    output: str | None
    loss: ProgramLoss | None
    source: str = ""
    warnings: tuple[str, ...] = ()
    cache: tuple[str, ...] = ()
    #: A forward's cache dict (``[backward] cache = {mean = "mu"}``): each key's name.
    cache_keys: tuple[tuple[str, str], ...] = ()
    #: The mode this forward is (``[backward] mode = "train"``): a checked snippet's
    #: ``if mode == 'train':`` chain is read for it.
    mode: str = ""
    #: Where ``mode`` is written (``spec.toml:12: backward.mode``), for a message that
    #: refuses it (a word no branch of the checked snippet compares with).
    mode_at: str = ""
    #: Further outputs with their given gradients (``upstream = ["dnext_h", "dnext_c"]``,
    #: ``output = ["next_h", "next_c"]``): (output, upstream) after the first pair.
    more_upstream: tuple[tuple[str, str], ...] = ()
    #: The layer objects a backward pass calls (``self.softmax.backward(d)``): (name,
    #: input, output) each (``program_sublayers``).
    sublayers: tuple[tuple[str, str, str], ...] = ()
    #: Inputs that get no gradient: an opaque sub-layer's fixed random weight.
    fixed: tuple[str, ...] = ()
    #: Sub-layers the forward does not have (``projection = false``).
    absent: tuple[str, ...] = ()

    @property
    def sizes(self) -> tuple[str, ...]:
        """The size symbols, in order of first appearance."""
        found: list[str] = []
        for shape in [*self.inputs.values(), *self.parameters.values()]:
            found += [s for s in shape if isinstance(s, str)]
        for lab in self.labels.values():
            found += [s for s in (lab.length, lab.classes) if isinstance(s, str)]
        return tuple(dict.fromkeys(found))

    @property
    def targets(self) -> tuple[str, ...]:
        """The names the equations assign, in order."""
        return tuple(eq.target for eq in self.equations)

    def role(self, name: str) -> Role | None:
        """What ``name`` is in this program, or None."""
        for role, table in (
            ("input", self.inputs),
            ("label", self.labels),
            ("parameter", self.parameters),
            ("hyperparameter", self.hyperparameters),
        ):
            if name in table:
                return role  # type: ignore[return-value]
        if name in self.sizes:
            return "size"
        return "intermediate" if name in self.targets else None


def short(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters, for one-line messages."""
    return text if len(text) <= limit else text[: limit - 6] + "…" + text[-5:]


def check_program_name(value: object, key: str) -> str:
    """A user's name in a program: a valid symbol that is no function or reserved word."""
    name = check_name(value, key, allow=PROGRAM_NAMES)
    if name in FUNCTIONS or name in KEYWORDS:
        raise SpecError(f"{name!r} is a function or a word of the equations", key=key)
    return name


def size_value(value: object, key: str) -> Size:
    """A size: a positive integer (at most MAX_SIZE) or a size symbol's name."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise SpecError(
            f"a size is a positive integer or a symbol name, got {short(repr(value), 40)}",
            key=key,
        )
    if isinstance(value, int):
        if not 1 <= value <= MAX_SIZE:
            raise SpecError(f"a size must be between 1 and {MAX_SIZE}, got {value}", key=key)
        return value
    if value.isdigit() and len(value) <= 7:
        return size_value(int(value), key)
    multiple = SIZE_MULTIPLE.fullmatch(value.replace(" ", ""))
    if multiple:  # "4*H": the stacked gates of an LSTM, (D, 4H)
        factor, name = int(multiple.group(1)), multiple.group(2)
        if not 1 <= factor <= MAX_SIZE_FACTOR:
            raise SpecError(
                f"a size's factor must be between 1 and {MAX_SIZE_FACTOR}, got {factor}", key=key
            )
        return f"{factor}*{check_program_name(name, key)}"
    return check_program_name(value, key)


#: ``k*NAME``: a whole multiple of a size symbol (the LSTM's 4H stacked gates).
SIZE_MULTIPLE = re.compile(r"([0-9]{1,3})\*([A-Za-z_][A-Za-z0-9_]*)")
MAX_SIZE_FACTOR = 64


def size_name(size: str) -> str:
    """The size symbol a size names: ``H`` for ``"4*H"``."""
    return size.split("*", 1)[1] if "*" in size else size


def shape_value(value: object, key: str) -> Shape:
    """A shape: a list of one or two sizes, as a tuple."""
    if not isinstance(value, list) or not 1 <= len(value) <= 2:
        raise SpecError(
            'a shape is a list of one or two sizes, e.g. ["N", "D"] or [1, "D"]', key=key
        )
    return tuple(size_value(v, key) for v in value)


def hyper_value(value: object, key: str) -> Hyper:
    """A hyperparameter: a finite bounded number or the name of the symbol shown."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise SpecError("a hyperparameter is a number or a symbol name", key=key)
    if isinstance(value, float) and not math.isfinite(value):
        raise SpecError(f"a hyperparameter must be finite, got {value}", key=key)
    if isinstance(value, int | float) and abs(value) > MAX_INT:
        raise SpecError("the number is too large (limit 1e15)", key=key)
    if isinstance(value, str):
        return check_name(value, key, allow=PROGRAM_NAMES)
    return value
