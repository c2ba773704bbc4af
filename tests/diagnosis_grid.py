"""The mutation grid of issue 13 §3: each usual mistake applied to each printed formula.

For a network, every quantity the derivation prints (δ_l, ∂L/∂W_l, ∂L/∂b_l, ∂C/∂A_l) is
taken as a SymPy expression, one usual mistake (or two) is applied to it by the code
below (written for the grid, independent of the checker's own mutation tables in
``derive.formula.*mutations``), and the result is printed in LaTeX (the derivation's own
printer) and NumPy (the export printer). The oracle is the core's NumPy interpreter on
random values: a mutation equal to the right formula (a transpose of a symmetric thing)
must be judged CORRECT, any other INCORRECT; the diagnosis must name the kind applied.
Used by tests/test_diagnoses_grid.py and benchmarks/diagnoses.py.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy
from sympy.matrices.expressions import (
    HadamardPower,
    HadamardProduct,
    MatAdd,
    MatMul,
    MatrixSymbol,
    OneMatrix,
    Transpose,
)

from derive import derive
from derive.core import numeric
from derive.core.nodes import ElementwiseOf
from derive.export.printers import NumPyCode, code_name
from derive.formula.check import Checker
from derive.formula.networks import random_env, symbolic_network
from derive.formula.parse import FormulaError
from derive.render.latex import DeriveLatexPrinter

Expr = Any
Path = tuple[int, ...]

#: what a diagnosis must say to name each kind (a regular expression, case-insensitive)
NAMES: dict[str, str] = {
    "transpose": r"transpos",
    "factor 1/m": r"1/[mN]\b|factor 1/|per[- ]sample|one sample",
    "factor 2": r"1/2|factor 2",
    "order": r"wrong order|order",
    "hadamard": r"hadamard|⊙",
    "f' missing": r"f'\(Z\)|derivative .*missing|f'.* is missing|factor f'",
    "f'(A) for f'(Z)": r"pre-activation|at A\b|not at A",
    "layer index": r"layer index|off by one",
    "weight index": r"layer index|off by one|W_?\{?\d",
    "sample sum": r"sum over (the )?samples|sum over samples",
    "keepdims": r"keepdims",
    "sign": r"sign",
    "weight decay": r"weight[- ]decay|λ",
    "(1-A)^2": r"square",
    "per-sample": r"sample|1/[mN]\b",
    "softmax": r"softmax",
}

KINDS = tuple(NAMES)


@dataclass(frozen=True)
class Case:
    """One mutated formula to check."""

    network: str
    quantity: str
    syntax: str
    kinds: tuple[str, ...]
    formula: str
    equal: bool  # the oracle: the mutation equals the right formula


@dataclass(frozen=True)
class Outcome:
    case: Case
    verdict: str  # correct, incorrect, unread (a FormulaError: refused, not judged)
    diagnosis: str
    seconds: float
    cpu: float = 0.0  # this process's CPU seconds: the check's own work, whatever the load

    @property
    def judged_right(self) -> bool:
        want = "correct" if self.case.equal else "incorrect"
        return self.verdict == want

    @property
    def named(self) -> bool:
        """Every applied kind named by the diagnosis."""
        return self.verdict == "incorrect" and all(
            re.search(NAMES[k], self.diagnosis, re.I) for k in self.case.kinds
        )


# ---- rewriting SymPy trees -------------------------------------------------------------


def subtrees(e: Expr, path: Path = ()) -> Iterator[tuple[Path, Expr]]:
    yield path, e
    if isinstance(e, (MatrixSymbol, OneMatrix)) or not isinstance(e, sympy.Basic):
        return
    if isinstance(e, ElementwiseOf):
        yield from subtrees(e.arg, (*path, 2))
        return
    for i, a in enumerate(e.args):
        if isinstance(a, (sympy.MatrixExpr, ElementwiseOf)):
            yield from subtrees(a, (*path, i))


def rebuild(e: Expr, args: list[Expr]) -> Expr:
    if isinstance(e, MatMul):
        return MatMul(*args, evaluate=False)
    if isinstance(e, MatAdd):
        return MatAdd(*args, evaluate=False)
    if isinstance(e, HadamardProduct):
        return HadamardProduct(*args, evaluate=False)
    return e.func(*args)


def put(e: Expr, path: Path, new: Expr) -> Expr | None:
    """``e`` with ``new`` at ``path``; None where a node refuses the shapes (a broadcast)."""
    if not path:
        return new
    args = list(e.args)
    inner = put(args[path[0]], path[1:], new)
    if inner is None:
        return None
    args[path[0]] = inner
    try:
        return rebuild(e, args)
    except Exception:  # the node checks its shapes as it is built
        return None


def scaled(e: Expr, c: Expr) -> Expr:
    if not isinstance(e, sympy.MatrixExpr):  # a feature map: a non-commutative Mul
        return sympy.Mul(c, e)
    return MatMul(c, e, evaluate=False)


def coefficient(e: Expr) -> tuple[Expr, Expr]:
    """(scalar factor, the rest) of a product."""
    if isinstance(e, MatMul):
        scalars = [a for a in e.args if not isinstance(a, sympy.MatrixExpr)]
        mats = [a for a in e.args if isinstance(a, sympy.MatrixExpr)]
        c = sympy.Mul(*scalars)
        rest = mats[0] if len(mats) == 1 else MatMul(*mats, evaluate=False)
        return c, rest
    return sympy.Integer(1), e


# ---- the usual mistakes, each a function (context, expression) -> mutated expressions ---


@dataclass
class Ctx:
    d: Any  # the derivation (symbolic widths)
    quantity: str  # delta_2, W_1, b_1, A_1
    activations: dict[int, str]

    @property
    def batch(self) -> Expr:
        return self.d.program.batch

    def named(self, name: str) -> Expr | None:
        return self.d.program.named.get(name)


def _layer(sym: Expr) -> tuple[str, int] | None:
    m = re.fullmatch(r"([A-Za-z]+)_(\d+)", getattr(sym, "name", ""))
    return (m.group(1), int(m.group(2))) if m else None


def m_transpose(c: Ctx, e: Expr) -> Iterator[Expr]:
    for path, s in subtrees(e):
        if isinstance(s, MatrixSymbol) and s.name != "Y":
            parent = _at(e, path[:-1]) if path else None
            if not isinstance(parent, Transpose):
                yield put(e, path, Transpose(s))
        if isinstance(s, Transpose) and isinstance(s.arg, MatrixSymbol):
            yield put(e, path, s.arg)


def _at(e: Expr, path: Path) -> Expr:
    for i in path:
        e = e.args[i]
    return e


def m_factor_m(c: Ctx, e: Expr) -> Iterator[Expr]:
    k, rest = coefficient(e)
    if k.has(c.batch) and c.batch != 1:
        yield scaled(rest, k * c.batch)
    elif c.batch != 1:
        yield scaled(e, 1 / c.batch)


def m_factor_2(c: Ctx, e: Expr) -> Iterator[Expr]:
    yield scaled(e, sympy.Rational(1, 2))
    yield scaled(e, sympy.Integer(2))


def m_order(c: Ctx, e: Expr) -> Iterator[Expr]:
    for path, s in subtrees(e):
        if isinstance(s, MatMul):
            mats = [a for a in s.args if isinstance(a, sympy.MatrixExpr)]
            if len(mats) == 2 and not any(isinstance(a, OneMatrix) for a in mats):
                scal = [a for a in s.args if not isinstance(a, sympy.MatrixExpr)]
                yield put(e, path, MatMul(*scal, *mats[::-1], evaluate=False))


def m_hadamard(c: Ctx, e: Expr) -> Iterator[Expr]:
    for path, s in subtrees(e):
        if isinstance(s, HadamardProduct) and len(s.args) == 2:
            yield put(e, path, MatMul(*s.args, evaluate=False))
        if isinstance(s, MatMul):
            mats = [a for a in s.args if isinstance(a, sympy.MatrixExpr)]
            if len(mats) == 2 and not any(isinstance(a, OneMatrix) for a in mats):
                scal = sympy.Mul(*[a for a in s.args if not isinstance(a, sympy.MatrixExpr)])
                had = HadamardProduct(*mats, evaluate=False)
                yield put(e, path, had if scal == 1 else scaled(had, scal))


def _derivatives(e: Expr) -> Iterator[tuple[Path, Expr]]:
    for path, s in subtrees(e):
        if isinstance(s, ElementwiseOf) and s.order >= 1:
            yield path, s


def m_fprime_missing(c: Ctx, e: Expr) -> Iterator[Expr]:
    for path, s in subtrees(e):
        if isinstance(s, HadamardProduct):
            keep = [a for a in s.args if not (isinstance(a, ElementwiseOf) and a.order >= 1)]
            if len(keep) == 1 and len(s.args) == 2:
                yield put(e, path, keep[0])


def _with_arg(f: Expr, arg: Expr) -> Expr:
    return f.func(f.args[0], f.args[1], arg, f.args[3])


def m_fprime_at_a(c: Ctx, e: Expr) -> Iterator[Expr]:
    """f'(A) for f'(Z); not for ReLU's family, where A > 0 ⇔ Z > 0 (CS231n's idiom is
    right; the oracle's Heaviside(0) = 1/2 would call it wrong)."""
    for path, f in _derivatives(e):
        if f.name in ("relu", "leaky_relu"):
            continue
        lz = _layer(f.arg)
        a = c.named(f"A_{lz[1]}") if lz and lz[0] == "Z" else None
        if a is not None:
            yield put(e, path, _with_arg(f, a))


