"""PyTorch's and TensorFlow's spellings of NumPy's element-wise functions, read as NumPy's.

Losses are often written in torch or tf: ``torch.where(c, x, y)``,
``tf.where(condition=c, x=a, y=b)``, ``tf.abs(e)``, ``torch.sign(r)``. Each of the functions
below means NumPy's function of the same name, entry by entry, with the same arguments in
the same places (TF 1's keywords ``condition=``, ``x=``, ``y=`` and torch's ``condition=``,
``input=``, ``other=`` are put in their places). A hyperparameter held by a configuration
object (``config.clip_loss``, ``cfg.delta``, ``args.delta``, ``hparams.delta``,
``opt.delta``, ``FLAGS.delta``) is the program's value of that name, when the program has
one. ``self.dW = …`` (a layer storing a gradient) assigns ``dW``. A sub-layer called as a
function (``self.conv1(out)``: PyTorch's ``module(x)`` runs ``module.forward(x)``) is its
``forward``, when the program names it under ``[sublayers]``. A line is rewritten before
the program grammar reads it (the grammar itself knows only NumPy), and the answer says
each reading it used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from derive.spec import program_grammar as G

#: The torch/tf functions read as NumPy's (element-wise, the same arguments).
SAME_AS_NUMPY = frozenset(
    {"abs", "where", "sign", "maximum", "minimum", "exp", "log", "sqrt", "tanh", "square"}
)
#: Each framework's keyword names of ``where``'s three arguments, in NumPy's order.
WHERE_KEYWORDS = {
    "tf": ("condition", "x", "y"),
    "tf.math": ("condition", "x", "y"),
    "torch": ("condition", "input", "other"),
}
#: Objects that hold hyperparameters in real code (``config.clip_loss``).
CONFIG_OBJECTS = ("config", "cfg", "args", "hparams", "opt", "FLAGS")

_CALL = re.compile(r"(?<![\w.])(tf\.math|tf|torch)\.([A-Za-z_]\w*)\s*\(")
_CONFIG = re.compile(r"(?<![\w.])(" + "|".join(CONFIG_OBJECTS) + r")\.([A-Za-z_]\w*)(?![\w(])")
_LAYER_CALL = re.compile(r"(?<![\w.])self\.([A-Za-z_]\w*)\s*\(")
_SELF_TARGET = re.compile(r"^self\.([A-Za-z_]\w*)(?=\s*(?:[-+*/]?=)(?!=))")
_TUPLE_TARGET = re.compile(r"^\(\s*([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)+)\s*,?\s*\)(?=\s*=(?!=))")
_TRANSPOSE = re.compile(r"(?<![\w.])(?:np|numpy)\.transpose\s*\(")
_SWAP = re.compile(r"[(\[]\s*1\s*,\s*0\s*[)\]]")
_KEYWORD = re.compile(r"\s*([A-Za-z_]\w*)\s*=(?!=)(.*)", re.S)


def _closing(text: str, start: int) -> int | None:
    """The index of the bracket closing the one opened just before ``start``."""
    depth = 1
    for i in range(start, len(text)):
        if text[i] in "([{":
            depth += 1
        elif text[i] in ")]}":
            depth -= 1
            if depth == 0:
                return i
    return None


def _split_args(text: str) -> list[str]:
    """A call's arguments, split at its top-level commas."""
    out, depth, buf = [], 0, ""
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(buf)
            buf = ""
        else:
            buf += ch
    if buf.strip():
        out.append(buf)
    return out


def _where_args(args: list[str], framework: str) -> list[str] | None:
    """``where``'s arguments in NumPy's order (None: a keyword it does not have)."""
    names = WHERE_KEYWORDS[framework]
    placed: dict[int, str] = {}
    for k, arg in enumerate(args):
        kw = _KEYWORD.match(arg)
        if kw is None:
            placed[k] = arg.strip()
        elif kw.group(1) in names:
            placed[names.index(kw.group(1))] = kw.group(2).strip()
        elif kw.group(1) != "name":  # tf's name= labels the op: no value
            return None
    if sorted(placed) != [0, 1, 2]:
        return None
    return [placed[k] for k in range(3)]


