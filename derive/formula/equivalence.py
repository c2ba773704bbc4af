"""Equivalence: whether some reading of a right-hand side is the derived quantity.

Structural equality first (SymPy), else the readings are evaluated at random widths and
values (``TRIALS`` of them) and compared entry by entry; index forms are evaluated on
grids (``indexed``). What one check learns on the way (how many readings, whether the
CNN stand-in was used) goes into its ``Run``, never into the checker.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy
from sympy.matrices.expressions import MatrixSymbol

from derive.core import numeric
from derive.core.derivation import Derivation
from derive.core.nodes import is_tensor, tensor_shape
from derive.formula.indexed import IndexForm
from derive.formula.ir import Num, Sym
from derive.formula.ir_walk import has_entries, nodes
from derive.formula.layer_indices import IntIndex
from derive.formula.networks import TRIALS, Networks, concrete_widths
from derive.formula.numpy_sums import as_quantity_shape
from derive.formula.parse import IR, FormulaError
from derive.formula.quantity import Quantity
from derive.formula.resolve import (
    Context,
    Resolver,
    ShapeMismatch,
    UnknownSymbol,
    unique,
)
from derive.formula.run import Run

RTOL = 1e-7
ATOL = 1e-9


def shape_of(e: Any) -> Any:
    """The shape of a matrix or tensor expression (None for a scalar)."""
    return tensor_shape(e) if is_tensor(e) else getattr(e, "shape", None)


class Equivalence(Networks):
    """Compares readings of a formula with the derivation."""

    def matches(
        self, run: Run, d: Derivation, q: Quantity, rhs: IR, trials: int = TRIALS
    ) -> tuple[bool, str]:
        """Whether some shape-consistent reading of ``rhs`` equals the quantity everywhere."""
        if has_entries(rhs):
            return self.matches_index_form(run, d, q, rhs, trials)
        per_layer: list[tuple[list[Any], Any]] = []
        generic = q.generic
        skipped: FormulaError | None = None
        for k in q.layers(d):
            try:
                want = q.expected(d, k)
                ctx = self._context(run, d, k)
                readings = unique(Resolver(ctx).readings(rhs))
                readings = [as_quantity_shape(r, want, d.program.column, ctx) for r in readings]
            except (UnknownSymbol, ShapeMismatch) as err:
                if not generic or not d.network.is_conv:
                    raise
                # layer l of a CNN: only the layers of the formula's kind (a sum over the
                # feature maps' axes is no dense layer's); none at all: the first error
                skipped = skipped or err
                continue
            per_layer.append((readings, want))
        if not per_layer:
            return self._on_pair(run, d, self.matches, q, rhs, trials, skipped)
        run.readings = max(len(readings) for readings, _ in per_layer)
        if all(any(r == want for r in readings) for readings, want in per_layer):
            return True, "symbolic"
        if self._some_reading_equal(d, per_layer, trials):
            return True, "numeric"
        # a number written for a concrete width (1/3 for a layer norm over 3 units): the
        # widths it may stand for held at the user's own values, the others still random
        # (one width at a time first, so that the note names the one it stands for)
        fixed = self.written_sizes(d, written_numbers(rhs))
        tries = [{k: v} for k, v in fixed.items()] + ([fixed] if len(fixed) > 1 else [])
        for sizes in tries:
            if self._some_reading_equal(d, per_layer, trials, sizes):
                run.size_notes = [size_note(sizes)]
                return True, "numeric (at this network's widths)"
        return False, "numeric"

    def _some_reading_equal(
        self,
        d: Derivation,
        per_layer: list[tuple[list[Any], Any]],
        trials: int,
        fixed: dict[str, int] | None = None,
    ) -> bool:
        """Whether the i-th reading equals the quantity at every layer, for some i."""
        for i in range(max(len(r) for r, _ in per_layer)):
            ok = True
            for readings, want in per_layer:
                r = readings[min(i, len(readings) - 1)]
                if not self._numeric_equal(d, r, want, trials, fixed):
                    ok = False
                    break
            if ok:
                return True
        return False

    def matches_index_form(
        self, run: Run, d: Derivation, q: Quantity, rhs: IR, trials: int
    ) -> tuple[bool, str]:
        """An index-form right side (``Σ_{i,j} δ_{ij} a_{i+u,j+v}``), evaluated on grids."""
        checked = 0
        skipped: UnknownSymbol | None = None
        for k in q.layers(d):
            try:
                want = q.expected(d, k)
                r = Resolver(self._context(run, d, k))
                base = {"grad": q.base, "delta": "delta", "cot": "A", "fwd": q.base}[q.kind]
                lhs = r.symbol(Sym(base, IntIndex(q.layer_value(k)), False))
                if isinstance(lhs, MatrixSymbol) and d.network.is_conv:  # a CNN: for maps
                    raise UnknownSymbol(f"{lhs.name} is not a feature map or kernel")
                for env in self.envs(d, trials):
                    with np.errstate(all="ignore"):
                        b = np.asarray(numeric.evaluate(want, env), dtype=float)
                        form = IndexForm(r, env, lhs, q.entries)
                        a = form.run(rhs, b.shape)
                        run.size_notes[:] = dict.fromkeys([*run.size_notes, *form.notes])
                    if a.shape != b.shape or not np.allclose(a, b, rtol=RTOL, atol=ATOL):
                        return False, "numeric (index form)"
            except UnknownSymbol as err:
                skipped = skipped or err
                continue
            checked += 1
        if not checked:
            return self._on_pair(run, d, self.matches_index_form, q, rhs, trials, skipped)
        return True, "numeric (index form)"

    def _on_pair(
        self,
        run: Run,
        d: Derivation,
        method: Any,
        q: Quantity,
        rhs: IR,
        trials: int,
        skipped: Any,
    ) -> tuple[bool, str]:
        """No layer of a CNN fitted a formula in l: check it on the stand-in network."""
        if d is self.d and d.network.is_conv and self.pair is not None:
            run.pair_used = True
            return method(run, self.pair, q, rhs, trials)  # type: ignore[no-any-return]
        raise skipped or FormulaError("no layer of this network fits the formula")

    def _context(self, run: Run, d: Derivation, k: int | None) -> Context:
        widths = concrete_widths(self.network, self.sym_network)
        key = (id(d), k, run.python, run.guess)
        kept = run.memo.get(key)
        if kept is None or kept[0] is not d:  # (the derivation kept: its id is not reused)
            kept = run.memo[key] = (d, {})
        memo = kept[1]
        return Context(
            d, k, run.budget, run.python, widths, width_one_broadcast=not run.guess, memo=memo
        )

    def _numeric_equal(
        self, d: Derivation, got: Any, want: Any, trials: int, fixed: dict[str, int] | None = None
    ) -> bool:
        if shape_of(got) != shape_of(want):
            return False
        for env in self.envs(d, trials, fixed):
            try:
                with np.errstate(all="ignore"):
                    a = np.asarray(numeric.evaluate(got, env), dtype=float)
                    b = np.asarray(numeric.evaluate(want, env), dtype=float)
            except (KeyError, NotImplementedError, TypeError, ValueError):
                return False
            if a.shape != b.shape or not np.allclose(a, b, rtol=RTOL, atol=ATOL):
                return False
        return True


def written_numbers(rhs: IR) -> set[int]:
    """The integers a right-hand side writes, as numbers or in fractions (``\\frac{2}{3}``
    gives 2 and 3): the sizes of the user's network a number may stand for."""
    out: set[int] = set()
    for _, node in nodes(rhs):
        if isinstance(node, Num) and isinstance(node.value, sympy.Rational):
            out.update({abs(int(node.value.p)), int(node.value.q)})
    return out


def size_note(fixed: dict[str, int]) -> str:
    """What a check at the network's own widths says it did."""
    sizes = ", ".join(f"{name} = {value}" for name, value in sorted(fixed.items()))
    return (
        f"a number in the formula is read as a width of this network ({sizes}): checked at "
        "the network's own widths, so it holds for this network, not for every width"
    )


def shapes_fit(eq: Equivalence, run: Run, q: Quantity, rhs: IR) -> bool:
    """Whether some reading of ``rhs`` has the quantity's shape at every layer it names
    (used to tell which reading of an unknown name its author meant, ``guesses``)."""
    d = eq.d
    if has_entries(rhs):
        return True
    try:
        for k in q.layers(d):
            want = shape_of(q.expected(d, k))
            ctx = eq._context(run, d, k)
            readings = unique(Resolver(ctx).readings(rhs))
            expected = q.expected(d, k)
            readings = [as_quantity_shape(r, expected, d.program.column, ctx) for r in readings]
            if not any(shape_of(r) == want for r in readings):
                return False
    except FormulaError:
        return False
    return True