def m_layer_index(c: Ctx, e: Expr) -> Iterator[Expr]:
    for path, f in _derivatives(e):
        lz = _layer(f.arg)
        for by in (1, -1):
            z = c.named(f"Z_{lz[1] + by}") if lz and lz[0] == "Z" else None
            if z is not None:
                yield put(e, path, _with_arg(f, z))


def m_weight_index(c: Ctx, e: Expr) -> Iterator[Expr]:
    for path, s in subtrees(e):
        lw = _layer(s) if isinstance(s, MatrixSymbol) else None
        if lw and lw[0] == "W":
            for by in (-1, 1):
                w = next((p for p in c.d.program.params if str(p) == f"W_{lw[1] + by}"), None)
                if w is not None:
                    yield put(e, path, w)


def m_sample_sum(c: Ctx, e: Expr) -> Iterator[Expr]:
    if not c.quantity.startswith("b_"):
        return
    for path, s in subtrees(e):
        if isinstance(s, MatMul) and any(isinstance(a, OneMatrix) for a in s.args):
            rest = [a for a in s.args if not isinstance(a, OneMatrix)]
            yield put(e, path, MatMul(*rest, evaluate=False))


def m_sign(c: Ctx, e: Expr) -> Iterator[Expr]:
    yield scaled(e, sympy.Integer(-1))


