"""Sequence models written out as forward programs: a vanilla RNN and an LSTM unrolled
over T steps, and single-head scaled dot-product attention (issue 15).

Each builder checks its arguments, writes the program's TOML from our own names (a size
is a checked symbol name or an integer; nothing a user typed is pasted into an
equation), and reads it back with ``loads_program``, so a built program is exactly what
the same text in a file would be. ``derive/examples/{rnn,lstm,attention}.toml`` are these
texts at small sizes (a test keeps them equal to the builders' output): ``rnn`` at T = 3,
``lstm`` one cell step (T = 1; ``lstm_program(T)`` unrolls it), ``attention`` symbolic.

Rows are samples (``convention = "row"``): ``X_t`` is N×D, the hidden state ``h_t`` N×H.
The attention builder lives in ``attention`` and the TOML writing both share in
``program_text``; this module re-exports the attention builder.
"""

from __future__ import annotations

from dataclasses import dataclass

from derive.spec.attention import ATTENTION_LOSSES, attention_program, attention_text
from derive.spec.program import loads_program
from derive.spec.program_records import ProgramSpec, Size
from derive.spec.program_text import checked_sizes, choice, program_toml
from derive.spec.records import SpecError

__all__ = [
    "ATTENTION_LOSSES",
    "CARRIED",
    "LOSS_AT",
    "LSTM_GATES",
    "MAX_STEPS",
    "RNN_ACTIVATIONS",
    "SEQUENCE_LOSSES",
    "Recurrent",
    "attention_program",
    "attention_text",
    "lstm_program",
    "lstm_text",
    "recurrent_text",
    "rnn_program",
    "rnn_text",
    "step_text",
]


#: The longest unrolling a builder writes (the equations grow with T; a derivation at
#: T = 50 takes well under a second).
MAX_STEPS = {"rnn": 50, "lstm": 50}
#: Activations of the RNN's hidden state (functions of the program grammar).
RNN_ACTIVATIONS = ("tanh", "sigmoid", "relu")
#: What the loss reads: a linear read-out's softmax cross-entropy against integer labels,
#: its squared error against targets, or none (a layer's backward pass given the upstream
#: gradient of the last hidden state).
SEQUENCE_LOSSES = ("cross_entropy", "mse", "upstream")
#: Where the loss is taken: at every step (summed over t) or at the last one only.
LOSS_AT = ("every", "last")


def _steps(steps: object, kind: str) -> int:
    limit = MAX_STEPS[kind]
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= limit:
        raise SpecError(
            f"the number of time steps T must be an integer from 1 to {limit}, got {steps!r}",
            key=f"{kind}.steps",
        )
    return steps


def _readout(
    ts: list[object], loss: str, sizes: dict[str, Size]
) -> tuple[dict[str, dict[str, object]], list[str], dict[str, dict[str, str]]]:
    """The read-out ``S_t = h_t W_hy + b_y`` and the loss at the steps ``ts`` (numbers, or
    ``"t"`` for one symbolic step), or the upstream gradient of the last hidden state."""
    n, c = sizes["batch"], sizes["classes"]
    if loss == "upstream":
        return {}, [], {"backward": {"upstream": f"dh_{ts[-1]}"}}
    extra: dict[str, dict[str, object]] = {
        "inputs": {},
        "labels": {},
        "parameters": {"W_hy": [sizes["hidden"], c], "b_y": [1, c]},
    }
    eqs = [f"S_{t} = h_{t} @ W_hy + b_y" for t in ts]
    # one named loss per step (CS231n's temporal softmax loss: a mean over the batch,
    # summed over time), so that the loss line stays short at any T
    if loss == "cross_entropy":
        extra["labels"] = {f"y_{t}": {"length": n, "classes": c} for t in ts}
        eqs += [f"L_{t} = -mean(log_softmax(S_{t}, axis=1)[range({n}), y_{t}])" for t in ts]
    else:
        extra["inputs"] = {f"Y_{t}": [n, c] for t in ts}
        eqs += [f"L_{t} = mean(sum((S_{t} - Y_{t}) ** 2, axis=1)) / 2" for t in ts]
    return extra, eqs, {"loss": {"expression": " + ".join(f"L_{t}" for t in ts)}}


