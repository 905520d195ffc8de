"""Memory of one training step: bytes of each state class on each tier, per accelerator.

Model states follow "ZeRO: Memory Optimizations Toward Training Trillion
Parameter Models" (Rajbhandari et al., SC 2020), Section 3 and 5: with
mixed-precision Adam each of the Psi parameters costs 2 bytes (bf16 weights) +
2 (bf16 gradients) + K = 12 (fp32 master copy, momentum, variance).  Stage 1
partitions the K bytes over the N_d data-parallel ranks, stage 2 the gradients
too, stage 3 the weights as well: (2 + 2 + K) Psi, 2 Psi + 2 Psi + K Psi / N_d,
2 Psi + (2 + K) Psi / N_d, (2 + 2 + K) Psi / N_d.  Psi is what one accelerator
holds before data parallelism (its pipeline stage, split by tensor parallelism).

Besides those ``state`` rows come ``buffer`` rows the closed forms leave out:
ZeRO-3's gathered layers (the one computing and the one prefetched), the
unreduced gradient bucket of one layer, DRAM staging buffers for NVMe swaps, and
the activation offload buffers.  The HBM peak adds them all up, so it is an
upper bound on what an allocator would see.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .activations import checkpoint_peak, layer_activations, segments
from .layout import Layout, Stage
from .scenario import BYTES

__all__ = ["MemoryRow", "MemoryPlan", "plan_memory", "split_bytes", "OPTIMIZER_BUFFERS",
           "checkpoint_every", "activation_units", "in_flight", "offload_window", "activation_fractions"]

OPTIMIZER_BUFFERS = 4
"""Sub-groups of optimizer state in DRAM at once while swapping with NVMe (DeepSpeed's
``offload_optimizer.buffer_count`` default, 4)."""


@dataclass(frozen=True)
class MemoryRow:
    stage: int
    tier: str            # a tier name of the platform
    state: str           # params | grads | optimizer | activations
    item: str            # what the bytes are
    kind: str            # "state" (the closed forms) or "buffer"
    bytes_per_device: int
    devices: int         # accelerators of the stage holding the same bytes (dp x tp)


def split_bytes(nbytes: int, fractions: dict[str, float]) -> dict[str, int]:
    """``nbytes`` over tiers by fraction, exactly (the last tier takes the rounding)."""
    out, left = {}, nbytes
    items = list(fractions.items())
    for i, (tier, f) in enumerate(items):
        b = left if i == len(items) - 1 else min(left, int(round(nbytes * f)))
        out[tier] = b
        left -= b
    return out


def checkpoint_every(scheme: str, every: int | None, layers: int) -> int | None:
    """Layers per recomputed segment (None: nothing is recomputed layer-wise)."""
    if scheme == "full":
        return 1
    if scheme == "sqrt":
        return max(1, min(layers, round(math.sqrt(layers))))
    if scheme == "every":
        return every
    return None


def activation_units(lay: Layout, stage: Stage):
    """(LayerActivations, stored bytes per layer of one micro-batch, recompute peak extra).

    Stored bytes per layer: everything (``none``), everything but the attention
    core (``selective``), or a segment input on the first layer of each segment.
    """
    sc = lay.scenario
    acts = layer_activations(lay.model, micro_batch=sc.micro_batch, seq_len=sc.seq_len, tp=lay.tp,
                             sequence_parallel=sc.parallelism.sequence_parallel,
                             attention=sc.attention, dropout=sc.dropout,
                             act_bytes=BYTES[sc.precision.activations])
    ck = sc.checkpointing
    k = checkpoint_every(ck.scheme, ck.every, stage.layers)
    if k is None:
        per = acts.selective if ck.scheme == "selective" else acts.full
        stored = [per] * stage.layers
        extra = acts.core_bytes if ck.scheme == "selective" else 0
    else:
        stored = []
        for size in segments(stage.layers, k):
            stored += [acts.layer_input] + [0] * (size - 1)
        extra = checkpoint_peak(stage.layers, k, acts.layer_input, acts.full) - sum(stored)
    return acts, stored, extra


def in_flight(lay: Layout, stage: Stage) -> int:
    """Micro-batches whose activations a stage holds at its peak: 1F1B keeps pp - s
    ("PipeDream-Flush"; the first stage holds pp), GPipe keeps them all."""
    if lay.scenario.parallelism.schedule == "gpipe":
        return lay.grad_accum
    return min(lay.pp - stage.index, lay.grad_accum)


def activation_fractions(lay: Layout, stage: Stage) -> dict[str, float]:
    """The stage's activation placement: the scenario's, or with ``activation_offload:
    selective`` its off-accelerator part scaled by (n - 1)/n for n micro-batches in flight."""
    place = dict(lay.scenario.placement.activations)
    if lay.scenario.activation_offload == "uniform":
        return place
    n = in_flight(lay, stage)
    hbm = lay.hbm.name
    scale = (n - 1) / n
    out = {t: f * scale for t, f in place.items() if t != hbm}
    out[hbm] = 1.0 - sum(out.values())
    return {t: f for t, f in out.items() if f > 0}


def offload_window(lay: Layout, stage: Stage) -> int:
    """Layers whose offloaded activations may still be on their way to the host.

    With one micro-batch in flight (no pipeline, or the last stage) the backward
    follows at once: two layers (one copying out, one computing), or the saving
    would be spent on buffers.  With several in flight (1F1B's earlier stages),
    a micro-batch's copies may run on through the next passes, one micro-batch
    of the stage at most ("PipeOffload: Improving Scalability of Pipeline
    Parallelism with Memory Optimization": the copy hides behind the other
    micro-batches' work).
    """
    return 2 if in_flight(lay, stage) == 1 else max(2, stage.layers)


@dataclass
class MemoryPlan:
    rows: list
    capacity: dict        # tier name -> bytes available (per device for the hbm tier)
    used: dict            # tier name -> bytes used (per device for hbm: the fullest stage)
    layout: Layout

    @property
    def fits(self) -> bool:
        return all(self.used[t] <= self.capacity[t] for t in self.used)

    def over(self) -> dict:
        """Tiers over capacity -> bytes over."""
        return {t: self.used[t] - self.capacity[t] for t in self.used if self.used[t] > self.capacity[t]}

    def state_bytes(self, stage: int = 0, kind: str = "state") -> dict:
        """state class -> bytes per device of ``stage`` over all tiers (rows of ``kind``)."""
        out: dict = {}
        for r in self.rows:
            if r.stage == stage and (kind is None or r.kind == kind):
                out[r.state] = out.get(r.state, 0) + r.bytes_per_device
        return out


def _largest_unit(lay: Layout, st: Stage) -> int:
    """Parameters of the largest unit ZeRO-3 gathers at once: a layer, the embedding or the head."""
    m, tp = lay.model, lay.tp
    vocab = math.ceil(m.vocab * m.hidden / tp)
    embed = vocab + m.learned_positions * m.hidden if st.has_embedding else 0
    head = vocab + (2 if m.norm == "layernorm" else 1) * m.hidden if st.has_head else 0
    return max(st.layer_params, embed, head)


def _model_state_rows(lay: Layout, st: Stage, devices: int) -> list:
    sc, par = lay.scenario, lay.scenario.parallelism
    pr, zero, dp, hbm = sc.precision, par.zero_stage, lay.dp, lay.hbm.name
    psi = st.params
    shard = math.ceil(psi / dp)
    p_b, g_b = BYTES[pr.compute], BYTES[pr.grads]
    master_b = 0 if pr.master == "none" else BYTES[pr.master]
    moments_b = pr.optimizer_bytes_per_param - master_b
    opt_elems = shard if zero >= 1 else psi
    rows = []

    def add(state, item, nbytes, fractions, kind="state"):
        for tier, b in split_bytes(nbytes, fractions).items():
            if b:
                rows.append(MemoryRow(st.index, tier, state, item, kind, b, devices))

    add("params", "weights" + (" (shard)" if zero == 3 else ""), p_b * (shard if zero == 3 else psi),
        sc.placement.params)
    add("grads", "gradients" + (" (shard)" if zero >= 2 else ""), g_b * (shard if zero >= 2 else psi),
        sc.placement.grads)
    if master_b:
        add("optimizer", "master weights", master_b * opt_elems, sc.placement.optimizer)
    add("optimizer", "moments", moments_b * opt_elems, sc.placement.optimizer)
    unit = _largest_unit(lay, st)
    if zero == 3 and (dp > 1 or sc.placement.off("params", hbm) > 0):
        add("params", "gathered layers (current + prefetched)", 2 * p_b * unit, {hbm: 1.0}, "buffer")
    if zero >= 2 or sc.placement.off("grads", hbm) > 0:
        add("grads", "unreduced gradient bucket (one layer)", g_b * unit, {hbm: 1.0}, "buffer")
    dram = lay.tiers.get("dram")
    layer_shard = math.ceil(unit / dp)
    ssd_names = {t.name for t in lay.platform.tiers if t.kind == "ssd"}
    if dram is not None and any(t in ssd_names for t in sc.placement.optimizer):
        add("optimizer", "swap buffers", OPTIMIZER_BUFFERS * pr.optimizer_bytes_per_param * layer_shard,
            {dram.name: 1.0}, "buffer")
    if dram is not None and any(t in ssd_names for t in sc.placement.params):
        add("params", "NVMe read buffers", 2 * p_b * layer_shard, {dram.name: 1.0}, "buffer")
    return rows


def _activation_rows(lay: Layout, st: Stage, devices: int) -> list:
    hbm = lay.hbm.name
    acts, stored, extra = activation_units(lay, st)
    n = in_flight(lay, st)
    total = n * sum(stored)
    rows = []
    fractions = activation_fractions(lay, st)
    for tier, b in split_bytes(total, fractions).items():
        if b:
            rows.append(MemoryRow(st.index, tier, "activations", f"stored ({n} micro-batch"
                                  f"{'es' if n > 1 else ''} in flight)", "state", b, devices))
    if extra:
        rows.append(MemoryRow(st.index, hbm, "activations", "recompute working set", "buffer", extra,
                              devices))
    off = 1.0 - fractions.get(hbm, 0.0)
    if off > 0:       # the layers in transit, and one on its way back for the backward
        window = sorted(stored, reverse=True)[:offload_window(lay, st)]
        buf = int(math.ceil(off * (sum(window) + max(stored))))
        rows.append(MemoryRow(st.index, hbm, "activations", "offload buffers", "buffer", buf, devices))
    if st.has_embedding and acts.embedding:
        rows.append(MemoryRow(st.index, hbm, "activations", "embedding", "state", n * acts.embedding,
                              devices))
    if st.has_head:
        rows.append(MemoryRow(st.index, hbm, "activations", "output layer and fp32 logits", "state",
                              n * acts.head, devices))
    return rows


def plan_memory(lay: Layout) -> MemoryPlan:
    """Every row of the step's memory and the use of each tier against its capacity."""
    devices = lay.dp * lay.tp
    rows = []
    for st in lay.stages:
        rows += _model_state_rows(lay, st, devices)
        rows += _activation_rows(lay, st, devices)
    lim = lay.scenario.memory
    hbm = lay.hbm.name
    capacity, used = {}, {}
    for tier in {r.tier for r in rows} | {hbm}:
        t = lay.platform.tier(tier)
        cap_field = getattr(lim, t.kind, None)
        if tier == hbm:
            per = [sum(r.bytes_per_device for r in rows if r.tier == tier and r.stage == s.index)
                   for s in lay.stages]
            used[tier] = max(per) + lim.reserve
            capacity[tier] = t.capacity if cap_field is None else cap_field
        else:
            used[tier] = sum(r.bytes_per_device * r.devices for r in rows if r.tier == tier)
            capacity[tier] = t.capacity_total if cap_field is None else cap_field
    return MemoryPlan(rows=rows, capacity=capacity, used=used, layout=lay)
