"""Forward programs for users: ``derive_program`` and ``derive_expression``.

The user-facing ``ProgramDerivation`` is the core's staged record plus its printed,
exported and verified forms (the program twin of ``derive.api.Derivation``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from derive.core import staged as core
from derive.core.bptt import recurrence
from derive.core.program import build_program
from derive.export.program_source import program_module, program_source
from derive.oracles.program_verify import ProgramReport, verify_program
from derive.render.program_view import program_document, render_program
from derive.spec import program as spec
from derive.spec.program_expr import expression_program
from derive.spec.program_records import ProgramSpec
from derive.spec.sequence_layers import SequenceSpec, load_sequence
from derive.spec.spec_kind import is_program as is_program  # where it was; re-exported


class ProgramDerivation(core.StagedDerivation):
    """Everything derived for one forward program, and its printed forms."""

    def text(self) -> str:
        """The staged derivation as readable text (``derive show``)."""
        return render_program(self)

    def __str__(self) -> str:
        return self.text()

    def to_latex(self, fmt: str = "tex") -> str:
        """The derivation as a LaTeX document (``tex``) or a fragment."""
        return program_document(self, fmt)

    def to_markdown(self) -> str:
        """The derivation as Markdown with $$ math, for notebooks and docs."""
        return program_document(self, "md")

    def to_source(self, backend: str = "numpy") -> str:
        """The forward and backward pass as a Python module's source."""
        return program_source(self, backend)

    def to_function(self, backend: str = "numpy") -> Any:
        """``gradients(inputs…, parameters…[, upstream], **hyperparameters) -> {name: array}``;
        the whole module is its ``module`` attribute."""
        module = program_module(self, backend)
        fn = module.gradients
        fn.module = module
        return fn

    def verify(self, sizes: dict[str, int] | None = None, seed: int = 0) -> ProgramReport:
        """The three-way check: closed form vs exported code, finite differences and
        SymPy on every entry."""
        return verify_program(self, sizes, seed)

    def check(self, snippet: str, symbols: dict[str, str] | None = None) -> Any:
        """A hand-derived backward pass (NumPy: one line or a whole snippet) judged
        against this derivation: a ``CheckResult`` with the verdict and what is wrong.
        ``symbols`` names the user's own values, e.g. ``{"ivar": "1/sqrt(var + eps)"}``."""
        from derive.formula.program_check import check_program

        return check_program(self, snippet, symbols)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


def _derive(read: Any) -> ProgramDerivation:
    return core.derive_graph(build_program(read), ProgramDerivation)


def derive_program(source: str | Path | Any) -> ProgramDerivation:
    """Derive a forward program: a built-in program example's name, a TOML path, or a
    read ``ProgramSpec``; a network spec with an rnn, lstm or attention layer is read
    into its program here (with a recurrent layer's generic-T form)."""
    if isinstance(source, ProgramSpec):
        return _derive(source)
    if isinstance(source, SequenceSpec):
        layered: SequenceSpec | None = source
    else:
        layered = load_sequence(source) if isinstance(source, (str, Path)) else None
    if layered is None:
        return _derive(spec.load_program(source))
    d = _derive(layered.program)
    if layered.interior is not None and layered.boundary is not None:
        kind, interior, boundary = layered.kind, layered.interior, layered.boundary
        d.recurrence_of = lambda: recurrence(kind, _derive(interior), _derive(boundary))
    return d


def derive_expression(
    expression: str, wrt: list[str], shapes: dict[str, tuple[int | str, ...]]
) -> ProgramDerivation:
    """Derive a free matrix expression, e.g.
    ``derive_expression("norm(X @ w - y)^2 + lam * norm(w)^2", ["w"],
    {"X": ("m", "n"), "w": ("n", 1), "y": ("m", 1)})``."""
    return _derive(expression_program(expression, wrt, shapes))