def _cell(kind: str, t: object, prev: object, act: str) -> list[str]:
    """One step's equations (``t`` names this step's values, ``prev`` the previous one's)."""
    if kind == "rnn":
        return [f"z_{t} = X_{t} @ W_xh + h_{prev} @ W_hh + b", f"h_{t} = {act}(z_{t})"]
    eqs = [
        f"{gate}_{t} = {a}(X_{t} @ W_x{gate} + h_{prev} @ W_h{gate} + b_{gate})"
        for gate, a in LSTM_GATES
    ]
    return eqs + [f"c_{t} = f_{t} * c_{prev} + i_{t} * g_{t}", f"h_{t} = o_{t} * tanh(c_{t})"]


def _cell_parameters(kind: str, d: Size, h: Size) -> dict[str, object]:
    """The weights every step shares."""
    if kind == "rnn":
        return {"W_xh": [d, h], "W_hh": [h, h], "b": [1, h]}
    params: dict[str, object] = {}
    for gate, _ in LSTM_GATES:
        params.update({f"W_x{gate}": [d, h], f"W_h{gate}": [h, h], f"b_{gate}": [1, h]})
    return params


#: The state a recurrent cell carries from one step to the next.
CARRIED = {"rnn": ("h",), "lstm": ("h", "c")}


@dataclass(frozen=True)
class Recurrent:
    """What the unrolled network and its one-step programs share: the sizes (names or
    whole numbers), the RNN's activation (an LSTM's is tanh) and the loss."""

    batch: Size = "N"
    input: Size = "D"
    hidden: Size = "H"
    classes: Size = "C"
    activation: str = "tanh"
    loss: str = "cross_entropy"

    def checked(self, kind: str) -> tuple[str, str, dict[str, Size]]:
        """The activation, the loss and the sizes, each checked (a SpecError names the key)."""
        act = choice(self.activation, RNN_ACTIVATIONS, "activation") if kind == "rnn" else "tanh"
        loss = choice(self.loss, SEQUENCE_LOSSES, "loss")
        sizes = checked_sizes(
            batch=self.batch, input=self.input, hidden=self.hidden, classes=self.classes
        )
        return act, loss, sizes


def recurrent_text(
    kind: str, steps: int, net: Recurrent, *, at: str = "every", name: str | None = None
) -> str:
    """The TOML of a recurrent network (``kind``: ``rnn`` or ``lstm``) unrolled over
    ``steps``, its weights shared over time, with the read-out and loss of ``_readout``."""
    t_max = _steps(steps, kind)
    act, loss, sizes = net.checked(kind)
    at = choice(at, LOSS_AT, "at")
    n, d, h = sizes["batch"], sizes["input"], sizes["hidden"]
    eqs = [eq for t in range(1, t_max + 1) for eq in _cell(kind, t, t - 1, act)]
    ts: list[object] = list(range(1, t_max + 1)) if at == "every" else [t_max]
    extra, readout, tail = _readout(ts, loss, sizes)
    inputs: dict[str, object] = {f"X_{t}": [n, d] for t in range(1, t_max + 1)}
    inputs.update({f"{state}_0": [n, h] for state in CARRIED[kind]})
    inputs.update(extra.get("inputs", {}))
    params = _cell_parameters(kind, d, h)
    params.update(extra.get("parameters", {}))
    read = "" if kind == "rnn" else "loss: "
    what = {
        "cross_entropy": f"{read}softmax cross-entropy of a linear read-out at {at} step",
        "mse": f"{read}squared error of a linear read-out at {at} step",
        "upstream": "a layer's backward pass given the last hidden state's gradient",
    }[loss]
    if kind == "lstm":
        comment = (
            f"An LSTM unrolled over T = {t_max} steps (gates i, f, o, g; cell state c); {what}."
        )
    elif loss == "upstream":
        comment = f"A vanilla RNN ({act}) unrolled over T = {t_max} steps, {what}."
    else:
        comment = f"A vanilla RNN ({act}) unrolled over T = {t_max} steps; loss: {what}."
    tables = {"inputs": inputs, "labels": extra.get("labels", {}), "parameters": params}
    return program_toml(name or kind, comment, tables, eqs + readout, tail)


