"""TrainResult: a training step's memory plan and simulated time, and ``evaluate`` that makes one."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .kernels import CalibratedKernels
from .layout import Layout
from .memory import MemoryPlan, plan_memory
from .scenario import BYTES
from .step import StepTiming, simulate_step
from .work import model_flops_per_token

__all__ = ["TrainResult", "evaluate", "make_kernels"]


def make_kernels(lay: Layout):
    """The kernel-time model of the step: the calibrated per-kernel timer of the serving engine."""
    dtype = lay.scenario.precision.compute
    return CalibratedKernels(lay.platform, dtype=dtype, dtype_bytes=BYTES[dtype])


@dataclass
class TrainResult:
    """What one training step costs: memory per tier and state class, time and its breakdown."""

    scenario: dict
    summary: dict
    memory: list = field(default_factory=list)      # one dict per MemoryRow
    tiers: list = field(default_factory=list)       # per tier: used vs capacity
    breakdown: list = field(default_factory=list)   # per pipeline stage: {reason: seconds}
    spans: list = field(default_factory=list)       # (stage, what, start_s, end_s)
    traffic: dict = field(default_factory=dict)
    """Channel -> bytes of one representative: ``link[stage]/dir`` channels carry one accelerator's
    bytes, shared host channels (``dram/read``, ``ssd/write``, ...) one accelerator per stage;
    x dp x tp gives the node's bytes."""

    def memory_frame(self) -> pd.DataFrame:
        """The memory rows as a DataFrame (columns: stage, tier, state, item, kind, bytes_per_device, devices)."""
        return pd.DataFrame(self.memory)

    def to_dict(self, *, spans: bool = False) -> dict:
        out = {"scenario": self.scenario, "summary": self.summary, "tiers": self.tiers,
               "memory": self.memory, "breakdown": self.breakdown, "traffic": self.traffic}
        if spans:
            out["spans"] = [list(s) for s in self.spans]
        return out


def _tiers(plan: MemoryPlan) -> list:
    lay = plan.layout
    out = []
    for t in lay.platform.tiers:
        if t.name not in plan.used:
            continue
        out.append({"tier": t.name, "kind": t.kind, "used_bytes": int(plan.used[t.name]),
                    "capacity_bytes": int(plan.capacity[t.name]),
                    "scope": "per accelerator" if t.name == lay.hbm.name else "node",
                    "fits": plan.used[t.name] <= plan.capacity[t.name]})
    return out


def _summary(lay: Layout, plan: MemoryPlan, timing: StepTiming, kernels) -> dict:
    sc, m = lay.scenario, lay.model
    tokens = sc.global_batch * sc.seq_len
    peak = lay.platform.compute.peak(sc.precision.compute)
    flops = model_flops_per_token(m, sc.seq_len) * tokens
    stage0 = plan.state_bytes(0, kind=None)
    return {
        "name": sc.name, "model": m.name, "platform": lay.platform.name,
        "params_total": m.params_total, "gpus": lay.gpus, "dp": lay.dp, "tp": lay.tp, "pp": lay.pp,
        "zero_stage": sc.parallelism.zero_stage, "schedule": sc.parallelism.schedule,
        "global_batch": sc.global_batch, "micro_batch": sc.micro_batch, "seq_len": sc.seq_len,
        "grad_accum": lay.grad_accum, "checkpointing": sc.checkpointing.label(),
        "attention": sc.attention,
        "placement": {k: dict(v) for k, v in sc.placement.model_dump().items()},
        "fits": plan.fits, "over_bytes": {k: int(v) for k, v in plan.over().items()},
        "hbm_used_bytes": int(plan.used[lay.hbm.name]),
        "hbm_capacity_bytes": int(plan.capacity[lay.hbm.name]),
        "stage0_bytes": {k: int(v) for k, v in stage0.items()},
        "step_s": timing.step_s,
        "tokens_per_step": tokens,
        "tokens_per_s": tokens / timing.step_s if timing.step_s > 0 else float("inf"),
        "tokens_per_s_per_gpu": tokens / timing.step_s / lay.gpus if timing.step_s > 0 else float("inf"),
        "model_flops_per_step": flops,
        "mfu": flops / (timing.step_s * lay.gpus * peak) if timing.step_s > 0 else 0.0,
        "kernels": getattr(kernels, "source", type(kernels).__name__) if kernels is not None else "none",
        "transfers": timing.events,
    }


def evaluate(lay: Layout, *, kernels=None, simulate: bool = True) -> TrainResult:
    """Memory plan and (unless ``simulate`` is False) the simulated step of a resolved layout."""
    plan = plan_memory(lay)
    if simulate:
        kernels = kernels or make_kernels(lay)
    timing = simulate_step(lay, kernels) if simulate else \
        StepTiming(step_s=float("nan"), breakdown=[], spans=[], traffic={})
    rows = [r.__dict__.copy() for r in plan.rows]
    return TrainResult(scenario=lay.scenario.model_dump(mode="json"), summary=_summary(lay, plan, timing, kernels if simulate else None),
                       memory=rows, tiers=_tiers(plan), breakdown=timing.breakdown, spans=timing.spans,
                       traffic=timing.traffic)
