"""A layer's backward code written over one step's program names (``layer_vjp`` judges it).

The code names the step's values by its own spelling: ``self.x``/``self.inputs`` its input,
``self.out``/``self.output``/``self.next_x`` its output, ``self.W``/``self._W``/``self.weights``
and ``self.b``/``self.bias`` its parameters, a parameter spelled as the gradient arriving
(``grad``, ``dout``, ``dvalues``, …), ``self.forward(X)`` its forward; what it hands back is
returned (one value, or CS231n's ``dx, dw, db`` told apart by their names) or stored
(``self.dW``, ``self.dinputs``, ``weights_gradient = …``); ``x, w, b = cache`` unpacks the
step's input and parameters; a forward of the same snippet gives ``self.mask`` and the like
their values. An SGD update ``self.b -= lr * g`` says g is ∂L/∂b; a parameter read again
after its update is read with its updated value (so the gradient that uses it is wrong).
"""

from __future__ import annotations

import re

from derive.formula.layer_code import LayerCode, returned

#: The step's own names, by their spelling (``self.<name>``), -> the program's name; an
#: activation's input is its z and its output its a, an affine step's input an activation
#: (its z is its output: neither spelling is read there).
_COMMON = {
    **dict.fromkeys(("x", "X", "input", "inputs", "last_input", "in_"), "x"),
    **dict.fromkeys(("out", "output", "outputs"), "out"),
}
_ACTIVATION_ATTRS = {
    **_COMMON,
    **dict.fromkeys(("z", "Z"), "x"),
    **dict.fromkeys(("next_x", "a", "A", "value", "activation"), "out"),
}
_ATTRS = {
    **_COMMON,
    **dict.fromkeys(("layer_input", "a_prev", "A_prev", "prev_a"), "x"),
    **dict.fromkeys(("W", "_W", "w", "weights", "weight"), "W"),
    **dict.fromkeys(("b", "_b", "bias", "biases"), "b"),
}
#: Gradients stored on the object (or named so) -> the program's gradient.
STORED = {
    **dict.fromkeys(
        ("dW", "dw", "grad_w", "grad_W", "_grad_W", "dweights", "grad_weights", "weights_gradient"),
        "dW",
    ),
    **dict.fromkeys(("db", "grad_b", "_grad_b", "dbiases", "grad_bias", "bias_gradient"), "db"),
    **dict.fromkeys(("dinputs", "grad_x", "dX", "dx", "input_gradient", "grad_input"), "dx"),
}
_INPUT_PARAMS = frozenset({"x", "X", "inputs", "input"})
_ACTIVATION_INPUTS = _INPUT_PARAMS | {"z", "Z"}
_AFFINE_INPUTS = _INPUT_PARAMS | {"a_prev", "A_prev", "layer_input"}
#: The note of a parameter read after the backward updates it (then the verdict's why).
STALE = (
    "self.{attr} is read after `{line}` updates it: the gradients after that line use the "
    "updated value (η read as 0.5; any η ≠ 0 differs), not the step's own: compute them "
    "before the update"
)
_OWN_FORWARD = re.compile(r"(?<![\w.])self\s*(?:\.\s*(?:forward|__call__)\s*)?\(\s*[\w.]*\s*\)")


def _word(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w.]){re.escape(name)}(?!\w)")


#: NumPy's functions of two arrays that are its operators (np.matmul(a, b) is a @ b).
_UFUNCS = {
    "matmul": "@",
    "multiply": "*",
    "add": "+",
    "subtract": "-",
    "divide": "/",
    "greater": ">",
    "greater_equal": ">=",
    "less": "<",
    "less_equal": "<=",
}


