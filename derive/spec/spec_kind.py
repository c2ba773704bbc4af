"""Which kind of spec a source is: a network, or a forward program (``[program]``, or a
sequence spec). Here, below the engine, so that the command line can tell without
importing the program machinery (``derive check`` on a network never needs it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from derive.spec import program as spec
from derive.spec.program_records import PROGRAM_EXAMPLES, ProgramSpec
from derive.spec.reading import EXAMPLES, read_spec_file
from derive.spec.records import SpecError
from derive.spec.sequence_layers import SEQUENCE_EXAMPLES, SequenceSpec, is_sequence_spec


def is_program(source: Any) -> bool:
    """Whether ``source`` (an example name, a file path, a read spec) is a forward program.

    A file that cannot be read or parsed is not one here: the network reader then says
    what is wrong with it, in its own words.
    """
    import tomllib

    if isinstance(source, (ProgramSpec, SequenceSpec)):
        return True
    if not isinstance(source, (str, Path)):
        return False
    name = str(source)
    if name in PROGRAM_EXAMPLES or name in SEQUENCE_EXAMPLES:
        return True
    if name in EXAMPLES or not name:
        return False
    try:
        data = tomllib.loads(read_spec_file(name))
    except (SpecError, tomllib.TOMLDecodeError, ValueError, RecursionError):
        return False
    return spec.is_program(data) or is_sequence_spec(data)
