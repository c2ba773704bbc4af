"""LaTeX parse tree -> IR (the transformer of ``latex.lark``): the expressions.

The words it knows are in ``latex_tokens``; symbols, indices, superscripts and functions
in ``latex_scripts`` (its base class); the forms around the expressions (per-sample sums,
update rules, the chain rule) in ``latex_lhs``; the sums in ``latex_sums``;
the comparisons and cases in ``latex_conditions``.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from lark import Token, v_args

from derive.formula.ir import (
    IR,
    Amb,
    Bin,
    Chain,
    Conv,
    Diag,
    FormulaError,
    Mode,
    Neg,
    Num,
    Ones,
    Partial,
    Scalar,
    Slice,
    Sym,
    T,
)
from derive.formula.ir_walk import map_children
from derive.formula.latex_conditions import Conditions
from derive.formula.latex_ellipsis import Ellipses
from derive.formula.latex_hidden import hidden_letters
from derive.formula.latex_layers import (
    Alternative,
    capital_as_generic,
    one_layer,
    one_layer_update,
    one_layer_weight,
)
from derive.formula.latex_leibniz import elementwise_links
from derive.formula.latex_lhs import (
    DD,
    TensorLeft,
    chain_factors,
    per_sample,
    same_symbol,
    telescoped,
    update_rule,
)
from derive.formula.latex_output import output_unnumbered, sample_entries
from derive.formula.latex_scripts import Scripts
from derive.formula.latex_sums import Sums
from derive.formula.latex_units import unit_letters
from derive.formula.numbers import (
    parse_number,
)

# ------------------------------------------------------------ helpers

#: The derived quantities a formula may assign with := or ← (its formula, not an update).
_DERIVED = ("delta", "dW", "db", "dA", "dK")


def _chain(a: Any, b: Any) -> Chain:
    """``X ⊙ A B``, ``A B ⊙ X``: unbracketed ⊙ and juxtaposition, whose relative precedence
    notes do not agree on: a ``Chain`` with ``ops`` a string of ``m`` (matrix product) and
    ``h`` (⊙) between the operands; every bracketing is a reading."""
    ops: list[str] = []
    operands: list[Any] = []
    for side, node in enumerate((a, b)):
        if side:
            ops.append("h")
        if isinstance(node, Chain) and node.bare:
            ops += list(node.ops)
            operands += list(node.items)
        elif isinstance(node, Bin) and node.bare and node.op == "mat":
            flat: list[Any] = []
            stack: list[Any] = [node]
            while stack:
                n = stack.pop()
                if isinstance(n, Bin) and n.bare and n.op == "mat":
                    stack += [n.b, n.a]
                else:
                    flat.append(n)
            ops += ["m"] * (len(flat) - 1)
            operands += flat
        else:
            operands.append(node)
    return Chain("".join(ops), tuple(operands))


def _number_like(node: Any) -> bool:
    """A number, a scalar, or a quotient of them (``\\frac{1}{m}``)."""
    if isinstance(node, (Num, Scalar)):
        return True
    if isinstance(node, Bin) and node.op == "div":
        return _number_like(node.a) and _number_like(node.b)
    return isinstance(node, Neg) and _number_like(node.a)


def _is_bare(node: Any) -> bool:
    return isinstance(node, (Bin, Chain)) and node.bare


#: What ⊗ was read as: the elementwise product where its factors have one shape (a
#: blog's δ = (Wᵀ δ) ⊗ σ'(z)); the outer product where they are a sample's vectors of
#: different lengths (δ ⊗ a = δ aᵀ, said by ``OUTER_NOTE`` when taken).
OTIMES_NOTE = "⊗ read as the elementwise product ⊙ (its factors have the same shape)"
OUTER_NOTE = (
    "⊗ read as the outer product δ ⊗ a = δ aᵀ (its factors are vectors of different lengths)"
)


@v_args(inline=True)
class LatexToIR(Scripts, Ellipses, Sums, Conditions):
    """LaTeX parse tree -> IR."""

    def chain(self, *parts: Any) -> list[IR]:
        """A product of partial derivatives, read as the chain rule where it telescopes."""
        return self._with_outer(self._chain, list(parts))

    def _with_outer(self, read: Any, raw: list[IR]) -> list[IR]:
        """The formula read by ``read``; where ⊗ is written, with its other reading, the
        outer product (``δ ⊗ a = δ aᵀ``), which the shapes choose (``readings``)."""
        parts: list[IR] = read(raw)
        if not self.otimes or self.alternative is not None:
            return parts
        notes = list(self.notes)
        try:
            column = read([self._outer(p, column=True) for p in raw])
            row = read([self._outer(p, column=False) for p in raw])
        except FormulaError:
            return parts
        finally:
            self.notes[:] = notes
        self.alternative = Alternative(
            column,
            OUTER_NOTE,
            "⊗ between factors that are neither of the same shape (the elementwise product "
            "⊙) nor two vectors of one sample (the outer product δ aᵀ): write ⊙, or the "
            "product you mean",
            kind="otimes",
            row_parts=row,
        )
        self.notes.append(OTIMES_NOTE)
        return parts

    def _outer(self, node: Any, column: bool) -> Any:
        """``node`` with each ⊗ written as the outer product (a bᵀ, or aᵀ b for rows)."""
        if any(node is o for o in self.otimes):
            a, b = self._outer(node.a, column), self._outer(node.b, column)
            return Bin("mat", a, T(b)) if column else Bin("mat", T(a), b)
        return map_children(node, lambda c: self._outer(c, column))

    def _chain(self, parts: list[Any]) -> list[IR]:
        """``chain``, once the products written ⊗ are read one way."""
        lhs = parts[0]
        rhs = parts[1]
        param = isinstance(lhs, Sym) and lhs.base in ("W", "b", "K")
        accumulates = isinstance(rhs, Bin) and rhs.op in ("sub", "add")
        if param and accumulates and same_symbol(rhs.a, lhs):  # W_2 = W_2 − α G
            lhs, rhs = one_layer_update([lhs, rhs], self.notes, self.depth)
            return self._read(update_rule(lhs, rhs, list(parts[2:])))
        if accumulates and same_symbol(rhs.a, lhs):
            raise FormulaError(
                f"{lhs.base} = {lhs.base} + …: an accumulation (Δ ← Δ + …) is not read; write "
                "the quantity's formula, or an update of a parameter, W ← W − α G"
            )
        sides = []
        for p in parts[1:]:
            try:
                sides.append(per_sample(self._telescoped(p)))
            except TensorLeft as err:  # a middle step of a derivation: the others judged
                if len(parts) < 3:
                    raise
                self.unread.append(str(err))
        if not sides:
            raise FormulaError(self.unread[0])
        return self._read([per_sample(lhs), *sides])

    def _telescoped(self, side: IR) -> IR:
        """The side with its chain rule telescoped; where a link is left, ∂a/∂z multiplied
        entry by entry read as f'(z) (``elementwise_links``)."""
        try:
            return telescoped(side)
        except TensorLeft:
            notes = list(self.notes)
            read = telescoped(elementwise_links(side, notes))
            self.notes[:] = notes
            return read

    def update(self, lhs: IR, step: IR, *rest: IR) -> list[IR]:
        """``W ← W − α G`` (also ``:=``, ``\\gets``): the update rule checks ``G`` as ∂L/∂W."""
        return self._with_outer(lambda p: self._update(*p), [lhs, step, *rest])

    def _update(self, lhs: IR, step: IR, *rest: IR) -> list[IR]:
        """``update``, once the products written ⊗ are read one way. A gradient assigned
        (``δ^l := …``, ``dW ← …`` in an algorithm's box) is its formula, an equation."""
        if isinstance(lhs, (Partial, DD)) or (isinstance(lhs, Sym) and lhs.base in _DERIVED):
            return self._chain([lhs, step, *rest])
        lhs, step = one_layer_update([lhs, step], self.notes, self.depth)
        parts = update_rule(lhs, step, [telescoped(p) for p in rest])
        return self._read([per_sample(p) for p in parts])

    def _read(self, parts: list[IR]) -> list[IR]:
        """The parts, with the readings of the whole formula (``latex_layers``)."""
        parts = one_layer(parts, self.notes, self.depth)
        parts = output_unnumbered(parts, self.notes, self.depth)
        parts = sample_entries(parts, self.notes)
        parts, self.alternative = one_layer_weight(parts, self.notes, self.depth)
        if self.alternative is None:
            parts, self.alternative = hidden_letters(parts, self.notes, self.depth)
        if self.alternative is None:
            wikipedia = bool(self.functions & {"\\varphi", "\\phi"})  # Wikipedia's φ
            parts, self.alternative = unit_letters(
                parts, self.notes, "h" in self.functions, wikipedia
            )
        return capital_as_generic(parts, self.notes, self.output_written)

    def juxt(self, a: IR, b: IR) -> IR:
        """Juxtaposition: a product whose kind the shapes decide."""
        return Bin("mat", a, b, bare=True)

    def dd(self, _f1: Token, _p1: Token, num: IR, _p2: Token, den: IR) -> Any:
        """A ``d``-name (``dW``) as the gradient it names."""
        return DD(num, den)

    def binop(self, a: IR, op: Token, b: IR) -> IR:
        """``+``, ``-`` and the product signs between two terms."""
        if str(op) == "\\star":
            return Conv("corr", a, b, None)
        if str(op) == "\\otimes":  # ⊙ or the outer product, as the shapes say
            node = Bin("had", a, b)
            self.otimes.append(node)
            return node
        kind = {"\\odot": "had", "\\circ": "had", ".*": "had", "/": "div"}.get(str(op), "amb")
        if kind == "had" and (_is_bare(a) or _is_bare(b)):
            chain = _chain(a, b)
            if sum(1 for o in chain.items if not _number_like(o)) > 2:
                return Chain(chain.ops, chain.items, bare=True)  # (1/m) X ⊙ Y: either way
        if kind == "amb":
            return Amb(a, b, str(op))
        return Bin("had" if kind == "had" else "div", a, b)

    def mode(self, node: IR, tok: Token) -> IR:
        """The mode of a sliding product (``full``, ``valid``)."""
        return Mode(node, str(tok).strip("{} "))

    def group(self, inner: IR) -> IR:
        """A bracketed group (its value)."""
        if isinstance(inner, (Bin, Chain)) and inner.bare:
            return dataclasses.replace(inner, bare=False)
        return inner

    def number(self, tok: Token) -> IR:
        """A number literal, parsed with bounds."""
        return Num(parse_number(str(tok)))

    def ones(self, tok: Token) -> IR:
        r"""A ones vector ``\mathbf{1}``."""
        size = re.search(r"_\{?\s*(\w)", str(tok))
        return Ones(size.group(1)) if size else Ones()

    def slice(self, node: IR, tok: Token) -> IR:
        r"""A column or row slice ``(\cdot)_{:,k}``."""
        return Slice(node, tuple(re.findall(r"[a-z]|:", str(tok))))

    def frac(self, _tok: Token, num: IR, den: IR) -> IR:
        r"""``\frac{a}{b}``."""
        return Bin("div", num, den)

    def diag(self, _tok: Token, arg: IR) -> IR:
        r"""``\operatorname{diag}(v)``: read elementwise where it multiplies a vector."""
        return Diag(arg)

    def prod(self, _tok: Token, a: IR, b: IR) -> IR:
        r"""``\textrm{prod}(∂J/∂o, ∂o/∂h)`` (Dive into Deep Learning's product "after the
        necessary transposition and swapping of inputs"): read only where its arguments are
        links of the chain rule, which telescope in any order (``telescoped``)."""
        if chain_factors(Bin("mat", a, b)) is None:
            raise FormulaError(
                "prod(·, ·) is read as the chain rule's product of derivatives (∂J/∂o, ∂o/∂h); "
                "write any other product out, with its transposes"
            )
        return Bin("mat", a, b)