def _operators(code: str) -> str:
    """``np.matmul(a, b)``, ``np.multiply(a, b)``, ``np.greater(z, 0)``… written as the
    operators they are (``(a) @ (b)``); a call with other than two arguments is left."""
    for fn, op in _UFUNCS.items():
        start = 0
        while (m := re.compile(rf"(?<![\w.])(?:np|numpy)\.{fn}\(").search(code, start)) is not None:
            depth, commas, k = 1, [], m.end()
            while k < len(code) and depth:
                depth += code[k] in "([{"
                depth -= code[k] in ")]}"
                if code[k] == "," and depth == 1:
                    commas.append(k)
                k += 1
            if depth or len(commas) != 1:
                start = m.end()
                continue
            a, b = code[m.end() : commas[0]].strip(), code[commas[0] + 1 : k - 1].strip()
            code = f"{code[: m.start()]}(({a}) {op} ({b})){code[k:]}"
    return code


_RATE_NAMES = ("lr", "learning_rate", "eta", "alpha", "self.lr", "self.learning_rate", "self.eta")
_RATES = r"(?:self\.)?\w+"


def _tuple_targets(values: list[str]) -> tuple[str, ...] | None:
    """What each value of an affine step's returned tuple is, by its name (``return dw / N,
    db / N, dz``: dW, db and the one left the input's gradient); CS231n's order (dx, dw,
    db) where the names do not say; None where they say something else."""
    if len(values) != 3:
        return ("dx",) if len(values) == 1 else None
    said = [STORED.get(m.group(1)) if (m := re.match(r"\s*(\w+)", v)) else None for v in values]
    if said.count("dW") == 1 and said.count("db") == 1:
        return tuple(t if t in ("dW", "db") else "dx" for t in said)
    if any(t in ("dW", "db") for t in said):
        return None
    return ("dx", "dW", "db")


def stores(body: list[str]) -> set[str]:
    """The gradients of the parameters a body assigns (``self.dW = …``, ``weights_gradient =
    …``), by the program's names."""
    found = set()
    for line in body:
        m = re.match(r"^\s*(?:self\.)?(\w+)\s*=(?!=)", line)
        if m and m.group(1) in STORED:
            found.add(STORED[m.group(1)])
    return found


def _template(line: str) -> str:
    """CS231n's skeleton lines: ``dx, x = None, cache`` is ``x = cache``; ``dx, dw, db =
    None, None, None`` nothing (an empty string)."""
    m = re.match(r"^([\w\s,]+?)\s*=\s*([\w\s,]+)$", line)
    if m is None or "," not in m.group(1):
        return line
    names = [n.strip() for n in m.group(1).split(",")]
    values = [v.strip() for v in m.group(2).split(",")]
    if len(names) != len(values) or any(v not in ("None", "cache") for v in values):
        return line
    kept = [n for n, v in zip(names, values) if v == "cache"]
    return f"{', '.join(kept)} = cache" if kept else ""


