"""The serve scenario (``kind: serve``, the default): platform + model + workload +
scheduler + KV cache, validated.

``load_scenario(source, overrides, seed=)`` reads a path, a shipped scenario name, a
dict or a Scenario, applies ``--set``-style overrides (``sim/overrides.py``) and vLLM
aliases (``sim/vllm_names.py``), and returns a ``Scenario``; every problem is
reported at once.  Other kinds (flash, offload, ...) load through ``sim/kinds.py``.
Unknown keys are errors; quantities carry units; values are validated on assignment.
"""
from __future__ import annotations

import os
from typing import Any, ClassVar, Literal, Optional, Union

from pydantic import Field, field_serializer, field_validator, model_serializer, model_validator

from memsim.ground.errors import ConfigError
from memsim.ground.schema import StrictModel
from memsim.ground.units import Duration, Size, parse_size, parse_time, with_unit
from memsim.policies import registry
from memsim.workloads.spec import WorkloadSpec

from . import vllm_names
from .cluster.config import ClusterConfig, SLOConfig
from .context import ContextConfig
from .overrides import apply_overrides, parse_set, parse_sets
from .scenario_file import Policy, PolicySpec, ScenarioFile, build
from .weights_config import ExpertsConfig, WeightsConfig

__all__ = ["Scenario", "SchedulerConfig", "KVConfig", "PrefixCacheConfig", "ParallelismConfig",
           "EngineConfig", "TierConfig", "load_scenario", "apply_overrides", "parse_set",
           "parse_sets", "check_run_args", "Policy", "PolicySpec"]


class ParallelismConfig(StrictModel):
    """How many identical accelerators serve one model replica."""
    tp: int = Field(1, ge=1, le=64, description="tensor-parallel degree (GPUs per replica)")


class SchedulerConfig(StrictModel):
    """Continuous batching (vLLM-style): decodes first, then prefill chunks up to a token budget."""
    max_batch_size: int = Field(256, ge=1, description="max sequences in one iteration")
    max_batch_tokens: int = Field(8192, ge=1, description="token budget of one iteration")
    chunked_prefill: bool = Field(True, description="split long prompts across iterations")
    async_scheduling: bool = Field(
        False, description="plan step k+1 while step k runs (vLLM --async-scheduling): a request "
                           "arriving during a busy step joins the batch one step later")
    preemption: Literal["recompute"] = "recompute"


class PrefixCacheConfig(StrictModel):
    """Automatic prefix caching in HBM, keyed by the workload's prefix-block hashes."""
    enabled: Optional[bool] = Field(
        None, description="cache prompt blocks for reuse (default: on when kv.allocation shares blocks)")
    eviction: Policy("eviction") = Field("lru", description="eviction policy name or {name:, params}")


class TierConfig(StrictModel):
    """One KV tier below HBM, named after a tier of the platform (e.g. dram, ssd, remote)."""
    tier: str = Field(..., description="name of a tier in the hardware file")
    capacity: Union[Literal["unlimited"], int, None] = Field(
        None, description='KV bytes this tier may hold ("256 GiB", "unlimited"); default: the tier\'s capacity')
    eviction: Policy("eviction") = Field("lru", description="eviction policy of this tier")
    chunk_tokens: int = Field(512, ge=1, le=1 << 20, description="tokens per stored chunk (LMCache 256, Mooncake 512)")

    @field_validator("capacity", mode="before")
    @classmethod
    def _cap(cls, v):
        if v == "unlimited" or v is None:
            return v
        n = parse_size(v)
        if n <= 0:
            raise ConfigError(f"{v!r} must be > 0 (leave the tier out, or write \"unlimited\")")
        return n

    @field_serializer("capacity")
    def _cap_out(self, v, info):
        return with_unit(v, "size", info) if isinstance(v, int) else v

    def capacity_bytes(self, hw) -> int | None:
        """Bytes for KV in this tier (None: unlimited)."""
        if self.capacity == "unlimited":
            return None
        if self.capacity is None:
            return int(hw.capacity * hw.count)
        return int(self.capacity)


class KVConfig(StrictModel):
    """Paged KV cache in HBM, and the tiers below it."""
    block_tokens: int = Field(16, ge=1, le=4096, description="tokens per KV block")
    memory_fraction: float = Field(0.9, gt=0, le=1,
                                   description="fraction of HBM usable for weights + KV (vLLM gpu_memory_utilization)")
    activation_reserve: Size = Field(0, description="HBM per GPU kept for activations and workspace")
    prefix_cache: PrefixCacheConfig = Field(default_factory=PrefixCacheConfig)
    compression: Optional[Policy("compression")] = Field(
        None, description="KV compression/quantization/selective-fetch policy (policies of kind 'compression')")
    allocation: Policy("allocation") = Field("paged", description="HBM KV allocation: paged | max_length | predicted | vattention")
    tiers: list[TierConfig] = Field(default_factory=list, description="KV tiers below HBM, fastest first")
    write: Policy("write") = Field("write_back", description="write_through | write_back | selective | drop")
    load: Policy("load") = Field("cost", description="cost | always_load | always_recompute")
    prefetch: Policy("prefetch") = Field("none", description="none | on_arrival | best_effort")
    promotion: Policy("promotion") = Field("copy_up", description="copy_up | in_place")
    overlap: Policy("overlap") = Field("blocking", description="blocking | layerwise")
    session_ttl: Union[Literal["auto"], float, None] = Field(
        None, description='pin a finished turn\'s KV in HBM this long for its session\'s next turn ("auto": the turn\'s gap)')

    @field_validator("session_ttl", mode="before")
    @classmethod
    def _ttl(cls, v):
        if v in ("auto", None):
            return v
        return parse_time(v)

    @field_serializer("session_ttl")
    def _ttl_out(self, v, info):
        return with_unit(v, "time", info) if isinstance(v, float) else v

    @model_validator(mode="after")
    def _prefix_cache_needs_shared_blocks(self):
        shares = registry.get("allocation", _policy_name(self.allocation)).shares_prefix_blocks
        if self.prefix_cache.enabled and not shares:
            raise ConfigError(f"kv.allocation {_policy_name(self.allocation)!r} reserves contiguous "
                              "memory per request, so no prefix blocks can be shared: set "
                              "kv.prefix_cache.enabled: false (or use allocation: paged)",
                              field="prefix_cache.enabled")
        return self

    def prefix_cache_on(self) -> bool:
        """Whether the HBM prefix cache runs (on by default where the allocation shares blocks)."""
        shares = registry.get("allocation", _policy_name(self.allocation)).shares_prefix_blocks
        return shares if self.prefix_cache.enabled is None else bool(self.prefix_cache.enabled)

    @field_validator("tiers")
    @classmethod
    def _unique(cls, v):
        names = [t.tier for t in v]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"tier {sorted(dup)[0]!r} listed twice")
        return v


