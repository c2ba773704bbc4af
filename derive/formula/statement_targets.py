"""A snippet's statements as parsed, before they are read: the plain name each one
assigns (the snippet's own names, known before any line is read), and a tuple unpacked
from a call, refused saying why. Both the statement reader (``python_statements``) and
the snippet's judge (``snippet_statements``) ask them.
"""

from __future__ import annotations

from typing import Any

from lark import Token, Tree

from derive.formula.ir import FormulaError
from derive.formula.snippets import DICTS, LISTS


def target_word(stmt: Tree[Any]) -> str | None:
    """The plain name a statement assigns (``dscores`` in ``dscores[…] -= 1``), if any."""
    if stmt.data not in ("chain", "augassign") or not stmt.children:
        return None
    node: Any = stmt.children[0]
    while isinstance(node, Tree) and node.data == "index":
        node = node.children[0]
    if isinstance(node, Tree) and node.data == "name":
        word = str(node.children[0])
        return None if word in LISTS or word in DICTS else word
    if (  # self.dW = … (a layer class's stored gradient)
        isinstance(node, Tree)
        and node.data == "attr"
        and len(node.children) == 2
        and isinstance(node.children[0], Tree)
        and node.children[0].data == "name"
        and str(node.children[0].children[0]) == "self"
    ):
        return f"self.{node.children[1]}"
    return None


#: Ng's backward helpers, whose outputs are unpacked (dA_prev, dW, db = …).
NG_HELPERS = frozenset({"linear_backward", "linear_activation_backward", "L_model_backward"})


def unpacked(stmt: Tree[Any]) -> FormulaError:
    """``a, b, c = f(…)``: refused, saying why (Ng's helpers return the gradients of the
    layer their cache belongs to, which the snippet does not show)."""
    value = stmt.children[-1]
    name = None
    if isinstance(value, Tree) and value.data == "call":
        fn = value.children[0]
        names = [t for t in tokens(fn) if t.type == "NAME"]
        name = str(names[-1]) if names else None
    if name in NG_HELPERS:
        return FormulaError(
            f"a tuple unpacked from {name}(…) is not read: Ng's helper returns the gradients "
            "(dA_prev, dW, db) of the layer its cache belongs to, which the snippet does not "
            "show; check the formulas inside the helper (dZ = …, dW = …, db = …) or the line "
            "that computes its argument (e.g. dAL = …)"
        )
    return FormulaError(
        "a tuple unpacked from a value (a, b = …) is not read: write one assignment a line, "
        "each naming its quantity (dW = …, db = …)"
    )


def tokens(node: Any) -> list[Token]:
    """The tokens of a parse tree (a token alone: itself), in order."""
    return (
        list(node.scan_values(lambda v: isinstance(v, Token))) if isinstance(node, Tree) else [node]
    )


def is_indexed(node: Any) -> bool:
    """Whether the parse tree is a subscript (``x[…]``)."""
    return isinstance(node, Tree) and node.data == "index"
