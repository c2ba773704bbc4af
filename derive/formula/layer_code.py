"""A layer's backward code as people write it, cut into the parts a step's VJP needs.

Real from-scratch code writes backpropagation as layer classes and backward functions
(``class Sigmoid(Layer): def forward(self, x): … def backward(self, grad): … return …``,
CS231n's ``def affine_backward(dout, cache): x, w, b = cache; …; return dx, dw, db``,
``def backward(self, output_gradient, learning_rate)`` with an update inside). This module
only reads the code's shape, never runs it: the name of the class or function (which
step it is), the gradient arriving (a parameter spelled as one, or a name the code reads
and never assigns), the forward's ``self.<name> = …`` lines, the backward's body, and
what it hands back (``return``, or a gradient stored as ``self.dW``, ``self.dinputs``).
``layer_vjp`` turns that into a snippet over one step's program and judges it.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field

#: A ``def`` header (the parameters may hold one level of brackets).
_DEF = re.compile(
    r"^([ \t]*)def\s+(\w+)\s*\(((?:[^()\n]|\([^()\n]*\))*)\)\s*(?:->[^:\n]*)?:\s*(.*)$"
)
_CLASS = re.compile(r"^[ \t]*class\s+(\w+)\s*(?:\([^)\n]*\))?\s*:\s*$")
_DECORATOR = re.compile(r"^[ \t]*@\s*([\w.]+)")
_TRIPLE = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'')
_RETURN = re.compile(r"^return\b\s*(.*)$")
#: Method names of a forward pass and of a backward pass.
FORWARDS = frozenset(
    {"forward", "fprop", "forward_pass", "__call__", "call", "forward_propagation"}
)
_BACKWARD = re.compile(
    r"(?i)^(?:backward|bprop|backprop|backward_pass|backpropagate|\w+_backward)$"
)
#: Spellings of the gradient arriving at a step's output.
UPSTREAM = frozenset(
    {
        "grad", "dout", "top_diff", "next_dz", "grad_output", "output_gradient", "output_grad",
        "delta", "dvalues", "grad_input", "gradient", "dy", "dY", "dA", "da", "upstream",
        "upstream_grad", "grad_out", "d_out", "out_grad", "eta", "delta_next", "dL_dout",
        "dLdY", "dl_dy", "grad_in", "in_grad", "prev_grad", "accum_grad", "dZ_next",
        "self.dY", "self.dy", "self.dout", "self.grad_output",
    }
)  # fmt: skip


@dataclass
class LayerCode:
    """A backward pass's parts: ``hint`` the class's or function's name, ``upstream`` the
    gradient arriving, ``inputs`` the backward's other parameters, ``forward`` the forward's
    ``self.<name> = …`` lines (its input renamed ``x``), ``body`` the backward's lines
    (dedented, the ``return`` line among them), ``header`` whether a def or class was read."""

    hint: str
    upstream: str
    inputs: list[str]
    forward: list[str]
    body: list[str]
    header: bool
    function: str = ""
    notes: list[str] = field(default_factory=list)


def _params(text: str) -> list[str]:
    out = []
    for p in text.split(","):
        name = p.split("=")[0].split(":")[0].strip().lstrip("*")
        if name and name != "self":
            out.append(name)
    return out


def _blocks(lines: list[str]) -> list[tuple[str, list[str], list[str]]]:
    """The snippet's functions: (name, parameters, body lines), nested defs kept in their
    function's body."""
    found: list[tuple[str, list[str], list[str]]] = []
    i = 0
    while i < len(lines):
        d = _DEF.match(lines[i])
        if d is None:
            i += 1
            continue
        indent = len(d.group(1).expandtabs())
        body = [d.group(4)] if d.group(4).strip() else []
        j = i + 1
        while j < len(lines):
            line = lines[j]
            if line.strip() and len(line.expandtabs()) - len(line.expandtabs().lstrip()) <= indent:
                break
            body.append(line)
            j += 1
        found.append((d.group(2), _params(d.group(3)), body))
        i = j
    return found


def _read_names(code: str) -> set[str]:
    return set(re.findall(r"(?<![\w.])(?:self\.)?[A-Za-z_]\w*", code))


def _assigned(body: list[str]) -> set[str]:
    names: set[str] = set()
    for line in body:
        m = re.match(r"^\s*([\w.,\s]+?)\s*(?:[-+*/]?=)(?!=)", line)
        if m:
            names |= {n.strip() for n in m.group(1).split(",")}
    return names


