"""Why loop code over windows or samples is not run on a reading: a name, a range, a
bound, or NumPy's own refusal of its indexing (``ShapeFault``, which ``window_faults``
may judge)."""

from __future__ import annotations

from derive.formula.ir import FormulaError


class LoopError(FormulaError):
    """The snippet cannot run on these arrays (a shape, a name, a bound)."""


class ShapeFault(LoopError):
    """NumPy itself refuses the snippet's indexing or arithmetic on the layer's arrays (an
    index past an axis, shapes that do not broadcast or align): the code fails as written,
    not for a limit of the runner. ``src`` is the statement that failed."""

    def __init__(self, message: str, src: str = "") -> None:
        super().__init__(message)
        self.src = src
        self.notes: list[str] = []  # the reading's notes (conventions read), set by its run


class NoRange(LoopError):
    """A loop the snippet leaves out whose range this reading cannot tell."""


class Unknown(LoopError):
    """A name neither the snippet nor the reading sets: ``word``."""

    def __init__(self, word: str, message: str = "") -> None:
        super().__init__(message or f"{word!r} is not set by the snippet nor a name of the layer")
        self.word = word


#: NumPy's own words for an index past an axis and for shapes that do not fit.
_NUMPY_FAULTS: tuple[str, ...] = ("out of bounds", "too many indices", "not aligned")
_NUMPY_FAULTS += ("could not be broadcast", "zero-size array", "mean of an empty slice")


def fault(prefix: str, err: Exception, src: str = "") -> LoopError:
    """The error for a NumPy failure: a ShapeFault when NumPy says an index or the shapes
    do not fit, a plain LoopError otherwise (a type the runner does not handle)."""
    said = str(err)
    if isinstance(err, (IndexError, ValueError)) and any(w in said for w in _NUMPY_FAULTS):
        return ShapeFault(f"{prefix}: {said}", src)
    return LoopError(f"{prefix}: {said}")
