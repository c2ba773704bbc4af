"""The spec: what the user describes (a network, its activations, loss and notation).

``records`` holds the frozen, validated records (every check happens when one is made);
``reading`` turns TOML text, a file or a built-in example's name into them. The rest of
``derive`` reads these records and never the user's text.
"""

from __future__ import annotations

from derive.spec import (
    norm_layers,  # noqa: F401 - registers its layer types
    sequence_layers,  # noqa: F401 - registers rnn, lstm, attention
)
from derive.spec.norm_layers import Dropout, Norm, Residual
from derive.spec.program import from_program_dict, is_program, load_program, loads_program
from derive.spec.program_expr import expression_program, parse_shape_flag
from derive.spec.program_records import PROGRAM_EXAMPLES, Labels, ProgramLoss, ProgramSpec
from derive.spec.reading import (
    EXAMPLES,
    LAYER_TYPES,
    MAX_SPEC_BYTES,
    LayerType,
    example_text,
    from_dict,
    load,
    loads,
    printable,
    read_regular_file,
    read_spec_file,
)
from derive.spec.records import (
    Activation,
    AnyLayer,
    AvgPool2d,
    Conv2d,
    Flatten,
    Layer,
    Loss,
    MaxPool2d,
    Network,
    Pool2d,
    Scalar,
    SpecError,
    VectorLayer,
    Width,
    activation_names,
    check_activation_names,
    check_declared_symbols,
    code_ident,
    dense,
    name_clash,
)

__all__ = [
    "PROGRAM_EXAMPLES",
    "Labels",
    "ProgramLoss",
    "ProgramSpec",
    "expression_program",
    "from_program_dict",
    "is_program",
    "load_program",
    "loads_program",
    "parse_shape_flag",
    "EXAMPLES",
    "Dropout",
    "Norm",
    "Residual",
    "LAYER_TYPES",
    "LayerType",
    "MAX_SPEC_BYTES",
    "Activation",
    "AnyLayer",
    "AvgPool2d",
    "Conv2d",
    "Flatten",
    "Layer",
    "Loss",
    "MaxPool2d",
    "Network",
    "Pool2d",
    "Scalar",
    "SpecError",
    "VectorLayer",
    "Width",
    "activation_names",
    "check_activation_names",
    "check_declared_symbols",
    "code_ident",
    "dense",
    "example_text",
    "from_dict",
    "load",
    "loads",
    "name_clash",
    "printable",
    "read_regular_file",
    "read_spec_file",
]
