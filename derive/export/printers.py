"""SymPy code printers for our nodes: NumPy and JAX here, PyTorch in ``torch_code``.

Each backend is SymPy's own printer (``NumPyPrinter``, ``JaxPrinter``, ``TorchPrinter``)
taught our primitives through the ``ArrayNodes`` mixin (its parts: ``array_hooks``,
``array_algebra``, ``array_nodes``); ``stable_scalar`` rewrites an
activation into its numerically stable form before printing.
"""

from __future__ import annotations

from typing import Any

from sympy.printing.numpy import JaxPrinter, NumPyPrinter

from derive.export.array_algebra import AlgebraNodes
from derive.export.array_hooks import ExportError, code_name
from derive.export.array_nodes import FeatureMapNodes, ProgramNodes
from derive.export.stable_forms import StableSigmoid, StableSoftplus, stable_scalar

__all__ = [
    "BACKENDS",
    "ArrayNodes",
    "ExportError",
    "JaxCode",
    "NumPyCode",
    "StableSigmoid",
    "StableSoftplus",
    "code_name",
    "stable_scalar",
]

BACKENDS = ("numpy", "jax", "torch")


class ArrayNodes(FeatureMapNodes, ProgramNodes, AlgebraNodes):
    """Our primitives as array code, shared by the NumPy, JAX and PyTorch printers.

    A backend printer mixes this into SymPy's own printer for that library and overrides
    the few hooks where the libraries differ (reductions, casts, softmax).

    Its parts are mixins, one per family of nodes (``array_algebra``, ``array_nodes``), over
    the hooks and helpers they share (``array_hooks.ArrayHooks``).
    """


# SymPy ships no type information: NumPyPrinter is Any to mypy, hence the ignore
class NumPyCode(ArrayNodes, NumPyPrinter):  # type: ignore[misc]
    """NumPy: SymPy's NumPyPrinter taught our primitives."""

    def __init__(self) -> None:
        NumPyPrinter.__init__(self, {"fully_qualified_modules": True})

    def _print_erf(self, expr: Any) -> str:
        return f"{self._module_format('scipy.special.erf')}({self._print(expr.args[0])})"


# SymPy ships no type information: JaxPrinter is Any to mypy, hence the ignore
class JaxCode(ArrayNodes, JaxPrinter):  # type: ignore[misc]
    """jax.numpy: SymPy's JaxPrinter taught our primitives (jit-able: no Python branches)."""

    def __init__(self) -> None:
        JaxPrinter.__init__(self, {"fully_qualified_modules": True})

    _convops = "derive.export.convops_jax"

    def softmax(self, code: str, axis: int) -> str:
        """The backend's softmax over one axis."""
        return f"{self._module_format('jax.nn.softmax')}({code}, axis={axis})"

    def log_softmax(self, code: str, axis: int) -> str:
        """The backend's log-softmax over one axis (finite where softmax underflows)."""
        return f"{self._module_format('jax.nn.log_softmax')}({code}, axis={axis})"

    def sigmoid(self, code: str) -> str:
        """The backend's overflow-free sigmoid."""
        return f"{self._module_format('jax.nn.sigmoid')}({code})"

    def _print_erf(self, expr: Any) -> str:
        return f"{self._module_format('jax.scipy.special.erf')}({self._print(expr.args[0])})"
