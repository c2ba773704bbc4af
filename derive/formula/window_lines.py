"""The lines of loop code over windows: statements parsed one at a time by our grammar.

Real loop code (CS231n's ``conv_backward_naive``, Ng's ``conv_backward``) is indented
Python; ``python.lark`` reads one statement, and the indentation, kept here, gives each
``for`` its body. Also what a snippet's statements assign and read (names, subscripts),
which ``window_check`` uses to find the loops a copied loop body leaves out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import LarkError

from derive.formula.window_errors import LoopError


@cache
def parser() -> Lark:
    """The LALR parser of ``window.lark`` (``python.lark`` extended), built once."""
    here = resources.files("derive.formula")
    grammar = here.joinpath("window.lark").read_text("utf-8")
    return Lark(
        grammar,
        parser="lalr",
        maybe_placeholders=True,
        propagate_positions=True,
        cache=True,  # the analysis kept on disk (lark checks the imported grammar's hash)
        import_paths=[str(here)],
    )


def _plain(tree: Tree[Any]) -> Tree[Any]:
    """The tree with python.lark's node names as they are there (``python__index`` is
    ``index``: rules imported by the extended grammar carry its namespace), and a layer
    class's attributes (``self.W``) as plain names."""
    for t in tree.iter_subtrees():
        if isinstance(t.data, str) and t.data.startswith("python__"):
            t.data = t.data[len("python__") :]
    for t in tree.iter_subtrees():  # self.W in a layer class: the name W
        base = t.children[0] if t.data == "attr" else None
        if isinstance(base, Tree) and base.data == "name" and str(base.children[0]) == "self":
            t.data, t.children = "name", [Token("NAME", str(t.children[1]))]
    return tree


Line = tuple[int, Tree[Any], str]  # (indentation, parsed statement, its text)


@dataclass
class Block:
    """A statement with the statements it heads (a ``for`` loop's body)."""

    tree: Tree[Any]
    body: list[Block] = field(default_factory=list)
    src: str = ""


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """The snippet's statements with their indentation: comments dropped, continued lines
    (an open bracket, a trailing backslash) joined, ``for …: stmt`` split in two."""
    out: list[tuple[int, str]] = []
    pending = ""
    indent = 0
    quoted = False
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not pending and line.strip()[:3] in ('"""', "'''"):  # a docstring: no statement
            closes = line.strip()[3:].count(line.strip()[:3])
            quoted = not quoted if not closes else quoted
            continue
        if quoted or not line.strip():
            continue
        if not pending:
            indent = len(line) - len(line.lstrip())
        pending += (" " if pending else "") + line.strip().rstrip("\\")
        depth = sum(pending.count(o) - pending.count(c) for o, c in ("()", "[]", "{}"))
        if depth > 0 or line.endswith("\\"):
            continue
        out.extend(_split_header(indent, pending))
        pending = ""
    if pending:
        raise LoopError("the snippet ends inside an open bracket")
    return out


def _tuple_value(line: str) -> str:
    """``a, b = p, q`` as ``a, b = (p, q)``: the same statement, in the form the grammar
    reads (its right-hand side one expression)."""
    depth = 0
    for k, ch in enumerate(line):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if (
            ch == "="
            and depth == 0
            and line[k - 1 : k] not in ("<", ">", "!", "=", "+", "-", "*", "/")
        ):
            if line[k + 1 : k + 2] == "=":
                return line
            rhs = line[k + 1 :]
            top = 0
            for c in rhs:
                top += c in "([{"
                top -= c in ")]}"
                if c == "," and top == 0:
                    return f"{line[: k + 1]} ({rhs.strip()})"
            return line
    return line


def _split_header(indent: int, line: str) -> list[tuple[int, str]]:
    """``for n in range(N): body`` (or ``if c: continue``) as the header and its one-line
    body."""
    if not line.startswith(("for ", "if ", "elif ", "else:")):
        return [(indent, _tuple_value(line))]
    depth = 0
    for k, ch in enumerate(line):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == ":" and depth == 0:
            rest = line[k + 1 :].strip()
            body = [(indent + 1, _tuple_value(rest))] if rest else []
            return [(indent, line[: k + 1]), *body]
    return [(indent, line)]


#: Statements that steer the loops (``sample_flow`` runs them): a bare word, or a header.
FLOW = ("continue", "break", "else:")
HEADS = ("loop", "def", "if", "elif", "else")


def _condition(src: str) -> Tree[Any]:
    """``if margin > 0:`` (or ``elif``): the condition, parsed as the value of a statement
    (the grammar reads a comparison in brackets)."""
    cond = src.split(None, 1)[1][:-1].strip() if src.endswith(":") else ""
    if not cond or any(w in cond.split() for w in ("and", "or", "not", "in", "is")):
        raise LoopError(f"cannot read the condition of {src!r}: one comparison is read")
    tree = _plain(parser().parse(f"_cond = ({cond})"))
    return tree.children[0].children[0].children[-1]


