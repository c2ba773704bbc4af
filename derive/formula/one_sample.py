"""The loss of one sample on the left (``∂L_i/∂f_k``, ``∂E_n/∂w_{ji}``, ``∂C_x/∂b``), as
per-sample textbooks write backprop (CS231n's L_i, Bishop's E_n, Nielsen's C_x) in a
network with a batch: it is checked on that network with a batch of one, where the loss
is the sample's own. A weight or bias gradient of a network with weight decay is not
read so: a sample's loss has no weight-decay term (it is the batch's), and a batch of one
would add it. Nor is any formula of a network with batch normalisation: there a sample's
loss depends on the other samples (the batch's mean and variance), and a batch of one
normalises every unit to β (``∂L_i/∂γ = 0`` would be judged right)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from derive.formula.answer import CheckResult
from derive.formula.ir import FormulaError
from derive.formula.network_variants import samples_interact
from derive.formula.quantity import Quantity
from derive.formula.run import Run

if TYPE_CHECKING:
    from derive.formula.readings import OtherReadings


def one_sample_check(checker: OtherReadings, run: Run, q: Quantity) -> CheckResult:
    """The verdict on a per-sample loss's formula, on the network with a batch of one."""
    net = checker.network
    batch = checker.d.program.batch
    single = checker.variant("one_sample")
    if samples_interact(net):
        raise FormulaError(
            "the left-hand side is the loss of one sample, and this network normalises over "
            f"its batch of {batch}: a sample's loss depends on the other samples (the batch's "
            "mean and variance), so it cannot be checked on one sample; write the batch's "
            "loss L on the left"
        )
    if single is None or (q.kind == "grad" and net.loss.weight_decay is not None):
        raise FormulaError(
            f"the left-hand side is the loss of one sample, and this network has a batch of "
            f"{batch}"
            + (" and weight decay (a sample's loss has none)" if single is not None else "")
            + ": declare batch = 1 in the spec to check per-sample formulas"
        )
    result = single._check(run.again(network=single.network, verdict_only=run.verdict_only))
    result.notes.append(
        f"the loss of one sample on the left: checked on one sample (this network with a "
        f"batch of 1, not {batch}); the batch's gradient sums or averages it over the samples"
    )
    return result
