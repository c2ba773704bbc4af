"""The primitives SymPy lacks: elementwise activations, softmax and the scalar losses.

Each is a small SymPy node, so equations stay ordinary SymPy expressions that every
printer and the rule table can dispatch on by class. The nodes live in modules by kind
and are re-exported here, so ``derive.core.nodes`` names every one of them:

- ``layer_nodes``: activations, softmax, the losses (and ``ROLES``, what a node is);
- ``function_nodes``: comparisons, log-softmax, norms, determinants, labels, one-hot;
- ``reduce_nodes``: reductions, broadcasts and arg-max masks;
- ``block_nodes``: slices and concatenations, and ``add``/``hadamard``/``scale``;
- ``node_ops``: the operations forward programs are built with (``fit``, ``where``, …);
- ``tensor_nodes``: the feature maps of convolutional layers and their arithmetic;
- ``conv_nodes``: the convolution, pooling and flattening nodes over them;
- ``node_checks``: ``ShapeMismatch`` and the shape checks the constructors share.
"""

from __future__ import annotations

from derive.core.block_nodes import (
    Concat,
    Slice,
    add,
    hadamard,
    merge_concats,
    scale,
)
from derive.core.conv_nodes import (
    ChannelBias,
    ChannelSum,
    ConvBackInput,
    ConvBackKernel,
    Correlate,
    Flatten,
    Pool,
    Unflatten,
    Unpool,
)
from derive.core.function_nodes import (
    COMPARISONS,
    Indicator,
    Labels,
    LogDet,
    LogSoftmax,
    Norm,
    OneHot,
    Pick,
    det,
    inverse,
    trace,
)
from derive.core.layer_nodes import (
    ROLES,
    BinaryCrossEntropy,
    CrossEntropy,
    Elementwise,
    ElementwiseOf,
    FrobeniusSq,
    ProbsVersusTargets,
    ScalarOfMatrices,
    Softmax,
)
from derive.core.node_checks import (
    ShapeMismatch,
    split_coeff,
)
from derive.core.node_ops import (
    ELEMENTWISE_NAMES,
    broadcast_to,
    divide,
    elementwise,
    fit,
    pad,
    power,
    replace_block,
    where,
)
from derive.core.reduce_nodes import (
    REDUCTIONS,
    ArgMaxAllMask,
    ArgMaxMask,
    Broadcast,
    Reduce,
    ReduceAll,
)
from derive.core.tensor_nodes import (
    TensorElementwise,
    TensorExpr,
    TensorHadamard,
    TensorSymbol,
    _int,
    is_tensor,
    linear,
    tensor_coeff,
    tensor_scale,
    tensor_shape,
)

__all__ = [
    "ArgMaxAllMask",
    "ArgMaxMask",
    "BinaryCrossEntropy",
    "Broadcast",
    "COMPARISONS",
    "ChannelBias",
    "ChannelSum",
    "Concat",
    "ConvBackInput",
    "ConvBackKernel",
    "Correlate",
    "CrossEntropy",
    "ELEMENTWISE_NAMES",
    "Elementwise",
    "ElementwiseOf",
    "Flatten",
    "FrobeniusSq",
    "Indicator",
    "Labels",
    "LogDet",
    "LogSoftmax",
    "Norm",
    "OneHot",
    "Pick",
    "Pool",
    "ProbsVersusTargets",
    "REDUCTIONS",
    "ROLES",
    "Reduce",
    "ReduceAll",
    "ScalarOfMatrices",
    "ShapeMismatch",
    "Slice",
    "Softmax",
    "TensorElementwise",
    "TensorExpr",
    "TensorHadamard",
    "TensorSymbol",
    "Unflatten",
    "Unpool",
    "_int",
    "add",
    "broadcast_to",
    "det",
    "divide",
    "elementwise",
    "fit",
    "hadamard",
    "inverse",
    "is_tensor",
    "linear",
    "merge_concats",
    "pad",
    "power",
    "replace_block",
    "scale",
    "split_coeff",
    "tensor_coeff",
    "tensor_scale",
    "tensor_shape",
    "trace",
    "where",
]
