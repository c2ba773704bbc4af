"""Single-head scaled dot-product attention written out as a forward program (issue 15).

``attention_text`` writes the program's TOML (``Q = X W_Q``, …, ``out = P V``) from
checked sizes, ``attention_program`` reads it back; ``derive/examples/attention.toml``
is this text at symbolic sizes.
"""

from __future__ import annotations

from derive.spec.program import loads_program
from derive.spec.program_records import ProgramSpec, Size
from derive.spec.program_text import checked_sizes, choice, program_toml

#: What the attention program is differentiated for: a layer's backward pass given
#: ``dout`` (default), or the squared error of its output against targets ``Y``.
ATTENTION_LOSSES = ("upstream", "mse")


def attention_text(
    *,
    seq: Size = "n",
    model: Size = "D",
    key: Size = "d_k",
    value: Size = "d_v",
    loss: str = "upstream",
    name: str = "attention",
) -> str:
    """The TOML of single-head scaled dot-product attention over one sequence of ``seq``
    rows: ``Q = X W_Q``, ``K = X W_K``, ``V = X W_V``, ``P = softmax(Q Kᵀ/√d_k)``,
    ``out = P V``."""
    loss = choice(loss, ATTENTION_LOSSES, "loss")
    sizes = checked_sizes(seq=seq, model=model, key=key, value=value)
    n, d, dk, dv = sizes["seq"], sizes["model"], sizes["key"], sizes["value"]
    inputs: dict[str, object] = {"X": [n, d]}
    params: dict[str, object] = {"W_Q": [d, dk], "W_K": [d, dk], "W_V": [d, dv]}
    eqs = [
        "Q = X @ W_Q",
        "K = X @ W_K",
        "V = X @ W_V",
        f"S = Q @ K.T / sqrt({dk})",
        "P = softmax(S, axis=1)",
        "out = P @ V",
    ]
    if loss == "upstream":
        tail = {"backward": {"upstream": "dout"}}
        what = "as a layer's backward pass: dout = dL/dout is given"
    else:
        inputs["T_out"] = [n, dv]
        tail = {"loss": {"expression": "sum((out - T_out) ** 2) / 2"}}
        what = "with the squared error against targets T_out"
    comment = f"Single-head scaled dot-product attention softmax(Q K^T / sqrt(d_k)) V, {what}."
    tables: dict[str, dict[str, object]] = {"inputs": inputs, "parameters": params}
    return program_toml(name, comment, tables, eqs, tail)


def attention_program(**options: object) -> ProgramSpec:
    """Scaled dot-product attention as a forward program (see ``attention_text``)."""
    return loads_program(attention_text(**options), source="<sequence attention>")  # type: ignore[arg-type]
