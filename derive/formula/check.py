"""Check a hand-written formula against the derivation and say what is wrong with it.

The last step of the pipeline (``derive.formula``'s docstring lists the steps): parse the
formula, check it as read, and if it is wrong (or names a layer the network has not) try
the other readings it may have meant: the layers numbered otherwise, one sample, 1×1
layers (the verdict as read is ``verdict_as_read``). One ``Run`` per call carries what a
check learns; the ``Checker`` keeps only what is the same for every check (the derivations).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from derive.formula.answer import CheckResult, detect_notation
from derive.formula.delta_error import delta_as_error
from derive.formula.equivalence import shapes_fit
from derive.formula.ir import Partial
from derive.formula.ir_walk import default_layers, has_entries
from derive.formula.latex_matrices import has_matrix, matrix_check
from derive.formula.layer_api import api_check
from derive.formula.layer_vjp import check_layer_code
from derive.formula.letter_clash import letters_clash
from derive.formula.name_readings import guessed_check
from derive.formula.networks import random_env, symbolic_network
from derive.formula.numpy_bools import refuse_in_snippet
from derive.formula.output_letters import letters_check
from derive.formula.parse import FormulaError, NoEquation, parse
from derive.formula.python_grad_attrs import grad_attr_notes, layer_api_names
from derive.formula.python_ir import LOOPED_MAPS
from derive.formula.python_keys import judge_keyed
from derive.formula.quantity import quantity_of
from derive.formula.resolve import UnknownSymbol
from derive.formula.rhs_alone import read_alone
from derive.formula.run import Run
from derive.formula.snippet_check import check_statements
from derive.formula.stored_other_way import refuse_if_right_stored_other_way
from derive.formula.stored_transposed import refuse_unexplained, stored_transposed
from derive.formula.user_names import in_users_names
from derive.formula.verdict_as_read import AsRead
from derive.formula.window_check import check_loops, has_loops, looks_looped


class Checker(AsRead):
    """Checks formulas against one network; derivations are made once and reused."""

    def check(self, formula: str, syntax: str = "latex", alone: bool = True) -> CheckResult:
        """The verdict on ``LHS = RHS`` (or a chain of equal sides); a FormulaError if the
        formula cannot be read or judged for sure. NumPy names the reader does not know
        are tried in their common readings (``guesses``). A LaTeX right-hand side alone is
        read as the one derived quantity it equals (``rhs_alone``) unless ``alone`` is
        False (``--quantity`` says what it is)."""
        if syntax != "python" and self.network.is_conv and has_matrix(formula):
            return matrix_check(self.network, formula)  # entry by entry (``latex_matrices``)
        if syntax != "python" and alone:
            try:
                return self.check(formula, syntax, alone=False)
            except NoEquation:
                return read_alone(
                    formula,
                    self.d,
                    lambda text: self._equal_as_written(text, syntax),
                    lambda text: self.check(text, syntax, alone=False),
                )
        if syntax != "python":
            attempt = lambda guessed, only: self._check_text(formula, syntax, guessed, only)  # noqa: E731
            try:
                result = self._check_text(formula, syntax)
            except FormulaError:  # o and p, letters of other sources (``output_letters``)
                read = letters_check(formula, self._activations(), attempt)
                if read is None:
                    raise
                return read
            net = self.network  # p the network's own and the output's (``letter_clash``)
            letters_clash(
                formula, result, self._activations(), net.notation.symbols, net.depth, attempt
            )
            delta_as_error(formula, result, net.notation.symbols, attempt)  # δ as a − y
            return result
        net = self.network
        try:
            said = in_users_names(self._check_statements(formula), formula)  # delta1, not dZ1
            said.notes += grad_attr_notes(formula)  # fast.ai's .g (python_grad_attrs)
            return said
        except FormulaError as err:
            if not net.is_conv and has_loops(formula):
                raise FormulaError(
                    "this snippet loops (for … in …), and on a network spec only a "
                    "convolution's loops over windows are read: a loop over samples or "
                    "classes is run on a forward program (derive check PROGRAM --file "
                    "snippet.py, see docs/programs.md), or write the formula vectorised "
                    f"(as read here: {str(err).splitlines()[0]})"
                ) from None
            if not (net.is_conv and (looks_looped(formula) or has_loops(formula))):
                raise
            try:  # loops over windows, run on small arrays (``window_check``)
                return check_loops(net, formula)
            except FormulaError as why:  # the loops' own reason, where the code is loops
                looped = str(err).startswith(LOOPED_MAPS[:40]) or has_loops(formula)
                raise (why if looped else err) from None

    def _check_statements(self, formula: str) -> CheckResult:
        """Every quantity a NumPy snippet assigns, judged (``snippet_check``)."""
        net = self.network
        formula = layer_api_names(formula)  # fast.ai's inp.g = out.g @ … (python_grad_attrs)
        refuse_in_snippet(formula)  # what NumPy would not run (``numpy_bools``)
        keyed = judge_keyed(formula, net.depth, self._assignments)  # grads["dZ" + str(l)]
        if keyed is not None:
            return keyed
        try:
            return self._assignments(formula)
        except FormulaError:
            layer = check_layer_code(formula, net, self._assignments)  # one step's VJP
            if layer is None:
                raise
            return layer

    def _assignments(self, formula: str) -> CheckResult:
        net = self.network
        return check_statements(  # every quantity a snippet assigns (``snippet_check``)
            formula,
            net.notation.symbols,
            net.depth,
            net.convention == "column",
            self._check_python,
            self._data_term,
            tuple(
                str(getattr(getattr(layer, "activation", None), "name", "")) for layer in net.layers
            ),
            lambda text: self._check_text(text, "python", (), True).correct,  # no diagnosis
        )

    def _equal_as_written(self, text: str, syntax: str) -> bool:
        """Whether ``LHS = RHS`` is right as written: no other reading, no diagnosis."""
        net = self.network
        parts = parse(text, syntax, net.notation.symbols, net.depth, net.convention == "column")
        if getattr(parts, "unread", []):
            return False
        run = Run(text, syntax, parts, net, detect_notation(text), verdict_only=True)
        return self._check(run).correct

    def _activations(self) -> tuple[str, ...]:
        """The layers' activation names, first to last."""
        return tuple(
            str(getattr(getattr(layer, "activation", None), "name", ""))
            for layer in self.network.layers
        )

    def _data_term(self, word: str) -> str | None:
        """``dW2`` without its weight-decay term, in NumPy (as derived on the network
        without weight decay); None if the network has none."""
        net = self.network
        if net.loss.weight_decay is None or net.is_conv:
            return None
        plain = Checker(net.with_(loss=dataclasses.replace(net.loss, weight_decay=None)))
        result = plain._check_text(f"{word} = 0", "python", (), True)
        lhs, eq, rhs = result.expected.partition(" = ")
        return rhs if eq and "\n" not in rhs else None

    def _check_python(self, formula: str) -> CheckResult:
        """One NumPy snippet, judged on its last statement's quantity."""
        if self.network.is_conv:  # only a ReLU's backward reads alike on feature maps
            api = lambda read: self._check_text(formula, "python", read)  # noqa: E731
            return api_check(formula, self.network, api, relu_only=True)
        return api_check(  # dout, x, dx as a layer API names them
            formula,
            self.network,
            lambda api: guessed_check(
                formula,
                self.network.depth,
                lambda guessed, only: self._check_text(formula, "python", (*api, *guessed), only),
                self._activations(),
            ),
        )

    def _check_text(
        self, formula: str, syntax: str, guessed: tuple[Any, ...] = (), verdict_only: bool = False
    ) -> CheckResult:
        """``check`` with unknown names read one way (``guessed``: rewrites for ``parse``)."""
        net = self.network
        column = net.convention == "column"
        width = getattr(net.layers[-1], "width", None) if net.layers else None  # np.eye(K)[y]
        classes = width if isinstance(width, int) else None
        parts = parse(formula, syntax, net.notation.symbols, net.depth, column, guessed, classes)
        # everything one check learns goes into its run: nothing leaks into the next
        run = Run(formula, syntax, parts, net, detect_notation(formula), verdict_only=verdict_only)
        if guessed and verdict_only and not self._fits(run):
            return CheckResult("incorrect", "", "", "shapes", shape_error="shapes do not fit")
        try:
            result = self._check(run)
        except UnknownSymbol as err:
            result = _judged_without(self._other_numbering(run, err), parts)
            result.notes[:0] = getattr(parts, "notes", [])  # the common readings used
            return result
        if not result.correct:  # the data stored the other way, the other readings
            result = stored_transposed(self, run, result) or self._unsure(run, result)
            refuse_if_right_stored_other_way(self, run, result)  # (A2.T - Y).T
            refuse_unexplained(run, result)  # shapes that do not fit, no mistake named
        result = _judged_without(result, parts)
        result.notes[:0] = getattr(parts, "notes", [])  # the common readings used
        if run.pair_used:
            after, extra = self._pair_layer
            result.notes.append(
                "this network has no two conv layers in a row: the formula in l was checked on "
                f"it with a second conv layer inserted after layer {after} ({extra.kernel}×"
                f"{extra.kernel}, stride 1, padding {extra.padding}), so layer numbers in shape "
                "messages are that network's"
            )
        return result

    def _fits(self, run: Run) -> bool:
        """Whether each right-hand side has the left-hand side's shape (a reading of an
        unknown name that does not is not the one its author meant)."""
        parts = (
            [default_layers(p) for p in run.parts]
            if any(map(has_entries, run.parts))
            else run.parts
        )
        try:
            q = quantity_of(parts[0])
        except FormulaError:
            return False
        return all(
            shapes_fit(self, run, q, rhs) for rhs in parts[1:] if not isinstance(rhs, Partial)
        )


