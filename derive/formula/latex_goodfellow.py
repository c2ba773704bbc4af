"""Goodfellow, Bengio and Courville's notation (Deep Learning, §6.5, Algorithm 6.4), read
by the book's own macros (``\\Va``, ``\\Vh``, ``\\Vg``, ``\\MW``): there ``a^{(k)}`` is the
pre-activation (derive's Z_k), ``h^{(k)}`` the activation (A_k), ``k`` the layer, and ``g``
the running gradient of the algorithm. A rewrite of the LaTeX before the grammar; every
reading it makes is said in a note (``notes``).
"""

from __future__ import annotations

import re
from typing import Any

#: The book's macros whose letters mean other things than derive's: a text that writes
#: one of them is in the book's notation.
_MARKS = re.compile(r"\\(?:Va|Vh|Vg)(?![A-Za-z])")

#: ``\nabla_{X} J``: the variable a line of Algorithm 6.4 differentiates by.
_NABLA = re.compile(
    r"\\nabla_\{\s*\\(?P<m>Va|Vh|Vb|MW)\s*\^\s*\{\s*\(\s*k\s*(?P<off>[+-]\s*1)?\s*\)"
)

#: The running gradient ``g`` on the right: the gradient on the variable that consumes the
#: line's own one in the forward pass (b, W, h^{(k-1)} feed a^{(k)}; a^{(k)} feeds h^{(k)}).
_DOWNSTREAM = {"Va": ("Vh", 0), "Vh": ("Va", 1), "Vb": ("Va", 0), "MW": ("Va", 0)}

NOTE = (
    "read in the notation of Goodfellow et al. (Deep Learning, Algorithm 6.4): a^{(k)} as "
    "the pre-activation Z_k, h^{(k)} as the activation A_k, k as the layer l"
)


def _layer(offset: int) -> str:
    return "k" if offset == 0 else f"k{offset:+d}"


def goodfellow(text: str) -> tuple[str, list[str]]:
    """The text in derive's letters, and the notes saying so; unchanged without the
    book's macros."""
    if not _MARKS.search(text):
        return text, []
    notes = [NOTE]
    # g ← ∇_X J = …: the running gradient is set to the chain's value; check the chain
    body = re.sub(r"^\s*\\Vg\s*(?:\\leftarrow|\\gets|:=)\s*", "", text)
    if body != text:
        notes.append("g ← …: the running gradient g takes the chain's value; the chain is checked")
    lhs = _NABLA.search(body)
    if lhs is not None and re.search(r"\\Vg(?![A-Za-z])", body[lhs.end() :]):
        offset = int((lhs.group("off") or "+0").replace(" ", ""))
        macro, step = _DOWNSTREAM[lhs.group("m")]
        gradient = rf"\nabla_{{\{macro}^{{({_layer(offset + step)})}}}} J"
        body = body[: lhs.end()] + re.sub(
            r"\\Vg(?![A-Za-z])", lambda _: gradient, body[lhs.end() :]
        )
        notes.append(
            f"read g on the right as the running gradient of Algorithm 6.4, the gradient on "
            f"{'h' if macro == 'Vh' else 'a'}^{{({_layer(offset + step)})}}"
        )
    if re.search(r"\\nabla_\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}\s*\\Omega", body):
        notes.append(
            "read ∇_W Ω(θ) as W and ∇_b Ω(θ) as 0 (Ω = ½ Σ‖W‖², the L2 penalty of "
            "Goodfellow et al. §7.1.1, which leaves the biases out)"
        )
    body = re.sub(
        r"\\nabla_\{\s*\\Vb[^{}]*(?:\{[^{}]*\}[^{}]*)*\}\s*\\Omega\s*\(\s*\\theta\s*\)", "0", body
    )
    body = re.sub(
        r"\\nabla_\{\s*(\\MW[^{}]*(?:\{[^{}]*\}[^{}]*)*)\}\s*\\Omega\s*\(\s*\\theta\s*\)",
        lambda m: m.group(1),
        body,
    )
    # the layer k (and k ± 1) in the book's superscripts: derive's generic l
    body = re.sub(
        r"\^\s*\{\s*\(\s*k\s*([+-]\s*1)?\s*\)",
        lambda m: "^{(l" + (m.group(1) or "").replace(" ", "") + ")",
        body,
    )
    body = re.sub(r"\\hat\s*\{\s*\\Vy\s*\}", r"\\hat{y}", body)  # ŷ, the output
    body = re.sub(r"\\Va(?![A-Za-z])", "z", body)
    body = re.sub(r"\\Vh(?![A-Za-z])", "a", body)
    return body, notes


#: The rewrite ``parse`` applies first: the whole text, when it is in the book's notation.
GOODFELLOW_REWRITE: tuple[re.Pattern[str], Any] = (
    re.compile(r"\A(?=.*\\(?:Va|Vh|Vg)(?![A-Za-z])).*\Z", re.S),
    lambda m: goodfellow(m.group(0))[0],
)