def step_text(kind: str, net: Recurrent, *, future: bool, step_loss: bool) -> str:
    """One step ``t`` of a recurrent network as a program, for the generic-T derivation:
    values of this step end in ``_t``, the previous state is ``h_p`` (``c_p``), and with
    ``future`` the cotangents the carried state receives from step t+1 are the inputs
    ``G_h`` (``G_c``), entering the loss as ``sum(G_h * h_t)`` (a linear term, so that
    ``∂/∂h_t`` of it is exactly ``G_h``). ``step_loss``: the step's own loss ``L_t`` (at
    every step, or at the last). Without future and loss (``loss = "upstream"`` at T) the
    gradient of ``h_t`` is given."""
    act, loss, sizes = net.checked(kind)
    n, d, h = sizes["batch"], sizes["input"], sizes["hidden"]
    eqs = _cell(kind, "t", "p", act)
    inputs: dict[str, object] = {"X_t": [n, d]}
    params = _cell_parameters(kind, d, h)
    # the previous state as a parameter: a loss is differentiated by the parameters, and
    # its gradient is what step t passes back to step t-1
    params.update({f"{state}_p": [n, h] for state in CARRIED[kind]})
    labels: dict[str, object] = {}
    terms: list[str] = []
    tail: dict[str, dict[str, str]] = {}
    if step_loss and loss != "upstream":
        extra, readout, _ = _readout(["t"], loss, sizes)
        eqs += readout
        inputs.update(extra["inputs"])
        labels = extra["labels"]
        params.update(extra["parameters"])
        terms.append("L_t")
    if future:
        for state in CARRIED[kind]:
            inputs[f"G_{state}"] = [n, h]
            terms.append(f"sum(G_{state} * {state}_t)")
    if terms:
        tail = {"loss": {"expression": " + ".join(terms)}}
    else:
        tail = {"backward": {"upstream": "dh_t"}}
    comment = f"One step t of the {kind} (the generic-T derivation)."
    tables = {"inputs": inputs, "labels": labels, "parameters": params}
    return program_toml(f"{kind} step", comment, tables, eqs, tail)


def rnn_text(
    steps: int = 3,
    *,
    batch: Size = "N",
    input: Size = "D",
    hidden: Size = "H",
    classes: Size = "C",
    activation: str = "tanh",
    loss: str = "cross_entropy",
    at: str = "every",
    name: str = "rnn",
) -> str:
    """The TOML of a vanilla RNN unrolled over ``steps``: shared ``W_xh``, ``W_hh``, ``b``,
    ``z_t = X_t W_xh + h_{t−1} W_hh + b``, ``h_t = activation(z_t)``."""
    net = Recurrent(batch, input, hidden, classes, activation, loss)
    return recurrent_text("rnn", steps, net, at=at, name=name)


def rnn_program(steps: int = 3, **options: object) -> ProgramSpec:
    """A vanilla RNN as a forward program (see ``rnn_text`` for the options)."""
    return loads_program(rnn_text(steps, **options), source="<sequence rnn>")  # type: ignore[arg-type]


#: The LSTM's gates: name, activation (torch.nn.LSTM stacks them in the order i, f, g, o).
LSTM_GATES = (("i", "sigmoid"), ("f", "sigmoid"), ("o", "sigmoid"), ("g", "tanh"))


def lstm_text(
    steps: int = 2,
    *,
    batch: Size = "N",
    input: Size = "D",
    hidden: Size = "H",
    classes: Size = "C",
    loss: str = "cross_entropy",
    at: str = "every",
    name: str = "lstm",
) -> str:
    """The TOML of an LSTM unrolled over ``steps`` (``steps = 1``: one cell step): gates
    ``i, f, o = σ(X_t W_x· + h_{t−1} W_h· + b_·)``, ``g = tanh(…)``, the cell state
    ``c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t`` (the highway) and ``h_t = o_t ⊙ tanh(c_t)``."""
    net = Recurrent(batch, input, hidden, classes, loss=loss)
    return recurrent_text("lstm", steps, net, at=at, name=name)


def lstm_program(steps: int = 2, **options: object) -> ProgramSpec:
    """An LSTM as a forward program (see ``lstm_text`` for the options)."""
    return loads_program(lstm_text(steps, **options), source="<sequence lstm>")  # type: ignore[arg-type]