def _upstream(params: list[str], body: list[str]) -> str | None:
    """The gradient arriving: a parameter spelled as one, else the one such spelling the
    body reads before (or without) assigning it."""
    for p in params:
        if p in UPSTREAM:
            return p
    code = "\n".join(body)
    assigned = _assigned(body)
    read = [n for n in sorted(UPSTREAM) if re.search(rf"(?<![\w.]){re.escape(n)}(?!\w)", code)]
    free = [n for n in read if n not in assigned or _read_first(n, body)]
    return free[0] if len(free) == 1 else None


def _read_first(name: str, body: list[str]) -> bool:
    """Whether ``name`` is read on a line before any line assigns it (``grad = grad * m``)."""
    word = re.compile(rf"(?<![\w.]){re.escape(name)}(?!\w)")
    for line in body:
        m = re.match(r"^\s*([\w.,\s\[\]:]+?)\s*([-+*/]?=)(?!=)(.*)$", line)
        if m is None:
            if word.search(line):
                return True
            continue
        if word.search(m.group(3)) or (m.group(2) != "=" and word.search(m.group(1))):
            return True
        if word.search(m.group(1)):
            return False
    return False


def read_layer_code(text: str, need_upstream: bool = True) -> LayerCode | None:
    """The parts of a layer's backward code, or None if the snippet is not one (no
    gradient arriving, unless not ``need_upstream`` (a loss's backward), or several
    functions none of which is a backward)."""
    text = _TRIPLE.sub("", text)
    lines = [re.sub(r"#.*$", "", x).rstrip() for x in text.split("\n")]
    lines = [x for x in lines if x.strip()]
    decorators = [m.group(1) for x in lines if (m := _DECORATOR.match(x))]
    if any(d not in ("staticmethod", "classmethod") for d in decorators):
        return None  # @jax.custom_vjp and the like may change what the function returns
    lines = [x for x in lines if not _DECORATOR.match(x)]
    cls = next((m.group(1) for x in lines if (m := _CLASS.match(x))), "")
    lines = [x for x in lines if not _CLASS.match(x)]
    blocks = _blocks(lines)
    forward: list[str] = []
    params: list[str] = []
    if not blocks:
        if any(x[:1] in " \t" for x in lines):
            lines = textwrap.dedent("\n".join(lines)).split("\n")
        hint, body, header, name = cls, lines, bool(cls), ""
    else:
        backs = [b for b in blocks if _BACKWARD.match(b[0])]
        others = [b for b in blocks if b[0] not in FORWARDS and b not in backs]
        if len(backs) > 1 or (not backs and len(others) != 1):
            return None
        name, params, body = backs[0] if backs else others[0]
        hint, header = cls or name, True
        fwd = [b for b in blocks if b[0] in FORWARDS]
        if fwd and fwd[0][1]:
            forward = _forward_lines(fwd[0][1][0], fwd[0][2])
        body = textwrap.dedent("\n".join(body)).split("\n")
    upstream = _upstream(params, body)
    if upstream is None:
        if need_upstream:
            return None
        upstream = ""
    inputs = [p for p in params if p != upstream]
    body = [x for x in body if x.strip()]
    return LayerCode(hint, upstream, inputs, forward, body, header, name)


def _forward_lines(param: str, body: list[str]) -> list[str]:
    """The forward's one-line ``self.<name> = …`` assignments, its input renamed ``x`` and
    its earlier locals written out (``out = sigmoid(x); self.out = out``): what the
    backward may read back (``self.mask = (x <= 0)``, ``self.out = …``)."""
    values = {param: "x"}
    out = []
    for line in textwrap.dedent("\n".join(body)).split("\n"):
        m = re.match(r"^(self\.)?(\w+)\s*=(?!=)\s*(.+)$", line)
        if m is None or line.startswith((" ", "\t")):
            continue
        value = m.group(3)
        for name, known in values.items():
            value = re.sub(rf"(?<![\w.]){re.escape(name)}(?!\w)", known, value)
        if m.group(1):
            out.append(f"self.{m.group(2)} = {value}")
        else:
            values[m.group(2)] = f"({value})"
    return out


def returned(body: list[str]) -> tuple[int, list[str]] | None:
    """The line that returns and the values it hands back (a tuple split at its top-level
    commas); None if the body has no one ``return``."""
    at = [i for i, x in enumerate(body) if _RETURN.match(x.strip())]
    if len(at) != 1 or body[at[0]][:1] in " \t":
        return None
    m = _RETURN.match(body[at[0]].strip())
    assert m is not None
    if re.search(r"\bif\b|\belse\b", m.group(1)):
        return None  # a conditional value: which one is handed back depends on the data
    parts, depth, start, expr = [], 0, 0, m.group(1)
    for k, c in enumerate(expr):
        depth += c in "([{"
        depth -= c in ")]}"
        if c == "," and depth == 0:
            parts.append(expr[start:k].strip())
            start = k + 1
    parts.append(expr[start:].strip())
    return at[0], [p for p in parts if p]