def _judged_without(result: CheckResult, parts: Any) -> CheckResult:
    """The verdict on a formula with sides not read (a derivation's middle step with a
    tensor factor, ∂Z/∂W): wrong where another side is wrong, else no verdict."""
    unread = getattr(parts, "unread", [])
    if not unread:
        return result
    if result.correct:
        raise FormulaError(
            f"{unread[0]} (the formula's other sides are right; this one is not judged)"
        )
    said = result.diagnosis or ""
    if said.startswith("a layer index is off by one"):  # hᵀ δ_1 beside ∂z_2/∂W_2 ∂J/∂z_2
        raise FormulaError(
            f"cannot judge the layer numbering: {said}, and a side not read (a derivative of "
            "a matrix by a matrix) may say what the formula's own numbering is (pages that "
            "number δ from the output write δ_1 for ∂J/∂z_2); write it in derive's numbering"
        )
    result.notes.append(
        "a side with a derivative of a matrix by a matrix (∂Z/∂W) is not read; another side "
        "is wrong, so the formula is"
    )
    return result


def check(spec: Any, formula: str, syntax: str = "latex") -> CheckResult:
    """Check one formula against a spec (a name, a TOML path, a Network or a Derivation)."""
    return Checker(spec).check(formula, syntax)


__all__ = [
    "CheckResult",
    "Checker",
    "FormulaError",
    "check",
    "detect_notation",
    "random_env",
    "symbolic_network",
]
