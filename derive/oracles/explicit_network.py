"""A derivation made explicit for the oracle: every parameter, input and forward value an
explicit matrix (or object array) of real SymPy scalars at small concrete widths; the
loss differentiated entry by entry (``oracle_gradients``) and the closed forms evaluated
on the same entries (``closed_form_gradients``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy
from sympy.matrices.expressions import MatrixSymbol

from derive.core.derivation import Derivation
from derive.core.graph import split_name
from derive.core.interpret import Env
from derive.core.nodes import TensorSymbol
from derive.oracles import explicit_conv, explicit_program  # noqa: F401 - register their evaluators
from derive.oracles.explicit_domain import _dim, evaluate


def entry_matrix(sym: MatrixSymbol, rows: int, cols: int) -> sympy.ImmutableMatrix:
    """``W_1`` (2×3) -> [[W1_11, W1_12, W1_13], [W1_21, …]] with real scalar entries."""
    base, idx = split_name(sym.name)
    return sympy.ImmutableMatrix(
        rows, cols, lambda i, j: sympy.Symbol(f"{base}{idx}_{i + 1}{j + 1}", real=True)
    )


def entry_tensor(sym: TensorSymbol, shape: tuple[int, ...]) -> np.ndarray:
    """``K_1`` (2×1×2×2) -> an object array of real symbols ``K1_1,1,1,1`` …"""
    base, idx = split_name(sym.name)
    out = np.empty(shape, dtype=object)
    for pos in np.ndindex(shape):
        out[pos] = sympy.Symbol(f"{base}{idx}_" + ",".join(str(i + 1) for i in pos), real=True)
    return out


@dataclass
class ExplicitNetwork:
    """A derivation with every symbol bound to an explicit matrix of scalar entries."""

    derivation: Derivation
    sizes: dict[Any, int]
    env: Env = field(default_factory=dict)

    @property
    def params(self) -> list[MatrixSymbol]:
        """The parameters in the order of the program, so gradients line up with it."""
        return self.derivation.program.params


def explicit_network(
    derivation: Derivation, sizes: Mapping[str, int] | None = None, default: int = 2
) -> ExplicitNetwork:
    """Bind every parameter, X, Y and each forward value to explicit matrices.

    Symbolic widths take ``sizes[name]`` or ``default``. For softmax cross-entropy, each
    sample's target sums to 1 (the last class is 1 minus the others), as the fused rule
    assumes of one-hot or probability targets.
    """
    prog = derivation.program
    sizes = dict(sizes or {})
    widths = [*prog.widths, prog.batch]
    concrete: dict[Any, int] = {}
    for w in widths:
        if isinstance(w, sympy.Symbol):
            concrete[w] = int(sizes.get(w.name, default))
    ex = ExplicitNetwork(derivation, concrete)
    env: Env = dict(concrete)
    for sym in [*prog.params, *prog.inputs]:
        dims = tuple(_dim(d, concrete) for d in sym.shape)
        env[sym] = entry_matrix(sym, *dims) if len(dims) == 2 else entry_tensor(sym, dims)
    if prog.network.loss.name == "cross_entropy":
        y = prog.inputs[1]
        mat = sympy.Matrix(env[y])
        if prog.column:
            for j in range(mat.cols):
                mat[mat.rows - 1, j] = 1 - sum(mat[i, j] for i in range(mat.rows - 1))
        else:
            for i in range(mat.rows):
                mat[i, mat.cols - 1] = 1 - sum(mat[i, j] for j in range(mat.cols - 1))
        env[y] = sympy.ImmutableMatrix(mat)
    for eq in prog.equations:
        env[eq.out] = evaluate(eq.rhs, env)
    ex.env = env
    return ex


def oracle_gradients(ex: ExplicitNetwork) -> dict[str, sympy.Matrix]:
    """``sympy.diff`` of the expanded scalar loss by every parameter entry."""
    from derive.core.graph import LOSS

    loss = ex.env[LOSS]
    out = {}
    for p in ex.params:
        entries = ex.env[p]
        if isinstance(entries, np.ndarray):  # a kernel or conv bias: its entries in order
            out[p.name] = sympy.Matrix([sympy.diff(loss, w) for w in entries.flat])
        else:
            out[p.name] = entries.applyfunc(lambda w: sympy.diff(loss, w))
    return out


def closed_form_gradients(ex: ExplicitNetwork) -> dict[str, sympy.Matrix]:
    """The derived closed forms (deltas, then gradients) evaluated on the explicit matrices."""
    d = ex.derivation
    env = dict(ex.env)
    for k in range(d.depth, 0, -1):
        st = d.deltas[k]
        env[st.lhs] = evaluate(st.rhs, env)
    out = {}
    for p in ex.params:
        value = evaluate(d.gradients[p.name].rhs, env)
        out[p.name] = sympy.Matrix(list(value.flat)) if isinstance(value, np.ndarray) else value
    return out
