"""fast.ai's ``.g``: a value's gradient stored on the value itself (the course's
``Lin.backward``: ``self.inp.g = self.out.g @ self.w.t()``; ``Relu.bwd(self, out, inp):
inp.g = (inp>0).float() * out.g``), read in a layer API's names: ``inp.g`` the gradient
of the layer's input (``dx``), ``out.g`` the gradient arriving (``dout``), ``w.g``/``b.g``
the parameters' (``self.dW``, ``self.db``), ``inp`` the input ``x``, ``w`` the weights ``W``.

Only a snippet that stores gradients so (``inp.g =`` with ``out.g`` read) is rewritten,
before the snippet is read; the layer's backward is then judged as any other
(``layer_code``)."""

from __future__ import annotations

import re

#: A snippet in fast.ai's idiom: it assigns the input's .g and reads the output's.
_IDIOM = re.compile(r"(?s)(?=.*\binp\.g\s*=)(?=.*\bout\.g\b)")


def _renamed(m: re.Match[str]) -> str:
    """One name of the idiom in a layer API's names (the whole snippet must be in it)."""
    if not _IDIOM.match(m.string):
        return m.group(0)
    me, name, grad = m.group(1) or "", m.group(2), bool(m.group(3))
    if grad:
        if name == "out":
            return "dout"
        return (
            {"inp": me + "dx", "w": me + "dW", "b": me + "db"}[name]
            if me or name == "inp"
            else m.group(0)
        )
    if name == "inp":
        return me + "x"
    return me + "W" if me and name == "w" else m.group(0)


_NAMES = re.compile(r"(?<![\w.])(self\.)?(inp|out|w|b)(\.g)?(?![\w])")


def layer_api_names(text: str) -> str:
    """The snippet in a layer API's names where it is in fast.ai's idiom, else as written."""
    return _NAMES.sub(_renamed, text)


def grad_attr_notes(text: str) -> list[str]:
    """The reading used, said in the answer."""
    if not _IDIOM.match(text):
        return []
    return [
        "fast.ai's .g read as the gradient stored on a value: inp.g as dx, out.g as the "
        "gradient arriving (dout), w.g and b.g as dW and db"
    ]
