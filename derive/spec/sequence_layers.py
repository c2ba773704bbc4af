"""Recurrent and attention layers of the network spec (issue 15): ``type = "rnn"``,
``"lstm"``, ``"attention"``.

A network spec whose layers include one of them is a sequence model; this module says
which specs are (and where they are loaded from), and ``sequence_reader`` reads one, key
by key, into the forward program ``derive.spec.sequence`` writes (the same
equations as ``rnn_program``/``lstm_program``/``attention_program``), and derived,
printed, exported and verified as that program: not a second engine.

TOML (rows are samples, ``convention = "row"``):

- ``input`` is the width of one step's input ``X_t`` (N×input), ``batch`` the rows N.
- ``[[layers]] type = "rnn"`` (or ``"lstm"``) must be the first layer: it reads the
  sequence. ``steps = T`` is the time axis (required, 1 to 50), ``hidden`` the width of
  ``h_t`` (default ``"H"``), ``activation`` (rnn only: tanh, sigmoid or relu),
  ``loss_at = "every"`` (a loss at each step, summed over t) or ``"last"``.
- An optional ``[[layers]] type = "dense"`` after it is the read-out
  ``S_t = h_t W_hy + b_y`` shared over time, of ``width`` classes: ``activation =
  "softmax"`` with ``loss = "cross_entropy"``, ``"identity"`` with ``"squared_error"``.
  Without a read-out, ``loss = "upstream"``: a layer's backward pass given ``dh_T``.
- ``[[layers]] type = "attention"`` is the only layer: ``seq`` rows (default ``"n"``),
  ``input`` the model width, ``d_k``, ``d_v``; ``loss = "upstream"`` (``dout`` given) or
  ``"squared_error"`` against targets ``T_out``. ``causal = true`` is not supported yet.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from derive.spec.reading import (
    LAYER_TYPES,
    LayerType,
    example_text,
    printable,
    read_spec_file,
)
from derive.spec.records import AnyLayer, SpecError
from derive.spec.sequence_reader import (
    SEQUENCE_KEYS,
    SequenceSpec,
    from_sequence_dict,
    is_sequence_layer,
)

__all__ = [
    "SEQUENCE_EXAMPLES",
    "SEQUENCE_KEYS",
    "SequenceSpec",
    "from_sequence_dict",
    "is_sequence_spec",
    "load_sequence",
]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

#: Built-in examples in the layer form.
SEQUENCE_EXAMPLES = ("rnn_net", "lstm_net", "attention_net")


def _elsewhere(kind: str) -> LayerType:
    """The network reader meets a sequence layer only when called directly (``derive.api``):
    it says where such a spec is read."""

    def read(raw: Mapping[str, Any], key: str, i: int) -> AnyLayer:
        raise SpecError(
            f"a {kind} layer makes the spec a sequence model, derived as a forward program: "
            "use derive_program (the CLI does this itself)",
            key="type",
        )

    return LayerType(SEQUENCE_KEYS[kind], read)


for _kind in SEQUENCE_KEYS:
    LAYER_TYPES[_kind] = _elsewhere(_kind)


def is_sequence_spec(data: object) -> bool:
    """Whether parsed TOML is a network spec with an rnn, lstm or attention layer."""
    if not isinstance(data, Mapping) or "forward" in data or "equations" in data:
        return False
    layers = data.get("layers")
    return isinstance(layers, list) and any(is_sequence_layer(raw) for raw in layers)


def load_sequence(spec: str | Path) -> SequenceSpec | None:
    """The sequence model of a built-in example or TOML file in the layer form, else None
    (not one: the other readers say what it is)."""
    name = str(spec)
    if name in SEQUENCE_EXAMPLES:
        text, source = example_text(name), f"<example {name}>"
    else:
        try:
            text = read_spec_file(name)
        except SpecError:
            return None
        source = printable(name)
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError, RecursionError):
        return None
    if not is_sequence_spec(data):
        return None
    return from_sequence_dict(data, source=source, text=text)