def snippet(code: LayerCode, kind: str, stale: bool = True) -> tuple[str, list[str]] | None:
    """The backward's body over the step's program names, and how it was read; None where
    it hands back nothing this step has (a tuple for an activation, nothing at all).
    ``stale``: a parameter read after its update has its updated value (else the update
    is read as if it came last)."""
    notes: list[str] = []
    body = list(code.body)
    affine = kind == "affine"
    inputs = _AFFINE_INPUTS if affine else _ACTIVATION_INPUTS
    attrs = _ATTRS if affine else dict(_ACTIVATION_ATTRS)
    if not affine and code.upstream.removeprefix("self.") in ("dY", "dy"):
        attrs.update(Y="out", y="out")  # dY, the gradient on Y: Y is the output
    names = dict.fromkeys([p for p in code.inputs if p in inputs], "x")
    if affine:  # fc_backward(next_dz, W, z): the step's own weights passed in
        names.update({p: _ATTRS[p] for p in code.inputs if _ATTRS.get(p) in ("W", "b")})
    out: list[str] = []
    rates = [p for p in code.inputs if p not in names and p != "cache"]

    for k, line in enumerate(body):
        s = line.strip()
        s = _template(s)
        if not s:  # dx, dw, db = None, None, None: the assignment's skeleton
            continue
        cache = re.match(r"^([\w\s,()]+?)\s*=\s*(?:self\.)?cache$", s)
        if cache:
            parts = [p.strip() for p in cache.group(1).strip("() ").split(",") if p.strip()]
            roles = ("x", "W", "b") if affine else ("x",)
            if len(parts) != len(roles):
                return None
            names.update(zip(parts, roles))
            notes.append(f"{', '.join(parts)} = cache read as the step's {', '.join(roles)}")
            continue
        update = re.match(r"^self\.(\w+)\s*(-=|\+=|=)", s)
        if update and _ATTRS.get(update.group(1)) in ("W", "b"):
            attr = update.group(1)
            if not stale or not any(re.search(rf"self\.{attr}\b", x) for x in body[k + 1 :]):
                sgd = re.match(rf"^-=\s*({_RATES})\s*\*\s*(.+)$", s[update.start(2) :])
                grad = "d" + _ATTRS[attr]
                if sgd and sgd.group(1) in (*rates, *_RATE_NAMES) and grad not in stores(body):
                    out.append(f"{grad} = {sgd.group(2)}")  # p -= η g: g is ∂L/∂p
                    notes.append(f"{grad} read from the update `{s}` (p -= η g: g is ∂L/∂p)")
                else:
                    notes.append(f"the update of self.{attr} inside is not judged")
                continue
            # read again after its update: the value it then has (η a number, any ≠ 0)
            op, rhs = update.group(2), s[update.end() :].strip()
            for rate in rates:
                rhs = _word(rate).sub("0.5", rhs)
            s = f"self.{attr} = " + (f"self.{attr} {op[0]} ({rhs})" if op != "=" else rhs)
            notes.append(STALE.format(attr=attr, line=line.strip()))
        for attr, grad in STORED.items():  # self.dinputs, self._grad_W: what they name
            s = re.sub(rf"\bself\.{re.escape(attr)}(?!\w)", grad, s)
        out.append(s)
    handed = returned(out)
    if handed is not None:
        at, values = handed
        targets = _tuple_targets(values) if affine else ("dx",)
        if targets is None or len(values) != len(targets):
            return None
        out[at : at + 1] = [f"{t} = {v}" for t, v in zip(targets, values) if v != t]
    elif not any(re.match(r"^(dx|dW|db)\s*=", x) for x in out):
        last = re.match(r"^(\w+)\s*=", out[-1]) if out else None
        if last is None or last.group(1) not in STORED:
            return None
        out.append(f"dx = {last.group(1)}")
    text = "\n".join(out)
    for local in set(re.findall(r"^(\w+)\s*[-+]?=", text, flags=re.M)) - {code.upstream}:
        if STORED.get(local, local) != local:  # weights_gradient = …: the dW it names
            text = _word(local).sub(STORED[local], text)
            notes.append(f"`{local}` read as {STORED[local]}")
    forward = [f for f in code.forward if re.search(rf"self\.{f[5:].split()[0]}\b", text)]
    for f in forward:  # the forward's value, written where the backward reads it back
        attr, value = f[5:].split("=", 1)
        text = re.sub(rf"\bself\.{attr.strip()}\b", f"({value.strip()})", text)
    if forward:
        shown = ", ".join("self." + f[5:].split()[0] for f in forward)
        notes.append(f"{shown} read as the forward of the snippet assigns it")
    text = _OWN_FORWARD.sub("out", text)
    if not affine:  # sigmoid_forward(t), self.sigmoid(t): the step's own function
        text = re.sub(rf"(?<![\w.])(?:self\.)?_?{kind}(?:_forward)?\(", f"{kind}(", text)
    if not code.header:  # a bare body: an input's spelling read, never assigned, is x
        assigned = set(re.findall(r"^(\w+)\s*=", text, flags=re.M))
        names.update({n: "x" for n in inputs - assigned if _word(n).search(text)})
    text = _word(code.upstream).sub("dout", text)
    for attr, name in attrs.items():
        text = re.sub(rf"\bself\.{re.escape(attr)}(?!\w)", name, text)
    for mine, name in names.items():
        text = _word(mine).sub(name, text)
    return _operators(text), notes