def _policy_name(spec) -> str:
    return spec if isinstance(spec, str) else spec["name"]


class EngineConfig(StrictModel):
    """How the simulation advances (not what it models)."""
    closed_form: bool = Field(True, description="advance runs of decode iterations in closed form")
    sample_interval: Duration = Field(1.0, description="spacing of occupancy/traffic samples")
    max_sim_time: Duration = Field(0.0, description="stop after this simulated time (0: run to the end)")

    @field_validator("sample_interval")
    @classmethod
    def _pos(cls, v):
        if v <= 0:
            raise ValueError("must be > 0")
        return v


def _workload_type():
    return WorkloadSpec


class Scenario(ScenarioFile):
    """A whole simulation: what hardware, which model, what requests, which policies."""
    ALIASES: ClassVar[dict[str, str]] = vllm_names.ALIASES

    kind: Literal["serve"] = Field("serve", exclude=True,
                                   description="scenario kind (serve is the default)")
    version: Literal[1] = 1
    name: str = "scenario"
    description: str = ""
    seed: int = Field(0, ge=0)
    platform: str = Field(..., description="hwmodels name (e.g. h100_sxm) or path to a hardware YAML")
    model: str = Field(..., description="model catalogue name (e.g. llama-3.1-8b) or path")
    dtype: str | None = Field(None, description="compute dtype; default the model's")
    parallelism: ParallelismConfig = Field(default_factory=ParallelismConfig)
    workload: _workload_type()  # type: ignore[valid-type]
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    kv: KVConfig = Field(default_factory=KVConfig)
    engine: EngineConfig = Field(default_factory=EngineConfig)
    context: ContextConfig = Field(default_factory=ContextConfig,
                                   description="the model's context window: reject or truncate longer prompts")
    weights: WeightsConfig = Field(default_factory=WeightsConfig,
                                   description="where the weights live (default: all in HBM)")
    experts: Optional[ExpertsConfig] = Field(None, description="MoE experts in a lower tier with an HBM cache")
    cluster: Optional[ClusterConfig] = Field(
        None, description="many replicas behind a router (docs/cluster.md); absent: one replica")
    slo: Optional[SLOConfig] = Field(None, description="latency targets for SLO attainment and goodput")

    @model_validator(mode="after")
    def _async_scheduling_where_modelled(self):
        # the admission horizon needs each step's start: known for one replica whose steps are
        # closed-form runs or single iterations, not for routed arrivals or streamed layers
        if self.scheduler.async_scheduling and (self.cluster is not None or self.weights.placement is not None
                                                or self.experts is not None):
            raise ConfigError("asynchronous scheduling is modelled for one replica with every weight "
                              "in HBM (no cluster:, weights.placement or experts:); leave it off",
                              field="scheduler.async_scheduling")
        return self

    @model_serializer(mode="wrap")
    def _without_absent_cluster(self, handler):
        # a one-replica scenario writes the same scenario.yaml as before clusters existed
        data = handler(self)
        for key in ("cluster", "slo"):
            if isinstance(data, dict) and data.get(key) is None:
                data.pop(key, None)
        return data


#: what the serve-only loader says about a scenario of another kind
_OTHER_KINDS = "memsim run FILE and memsim.run(FILE) run every kind"


def load_scenario(source: Any, overrides: dict[str, Any] | None = None, *,
                  seed: int | None = None) -> Scenario:
    """Build a Scenario from a path, a shipped name, a dict or a Scenario, with overrides
    (``{"kv.block_tokens": 32}``) and an optional seed; every problem is reported at once."""
    return build({"serve": Scenario}, source, overrides, seed=seed, elsewhere=_OTHER_KINDS)


def check_run_args(*, out: Any = None, progress: Any = False) -> None:
    """The run entry point's own arguments (``memsim.run(..., out=, progress=)``), checked
    like the file: a ConfigError naming the argument."""
    if out is not None and (isinstance(out, bool) or not isinstance(out, (str, os.PathLike))
                            or not os.fspath(out)):
        raise ConfigError(f"expected a folder path (str or pathlib.Path), got "
                          f"{type(out).__name__} {out!r}", field="out")
    if not isinstance(progress, bool):
        raise ConfigError(f"expected true or false, got {type(progress).__name__} {progress!r}",
                          field="progress")
