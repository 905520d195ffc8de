"""The ``weights:`` and ``experts:`` sections of a serve scenario, validated.

    weights:
      placement: {hbm: 60%, dram: 40%}    # or: flexgen (the LP over the serving shape)
      prefetch_depth: 1                   # layers streamed ahead of the one computing
    experts:                              # MoE models only
      tier: dram                          # where every expert lives
      cache: {capacity: 4, eviction: lru} # HBM slots per layer, or a size ("24 GiB")
      router: {skew: 0.8, correlation: 0.5}   # or trace: experts.csv
      prefetch: lookahead                 # an expert_prefetch policy

What needs only the file is checked when it loads (fractions that do not sum to
100%, a policy name the registry lacks); what needs the platform and model (an
unknown tier, a cache larger than the experts, a dense model) when ``resolve_*``
builds the run, with the same one-line errors naming the field.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

import numpy as np
from pydantic import BeforeValidator, Field, field_validator, model_validator

from memsim.ground.errors import ConfigError
from memsim.ground.schema import StrictModel
from memsim.ground.units import parse_size
from memsim.policies import registry
from memsim.workloads.experts import read_expert_trace, synthetic_routing

from .experts import expert_link, expert_slots
from .weights import Placement, flexgen_placement, parse_fraction, parse_placement

__all__ = ["WeightsConfig", "FlexGenShape", "ExpertsConfig", "ExpertCacheConfig", "RouterConfig",
           "ExpertSetup", "resolve_placement", "resolve_experts"]


def _eviction(v):
    return registry.check_spec("eviction", v)


def _prefetch(v):
    return registry.check_spec("expert_prefetch", v, context={"layers": 2, "experts": 8, "budget": 2})


class FlexGenShape(StrictModel):
    """The serving shape the FlexGen LP prices (default: the scheduler's batch, the workload's means)."""

    batch: Optional[int] = Field(None, ge=1, description="sequences per batch")
    prompt_len: Optional[int] = Field(None, ge=1, description="prompt tokens")
    gen_len: Optional[int] = Field(None, ge=1, description="generated tokens")


class WeightsConfig(StrictModel):
    """Where the model's weights live; layers' off-HBM parts stream in each iteration."""

    placement: Union[Literal["flexgen"], dict[str, Union[str, float]], None] = Field(
        None, description='fraction of every layer per tier ({hbm: 60%, dram: 40%}) or "flexgen"; '
                          'default: every weight in HBM')
    prefetch_depth: int = Field(1, ge=0, le=64, description="layers streamed ahead (0: fetch, then compute)")
    flexgen: FlexGenShape = Field(default_factory=FlexGenShape, description="shape for placement: flexgen")

    @field_validator("placement")
    @classmethod
    def _fractions(cls, v):
        if v is None or isinstance(v, str):
            return v
        if not v:
            raise ConfigError("expected a mapping of tier to fraction like {hbm: 60%, dram: 40%}")
        total = sum(parse_fraction(f, field=str(t)) for t, f in v.items())   # the location names placement
        if abs(total - 1.0) > 1e-6:
            raise ConfigError(f"fractions sum to {100 * total:.6g}%; they must sum to 100%")
        return v


class ExpertCacheConfig(StrictModel):
    """The HBM expert cache of every layer."""

    capacity: Union[int, str] = Field(..., description='experts per layer (an int), or HBM bytes for '
                                                      'all layers ("24 GiB")')
    eviction: Annotated[Union[str, dict[str, Any]], BeforeValidator(_eviction)] = Field(
        "lru", description="eviction policy of each layer's cache")

    @field_validator("capacity", mode="before")
    @classmethod
    def _cap(cls, v):
        if isinstance(v, bool):
            raise ConfigError(f"{v!r} is not a capacity")
        if isinstance(v, int):
            if v < 0:
                raise ConfigError(f"{v} experts per layer must be >= 0")
            return v
        if parse_size(v) <= 0:
            raise ConfigError(f"{v!r} must be > 0")
        return v


class RouterConfig(StrictModel):
    """The synthetic router (``memsim.workloads.experts.synthetic_routing``)."""

    skew: float = Field(0.0, ge=0, le=10, description="Zipf exponent of each layer's expert popularity")
    correlation: float = Field(0.0, ge=0, le=1, description="P(a slot follows the previous layer's successor)")
    tokens: int = Field(4096, ge=1, description="routing drawn for this many tokens, then reused cyclically")


class ExpertsConfig(StrictModel):
    """MoE experts in a lower tier, an HBM cache per layer, routing, prefetch."""

    tier: str = Field("dram", description="the platform tier every expert lives in")
    cache: ExpertCacheConfig
    router: Optional[RouterConfig] = Field(None, description="synthetic routing (default when no trace)")
    trace: Optional[str] = Field(None, description="an expert trace (CSV/Parquet token,layer,expert)")
    prefetch: Annotated[Union[str, dict[str, Any]], BeforeValidator(_prefetch)] = Field(
        "none", description="expert_prefetch policy: none, lookahead, hottest, affinity")

    @model_validator(mode="after")
    def _routing(self):
        if self.router is not None and self.trace is not None:
            raise ConfigError("give router or trace, not both", field="trace")
        if self.router is None and self.trace is None:
            self.router = RouterConfig()
        return self


# ---- building the run (needs the platform and the model) ----------------------------------
def resolve_placement(cfg: WeightsConfig, platform, model, *, batch: int, prompt_len: int,
                      gen_len: int) -> Placement:
    """The placement of ``cfg`` on ``platform``: validated fractions, or the FlexGen LP's split
    for the shape (``cfg.flexgen`` overrides the scheduler's batch and the workload's means)."""
    if cfg.placement is None:
        hbm = platform.tier_of_kind("hbm")
        if hbm is None:
            raise ConfigError(f"platform {platform.name} has no hbm tier", field="weights.placement")
        return Placement(((hbm.name, 1.0),))
    if cfg.placement == "flexgen":
        s = cfg.flexgen
        return flexgen_placement(platform, model, batch=s.batch or batch,
                                 prompt_len=s.prompt_len or prompt_len, gen_len=s.gen_len or gen_len)
    return parse_placement(cfg.placement, platform, field="weights.placement")


@dataclass(frozen=True)
class ExpertSetup:
    """What the engine needs to run an MoE model's experts from ``tier``."""

    tier: str
    slots: np.ndarray                 # HBM cache slots per layer
    expert_bytes: int                 # one expert of one layer
    link_bytes_per_s: float
    link_latency_s: float
    routing: np.ndarray               # [tokens, layers, active]
    eviction: Any
    prefetch: Any

    @property
    def cache_bytes(self) -> int:
        return int(self.slots.sum()) * self.expert_bytes


