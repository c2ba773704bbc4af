"""The ``Derivation`` users hold: the core's record plus its printed, checked and exported forms.

The core's ``Derivation`` knows the program, the deltas and the gradients and nothing of
how they are shown; this subclass adds the conveniences (``text``, ``to_latex``,
``check``, ``to_source``, notebook display) by calling the consumers, so the consumers
depend on the core and never the reverse.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from derive.core import derivation as core
from derive.export import to_module, to_source
from derive.formula.check import Checker
from derive.render.latex import document, step_latex
from derive.render.text import render
from derive.spec import Network, load


class Derivation(core.Derivation):
    """Everything derived for one network (see ``steps``), and its printed forms."""

    def text(self) -> str:
        """The whole derivation as readable text (``derive show``)."""
        return render(self)

    def __str__(self) -> str:
        return self.text()

    def _code(self, with_code: bool) -> str | None:
        return to_source(self, fast=False) if with_code else None

    def to_latex(
        self, fmt: str = "tex", notation: Any = None, with_code: bool = False, **options: Any
    ) -> str:
        """The derivation as LaTeX: ``fmt`` is ``tex`` (standalone) or ``fragment``.

        ``notation`` (a ``Notation``) or keyword options (``index="bracket"``, …) override
        the spec's ``[notation]``.
        """
        nt = (notation or self.network.notation).merge(**options)
        return document(self, fmt, nt, self._code(with_code))

    def to_markdown(self, notation: Any = None, with_code: bool = False, **options: Any) -> str:
        """The derivation as Markdown with KaTeX/MathJax math, for notebooks and docs."""
        nt = (notation or self.network.notation).merge(**options)
        return document(self, "md", nt, self._code(with_code))

    def check(self, formula: str, syntax: str = "latex") -> Any:
        """Check a hand-written formula (``LHS = RHS``) against this derivation.

        Returns a ``CheckResult``: verdict, the derived formula in the user's notation,
        the method used, and a diagnosis when the formula is wrong.
        """
        if "_checker" not in self.__dict__:
            self.__dict__["_checker"] = Checker(self)
        return self.__dict__["_checker"].check(formula, syntax)

    def to_source(self, backend: str = "numpy") -> str:
        """The gradients as a Python module's source (numpy, jax or torch)."""
        return to_source(self, backend)

    def to_function(self, backend: str = "numpy") -> Any:
        """``loss_and_gradients(X, Y, W1, b1, …) -> (L, {name: gradient})``, compiled.

        The whole exported module is its ``module`` attribute (``forward``, ``loss``,
        ``gradients``, ``PARAMETERS``, ``SHAPES``).
        """
        module = to_module(self, backend)
        fn = module.loss_and_gradients
        fn.module = module
        return fn

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_latex_(self) -> str:
        lines = [step_latex(s, self.network.notation, align=True) for s in self.steps]
        return "$$\\begin{aligned}" + " \\\\ ".join(lines) + "\\end{aligned}$$"


def derive(spec: str | Path | Network) -> Derivation:
    """Derive backpropagation for a spec: a built-in example name, a TOML path, or a Network.

    >>> d = derive("nielsen")
    >>> print(d.delta(1))
    δ₁ = (W₂ᵀ δ₂) ⊙ σ'(Z₁)
    """
    return Derivation(load(spec))
