"""One sequence model's spec read key by key into the programs that ``derive.spec.sequence``
writes (issue 15): the unrolled network, and for a recurrent layer its two one-step
programs. Every problem is one ``SpecError`` with the file, line and key that caused it;
``sequence_layers`` decides which specs come here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from derive.spec.program import loads_program
from derive.spec.program_records import ProgramSpec
from derive.spec.reading import _default_name, _Locator
from derive.spec.records import SpecError, _short
from derive.spec.sequence import MAX_STEPS, Recurrent, attention_text, recurrent_text, step_text

#: The layer types that make a spec a sequence model, and the keys of each.
SEQUENCE_KEYS = {
    "rnn": frozenset({"type", "steps", "hidden", "activation", "loss_at"}),
    "lstm": frozenset({"type", "steps", "hidden", "loss_at"}),
    "attention": frozenset({"type", "seq", "d_k", "d_v", "causal"}),
}
_TOP = frozenset({"name", "input", "batch", "convention", "layers", "loss"})
#: A loss name of the spec and the read-out it needs (None: no read-out).
_LOSSES = {"cross_entropy": "softmax", "squared_error": "identity", "upstream": None}
#: The sequence's loss names in the program writers.
_WRITER_LOSS = {"cross_entropy": "cross_entropy", "squared_error": "mse", "upstream": "upstream"}


def is_sequence_layer(raw: object) -> bool:
    """Whether a layer table is an rnn, lstm or attention layer (any value may be there)."""
    if not isinstance(raw, Mapping):
        return False
    kind = raw.get("type")
    return isinstance(kind, str) and kind in SEQUENCE_KEYS


@dataclass(frozen=True)
class SequenceSpec:
    """A sequence model read from the layer form: the unrolled program, and for a
    recurrent layer the two one-step programs its generic-T form is derived from."""

    program: ProgramSpec
    kind: str
    interior: ProgramSpec | None = None
    boundary: ProgramSpec | None = None


class _Reader:
    """Reads one spec, failing with the file, line and key of the first problem."""

    def __init__(self, data: Mapping[str, Any], source: str, text: str):
        self.data, self.source, self.loc = data, source, _Locator(text)

    def fail(self, problem: str, key: str, layer: int | None = None, sub: str = "") -> SpecError:
        if layer is not None:
            line = self.loc.find(sub or "type", layer=layer)
        elif "." in key:
            line = self.loc.find(key.split(".")[-1], table=key.split(".")[0])
        else:
            line = self.loc.find(key)
        return SpecError(problem, key=key, source=self.source, line=line)

    def read(self) -> SequenceSpec:
        data = self.data
        unknown = sorted(set(data) - _TOP)
        if unknown:
            raise self.fail(
                f"unknown key {_short(unknown[0])} for a sequence model "
                f"(allowed: {', '.join(sorted(_TOP))})",
                unknown[0],
            )
        if data.get("convention", "row") != "row":
            raise self.fail(
                "a sequence model is written with rows as samples: convention must be "
                f'"row", got {_short(data.get("convention"))}',
                "convention",
            )
        layers = data["layers"]
        for i, raw in enumerate(layers, start=1):
            if not isinstance(raw, Mapping):
                raise self.fail("each layer must be a table", f"layers[{i}]", i)
        where = next(i for i, raw in enumerate(layers, 1) if is_sequence_layer(raw))
        kind = str(layers[where - 1]["type"])
        if where != 1:
            before = layers[0].get("type", "dense")
            raise self.fail(
                f"a{'n' if kind[0] in 'al' else ''} {kind} layer reads the input sequence: "
                f"it must be the first layer (layers[1] is {_short(before)}, whose output has "
                "no time axis)",
                f"layers[{where}].type",
                where,
            )
        raw = layers[0]
        unknown = sorted(set(raw) - SEQUENCE_KEYS[kind])
        if unknown:
            raise self.fail(
                f"unknown key {_short(unknown[0])} for a{'n' if kind[0] in 'al' else ''} "
                f"{kind} layer (allowed: {', '.join(sorted(SEQUENCE_KEYS[kind]))})",
                f"layers[1].{unknown[0]}",
                1,
                unknown[0],
            )
        if kind == "attention":
            return self._attention(raw, layers)
        return self._recurrent(kind, raw, layers)

    def _loss_key(self) -> str:
        return "loss.name" if isinstance(self.data.get("loss"), Mapping) else "loss"

    def _loss(self) -> str:
        loss = self.data.get("loss", "upstream")
        if isinstance(loss, Mapping):
            extra = sorted(set(loss) - {"name"})
            if extra:
                raise self.fail(
                    f"unknown key {_short(extra[0])} for a sequence model's loss (allowed: name)",
                    f"loss.{extra[0]}",
                )
            loss = loss.get("name", "upstream")
        if not isinstance(loss, str) or loss not in _LOSSES:
            raise self.fail(
                f"a sequence model's loss is one of {', '.join(_LOSSES)}; got {_short(loss)}",
                self._loss_key(),
            )
        return str(loss)

    def _build(self, write: Any, where: str, layer: int, **options: Any) -> str:
        """A writer's text; its own checks (sizes, names, the activation) become this
        layer's key and line."""
        try:
            return str(write(**options))
        except SpecError as err:
            sub = err.key.split(".")[-1] if err.key else "type"
            sub = {"at": "loss_at", "model": "input", "batch": "batch"}.get(sub, sub)
            if sub in ("input", "batch"):
                raise self.fail(err.problem, sub) from None
            if sub in ("classes",):
                raise self.fail(err.problem, "layers[2].width", 2, "width") from None
            if sub in ("key", "value"):
                sub = {"key": "d_k", "value": "d_v"}[sub]
            raise self.fail(err.problem, f"{where}.{sub}", layer, sub) from None

    def _recurrent(self, kind: str, raw: Mapping[str, Any], layers: list[Any]) -> SequenceSpec:
        if "steps" not in raw:
            raise self.fail(
                f"an {kind} layer needs steps = T, its time axis (how many steps the "
                f"sequence has, 1 to {MAX_STEPS[kind]})",
                "layers[1].steps",
                1,
            )
        loss = self._loss()
        readout = _LOSSES[loss]
        classes: object = "C"
        if len(layers) > 2:
            raise self.fail(
                f"after an {kind} layer only one dense read-out layer can follow",
                "layers[3].type",
                3,
            )
        if len(layers) == 2:
            out = layers[1]
            if out.get("type", "dense") != "dense":
                raise self.fail(
                    f"after an {kind} layer only a dense read-out can follow, "
                    f"got {_short(out.get('type'))}",
                    "layers[2].type",
                    2,
                )
            extra = sorted(set(out) - {"type", "width", "activation"})
            if extra:
                raise self.fail(
                    f"unknown key {_short(extra[0])} for the read-out (allowed: activation, "
                    "type, width)",
                    f"layers[2].{extra[0]}",
                    2,
                    extra[0],
                )
            act = out.get("activation", "softmax")
            if readout is None or act != readout:
                need = (
                    "no read-out (the gradient of the last hidden state is given)"
                    if readout is None
                    else f'a read-out with activation = "{readout}"'
                )
                raise self.fail(
                    f"loss {loss} does not fit a read-out with activation {_short(act)}: "
                    f"it needs {need}",
                    self._loss_key(),
                )
            classes = out.get("width", "C")
        elif readout is not None:
            raise self.fail(
                f"loss {loss} needs a dense read-out layer after the {kind} layer "
                f'(activation = "{readout}"); without one, use loss = "upstream"',
                self._loss_key(),
            )
        at = raw.get("loss_at", "every")
        if loss == "upstream" and at != "last" and "loss_at" in raw:
            raise self.fail(
                'loss = "upstream" gives the gradient of the last hidden state only: '
                'loss_at must be "last"',
                "layers[1].loss_at",
                1,
                "loss_at",
            )
        net = Recurrent(
            batch=self.data.get("batch", "N"),
            input=self.data.get("input", "D"),
            hidden=raw.get("hidden", "H"),
            classes=classes,  # type: ignore[arg-type]  # checked by the writer
            activation=raw.get("activation", "tanh"),
            loss=_WRITER_LOSS[loss],
        )
        steps = raw["steps"]
        name = self.data.get("name", _default_name(self.source))
        text = self._build(
            recurrent_text, "layers[1]", 1, kind=kind, steps=steps, net=net, at=at, name=name
        )
        where = {
            "batch": ("batch", None),
            "input": ("input", None),
            "hidden": ("layers[1].hidden", 1),
            "classes": ("layers[2].width", 2),
        }
        named = {getattr(net, k): v for k, v in where.items() if isinstance(getattr(net, k), str)}
        every = at == "every" and loss != "upstream"
        return SequenceSpec(
            self._load(text, named),
            kind,
            self._load(step_text(kind, net, future=True, step_loss=every), named),
            self._load(step_text(kind, net, future=False, step_loss=True), named),
        )

    def _load(self, text: str, named: dict[Any, tuple[str, int | None]]) -> ProgramSpec:
        """The written program; a size name that is also one of its values (``hidden =
        "h_1"``) is refused at the key that gave it."""
        try:
            return loads_program(text, source=self.source)
        except SpecError as err:
            for value, (key, layer) in named.items():
                if f"'{value}'" in err.problem:
                    raise self.fail(
                        f"the size name {_short(value)} is also a name of the model's "
                        "equations: choose another",
                        key,
                        layer,
                        key.split(".")[-1],
                    ) from None
            raise self.fail(
                f"cannot write this model: {err.problem}", "layers[1].type", 1
            ) from None

    def _attention(self, raw: Mapping[str, Any], layers: list[Any]) -> SequenceSpec:
        if len(layers) > 1:
            raise self.fail(
                "an attention layer is the whole model here: no layer can follow it",
                "layers[2].type",
                2,
            )
        if raw.get("causal", False) is not False:
            raise self.fail(
                "causal masking is not supported yet: leave causal out or set it to false",
                "layers[1].causal",
                1,
                "causal",
            )
        loss = self._loss()
        if loss == "cross_entropy":
            raise self.fail(
                'an attention layer takes loss = "upstream" (dout given) or "squared_error"',
                self._loss_key(),
            )
        text = self._build(
            attention_text,
            "layers[1]",
            1,
            seq=raw.get("seq", "n"),
            model=self.data.get("input", "D"),
            key=raw.get("d_k", "d_k"),
            value=raw.get("d_v", "d_v"),
            loss={"upstream": "upstream", "squared_error": "mse"}[loss],
            name=self.data.get("name", _default_name(self.source)),
        )
        named = {
            raw.get("seq", "n"): ("layers[1].seq", 1),
            raw.get("d_k", "d_k"): ("layers[1].d_k", 1),
            raw.get("d_v", "d_v"): ("layers[1].d_v", 1),
            self.data.get("input", "D"): ("input", None),
        }
        named = {v: k for v, k in named.items() if isinstance(v, str)}
        return SequenceSpec(self._load(text, named), "attention")


def from_sequence_dict(
    data: Mapping[str, Any], *, source: str = "", text: str = ""
) -> SequenceSpec:
    """The sequence model of parsed TOML in the layer form."""
    return _Reader(data, source, text).read()