def resolve_experts(cfg: ExpertsConfig, platform, model, *, seed_rng: np.random.Generator,
                    base_dir: str | Path | None = None, hbm_free_bytes: int | None = None) -> ExpertSetup:
    """Check ``cfg`` against the platform and model, draw or read the routing."""
    if model.moe is None:
        raise ConfigError(f"model {model.name} is dense (no moe: section); experts apply to MoE "
                          f"models only", field="experts")
    try:
        tier = platform.tier(cfg.tier)
    except ConfigError as e:
        raise ConfigError(e.problem, field="experts.tier") from None
    L, E, k = model.layers, model.moe.experts, model.moe.active_experts
    per = model.expert_bytes // L
    cap = cfg.cache.capacity
    slots = expert_slots(cap if isinstance(cap, int) else ("bytes", parse_size(cap)),
                         layers=L, experts=E, expert_bytes=per)
    if hbm_free_bytes is not None and int(slots.sum()) * per > hbm_free_bytes:
        raise ConfigError(f"the expert cache ({int(slots.sum()) * per / 2**30:.2f} GiB) exceeds the "
                          f"{hbm_free_bytes / 2**30:.2f} GiB of HBM left after the other weights",
                          field="experts.cache.capacity")
    bw, lat = expert_link(platform, tier.name)
    if cfg.trace is not None:
        path = Path(cfg.trace)
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        routing = read_expert_trace(path, layers=L, experts=E, active=k)
    else:
        r = cfg.router
        routing = synthetic_routing(tokens=r.tokens, layers=L, experts=E, active=k, skew=r.skew,
                                    correlation=r.correlation, rng=seed_rng)
    return ExpertSetup(tier=tier.name, slots=slots, expert_bytes=int(per), link_bytes_per_s=bw,
                       link_latency_s=lat, routing=routing, eviction=cfg.cache.eviction,
                       prefetch=cfg.prefetch)