def m_weight_decay(c: Ctx, e: Expr) -> Iterator[Expr]:
    if not c.quantity.startswith("W_") or not isinstance(e, MatAdd):
        return
    for i, t in enumerate(e.args):
        k, rest = coefficient(t)
        if isinstance(rest, MatrixSymbol) and rest.name == c.quantity:
            others = [a for j, a in enumerate(e.args) if j != i]
            yield others[0] if len(others) == 1 else MatAdd(*others, evaluate=False)
            if k.has(c.batch):  # λ for λ/m
                yield MatAdd(*others, scaled(rest, k * c.batch), evaluate=False)


def m_square(c: Ctx, e: Expr) -> Iterator[Expr]:
    for path, f in _derivatives(e):
        lz = _layer(f.arg)
        a = c.named(f"A_{lz[1]}") if lz and lz[0] == "Z" else None
        if a is not None and f.name == "tanh":
            one = OneMatrix(*a.shape)
            yield put(e, path, HadamardPower(MatAdd(one, -a, evaluate=False), 2))


def m_per_sample(c: Ctx, e: Expr) -> Iterator[Expr]:
    """The per-sample textbook formula in a batch network: no 1/m, no sum over samples."""
    if c.batch == 1 or c.quantity[:2] not in ("W_", "b_"):
        return
    k, rest = coefficient(e)
    out = rest if k.has(c.batch) else e
    if isinstance(out, MatMul):
        out = MatMul(*[a for a in out.args if not isinstance(a, OneMatrix)], evaluate=False)
    if out != e:
        yield out


def m_softmax(c: Ctx, e: Expr) -> Iterator[Expr]:
    """An elementwise derivative of the softmax output: (A − Y) ⊙ A ⊙ (1 − A)."""
    depth = c.d.depth
    if c.quantity != f"delta_{depth}" or c.activations.get(depth) != "softmax":
        return
    a = c.named(f"A_{depth}")
    one = OneMatrix(*a.shape)
    yield HadamardProduct(e, a, MatAdd(one, -a, evaluate=False), evaluate=False)


MUTATORS: dict[str, Callable[[Ctx, Expr], Iterator[Expr]]] = {
    "transpose": m_transpose,
    "factor 1/m": m_factor_m,
    "factor 2": m_factor_2,
    "order": m_order,
    "hadamard": m_hadamard,
    "f' missing": m_fprime_missing,
    "f'(A) for f'(Z)": m_fprime_at_a,
    "layer index": m_layer_index,
    "weight index": m_weight_index,
    "sample sum": m_sample_sum,
    "sign": m_sign,
    "weight decay": m_weight_decay,
    "(1-A)^2": m_square,
    "per-sample": m_per_sample,
    "softmax": m_softmax,
}


# ---- the oracle and the printers -----------------------------------------------------------


def equal(d: Any, a: Expr, b: Expr, trials: int = 2) -> bool:
    """Whether two expressions agree on random values (shapes that do not fit: no)."""
    rng = np.random.default_rng(7)
    for _ in range(trials):
        env = random_env(d, rng)
        try:
            x = np.asarray(numeric.evaluate(a, env), dtype=float)
            y = np.asarray(numeric.evaluate(b, env), dtype=float)
        except Exception:  # a shape that does not fit
            return False
        if x.shape != y.shape or not np.allclose(x, y, rtol=1e-7, atol=1e-9):
            return False
    return True


