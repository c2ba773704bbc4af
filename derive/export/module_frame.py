"""The frame of an exported module: its imports, helpers, shape check, and loading.

Everything in an exported module that is not a printed expression: the backend's import
line, the NumPy helpers (softmax, the conv/pool ops) as source, the shape check, each
step's formula as a comment, the docstring; ``load_module`` runs the source as a module
(its lines kept for tracebacks), ``require_backend`` names a backend that is missing.
"""

from __future__ import annotations

import importlib
import itertools
import linecache
import re
import types
from typing import Any

from derive.export.printers import BACKENDS, ArrayNodes, ExportError, JaxCode, NumPyCode

_COUNTER = itertools.count()


def printer_for(backend: str) -> ArrayNodes:
    """The printer of a backend (PyTorch's is imported only when asked for: SymPy's
    ``sympy.printing.pytorch`` imports torch itself, which takes seconds)."""
    if backend == "torch":
        from derive.export.torch_code import TorchCode

        return TorchCode()
    return {"numpy": NumPyCode, "jax": JaxCode}[backend]()


#: What each backend's module imports (besides what its printer registers).
BACKEND_IMPORT = {"numpy": "numpy", "jax": "jax.numpy", "torch": "torch"}


#: Which pip package brings a backend.
BACKEND_PACKAGE = {"numpy": "numpy", "jax": "jax", "torch": "torch==2.13.0"}


SOFTMAX_HELPER = '''

def _softmax(Z, axis):
    """Softmax over one axis, shifted by the maximum for stability."""
    E = numpy.exp(Z - numpy.max(Z, axis=axis, keepdims=True))
    return E / numpy.sum(E, axis=axis, keepdims=True)
'''


#: NumPy helpers of the stable forms, included when the printed code calls them.
NUMPY_HELPERS = {
    "_log_softmax": '''

def _log_softmax(Z, axis):
    """log softmax(Z) = (Z − max) − log Σ exp(Z − max): finite where softmax underflows."""
    S = Z - numpy.max(Z, axis=axis, keepdims=True)
    return S - numpy.log(numpy.sum(numpy.exp(S), axis=axis, keepdims=True))
''',
    "_sigmoid": '''

def _sigmoid(Z):
    """σ(Z) = 1/(1 + e^(−Z)) in one array. Where e^(−Z) overflows (Z < −709 in float64)
    the value is 1/inf = 0, which is σ there to float precision: finite at every Z."""
    E = numpy.asarray(numpy.negative(Z))
    with numpy.errstate(over="ignore"):
        numpy.exp(E, out=E)
    E += 1
    return numpy.reciprocal(E, out=E)
''',
}


CHECK_HELPER = '''

def _check_shapes(arrays):
    """Check every array against SHAPES once per call; bind the symbolic widths."""
    sizes = {}
    source = {}
    for name, array in arrays.items():
        expected = SHAPES[name]
        shape = getattr(array, "shape", None)
        if shape is None or len(shape) != len(expected):
            raise ValueError(
                f"{name} must be a {len(expected)}-d array of shape {expected}, got {shape}"
            )
        for got, want in zip(shape, expected):
            if isinstance(want, int):
                ok = got == want
            elif want.isidentifier():
                ok = sizes.setdefault(want, got) == got
                source.setdefault(want, name)
            else:  # a size computed from others, e.g. C*(h - 2)**2 after flatten
                ok = True
            if not ok:
                # widths bound by the arrays before this one, never by this array itself
                known = [w for w in dict.fromkeys(expected) if source.get(w, name) != name]
                why = [f"{w} = {sizes[w]} from {source[w]}" for w in known]
                if not isinstance(want, int) and source[want] == name:
                    why.append(f"{want} = {sizes[want]} earlier in {name} itself")
                raise ValueError(
                    f"{name} has shape {tuple(shape)}, expected {expected}"
                    + (f" with {', '.join(why)}" if why else "")
                )
    return sizes
'''


def _comment(text: str) -> str:
    """A comment line: line breaks and other control characters become spaces."""
    return "    # " + "".join(ch if ch.isprintable() else " " for ch in text)


def _docstring(text: str) -> str:
    """``text`` as a docstring literal: triple-quoted when that is safe, else ``repr``
    (then a name with three double quotes, a backslash or a control character cannot end
    the docstring early)."""
    body = text.replace("\n", "")
    if '"' in text or "\\" in text or not body.isprintable():
        return repr(text)
    return f'"""{text}"""'


def array_helpers(code: str, backend: str, printer: Any) -> str:
    """The helper functions that printed ``code`` calls (softmax, the stable forms, the
    conv/pool ops), for a module of its own."""
    out = SOFTMAX_HELPER if re.search(r"\b_softmax\(", code) else ""
    if backend == "numpy":
        out += "".join(h for name, h in NUMPY_HELPERS.items() if re.search(rf"\b{name}\(", code))
    return out + _helper_source(printer)


def _helper_source(printer: Any) -> str:
    """The source of the conv/pool helpers the printed code calls (from the backend's
    ``convops`` module: one implementation for the checker and the export)."""
    import inspect

    used = getattr(printer, "helpers", [])
    if not used:
        return ""
    ops = importlib.import_module(printer._convops)
    names = list(dict.fromkeys(n for u in used for n in ops.NEEDS[u]))
    return "".join("\n\n" + inspect.getsource(getattr(ops, n)) for n in names)


def require_backend(backend: str) -> None:
    """Fail with the package to install when a backend's library is missing."""
    if backend not in BACKENDS:
        raise ExportError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    try:
        importlib.import_module(BACKEND_IMPORT[backend])
    except ImportError:
        pkg = BACKEND_PACKAGE[backend]
        raise ExportError(
            f"the {backend} backend needs {backend} installed: pip install '{pkg}'"
        ) from None


def load_module(src: str, name: str = "derive_exported") -> types.ModuleType:
    """Compile exported source in memory (registered with linecache, so ``inspect`` and
    latexify can read its functions)."""
    mod = types.ModuleType(name)
    filename = f"<derive export {next(_COUNTER)}>"
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    code = compile(src, filename, "exec")
    exec(code, mod.__dict__)  # safe: source printed from our own expressions, not user text
    mod.__source__ = src  # type: ignore[attr-defined]
    return mod
