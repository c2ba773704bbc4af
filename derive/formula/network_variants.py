"""The checker on variants of its network: one-unit layers kept 1×1 (their products are
numbers), a batch of one sample. A formula wrong or unreadable as matrices may be right
on one of them; ``readings`` and ``one_sample`` ask them, each made once per checker.
"""

from __future__ import annotations

from derive.formula.algebra import MAX_PRODUCTS, Budget
from derive.formula.answer import CheckResult
from derive.formula.ir import Fn, Sym
from derive.formula.ir_walk import nodes
from derive.formula.numberings import Numberings
from derive.formula.parse import FormulaError
from derive.formula.run import Run
from derive.spec.norm_layers import Norm
from derive.spec.records import Network

#: The most symbols and functions a formula of numbers may have to be tried as numbers
#: before as matrices (``_as_numbers``): each product of numbers has two readings.
MAX_NUMBER_FACTORS = 14


class Variants(Numberings):
    """A checker that makes its network's variants and reads a formula as numbers."""

    @property
    def all_numbers(self) -> bool:
        """Whether every width and the batch are 1 (a chain of scalar neurons, one sample):
        every quantity is a number, so a product whose matrix shapes do not fit is one of
        numbers, and the formula's mistake is looked for among numbers (``_as_numbers``)."""
        net = self.network
        return not net.is_conv and net.batch == 1 and all(w == 1 for w in net.widths)

    def _as_numbers(self, run: Run, shape_error: str) -> CheckResult | None:
        """A formula whose shapes do not fit, in a network of numbers (``all_numbers``):
        its verdict and mistake with the layers as the numbers they are (single mistakes
        only: a product of numbers has many readings); None where it cannot be read so."""
        ones = self.variant("ones")
        factors = sum(1 for p in run.parts[1:] for _, n in nodes(p) if isinstance(n, (Sym, Fn)))
        if ones is None or factors > MAX_NUMBER_FACTORS:
            return None  # a long product of numbers has too many readings to try them twice
        try:
            scalar = self._checked_as_numbers(ones, run)
        except FormulaError as err:
            # The matrix shapes say nothing in a network of numbers (they fit as numbers):
            # a formula the number reading cannot judge is not judged by them either (the
            # right form of a wrong formula would be "incorrect" too). Say why instead.
            raise FormulaError(
                "cannot tell: every layer of this network is one unit wide, so its products "
                f"are of numbers, and read so: {err}",
                err.column,
            ) from None
        if scalar.correct:
            scalar.notes.append(
                "correct for this network's one-unit layers (1×1 products are numbers)"
            )
            return scalar
        if not _named(scalar.diagnosis):
            return None
        scalar.notes.append(
            "diagnosed with this network's one-unit layers as numbers (1×1); as matrices of "
            f"any width the shapes do not fit: {shape_error}"
        )
        return scalar

    def _one_mistake_as_numbers(self, run: Run, matrices: str | None) -> CheckResult | None:
        """A formula wrong in both readings, diagnosed with the one-unit layers as numbers
        where that names one mistake and the matrix reading needs two or none: there a
        transpose of a one-unit layer (inside ``np.sum(np.square(W3))``) only fixed a shape
        the numbers never had, and "a factor 1/2 is missing" came with a spurious "and a
        transpose is missing on W3"."""
        if _named(matrices) and not str(matrices).startswith("two"):
            return None
        ones = self.variant("ones")
        if ones is None:
            return None
        try:
            got = self._checked_as_numbers(ones, run)
        except FormulaError:
            return None
        if got.correct or not _named(got.diagnosis) or str(got.diagnosis).startswith("two"):
            return None
        got.notes.append("diagnosed with this network's one-unit layers as numbers (1×1)")
        return got

    def _checked_as_numbers(self, ones: Variants, run: Run) -> CheckResult:
        """The formula on the ``ones`` variant: single mistakes only, on a quarter of the
        budget (a product of numbers has many readings)."""
        budget = Budget(MAX_PRODUCTS // 4)
        return ones._check(run.again(network=self.network, pairs=False, budget=budget))

    def variant(self, what: str) -> Variants | None:
        """The checker of a variant of this network (made once): ``ones`` keeps its
        one-unit widths at 1, ``one_sample`` has a batch of 1."""
        key = f"_variant_{what}"
        if key not in self.__dict__:
            net = self.network
            made: Variants | None = None
            if what == "ones" and not net.is_conv and 1 in net.widths:
                made = type(self)(net, keep_ones=True)
            elif what == "one_sample" and net.batch != 1 and not samples_interact(net):
                made = type(self)(net.with_(batch=1))
            self.__dict__[key] = made
        return self.__dict__[key]  # type: ignore[no-any-return]


def _named(diagnosis: str | None) -> bool:
    """Whether a diagnosis names a mistake (not "no usual mistake explains …")."""
    return bool(diagnosis) and "usual mistake" not in str(diagnosis)


def samples_interact(net: Network) -> bool:
    """Whether a sample's loss depends on the other samples (batch normalisation): then
    the network with a batch of one is no reading of one sample's loss."""
    return any(isinstance(layer, Norm) and layer.over == "batch" for layer in net.layers)
