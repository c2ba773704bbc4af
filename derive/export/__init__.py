"""Numeric code: the derived gradients printed as a Python module (NumPy, JAX, PyTorch)."""

from __future__ import annotations

from derive.export.printers import BACKENDS, ExportError, code_name
from derive.export.source import require_backend, to_module, to_source

__all__ = ["BACKENDS", "ExportError", "code_name", "require_backend", "to_module", "to_source"]