def as_numpy(
    line: str,
    known: Callable[[str], bool],
    notes: list[str],
    layers: Mapping[str, frozenset[str]] | None = None,
) -> str:
    """``line`` with each torch/tf function of ``SAME_AS_NUMPY`` spelled as NumPy's, each
    ``config.NAME`` of a program name read as ``NAME`` and each ``self.LAYER(v)`` of a
    sub-layer as ``self.LAYER.forward(v)`` (``layers``: each sub-layer, the names its step
    reads); each reading noted once."""
    line = _framework_calls(line, notes)
    line = _TUPLE_TARGET.sub(r"\1", line)  # (a, b) = cache is Python's a, b = cache
    line = _swapped_axes(line)
    target = _SELF_TARGET.match(line)
    if target is not None:  # self.dW = …: a layer stores its gradient under its own name
        line = target.group(1) + line[target.end() :]
        note = "an attribute of self assigned (self.NAME = …) is read as NAME"
        if note not in notes:
            notes.append(note)
    for m in reversed(list(_CONFIG.finditer(line))):
        if known(m.group(2)):
            note = f"read {m.group(1)}.{m.group(2)} as the program's {m.group(2)}"
            if note not in notes:
                notes.append(note)
            line = line[: m.start()] + m.group(2) + line[m.end() :]
    return _layer_calls(line, notes, layers or {})


def _framework_calls(line: str, notes: list[str]) -> str:
    """``tf.where(condition=c, x=a, y=b)`` -> ``np.where(c, a, b)``, ``torch.abs`` -> ``np.abs``."""
    pos = 0
    while (m := _CALL.search(line, pos)) is not None:
        framework, fn = m.group(1), m.group(2)
        end = _closing(line, m.end())
        if fn not in SAME_AS_NUMPY or end is None:
            pos = m.end()
            continue
        inner = line[m.end() : end]
        if fn == "where":
            args = _where_args(_split_args(inner), framework)
            if args is None:
                pos = m.end()
                continue
            inner = ", ".join(args)
        note = f"read {framework}.{fn} as np.{fn} (the same element-wise function)"
        if note not in notes:
            notes.append(note)
        line = line[: m.start()] + f"np.{fn}({inner})" + line[end + 1 :]
        pos = m.start() + len(f"np.{fn}(")
    return line


def _swapped_axes(line: str) -> str:
    """``np.transpose(x, (1, 0))``: the axes of a matrix swapped, its transpose."""
    pos = 0
    while (m := _TRANSPOSE.search(line, pos)) is not None:
        end = _closing(line, m.end())
        if end is None:
            return line
        args = _split_args(line[m.end() : end])
        if len(args) == 2 and _SWAP.fullmatch(args[1].strip().removeprefix("axes=").strip()):
            line = line[: m.end()] + args[0].strip() + line[end:]
        pos = m.end()
    return line


def _layer_calls(line: str, notes: list[str], layers: Mapping[str, frozenset[str]]) -> str:
    """``self.conv1(out)`` -> ``self.conv1.forward(out)``; further arguments are dropped
    only when each is a name the layer's step reads itself (``self.norm1(out, gamma,
    beta)`` over a step ``n1 = gamma * … + beta``): the program's own values, passed again."""
    for m in reversed(list(_LAYER_CALL.finditer(line))):
        layer = m.group(1)
        end = _closing(line, m.end())
        if layer not in layers or end is None:
            continue
        args = _split_args(line[m.end() : end])
        extra = [a.strip() for a in args[1:]]
        if not args or not all(a in layers[layer] for a in extra):
            continue  # the grammar says what it does not read
        line = line[: m.start()] + f"self.{layer}.forward({args[0].strip()})" + line[end + 1 :]
        _note_call(notes, layer, extra)
    return line


def _note_call(notes: list[str], layer: str, extra: list[str]) -> None:
    """One note for every module called: ``read self.a(…), self.b(…) as their .forward``."""
    called = f"self.{layer}(…)" + (f" (its {', '.join(extra)}: the program's own)" if extra else "")
    at = next((k for k, n in enumerate(notes) if n.startswith(_MODULES)), None)
    if at is None:
        notes.append(f"{_MODULES}{called}")
    elif called not in notes[at]:
        notes[at] = f"{notes[at]}, {called}"


#: The note on modules called (PyTorch's module(x) runs module.forward(x)).
_MODULES = "a module called runs its forward: read as .forward(…) "


def layer_reads(spec: Any) -> dict[str, frozenset[str]]:
    """Each sub-layer of a program, with the names its step reads (none for an opaque one)."""
    steps = {a.target: a for a in getattr(spec, "equations", ())}
    out: dict[str, frozenset[str]] = {}
    for name, _inp, output in getattr(spec, "sublayers", ()):
        step = steps.get(output)
        out[name] = frozenset(n.id for n in G.names(step.expr)) if step is not None else frozenset()
    return out
