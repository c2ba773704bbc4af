"""Benchmark: the checker over the corpus of real formulas (tests/corpus/*.toml).

Run: ``python benchmarks/corpus.py`` (writes its section of docs/benchmarks.md).
For each entry the checker is given the formula as its source wrote it, on the network
the entry names. Reported, per syntax and in total: the share read (a verdict, not a
FormulaError), the verdicts right (against the entry's label, over the entries read),
the wrong formulas whose diagnosis names the labelled mistake (``mistake_kind``), and
the time of one check (median, worst). ``--failures`` lists what was not read, grouped
by the first words of the error, to choose the notations to add next.

The layer corpus (tests/corpus/layers/*.toml) is checked too, where an entry names a
forward program (tests/corpus/specs/programs/*.toml, the source's own forward): the
program checker is given the whole NumPy snippet. Its table is per layer file; ``--layers``
runs only that part (and writes only its section).

The held-out set (tests/corpus/heldout_*.toml: new formulas from sources the rest of the
corpus does not use, never used to choose what to build) is not in the main table;
``--heldout`` checks only it and writes its own section, with the wrong verdicts listed.
The second held-out set (tests/corpus/heldout2_*.toml, collected after the first had been used)
is measured the same way by ``--heldout 2``, in a section of its own, and the third
(tests/corpus/heldout3_*.toml, at least half of it real mistakes, to measure how well the
checker names them) by ``--heldout 3``.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))
from _report import machine, write_section  # noqa: E402
from test_corpus_file import (  # noqa: E402
    ENTRIES,
    HELDOUT2_ENTRIES,
    HELDOUT3_ENTRIES,
    HELDOUT_ENTRIES,
    LAYER_ENTRIES,
    is_program_spec,
    load,
    load_program,
    same_page,
)

from derive.formula.check import Checker, CheckResult  # noqa: E402
from derive.formula.parse import FormulaError  # noqa: E402
from derive.formula.program_check import ProgramChecker  # noqa: E402
from derive.formula.program_latex_check import check_latex  # noqa: E402

#: The words a diagnosis (or shape message) uses for each labelled kind of mistake.
KIND_WORDS: dict[str, tuple[str, ...]] = {
    "transpose": ("transpose",),
    "factor": ("factor",),
    "order": ("order",),
    "hadamard-vs-matmul": ("hadamard", "⊙"),
    "missing-fprime": ("f'(z", "missing&f'(", "missing&σ'(", "missing&derivative"),
    "fprime-of-A": ("f'(a)", "activation", "of a_", "of a "),
    "wrong-layer-index": ("index",),
    "sign": ("sign",),
    "sum-axis": ("axis",),
    "missing-sum": ("sum",),
    "keepdims": ("keepdims",),
    "convention": ("convention",),
    "weight-decay": ("weight decay", "weight-decay", "λ", "lambda"),
    "softmax-jacobian": ("softmax", "jacobian"),
    "conv-flip": ("flip", "rot180", "rotated"),
    "conv-mode": ("mode", "full", "valid"),
    "pooling-routing": ("pool", "arg-max"),
    "two-mistakes": ("two mistakes",),
    "other": (),
}
NOTHING = "no usual mistake"

#: Earlier runs, recorded by hand when the script was added (same corpus of 371).
HISTORY = """Earlier: main at d792b19 read 29 (8 %), 27 of them right (93 %: two of Denny
Britz's formulas, whose deltas are numbered from the input, judged wrong), 5 of 10 wrong
ones named; after the round-trip work (adcd572) 31 read, 29 right (94 %), 5 of 10 named;
after the first notations and the readings not guessed (7a96d24) 38 read, 38 right, 5 of 11
named (before the layer-index, Z-for-A, stray-number and two-mistake diagnoses). Corpus of
459 at main 20107db: 86 read (NumPy 46 of 275, 17 %), all right, NumPy 8 of 11 wrong ones
named; after NumPy names read by their spelling and checked against the network (readpy)
NumPy 70 read (25 %), all right, 16 of 21 named (74 read with the declared symbols); at
the round-2 branch point 72, all right, 17 of 21 named; after every quantity of a snippet
judged, np.sum without axis, CS231n's layer-API names, the one-hot idiom and unnumbered
names tried at each layer (readpy2) NumPy 82 read, all right, 18 of 22 named. Round 5's
LaTeX (readtex3): 64 read (35 %), 18 of 22 named at the branch point; after the layer
numbering told by the shapes, Bishop's unit letters, logistic regression's w, tables of
activation derivatives, Ng's 𝓛 and Θ 78 read (42 %), all right, 22 of 25 named. Worst
times measured at a load of ~9 on 2 cores. Round 7, from main 9bce2ab (186 read, 54 of 55
named with the looser words): NumPy loops over windows run at small sizes (loops7) 106 ->
118 NumPy read, a right-hand side alone, one sample's loss, Σ_x (readtex7) 80 -> 83 LaTeX,
activation objects, returned values, positional axes (readpy7); 205 read, all right. Named
is now counted without the entries labelled `other` and with strict words for f' missing,
a layer index and two mistakes: 42 of 43. Round 8 (texread8): matrices written entry by
entry on a network with one convolution (pikazlou's dL/dW as weighted patches and dL/db),
Python's X if C else 0 typed as maths (the ai-by-hand issue's layer slip named), e^{…},
dσ/dz, ∂a/∂z, np.sum(…, keepdims=True), ℓ and E_total as the loss: 83 -> 86 LaTeX, all
right; Wikipedia's ∂E/∂w_ij = o_i δ_j (w_ij joining i to j), judged INCORRECT as derive
orders a weight's indices, now gets no verdict. Round 9, from main 1d79b19 (473 entries:
233 read, all right, 47 of 51 named): 124 fresh entries added first (fresh9, measured
above before any reading was built); then one hidden layer's letters x → z → h, equation
labels and page layout, `:=`, Heaviside, sgn (texread9), unit letters placed by x_i and y_k,
Wikipedia's w_jk only with its own letters (index9), torch's dim=, one-hot np.eye(K)[y],
activation-derivative definitions (pyread9), loops NumPy itself refuses, window corners,
BPTT caches (winloop9), aligned rows, '.' as a product, grads["dW" + str(l)], fast.ai's .g
(texfresh9), step slips and branch factors named (diag9). On the 473: 248 read, all right,
55 of 56 named. Wrong verdicts found and fixed in the round (each with a test): a trailing
equation number read as a factor (Nielsen's BP2 with (2)), H(Z) read as the width H times
Z, a layer's stored self.dW/dx not judged beside a right db (CORRECT on a wrong dW), a
snippet's own ∂C/∂a named delta2 judged as δ_2, derv_sigmoid read as the sigmoid, torch's
dim= dropped, and nine more from the review (review9). Arrays side by side that fit only
as ⊙ and are right so are now refused (a slip and an unwritten ⊙ read the same): fresh9's
chrisxue-dz, labelled correct, was INCORRECT."""


#: What changed the layer table's verdicts (by hand, when it changed).
LAYER_WRONG = """When the programs were added, four snippets read were judged against their label:
three correct ones that name their own helper values like the program's stages (1999ADEK's
`dmean`, `dvar`, `ddev`/`dstd` before e77abf1, israfelsr's layer-norm `dxmu`), and
tt-metal #53204's reference dx, because the derivation dropped the path through a scalar
equation (`rstd`). Since the checker judges what a `return` hands back and a scalar
coefficient gets its cotangent, all 25 read are right. 0809zheng's SVM (labelled wrong,
judged wrong) took minutes while its diagnosis re-ran the snippet per slip tried; the
search is now bounded (the lines the judged name reads, 3000 rebuilt statements, 0.6 s).
Round 5 (layercorp2): 25 read, 0 of 3 wrong named -> 39 read (lightaime's and jariasf's
caches unpacked by place, jariasf's cache dict and axis=cache['axis'], nine more dropout
backward passes with a program each, their `if mode == 'train':` read for the program's
mode), all right, 3 of 3 named (cthorey's diagonal-only dx, tt-metal's doubled mean,
0809zheng's weight decay the loss lacks). 0809zheng's worst time is the snippet's first
reading (SymPy's MatAdd.doit in the builder's add, ~2.4 s), not its diagnosis.
Round 6 (layerpy): 44 read -> 54, all right, 4 of 4 named. Programs for four more CS231n
SVMs (masks `m != 0`, `(m > 0).astype(int)`, `x[:, np.newaxis]`, `list(y)`, `len(y)`) and
for six MAE/Huber losses (tinynn, RoboticsClub, Lllsir: `np.sign`, named masks and `~mask`,
`self._delta`, `np.divide(…, out=, where=)`, an unnamed `return` read as the program's one
gradient); tinynn's first Huber grad named branch by branch (1/N too many on the quadratic
part, 1/N too many and δ missing on the linear one). Not given a program: jingtinghuang's
SVM gradient block reads the forward's margin with the correct class zeroed, which a
program cannot assign; residual and attention backward passes call another layer's
backward (self.layer.backward, self.softmax.backward); the loss forwards (a returned scalar
is refused: the checker judges backward passes).
Round 6 (layertex): the 42 LaTeX entries were not checked (0 read); with the sources' own
programs (d2l's and Goodfellow's RNN, Mallya's LSTM, planckeon's and Goubasarian's
attention) and LaTeX read over a program's names at each time step, 15 read, all right,
3 of 3 wrong ones named (Goodfellow's diag on the wrong side, Mallya's δc^t without the
step t+1 term and tanh' of the activation). Goubasarian's ζ_k are his own names for the
gradients: declared (--symbol zeta_2=dB, …), all nine of his read, all right, his three
slips named (dK's transpose, ζ_1 where ∂L/∂C belongs, ζ_3 where ζ_2 belongs).
Round 7 (layerres7): sub-layers in a program ([sublayers]: `self.layer.backward(d)` is the
step's vector-Jacobian product, an opaque layer held as tanh(x W) with a fixed random W),
`np.swapaxes(x, -2, -1)` on a matrix, `if self.projection:` read for the program, a `def`
header's body read: programs for softgrad's residual and projection residual and IDL's
attention, NumPy 54 -> 57 read, all right (IDL's softmax loop is refused: a loop is not
read). Chain-rule products of Jacobians read as vector-Jacobian products carried from the
gradient (each ∂a/∂b with the formula's other names held fixed), and an equation of
Jacobians (∂y/∂x = 1 + ∂F/∂x) as linear maps applied to the program's dy, over vxnuaj's
and the Interactive Primer's residual programs: LaTeX 15 -> 18 read, all right, vxnuaj's
dropped skip path named; his dx_3, whose stated result (the last side) is not read, gets
no verdict. Entry-wise formulas in index notation (∂L/∂S^{ij} = A^{ij}(…), Σ_{j'}, Einstein's
repeated indices, δ^b_n) evaluated entry by entry at the checker's points: planckeon's
softmax Jacobian and dV in index form, LaTeX 18 -> 20 read, all right. An equation of
Jacobians whose side has none is an entrywise map's derivative written entry by entry
when the shapes say so (∂b/∂a = mask/(1-p): da = db ⊙ mask/(1-p)), a word spelling a
program name is that name (mask, not m·a·s·k): the Cross Validated dropout answer's two
formulas read over its program, LaTeX 20 -> 22, all right.
Round 7 (bptt7): loops over time unrolled at a program's T, the step backward called by
name read as the program's own step: rnn NumPy 6 -> 12, lstm 5 -> 11, all right. With the
strict words, tinynn's Huber branches (labelled two mistakes) named as branch factors are
no longer counted as named.
Round 8 (forward8): forward passes and losses judged against the program's forward at the
same points (a returned scalar is the loss, a returned array the output, a forward name
assigned is that value): marl on-policy's Huber with `(e > d)` for `(abs(e) > d)` (the
branch condition's abs named), tensorforce's linear branch without the threshold (that
branch named), ml-glossary's and tinynn's losses, UGATIT's residual block without its skip
(`+ x` named; `self.conv1(out)` read as the sub-layer's forward); torch/tf spellings
(`tf.where(condition=…)`, `.float()`, `config.clip_loss`) read as NumPy. Layer APIs: the
returned value is the one gradient not assigned (`self.gamma_grad = …; return dx`), the
upstream's variable reassigned last is passed back (ML-From-Scratch's `accum_grad`); layer
norm on the transpose (four sources' own programs, caches by place, 1-d `dgamma` of (D,)
compared as the row). NumPy 69 -> 83 read, all right.
Round 8 (texlayers8): a name an equation gives its result (`∂L/∂V = Bᵀ ∂L/∂C = ζ_1`) is read
as that gradient by the equations after it and by the later formulas of the same page
(`same_page`: same repository, path, commit and source): Goubasarian's ζ_1 … ζ_7 without
--symbol, 9 of 9 read, right. Sums over another index between step bounds (d2l's closed form
`Σ_{i=t}^T (W_hhᵀ)^{T-i} W_qhᵀ ∂L/∂o_{T+t-i}`, the power a matrix product) written out at
each step: LaTeX 22 -> 31 read, all right. Not read, and why: the SVM notes' per-sample,
per-class forms (w_j a column of W, w_{y_i}, Σ_{j≠y_i}) need the network checker's index
forms to index by a label; the Huber loss pages write the loss itself (no gradient to judge)
or r'(x) of their own r; the lasso page's J is MSE + α‖w‖₁, not l1_linear's loss; He et al.'s
eq. 5 assumes an identity after the addition, which resnet_mlp (ReLU after it) lacks; the
Interactive Primer states its result in words; d2l's ∂L/∂o_t differentiates its step loss l,
which the program leaves out.
Round 8 (loopsgen8): loops over samples, classes and rows run in the bounded interpreter
(if/elif/else, continue, break) on the program's values at the checker's two points, whose
sizes all differ: jariasf's and Burton2000's svm_loss_naive (their own programs), IDL's
per-row softmax Jacobian, RoboticsClub's Huber derivative over samples (a program of its
linear model; its two mistakes named branch by branch, each branch alone at its
hyperparameter's extremes, δ = 10³ and 10⁻³); jingtinghuang's SVM gradient block on a
program of his forward (the zeroed correct-class margin as a where()), its weight decay's
factor 2 named: NumPy 69 -> 74 read, all right, named 3 of 4 -> 5 of 6; programs for
lightaime's and israfelsr's rnn_backward (refused with the reason: a step cache built as a
tuple, cache['dims']).
Round 9 (layers9): a snippet's one-line helper (mantasu's `S = lambda x: x.sum(axis=0)`)
written out where it is called, NumPy's positional axis (`.sum(axis)`), a cached `x.shape`
read by `y.reshape(shape, order='F')` only where y has that shape (the identity), `len(x[0])`,
NNFS's `self.dinputs` (a loss's predictions' gradient), `np.choose(y, M)` as the pick of Mᵀ,
a returned dict of gradients judged key by key; renan's two fragments given their whole
backward at their commits on a program of that version's forward (gamma a column), NNFS's
MAE its own program (its reversed sign named); programs for the four entries without one
(Karpathy's min-char-rnn, checked against his backward; Ng's RNN cell and C5W1 loops), none
of which reads yet (loops over time unindented or over dicts, a helper dtanh not declared):
NumPy 88 -> 93 read of 107 (103 -> 107 with a program), all right, named 5 of 6 -> 6 of 8
(renan's first version, two mistakes in dx, labelled sum-axis, is not named)."""


def names_the_mistake(entry: dict[str, Any], result: CheckResult) -> bool | None:
    """Whether the diagnosis names the labelled kind of mistake; None for a mistake of kind
    ``other`` (no words to look for: it is not counted either way, see ``other_clause``)."""
    words = KIND_WORDS.get(str(entry.get("mistake_kind")), ())
    if not words:
        return None
    said = " ".join(filter(None, [result.diagnosis, result.shape_error])).lower()
    if not said or NOTHING in said or "no single usual mistake" in said:
        return False
    # ``a&b``: both words (``missing`` alone would match any missing factor)
    return any(all(part.lower() in said for part in w.split("&")) for w in words)


def other_clause(rows: list[dict[str, Any]]) -> str:
    """The wrong formulas of kind ``other`` read: left out of *wrong ones named*, because no
    word of a diagnosis can be checked against their label by a script."""
    others = [r for r in rows if r["read"] and r["right"] and r["named"] is None]
    if not others:
        return ""
    n = len(others)
    return (
        f" {n} wrong formula{'s' if n != 1 else ''} read whose mistake is labelled `other` "
        f"{'are' if n != 1 else 'is'} left out of *wrong ones named* (no word of the diagnosis "
        "can be checked against the label by a script)."
    )


def checker_for(entry: dict[str, Any], declared: bool, cache: dict[Any, Checker]) -> Checker:
    """The entry's network, with its ``symbols`` declared (as ``--symbol`` does) if asked."""
    network = str(entry["network"])
    symbols = dict(entry.get("symbols", {})) if declared else {}
    key = (network, tuple(sorted(symbols.items())))
    if key not in cache:
        net = load(network)
        if symbols:
            net = net.with_(notation=net.notation.merge(symbols=symbols))
        cache[key] = Checker(net)
    return cache[key]


def run(
    declared: bool = False, entries: list[tuple[str, dict[str, Any]]] | None = None
) -> tuple[list[dict[str, Any]], Counter[str]]:
    """One row per entry: read, right, named, seconds; and the errors of unread entries.
    ``declared``: the entries' ``symbols`` are declared (the hidden corpus has none);
    ``entries``: the main corpus unless given (the held-out set)."""
    checkers: dict[Any, Checker] = {}
    rows: list[dict[str, Any]] = []
    errors: Counter[str] = Counter()
    for _file, entry in ENTRIES if entries is None else entries:
        checker = checker_for(entry, declared, checkers)
        start = time.perf_counter()
        try:
            result: CheckResult | None = checker.check(str(entry["text"]), str(entry["syntax"]))
        except FormulaError as err:
            result = None
            errors[f"{entry['syntax']}: {str(err).splitlines()[0][:70]}"] += 1
        seconds = time.perf_counter() - start
        right = result is not None and result.verdict == entry["verdict"]
        named = (
            names_the_mistake(entry, result)  # type: ignore[arg-type]
            if right and entry["verdict"] == "incorrect"
            else False
        )
        rows.append(
            {
                "syntax": entry["syntax"],
                "verdict": entry["verdict"],
                "read": result is not None,
                "right": right,
                "named": named,
                "seconds": seconds,
                "id": entry["id"],
                "said": str(result).replace("\n", " / ") if result is not None else "",
            }
        )
    return rows, errors


def run_layers() -> tuple[list[dict[str, Any]], Counter[str]]:
    """One row per layer entry (``program``: it names a forward program or a
    network spec the network checker reads it on); the errors of those not read."""
    programs: dict[str, ProgramChecker] = {}
    networks: dict[Any, Checker] = {}
    rows: list[dict[str, Any]] = []
    errors: Counter[str] = Counter()
    for file, entry in LAYER_ENTRIES:
        network = str(entry["network"])
        is_program = bool(network) and is_program_spec(network)
        row: dict[str, Any] = {
            "file": Path(file).stem,
            "id": entry["id"],
            "verdict": entry["verdict"],
            "syntax": entry["syntax"],
            "program": bool(network),
            "read": False,
            "right": False,
            "named": False,
            "seconds": 0.0,
            "said": "",
        }
        rows.append(row)
        if not row["program"]:
            continue
        if is_program and network not in programs:
            programs[network] = ProgramChecker(load_program(network))
        start = time.perf_counter()
        try:
            text = str(entry["text"])
            result: CheckResult | None = (
                checker_for(entry, False, networks).check(text, str(entry["syntax"]))
                if not is_program
                else check_latex(programs[network], text, same_page(entry))
                if entry["syntax"] == "latex"
                else programs[network].check(text)
            )
        except FormulaError as err:
            result = None
            errors[f"{entry['syntax']}: {str(err).splitlines()[0][:90]}"] += 1
        row["seconds"] = time.perf_counter() - start
        if result is not None:
            row["read"] = True
            row["right"] = result.verdict == entry["verdict"]
            row["named"] = (
                names_the_mistake(entry, result)
                if row["right"] and entry["verdict"] == "incorrect"
                else False
            )
            row["said"] = str(result).replace("\n", " / ")
    return rows, errors


def layer_table(rows: list[dict[str, Any]]) -> str:
    """Per layer file and syntax: entries, those with a forward program, read, right, named."""
    lines = [
        "| layer file | syntax | entries | with a program or a spec | read "
        "| verdicts right (of read) "
        "| wrong ones named (of wrong read) | worst check |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    files = sorted({r["file"] for r in rows})
    for label in [*files, "all"]:
        for syntax, shown in (("python", "NumPy"), ("latex", "LaTeX")):
            part = [r for r in rows if label in ("all", r["file"]) and r["syntax"] == syntax]
            if not part:
                continue
            prog = [r for r in part if r["program"]]
            read = [r for r in prog if r["read"]]
            wrong = [r for r in read if r["verdict"] == "incorrect" and r["named"] is not None]
            worst = max((r["seconds"] for r in prog), default=0.0)
            lines.append(
                f"| {label} | {shown} | {len(part)} | {len(prog)} | {len(read)} "
                f"| {sum(r['right'] for r in read)} of {len(read)} "
                f"| {sum(r['named'] for r in wrong)} of {len(wrong)} "
                f"| {1000 * worst:.0f} ms |"
            )
    return "\n".join(lines) + ("\n\n" + other_clause(rows).strip() if other_clause(rows) else "")


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| entries | count | read | verdicts right (of read) | wrong ones named (of read) "
        "| median check | worst check |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, keep in (
        ("LaTeX", lambda r: r["syntax"] == "latex"),
        ("NumPy", lambda r: r["syntax"] == "python"),
        ("all", lambda r: True),
    ):
        part = [r for r in rows if keep(r)]
        read = [r for r in part if r["read"]]
        wrong = [r for r in read if r["verdict"] == "incorrect" and r["named"] is not None]
        times = [r["seconds"] for r in part]

        def share(n: int, of: int) -> str:
            return f"{n} ({100 * n / of:.0f} %)" if of else "0"

        lines.append(
            f"| {label} | {len(part)} | {share(len(read), len(part))} "
            f"| {share(sum(r['right'] for r in read), len(read))} "
            f"| {share(sum(r['named'] for r in wrong), len(wrong))} "
            f"| {1000 * statistics.median(times):.1f} ms | {1000 * max(times):.0f} ms |"
        )
    return "\n".join(lines) + ("\n\n" + other_clause(rows).strip() if other_clause(rows) else "")


#: The entries collected in round 9 from sources no corpus file had used, measured before
#: that round's readings were built (the honest first look a new source gets).
FRESH = "fresh9_"
FRESH_BEFORE = (
    "44 read (35 %: LaTeX 37 of 91, NumPy 7 of 33), 41 of them right (3 NumPy snippets of "
    "alexcpn, whose `delta2` is ∂C/∂a², judged INCORRECT), 4 of 4 wrong ones named"
)


def fresh_tables(rows: list[dict[str, Any]]) -> str:
    """The round-9 fresh entries alone, and the corpus without them (round 8's)."""
    fresh = {e["id"] for f, e in ENTRIES if f.startswith(FRESH)}
    new = [r for r in rows if r["id"] in fresh]
    old = [r for r in rows if r["id"] not in fresh]
    if not new:
        return ""
    return (
        f"Of these, the {len(new)} collected in round 9 from sources no corpus file had used "
        f"(tests/corpus/{FRESH}*.toml); before that round's readings: {FRESH_BEFORE}. Now:\n\n"
        f"{table(new)}\n\nThe other {len(old)} (the corpus as it stood in round 8):\n\n"
        f"{table(old)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--failures", type=int, default=0, help="list the N commonest errors")
    parser.add_argument("--wrong", action="store_true", help="list the wrong verdicts")
    parser.add_argument(
        "--unnamed", action="store_true", help="list the wrong formulas read but not named"
    )
    parser.add_argument("--layers", action="store_true", help="only the layer corpus")
    parser.add_argument(
        "--heldout",
        type=int,
        nargs="?",
        const=1,
        choices=(1, 2, 3),
        help="only a held-out set (1 when no number is given)",
    )
    args = parser.parse_args()
    if args.heldout:
        heldout(args.no_write, args.failures, args.heldout, args.unnamed)
        return
    layer_rows, layer_errors = run_layers()
    layer_body = (
        "### The layer corpus (forward programs)\n\n"
        "tests/corpus/layers/*.toml: the NumPy entries whose `network` is a forward program "
        "written in the source's own names (tests/corpus/specs/programs/), each snippet "
        "given whole to the program checker (`derive check PROGRAM --file snippet.py`); the "
        "LaTeX entries whose `network` is a program are read over its names at each time "
        "step (`program_latex_check`); the entries (NumPy or LaTeX) whose `network` is a "
        "network spec are read by the network checker (`derive check SPEC`). Entries without "
        "either are counted but not checked."
        "\n\n"
        f"{layer_table(layer_rows)}\n\n{LAYER_WRONG}\n\nNot read (first error of each "
        "snippet): " + "; ".join(f"{n} × `{m}`" for m, n in layer_errors.most_common()) + ".\n"
    )
    print(layer_body)
    for message, count in layer_errors.most_common(args.failures):
        print(f"{count:4d}  {message}")
    for row in layer_rows:
        if args.wrong and row["read"] and not row["right"]:
            print(f"WRONG VERDICT {row['id']}: {row['said'][:300]}")
    if args.layers:
        if not args.no_write:
            write_section("corpus_layers", layer_body)
        return
    rows, errors = run()
    with_symbols = run(declared=True)[0]
    declared = sum(bool(e.get("symbols")) for _, e in ENTRIES)
    body = (
        "## The checker on the corpus of real formulas (`benchmarks/corpus.py`)\n\n"
        f"{len(rows)} formulas from tests/corpus/*.toml, each checked as its source wrote it "
        "on the network its entry names. *Read*: a verdict rather than an error; *verdicts "
        "right*: the label's verdict, among those read; *wrong ones named*: incorrect "
        "formulas read whose diagnosis names the labelled kind of mistake. Times are per "
        "check, in process, the network's derivation made once.\n\n"
        f"{table(rows)}\n\nWith the {declared} entries' `symbols` declared (names whose "
        "meaning their source states, passed as `--symbol` would; the table above runs "
        "without them, as a user who declares nothing):\n\n"
        f"{table(with_symbols)}\n\n{fresh_tables(rows)}\n\n{HISTORY}\n\n{machine()}\n"
    )
    print(body)
    for message, count in errors.most_common(args.failures):
        print(f"{count:4d}  {message}")
    for row in rows:
        if args.wrong and row["read"] and not row["right"]:
            print(f"WRONG VERDICT {row['id']}: {row['said'][:300]}")
        if args.unnamed and row["right"] and row["verdict"] == "incorrect" and not row["named"]:
            print(f"NOT NAMED {row['id']}: {row['said'][:400]}")
    if not args.no_write:
        write_section("corpus", body)
        write_section("corpus_layers", layer_body)


#: Per held-out set: its entries, its files, the flag that measures it, its docs section, and
#: what it is.
HELDOUT_SETS: dict[int, tuple[Any, str, str, str, str]] = {
    1: (
        HELDOUT_ENTRIES,
        "tests/corpus/heldout_*.toml",
        "--heldout",
        "corpus_heldout",
        "The held-out set",
    ),
    2: (
        HELDOUT2_ENTRIES,
        "tests/corpus/heldout2_*.toml",
        "--heldout 2",
        "corpus_heldout2",
        "The second held-out set",
    ),
    3: (
        HELDOUT3_ENTRIES,
        "tests/corpus/heldout3_*.toml",
        "--heldout 3",
        "corpus_heldout3",
        "The third held-out set",
    ),
}
#: What each later set is, beyond the first's description.
LATER_SETS = {
    2: (
        " Collected when the first held-out set had been used to choose what to build: sources "
        "that neither the main corpus nor the first held-out set uses."
    ),
    3: (
        " Collected when the second held-out set (17 % mistakes) proved too poor in mistakes to "
        "measure how well the checker names them: at least half of it real mistakes with "
        "evidence, from sources that no earlier corpus file uses."
    ),
}


def heldout(no_write: bool, failures: int, which: int = 1, unnamed: bool = False) -> None:
    """A held-out set's table, its wrong verdicts and its commonest unread errors (and with
    ``unnamed`` the wrong formulas read but whose mistake is not named)."""
    found, files, flag, section, title = HELDOUT_SETS[which]
    rows, by_place = run(entries=found)
    errors: Counter[str] = Counter()  # grouped by what is unread, not where
    for message, count in by_place.items():
        errors[re.sub(r" at column \d+", "", message)] += count
    wrong = [r for r in rows if r["read"] and not r["right"]]
    body = (
        f"### {title} (`benchmarks/corpus.py {flag}`)\n\n"
        f"{len(rows)} formulas from {files}: new real formulas from sources "
        "the main corpus does not use, kept out of the choice of what to build so that they "
        "measure what a new user meets. Same columns as the main table; no `symbols` declared."
        + LATER_SETS.get(which, "")
        + f"\n\n{table(rows)}\n\nWrong verdicts: "
        + ("; ".join(f"`{r['id']}` (labelled {r['verdict']})" for r in wrong) or "none")
        + ".\n\nNot read (first error of each formula): "
        + "; ".join(f"{n} × `{m}`" for m, n in errors.most_common(12))
        + f".\n\n{machine()}\n"
    )
    print(body)
    for message, count in errors.most_common(failures):
        print(f"{count:4d}  {message}")
    for row in wrong:
        print(f"WRONG VERDICT {row['id']}: {row['said'][:300]}")
    for row in rows:
        if unnamed and row["right"] and row["verdict"] == "incorrect" and not row["named"]:
            print(f"NOT NAMED {row['id']}: {row['said'][:400]}")
    if not no_write:
        write_section(section, body)


if __name__ == "__main__":
    main()