def quantities(d: Any) -> Iterator[tuple[str, Any, Expr]]:
    """(name, lhs, rhs) of every δ, gradient and activation cotangent printed."""
    for k, st in sorted(d.deltas.items()):
        yield f"delta_{k}", st.lhs, st.rhs
    for name, st in d.gradients.items():
        if name[0] in "Wb":
            yield name, st.lhs, st.rhs
    for k, st in sorted(d.cotangents.items()):
        yield f"A_{k}", st.lhs, st.rhs


def latex(d: Any, lhs: Any, rhs: Expr) -> str:
    p = DeriveLatexPrinter(d.network.notation)
    return f"{p.doprint(lhs)} = {p.doprint(rhs)}"


def python(d: Any, lhs: Any, rhs: Expr) -> str:
    code = NumPyCode().doprint(d.through_output(rhs)).replace("numpy.", "np.")
    name = code_name(lhs.name) if hasattr(lhs, "name") else "d" + code_name(lhs.wrt.name)
    return f"{name} = {code}"


def _firsts(c: Ctx, kind: str, e: Expr, limit: int) -> list[Expr]:
    out = []
    for new in MUTATORS[kind](c, e):
        if new is None:
            continue
        out.append(new)
        if len(out) >= limit:
            break
    return out


def cases(
    name: str, net: Any, pairs: bool = True, per_kind: int = 3, syntaxes=("latex", "python")
) -> Iterator[Case]:
    """Every usual mistake (and, with ``pairs``, two at once) on every printed quantity."""
    d = derive(symbolic_network(net))
    acts = {
        k: str(getattr(getattr(layer, "activation", None), "name", ""))
        for k, layer in enumerate(net.layers, 1)
    }
    symbolic_f = any(a not in ("", "identity") and a == "symbolic" for a in acts.values())
    for qname, lhs, rhs in quantities(d):
        c = Ctx(d, qname, acts)
        muts: list[tuple[tuple[str, ...], Expr]] = []
        for kind in MUTATORS:
            muts += [((kind,), m) for m in _firsts(c, kind, rhs, per_kind)]
        if pairs:
            for k1 in MUTATORS:
                for once in _firsts(c, k1, rhs, 1):
                    for k2 in MUTATORS:
                        if k2 <= k1:
                            continue
                        muts += [((k1, k2), m) for m in _firsts(c, k2, once, 1)]
        singles = {str(m) for kinds, m in muts if len(kinds) == 1}
        # ⊙ commutes: f'(Z) W ᵀδ is one mistake (⊙ written as a product), not that and
        # the order, so the pair that makes it is left out too
        swapped = rhs.replace(
            lambda x: isinstance(x, HadamardProduct) and len(x.args) == 2,
            lambda x: HadamardProduct(*x.args[::-1], evaluate=False),
        )
        singles |= {str(m) for m in _firsts(c, "hadamard", swapped, per_kind)}
        for kinds, mutated in muts:
            if len(kinds) == 2 and str(mutated) in singles:
                continue  # two kinds that make one (1/m and the sum: the per-sample form)
            same = equal(d, mutated, rhs)
            for syntax in syntaxes:
                if syntax == "python" and symbolic_f:
                    continue
                try:
                    text = latex(d, lhs, mutated) if syntax == "latex" else python(d, lhs, mutated)
                except Exception:  # noqa: S112 - a form one printer cannot write
                    continue
                yield Case(name, qname, syntax, kinds, text, same)
        if qname.startswith("b_") and name != "seed" and not symbolic_f:
            code = python(d, lhs, rhs)
            if "keepdims=True" in code:
                yield Case(
                    name,
                    qname,
                    "python",
                    ("keepdims",),
                    code.replace(", keepdims=True", ""),
                    _broadcasts(net, qname),
                )


def _broadcasts(net: Any, bias: str) -> bool:
    """Whether ``db`` of shape (n,) updates the bias as (n, 1) would: it broadcasts as a
    row (1, n) does, so only a column bias of more than one unit breaks (Ng's bug)."""
    b = next(p for p in derive(net).program.params if str(p) == bias)
    return len(b.shape) != 2 or b.shape[1] != 1 or b.shape[0] == 1


def run(checker: Checker, case: Case) -> Outcome:
    start, cpu = time.perf_counter(), time.process_time()
    try:
        r = checker.check(case.formula, case.syntax)
        said = [r.diagnosis or "", *(n for n in r.notes if n.startswith("equivalently"))]
        verdict, diagnosis = r.verdict, " / ".join(said)
    except FormulaError as err:
        verdict, diagnosis = "unread", str(err)
    return Outcome(case, verdict, diagnosis, time.perf_counter() - start, time.process_time() - cpu)
