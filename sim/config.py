"""The scenario file: platform + model + workload + scheduler + KV cache, validated.

``load_scenario(path, overrides)`` reads YAML, applies ``--set dotted.path=VALUE``
overrides (each VALUE parsed as YAML, validated like the file) and returns a
``Scenario``.  Unknown keys are errors; quantities carry units.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

import yaml
from pydantic import BeforeValidator, Field, PrivateAttr, field_validator, model_validator

from memsim.ground.errors import ConfigError
from memsim.ground.schema import StrictModel, load_yaml, validate
from memsim.ground.units import Duration, Size, parse_size, parse_time
from memsim.policies import registry
from memsim.workloads.spec import WorkloadSpec

__all__ = ["Scenario", "SchedulerConfig", "KVConfig", "PrefixCacheConfig", "ParallelismConfig",
           "EngineConfig", "load_scenario", "apply_overrides", "parse_set"]


class ParallelismConfig(StrictModel):
    """How many identical accelerators serve one model replica."""
    tp: int = Field(1, ge=1, le=64, description="tensor-parallel degree (GPUs per replica)")


class SchedulerConfig(StrictModel):
    """Continuous batching (vLLM-style): decodes first, then prefill chunks up to a token budget."""
    max_batch_size: int = Field(256, ge=1, description="max sequences in one iteration")
    max_batch_tokens: int = Field(8192, ge=1, description="token budget of one iteration")
    chunked_prefill: bool = Field(True, description="split long prompts across iterations")
    preemption: Literal["recompute"] = "recompute"


def Policy(kind: str):
    """A policy spec field: a registered name or ``{name: ..., <parameters>}``, checked
    against the registry when the scenario loads (never imported from the file)."""
    return Annotated[Union[str, dict[str, Any]],
                     BeforeValidator(lambda v: registry.check_spec(kind, v))]


PolicySpec = Union[str, dict[str, Any]]


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


class Scenario(StrictModel):
    """A whole simulation: what hardware, which model, what requests, which policies."""
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

    #: Folder relative paths in the scenario resolve against (set by load_scenario).
    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _source_file: str | None = PrivateAttr(default=None)

    @property
    def base_dir(self) -> Path:
        return self._base_dir

    @property
    def source_file(self) -> str | None:
        return self._source_file


def parse_set(item: str) -> tuple[str, Any]:
    """``"kv.block_tokens=32"`` -> ("kv.block_tokens", 32); the value is parsed as YAML."""
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected dotted.path=VALUE")
    path, _, raw = item.partition("=")
    path = path.strip()
    if not path or any(not p for p in path.split(".")):
        raise ConfigError(f"--set {item!r}: empty field name")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return path, value


def apply_overrides(data: dict, overrides: dict[str, Any] | None) -> dict:
    """A copy of ``data`` with each dotted path set (creating mappings as needed).

    A path may cross a list by index or by an item's ``tier``/``name``:
    ``kv.tiers.dram.capacity`` or ``kv.tiers.0.capacity``.
    """
    out = copy.deepcopy(data)
    for path, value in (overrides or {}).items():
        cur: Any = out
        parts = path.split(".")
        for i, p in enumerate(parts):
            last = i == len(parts) - 1
            where = ".".join(parts[:i + 1])
            if isinstance(cur, list):
                j = _list_item(cur, p)
                if j is None:
                    names = [str(x.get("tier") or x.get("name")) for x in cur if isinstance(x, dict)]
                    raise ConfigError(f"{'.'.join(parts[:i])} has no item {p!r} "
                                      f"(items: {', '.join(names) or 'none'}, or an index)", field=f"--set {path}")
                if last:
                    cur[j] = value
                else:
                    cur = cur[j]
                continue
            if not isinstance(cur, dict):
                raise ConfigError(f"cannot set {path!r}: {'.'.join(parts[:i])} is not a mapping", field=path)
            if last:
                cur[p] = value
            else:
                nxt = cur.get(p)
                if nxt is None:
                    nxt = cur[p] = {}
                elif not isinstance(nxt, (dict, list)):
                    raise ConfigError(f"cannot set {path!r}: {where} is not a mapping", field=path)
                cur = nxt
    return out


def _list_item(items: list, key: str) -> int | None:
    if key.lstrip("-").isdigit():
        j = int(key)
        return j if -len(items) <= j < len(items) else None
    for j, item in enumerate(items):
        if isinstance(item, dict) and key in (item.get("tier"), item.get("name")):
            return j
    return None


def load_scenario(source: str | Path | dict | Scenario, overrides: dict[str, Any] | None = None,
                  *, seed: int | None = None) -> Scenario:
    """Build a Scenario from a path, a dict or a Scenario, with overrides and an optional seed."""
    if isinstance(source, Scenario):
        if not overrides and seed is None:
            return source
        data = source.model_dump(mode="json", exclude_none=False)
        base, file = source.base_dir, source.source_file
    elif isinstance(source, dict):
        data, base, file = source, Path.cwd(), None
    else:
        path = Path(source)
        data = load_yaml(path)
        base, file = path.resolve().parent, str(source)
        if not isinstance(data, dict):
            raise ConfigError("a scenario must be a YAML mapping", file=file)
    try:
        data = apply_overrides(data, overrides)
    except ConfigError as e:
        raise e.located(file=file) from None
    if seed is not None:
        data["seed"] = seed
    scen = validate(Scenario, data, file=file)
    scen._base_dir = Path(base)
    scen._source_file = file
    return scen