def blocks(text: str) -> list[Block]:
    """The snippet as nested blocks, each statement parsed by ``window.lark``."""
    lines: list[Line] = []
    for indent, src in _logical_lines(text):
        word = (src.split("(")[0].split() or [""])[0]
        if src in FLOW:  # continue, break, else:
            lines.append((indent, Tree(src.rstrip(":"), []), src))
            continue
        if word in ("if", "elif"):
            try:
                lines.append((indent, Tree(word, [_condition(src)]), src))
            except LarkError as err:
                raise LoopError(
                    f"cannot read the line {src!r}: {str(err).splitlines()[0]}"
                ) from None
            continue
        if word in ("def", "return", "pass"):  # a function's frame: its body is what runs
            if word == "def" and not src.endswith(":"):
                raise LoopError(f"cannot read the line {src!r}")
            lines.append((indent, Tree(word, []), src))
            continue
        try:
            tree = _plain(parser().parse(src))
        except LarkError as err:
            raise LoopError(f"cannot read the line {src!r}: {str(err).splitlines()[0]}") from None
        (program,) = tree.children
        if not isinstance(program, Tree) or len(program.children) != 1:
            raise LoopError(f"cannot read the line {src!r}")
        (stmt,) = program.children
        if not isinstance(stmt, Tree):
            raise LoopError(f"cannot read the line {src!r}")
        lines.append((indent, stmt, src))
    root: list[Block] = []
    stack: list[tuple[int, list[Block]]] = [(-1, root)]
    for indent, stmt, src in lines:
        while len(stack) > 1 and indent <= stack[-1][0]:
            stack.pop()
        block = Block(stmt, src=src)
        stack[-1][1].append(block)
        if stmt.data in HEADS:
            stack.append((indent, block.body))
    _returns_last(root)
    return root


def _returns_last(body: list[Block]) -> None:
    """A ``return`` only as the last statement of its function (what it hands back is
    judged by name: dx, dw, db)."""
    for k, block in enumerate(body):
        if block.tree.data == "return" and k != len(body) - 1:
            raise LoopError("a return before the end of the code is not run here")
        _returns_last(block.body)


def names(tree: Tree[Any], kind: str = "name") -> set[str]:
    """The names a tree reads (``name`` nodes)."""
    return {str(t.children[0]) for t in tree.iter_subtrees() if t.data == kind}


def assigned(block: Block) -> set[str]:
    """The names a block's statements assign (whole names, and arrays indexed on the left)."""
    out: set[str] = set()
    for b in [block, *block.body]:
        t = b.tree
        if t.data in ("loop", "def", "return", "pass", *HEADS, "continue", "break"):
            if t.data == "loop":
                out.add(str(t.children[0]))
            for inner in b.body:
                out |= assigned(inner)
            continue
        targets = list(t.children[:-1] if t.data in ("chain", "unpack") else t.children[:1])
        targets += [c for x in targets if x.data == "tuple" for c in x.children]
        for target in targets:
            while isinstance(target, Tree) and target.data == "index":
                target = target.children[0]
            if isinstance(target, Tree) and target.data == "name":
                out.add(str(target.children[0]))
    return out


def subscripts(body: list[Block]) -> tuple[set[str], list[tuple[str, str, int]]]:
    """Every name inside a subscript, and each bare one with its array and axis."""
    inside: set[str] = set()
    bare: list[tuple[str, str, int]] = []
    trees = []
    stack = list(body)
    while stack:
        b = stack.pop()
        trees.append(b.tree)
        stack.extend(b.body)
    for tree in trees:
        for t in tree.iter_subtrees():
            if t.data != "index":
                continue
            obj, subs = t.children
            inside |= names(subs)
            for axis, sub in enumerate(subs.children):
                if sub.data == "name" and obj.data == "name":
                    bare.append((str(sub.children[0]), str(obj.children[0]), axis))
    return inside, bare


def reads(body: list[Block], name: str) -> bool:
    """Whether a statement reads ``name``."""
    stack = list(body)
    while stack:
        b = stack.pop()
        if name in names(b.tree):
            return True
        stack.extend(b.body)
    return False


def accumulated(body: list[Block]) -> Iterator[tuple[str, list[Block]]]:
    """The snippet with one ``x[…] = v`` made ``x[…] += v``, for each such statement:
    overwriting a window where the windows' contributions must be summed is a usual slip."""
    for k, block in enumerate(body):
        t = block.tree
        if t.data == "chain" and len(t.children) == 2 and t.children[0].data == "index":
            plus = Tree("augassign", [t.children[0], Token("AUGOP", "+="), t.children[1]])
            yield block.src, [*body[:k], Block(plus, block.body, block.src), *body[k + 1 :]]
        for src, inner in accumulated(block.body):
            yield src, [*body[:k], Block(block.tree, inner, block.src), *body[k + 1 :]]


def index_arities(
    body: list[Block], words: frozenset[str] | set[str] | tuple[str, ...]
) -> list[int]:
    """How many indices the snippet gives each of ``words`` wherever it indexes one
    (``db[c]``: 1, ``dZ[i, h, w, c]``: 4), every block of ``body`` walked."""
    out: list[int] = []
    stack = list(body)
    while stack:
        b = stack.pop()
        stack.extend(b.body)
        for t in b.tree.iter_subtrees():
            obj = t.children[0] if t.data == "index" else None
            if obj is not None and obj.data == "name" and str(obj.children[0]) in words:
                out.append(len(t.children[1].children))
    return out
