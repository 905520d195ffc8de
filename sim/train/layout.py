"""A training scenario resolved against its platform and model: who holds which layers.

``resolve(scenario)`` checks everything that needs the platform or the model
(tier names in ``placement``, tensor parallelism dividing the heads, pipeline
stages dividing the layers, the batch dividing into micro-batches) and returns a
``Layout``: the parallel degrees, the layers and parameters of each pipeline
stage per accelerator, the gradient-accumulation count and the tiers by kind.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from memsim.ground.errors import ConfigError
from memsim.hwmodels import load_platform
from memsim.workloads.model import load_model

from .scenario import STATE_CLASSES, TrainScenario

__all__ = ["Layout", "resolve", "layer_params", "STORE_KINDS"]

STORE_KINDS = {"params": ("hbm", "dram", "cxl", "ssd"), "grads": ("hbm", "dram", "cxl", "ssd"),
               "optimizer": ("hbm", "dram", "cxl", "ssd"), "activations": ("hbm", "dram", "cxl")}
"""Tier kinds each state class may live on (activations are never swapped to disk)."""


def layer_params(model) -> tuple[int, int]:
    """(parameters of one transformer layer split by tensor parallelism, replicated ones).

    Derived from ``ModelSpec.params_total`` so the two always agree: the total less
    the embeddings, the untied LM head, learned positions and the final norm,
    divided by the layers.  The two norms of a layer are replicated on every
    tensor-parallel rank (Megatron-LM); everything else is split.
    """
    norm = (2 if model.norm == "layernorm" else 1) * model.hidden
    outside = model.vocab * model.hidden * (1 if model.tie_embeddings else 2) \
        + model.learned_positions * model.hidden + norm
    per_layer, rem = divmod(model.params_total - outside, model.layers)
    assert rem == 0, "ModelSpec.params_total is layers x per-layer params + the rest"
    return per_layer - 2 * norm, 2 * norm


@dataclass(frozen=True)
class Stage:
    """One pipeline stage: ``layers`` transformer layers and what else sits on it."""

    index: int
    first_layer: int
    layers: int
    params: int              # parameters per accelerator (after tensor parallelism)
    layer_params: int        # of one transformer layer, per accelerator
    has_embedding: bool
    has_head: bool


@dataclass(frozen=True)
class Layout:
    scenario: TrainScenario
    platform: object
    model: object
    dp: int
    tp: int
    pp: int
    grad_accum: int
    """Micro-batches each data-parallel rank runs per optimizer step."""
    stages: tuple[Stage, ...]
    tiers: dict = field(default_factory=dict)
    """Platform tier per kind present (``hbm``, ``dram``, ``cxl``, ``ssd``)."""

    @property
    def gpus(self) -> int:
        return self.dp * self.tp * self.pp

    @property
    def hbm(self):
        return self.tiers["hbm"]

    @property
    def tokens_per_micro_batch(self) -> int:
        return self.scenario.micro_batch * self.scenario.seq_len

    def kind_of(self, tier_name: str) -> str:
        return self.platform.tier(tier_name).kind


def _check_placement(sc: TrainScenario, platform) -> dict:
    tiers = {}
    for t in platform.tiers:
        tiers.setdefault(t.kind, t)
    for state in STATE_CLASSES:
        for name in getattr(sc.placement, state):
            names = [t.name for t in platform.tiers if t.kind in STORE_KINDS[state]]
            try:
                kind = platform.tier(name).kind
            except ConfigError:
                kind = None
            if kind not in STORE_KINDS[state]:
                what = f"tier {name!r} is {kind}" if kind else f"platform {platform.name} has no tier {name!r}"
                raise ConfigError(f"{what}; {state} may live on: {', '.join(names)}",
                                  field=f"placement.{state}.{name}")
            if tiers.get(kind) is not platform.tier(name):
                raise ConfigError(f"tier {name!r} is a second {kind} tier; memsim places training "
                                  f"state on the first tier of each kind", field=f"placement.{state}.{name}")
    return tiers


def tiers_hbm(platform) -> str:
    t = platform.tier_of_kind("hbm")
    if t is None:
        raise ConfigError(f"platform {platform.name} has no hbm tier; training needs accelerator "
                          "memory", field="platform")
    return t.name


def _stages(model, tp: int, pp: int) -> tuple[Stage, ...]:
    split, repl = layer_params(model)
    per_layer = math.ceil(split / tp) + repl
    embed = math.ceil(model.vocab * model.hidden / tp) + model.learned_positions * model.hidden
    head = math.ceil(model.vocab * model.hidden / tp)
    final_norm = (2 if model.norm == "layernorm" else 1) * model.hidden
    n = model.layers // pp
    out = []
    for s in range(pp):
        first, last = s == 0, s == pp - 1
        params = n * per_layer + (embed if first else 0)
        if last:
            # untied: the LM head; tied: the last stage keeps its own copy of the embedding
            params += final_norm + (head if (not model.tie_embeddings or pp > 1) else 0)
        out.append(Stage(index=s, first_layer=s * n, layers=n, params=params, layer_params=per_layer,
                         has_embedding=first, has_head=last))
    return tuple(out)


def resolve(sc: TrainScenario, *, platform=None, model=None) -> Layout:
    """Check ``sc`` against its platform and model; one ConfigError naming the field if not."""
    platform = platform if platform is not None else load_platform(sc.platform)
    model = model if model is not None else load_model(sc.model)
    par = sc.parallelism
    count = platform.compute.count
    if par.tp * par.pp > count:
        raise ConfigError(f"tp x pp = {par.tp * par.pp} exceeds the platform's {count} accelerators "
                          "(memsim models one node)", field="parallelism")
    dp = par.dp if par.dp is not None else count // (par.tp * par.pp)
    if dp * par.tp * par.pp > count:
        raise ConfigError(f"dp x tp x pp = {dp * par.tp * par.pp} exceeds the platform's {count} "
                          "accelerators (memsim models one node)", field="parallelism.dp")
    for name, v in (("heads", model.heads), ("kv_heads", model.kv_heads), ("ffn", model.ffn)):
        if v % par.tp:
            raise ConfigError(f"tp={par.tp} does not divide the model's {name}={v}",
                              field="parallelism.tp")
    if model.layers % par.pp:
        raise ConfigError(f"pp={par.pp} pipeline stages do not divide the model's {model.layers} "
                          "layers", field="parallelism.pp")
    if par.pp > 1 and par.zero_stage >= 2:
        raise ConfigError(f"zero_stage {par.zero_stage} with pp={par.pp}: partitioned gradients "
                          "would be reduce-scattered every micro-batch; DeepSpeed's pipeline "
                          "engine allows ZeRO stage 0 or 1", field="parallelism.zero_stage")
    if dp * par.tp * par.pp > 1 and platform.link_between(tiers_hbm(platform), tiers_hbm(platform)) is None:
        raise ConfigError(f"{dp * par.tp * par.pp} accelerators need a GPU-to-GPU link (between "
                          f"[hbm, hbm]) in platform {platform.name}", field="parallelism")
    per_step = sc.micro_batch * dp
    if sc.global_batch % per_step:
        raise ConfigError(f"global_batch={sc.global_batch} is not a multiple of micro_batch x dp "
                          f"= {sc.micro_batch} x {dp}", field="global_batch")
    tiers = _check_placement(sc, platform)
    if "hbm" not in tiers:
        raise ConfigError(f"platform {platform.name} has no hbm tier", field="platform")
    if sc.placement.off("params", tiers["hbm"].name) > 0 and par.zero_stage != 3:
        raise ConfigError("parameters off the accelerator need zero_stage 3 (they are gathered "
                          "layer by layer, as ZeRO-Infinity does)", field="placement.params")
    hbm = tiers["hbm"].name
    if sc.placement.off("grads", hbm) > sc.placement.off("optimizer", hbm) + 1e-9:
        raise ConfigError("gradients off the accelerator feed the CPU optimizer: place at least as "
                          "much of the optimizer off HBM as of the gradients (ZeRO-Offload moves both)",
                          field="placement.grads")
    off_host = [st for st in STATE_CLASSES if sc.placement.off(st, hbm) > 0]
    if off_host and "dram" not in tiers:
        raise ConfigError(f"platform {platform.name} has no dram tier: offloaded {off_host[0]} "
                          "pass through host memory", field=f"placement.{off_host[0]}")
    if sc.checkpointing.scheme == "every" and sc.checkpointing.every > model.layers // par.pp:
        raise ConfigError(f"every={sc.checkpointing.every} exceeds the {model.layers // par.pp} "
                          "layers of a pipeline stage", field="checkpointing.every")
    return Layout(scenario=sc, platform=platform, model=model, dp=dp, tp=par.tp, pp=par.pp,
                  grad_accum=sc.global_batch // per_step, stages=_stages(model, par.tp, par.pp),
                  tiers=tiers)
